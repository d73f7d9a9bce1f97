/* SPDX-License-Identifier: MIT */
/*
 * async.c - asynchronous data I/O.  Each queued request holds an entry of
 * the in-flight table, whose index is the IPC tag: the completion finds
 * the caller's tag and the length asked there, so a reply claiming more
 * bytes than asked is caught (-EPROTO), and a tag that names no entry is
 * dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "fs.h"

#define CHUNK 64		/* requests converted per aoki_submit / aoki_reap */

int fs_async_init(struct aoki_fs *fs, unsigned depth)
{
	fs->inflight = calloc(depth, sizeof(*fs->inflight));
	fs->free_idx = calloc(depth, sizeof(*fs->free_idx));
	if (!fs->inflight || !fs->free_idx)
		return -ENOMEM;
	fs->depth = depth;
	for (unsigned i = 0; i < depth; i++)
		fs->free_idx[i] = depth - 1 - i;
	fs->nfree = depth;
	return 0;
}

void fs_async_fini(struct aoki_fs *fs)
{
	free(fs->inflight);
	free(fs->free_idx);
	fs->inflight = NULL;
	fs->free_idx = NULL;
}

/* Build the wire request for @io: -EINVAL, -EBADF or -EFAULT if bad. */
static int encode(struct aoki_fs *fs, const struct aoki_fs_io *io, struct fs_io_req *w,
		  uint16_t *op)
{
	struct fs_fd_info fi;
	int r, acc;

	if ((io->op != AOKI_FS_OP_READ && io->op != AOKI_FS_OP_WRITE) || io->flags ||
	    io->len > FS_MAX_IO || io->offset > INT64_MAX)
		return -EINVAL;
	r = fs_fd_get(fs, io->fd, &fi);
	if (r < 0)
		return r;
	acc = fi.flags & O_ACCMODE;
	if (io->op == AOKI_FS_OP_READ ? acc == O_WRONLY : acc == O_RDONLY)
		return -EBADF;
	*op = io->op == AOKI_FS_OP_READ ? FS_OP_READ
	    : (fi.flags & O_APPEND) ? FS_OP_APPEND : FS_OP_WRITE;
	*w = (struct fs_io_req){ .length = io->len, .fh = fi.fh,
				 .offset = *op == FS_OP_APPEND ? 0 : io->offset };
	return ipc_arena_find(&fs->arenas, io->buf, io->len, &w->grant, &w->grant_offset);
}

/* Take (or give back) an in-flight entry; -1 if none is free. */
static int64_t take_slot(struct aoki_fs *fs, const struct aoki_fs_io *io)
{
	int64_t i = -1;

	pthread_mutex_lock(&fs->async_lock);
	if (fs->nfree) {
		i = fs->free_idx[--fs->nfree];
		fs->inflight[i] = (struct fs_inflight){ io->tag, io->len, 1 };
	}
	pthread_mutex_unlock(&fs->async_lock);
	return i;
}

static void put_slot(struct aoki_fs *fs, uint64_t i)
{
	pthread_mutex_lock(&fs->async_lock);
	fs->inflight[i].busy = 0;
	fs->free_idx[fs->nfree++] = (uint32_t)i;
	pthread_mutex_unlock(&fs->async_lock);
}

int aoki_fs_submit(struct aoki_fs *fs, const struct aoki_fs_io *ios, unsigned n)
{
	struct fs_io_req w[CHUNK];
	struct aoki_sqe sqe[CHUNK];
	unsigned done = 0;

	while (done < n) {
		unsigned k = 0, stop = 0;
		int r = 0, q;

		for (; k < CHUNK && done + k < n; k++) {
			int64_t slot;

			r = encode(fs, &ios[done + k], &w[k], &sqe[k].op);
			if (r < 0) {
				stop = 1;
				break;
			}
			slot = take_slot(fs, &ios[done + k]);
			if (slot < 0) {
				stop = 2;	/* queue_depth in flight */
				break;
			}
			sqe[k].len = sizeof(w[k]);
			sqe[k].reserved = 0;
			sqe[k].tag = (uint64_t)slot;
			sqe[k].data = &w[k];
		}
		q = k ? aoki_submit(fs->ch, sqe, k) : 0;
		for (unsigned i = q < 0 ? 0 : (unsigned)q; i < k; i++)
			put_slot(fs, sqe[i].tag);	/* not queued */
		if (q < 0)
			return done ? (int)done : q;
		done += (unsigned)q;
		if ((unsigned)q < k || stop == 2)
			return (int)done;	/* ring or table full */
		if (stop == 1)
			return done ? (int)done : r;
	}
	return (int)done;
}

int aoki_fs_reap(struct aoki_fs *fs, struct aoki_fs_cqe *cqes, unsigned max,
		 unsigned min_complete, int64_t timeout_ns)
{
	struct aoki_cqe c[CHUNK];
	unsigned out = 0;
	int r;

	if (max > CHUNK)
		max = CHUNK;
	if (min_complete > max)
		min_complete = max;
	r = aoki_reap(fs->ch, c, max, min_complete, timeout_ns);
	if (r < 0)
		return r;
	for (int i = 0; i < r; i++) {
		uint64_t slot = c[i].tag;
		struct fs_inflight e;

		if (slot >= fs->depth)
			continue;	/* not ours: nothing to report it to */
		pthread_mutex_lock(&fs->async_lock);
		e = fs->inflight[slot];
		pthread_mutex_unlock(&fs->async_lock);
		if (!e.busy)
			continue;
		cqes[out].tag = e.tag;
		cqes[out].res = c[i].status > 0 && (uint32_t)c[i].status > e.len ? -EPROTO
										  : c[i].status;
		out++;
		put_slot(fs, slot);
	}
	return (int)out;
}
