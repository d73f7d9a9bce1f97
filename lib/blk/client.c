/* SPDX-License-Identifier: MIT */
/*
 * client.c - open a blkd volume, and synchronous and asynchronous I/O
 * on it.  Each request is one Aoki IPC message (lib/blk/proto.h); the
 * data stays in the caller's grant.  Recovery after a server crash is the
 * IPC library's: a request the dead server had taken is run again by the
 * restarted one, and block I/O is safe to run twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk.h"
#include "proto.h"

#define SUBMIT_CHUNK 64		/* requests converted per aoki_submit call */

static const uint16_t wire_op[] = {
	[AOKI_BLK_OP_READ] = BLK_OP_READ,
	[AOKI_BLK_OP_WRITE] = BLK_OP_WRITE,
	[AOKI_BLK_OP_FLUSH] = BLK_OP_FLUSH,
	[AOKI_BLK_OP_DISCARD] = BLK_OP_DISCARD,
	[AOKI_BLK_OP_WRITE_ZEROES] = BLK_OP_WRITE_ZEROES,
};

static int do_open(struct aoki_blk *b, const char *volume, unsigned flags)
{
	struct blk_open_req req = { .flags = (flags & AOKI_BLK_RDWR ? BLK_OPEN_WRITE : 0) |
					     (flags & AOKI_BLK_FENCE ? BLK_OPEN_FENCE : 0) };
	struct blk_info_rep rep;
	size_t got = 0;
	int r;

	strcpy(req.name, volume);
	r = aoki_call(b->ch, BLK_OP_OPEN, &req, sizeof(req), &rep, sizeof(rep), &got);
	if (r < 0)
		return r;
	if (got != sizeof(rep) || !rep.block_size || !rep.mem_align || !rep.max_io)
		return -EPROTO;
	b->handle = rep.handle;
	b->writable = (flags & AOKI_BLK_RDWR) && !(rep.flags & AOKI_BLK_INFO_READONLY);
	b->info = (struct aoki_blk_info){ rep.size, rep.block_size, rep.mem_align, rep.max_io,
					  rep.flags };
	return 0;
}

int aoki_blk_open(const char *port, const char *volume, unsigned flags,
		  const struct aoki_blk_opts *opts, struct aoki_blk **out)
{
	struct aoki_blk_opts o = opts ? *opts : (struct aoki_blk_opts){ 0 };
	struct aoki_chan_opts co = {
		.slots = o.queue_depth, .max_grants = BLK_MAX_GRANTS,
		.timeout_ns = o.timeout_ns, .reconnect_ns = o.reconnect_ns,
		.spin_ns = o.spin_ns ? o.spin_ns : AOKI_BLK_SPIN_NS,
	};
	struct aoki_blk *b;
	int r;

	if (!volume || (flags & ~(AOKI_BLK_RDWR | AOKI_BLK_FENCE)))
		return -EINVAL;
	if (!*volume || strlen(volume) > BLK_NAME_MAX)
		return *volume ? -ENAMETOOLONG : -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->timeout_ns = o.timeout_ns;
	r = aoki_connect(port ? port : AOKI_BLK_PORT, &co, &b->ch);
	/* No socket at the port is "no server", like a socket nobody
	 * listens on: -ENOENT is kept for "no such volume". */
	if (r == -ENOENT)
		r = -ECONNREFUSED;
	ipc_arenas_init(&b->arenas, b->ch, o.arena_size, AOKI_GRANT_READ | AOKI_GRANT_WRITE);
	if (r == 0)
		r = do_open(b, volume, flags);
	if (r < 0) {
		aoki_blk_close(b);
		return r;
	}
	*out = b;
	return 0;
}

void aoki_blk_close(struct aoki_blk *b)
{
	if (!b)
		return;
	if (b->ch)
		aoki_close(b->ch);	/* unmaps the grants too */
	ipc_arenas_fini(&b->arenas);
	free(b);
}

void aoki_blk_get_info(const struct aoki_blk *b, struct aoki_blk_info *out)
{
	*out = b->info;
}

/* Build the wire request for @io; -EINVAL, -EFAULT or -EROFS if bad. */
static int encode(struct aoki_blk *b, const struct aoki_blk_io *io, struct blk_io_req *w,
		  uint16_t *op)
{
	unsigned allowed = io->op == AOKI_BLK_OP_WRITE ? AOKI_BLK_FUA | AOKI_BLK_IMPORTED
			 : io->op == AOKI_BLK_OP_READ	? AOKI_BLK_IMPORTED
							: 0u;

	if (io->op < AOKI_BLK_OP_READ || io->op > AOKI_BLK_OP_WRITE_ZEROES)
		return -EINVAL;
	if ((io->flags & ~allowed) || io->reserved)
		return -EINVAL;
	if (io->op != AOKI_BLK_OP_READ && io->op != AOKI_BLK_OP_FLUSH && !b->writable)
		return -EROFS;
	*w = (struct blk_io_req){ .handle = b->handle, .offset = io->offset,
				  .length = io->len, .flags = io->flags & AOKI_BLK_FUA };
	*op = wire_op[io->op];
	if (io->op == AOKI_BLK_OP_FLUSH) {
		w->offset = 0;
		w->length = 0;
	}
	if (io->op != AOKI_BLK_OP_READ && io->op != AOKI_BLK_OP_WRITE)
		return 0;
	if (io->flags & AOKI_BLK_IMPORTED) {
		/* The server checks the id, the rights and the bounds. */
		w->grant = io->import;
		w->grant_offset = io->import_offset;
		return 0;
	}
	return ipc_arena_find(&b->arenas, io->buf, io->len, &w->grant, &w->grant_offset);
}

/* One synchronous request.  aoki_call waits for a slot while other
 * threads' calls hold them all (-EAGAIN only when async requests hold
 * every one). */
static int64_t sync_io(struct aoki_blk *b, const struct aoki_blk_io *io)
{
	struct blk_io_req w;
	uint16_t op;
	int r = encode(b, io, &w, &op);

	if (r < 0)
		return r;
	return aoki_call(b->ch, op, &w, sizeof(w), NULL, 0, NULL);
}

ssize_t aoki_blk_pread(struct aoki_blk *b, void *buf, size_t len, uint64_t offset)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_READ, .len = (uint32_t)len,
				  .offset = offset, .buf = buf };

	return len > UINT32_MAX ? -EINVAL : sync_io(b, &io);
}

ssize_t aoki_blk_pwrite(struct aoki_blk *b, const void *buf, size_t len, uint64_t offset,
			unsigned flags)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_WRITE, .flags = (uint16_t)flags,
				  .len = (uint32_t)len, .offset = offset, .buf = (void *)buf };

	return len > UINT32_MAX || flags > UINT16_MAX ? -EINVAL : sync_io(b, &io);
}

int aoki_blk_flush(struct aoki_blk *b)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_FLUSH };

	return (int)sync_io(b, &io);
}

/* DISCARD or WRITE_ZEROES of a range that may exceed one request. */
static int range_op(struct aoki_blk *b, uint16_t op, uint64_t offset, uint64_t len)
{
	/* The largest multiple of the block size that fits a u32. */
	uint64_t step = UINT32_MAX / b->info.block_size * b->info.block_size;

	do {
		struct aoki_blk_io io = { .op = op, .offset = offset,
					  .len = (uint32_t)(len < step ? len : step) };
		int r = (int)sync_io(b, &io);

		if (r < 0)
			return r;
		offset += io.len;
		len -= io.len;
	} while (len);
	return 0;
}

int aoki_blk_discard(struct aoki_blk *b, uint64_t offset, uint64_t len)
{
	return range_op(b, AOKI_BLK_OP_DISCARD, offset, len);
}

int aoki_blk_write_zeroes(struct aoki_blk *b, uint64_t offset, uint64_t len)
{
	return range_op(b, AOKI_BLK_OP_WRITE_ZEROES, offset, len);
}

int aoki_blk_submit(struct aoki_blk *b, const struct aoki_blk_io *ios, unsigned n)
{
	struct blk_io_req w[SUBMIT_CHUNK];
	struct aoki_sqe sqe[SUBMIT_CHUNK];
	unsigned done = 0;

	while (done < n) {
		unsigned k = 0, bad = 0;
		int r = 0, q;

		for (; k < SUBMIT_CHUNK && done + k < n; k++) {
			r = encode(b, &ios[done + k], &w[k], &sqe[k].op);
			if (r < 0) {
				bad = 1;
				break;
			}
			sqe[k].len = sizeof(w[k]);
			sqe[k].reserved = 0;
			sqe[k].tag = ios[done + k].tag;
			sqe[k].data = &w[k];
		}
		q = k ? aoki_submit(b->ch, sqe, k) : 0;
		if (q < 0)
			return done ? (int)done : q;
		done += (unsigned)q;
		if ((unsigned)q < k)
			return (int)done;	/* ring full */
		if (bad)
			return done ? (int)done : r;
	}
	return (int)done;
}

int aoki_blk_reap(struct aoki_blk *b, struct aoki_blk_cqe *cqes, unsigned max,
		  unsigned min_complete, int64_t timeout_ns)
{
	struct aoki_cqe c[SUBMIT_CHUNK];
	int r;

	if (max > SUBMIT_CHUNK)
		max = SUBMIT_CHUNK;
	if (min_complete > max)
		min_complete = max;
	/* The IPC library's wait: it spins while spinning pays (up to the
	 * open's spin_ns), then sleeps. */
	r = aoki_reap(b->ch, c, max, min_complete, timeout_ns);
	for (int i = 0; i < r; i++)
		cqes[i] = (struct aoki_blk_cqe){ c[i].tag, c[i].status };
	return r;
}

int aoki_blk_import(struct aoki_blk *b, int memfd, unsigned rights, uint32_t *id)
{
	if (memfd < 0 || !id || !rights || (rights & ~(AOKI_GRANT_READ | AOKI_GRANT_WRITE)))
		return -EINVAL;
	return aoki_grant_register_fd(b->ch, memfd, rights, id);
}

int aoki_blk_unimport(struct aoki_blk *b, uint32_t id)
{
	return aoki_grant_revoke(b->ch, id);
}

int aoki_blk_alloc(struct aoki_blk *b, size_t len, void **buf)
{
	return ipc_arena_alloc(&b->arenas, len, buf);
}

void aoki_blk_free(struct aoki_blk *b, void *buf)
{
	ipc_arena_free(&b->arenas, buf);
}

int aoki_blk_eventfd(struct aoki_blk *b)
{
	return aoki_chan_eventfd(b->ch);
}

int aoki_blk_arm(struct aoki_blk *b)
{
	return aoki_chan_arm(b->ch);
}
