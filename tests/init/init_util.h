/* SPDX-License-Identifier: MIT */
/*
 * init_util.h - header-only helpers of the aoki-init end-to-end tests
 * (tests/init/NAME.c): files in the test's run directory, aoki-init started
 * with its log in <run dir>/init.log and READY on a ready fd, waits with
 * deadlines, and checks of the log.  Call init_test_setup() first.
 */
#ifndef AOKI_TEST_INIT_UTIL_H
#define AOKI_TEST_INIT_UTIL_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ipc_util.h"

#define READY_FD 9

static char bin_dir[PATH_MAX];		/* aoki-init and aoki-echod */
static const char *run_dir;
static pid_t live_init, test_pid;	/* an aoki-init not yet waited for */

/* A failed check exits: take aoki-init down too (its servers follow,
 * by their parent-death signal). */
static inline void kill_live_init(void)
{
	if (live_init > 0 && getpid() == test_pid)
		kill(live_init, SIGKILL);
}

/* Find the programs in ../bin next to the test binary @argv0 (skip the
 * test when there is none), make the private run directory. */
static inline void init_test_setup(const char *argv0)
{
	char self[PATH_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	snprintf(self, sizeof(self), "%s", argv0);
	CHECK((size_t)snprintf(bin_dir, sizeof(bin_dir), "%s/../bin", dirname(self)) <
	      sizeof(bin_dir));
	if (access(bin_dir, X_OK) < 0)
		t_skip("no ../bin next to the test binary");
	CHECK(realpath(bin_dir, self) != NULL);
	snprintf(bin_dir, sizeof(bin_dir), "%s", self);
	run_dir = t_run_dir();
	test_pid = getpid();
	atexit(kill_live_init);	/* runs before t_run_dir's cleanup */
}

static inline void path_of(char *buf, size_t cap, const char *file)
{
	CHECK((size_t)snprintf(buf, cap, "%s/%s", run_dir, file) < cap);
}

static inline int exists(const char *file)
{
	char p[PATH_MAX];

	path_of(p, sizeof(p), file);
	return access(p, F_OK) == 0;
}

static inline void write_file(const char *file, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	path_of(p, sizeof(p), file);
	f = fopen(p, "w");
	CHECK(f != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK_EQ(fclose(f), 0);
}

/* The whole of @file (malloc'd, NUL-terminated), or NULL. */
static inline char *read_file(const char *file)
{
	char p[PATH_MAX], *buf;
	FILE *f;
	long n;

	path_of(p, sizeof(p), file);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	CHECK(buf != NULL);
	CHECK_EQ(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* The pid in <server>.pid, or 0 while there is none. */
static inline pid_t read_pid(const char *server)
{
	char file[128], *text;
	long pid = 0;

	snprintf(file, sizeof(file), "%s.pid", server);
	text = read_file(file);
	if (text) {
		CHECK_EQ(sscanf(text, "%ld", &pid), 1);
		free(text);
	}
	return (pid_t)pid;
}

/* How often @text occurs in the log. */
static inline unsigned log_count(const char *text)
{
	char *log = read_file("init.log"), *at = log;
	unsigned n = 0;

	while (at && (at = strstr(at, text))) {
		n++;
		at += strlen(text);
	}
	free(log);
	return n;
}

/* Does the log hold @lines, in this order? */
static inline int log_has(const char *const *lines, unsigned n)
{
	char *log = read_file("init.log"), *at = log;

	for (unsigned i = 0; at && i < n; i++)
		if ((at = strstr(at, lines[i])))
			at += strlen(lines[i]);
	if (!at)
		fprintf(stderr, "log lacks \"%s\" in order; log:\n%s\n", lines[n - 1],
			log ? log : "(none)");
	free(log);
	return at != NULL;
}
#define LOG_HAS(...) log_has((const char *const[]){ __VA_ARGS__ }, \
			     sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

/* Wait up to @ms until the log holds @line. */
static inline void wait_log(const char *line, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;

	for (;;) {
		char *log = read_file("init.log");
		int found = log && strstr(log, line);

		free(log);
		if (found)
			return;
		if (t_now_ns() > end) {
			CHECK(LOG_HAS(line));
			return;
		}
		t_sleep_ms(2);
	}
}

/*
 * Start aoki-init on <run dir>/@conf with its stderr appended to
 * init.log.  With @ready, wait for READY on the ready fd.
 */
static inline pid_t spawn_init(const char *conf, int ready)
{
	char exe[PATH_MAX + 16], cpath[PATH_MAX], fdarg[16];
	int p[2];
	pid_t pid;

	snprintf(exe, sizeof(exe), "%s/aoki-init", bin_dir);
	path_of(cpath, sizeof(cpath), conf);
	snprintf(fdarg, sizeof(fdarg), "%d", READY_FD);
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char log[PATH_MAX];
		int fd;

		path_of(log, sizeof(log), "init.log");
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(p[1], READY_FD) < 0)
			_exit(126);
		execl(exe, exe, "-c", cpath, "--run-dir", run_dir, "--ready-fd", fdarg,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	live_init = pid;
	if (ready) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		char buf[16] = { 0 };

		CHECK_EQ(poll(&pfd, 1, 5000), 1);
		CHECK_EQ(read(p[0], buf, sizeof(buf) - 1), 6);
		CHECK(!strcmp(buf, "READY\n"));
	}
	close(p[0]);
	return pid;
}

/* Wait up to @ms for @pid (aoki-init) to exit; returns its exit status. */
static inline int wait_exit(pid_t pid, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (t_now_ns() > end) {
			fprintf(stderr, "aoki-init did not exit within %u ms\n", ms);
			exit(T_EXIT_FAIL);
		}
		t_sleep_ms(2);
	}
	live_init = 0;
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#endif
