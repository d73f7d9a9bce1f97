/* SPDX-License-Identifier: MIT */
/*
 * ipc_util.h - header-only helpers shared by the tests/ipc-*.c binaries:
 * deterministic payloads derived from a tag (so any reply can be checked
 * without remembering what was sent), server processes that die with a
 * test that fails (t_spawn), an in-process echo server,
 * "wait until" loops with a deadline, and a /proc snapshot of what a
 * process holds (descriptors, mappings, RSS) for leak checks.
 */
#ifndef AOKI_TEST_IPC_UTIL_H
#define AOKI_TEST_IPC_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "echo.h"
#include "harness.h"

/* Payload length for @tag: 0..AOKI_MSG_PAYLOAD, so every length is used. */
static inline size_t t_tag_len(uint64_t tag)
{
	return (size_t)((tag ^ (tag >> 32)) % (AOKI_MSG_PAYLOAD + 1));
}

/* Fill @buf with t_tag_len(@tag) bytes that depend on every bit of @tag. */
static inline size_t t_tag_fill(uint64_t tag, uint8_t *buf)
{
	size_t len = t_tag_len(tag);
	uint64_t x = tag * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		buf[i] = (uint8_t)(x >> 56);
	}
	return len;
}

/* Is (@buf, @len) exactly the payload of @tag? */
static inline int t_tag_check(uint64_t tag, const void *buf, size_t len)
{
	uint8_t want[AOKI_MSG_PAYLOAD];
	size_t n = t_tag_fill(tag, want);

	return n == len && memcmp(want, buf, n) == 0;
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Children started by t_spawn (or tracked) and not yet reaped, at most 8
 * at once; and the process that tracks them. */
static _Atomic pid_t t_children[8];
static pid_t t_children_owner;

/* atexit: SIGKILL the children of a test that exits early (a failed
 * CHECK), so no server outlives it.  Only in the test process itself: a
 * forked child that exits (t_echo_spawn's) must not kill its siblings. */
static inline void t_children_kill(void)
{
	for (unsigned i = 0; getpid() == t_children_owner && i < 8; i++)
		if (t_children[i] > 0)
			kill(t_children[i], SIGKILL);
}

/*
 * t_child_track - replace @was by @pid in the table of live children:
 * (pid, 0) after a fork, (0, pid) once the child is reaped.  The first
 * call registers t_children_kill with atexit, so it runs before cleanups
 * registered earlier (t_run_dir's).  Exits the test with more than 8.
 */
static inline void t_child_track(pid_t pid, pid_t was)
{
	static _Atomic int registered;

	if (!atomic_exchange(&registered, 1)) {
		t_children_owner = getpid();
		atexit(t_children_kill);
	}
	for (unsigned i = 0; i < 8; i++) {
		pid_t expect = was;

		if (atomic_compare_exchange_strong(&t_children[i], &expect, pid))
			return;
	}
	CHECK(was != 0);	/* more than 8 children at once */
}

/* t_spawn - fork and exec @argv (argv[0] a path, NULL-terminated) and
 * track the child.  Returns its pid; exits the test if fork fails. */
static inline pid_t t_spawn(const char *const *argv)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	t_child_track(pid, 0);
	return pid;
}

/*
 * t_run_fails_saying - run @argv (argv[0] a path) to its end with its
 * stderr in a file of the run directory; it must exit non-zero (not fail
 * to start) and say @needle on stderr.  Exits the test otherwise.
 */
static inline void t_run_fails_saying(const char *const *argv, const char *needle)
{
	char err[PATH_MAX + 16], line[512];
	int status, said = 0;
	pid_t pid;
	FILE *f;

	snprintf(err, sizeof(err), "%s/run-%d.err", t_run_dir(), (int)getpid());
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (!freopen(err, "w", stderr))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 126);
	f = fopen(err, "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		said |= strstr(line, needle) != NULL;
	fclose(f);
	if (!said)
		fprintf(stderr, "%s exited %d without saying \"%s\"\n", argv[0],
			WEXITSTATUS(status), needle);
	CHECK(said);
}

/*
 * t_wait_accepting - wait until the server @pid accepts channels on
 * @port (a connect succeeds), checking every @poll_ms that it is still
 * alive.  Exits the test if it died or is not up within 5 s.
 */
static inline void t_wait_accepting(const char *port, pid_t pid, unsigned poll_ms)
{
	int64_t end = t_now_ns() + 5000000000ll;

	for (;;) {
		struct aoki_chan_opts o = { .reconnect_ns = -1 };
		struct aoki_chan *ch;
		int r = aoki_connect(port, &o, &ch);

		if (r == 0) {
			aoki_close(ch);
			return;
		}
		CHECK(r == -ENOENT || r == -ECONNREFUSED);
		CHECK(waitpid(pid, NULL, WNOHANG) == 0);	/* still alive */
		CHECK(t_now_ns() < end);
		t_sleep_ms(poll_ms);
	}
}

/* A quiet echo server in a child process on @port; exits the test on
 * failure.  Returns its pid. */
static inline pid_t t_echo_spawn(const char *port)
{
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	pid_t pid;

	CHECK_EQ(echo_server_spawn(port, &eo, &pid), 0);
	return pid;
}

/* SIGKILL the child @pid and reap it, checking it died of the signal. */
static inline void t_kill9(pid_t pid)
{
	int status;

	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
}

/*
 * An echo server inside this process, on @port, with @workers workers.
 * @st must outlive the server.  Exits the test on failure.
 */
static inline struct aoki_server *t_echo_inproc(const char *port, unsigned workers,
						 struct echo_state *st,
						 aoki_policy_fn policy, void *policy_arg)
{
	struct aoki_server_config cfg = {
		.port = port, .listen_fd = -1, .handler = echo_handler,
		.handler_arg = st, .workers = workers, .quiet = !getenv("T_SERVER_LOG"),
		.policy = policy, .policy_arg = policy_arg,
	};
	struct aoki_server *srv = NULL;

	memset(st, 0, sizeof(*st));
	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	return srv;
}

/* Which counter of struct aoki_server_stats t_wait_stat watches. */
enum t_stat { T_CHANNELS, T_ACCEPTED, T_DROPPED, T_REFUSED, T_REQUESTS };

static inline uint64_t t_stat(struct aoki_server *srv, enum t_stat which)
{
	struct aoki_server_stats s;

	aoki_server_get_stats(srv, &s);
	switch (which) {
	case T_CHANNELS: return s.channels;
	case T_ACCEPTED: return s.accepted;
	case T_DROPPED: return s.dropped;
	case T_REFUSED: return s.refused;
	case T_REQUESTS: return s.requests;
	}
	return 0;
}

/* Wait up to @ms for counter @which to equal @want; returns 1 if it did. */
static inline int t_wait_stat(struct aoki_server *srv, enum t_stat which, uint64_t want,
			      unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;

	do {
		if (t_stat(srv, which) == want)
			return 1;
		t_sleep_ms(1);
	} while (t_now_ns() < end);
	return t_stat(srv, which) == want;
}

/* What a process holds, from /proc: for leak checks on a server process. */
struct t_proc_usage {
	long fds;	/* entries in /proc/PID/fd */
	long maps;	/* lines of /proc/PID/maps */
	long rss_kb;	/* VmRSS */
};

/* Snapshot @pid's usage.  Exits the test if /proc cannot be read. */
static inline struct t_proc_usage t_proc_usage(pid_t pid)
{
	struct t_proc_usage u = { 0, 0, -1 };
	char path[64], line[512];
	struct dirent *e;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	CHECK(d != NULL);
	while ((e = readdir(d)))
		u.fds += e->d_name[0] != '.';
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		u.maps += strchr(line, '\n') != NULL;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &u.rss_kb) == 1)
			break;
	fclose(f);
	CHECK(u.rss_kb >= 0);
	return u;
}

/* One ECHO round trip of @tag's payload, checked.  Retries -EAGAIN. */
static inline int t_echo_ok(struct aoki_chan *ch, uint64_t tag)
{
	uint8_t req[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
	size_t len = t_tag_fill(tag, req), got = 999;
	int r;

	for (int tries = 0; tries < 100000; tries++) {
		r = aoki_call(ch, ECHO_OP_ECHO, req, len, rep, sizeof(rep), &got);
		if (r != -EAGAIN)
			break;
		sched_yield();
	}
	if (r != (int)len) {
		fprintf(stderr, "echo tag %llu: status %d, want %zu\n",
			(unsigned long long)tag, r, len);
		return 0;
	}
	if (!t_tag_check(tag, rep, got)) {
		fprintf(stderr, "echo tag %llu: reply payload corrupt\n",
			(unsigned long long)tag);
		return 0;
	}
	return 1;
}

#endif
