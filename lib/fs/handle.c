/* SPDX-License-Identifier: MIT */
/*
 * handle.c - the handle layer (aoki_fs_h*, see <aoki/fs.h>): metadata
 * calls on the server's file handles instead of paths and descriptors,
 * each acting for a caller's credentials when the bridge passes them.
 * Every call is one metadata request (lib/fs/proto.h); what the server
 * writes back is read once and checked as in client.c.  The data calls
 * by handle live in io.c, the directory stream in dir.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

_Static_assert(AOKI_FS_ROOT_HANDLE == FS_ROOT_FH, "public and wire root handles agree");
_Static_assert(AOKI_FS_SET_MODE == FS_SET_MODE && AOKI_FS_SET_UID == FS_SET_UID &&
	       AOKI_FS_SET_GID == FS_SET_GID && AOKI_FS_SET_SIZE == FS_SET_SIZE &&
	       AOKI_FS_SET_ATIME == FS_SET_ATIME && AOKI_FS_SET_MTIME == FS_SET_MTIME &&
	       AOKI_FS_SET_ATIME_NOW == FS_SET_ATIME_NOW &&
	       AOKI_FS_SET_MTIME_NOW == FS_SET_MTIME_NOW, "setattr bits on the wire");
_Static_assert(R_OK == 4 && W_OK == 2 && X_OK == 1, "access(2) bits on the wire");

#define SET_ALL 0xffu

/* What one handle call sends besides its names. */
struct hargs {
	uint64_t fh, dir, dir2;
	uint32_t flags, mode, set;
	struct fs_attr attr;
};

/*
 * One metadata call: @op with @in, names @name / @name2 (NULL: none),
 * acting for @as.  On success the reply's handle goes to *@fh and the
 * attributes the server wrote to @st (each when non-NULL).  Returns the
 * status (>= 0) or -errno.
 */
static int hcall(struct aoki_fs *fs, const struct aoki_fs_cred *as, uint16_t op,
		 const struct hargs *in, const char *name, const char *name2, aoki_fs_handle *fh,
		 struct stat *st)
{
	struct fs_meta m;
	struct fs_attr a;
	int r = fs_meta_begin(fs, &m, name, name2, sizeof(a));

	if (r < 0)
		return r;
	m.args->fh = in->fh;
	m.args->dir = in->dir;
	m.args->dir2 = in->dir2;
	m.args->flags = in->flags;
	m.args->mode = in->mode;
	m.args->set = in->set;
	m.args->attr = in->attr;
	fs_meta_as(&m, as);
	r = fs_meta_call(fs, &m, op);
	if (r >= 0 && fh)
		r = fs_meta_handle(&m, fh) ?: r;
	if (r >= 0 && st) {
		fs_meta_out(&m, &a, sizeof(a));
		fs_attr_to_stat(&a, st);
	}
	fs_meta_end(fs, &m);
	return r;
}

/* A name of one directory entry: a path the server resolves from @dir.
 * NULL would make the area nameless (a different op): -EFAULT. */
static int check_name(const char *name)
{
	return name ? 0 : -EFAULT;
}

/* hcall for calls that return 0 on success. */
static int hcall0(struct aoki_fs *fs, const struct aoki_fs_cred *as, uint16_t op,
		  const struct hargs *in, const char *name, const char *name2, aoki_fs_handle *fh,
		  struct stat *st)
{
	int r = hcall(fs, as, op, in, name, name2, fh, st);

	return r < 0 ? r : 0;
}

int aoki_fs_hlookup(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, aoki_fs_handle *fh, struct stat *st)
{
	struct hargs in = { .dir = dir, .flags = FS_LOOKUP_NOFOLLOW };

	return check_name(name) ?: hcall0(fs, as, FS_OP_LOOKUP, &in, name, NULL, fh, st);
}

int aoki_fs_hgetattr(struct aoki_fs *fs, aoki_fs_handle fh, struct stat *st)
{
	struct hargs in = { .fh = fh };

	return hcall0(fs, NULL, FS_OP_GETATTR, &in, NULL, NULL, NULL, st);
}

/* Nanoseconds since the epoch of @ts, or -EINVAL out of range. */
static int ts_to_ns(const struct timespec *ts, int64_t *ns)
{
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000 ||
	    ts->tv_sec > INT64_MAX / 1000000000 - 1 || ts->tv_sec < INT64_MIN / 1000000000 + 1)
		return -EINVAL;
	*ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	return 0;
}

int aoki_fs_hsetattr(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		     const struct aoki_fs_setattr *sa, struct stat *st)
{
	struct hargs in = { .fh = fh, .set = sa->valid };
	int r;

	if (sa->valid & ~SET_ALL)
		return -EINVAL;
	in.attr.mode = sa->mode & 07777;
	in.attr.uid = sa->uid;
	in.attr.gid = sa->gid;
	in.attr.size = sa->size;
	if ((sa->valid & AOKI_FS_SET_SIZE) && sa->size > INT64_MAX)
		return -EINVAL;
	if ((sa->valid & AOKI_FS_SET_ATIME) && (r = ts_to_ns(&sa->atime, &in.attr.atime_ns)) < 0)
		return r;
	if ((sa->valid & AOKI_FS_SET_MTIME) && (r = ts_to_ns(&sa->mtime, &in.attr.mtime_ns)) < 0)
		return r;
	return hcall0(fs, as, FS_OP_SETATTR, &in, NULL, NULL, NULL, st);
}

int aoki_fs_haccess(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		    int mode)
{
	struct hargs in = { .fh = fh, .flags = (uint32_t)mode };

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	return hcall0(fs, as, FS_OP_ACCESS, &in, NULL, NULL, NULL, NULL);
}

/* Flags the server gets on an open, and flags that mean nothing here
 * (as aoki_fs_openat). */
#define HOPEN_PASS (O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW)
#define HOPEN_IGNORE (O_CLOEXEC | O_NONBLOCK | O_LARGEFILE | O_NOATIME | O_NOCTTY)

int aoki_fs_hopen(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		  int flags, struct stat *st)
{
	struct hargs in = { .fh = fh, .flags = (uint32_t)(flags & HOPEN_PASS) };

	if ((flags & ~(HOPEN_PASS | HOPEN_IGNORE)) || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return hcall0(fs, as, FS_OP_OPEN, &in, NULL, NULL, NULL, st);
}

int aoki_fs_hcreate(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, int flags, mode_t mode, aoki_fs_handle *fh,
		    struct stat *st)
{
	struct hargs in = { .dir = dir, .flags = (uint32_t)((flags & HOPEN_PASS) | O_CREAT |
							     (flags & O_EXCL)),
			    .mode = mode & 07777 };

	if ((flags & ~(HOPEN_PASS | HOPEN_IGNORE | O_CREAT | O_EXCL)) ||
	    (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return check_name(name) ?: hcall0(fs, as, FS_OP_OPEN, &in, name, NULL, fh, st);
}

int aoki_fs_hmkdir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		   const char *name, mode_t mode, aoki_fs_handle *fh, struct stat *st)
{
	struct hargs in = { .dir = dir, .mode = mode & 07777 };

	return check_name(name) ?: hcall0(fs, as, FS_OP_MKDIR, &in, name, NULL, fh, st);
}

int aoki_fs_hsymlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		     const char *name, const char *target, aoki_fs_handle *fh, struct stat *st)
{
	struct hargs in = { .dir = dir };

	if (!target)
		return -EFAULT;
	return check_name(name) ?: hcall0(fs, as, FS_OP_SYMLINK, &in, name, target, fh, st);
}

int aoki_fs_hlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		  aoki_fs_handle dir, const char *name, struct stat *st)
{
	struct hargs in = { .fh = fh, .dir2 = dir };

	return check_name(name) ?: hcall0(fs, as, FS_OP_LINK, &in, NULL, name, NULL, st);
}

int aoki_fs_hunlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name)
{
	struct hargs in = { .dir = dir };

	return check_name(name) ?: hcall0(fs, as, FS_OP_UNLINK, &in, name, NULL, NULL, NULL);
}

int aoki_fs_hrmdir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		   const char *name)
{
	struct hargs in = { .dir = dir };

	return check_name(name) ?: hcall0(fs, as, FS_OP_RMDIR, &in, name, NULL, NULL, NULL);
}

int aoki_fs_hrename(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, aoki_fs_handle newdir, const char *newname,
		    unsigned flags)
{
	struct hargs in = { .dir = dir, .dir2 = newdir, .flags = flags };

	if ((flags & ~(FS_RENAME_NOREPLACE | FS_RENAME_EXCHANGE)) ||
	    flags == (FS_RENAME_NOREPLACE | FS_RENAME_EXCHANGE))
		return -EINVAL;
	if (!newname)
		return -EFAULT;
	return check_name(name) ?: hcall0(fs, as, FS_OP_RENAME, &in, name, newname, NULL, NULL);
}

ssize_t aoki_fs_hreadlink(struct aoki_fs *fs, aoki_fs_handle fh, char *buf, size_t cap)
{
	struct fs_meta m;
	int r;

	if (!cap)
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

int aoki_fs_hfsync(struct aoki_fs *fs, aoki_fs_handle fh, int datasync)
{
	return fs_simple(fs, FS_OP_FSYNC, fh, datasync ? FS_FSYNC_DATA : 0, 0, 0);
}
