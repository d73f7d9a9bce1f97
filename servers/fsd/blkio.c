/* SPDX-License-Identifier: MIT */
/*
 * blkio.c - aoki-fsd as a client of aoki-blkd.  Two connections to the
 * volume: "meta", used synchronously for metadata, the journal and the
 * unaligned edges of data (through a bounce buffer of fsd's own), and
 * "data", used asynchronously for client data.  Client data never enters
 * fsd: the client's grant is passed on to blkd (aoki_req_grant_dup +
 * aoki_blk_import), and blkd moves the bytes between the device and the
 * client's memory.  Imports are cached by grant serial and withdrawn when
 * the client revokes the grant or goes away (worker_ops.grant_gone, which
 * the IPC library calls only once the channel has no deferred request,
 * so no I/O of ours still uses the grant).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fsd.h"

int blkio_open(struct fsd *d)
{
	struct aoki_blk_opts mo = { .queue_depth = 16, .arena_size = FSD_BOUNCE_BYTES };
	struct aoki_blk_opts dop = { .queue_depth = 512, .arena_size = 4096 };
	unsigned flags = d->cfg.read_only ? 0 : AOKI_BLK_RDWR;
	int r;

	/* The fence: writes a crashed predecessor handed blkd land before
	 * this open returns, so none of them overtakes what we do next. */
	r = aoki_blk_open(d->cfg.blk_port, d->cfg.volume, flags | AOKI_BLK_FENCE, &mo, &d->meta);
	if (r < 0)
		return r;
	r = aoki_blk_open(d->cfg.blk_port, d->cfg.volume, flags, &dop, &d->data);
	if (r < 0)
		return r;
	aoki_blk_get_info(d->meta, &d->info);
	d->pend_free = NULL;
	for (unsigned i = 0; i < FSD_MAX_INFLIGHT; i++)
		pending_put(d, &d->pend[i]);
	return 0;
}

void blkio_close(struct fsd *d)
{
	aoki_blk_close(d->data);
	aoki_blk_close(d->meta);
	d->data = d->meta = NULL;
}

/* The bounce buffer, allocated at the first use, once the block size is
 * known (FSD_BOUNCE_BYTES). */
static int bounce(struct fsd *d, void **buf)
{
	if (!d->bounce) {
		int r = aoki_blk_alloc(d->meta, FSD_BOUNCE_BYTES, &d->bounce);

		if (r < 0)
			return r;
	}
	*buf = d->bounce;
	return 0;
}

int blkio_read(struct fsd *d, uint64_t blk, unsigned count, void *buf)
{
	void *b;
	int r = bounce(d, &b);

	while (r == 0 && count) {
		unsigned n = count < FSD_BOUNCE_BYTES / d->bsize ? count : FSD_BOUNCE_BYTES / d->bsize;
		ssize_t got = aoki_blk_pread(d->meta, b, (size_t)n * d->bsize, blk * d->bsize);

		if (got < 0)
			return (int)got;
		if ((size_t)got != (size_t)n * d->bsize)
			return -EIO;
		memcpy(buf, b, (size_t)n * d->bsize);
		buf = (char *)buf + (size_t)n * d->bsize;
		blk += n;
		count -= n;
	}
	return r;
}

int blkio_write(struct fsd *d, uint64_t blk, unsigned count, const void *buf, int fua)
{
	void *b;
	int r = bounce(d, &b);

	while (r == 0 && count) {
		unsigned n = count < FSD_BOUNCE_BYTES / d->bsize ? count : FSD_BOUNCE_BYTES / d->bsize;
		ssize_t put;

		memcpy(b, buf, (size_t)n * d->bsize);
		put = aoki_blk_pwrite(d->meta, b, (size_t)n * d->bsize, blk * d->bsize,
				      fua && n == count ? AOKI_BLK_FUA : 0);
		if (put < 0)
			return (int)put;
		if ((size_t)put != (size_t)n * d->bsize)
			return -EIO;
		buf = (const char *)buf + (size_t)n * d->bsize;
		blk += n;
		count -= n;
	}
	return r;
}

int blkio_flush(struct fsd *d)
{
	return aoki_blk_flush(d->meta);
}

/* ------------------------------------------------------------ imports */

static struct fsd_import *import_slot(struct fsd *d, uint64_t serial, int insert)
{
	unsigned h = (unsigned)(serial * 0x9e3779b97f4a7c15ull >> 52) % FSD_IMPORTS;

	for (unsigned n = 0; n < FSD_IMPORTS; n++, h = (h + 1) % FSD_IMPORTS) {
		struct fsd_import *s = &d->imports[h];

		if (s->serial == serial || (insert && s->serial == 0))
			return s;
		if (s->serial == 0)
			return NULL;
	}
	return NULL;
}

/* Withdraw every import (after draining): blkd's grant table is full. */
static void import_flush(struct fsd *d)
{
	blkio_drain(d, 0);
	for (unsigned i = 0; i < FSD_IMPORTS; i++) {
		if (d->imports[i].serial)
			aoki_blk_unimport(d->data, d->imports[i].id);
		d->imports[i].serial = 0;
	}
}

int blkio_import(struct fsd *d, struct aoki_req *req, uint32_t grant, uint32_t *id)
{
	struct aoki_grant_info gi;
	struct fsd_import *s;
	int fd, r;

	r = aoki_req_grant_info(req, grant, &gi);
	if (r < 0)
		return r;
	s = import_slot(d, gi.serial, 0);
	if (s) {
		*id = s->id;
		return 0;
	}
	fd = aoki_req_grant_dup(req, grant, gi.rights);
	if (fd < 0)
		return fd;
	r = aoki_blk_import(d->data, fd, gi.rights, id);
	if (r == -ENOSPC) {
		import_flush(d);
		r = aoki_blk_import(d->data, fd, gi.rights, id);
	}
	close(fd);
	if (r < 0)
		return r;
	s = import_slot(d, gi.serial, 1);
	if (!s) {
		/* Table full (more live grants than slots): start afresh. */
		aoki_blk_unimport(d->data, *id);
		import_flush(d);
		return blkio_import(d, req, grant, id);
	}
	s->serial = gi.serial;
	s->id = *id;
	return 0;
}

void blkio_grant_gone(struct fsd *d, uint64_t serial)
{
	struct fsd_import *s = import_slot(d, serial, 0);
	unsigned h;

	if (!s)
		return;
	aoki_blk_unimport(d->data, s->id);
	/* Remove from the open-addressed table: re-insert the rest of the
	 * cluster so lookups do not stop at the hole. */
	s->serial = 0;
	h = (unsigned)(s - d->imports);
	for (unsigned n = 1; n < FSD_IMPORTS; n++) {
		struct fsd_import *t = &d->imports[(h + n) % FSD_IMPORTS], tmp = *t;

		if (!t->serial)
			break;
		t->serial = 0;
		*import_slot(d, tmp.serial, 1) = tmp;
	}
}

/* ------------------------------------------------------- asynchronous */

struct fsd_pending *pending_get(struct fsd *d)
{
	struct fsd_pending *p;

	while (!d->pend_free)
		blkio_poll(d, 1);
	p = d->pend_free;
	d->pend_free = p->next;
	memset(p, 0, sizeof(*p));
	p->parts = 1;		/* the submitter's: see blkio_release */
	p->submitting = 1;
	p->reply_off = -1;
	return p;
}

void pending_put(struct fsd *d, struct fsd_pending *p)
{
	p->next = d->pend_free;
	d->pend_free = p;
}

int blkio_submit(struct fsd *d, struct fsd_pending *p, int write, uint32_t import,
		 uint64_t import_off, uint64_t dev_off, uint64_t len)
{
	/* In requests of at most max_io, whole blocks each. */
	uint64_t step = d->info.max_io / d->bsize * d->bsize;

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < step ? len - done : step;
		struct aoki_blk_io io = {
			.op = write ? AOKI_BLK_OP_WRITE : AOKI_BLK_OP_READ,
			.flags = AOKI_BLK_IMPORTED, .len = (uint32_t)n, .offset = dev_off + done,
			.tag = (uint64_t)(p - d->pend), .import = import,
			.import_offset = import_off + done,
		};
		int r;

		while ((r = aoki_blk_submit(d->data, &io, 1)) == 0)
			blkio_poll(d, 1);	/* ring full: make room */
		if (r < 0)
			return r;
		p->parts++;
		d->inflight++;
		if (p->ordered)
			d->ordered_inflight++;
		done += n;
	}
	return 0;
}

static void finish(struct fsd *d, struct fsd_pending *p)
{
	if (p->req) {
		if (p->reply_off >= 0 && p->result >= 0)
			aoki_req_reply(p->req, (int32_t)p->result, &p->reply_off,
				       sizeof(p->reply_off));
		else
			aoki_req_reply(p->req, (int32_t)p->result, NULL, 0);
		aoki_req_complete(p->req);
	}
	pending_put(d, p);
}

/* The data channel is lost (blkd did not come back within the reconnect
 * deadline): every request in flight fails with @err, and no change is
 * committed any more (ordered data may be missing). */
static unsigned fail_inflight(struct fsd *d, int err)
{
	unsigned done = 0;

	d->io_error = 1;
	for (unsigned i = 0; i < FSD_MAX_INFLIGHT; i++) {
		struct fsd_pending *p = &d->pend[i];

		if (!p->parts)
			continue;	/* free */
		p->result = err;
		if (p->submitting) {
			p->parts = 1;	/* its handler releases it */
			continue;
		}
		p->parts = 0;
		done += p->req != NULL;
		finish(d, p);
	}
	d->inflight = d->ordered_inflight = 0;
	return done;
}

void blkio_release(struct fsd *d, struct fsd_pending *p)
{
	p->submitting = 0;
	if (--p->parts == 0)
		finish(d, p);
}

unsigned blkio_poll_wait(struct fsd *d, int64_t timeout_ns)
{
	struct aoki_blk_cqe c[64];
	unsigned done = 0;
	int n;

	if (!d->inflight)
		return 0;
	n = aoki_blk_reap(d->data, c, 64, timeout_ns ? 1 : 0, timeout_ns);
	if (n < 0 && n != -ETIMEDOUT && n != -EINTR)
		return fail_inflight(d, n);
	for (int i = 0; i < n; i++) {
		struct fsd_pending *p;

		if (c[i].tag >= FSD_MAX_INFLIGHT)
			continue;
		p = &d->pend[c[i].tag];
		d->inflight--;
		if (p->ordered)
			d->ordered_inflight--;
		if (c[i].res < 0 && p->result >= 0)
			p->result = c[i].res;
		if (--p->parts == 0) {
			done += p->req != NULL;
			finish(d, p);
		}
	}
	return done;
}

unsigned blkio_poll(struct fsd *d, int wait)
{
	return blkio_poll_wait(d, wait ? -1 : 0);
}

int blkio_drain(struct fsd *d, int ordered_only)
{
	while (ordered_only ? d->ordered_inflight : d->inflight)
		blkio_poll(d, 1);
	return 0;
}
