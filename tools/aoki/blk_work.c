/* SPDX-License-Identifier: MIT */
/* blk_work.c - a private aoki-blkd for a tool run (see blk_work.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "blk_work.h"

/* image_create - @path: a new file of @bytes, allocated.  Returns 0 or
 * -1 with a message prefixed @who. */
static int image_create(const char *who, const char *path, uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), r;

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", who, path, strerror(errno));
		return -1;
	}
	r = posix_fallocate(fd, 0, (off_t)bytes);
	if (r && ftruncate(fd, (off_t)bytes) == 0)
		r = 0;	/* no fallocate here: a sparse file does too */
	close(fd);
	if (r)
		fprintf(stderr, "%s: %s: %s\n", who, path, strerror(r));
	return r ? -1 : 0;
}

/* copy_program - copy the executable @src to a new file @dst.  Returns 0
 * or -1 with a message prefixed @who. */
static int copy_program(const char *who, const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, r = -1;
	char buf[65536];
	ssize_t n;

	if (in >= 0)
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 || write(out, buf, (size_t)n) != n)
			break;
	}
	if (out >= 0 && n == 0)
		r = close(out);
	else if (out >= 0)
		close(out);
	if (r < 0)
		fprintf(stderr, "%s: copy %s to %s: %s\n", who, src, dst,
			errno ? strerror(errno) : "short write");
	if (in >= 0)
		close(in);
	return r < 0 ? -1 : 0;
}

/* work_dir_name - the mkdtemp template for @who in @buf: spaces become
 * dashes ("aoki soak blk" -> $TMPDIR/aoki-soak-blk.XXXXXX). */
static void work_dir_name(char *buf, size_t cap, const char *who)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	snprintf(buf, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", who);
	for (p = strrchr(buf, '/') + 1; *p; p++)
		if (*p == ' ')
			*p = '-';
}

int blk_work_create(struct blk_work *w, const char *who, const char *volume,
		    const char *bindir, uint64_t bytes)
{
	char src[PATH_MAX + 16];
	struct statvfs sv;

	w->who = who;
	w->volume = volume;
	work_dir_name(w->dir, sizeof(w->dir), who);
	if (!mkdtemp(w->dir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", who, w->dir, strerror(errno));
		w->dir[0] = 0;
		return -1;
	}
	snprintf(w->img, sizeof(w->img), "%s/%s.img", w->dir, volume);
	snprintf(w->server, sizeof(w->server), "%s/aoki-blkd", w->dir);
	snprintf(src, sizeof(src), "%s/aoki-blkd", bindir);
	if (image_create(who, w->img, bytes) < 0)
		return -1;
	if (statvfs(w->dir, &sv) == 0 && (sv.f_flag & ST_NOEXEC)) {
		snprintf(w->server, sizeof(w->server), "%s", src);
		return 0;
	}
	return copy_program(who, src, w->server);
}

int blk_work_start(const struct blk_work *w, unsigned max_crashes, struct soak_init *si,
		   char *port, size_t cap)
{
	char exec[3 * PATH_MAX];

	snprintf(exec, sizeof(exec), "%s --port blk --volume %s=%s --workers 2 --quiet",
		 w->server, w->volume, w->img);
	if (soak_init_start(si, "blkd", exec, "blk", max_crashes) < 0)
		return -1;
	snprintf(port, cap, "%s/blk.sock", si->dir);
	return 0;
}

void blk_work_remove(const struct blk_work *w, int keep)
{
	if (!w->dir[0])
		return;
	if (keep || getenv("AOKI_SOAK_KEEP")) {
		fprintf(stderr, "%s: volume image kept in %s\n", w->who, w->img);
		return;
	}
	unlink(w->img);
	if (!strncmp(w->server, w->dir, strlen(w->dir)))
		unlink(w->server);	/* our copy */
	if (rmdir(w->dir) < 0)
		fprintf(stderr, "%s: could not remove %s: %s\n", w->who, w->dir,
			strerror(errno));
}
