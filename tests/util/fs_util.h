/* SPDX-License-Identifier: MIT */
/*
 * fs_util.h - helpers for tests of aoki-fsd: a fresh ext4 image served
 * by aoki-blkd and aoki-fsd child processes, e2fsck on the image.
 *
 * T_FS_INPROC before including this header (tests/fs-*-inproc.c, which
 * include the process test's source) hosts both servers in the test
 * process (aoki/host.h, T_BLK_INPROC for blkd) instead of starting the
 * programs: the same checks through the same client API.
 */
#ifndef AOKI_TEST_FS_UTIL_H
#define AOKI_TEST_FS_UTIL_H

#ifdef T_FS_INPROC
#define T_BLK_INPROC 1
#endif

#include "aoki/fs.h"
#include <stdarg.h>

#include "blk_util.h"

/* The aoki-fsd built beside this test. */
static inline const char *t_fsd_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CHECK(n > 0);
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/../bin/aoki-fsd", dirname(self));
	if (access(path, X_OK) != 0)
		t_skip("SKIP: aoki-fsd not built");
	return path;
}

/* Run a shell command; its exit status (or -1). */
static inline int t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int t_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Make a @mib MiB ext4 image at @path (mke2fs -t ext4 -b 4096), or skip
 * the test if mke2fs is missing. */
static inline void t_fs_mkfs(const char *path, unsigned mib)
{
	if (t_sh("command -v mke2fs >/dev/null 2>&1") != 0)
		t_skip("SKIP: mke2fs not installed (e2fsprogs)");
	CHECK_EQ(t_sh("rm -f '%s' && truncate -s %uM '%s' && mke2fs -q -t ext4 -b 4096 -F '%s'",
		      path, mib, path, path), 0);
}

/* e2fsck -fn on @path: its exit status (0: clean).  Prints its output
 * to stderr when it is not clean. */
static inline int t_fs_fsck(const char *path)
{
	int r = t_sh("e2fsck -fn '%s' >/dev/null 2>&1", path);

	if (r != 0) {
		t_sh("e2fsck -fn '%s' >&2", path);
		/* Kept for a look (the run directory goes with the test). */
		if (t_sh("cp '%s' /tmp/aoki-fsck-failed.img", path) == 0)
			fprintf(stderr, "image kept: /tmp/aoki-fsck-failed.img\n");
	}
	return r;
}

#ifdef T_FS_INPROC
static struct aoki_host *t_fs_host;

/* Host aoki-fsd in the test process: volume @volume of the blkd on
 * @blk_port, port @port, the NULL-terminated extra options @args.
 * Returns T_BLK_HOSTED. */
static inline pid_t t_fsd_start(const char *port, const char *blk_port, const char *volume,
				const char *const *args)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	char words[4096];
	int n = snprintf(words, sizeof(words), "--port %s --blk-port %s --volume %s --quiet",
			 port, blk_port, volume);

	for (int i = 0; args && args[i]; i++)
		n += snprintf(words + n, sizeof(words) - (size_t)n, " %s", args[i]);
	CHECK(n < (int)sizeof(words));
	CHECK_EQ(aoki_host_start("fsd", words, &o, &t_fs_host), 0);
	return T_BLK_HOSTED;
}

/* Stop the hosted fsd (a clean unmount, as the daemon at SIGTERM). */
static inline void t_fsd_stop(pid_t pid)
{
	CHECK_EQ(pid, T_BLK_HOSTED);
	aoki_host_stop(t_fs_host);
	t_fs_host = NULL;
}
#else
/* Start aoki-fsd serving volume @volume of the blkd on @blk_port, on
 * port @port, with the NULL-terminated extra options @args; wait until
 * it accepts.  Returns its pid. */
static inline pid_t t_fsd_start(const char *port, const char *blk_port, const char *volume,
				const char *const *args)
{
	const char *argv[24] = { t_fsd_path(), "--port", port, "--blk-port", blk_port,
				 "--volume", volume, "--quiet" };
	pid_t pid;
	int i;

	for (i = 0; args && args[i] && i < 15; i++)
		argv[i + 8] = args[i];
	argv[i + 8] = NULL;
	pid = t_spawn(argv);
	t_wait_accepting(port, pid, 5);
	return pid;
}

/* SIGTERM fsd (it checkpoints and marks the image clean) and check it
 * exits 0. */
static inline void t_fsd_stop(pid_t pid)
{
	t_blkd_stop(pid);
}
#endif

/* A whole stack in the test's run directory: image @img of @mib MiB,
 * blkd on port "blk" serving it as volume "disk", fsd on port "fs". */
struct t_fs_stack {
	char img[PATH_MAX];
	pid_t blkd, fsd;
};

static inline void t_fs_stack_start(struct t_fs_stack *s, unsigned mib)
{
	const char *dir = t_run_dir();
	char vol[PATH_MAX + 16];
	const char *bargs[] = { "--volume", vol, NULL };

	snprintf(s->img, sizeof(s->img), "%s/fs.img", dir);
	snprintf(vol, sizeof(vol), "disk=%s", s->img);
	t_fs_mkfs(s->img, mib);
	s->blkd = t_blkd_start("blk", bargs);
	s->fsd = t_fsd_start("fs", "blk", "disk", NULL);
}

static inline void t_fs_stack_stop(struct t_fs_stack *s)
{
	if (s->fsd > 0)
		t_fsd_stop(s->fsd);
	if (s->blkd > 0)
		t_blkd_stop(s->blkd);
	s->fsd = s->blkd = 0;
}

/*
 * The stack under aoki-init, as in production: blkd (port "blk", volume
 * "disk" = @img) and fsd (port "fs", restarted at once after a crash, up
 * to 1000 times a second) in the test's run directory.  Returns
 * aoki-init's pid once fsd accepts.
 */
static inline pid_t t_fs_init_start(const char *img)
{
	const char *dir = t_run_dir();
	char bin[PATH_MAX], conf[PATH_MAX + 16], init[PATH_MAX + 16];
	const char *argv[] = { init, "-c", conf, "--run-dir", dir, NULL };
	pid_t pid;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s", t_fsd_path());
	*strrchr(bin, '/') = 0;
	snprintf(conf, sizeof(conf), "%s/init.conf", dir);
	f = fopen(conf, "w");
	CHECK(f != NULL);
	fprintf(f, "[server blk]\nexec = %s/aoki-blkd --volume disk=%s --quiet\nport = blk\n"
		   "[server fs]\nexec = %s/aoki-fsd --volume disk --quiet\nport = fs\n"
		   "restart = on-failure\nbackoff-min-ms = 0\nbackoff-max-ms = 20\n"
		   "crash-limit = 1000\ncrash-window-s = 1\n",
		bin, img, bin);
	CHECK_EQ(fclose(f), 0);
	snprintf(init, sizeof(init), "%s/aoki-init", bin);
	pid = t_spawn(argv);
	t_wait_accepting("fs", pid, 5);
	return pid;
}

/* The pid of fsd under aoki-init (its pid file), or -1. */
static inline pid_t t_fs_init_fsd_pid(void)
{
	char path[PATH_MAX + 16], text[32] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/fs.pid", t_run_dir());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, text, sizeof(text) - 1) <= 0)
		text[0] = 0;
	close(fd);
	return atoi(text) > 0 ? atoi(text) : -1;
}

/* SIGTERM aoki-init (it stops fsd, then blkd, cleanly) and reap it. */
static inline void t_fs_init_stop(pid_t pid)
{
	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	t_child_track(0, pid);
}

#endif
