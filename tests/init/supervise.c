/* SPDX-License-Identifier: MIT */
/*
 * init-supervise: aoki-init end to end, with aoki-echod servers.
 *   1. It replaces a stale socket file, starts the servers, reports READY
 *      on --ready-fd, and writes <run dir>/<server>.pid.
 *   2. SIGKILL a server, several times: it is restarted at once (new pid
 *      in the pid file), and a new aoki_connect + call reaches the new
 *      process (ECHO_OP_PID); the old channel gets -ECONNRESET.
 *   3. A client that connects while a server waits out its restart delay
 *      is held in the backlog of the socket aoki-init keeps, and served by
 *      the next incarnation.
 *   4. A server that always fails restarts with doubling delays and is
 *      given up at its crash limit; its socket and pid file go away.  One
 *      that exits 0 under restart = on-failure is not restarted.
 *   5. SIGTERM stops the servers, last first, removes sockets and pid
 *      files; exit status 1 because a server gave up.
 *   6. SIGINT with a server that ignores SIGTERM: SIGKILL after
 *      stop-timeout-ms; exit status 0.
 *   7. A port with a live listener, and a bad configuration, are errors.
 */
#include "init_util.h"

/* Wait up to @ms for <server>.pid to hold a pid other than @old. */
static pid_t wait_new_pid(const char *server, pid_t old, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;
	pid_t pid;

	while ((pid = read_pid(server)) == 0 || pid == old) {
		CHECK(t_now_ns() < end);
		t_sleep_ms(1);
	}
	return pid;
}

/* Wait up to @ms for @pid to be gone and reaped by its parent. */
static void wait_gone(pid_t pid, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;

	while (kill(pid, 0) == 0) {	/* a zombie still counts */
		CHECK(t_now_ns() < end);
		t_sleep_ms(1);
	}
	CHECK_EQ(errno, ESRCH);
}

/* A new channel to @port: one echo, and the server's pid must be @pid
 * (0: any).  Reconnection off: a server's death must show. */
static struct aoki_chan *check_served(const char *port, pid_t pid)
{
	struct aoki_chan_opts o = { .reconnect_ns = -1, .timeout_ns = 5000000000 };
	struct aoki_chan *ch;
	uint32_t srv_pid = 0;

	CHECK_EQ(aoki_connect(port, &o, &ch), 0);
	CHECK(t_echo_ok(ch, (uint64_t)pid));
	CHECK_EQ(aoki_call(ch, ECHO_OP_PID, NULL, 0, &srv_pid, sizeof(srv_pid), NULL), 0);
	if (pid)
		CHECK_EQ(srv_pid, pid);
	return ch;
}

/* A socket file at <port>.sock: stale (closed) or live (returned). */
static int bind_port(const char *port, int keep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(fd, 1), 0);
	if (keep)
		return fd;
	close(fd);
	return -1;
}

static void restarts(void)
{
	char conf[2 * PATH_MAX + 1024];
	struct aoki_chan *ch;
	pid_t init, pid, old, echo_pids[4];
	int64_t t0;

	snprintf(conf, sizeof(conf),
		 "[server echo]\n"
		 "exec = %s/aoki-echod --port echo --workers 2 --quiet\n"
		 "port = echo\n"
		 "\n"
		 "[server slow]\n"
		 "exec = %s/aoki-echod --port slow --quiet\n"
		 "port = slow\n"
		 "backoff-min-ms = 300\n"
		 "backoff-max-ms = 300\n"
		 "\n"
		 "[server fail]\n"
		 "exec = /bin/false\n"
		 "port = fail\n"
		 "backoff-min-ms = 20\n"
		 "backoff-max-ms = 80\n"
		 "crash-limit = 4\n"
		 "\n"
		 "[server once]\n"
		 "exec = /bin/true\n"
		 "port = once\n",
		 bin_dir, bin_dir);
	write_file("a.conf", conf);
	bind_port("echo", 0);	/* a stale socket file from a previous run */

	/* 1. */
	init = spawn_init("a.conf", 1);
	CHECK(exists("echo.sock") && exists("slow.sock"));
	pid = read_pid("echo");
	CHECK(pid > 0);
	ch = check_served("echo", pid);

	/* 2. */
	echo_pids[0] = pid;
	for (int i = 1; i < 4; i++) {
		old = pid;
		CHECK_EQ(kill(old, SIGKILL), 0);
		pid = wait_new_pid("echo", old, 3000);
		echo_pids[i] = pid;
		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "x", 1, NULL, 0, NULL), -ECONNRESET);
		aoki_close(ch);
		ch = check_served("echo", pid);
		printf("note: echo restart %d: pid %d -> %d\n", i, old, pid);
	}
	aoki_close(ch);

	/* 3. */
	old = read_pid("slow");
	CHECK(old > 0);
	CHECK_EQ(kill(old, SIGKILL), 0);
	wait_gone(old, 3000);	/* reaped: the 300 ms restart delay runs */
	t0 = t_now_ns();
	ch = check_served("slow", 0);
	t0 = t_now_ns() - t0;
	aoki_close(ch);
	pid = read_pid("slow");
	CHECK(pid > 0 && pid != old);
	printf("note: a connect during the restart delay waited %.0f ms\n", t0 / 1e6);
	CHECK(t0 > 200000000);

	/* 4. */
	wait_log("crashes within 60 s (crash-limit)", 5000);
	wait_log("exited with status 0; not restarted", 5000);
	CHECK(LOG_HAS("server fail started", "exited with status 1; restart in 20 ms",
		      "server fail restarted", "exited with status 1; restart in 40 ms",
		      "exited with status 1; restart in 80 ms",
		      "exited with status 1; giving up: 4 crashes within 60 s (crash-limit)"));
	CHECK(LOG_HAS("server once (pid", "exited with status 0; not restarted "
		      "(restart = on-failure)"));
	CHECK(!exists("fail.sock") && !exists("fail.pid"));
	CHECK(!exists("once.sock") && !exists("once.pid"));
	CHECK(LOG_HAS("server echo (pid", "killed by signal 9 (SIGKILL); restart in 0 ms",
		      "killed by signal 9 (SIGKILL); restart in 10 ms",
		      "killed by signal 9 (SIGKILL); restart in 20 ms"));

	/* 5. */
	pid = read_pid("echo");
	CHECK_EQ(kill(init, SIGTERM), 0);
	CHECK_EQ(wait_exit(init, 5000), 1);
	CHECK(LOG_HAS("SIGTERM: stopping the servers", "stopping server slow",
		      "server slow (pid", "stopped: exited with status 0",
		      "stopping server echo", "stopped: exited with status 0",
		      "exiting with status 1"));
	CHECK(!exists("echo.sock") && !exists("slow.sock"));
	CHECK(!exists("echo.pid") && !exists("slow.pid"));
	for (int i = 0; i < 4; i++)
		CHECK(kill(echo_pids[i], 0) < 0 && errno == ESRCH);
	CHECK_EQ(aoki_connect("echo", NULL, &ch), -ENOENT);
}

static void stop_timeout(void)
{
	char conf[PATH_MAX + 1024];
	pid_t init, stubborn;
	int64_t t0, dt;

	snprintf(conf, sizeof(conf),
		 "[server echo]\n"
		 "exec = %s/aoki-echod --port echo2 --quiet\n"
		 "port = echo2\n"
		 "[server stubborn]\n"
		 "exec = /bin/sh -c \"trap '' TERM; exec sleep 30\"\n"
		 "stop-timeout-ms = 200\n",
		 bin_dir);
	write_file("b.conf", conf);
	init = spawn_init("b.conf", 1);
	stubborn = read_pid("stubborn");
	CHECK(stubborn > 0);
	aoki_close(check_served("echo2", read_pid("echo")));
	t_sleep_ms(50);		/* let sh set its trap */
	t0 = t_now_ns();
	CHECK_EQ(kill(init, SIGINT), 0);
	CHECK_EQ(wait_exit(init, 5000), 0);
	dt = t_now_ns() - t0;
	CHECK(dt >= 150000000);
	CHECK(LOG_HAS("SIGINT: stopping the servers", "stopping server stubborn",
		      "did not stop within 200 ms: SIGKILL",
		      "stopped: killed by signal 9 (SIGKILL)", "stopping server echo",
		      "exiting with status 0"));
	CHECK(kill(stubborn, 0) < 0 && errno == ESRCH);
	CHECK(!exists("echo2.sock"));
}

static void errors(void)
{
	char exe[PATH_MAX + 16], cmd[3 * PATH_MAX];
	int fd;

	/* A live listener keeps its socket; aoki-init exits 1. */
	write_file("c.conf", "[server busy]\nexec = /bin/true\nport = busy\n");
	fd = bind_port("busy", 1);
	CHECK_EQ(wait_exit(spawn_init("c.conf", 0), 5000), 1);
	CHECK(LOG_HAS("aoki-init: server busy: port busy: ", "busy.sock: another process "
		      "listens there"));
	CHECK(exists("busy.sock"));
	close(fd);

	/* --check: a bad file is exit 2 with FILE:LINE; a good one 0. */
	snprintf(exe, sizeof(exe), "%s/aoki-init", bin_dir);
	write_file("d.conf", "[server x]\nexec = /bin/true\nrestart = sometimes\n");
	snprintf(cmd, sizeof(cmd), "%s --check -c %s/d.conf 2>%s/check.log", exe, run_dir,
		 run_dir);
	CHECK_EQ(WEXITSTATUS(system(cmd)), 2);
	{
		char *msg = read_file("check.log");

		CHECK(msg && strstr(msg, "d.conf:3: restart: 'sometimes'"));
		free(msg);
	}
	snprintf(cmd, sizeof(cmd), "%s --check -c %s/c.conf >/dev/null", exe, run_dir);
	CHECK_EQ(WEXITSTATUS(system(cmd)), 0);
	snprintf(cmd, sizeof(cmd), "%s --bogus 2>/dev/null", exe);
	CHECK_EQ(WEXITSTATUS(system(cmd)), 2);
}

int main(int argc, char **argv)
{
	(void)argc;
	init_test_setup(argv[0]);
	restarts();
	stop_timeout();
	errors();
	return T_EXIT_PASS;
}
