/* SPDX-License-Identifier: MIT */
/*
 * ipc-admit-bye: a server that stops for good tells its clients at once
 * (issue 12, item 7).  Clients keep the default behaviour of reconnecting
 * after a crash (reconnect_ns 5 s here, to keep a failure short); a
 * deliberate stop must not look like a crash to them.
 *   1. In-process server: aoki_server_destroy.  A client's next call
 *      fails within 1 s with -ESHUTDOWN (the goodbye's status) or
 *      -ECONNRESET (a client library that maps every goodbye to it) -
 *      not -ETIMEDOUT after the reconnect deadline, which is what a
 *      hang-up without a goodbye gives.
 *   2. Under aoki-init: SIGTERM to aoki-init.  The echo server's client
 *      fails the same way within 1 s.  A second server that ignores
 *      SIGTERM (stopped second) loses its port the
 *      moment aoki-init sends it SIGTERM: a new client gets -ENOENT at
 *      once, although the process still runs until the SIGKILL.
 *   3. Control: a server that dies (SIGKILL, no goodbye) is waited for:
 *      the client does not fail within that 1 s.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"

#define RECONNECT_NS 5000000000ll
#define READY_FD 9

static const struct aoki_chan_opts opts = { .reconnect_ns = RECONNECT_NS };

/* Call until the channel fails (at most @ms); returns the ms it took and
 * the error in *@err (0 if it never failed). */
static long time_to_fail(struct aoki_chan *ch, unsigned ms, int *err)
{
	int64_t t0 = t_now_ns(), end = t0 + (int64_t)ms * 1000000;
	int r;

	do {
		r = aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL);
		if (r < 0)
			break;
		t_sleep_ms(1);
	} while (t_now_ns() < end);
	*err = r < 0 ? r : 0;
	return (long)((t_now_ns() - t0) / 1000000);
}

static void check_fast_goodbye(const char *what, long ms, int err)
{
	printf("note: %s: the client failed after %ld ms with %d (%s)\n", what, ms, err,
	       err ? strerror(-err) : "none");
	CHECK(err == -ESHUTDOWN || err == -ECONNRESET);
	CHECK(ms < 1000);
}

static void in_process(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("bye", 2, &st, NULL, NULL);
	struct aoki_chan *a, *b;
	long ms;
	int err;

	CHECK_EQ(aoki_connect("bye", &opts, &a), 0);
	CHECK_EQ(aoki_connect("bye", &opts, &b), 0);
	CHECK(t_echo_ok(a, 1) && t_echo_ok(b, 2));
	aoki_server_destroy(srv);
	ms = time_to_fail(a, 7000, &err);
	check_fast_goodbye("aoki_server_destroy", ms, err);
	ms = time_to_fail(b, 7000, &err);
	CHECK(err == -ESHUTDOWN || err == -ECONNRESET);
	CHECK(ms < 1000);
	aoki_close(a);
	aoki_close(b);
}

/* Control: SIGKILL is a crash, and a crash is waited out. */
static void crash_control(void)
{
	struct aoki_chan_opts o = { .reconnect_ns = 1500000000ll };
	pid_t pid = t_echo_spawn("crash");
	struct aoki_chan *ch;
	long ms;
	int err;

	CHECK_EQ(aoki_connect("crash", &o, &ch), 0);
	CHECK(t_echo_ok(ch, 3));
	t_kill9(pid);
	t_child_track(0, pid);
	ms = time_to_fail(ch, 1000, &err);
	printf("note: control: after SIGKILL the client was still waiting after %ld ms (%d)\n",
	       ms, err);
	CHECK(err == 0 || err == -ETIMEDOUT);
	CHECK(ms >= 1000);
	aoki_close(ch);
}

/* ------------------------------------------------------------ aoki-init */

static char bin_dir[PATH_MAX], self_exe[PATH_MAX];

/* "--stubborn PORT": an echo server on the socket aoki-init passes for
 * PORT that ignores SIGTERM (aoki-init has to SIGKILL it); it dies with
 * aoki-init. */
static int stubborn_server(const char *port)
{
	struct echo_state st;

	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	t_echo_inproc(port, 1, &st, NULL, NULL);
	for (;;)
		pause();
	return 0;
}

static void find_bins(void)
{
	char exe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
	struct stat sb;

	CHECK(n > 0);
	exe[n] = 0;
	memcpy(self_exe, exe, (size_t)n + 1);
	/* build/tests/ipc-admit-bye -> build/bin */
	CHECK((size_t)snprintf(bin_dir, sizeof(bin_dir) - 16, "%s/../bin", dirname(exe)) <
	      sizeof(bin_dir) - 16);
	snprintf(exe, sizeof(exe), "%s/aoki-init", bin_dir);
	if (stat(exe, &sb) < 0)
		t_skip("build/bin/aoki-init not built");
	snprintf(exe, sizeof(exe), "%s/aoki-echod", bin_dir);
	if (stat(exe, &sb) < 0)
		t_skip("build/bin/aoki-echod not built");
}

static pid_t start_init(const char *dir)
{
	char conf[PATH_MAX], exe[PATH_MAX + 16], fdarg[16], line[8];
	int p[2];
	pid_t pid;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/init.conf", dir);
	f = fopen(conf, "w");
	CHECK(f != NULL);
	fprintf(f, "[server stubborn]\n"
		   "exec = %s --stubborn stubborn\n"
		   "port = stubborn\nstop-timeout-ms = 3000\n\n"
		   "[server echo]\nexec = %s/aoki-echod --port echo --quiet\nport = echo\n",
		self_exe, bin_dir);
	CHECK_EQ(fclose(f), 0);
	snprintf(exe, sizeof(exe), "%s/aoki-init", bin_dir);
	snprintf(fdarg, sizeof(fdarg), "%d", READY_FD);
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (dup2(p[1], READY_FD) < 0)
			_exit(126);
		execl(exe, exe, "-c", conf, "--run-dir", dir, "--ready-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	t_child_track(pid, 0);
	close(p[1]);
	CHECK_EQ(read(p[0], line, sizeof(line)), 6);
	close(p[0]);
	return pid;
}

static void under_init(void)
{
	const char *dir = getenv("AOKI_RUN_DIR");
	struct aoki_chan *ch, *stub;
	char path[PATH_MAX];
	long ms;
	int err, status;
	pid_t init;

	find_bins();
	init = start_init(dir);
	t_wait_accepting("echo", init, 5);
	t_wait_accepting("stubborn", init, 5);
	CHECK_EQ(aoki_connect("echo", &opts, &ch), 0);
	CHECK(t_echo_ok(ch, 4));
	CHECK_EQ(aoki_connect("stubborn", &opts, &stub), 0);
	CHECK(t_echo_ok(stub, 5));
	CHECK_EQ(kill(init, SIGTERM), 0);
	ms = time_to_fail(ch, 7000, &err);
	check_fast_goodbye("SIGTERM to aoki-init", ms, err);
	aoki_close(ch);
	/* The stubborn one still runs (its channel works) but its port is
	 * gone: nobody new is let in while it is being stopped. */
	snprintf(path, sizeof(path), "%s/stubborn.sock", dir);
	for (int i = 0; i < 500 && access(path, F_OK) == 0; i++)
		t_sleep_ms(2);
	CHECK(t_echo_ok(stub, 6));
	printf("note: a server ignoring SIGTERM: its port %s during the stop\n",
	       access(path, F_OK) == 0 ? "still exists" : "is gone");
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ(aoki_connect("stubborn", &opts, &ch), -ENOENT);
	CHECK_EQ(waitpid(init, &status, 0), init);
	t_child_track(0, init);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	aoki_close(stub);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--stubborn"))
		return stubborn_server(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	t_run_dir();
	crash_control();
	in_process();
	under_init();
	return T_EXIT_PASS;
}
