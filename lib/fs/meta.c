/* SPDX-License-Identifier: MIT */
/*
 * meta.c - the namespace: open, mkdir, rmdir, unlink, rename, link,
 * symlink, readlink.  Each is one metadata call (link and readlink look
 * the path up first).  The server records the reply of every op here
 * that must not run twice, so a crash retry gets the first answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include "fs.h"

/* Flags the server gets, and flags that mean nothing here. */
#define OPEN_PASS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW)
#ifdef __O_LARGEFILE
#define OPEN_LARGEFILE (O_LARGEFILE | __O_LARGEFILE)
#else
#define OPEN_LARGEFILE O_LARGEFILE
#endif
#define OPEN_IGNORE (O_CLOEXEC | O_NONBLOCK | OPEN_LARGEFILE | O_NOATIME | O_NOCTTY)

int aoki_fs_openat(struct aoki_fs *fs, int dirfd, const char *path, int flags, mode_t mode)
{
	struct fs_meta m;
	uint64_t dir, fh;
	int fd, r;

	if ((flags & ~(OPEN_PASS | OPEN_IGNORE)) || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	flags &= OPEN_PASS;
	r = fs_fd_dir(fs, dirfd, &dir);
	if (r < 0)
		return r;
	fd = fs_fd_reserve(fs);	/* before the op: no file created for -EMFILE */
	if (fd < 0)
		return fd;
	r = fs_meta_begin(fs, &m, path, NULL, sizeof(struct fs_attr));
	if (r == 0) {
		m.args->dir = dir;
		m.args->flags = (uint32_t)flags;
		m.args->mode = flags & O_CREAT ? mode & 07777 & ~fs->umask : 0;
		r = fs_meta_call(fs, &m, FS_OP_OPEN);
		if (r >= 0)
			r = fs_meta_handle(&m, &fh);
		fs_meta_end(fs, &m);
	}
	if (r < 0) {
		fs_fd_release(fs, fd);
		return r;
	}
	fs_fd_install(fs, fd, fh, flags);
	return fd;
}

int aoki_fs_open(struct aoki_fs *fs, const char *path, int flags, mode_t mode)
{
	return aoki_fs_openat(fs, AOKI_FS_CWD, path, flags, mode);
}

int aoki_fs_mkdir(struct aoki_fs *fs, const char *path, mode_t mode)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, path, NULL, sizeof(struct fs_attr));

	if (r < 0)
		return r;
	m.args->dir = FS_ROOT_FH;
	m.args->mode = mode & 07777 & ~fs->umask;
	r = fs_meta_call(fs, &m, FS_OP_MKDIR);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

/* RMDIR or UNLINK of @path. */
static int remove_name(struct aoki_fs *fs, uint16_t op, const char *path)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, path, NULL, 0);

	if (r < 0)
		return r;
	m.args->dir = FS_ROOT_FH;
	r = fs_meta_call(fs, &m, op);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int aoki_fs_rmdir(struct aoki_fs *fs, const char *path)
{
	return remove_name(fs, FS_OP_RMDIR, path);
}

int aoki_fs_unlink(struct aoki_fs *fs, const char *path)
{
	return remove_name(fs, FS_OP_UNLINK, path);
}

_Static_assert(RENAME_NOREPLACE == FS_RENAME_NOREPLACE && RENAME_EXCHANGE == FS_RENAME_EXCHANGE,
	       "renameat2(2) flags on the wire");

int aoki_fs_renameat2(struct aoki_fs *fs, int olddirfd, const char *oldpath, int newdirfd,
		      const char *newpath, unsigned flags)
{
	struct fs_meta m;
	uint64_t dir, dir2;
	int r;

	if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((r = fs_fd_dir(fs, olddirfd, &dir)) < 0 || (r = fs_fd_dir(fs, newdirfd, &dir2)) < 0)
		return r;
	r = fs_meta_begin(fs, &m, oldpath, newpath, 0);
	if (r < 0)
		return r;
	m.args->dir = dir;
	m.args->dir2 = dir2;
	m.args->flags = flags;
	r = fs_meta_call(fs, &m, FS_OP_RENAME);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int aoki_fs_rename(struct aoki_fs *fs, const char *oldpath, const char *newpath)
{
	return aoki_fs_renameat2(fs, AOKI_FS_CWD, oldpath, AOKI_FS_CWD, newpath, 0);
}

int aoki_fs_link(struct aoki_fs *fs, const char *oldpath, const char *newpath)
{
	struct fs_meta m;
	uint64_t fh;
	int r = fs_lookup(fs, FS_ROOT_FH, oldpath, FS_LOOKUP_NOFOLLOW, &fh, NULL);

	if (r < 0)
		return r;
	r = fs_meta_begin(fs, &m, NULL, newpath, sizeof(struct fs_attr));
	if (r < 0)
		return r;
	m.args->fh = fh;
	m.args->dir2 = FS_ROOT_FH;
	r = fs_meta_call(fs, &m, FS_OP_LINK);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int aoki_fs_symlink(struct aoki_fs *fs, const char *target, const char *path)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, path, target, sizeof(struct fs_attr));

	if (r < 0)
		return r;
	m.args->dir = FS_ROOT_FH;
	r = fs_meta_call(fs, &m, FS_OP_SYMLINK);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

ssize_t aoki_fs_readlink(struct aoki_fs *fs, const char *path, char *buf, size_t cap)
{
	struct fs_attr a;
	struct fs_meta m;
	uint64_t fh;
	int r;

	if (!cap)
		return -EINVAL;
	r = fs_lookup(fs, FS_ROOT_FH, path, FS_LOOKUP_NOFOLLOW, &fh, &a);
	if (r < 0)
		return r;
	if (!S_ISLNK(a.mode))
		return -EINVAL;
	r = fs_meta_begin(fs, &m, NULL, NULL, FS_PATH_MAX);
	if (r < 0)
		return r;
	m.args->fh = fh;
	r = fs_meta_call(fs, &m, FS_OP_READLINK);
	if (r > FS_PATH_MAX - 1)
		r = -EPROTO;
	if (r > 0) {
		if ((size_t)r > cap)
			r = (int)cap;
		fs_meta_out(&m, buf, (size_t)r);
	}
	fs_meta_end(fs, &m);
	return r;
}
