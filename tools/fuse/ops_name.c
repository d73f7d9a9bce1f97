/* SPDX-License-Identifier: MIT */
/*
 * ops_name.c - names: LOOKUP, FORGET, MKDIR, MKNOD, SYMLINK, LINK,
 * UNLINK, RMDIR, RENAME.  Each is one fsd call made for the caller; a
 * removal of the last name of a file open here keeps it first
 * (orphans.c).  The hidden directory does not exist through the mount:
 * a look-up or removal of its name is -ENOENT, making it -EPERM (as fsd
 * answers for its own hidden file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "bridge.h"

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct aoki_fs_cred cred;
	aoki_fs_handle fh = 0;
	struct stat st;
	int r = -ENOENT;

	if (!is_hidden(parent, name))
		r = aoki_fs_hlookup(req_bridge(req)->fs, req_cred(req, &cred),
				    node_handle(parent), name, &fh, &st);
	reply_entry(req, r, fh, &st);
}

/* Node ids are fsd's handles, valid without a look-up count: nothing to
 * forget. */
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct aoki_fs_cred cred;
	aoki_fs_handle fh = 0;
	struct stat st;
	int r = -EPERM;

	if (!is_hidden(parent, name))
		r = aoki_fs_hmkdir(req_bridge(req)->fs, req_cred(req, &cred), node_handle(parent),
				   name, mode & 07777, &fh, &st);
	reply_entry(req, r, fh, &st);
}

/* Regular files only: fsd makes no devices, FIFOs or sockets (-EPERM, as
 * a file system without them answers). */
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct aoki_fs_cred cred;
	aoki_fs_handle fh = 0;
	struct stat st;
	int r = -EPERM;

	if (S_ISREG(mode) && !is_hidden(parent, name))
		r = aoki_fs_hcreate(req_bridge(req)->fs, req_cred(req, &cred),
				    node_handle(parent), name, O_RDONLY | O_EXCL, mode & 07777,
				    &fh, &st);
	reply_entry(req, r, fh, &st);
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct aoki_fs_cred cred;
	aoki_fs_handle fh = 0;
	struct stat st;
	int r = -EPERM;

	if (!is_hidden(parent, name))
		r = aoki_fs_hsymlink(req_bridge(req)->fs, req_cred(req, &cred),
				     node_handle(parent), name, link, &fh, &st);
	reply_entry(req, r, fh, &st);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct aoki_fs_cred cred;
	aoki_fs_handle fh = node_handle(ino);
	struct stat st;
	int r = -EPERM;

	if (!is_hidden(newparent, newname))
		r = aoki_fs_hlink(req_bridge(req)->fs, req_cred(req, &cred), fh,
				  node_handle(newparent), newname, &st);
	reply_entry(req, r, fh, &st);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct bridge *b = req_bridge(req);
	struct aoki_fs_cred cred;
	const struct aoki_fs_cred *as = req_cred(req, &cred);
	aoki_fs_handle dir = node_handle(parent), fh = 0;
	struct node *n;
	int r;

	if (is_hidden(parent, name)) {
		reply_err(req, -ENOENT);
		return;
	}
	n = orphan_guard(b, as, dir, name, &fh);
	r = aoki_fs_hunlink(b->fs, as, dir, name);
	orphan_settle(b, n, fh, r);
	reply_err(req, r);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct aoki_fs_cred cred;
	int r = -ENOENT;

	if (!is_hidden(parent, name))
		r = aoki_fs_hrmdir(req_bridge(req)->fs, req_cred(req, &cred), node_handle(parent),
				   name);
	reply_err(req, r);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	struct bridge *b = req_bridge(req);
	struct aoki_fs_cred cred;
	const struct aoki_fs_cred *as = req_cred(req, &cred);
	aoki_fs_handle dir = node_handle(parent), newdir = node_handle(newparent), fh = 0;
	struct node *n = NULL;
	int r;

	if (is_hidden(parent, name) || is_hidden(newparent, newname)) {
		reply_err(req, is_hidden(parent, name) ? -ENOENT : -EPERM);
		return;
	}
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		reply_err(req, -EINVAL);	/* RENAME_WHITEOUT: as ext4 without overlayfs */
		return;
	}
	/* Only a plain rename replaces (and may drop) the target. */
	if (!flags)
		n = orphan_guard(b, as, newdir, newname, &fh);
	r = aoki_fs_hrename(b->fs, as, dir, name, newdir, newname, flags);
	orphan_settle(b, n, fh, r);
	reply_err(req, r);
}
