/* SPDX-License-Identifier: MIT */
/* fuse_util.h - helpers for tests of aoki-fuse: mount a stack's fsd
 * through FUSE in the test's run directory, unmount it (also when the
 * test fails), and run shell commands on it. */
#ifndef AOKI_TEST_FUSE_UTIL_H
#define AOKI_TEST_FUSE_UTIL_H

#include <sys/stat.h>
#include <sys/vfs.h>

#include "fs_util.h"

#define T_FUSE_MAGIC 0x65735546	/* statfs f_type of a FUSE mount */

/* One aoki-fuse in the foreground, a child of the test. */
struct t_fuse {
	char mnt[PATH_MAX];
	pid_t pid;
};

static char t_fuse_atexit_mnt[PATH_MAX];
static pid_t t_fuse_atexit_owner;	/* forked children leave the mount be */

/* System-call checks for the tests on a mount: FAILS(call, errno) wants
 * -1 with that errno; OK(call) wants a non-negative result.  Either exits
 * the test with the call, the line and what it got. */
#define FAILS(call, e)                                                                   \
	do {                                                                             \
		errno = 0;                                                               \
		long _r = (long)(call);                                                  \
		if (_r != -1 || errno != (e)) {                                          \
			fprintf(stderr, "%s:%d: %s: got %ld errno %d (%s), want %s\n",   \
				__FILE__, __LINE__, #call, _r, errno, strerror(errno), #e); \
			exit(T_EXIT_FAIL);                                               \
		}                                                                        \
	} while (0)
#define OK(call)                                                                          \
	do {                                                                              \
		errno = 0;                                                                \
		if ((long)(call) < 0) {                                                   \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,     \
				strerror(errno));                                         \
			exit(T_EXIT_FAIL);                                                \
		}                                                                         \
	} while (0)

/* The aoki-fuse built beside this test; skip loudly when FUSE cannot be
 * used here (no /dev/fuse, no fusermount3, aoki-fuse not built). */
static inline const char *t_fuse_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CHECK(n > 0);
	self[n] = 0;
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		t_skip("SKIP: no usable /dev/fuse: FUSE tests cannot run here");
	if (t_sh("command -v fusermount3 >/dev/null 2>&1") != 0)
		t_skip("SKIP: fusermount3 not installed (fuse3): FUSE tests cannot run here");
	snprintf(path, sizeof(path), "%s/../bin/aoki-fuse", dirname(self));
	if (access(path, X_OK) != 0)
		t_skip("SKIP: aoki-fuse not built (libfuse3-dev missing)");
	return path;
}

/* Is @path the root of a FUSE mount? */
static inline int t_fuse_mounted(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == T_FUSE_MAGIC;
}

/* atexit: a test that fails leaves no mount behind (lazy: files may
 * still be open), and no mount point in its run directory. */
static inline void t_fuse_atexit(void)
{
	if (!t_fuse_atexit_mnt[0] || getpid() != t_fuse_atexit_owner)
		return;
	t_sh("fusermount3 -u -z '%s' >/dev/null 2>&1", t_fuse_atexit_mnt);
	rmdir(t_fuse_atexit_mnt);
}

/*
 * t_fuse_mount - mount fsd's port "fs" at RUNDIR/@name with aoki-fuse -f
 * and the NULL-terminated options @args; wait (5 s at most) until it is
 * mounted.  The first call registers the atexit unmount.
 */
static inline void t_fuse_mount(struct t_fuse *m, const char *name, const char *const *args)
{
	const char *argv[24] = { t_fuse_path(), m->mnt, "-f" };
	int64_t end = t_now_ns() + 5000000000ll;
	static int registered;
	int i;

	snprintf(m->mnt, sizeof(m->mnt), "%s/%s", t_run_dir(), name);
	CHECK(mkdir(m->mnt, 0755) == 0 || errno == EEXIST);
	for (i = 0; args && args[i] && i < 20; i++)
		argv[i + 3] = args[i];
	argv[i + 3] = NULL;
	if (!registered) {
		registered = 1;
		t_fuse_atexit_owner = getpid();
		atexit(t_fuse_atexit);
	}
	snprintf(t_fuse_atexit_mnt, sizeof(t_fuse_atexit_mnt), "%s", m->mnt);
	m->pid = t_spawn(argv);
	while (!t_fuse_mounted(m->mnt)) {
		CHECK(waitpid(m->pid, NULL, WNOHANG) == 0);	/* still alive */
		CHECK(t_now_ns() < end);
		t_sleep_ms(10);
	}
}

/* fusermount3 -u, then aoki-fuse must exit 0 and the mount be gone. */
static inline void t_fuse_unmount(struct t_fuse *m)
{
	int status;

	CHECK_EQ(t_sh("fusermount3 -u '%s'", m->mnt), 0);
	CHECK_EQ(waitpid(m->pid, &status, 0), m->pid);
	t_child_track(0, m->pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!t_fuse_mounted(m->mnt));
	CHECK_EQ(rmdir(m->mnt), 0);
	t_fuse_atexit_mnt[0] = 0;
}

/* @path under the mount, in a static buffer of 4 (for calls taking two). */
static inline const char *t_fuse_at(const struct t_fuse *m, const char *path)
{
	static char bufs[4][PATH_MAX + 256];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", m->mnt, path);
	return b;
}

#endif
