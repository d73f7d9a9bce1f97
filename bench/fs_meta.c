/* SPDX-License-Identifier: MIT */
/*
 * fs_meta.c - `aoki bench fs`: the metadata driver, written once over an
 * operations table (struct ops) with two implementations: POSIX calls
 * relative to the mount point's directory descriptor (kernel ext4,
 * fuse2fs), and <aoki/fs.h> calls on the mount (aoki-fsd).  Both sides
 * run the same driver code, one call per operation.
 *
 * In order, on one fresh file system:
 *   create        n_create files m/fNNNNN: open(O_CREAT|O_EXCL), 4 KiB
 *                 pwrite, close; no fsync
 *   create_fsync  n_fsync files s/fNNNNN: the same, fsync before close
 *   stat          stat of each file of m/
 *   unlink        unlink of each file of m/
 *   readdir_10k   (untimed: n_dir empty files in d/) then n_list full
 *                 listings of d/; entries per second
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/fs.h"
#include "blk.h"
#include "clock.h"
#include "fs.h"

#define FILE_BYTES 4096

/* The operations, each returning 0 (or a count, a descriptor) or -errno. */
struct ops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, uint64_t off);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*stat)(const char *path, struct stat *st);
	int (*unlink)(const char *path);
	int (*mkdir)(const char *path, mode_t mode);
	long (*list)(const char *path);	/* entries seen in one full listing */
};

/* The state of one side's driver (one side at a time). */
static struct {
	const struct ops *ops;
	const struct bf_side *side;
	int root;			/* POSIX: the mount point */
	struct aoki_fs *fs;		/* aoki */
	void *buf;			/* FILE_BYTES of data */
} m = { .root = -1 };

/* --------------------------------------------------------------- POSIX */

static int neg(long r)
{
	return r < 0 ? -errno : (int)r;
}

static int px_open(const char *path, int flags, mode_t mode)
{
	return neg(openat(m.root, path, flags | O_CLOEXEC, mode));
}

static ssize_t px_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t r = pwrite(fd, buf, len, (off_t)off);

	return r < 0 ? -errno : r;
}

static int px_fsync(int fd)
{
	return neg(fsync(fd));
}

static int px_close(int fd)
{
	return neg(close(fd));
}

static int px_stat(const char *path, struct stat *st)
{
	return neg(fstatat(m.root, path, st, 0));
}

static int px_unlink(const char *path)
{
	return neg(unlinkat(m.root, path, 0));
}

static int px_mkdir(const char *path, mode_t mode)
{
	return neg(mkdirat(m.root, path, mode));
}

static long px_list(const char *path)
{
	int fd = openat(m.root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	long n = 0;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	errno = 0;
	while (readdir(d))
		n++;
	if (errno)
		n = -errno;
	closedir(d);
	return n;
}

static const struct ops posix_ops = {
	px_open, px_pwrite, px_fsync, px_close, px_stat, px_unlink, px_mkdir, px_list,
};

/* ---------------------------------------------------------------- aoki */

static int ak_open(const char *path, int flags, mode_t mode)
{
	return aoki_fs_open(m.fs, path, flags, mode);
}

static ssize_t ak_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return aoki_fs_pwrite(m.fs, fd, buf, len, off);
}

static int ak_fsync(int fd)
{
	return aoki_fs_fsync(m.fs, fd);
}

static int ak_close(int fd)
{
	return aoki_fs_close(m.fs, fd);
}

static int ak_stat(const char *path, struct stat *st)
{
	return aoki_fs_stat(m.fs, path, st);
}

static int ak_unlink(const char *path)
{
	return aoki_fs_unlink(m.fs, path);
}

static int ak_mkdir(const char *path, mode_t mode)
{
	return aoki_fs_mkdir(m.fs, path, mode);
}

static long ak_list(const char *path)
{
	struct aoki_fs_dir *d;
	struct aoki_fs_dirent ent;
	long n = 0;
	int r = aoki_fs_opendir(m.fs, path, &d);

	if (r < 0)
		return r;
	while ((r = aoki_fs_readdir(d, &ent)) == 1)
		n++;
	aoki_fs_closedir(d);
	return r < 0 ? r : n;
}

static const struct ops aoki_ops = {
	ak_open, ak_pwrite, ak_fsync, ak_close, ak_stat, ak_unlink, ak_mkdir, ak_list,
};

/* -------------------------------------------------------------- driver */

int bf_meta_begin(const struct bf_cfg *c, const struct bf_side *s)
{
	static const char *const dirs[] = { "m", "s", "d" };
	int r;

	m.side = s;
	if (bf_aoki_client(s)) {
		m.ops = &aoki_ops;
		m.fs = s->fs;
		if ((r = aoki_fs_alloc(s->fs, FILE_BYTES, &m.buf)) < 0)
			return bf_err("aoki_fs_alloc: %s", strerror(-r));
	} else {
		m.ops = &posix_ops;
		m.root = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (m.root < 0)
			return bf_err("%s: %s", s->root, strerror(errno));
		if ((r = posix_memalign(&m.buf, 4096, FILE_BYTES)) != 0)
			return bf_err("posix_memalign: %s", strerror(r));
	}
	memset(m.buf, 0xa5, FILE_BYTES);
	for (unsigned i = 0; i < 3; i++)
		if ((r = m.ops->mkdir(dirs[i], 0755)) < 0)
			return bf_err("mkdir %s: %s", dirs[i], strerror(-r));
	return 0;
}

void bf_meta_end(const struct bf_side *s)
{
	if (bf_aoki_client(s))
		aoki_fs_free(s->fs, m.buf);
	else
		free(m.buf);
	if (m.root >= 0)
		close(m.root);
	m.root = -1;
	m.buf = NULL;
}

/* make_file - create @path with 4 KiB of data (@data) or empty, fsync'd
 * if @sync.  0 or -errno. */
static int make_file(const char *path, int data, int sync)
{
	int fd = m.ops->open(path, O_WRONLY | O_CREAT | O_EXCL, 0644), r = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	if (data && (n = m.ops->pwrite(fd, m.buf, FILE_BYTES, 0)) != FILE_BYTES)
		r = n < 0 ? (int)n : -EIO;
	if (r == 0 && sync)
		r = m.ops->fsync(fd);
	m.ops->close(fd);
	return r;
}

/* one_op - the @i-th operation of workload @wl; 0 or -errno. */
static int one_op(int wl, unsigned i, const char *path)
{
	struct stat st;

	switch (wl) {
	case WL_CREATE:
		return make_file(path, 1, 0);
	case WL_CREATE_FSYNC:
		return make_file(path, 1, 1);
	case WL_STAT:
		return m.ops->stat(path, &st);
	case WL_UNLINK:
		return m.ops->unlink(path);
	default:
		return (int)m.ops->list("d");
	}
}

int bf_meta(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f)
{
	unsigned n = wl == WL_CREATE_FSYNC ? c->n_fsync : wl == WL_READDIR ? c->n_list
									: c->n_create;
	const char *dir = wl == WL_CREATE_FSYNC ? "s" : "m";
	double cpu0, cpu1, ops;
	int64_t t0, t1;
	char path[32];
	long seen = 0;
	int r;

	if (wl == WL_READDIR)	/* the directory to list, untimed */
		for (unsigned i = 0; i < c->n_dir; i++) {
			snprintf(path, sizeof(path), "d/f%05u", i);
			if ((r = make_file(path, 0, 0)) < 0)
				return bf_err("create %s: %s", path, strerror(-r));
		}
	t0 = util_now_ns();
	cpu0 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%05u", dir, i);
		r = one_op(wl, i, path);
		if (r < 0)
			return bf_err("%s %s: %s", bf_wls[wl].name, path, strerror(-r));
		seen += r;
	}
	t1 = util_now_ns();
	cpu1 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
	if (wl == WL_READDIR && seen != (long)n * (c->n_dir + 2))
		return bf_err("readdir: %ld entries in %u listings, expected %u each", seen, n,
			      c->n_dir + 2);
	ops = wl == WL_READDIR ? (double)seen : n;
	f->v = ops / ((double)(t1 - t0) / 1e9);
	f->cpu_us = (cpu1 - cpu0) * 1e6 / ops;
	return 0;
}
