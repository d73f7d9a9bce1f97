/* SPDX-License-Identifier: MIT */
/*
 * ipc-timeout: the per-channel deadline (aoki_chan_opts.timeout_ns).
 *   - a call slower than the deadline returns -ETIMEDOUT on time;
 *   - many timed-out calls on a 4-slot ring: their slots are reclaimed
 *     when the late replies arrive, and no late reply is ever taken for
 *     the reply of a later call;
 *   - a stopped server (SIGSTOP) gives -ETIMEDOUT, not a hang; after
 *     SIGCONT the channel works again;
 *   - aoki_reap with timeout -1 uses the channel deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ipc_util.h"

#define DEADLINE_NS 20000000

/* kill(SIGSTOP) returns before every thread has stopped: wait until
 * /proc shows each of @pid's threads stopped (at most 2 s). */
static int all_stopped(pid_t pid)
{
	char path[320], buf[512];
	struct dirent *e;
	DIR *d;
	int n = 0, stopped = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		FILE *f;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ') {
			n++;
			stopped += p[2] == 'T' || p[2] == 't';
		}
		fclose(f);
	}
	closedir(d);
	return n > 0 && stopped == n;
}

static void stop_server(pid_t pid)
{
	int64_t end = t_now_ns() + 2000000000;

	CHECK_EQ(kill(pid, SIGSTOP), 0);
	while (!all_stopped(pid)) {
		CHECK(t_now_ns() < end);
		t_sleep_ms(1);
	}
}

/* Call ECHO until it succeeds (late replies drain), at most 5 s. */
static void until_echo_ok(struct aoki_chan *ch, uint64_t tag)
{
	uint8_t req[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
	size_t len = t_tag_fill(tag, req), got;
	int64_t end = t_now_ns() + 5000000000ll;
	int r;

	for (;;) {
		CHECK(t_now_ns() < end);
		r = aoki_call(ch, ECHO_OP_ECHO, req, len, rep, sizeof(rep), &got);
		if (r == -ETIMEDOUT || r == -EAGAIN) {
			t_sleep_ms(2);
			continue;
		}
		CHECK_EQ(r, (int)len);
		CHECK(t_tag_check(tag, rep, got));
		return;
	}
}

int main(void)
{
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	struct aoki_chan_opts o = { .slots = 4, .timeout_ns = DEADLINE_NS };
	struct aoki_chan *ch;
	struct aoki_cqe cqe;
	pid_t srv;
	uint32_t us = 100000;
	unsigned timeouts = 0, eagain = 0;
	int64_t t0, dt;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();
	CHECK_EQ(echo_server_spawn("tmo", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("tmo", &o, &ch), 0);
	CHECK(t_echo_ok(ch, 1));

	/* One slow call. */
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	CHECK(dt >= DEADLINE_NS - 1000000 && dt < 500000000);
	until_echo_ok(ch, 2);

	/* Many: 24 x 25 ms sleeps through a 4-slot ring, each abandoned. */
	us = 25000;
	t0 = t_now_ns();
	while (timeouts < 24) {
		CHECK(t_now_ns() - t0 < 5000000000ll);
		r = aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
		if (r == -EAGAIN) {	/* every slot waits for a late reply */
			eagain++;
			t_sleep_ms(2);
			continue;
		}
		/* 0: a descheduled caller found the reply on waking; it
		 * counts, as the library documents, but not as a timeout. */
		CHECK(r == -ETIMEDOUT || r == 0);
		timeouts += r == -ETIMEDOUT;
	}
	/* Once the backlog drains, calls work, with their own replies. */
	until_echo_ok(ch, 3);
	for (uint64_t i = 0; i < 500; i++)
		CHECK(t_echo_ok(ch, 1000 + i));
	printf("note: 24 timed-out calls on 4 slots (%u -EAGAIN while waiting)\n", eagain);

	/* Mixed: each slow call times out, the quick one after it succeeds
	 * once the server is free, and gets its own payload. */
	timeouts = 0;
	for (uint64_t i = 0; i < 6; i++) {
		us = 60000;
		r = aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
		CHECK(r == -ETIMEDOUT || r == 0);	/* 0: as above */
		timeouts += r == -ETIMEDOUT;
		until_echo_ok(ch, 5000 + i);
	}
	CHECK(timeouts >= 3);

	/* A server that stops answering. */
	stop_server(srv);
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "a", 1, NULL, 0, NULL), -ETIMEDOUT);
	CHECK(t_now_ns() - t0 < 500000000);
	CHECK_EQ(kill(srv, SIGCONT), 0);
	until_echo_ok(ch, 6);

	/* aoki_reap(-1) waits for the channel deadline, not forever. */
	t0 = t_now_ns();
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, -1), 0);
	dt = t_now_ns() - t0;
	CHECK(dt >= DEADLINE_NS - 1000000 && dt < 500000000);
	us = 150000;
	CHECK_EQ(aoki_submit(ch, &(struct aoki_sqe){ .op = ECHO_OP_SLEEP, .tag = 9,
						     .len = sizeof(us), .data = &us }, 1), 1);
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, -1), 0);
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, 2000000000), 1);
	CHECK_EQ(cqe.tag, 9);
	CHECK_EQ(cqe.status, 0);

	aoki_close(ch);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
