/* SPDX-License-Identifier: MIT */
/*
 * ops_dir.c - directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR,
 * FSYNCDIR.  An open directory is an fsd directory stream; the kernel's
 * offsets are fsd's cookies (stable while entries come and go).  An
 * entry that did not fit the kernel's buffer is kept for the next call,
 * so a batch is fetched from fsd once.  READDIRPLUS looks each entry up
 * for the caller; one it cannot (removed meanwhile, no search
 * permission) goes without attributes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static struct open_dir *dir_of(struct fuse_file_info *fi)
{
	return (struct open_dir *)(uintptr_t)fi->fh;
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	struct aoki_fs_cred cred;
	struct open_dir *od = calloc(1, sizeof(*od));
	int r;

	if (!od) {
		reply_err(req, -ENOMEM);
		return;
	}
	r = aoki_fs_hopendir(b->fs, req_cred(req, &cred), node_handle(ino), &od->dir);
	if (r < 0) {
		free(od);
		reply_err(req, r);
		return;
	}
	od->root = ino == FUSE_ROOT_ID;
	fi->fh = (uintptr_t)od;
	if (fuse_reply_open(req, fi) < 0) {
		aoki_fs_closedir(od->dir);
		free(od);
	}
}

static int is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/*
 * Add the pending entry at @buf (@cap bytes left); its offset is the
 * cookie after it.  Returns the bytes it takes (more than @cap: it did
 * not fit and nothing was added).
 */
static size_t add_entry(fuse_req_t req, struct open_dir *od, aoki_fs_handle dir, char *buf,
			size_t cap, int plus)
{
	struct bridge *b = req_bridge(req);
	const struct aoki_fs_dirent *ent = &od->ent;
	struct fuse_entry_param e = { 0 };
	struct aoki_fs_cred cred;
	aoki_fs_handle fh;
	struct stat st;
	size_t need;

	e.attr.st_ino = ent->ino;
	e.attr.st_mode = DTTOIF(ent->type);
	if (!plus)
		return fuse_add_direntry(req, buf, cap, ent->name, &e.attr, (off_t)od->next);
	need = fuse_add_direntry_plus(req, NULL, 0, ent->name, NULL, 0);
	if (need > cap)
		return need;
	/* "." and "..": no attributes (the kernel would not count them). */
	if (!is_dot(ent->name) &&
	    aoki_fs_hlookup(b->fs, req_cred(req, &cred), dir, ent->name, &fh, &st) == 0)
		entry_fill(b, fh, &st, &e);
	return fuse_add_direntry_plus(req, buf, cap, ent->name, &e, (off_t)od->next);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct open_dir *od = dir_of(fi);
	char *buf = malloc(size ? size : 1);
	size_t used = 0, n;
	int r = 0;

	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	if (od->pending && od->at != (uint64_t)off)
		od->pending = 0;
	if (!od->pending && aoki_fs_telldir(od->dir) != (uint64_t)off)
		aoki_fs_seekdir(od->dir, (uint64_t)off);
	for (;;) {
		if (!od->pending) {
			od->at = aoki_fs_telldir(od->dir);
			r = aoki_fs_readdir(od->dir, &od->ent);
			if (r <= 0)
				break;
			od->next = aoki_fs_telldir(od->dir);
			od->pending = 1;
		}
		if (od->root && !strcmp(od->ent.name, ORPHAN_DIR)) {
			od->pending = 0;
			continue;
		}
		n = add_entry(req, od, node_handle(ino), buf + used, size - used, plus);
		if (n > size - used)
			break;
		used += n;
		od->pending = 0;
	}
	/* A directory removed while open reads as empty, as on Linux; an
	 * error after some entries ends this batch, the next call sees it. */
	if (r < 0 && r != -ESTALE && !used)
		reply_err(req, r);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct open_dir *od = dir_of(fi);

	aoki_fs_closedir(od->dir);
	free(od);
	fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	reply_err(req, aoki_fs_hfsync(req_bridge(req)->fs, node_handle(ino), datasync));
}
