/* SPDX-License-Identifier: MIT */
/*
 * attr.c - attributes: the stat family (GETATTR, LOOKUP), the setattr
 * family (SETATTR: chmod, chown, utimens, truncate), fsync and fallocate.
 * Calls on a path look it up first (an idempotent round trip), then act
 * on the handle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>

#include "fs.h"

static struct timespec ns_to_ts(int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;

	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	return (struct timespec){ .tv_sec = sec, .tv_nsec = rem };
}

void fs_attr_to_stat(const struct fs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = a->size > INT64_MAX ? INT64_MAX : (off_t)a->size;
	st->st_blksize = a->blksize;
	st->st_blocks = a->blocks > INT64_MAX ? INT64_MAX : (blkcnt_t)a->blocks;
	st->st_atim = ns_to_ts(a->atime_ns);
	st->st_mtim = ns_to_ts(a->mtime_ns);
	st->st_ctim = ns_to_ts(a->ctime_ns);
}

int aoki_fs_fstat(struct aoki_fs *fs, int fd, struct stat *st)
{
	struct fs_fd_info fi;
	struct fs_attr a;
	int r = fs_fd_get(fs, fd, &fi);

	if (r == 0)
		r = fs_getattr(fs, fi.fh, &a);
	if (r == 0)
		fs_attr_to_stat(&a, st);
	return r;
}

static int stat_path(struct aoki_fs *fs, const char *path, uint32_t flags, struct stat *st)
{
	struct fs_attr a;
	uint64_t fh;
	int r = fs_lookup(fs, FS_ROOT_FH, path, flags, &fh, &a);

	if (r == 0)
		fs_attr_to_stat(&a, st);
	return r;
}

int aoki_fs_stat(struct aoki_fs *fs, const char *path, struct stat *st)
{
	return stat_path(fs, path, 0, st);
}

int aoki_fs_lstat(struct aoki_fs *fs, const char *path, struct stat *st)
{
	return stat_path(fs, path, FS_LOOKUP_NOFOLLOW, st);
}

/* SETATTR of @path from @dir (followed unless @nofollow). */
static int setattr_path(struct aoki_fs *fs, uint64_t dir, const char *path, uint32_t nofollow,
			uint32_t set, const struct fs_attr *in)
{
	uint64_t fh;
	int r = fs_lookup(fs, dir, path, nofollow, &fh, NULL);

	return r < 0 || !set ? r : fs_setattr(fs, fh, set, in);
}

/* SETATTR of @fd's file. */
static int setattr_fd(struct aoki_fs *fs, int fd, uint32_t set, const struct fs_attr *in)
{
	struct fs_fd_info fi;
	int r = fs_fd_get(fs, fd, &fi);

	return r < 0 || !set ? r : fs_setattr(fs, fi.fh, set, in);
}

int aoki_fs_chmod(struct aoki_fs *fs, const char *path, mode_t mode)
{
	struct fs_attr a = { .mode = mode & 07777 };

	return setattr_path(fs, FS_ROOT_FH, path, 0, FS_SET_MODE, &a);
}

int aoki_fs_fchmod(struct aoki_fs *fs, int fd, mode_t mode)
{
	struct fs_attr a = { .mode = mode & 07777 };

	return setattr_fd(fs, fd, FS_SET_MODE, &a);
}

static uint32_t owner_set(uid_t uid, gid_t gid, struct fs_attr *a)
{
	a->uid = uid;
	a->gid = gid;
	return (uid != (uid_t)-1 ? FS_SET_UID : 0) | (gid != (gid_t)-1 ? FS_SET_GID : 0);
}

int aoki_fs_chown(struct aoki_fs *fs, const char *path, uid_t uid, gid_t gid)
{
	struct fs_attr a = { 0 };

	return setattr_path(fs, FS_ROOT_FH, path, 0, owner_set(uid, gid, &a), &a);
}

int aoki_fs_fchown(struct aoki_fs *fs, int fd, uid_t uid, gid_t gid)
{
	struct fs_attr a = { 0 };

	return setattr_fd(fs, fd, owner_set(uid, gid, &a), &a);
}

/* The SETATTR fields for utimensat's @ts, or -EINVAL. */
static int times_set(const struct timespec ts[2], struct fs_attr *a)
{
	static const uint32_t now[2] = { FS_SET_ATIME_NOW, FS_SET_MTIME_NOW };
	static const uint32_t val[2] = { FS_SET_ATIME, FS_SET_MTIME };
	int64_t *dst[2] = { &a->atime_ns, &a->mtime_ns };
	uint32_t set = 0;

	for (int i = 0; i < 2; i++) {
		if (!ts || ts[i].tv_nsec == UTIME_NOW) {
			set |= now[i];
		} else if (ts[i].tv_nsec != UTIME_OMIT) {
			if (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000 ||
			    ts[i].tv_sec > INT64_MAX / 1000000000 - 1 ||
			    ts[i].tv_sec < INT64_MIN / 1000000000 + 1)
				return -EINVAL;
			*dst[i] = (int64_t)ts[i].tv_sec * 1000000000 + ts[i].tv_nsec;
			set |= val[i];
		}
	}
	return (int)set;
}

int aoki_fs_utimensat(struct aoki_fs *fs, int dirfd, const char *path,
		      const struct timespec ts[2], int flags)
{
	struct fs_attr a = { 0 };
	uint64_t dir;
	int set = times_set(ts, &a), r;

	if (set < 0 || (flags & ~AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	if (!path)	/* as Linux: the file @dirfd names */
		return dirfd == AOKI_FS_CWD ? -EFAULT : setattr_fd(fs, dirfd, (uint32_t)set, &a);
	r = fs_fd_dir(fs, dirfd, &dir);
	if (r < 0)
		return r;
	return setattr_path(fs, dir, path, flags & AT_SYMLINK_NOFOLLOW ? FS_LOOKUP_NOFOLLOW : 0,
			    (uint32_t)set, &a);
}

int aoki_fs_futimens(struct aoki_fs *fs, int fd, const struct timespec ts[2])
{
	struct fs_attr a = { 0 };
	int set = times_set(ts, &a);

	return set < 0 ? set : setattr_fd(fs, fd, (uint32_t)set, &a);
}

int aoki_fs_truncate(struct aoki_fs *fs, const char *path, int64_t length)
{
	struct fs_attr a = { .size = (uint64_t)length };

	if (length < 0)
		return -EINVAL;
	return setattr_path(fs, FS_ROOT_FH, path, 0, FS_SET_SIZE, &a);
}

int aoki_fs_ftruncate(struct aoki_fs *fs, int fd, int64_t length)
{
	struct fs_attr a = { .size = (uint64_t)length };
	struct fs_fd_info fi;
	int r = fs_fd_get(fs, fd, &fi);

	if (r < 0)
		return r;
	if (length < 0 || (fi.flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	return fs_setattr(fs, fi.fh, FS_SET_SIZE, &a);
}

static int do_fsync(struct aoki_fs *fs, int fd, uint32_t flags)
{
	struct fs_fd_info fi;
	int r = fs_fd_get(fs, fd, &fi);

	return r < 0 ? r : fs_simple(fs, FS_OP_FSYNC, fi.fh, flags, 0, 0);
}

int aoki_fs_fsync(struct aoki_fs *fs, int fd)
{
	return do_fsync(fs, fd, 0);
}

int aoki_fs_fdatasync(struct aoki_fs *fs, int fd)
{
	return do_fsync(fs, fd, FS_FSYNC_DATA);
}

_Static_assert(FALLOC_FL_KEEP_SIZE == FS_FALLOC_KEEP_SIZE &&
	       FALLOC_FL_PUNCH_HOLE == FS_FALLOC_PUNCH_HOLE &&
	       FALLOC_FL_ZERO_RANGE == FS_FALLOC_ZERO_RANGE, "fallocate(2) modes on the wire");

/* FALLOCATE of @fh, the arguments checked as fallocate(2) does. */
static int do_fallocate(struct aoki_fs *fs, uint64_t fh, int mode, int64_t offset, int64_t len)
{
	if (offset < 0 || len <= 0 || len > INT64_MAX - offset)
		return -EINVAL;
	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
		break;
	case FALLOC_FL_PUNCH_HOLE:
		return -EOPNOTSUPP;	/* as Linux: a punch must keep the size */
	default:
		return -EINVAL;
	}
	return fs_simple(fs, FS_OP_FALLOCATE, fh, (uint32_t)mode, (uint64_t)offset,
			 (uint64_t)len);
}

int aoki_fs_fallocate(struct aoki_fs *fs, int fd, int mode, int64_t offset, int64_t len)
{
	struct fs_fd_info fi;
	int r = fs_fd_get(fs, fd, &fi);

	if (r < 0)
		return r;
	if ((fi.flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return do_fallocate(fs, fi.fh, mode, offset, len);
}

int aoki_fs_hfallocate(struct aoki_fs *fs, aoki_fs_handle fh, int mode, int64_t offset,
		       int64_t len)
{
	return do_fallocate(fs, fh, mode, offset, len);
}
