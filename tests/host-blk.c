/* SPDX-License-Identifier: MIT */
/*
 * host-blk: hosting aoki-blkd in the application (aoki/host.h), what the
 * blk suites in the in-process layout (blk-*-inproc) do not cover:
 *   - errors: unknown service -ENOENT, bad options -EINVAL, a second
 *     server for the same port -EEXIST;
 *   - a hosted server answers before a server process on the same port;
 *     once it stops, new connections reach the process, and its own
 *     clients get -ESHUTDOWN at once;
 *   - a child of fork() does not see the parent's hosted servers;
 *   - AOKI_HOST: an unmodified client program (this binary, re-executed)
 *     gets its server hosted from the environment, with no socket at the
 *     port; a bad AOKI_HOST (malformed, unknown server, a volume that
 *     will not open) fails its connects with -EINVAL, the reason said;
 *   - AOKI_HOST_UNISOLATED: the same server without a compartment;
 *   - faults of each kind, one after another, each recovered;
 *   - aoki_host_stop racing a fault and its rebuild, 40 times.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>

#include "aoki/host.h"
#include "blk_util.h"

static char dir[PATH_MAX], file[PATH_MAX + 16], port[PATH_MAX + 16], words[3 * PATH_MAX];
static const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };

/* Write a block through @port and read it back. */
static int round_trip(const char *at, unsigned char mark)
{
	struct aoki_blk *b;
	unsigned char *buf;
	int r = aoki_blk_open(at, "v", AOKI_BLK_RDWR, NULL, &b);

	if (r < 0)
		return r;
	CHECK_EQ(aoki_blk_alloc(b, 4096, (void **)&buf), 0);
	memset(buf, mark, 4096);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 8192, 0), 4096);
	memset(buf, 0, 4096);
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, 8192), 4096);
	CHECK(buf[0] == mark && buf[4095] == mark);
	aoki_blk_close(b);
	return 0;
}

static void errors(void)
{
	struct aoki_host *h, *h2;
	char bad[2 * PATH_MAX + 64];

	CHECK_EQ(aoki_host_start("nosuchd", words, &quiet, &h), -ENOENT);
	CHECK_EQ(aoki_host_start("blkd", "--colour blue", &quiet, &h), -EINVAL);
	CHECK_EQ(aoki_host_start("blkd", "", &quiet, &h), -EINVAL);	/* no volumes */
	CHECK_EQ(aoki_host_start("blkd", "--check --volume v=/dev/null", &quiet, &h), -EINVAL);
	snprintf(bad, sizeof(bad), "--port %s --volume v=%s/missing.img", port, dir);
	CHECK(aoki_host_start("blkd", bad, &quiet, &h) < 0);
	CHECK_EQ(aoki_host_start("blkd", words, &quiet, &h), 0);
	/* The same port again (on another file: the same one is refused
	 * first, -EBUSY, blk-exclusive). */
	snprintf(bad, sizeof(bad), "--port %s --quiet --volume v=%s/other.img", port, dir);
	t_blk_file(bad + strlen(bad) - strlen(dir) - strlen("/other.img"), 1 << 20);
	CHECK_EQ(aoki_host_start("blkd", bad, &quiet, &h2), -EEXIST);
	CHECK_EQ(round_trip(port, 1), 0);
	aoki_host_stop(h);
	aoki_host_stop(NULL);
}

/* The hosted server first; the process again once it stops. */
static void layout_choice(void)
{
	char vol[PATH_MAX + 32];
	struct aoki_host *h;
	struct aoki_host_stats st;
	struct aoki_blk *b;
	unsigned char *buf;
	pid_t pid;

	/* The daemon on a file of its own: one file is one server's
	 * (blk-exclusive). */
	snprintf(vol, sizeof(vol), "v=%s/daemon.img", dir);
	t_blk_file(vol + 2, 1 << 20);
	pid = t_blkd_start(port, (const char *const[]){ "--volume", vol, NULL });
	CHECK_EQ(aoki_host_start("blkd", words, &quiet, &h), 0);
	CHECK_EQ(aoki_blk_open(port, "v", AOKI_BLK_RDWR, NULL, &b), 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, (void **)&buf), 0);
	/* A fault only the hosted server can take: proof of who serves. */
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, 0), 4096);
	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	CHECK_EQ(st.recoveries, 1);
	/* Stop: its clients are told at once, not after a timeout. */
	aoki_host_stop(h);
	{
		int64_t t0 = t_now_ns();

		CHECK_EQ(aoki_blk_pread(b, buf, 4096, 0), -ESHUTDOWN);
		CHECK(t_now_ns() - t0 < 2000000000ll);
	}
	aoki_blk_close(b);
	/* New connections reach the process now. */
	CHECK_EQ(round_trip(port, 2), 0);
	t_blkd_stop(pid);
}

/* A child of fork() has the parent's memory but not its servers. */
static void forked_child(void)
{
	struct aoki_host *h;
	pid_t pid;
	int status;

	CHECK_EQ(aoki_host_start("blkd", words, &quiet, &h), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(round_trip(port, 3) == -ECONNREFUSED ? 0 : 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(round_trip(port, 4), 0);	/* the parent's still works */
	aoki_host_stop(h);
}

/* Re-executed with AOKI_HOST set: plain client code. */
static int env_child(void)
{
	struct stat sb;
	int r = round_trip(port, 5);

	if (r < 0) {
		printf("env child: %s\n", strerror(-r));
		return r == -EINVAL ? 3 : 1;
	}
	/* Served in-process: nothing listens at the port. */
	return stat(port, &sb) == 0 ? 2 : 0;
}

static int run_env_child(const char *self, const char *env)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		setenv("AOKI_HOST", env, 1);
		execl(self, self, "--env-child", port, (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void from_env(const char *self)
{
	char env[4 * PATH_MAX];

	snprintf(env, sizeof(env), "blkd: %s", words);
	CHECK_EQ(run_env_child(self, env), 0);
	snprintf(env, sizeof(env), " ; blkd : %s ;", words);	/* spaces, empty entries */
	CHECK_EQ(run_env_child(self, env), 0);
	CHECK_EQ(run_env_child(self, "blkd --volume x"), 3);	/* no colon */
	/* Every entry that cannot be hosted: -EINVAL, whatever the cause
	 * (a missing volume's -ENOENT would read as "no server"). */
	CHECK_EQ(run_env_child(self, "nosuchd: -q"), 3);
	CHECK_EQ(run_env_child(self, "blkd: --volume v=/nonexistent/aoki.img"), 3);
}

static void unisolated(void)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET | AOKI_HOST_UNISOLATED };
	struct aoki_host_stats st;
	struct aoki_host *h;

	CHECK_EQ(aoki_host_start("blkd", words, &o, &h), 0);
	CHECK_EQ(round_trip(port, 6), 0);
	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	CHECK_EQ(st.isolated, 0);
	aoki_host_stop(h);
}

static void each_fault(void)
{
	static const int kinds[] = { AOKI_HOST_FAULT_NULL, AOKI_HOST_FAULT_ABORT,
				     AOKI_HOST_FAULT_NULL, AOKI_HOST_FAULT_ABORT };
	struct aoki_host_stats st;
	struct aoki_host *h;

	CHECK_EQ(aoki_host_start("blkd", words, &quiet, &h), 0);
	CHECK_EQ(aoki_host_inject_fault(h, 99, NULL), -EINVAL);
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		CHECK_EQ(aoki_host_inject_fault(h, kinds[i], NULL), 0);
		CHECK_EQ(round_trip(port, (unsigned char)(10 + i)), 0);
		CHECK_EQ(aoki_host_get_stats(h, &st), 0);
		CHECK_EQ(st.recoveries, i + 1);
		CHECK_EQ(st.drain_failures, 0);
	}
	aoki_host_stop(h);
}

/* A client whose request meets a fault, racing aoki_host_stop: the stop
 * may come between the fault and its rebuild (found by a hostile review:
 * the rebuild then ran on a destroyed server and crashed the process).
 * The client gets its data or -ESHUTDOWN, nothing else. */
struct racer {
	struct aoki_blk *b;
	void *buf;
	ssize_t r;
};

static void *race_read(void *arg)
{
	struct racer *x = arg;

	x->r = aoki_blk_pread(x->b, x->buf, 4096, 0);
	return NULL;
}

static void stop_during_recovery(void)
{
	for (unsigned round = 0; round < 40; round++) {
		struct aoki_host *h;
		struct racer x;
		pthread_t t;

		CHECK_EQ(aoki_host_start("blkd", words, &quiet, &h), 0);
		CHECK_EQ(aoki_blk_open(port, "v", AOKI_BLK_RDWR, NULL, &x.b), 0);
		CHECK_EQ(aoki_blk_alloc(x.b, 4096, &x.buf), 0);
		CHECK_EQ(aoki_host_inject_fault(h, round % 2 ? AOKI_HOST_FAULT_ABORT :
							       AOKI_HOST_FAULT_NULL, NULL), 0);
		CHECK_EQ(pthread_create(&t, NULL, race_read, &x), 0);
		if (round % 4)
			usleep(round * 37 % 400);
		aoki_host_stop(h);
		CHECK_EQ(pthread_join(t, NULL), 0);
		CHECK(x.r == 4096 || x.r == -ESHUTDOWN);
		aoki_blk_close(x.b);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--env-child")) {
		snprintf(port, sizeof(port), "%s", argv[2]);
		return env_child();
	}
	snprintf(dir, sizeof(dir), "%s", t_run_dir());
	snprintf(port, sizeof(port), "%s/blk.sock", dir);
	snprintf(file, sizeof(file), "%s/vol.img", dir);
	t_blk_file(file, 1 << 20);
	snprintf(words, sizeof(words), "--port %s --quiet --volume v=%s", port, file);
	errors();
	layout_choice();
	forked_child();
	from_env(argv[0]);
	unisolated();
	each_fault();
	stop_during_recovery();
	return 0;
}
