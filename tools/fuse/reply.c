/* SPDX-License-Identifier: MIT */
/*
 * reply.c - what every operation needs: node ids and handles, whom a
 * request acts for, the errno the kernel gets, and entry and attribute
 * replies with the mount's timeouts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "bridge.h"

aoki_fs_handle node_handle(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? AOKI_FS_ROOT_HANDLE : (aoki_fs_handle)ino;
}

fuse_ino_t node_id(aoki_fs_handle fh)
{
	/* fsd's handles have the inode number in the high half: never 1. */
	return fh == AOKI_FS_ROOT_HANDLE ? FUSE_ROOT_ID : (fuse_ino_t)fh;
}

struct bridge *req_bridge(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

const struct aoki_fs_cred *req_cred(fuse_req_t req, struct aoki_fs_cred *buf)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (!req_bridge(req)->as_callers)
		return NULL;
	buf->uid = ctx->uid;
	buf->gid = ctx->gid;
	return buf;
}

int kernel_errno(int r)
{
	switch (r) {
	case -ETIMEDOUT:	/* fsd did not come back within the deadline */
	case -ECONNRESET:	/* the channel is gone */
	case -EPROTO:		/* a reply that broke the protocol */
		return EIO;
	default:
		return r < 0 ? -r : EIO;
	}
}

void reply_err(fuse_req_t req, int r)
{
	fuse_reply_err(req, r ? kernel_errno(r) : 0);
}

void entry_fill(struct bridge *b, aoki_fs_handle fh, const struct stat *st,
		struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = node_id(fh);
	e->generation = (uint32_t)fh;
	e->attr = *st;
	if (node_is_orphan(fh) && e->attr.st_nlink)
		e->attr.st_nlink--;
	e->attr_timeout = b->o.attr_timeout;
	e->entry_timeout = b->o.entry_timeout;
}

void reply_entry(fuse_req_t req, int r, aoki_fs_handle fh, const struct stat *st)
{
	struct bridge *b = req_bridge(req);
	struct fuse_entry_param e;

	if (r == -ENOENT && b->o.negative_timeout > 0) {
		/* A negative entry the kernel may cache (node id 0). */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = b->o.negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	entry_fill(b, fh, st, &e);
	fuse_reply_entry(req, &e);
}

void reply_attr(fuse_req_t req, aoki_fs_handle fh, struct stat *st)
{
	if (node_is_orphan(fh) && st->st_nlink)
		st->st_nlink--;	/* the hidden name is not a link to report */
	fuse_reply_attr(req, st, req_bridge(req)->o.attr_timeout);
}

int is_hidden(fuse_ino_t parent, const char *name)
{
	return parent == FUSE_ROOT_ID && !strcmp(name, ORPHAN_DIR);
}
