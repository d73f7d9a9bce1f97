/* SPDX-License-Identifier: MIT */
/*
 * io.c - synchronous file data I/O.  Each request moves at most FS_MAX_IO
 * bytes between the file and a grant: the caller's buffer when it lies in
 * one of the connection's areas (copy-free), else an internal bounce
 * buffer, copied chunk by chunk.  Reads and overwrites are safe to run
 * twice; appends are answered from the server's record after a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/* -EBADF if a descriptor opened with @flags may not read (or write). */
static int check_access(int flags, int write)
{
	int acc = flags & O_ACCMODE;

	return (write ? acc == O_RDONLY : acc == O_WRONLY) ? -EBADF : 0;
}

/* One request; returns the bytes moved, checked against @len.  For
 * APPEND, *@landed is where the server placed the data. */
static int io_one(struct aoki_fs *fs, uint16_t op, uint64_t fh, uint32_t grant, uint64_t goff,
		  uint32_t len, uint64_t off, uint64_t *landed)
{
	struct fs_io_req req = { .grant = grant, .length = len, .grant_offset = goff,
				 .fh = fh, .offset = op == FS_OP_APPEND ? 0 : off };
	uint64_t rep = 0;
	size_t got = 0;
	int r = fs_rpc(fs, op, &req, sizeof(req), &rep, sizeof(rep), &got);

	if (r < 0)
		return r;
	if ((uint32_t)r > len)
		return -EPROTO;
	if (op == FS_OP_APPEND) {
		if (got != sizeof(rep) || rep > (uint64_t)INT64_MAX - (uint32_t)r)
			return -EPROTO;
		*landed = rep;
	}
	return r;
}

/*
 * Move up to @len bytes at @off (appending if the descriptor says so);
 * *@end is the file offset just past the last byte moved.  A short
 * request (end of file, a full disk) ends the loop; an error after some
 * progress returns the progress.
 */
static ssize_t do_io(struct aoki_fs *fs, const struct fs_fd_info *fi, int write, void *buf,
		     size_t len, uint64_t off, uint64_t *end)
{
	uint16_t op = !write ? FS_OP_READ : (fi->flags & O_APPEND) ? FS_OP_APPEND : FS_OP_WRITE;
	uint32_t grant = 0, bgrant = 0;
	uint64_t goff = 0, bgoff = 0, landed = 0;
	char *bounce = NULL;
	size_t done = 0;
	int r = check_access(fi->flags, write);

	*end = off;
	if (r < 0)
		return r;
	if (off > INT64_MAX)
		return -EINVAL;
	if (len > (uint64_t)INT64_MAX - off) {
		if (write && op != FS_OP_APPEND)
			return -EFBIG;
		len = (size_t)((uint64_t)INT64_MAX - off);
	}
	if (!len)
		return 0;
	if (ipc_arena_find(&fs->arenas, buf, len, &grant, &goff) < 0) {
		size_t blen = len < FS_MAX_IO ? len : FS_MAX_IO;
		void *p;

		r = ipc_arena_alloc(&fs->arenas, blen, &p);
		if (r < 0)
			return r == -EINVAL ? -ENOMEM : r;
		bounce = p;
		ipc_arena_find(&fs->arenas, bounce, blen, &bgrant, &bgoff);
	}
	while (done < len) {
		uint32_t n = len - done < FS_MAX_IO ? (uint32_t)(len - done) : FS_MAX_IO;

		if (bounce && write)
			memcpy(bounce, (char *)buf + done, n);
		r = io_one(fs, op, fi->fh, bounce ? bgrant : grant, bounce ? bgoff : goff + done, n,
			   off + done, &landed);
		if (r < 0)
			break;
		if (bounce && !write)
			memcpy((char *)buf + done, bounce, (size_t)r);
		done += (size_t)r;
		*end = op == FS_OP_APPEND ? landed + (uint64_t)r : off + done;
		if ((uint32_t)r < n)
			break;
	}
	ipc_arena_free(&fs->arenas, bounce);
	return done ? (ssize_t)done : r;
}

ssize_t aoki_fs_pread(struct aoki_fs *fs, int fd, void *buf, size_t len, uint64_t offset)
{
	struct fs_fd_info fi;
	uint64_t end;
	int r = fs_fd_get(fs, fd, &fi);

	return r < 0 ? r : do_io(fs, &fi, 0, buf, len, offset, &end);
}

ssize_t aoki_fs_pwrite(struct aoki_fs *fs, int fd, const void *buf, size_t len,
		       uint64_t offset)
{
	struct fs_fd_info fi;
	uint64_t end;
	int r = fs_fd_get(fs, fd, &fi);

	return r < 0 ? r : do_io(fs, &fi, 1, (void *)buf, len, offset, &end);
}

ssize_t aoki_fs_hpread(struct aoki_fs *fs, aoki_fs_handle fh, void *buf, size_t len,
		       uint64_t offset)
{
	struct fs_fd_info fi = { .fh = fh, .flags = O_RDONLY };
	uint64_t end;

	return do_io(fs, &fi, 0, buf, len, offset, &end);
}

ssize_t aoki_fs_hpwrite(struct aoki_fs *fs, aoki_fs_handle fh, const void *buf, size_t len,
			uint64_t offset, int flags, uint64_t *end)
{
	struct fs_fd_info fi = { .fh = fh, .flags = O_WRONLY | (flags & O_APPEND) };
	uint64_t at;
	ssize_t r;

	if (flags & ~O_APPEND)
		return -EINVAL;
	r = do_io(fs, &fi, 1, (void *)buf, len, offset, &at);
	if (r >= 0 && end)
		*end = at;
	return r;
}

/* read or write at the position, under the descriptor's position lock. */
static ssize_t pos_io(struct aoki_fs *fs, int fd, int write, void *buf, size_t len)
{
	struct fs_file *f = fs_fd_slot(fs, fd);
	struct fs_fd_info fi;
	uint64_t end;
	ssize_t r;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->pos_lock);
	r = fs_fd_get(fs, fd, &fi);
	if (r == 0)
		r = do_io(fs, &fi, write, buf, len, fi.pos, &end);
	if (r > 0)
		fs_fd_set_pos(fs, fd, fi.gen, end);
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

ssize_t aoki_fs_read(struct aoki_fs *fs, int fd, void *buf, size_t len)
{
	return pos_io(fs, fd, 0, buf, len);
}

ssize_t aoki_fs_write(struct aoki_fs *fs, int fd, const void *buf, size_t len)
{
	return pos_io(fs, fd, 1, (void *)buf, len);
}

int64_t aoki_fs_lseek(struct aoki_fs *fs, int fd, int64_t offset, int whence)
{
	struct fs_file *f = fs_fd_slot(fs, fd);
	struct fs_fd_info fi;
	struct fs_attr attr;
	int64_t base;
	int r;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->pos_lock);
	r = fs_fd_get(fs, fd, &fi);
	if (r < 0)
		goto out;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)fi.pos;
		break;
	case SEEK_END:
		r = fs_getattr(fs, fi.fh, &attr);
		if (r < 0)
			goto out;
		if (attr.size > INT64_MAX) {
			r = -EPROTO;
			goto out;
		}
		base = (int64_t)attr.size;
		break;
	default:
		r = -EINVAL;
		goto out;
	}
	if (offset > 0 && base > INT64_MAX - offset) {
		r = -EOVERFLOW;
		goto out;
	}
	if (base + offset < 0) {
		r = -EINVAL;
		goto out;
	}
	fs_fd_set_pos(fs, fd, fi.gen, (uint64_t)(base + offset));
	pthread_mutex_unlock(&f->pos_lock);
	return base + offset;
out:
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}
