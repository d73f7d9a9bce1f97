/* SPDX-License-Identifier: MIT */
/*
 * fsd_memblk.c - the blkio seam of aoki-fsd over memory (fsd_memblk.h).
 * Replaces servers/fsd/blkio.c at link time: same functions, same
 * contracts for metadata I/O (whole file-system blocks, -EIO past the
 * end), an injectable I/O failure, and no data path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "../servers/fsd/fsd.h"
#include "fsd_memblk.h"

struct memblk memblk;

void memblk_restore(const uint8_t *base)
{
	for (size_t c = 0; c < memblk.size / MEMBLK_TRACK; c++) {
		if (memblk.written[c]) {
			memcpy(memblk.img + c * MEMBLK_TRACK, base + c * MEMBLK_TRACK,
			       MEMBLK_TRACK);
			memblk.written[c] = 0;
		}
	}
	memblk.ios = 0;
}

/* Bytes [@off, @off + @len) are on the volume and this I/O may run. */
static int io_ok(uint64_t off, uint64_t len)
{
	if (off > memblk.size || len > memblk.size - off)
		return -EIO;
	if (memblk.fail_at && ++memblk.ios == memblk.fail_at)
		return -EIO;
	return 0;
}

int blkio_open(struct fsd *d)
{
	d->info = (struct aoki_blk_info){
		.size = memblk.size, .block_size = MEMBLK_SECTOR, .mem_align = MEMBLK_SECTOR,
		.max_io = 1u << 20, .flags = d->cfg.read_only ? AOKI_BLK_INFO_READONLY : 0,
	};
	d->pend_free = NULL;
	for (unsigned i = 0; i < FSD_MAX_INFLIGHT; i++)
		pending_put(d, &d->pend[i]);
	return memblk.img ? 0 : -ENOENT;
}

void blkio_close(struct fsd *d)
{
}

int blkio_read(struct fsd *d, uint64_t blk, unsigned count, void *buf)
{
	uint64_t off = blk * d->bsize, len = (uint64_t)count * d->bsize;
	int r = blk > UINT64_MAX / d->bsize ? -EIO : io_ok(off, len);

	if (r == 0)
		memcpy(buf, memblk.img + off, len);
	return r;
}

int blkio_write(struct fsd *d, uint64_t blk, unsigned count, const void *buf, int fua)
{
	uint64_t off = blk * d->bsize, len = (uint64_t)count * d->bsize;
	int r = blk > UINT64_MAX / d->bsize ? -EIO : io_ok(off, len);

	if (r < 0)
		return r;
	if (d->cfg.read_only)
		return -EROFS;
	memcpy(memblk.img + off, buf, len);
	for (uint64_t c = off / MEMBLK_TRACK; c * MEMBLK_TRACK < off + len; c++)
		memblk.written[c] = 1;
	return 0;
}

int blkio_flush(struct fsd *d)
{
	return io_ok(0, 0);
}

/* The data path needs a client's grant: there is none here. */
int blkio_import(struct fsd *d, struct aoki_req *req, uint32_t grant, uint32_t *id)
{
	return -EOPNOTSUPP;
}

void blkio_grant_gone(struct fsd *d, uint64_t serial)
{
}

int blkio_submit(struct fsd *d, struct fsd_pending *p, int write, uint32_t import,
		 uint64_t import_off, uint64_t dev_off, uint64_t len)
{
	return -EOPNOTSUPP;
}

unsigned blkio_poll_wait(struct fsd *d, int64_t timeout_ns)
{
	return 0;
}

unsigned blkio_poll(struct fsd *d, int wait)
{
	return 0;
}

void blkio_release(struct fsd *d, struct fsd_pending *p)
{
	if (--p->parts == 0)
		pending_put(d, p);
}

int blkio_drain(struct fsd *d, int ordered_only)
{
	return 0;
}

struct fsd_pending *pending_get(struct fsd *d)
{
	struct fsd_pending *p = d->pend_free;

	if (!p)
		__builtin_trap();	/* nothing completes asynchronously here */
	d->pend_free = p->next;
	memset(p, 0, sizeof(*p));
	p->parts = 1;
	p->reply_off = -1;
	return p;
}

void pending_put(struct fsd *d, struct fsd_pending *p)
{
	p->next = d->pend_free;
	d->pend_free = p;
}
