/* SPDX-License-Identifier: MIT */
/*
 * soakd-basic: the soak server aoki-soakd (servers/soakd) as a process.
 *   - options: --help, a missing --state;
 *   - ECHO (echo + checksum, every length), SLEEP, PID, errors;
 *   - APPEND from two channels, synchronous and asynchronous: indices
 *     0..n-1 per channel, COUNT agrees, the logs on disk hold the values;
 *   - SIGKILL with requests in flight, restart on the same state dir: it
 *     starts cleanly, the old logs are intact (at least every acknowledged
 *     append, at most every submitted one), new channels start at 0;
 *   - exactly once across a crash, end to end: the server kills itself
 *     (--crash) in an APPEND after its log entry, or after recording its
 *     result, before replying; restarted, it runs the request again
 *     (resume) and the reply carries the same index, found by
 *     reconciliation (INTERRUPTED) or replayed (DONE); COUNT shows no
 *     duplicate;
 *   - SIGTERM: exit 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../servers/soakd/soak_log.h"
#include "../servers/soakd/soak_proto.h"

#define PORT "soakt"

static char soakd[PATH_MAX], state[PATH_MAX];

/* Run aoki-soakd with @args (NULL-terminated, after argv[0]). */
static pid_t spawn(const char *const *args)
{
	const char *argv[16] = { soakd };
	int i;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	return t_spawn(argv);
}

static int wait_exit(pid_t pid)
{
	int status;

	CHECK_EQ(waitpid(pid, &status, 0), pid);
	t_child_track(0, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Start the server on PORT and state, with --crash @crash unless NULL;
 * wait until it accepts. */
static pid_t start_crashing(const char *crash)
{
	const char *args[] = { "--port", PORT, "--state", state, "--workers", "2", "--quiet",
			       crash ? "--crash" : NULL, crash, NULL };
	pid_t pid = spawn(args);

	t_wait_accepting(PORT, pid, 5);
	return pid;
}

static pid_t start(void)
{
	return start_crashing(NULL);
}

static struct aoki_chan *chan(void)
{
	struct aoki_chan_opts o = { .reconnect_ns = -1 };
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect(PORT, &o, &ch), 0);
	return ch;
}

static uint64_t append(struct aoki_chan *ch, uint64_t value)
{
	uint64_t index = ~0ull;
	size_t n = 0;

	CHECK_EQ(aoki_call(ch, SOAK_OP_APPEND, &value, sizeof(value), &index, sizeof(index), &n),
		 0);
	CHECK_EQ(n, sizeof(index));
	return index;
}

static uint64_t count(struct aoki_chan *ch)
{
	uint64_t v = ~0ull;
	size_t n = 0;

	CHECK_EQ(aoki_call(ch, SOAK_OP_COUNT, NULL, 0, &v, sizeof(v), &n), 0);
	CHECK_EQ(n, sizeof(v));
	return v;
}

static void test_ops(struct aoki_chan *ch, pid_t pid)
{
	uint8_t data[SOAK_ECHO_MAX + 1], rep[AOKI_MSG_PAYLOAD];
	uint64_t sum;
	uint32_t us = 1000, got_pid = 0;
	size_t n;

	for (size_t len = 0; len <= SOAK_ECHO_MAX; len++) {
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)(len * 31 + i);
		CHECK_EQ(aoki_call(ch, SOAK_OP_ECHO, data, len, rep, sizeof(rep), &n), (int)len);
		CHECK_EQ(n, len + sizeof(sum));
		CHECK(memcmp(rep, data, len) == 0);
		memcpy(&sum, rep + len, sizeof(sum));
		CHECK_EQ(sum, soak_fnv1a64(data, len));
	}
	CHECK_EQ(soak_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);	/* the FNV-1a test vector */
	CHECK_EQ(aoki_call(ch, SOAK_OP_ECHO, data, SOAK_ECHO_MAX + 1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, SOAK_OP_SLEEP, &us, sizeof(us), NULL, 0, &n), 0);
	us = SOAK_SLEEP_MAX_US + 1;
	CHECK_EQ(aoki_call(ch, SOAK_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, SOAK_OP_PID, NULL, 0, &got_pid, sizeof(got_pid), &n), 0);
	CHECK_EQ(got_pid, (uint32_t)pid);
	CHECK_EQ(aoki_call(ch, SOAK_OP_APPEND, data, 4, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, SOAK_OP_COUNT, data, 1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, 99, NULL, 0, NULL, 0, NULL), -ENOSYS);
}

static pid_t crashed;	/* the server the restarter waits for */

/* Wait for the crashing server to die, then start a plain one. */
static void *restarter(void *arg)
{
	CHECK_EQ(wait_exit(crashed), 128 + SIGKILL);
	*(pid_t *)arg = start();
	return NULL;
}

/* The server dies in the 3rd APPEND at @when; the client's call spans
 * the restart and gets the index the first incarnation assigned. */
static void test_crash(const char *when)
{
	struct aoki_chan_opts o = { .timeout_ns = 20000000000ll };
	struct aoki_chan *ch;
	pthread_t th;
	pid_t next = 0;

	crashed = start_crashing(when);
	CHECK_EQ(aoki_connect(PORT, &o, &ch), 0);
	CHECK_EQ(append(ch, 1), 0);
	CHECK_EQ(append(ch, 2), 1);
	CHECK_EQ(pthread_create(&th, NULL, restarter, &next), 0);
	CHECK_EQ(append(ch, 3), 2);	/* the server dies in this one */
	pthread_join(th, NULL);
	CHECK(next > 0);
	CHECK_EQ(count(ch), 3);
	CHECK_EQ(append(ch, 4), 3);
	CHECK_EQ(count(ch), 4);
	aoki_close(ch);
	kill(next, SIGTERM);
	CHECK_EQ(wait_exit(next), 0);
}

/* The on-disk logs: the number of log files, and in *@counts (sorted,
 * up to @max) their entry counts; each entry's value must be
 * @base(client) + its index, client told by the first value. */
static unsigned disk_logs(uint64_t *counts, unsigned max)
{
	DIR *d = opendir(state);
	struct dirent *e;
	unsigned n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		char p[PATH_MAX * 2];
		struct soak_log_hdr *h;
		struct soak_log_entry *ent;
		int fd;

		if (strncmp(e->d_name, "log-", 4) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", state, e->d_name);
		fd = open(p, O_RDONLY);
		CHECK(fd >= 0);
		h = mmap(NULL, SOAK_LOG_FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		CHECK(h != MAP_FAILED);
		close(fd);
		ent = (struct soak_log_entry *)(h + 1);
		CHECK(n < max);
		counts[n] = atomic_load(&h->count);
		CHECK(counts[n] < SOAK_LOG_RING);
		for (uint64_t i = 0; i < counts[n]; i++)
			CHECK_EQ(ent[i].value, ent[0].value + i);
		munmap(h, SOAK_LOG_FILE_SIZE);
		for (unsigned j = n++; j > 0 && counts[j - 1] > counts[j]; j--) {
			uint64_t t = counts[j];

			counts[j] = counts[j - 1];
			counts[j - 1] = t;
		}
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	struct aoki_chan *a, *b, *c;
	struct aoki_sqe sqe[8];
	struct aoki_cqe cqe[8];
	uint64_t vals[8], counts[4], acked_a, acked_b;
	pid_t pid;
	int got;

	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(soakd, sizeof(soakd), "%s/../bin/aoki-soakd", dirname(self));
	if (access(soakd, X_OK) != 0)
		t_skip("aoki-soakd not built");
	/* The state files live in the run dir, which the harness cleans. */
	snprintf(state, sizeof(state), "%s", t_run_dir());

	/* Options. */
	{
		const char *help[] = { "--help", NULL }, *none[] = { "--port", PORT, NULL };
		int devnull = open("/dev/null", O_WRONLY), out = dup(1), err = dup(2);

		dup2(devnull, 1);	/* keep the usage text out of the log */
		dup2(devnull, 2);
		CHECK_EQ(wait_exit(spawn(help)), 0);
		CHECK_EQ(wait_exit(spawn(none)), 2);
		dup2(out, 1);
		dup2(err, 2);
		close(devnull);
		close(out);
		close(err);
	}

	pid = start();
	a = chan();
	b = chan();
	test_ops(a, pid);
	/* Interleaved appends from two channels: indices per channel. */
	for (uint64_t i = 0; i < 200; i++) {
		CHECK_EQ(append(a, 1000 + i), i);
		if (i % 2 == 0)
			CHECK_EQ(append(b, 5000 + i / 2), i / 2);
	}
	/* Asynchronous appends: one batch, one completion each, in order. */
	for (unsigned i = 0; i < 8; i++) {
		vals[i] = 1200 + i;
		sqe[i] = (struct aoki_sqe){ .op = SOAK_OP_APPEND, .len = 8, .tag = i,
					    .data = &vals[i] };
	}
	CHECK_EQ(aoki_submit(a, sqe, 8), 8);
	for (got = 0; got < 8;) {
		int r = aoki_reap(a, cqe, 8, 1, -1);

		CHECK(r > 0);
		for (int i = 0; i < r; i++) {
			uint64_t index;

			CHECK_EQ(cqe[i].status, 0);
			CHECK_EQ(cqe[i].len, sizeof(index));
			memcpy(&index, cqe[i].payload, sizeof(index));
			CHECK_EQ(index, 200 + cqe[i].tag);
		}
		got += r;
	}
	acked_a = 208;
	acked_b = 100;
	CHECK_EQ(count(a), acked_a);
	CHECK_EQ(count(b), acked_b);
	CHECK_EQ(disk_logs(counts, 4), 2);
	CHECK_EQ(counts[0], acked_b);
	CHECK_EQ(counts[1], acked_a);

	/* SIGKILL with requests in flight: B sleeps, A appends. */
	{
		uint32_t us = 300000;
		struct aoki_sqe s = { .op = SOAK_OP_SLEEP, .len = 4, .data = &us };

		CHECK_EQ(aoki_submit(b, &s, 1), 1);
		for (unsigned i = 0; i < 8; i++)
			vals[i] = 1208 + i;
		CHECK_EQ(aoki_submit(a, sqe, 8), 8);
		t_sleep_ms(20);
		kill(pid, SIGKILL);
		CHECK_EQ(wait_exit(pid), 128 + SIGKILL);
	}
	aoki_close(a);
	aoki_close(b);

	/* Restart on the same state: serves, old logs intact, new channel
	 * starts at 0. */
	pid = start();
	c = chan();
	test_ops(c, pid);
	CHECK_EQ(count(c), 0);
	CHECK_EQ(append(c, 9000), 0);
	CHECK_EQ(append(c, 9001), 1);
	CHECK_EQ(count(c), 2);
	CHECK_EQ(disk_logs(counts, 4), 3);
	CHECK_EQ(counts[0], 2);
	CHECK_EQ(counts[1], acked_b);
	CHECK(counts[2] >= acked_a && counts[2] <= acked_a + 8);
	aoki_close(c);

	/* SIGTERM: a clean exit, and a clean start after it. */
	kill(pid, SIGTERM);
	CHECK_EQ(wait_exit(pid), 0);
	pid = start();
	c = chan();
	CHECK_EQ(append(c, 7000), 0);
	aoki_close(c);
	kill(pid, SIGTERM);
	CHECK_EQ(wait_exit(pid), 0);

	test_crash("applied:3");
	test_crash("committed:3");
	return T_EXIT_PASS;
}
