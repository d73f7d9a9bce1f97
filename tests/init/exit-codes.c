/* SPDX-License-Identifier: MIT */
/*
 * init-exit-codes: what aoki-init does with how a server ended.
 *   1. Exit status 2 (our servers' usage or configuration error, the
 *      default no-restart-status) is not restarted, is logged as such, and
 *      the port is removed: clients fail at once with -ENOENT.  Another
 *      status can be named (no-restart-status = 3).
 *   2. Control: with no-restart-status = 0 the same exit 2 is restarted
 *      (so 1 tests the rule, not the program).
 *   3. At the crash limit with cool-down-s set, the ports are removed at
 *      once (connect: -ENOENT, no wait), the status file says "cooling",
 *      and after cool-down-s new ports are created and the server runs
 *      again with a fresh crash count.
 *   4. At the crash limit without cool-down-s it gives up, loudly.
 */
#include "init_util.h"

/* Wait up to @ms for <@server>.status to contain @text. */
static void wait_status(const char *server, const char *text, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;
	char file[128];

	snprintf(file, sizeof(file), "%s.status", server);
	for (;;) {
		char *st = read_file(file);
		int found = st && strstr(st, text);

		if (!found && t_now_ns() > end)
			fprintf(stderr, "%s lacks \"%s\":\n%s\n", file, text, st ? st : "(none)");
		free(st);
		if (found)
			return;
		CHECK(t_now_ns() <= end);
		t_sleep_ms(2);
	}
}

/* aoki_connect to @port fails with -ENOENT, and at once. */
static void connect_fails_at_once(const char *port)
{
	struct aoki_chan *ch;
	int64_t t0 = t_now_ns();

	CHECK_EQ(aoki_connect(port, NULL, &ch), -ENOENT);
	CHECK(t_now_ns() - t0 < 500000000);
}

int main(int argc, char **argv)
{
	pid_t init;

	(void)argc;
	init_test_setup(argv[0]);
	write_file("a.conf",
		   "[server usage]\n"
		   "exec = /bin/sh -c \"exit 2\"\n"
		   "port = usage\n"
		   "\n"
		   "[server three]\n"
		   "exec = /bin/sh -c \"exit 3\"\n"
		   "port = three\n"
		   "no-restart-status = 3\n"
		   "\n"
		   "[server control]\n"
		   "exec = /bin/sh -c \"exit 2\"\n"
		   "no-restart-status = 0\n"
		   "crash-limit = 3\n"
		   "\n"
		   "[server cool]\n"
		   "exec = /bin/false\n"
		   "port = cool\n"
		   "crash-limit = 2\n"
		   "cool-down-s = 1\n");
	init = spawn_init("a.conf", 1);

	/* 1. */
	wait_log("exited with status 2; not restarted: exit status 2 means a usage or "
		 "configuration error (no-restart-status)", 5000);
	wait_log("exited with status 3; not restarted: exit status 3 means", 5000);
	wait_status("usage", "state=failed", 2000);
	CHECK(!exists("usage.sock") && !exists("three.sock"));
	connect_fails_at_once("usage");
	connect_fails_at_once("three");

	/* 2. */
	wait_log("server control (pid", 5000);
	wait_log("exited with status 2; giving up: 3 crashes within 60 s (crash-limit); "
		 "its ports are removed and it stays down until aoki-init restarts", 5000);
	CHECK(LOG_HAS("server control (pid", "exited with status 2; restart in 0 ms",
		      "server control restarted"));

	/* 3. */
	wait_log("exited with status 1; 2 crashes within 60 s (crash-limit): its ports are "
		 "removed; new ones and a restart in 1 s (cool-down-s)", 5000);
	wait_status("cool", "state=cooling", 500);
	CHECK(!exists("cool.sock"));
	connect_fails_at_once("cool");
	wait_log("server cool: cool-down over; ports created again", 3000);
	for (int64_t end = t_now_ns() + 3000000000; log_count("(cool-down-s)") < 2;) {
		CHECK(t_now_ns() < end);	/* the fresh count reached the limit again */
		t_sleep_ms(2);
	}
	CHECK(LOG_HAS("(cool-down-s)", "server cool: cool-down over", "server cool restarted",
		      "restart in 0 ms", "(cool-down-s)"));

	/* 1 and 4 count as failures: exit status 1. */
	CHECK_EQ(log_count("server usage restarted"), 0);
	CHECK_EQ(log_count("server three restarted"), 0);
	CHECK_EQ(kill(init, SIGTERM), 0);
	CHECK_EQ(wait_exit(init, 5000), 1);
	CHECK(!exists("cool.sock"));
	return T_EXIT_PASS;
}
