/* SPDX-License-Identifier: MIT */
/* blk_util.h - helpers for tests of aoki-blkd: backing files, a server
 * process, data patterns. */
#ifndef AOKI_TEST_BLK_UTIL_H
#define AOKI_TEST_BLK_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "ipc_util.h"

/* The aoki-blkd built beside this test (BUILD/tests/x -> BUILD/bin). */
static inline const char *t_blkd_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CHECK(n > 0);
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/../bin/aoki-blkd", dirname(self));
	if (access(path, X_OK) != 0)
		t_skip("SKIP: aoki-blkd not built");
	return path;
}

/* Create a @size-byte file at @path (sparse), or exit the test. */
static inline void t_blk_file(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/*
 * The layout the blk tests run aoki-blkd in.  A test file that defines
 * T_BLK_INPROC before including this header (tests/blk-*-inproc.c, which
 * include the process test's source) hosts the server in the test process
 * (aoki/host.h) instead of starting the program: the same checks, through
 * the same client API.  Its "pid" is then T_BLK_HOSTED.
 */
#define T_BLK_HOSTED ((pid_t)-2)
#ifdef T_BLK_INPROC
#include "aoki/host.h"

static struct aoki_host *t_blk_host;

static inline pid_t t_blkd_start(const char *port, const char *const *args)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	char words[4096];
	int n = snprintf(words, sizeof(words), "--port %s --quiet", port);

	for (int i = 0; args[i]; i++)
		n += snprintf(words + n, sizeof(words) - (size_t)n, " %s", args[i]);
	CHECK(n < (int)sizeof(words));
	CHECK_EQ(aoki_host_start("blkd", words, &o, &t_blk_host), 0);
	return T_BLK_HOSTED;
}

static inline void t_blkd_stop(pid_t pid)
{
	CHECK_EQ(pid, T_BLK_HOSTED);
	aoki_host_stop(t_blk_host);
	t_blk_host = NULL;
}

/* Is the server serving?  (The hosted one is, while started.) */
static inline int t_blkd_alive(pid_t pid)
{
	return pid == T_BLK_HOSTED && t_blk_host;
}

/*
 * Crash the server with I/O in flight and have it come back: a hosted
 * server's handler faults (aoki_host_inject_fault: in turn a garbage
 * pointer and abort(), each before the request's work and after it, its
 * I/O submitted) and its compartment is rebuilt by the next client turn.
 * Returns the (same) pid.
 */
static inline pid_t t_blkd_crash(pid_t pid, const char *port, const char *const *args)
{
	static const int kinds[] = {
		AOKI_HOST_FAULT_NULL, AOKI_HOST_FAULT_ABORT,
		AOKI_HOST_FAULT_NULL | AOKI_HOST_FAULT_LATE,
		AOKI_HOST_FAULT_ABORT | AOKI_HOST_FAULT_LATE,
	};
	static unsigned n;

	(void)port;
	(void)args;
	CHECK_EQ(aoki_host_inject_fault(t_blk_host, kinds[n++ % 4], NULL), 0);
	return pid;
}
#else
static inline pid_t t_blkd_start(const char *port, const char *const *args);
static inline void t_blkd_stop(pid_t pid);

static inline int t_blkd_alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* Crash the server with I/O in flight and start it again, as aoki-init
 * would: SIGKILL, reap, start.  Returns the new pid. */
static inline pid_t t_blkd_crash(pid_t pid, const char *port, const char *const *args)
{
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	t_child_track(0, pid);
	return t_blkd_start(port, args);
}

/*
 * Start aoki-blkd on socket @port with the NULL-terminated options
 * @args (after --port and --quiet); wait until it accepts.  Returns its
 * pid.  Exits the test if it does not come up within 5 s.
 */
static inline pid_t t_blkd_start(const char *port, const char *const *args)
{
	const char *argv[24] = { t_blkd_path(), "--port", port, "--quiet" };
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 19; i++)
		argv[i + 4] = args[i];
	argv[i + 4] = NULL;
	pid = t_spawn(argv);
	t_wait_accepting(port, pid, 2);
	return pid;
}

/* SIGTERM @pid and check it exits 0. */
static inline void t_blkd_stop(pid_t pid)
{
	int status;

	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	t_child_track(0, pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

/* The pattern of block @blk (512 bytes) at generation @gen: 64-bit words
 * of (blk, gen, word index) mixed, so misplaced or stale data shows. */
static inline void t_blk_fill(void *buf, uint64_t blk, uint64_t gen)
{
	uint64_t *w = buf;

	for (unsigned i = 0; i < 64; i++)
		w[i] = (blk * 0x9e3779b97f4a7c15ull) ^ (gen << 32) ^ i;
}

static inline int t_blk_check(const void *buf, uint64_t blk, uint64_t gen)
{
	uint64_t want[64];

	t_blk_fill(want, blk, gen);
	return memcmp(buf, want, sizeof(want)) == 0;
}

#endif
