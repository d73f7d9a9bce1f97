/* SPDX-License-Identifier: MIT */
/*
 * ops_file.c - open files: CREATE, OPEN, READ, WRITE (write_buf), FLUSH,
 * RELEASE, FSYNC, FALLOCATE.  An open is checked by fsd for the caller
 * (access mode, O_TRUNC); reads and writes then go by handle as aoki-fuse
 * itself, as the kernel checks a descriptor only at open.  Data moves
 * through buffers in fsd's grants: fsd and aoki-blkd fill or drain them
 * without a copy, a read is answered straight from one, and a write's
 * data is copied from the FUSE request once, into one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "bridge.h"

/* The kernel's __FMODE_EXEC: an open by execve(2), which needs execute
 * permission, not read (not in the user-space headers). */
#define OPEN_FOR_EXEC 0x20

/* The open flags fsd gets. */
#define OPEN_FLAGS (O_ACCMODE | O_TRUNC | O_APPEND)

/* A new open file for @fh; NULL without memory. */
static struct open_file *file_new(aoki_fs_handle fh, int flags)
{
	struct open_file *of = calloc(1, sizeof(*of));

	if (!of)
		return NULL;
	of->node = node_open(fh);
	if (!of->node) {
		free(of);
		return NULL;
	}
	of->fh = fh;
	of->flags = flags & OPEN_FLAGS;
	return of;
}

static void file_free(struct bridge *b, struct open_file *of)
{
	node_close(b, of->node);
	free(of);
}

static struct open_file *file_of(struct fuse_file_info *fi)
{
	return (struct open_file *)(uintptr_t)fi->fh;
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	struct aoki_fs_cred cred;
	struct fuse_entry_param e;
	struct open_file *of;
	aoki_fs_handle fh;
	struct stat st;
	int r = -EPERM;

	if (!is_hidden(parent, name))
		r = aoki_fs_hcreate(b->fs, req_cred(req, &cred), node_handle(parent), name,
				    fi->flags & (OPEN_FLAGS | O_EXCL), mode & 07777, &fh, &st);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	of = file_new(fh, fi->flags);
	if (!of) {
		reply_err(req, -ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)of;
	fi->keep_cache = 1;
	entry_fill(b, fh, &st, &e);
	if (fuse_reply_create(req, &e, fi) < 0)
		file_free(b, of);	/* interrupted: no RELEASE follows */
}

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	struct aoki_fs_cred cred;
	const struct aoki_fs_cred *as = req_cred(req, &cred);
	aoki_fs_handle fh = node_handle(ino);
	struct open_file *of;
	int r;

	/* Counted open before fsd opens it: an unlink racing with this open
	 * keeps the file (orphans.c). */
	of = file_new(fh, fi->flags);
	if (!of) {
		reply_err(req, -ENOMEM);
		return;
	}
	if (fi->flags & OPEN_FOR_EXEC) {
		r = aoki_fs_haccess(b->fs, as, fh, X_OK);
		if (r == 0)
			r = aoki_fs_hopen(b->fs, NULL, fh, O_RDONLY, NULL);
	} else {
		r = aoki_fs_hopen(b->fs, as, fh, fi->flags & OPEN_FLAGS, NULL);
	}
	if (r < 0) {
		file_free(b, of);
		reply_err(req, r);
		return;
	}
	fi->fh = (uintptr_t)of;
	/* The page cache stays across opens: the kernel drops it when a
	 * GETATTR shows another mtime or size (FUSE_CAP_AUTO_INVAL_DATA). */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) < 0)
		file_free(b, of);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	void *buf;
	ssize_t n;
	int r = aoki_fs_alloc(b->fs, size ? size : 1, &buf);

	if (r < 0) {
		reply_err(req, r);
		return;
	}
	n = aoki_fs_hpread(b->fs, file_of(fi)->fh, buf, size, (uint64_t)off);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);	/* from the grant: no copy here */
	aoki_fs_free(b->fs, buf);
}

void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
		  struct fuse_file_info *fi)
{
	struct bridge *b = req_bridge(req);
	struct open_file *of = file_of(fi);
	size_t size = fuse_buf_size(bufv);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	ssize_t n;
	void *buf;
	int r = aoki_fs_alloc(b->fs, size ? size : 1, &buf);

	if (r < 0) {
		reply_err(req, r);
		return;
	}
	/* The one copy: from the request into the grant that fsd hands on
	 * to aoki-blkd. */
	dst.buf[0].mem = buf;
	n = fuse_buf_copy(&dst, bufv, 0);
	if (n >= 0)
		n = aoki_fs_hpwrite(b->fs, of->fh, buf, (size_t)n, (uint64_t)off,
				    of->flags & O_APPEND, NULL);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
	aoki_fs_free(b->fs, buf);
}

/* close(2): nothing is buffered here, and ext4 does not sync at close. */
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	file_free(req_bridge(req), file_of(fi));
	fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	reply_err(req, aoki_fs_hfsync(req_bridge(req)->fs, node_handle(ino), datasync));
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi)
{
	reply_err(req, aoki_fs_hfallocate(req_bridge(req)->fs, file_of(fi)->fh, mode, offset,
					  length));
}
