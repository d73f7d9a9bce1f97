/* SPDX-License-Identifier: MIT */
/*
 * handler.c - a request, from its 32 bytes to an I/O on the worker's
 * ring.  Everything in the request comes from a client and is checked
 * here, before the kernel sees it: the volume handle, the caller's right
 * to the volume, the range against the volume's end, O_DIRECT alignment,
 * and the grant (which must exist, carry the right permission and hold
 * the whole buffer).  Each failure is an -errno reply; nothing else is
 * affected.  Requests hold no state in the server, so a restarted
 * server runs a rerun request exactly as the first one did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "aoki/blk.h"
#include "aoki/host.h"
#include "blkd.h"

static void info_fill(struct blk_info_rep *out, const struct blkd_volume *v, unsigned handle,
		      int writable)
{
	*out = (struct blk_info_rep){
		.size = v->size,
		.block_size = v->block_size,
		.mem_align = v->mem_align,
		.max_io = BLKD_MAX_IO,
		.flags = (writable ? 0 : AOKI_BLK_INFO_READONLY) |
			 (v->direct ? AOKI_BLK_INFO_DIRECT : 0) |
			 (v->blockdev ? AOKI_BLK_INFO_BLOCKDEV : 0),
		.handle = handle,
	};
}

static void info_reply(struct aoki_req *req, const struct blkd_volume *v, unsigned handle,
		       int writable)
{
	struct blk_info_rep rep;

	info_fill(&rep, v, handle, writable);
	aoki_req_reply(req, 0, &rep, sizeof(rep));
}

/* The volume a handle names: -EBADF (no such index, or other bits set),
 * -ESTALE (the index names another volume since the configuration
 * changed). */
static int volume_of(const struct blkd *d, uint32_t handle, uint32_t *index)
{
	uint32_t i = handle & BLK_HANDLE_INDEX;

	if (i >= d->nvol)
		return -EBADF;
	if ((handle & BLK_HANDLE_NAME) != d->vol[i].handle_name)
		return -ESTALE;
	*index = i;
	return 0;
}

static int op_open(struct blkd *d, struct aoki_req *req, const void *data, size_t len)
{
	struct blk_open_req o;
	int r;

	if (len != sizeof(o))
		return -EINVAL;
	memcpy(&o, data, sizeof(o));
	if (o.flags & ~(BLK_OPEN_WRITE | BLK_OPEN_FENCE) || !memchr(o.name, 0, sizeof(o.name)))
		return -EINVAL;
	for (unsigned i = 0; i < d->nvol; i++) {
		if (strcmp(d->vol[i].name, o.name))
			continue;
		r = blkd_access(d, &d->vol[i], aoki_req_peer(req)->uid, o.flags & BLK_OPEN_WRITE);
		if (r < 0)
			return r;
		if (o.flags & BLK_OPEN_FENCE) {
			struct blk_info_rep rep;

			info_fill(&rep, &d->vol[i],
				  i | d->vol[i].handle_name |
					  ((o.flags & BLK_OPEN_WRITE) ? 0 : BLK_HANDLE_RDONLY),
				  (o.flags & BLK_OPEN_WRITE) != 0);
			return blkd_io_fence(req, &rep, sizeof(rep));
		}
		info_reply(req, &d->vol[i],
			   i | d->vol[i].handle_name |
				   ((o.flags & BLK_OPEN_WRITE) ? 0 : BLK_HANDLE_RDONLY),
			   (o.flags & BLK_OPEN_WRITE) != 0);
		return 0;
	}
	return -ENOENT;
}

static int op_info(struct blkd *d, struct aoki_req *req, const void *data, size_t len)
{
	uint32_t h, i;
	int r;

	if (len != sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	r = volume_of(d, h, &i);
	if (r < 0)
		return r;
	r = blkd_access(d, &d->vol[i], aoki_req_peer(req)->uid, 0);
	if (r < 0)
		return r;
	info_reply(req, &d->vol[i], h, !(h & BLK_HANDLE_RDONLY) &&
		   blkd_access(d, &d->vol[i], aoki_req_peer(req)->uid, 1) == 0);
	return 0;
}

/* The range [offset, offset + length) of @v, for @op. */
static int check_range(const struct blkd_volume *v, const struct blk_io_req *io, uint16_t op)
{
	if (op == BLK_OP_FLUSH)
		return 0;
	if (!io->length)
		return -EINVAL;
	if ((op == BLK_OP_READ || op == BLK_OP_WRITE) && io->length > BLKD_MAX_IO)
		return -EINVAL;
	if (io->offset > v->size || io->length > v->size - io->offset)
		return -ERANGE;
	if (v->direct && (io->offset % v->block_size || io->length % v->block_size))
		return -EINVAL;
	return 0;
}

/* The buffer of a READ (the server writes it) or WRITE (reads it). */
static int resolve_buffer(struct aoki_req *req, const struct blkd_volume *v,
			  const struct blk_io_req *io, struct blkd_io_args *a)
{
	struct aoki_grant_ref ref = { io->grant, io->length, io->grant_offset };
	unsigned rights = a->op == BLK_OP_READ ? AOKI_GRANT_WRITE : AOKI_GRANT_READ;
	void *ptr;
	int r = aoki_req_grant(req, &ref, rights, &ptr);

	if (r < 0)
		return r == -ENOENT ? -EBADF : r;	/* no such grant */
	if (v->direct && (uintptr_t)ptr % v->mem_align)
		return -EINVAL;
	a->buf = ptr;
	return aoki_req_grant_info(req, io->grant, &a->grant);
}

static int op_io(struct blkd *d, struct aoki_req *req, uint16_t op, const void *data,
		 size_t len)
{
	struct blkd_io_args a = { .op = op };
	struct blk_io_req io;
	const struct blkd_volume *v;
	uint32_t index;
	int r, write;

	if (len != sizeof(io))
		return -EINVAL;
	memcpy(&io, data, sizeof(io));
	write = op != BLK_OP_READ && op != BLK_OP_FLUSH;
	r = volume_of(d, io.handle, &index);
	if (r < 0)
		return r;
	v = &d->vol[index];
	if (io.flags & ~(op == BLK_OP_WRITE ? AOKI_BLK_FUA : 0u))
		return -EINVAL;
	if (write && (io.handle & BLK_HANDLE_RDONLY))
		return -EROFS;
	r = blkd_access(d, v, aoki_req_peer(req)->uid, write);
	if (r == 0)
		r = check_range(v, &io, op);
	if (r == 0 && (op == BLK_OP_READ || op == BLK_OP_WRITE))
		r = resolve_buffer(req, v, &io, &a);
	if (r < 0)
		return r;
	a.vol = v;
	a.vol_index = index;
	a.flags = io.flags;
	a.offset = io.offset;
	a.length = io.length;
	return blkd_io_start(req, &a);
}

int blkd_handle(struct aoki_req *req, void *arg)
{
	struct blkd *d = arg;
	size_t len;
	const void *data = aoki_req_data(req, &len);
	uint16_t op = aoki_req_opcode(req);
	int r;

	/* Hosted in an application: a test may ask this handler to fault
	 * (aoki_host_inject_fault); one relaxed load otherwise. */
	if (d->host)
		aoki_host_check_fault(d->host);
	switch (op) {
	case BLK_OP_OPEN:
		r = op_open(d, req, data, len);
		break;
	case BLK_OP_INFO:
		r = op_info(d, req, data, len);
		break;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
	case BLK_OP_FLUSH:
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		r = op_io(d, req, op, data, len);
		break;
	default:
		r = -ENOSYS;
		break;
	}
	/* A late injected fault: the request carried out (its I/O
	 * submitted), not answered. */
	if (d->host)
		aoki_host_check_fault_late(d->host);
	return r;
}
