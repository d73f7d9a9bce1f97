/* SPDX-License-Identifier: MIT */
/*
 * ops_attr.c - one inode's attributes and the whole file system:
 * GETATTR, SETATTR, ACCESS, READLINK, STATFS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "bridge.h"

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	aoki_fs_handle fh = node_handle(ino);
	struct stat st;
	int r = aoki_fs_hgetattr(req_bridge(req)->fs, fh, &st);

	if (r < 0)
		reply_err(req, r);
	else
		reply_attr(req, fh, &st);
}

/* The fsd setattr for FUSE's @to_set bits of @attr. */
static void setattr_from_fuse(const struct stat *attr, int to_set, struct aoki_fs_setattr *sa)
{
	static const struct { int fuse; unsigned aoki; } bits[] = {
		{ FUSE_SET_ATTR_MODE, AOKI_FS_SET_MODE },
		{ FUSE_SET_ATTR_UID, AOKI_FS_SET_UID },
		{ FUSE_SET_ATTR_GID, AOKI_FS_SET_GID },
		{ FUSE_SET_ATTR_SIZE, AOKI_FS_SET_SIZE },
		{ FUSE_SET_ATTR_ATIME, AOKI_FS_SET_ATIME },
		{ FUSE_SET_ATTR_MTIME, AOKI_FS_SET_MTIME },
		{ FUSE_SET_ATTR_ATIME_NOW, AOKI_FS_SET_ATIME_NOW },
		{ FUSE_SET_ATTR_MTIME_NOW, AOKI_FS_SET_MTIME_NOW },
	};

	memset(sa, 0, sizeof(*sa));
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (to_set & bits[i].fuse)
			sa->valid |= bits[i].aoki;
	/* "now" comes with the explicit bit set too: the server's clock wins. */
	if (sa->valid & AOKI_FS_SET_ATIME_NOW)
		sa->valid &= ~AOKI_FS_SET_ATIME;
	if (sa->valid & AOKI_FS_SET_MTIME_NOW)
		sa->valid &= ~AOKI_FS_SET_MTIME;
	sa->mode = attr->st_mode & 07777;
	sa->uid = attr->st_uid;
	sa->gid = attr->st_gid;
	sa->size = (uint64_t)attr->st_size;
	sa->atime = attr->st_atim;
	sa->mtime = attr->st_mtim;
}

/*
 * The kernel clears set-user-ID and set-group-ID itself when someone who
 * may write a file writes to it (FUSE_CAP_HANDLE_KILLPRIV is off): a
 * mode-only SETATTR that only drops those bits.  Linux does it with
 * ATTR_FORCE, past the owner check that fsd makes for a chmod; so do we,
 * as aoki-fuse itself, once fsd has said that the caller may write the
 * file.  (A chmod(2) that only drops those bits, by a non-owner who may
 * write the file, succeeds here too, where Linux says EPERM.)
 */
static int kill_priv(struct bridge *b, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		     const struct aoki_fs_setattr *sa, struct stat *st)
{
	struct stat cur;
	int r = aoki_fs_hgetattr(b->fs, fh, &cur);

	if (r < 0)
		return r;
	if ((cur.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) != (sa->mode & 07777) ||
	    (cur.st_mode & 07777) == (sa->mode & 07777))
		return -EPERM;
	r = aoki_fs_haccess(b->fs, as, fh, W_OK);
	if (r < 0)
		return r == -EACCES ? -EPERM : r;
	return aoki_fs_hsetattr(b->fs, NULL, fh, sa, st);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	aoki_fs_handle fh = node_handle(ino);
	struct aoki_fs_cred cred;
	const struct aoki_fs_cred *as = req_cred(req, &cred);
	struct aoki_fs_setattr sa;
	struct stat st;
	int r;

	setattr_from_fuse(attr, to_set, &sa);
	if (!sa.valid) {
		/* ctime alone: nothing fsd sets on request. */
		r = aoki_fs_hgetattr(b->fs, fh, &st);
	} else {
		/* ftruncate(2): the descriptor was checked for writing at
		 * open, as the kernel checks it, whatever the mode now. */
		if (fi && sa.valid == AOKI_FS_SET_SIZE)
			as = NULL;
		r = aoki_fs_hsetattr(b->fs, as, fh, &sa, &st);
		if (r == -EPERM && as && sa.valid == AOKI_FS_SET_MODE)
			r = kill_priv(b, as, fh, &sa, &st);
	}
	if (r < 0)
		reply_err(req, r);
	else
		reply_attr(req, fh, &st);
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct aoki_fs_cred cred;

	reply_err(req, aoki_fs_haccess(req_bridge(req)->fs, req_cred(req, &cred),
				       node_handle(ino), mask));
}

void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char target[AOKI_FS_PATH_MAX];
	ssize_t n = aoki_fs_hreadlink(req_bridge(req)->fs, node_handle(ino), target,
				      sizeof(target) - 1);

	if (n < 0) {
		reply_err(req, (int)n);
		return;
	}
	target[n] = 0;
	fuse_reply_readlink(req, target);
}

void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int r = aoki_fs_statvfs(req_bridge(req)->fs, &sv);

	if (r < 0)
		reply_err(req, r);
	else
		fuse_reply_statfs(req, &sv);
}
