/* SPDX-License-Identifier: MIT */
/*
 * io_fixed.c - client grants as io_uring registered ("fixed") buffers.
 * Registering pins a grant's pages once; each I/O into it then skips the
 * per-I/O page pinning and lookup.  The table is a sparse one of
 * IO_FIXED_SLOTS entries, direct-mapped by the grant's serial number
 * (unique for the server's life, so a stale entry can never be taken for
 * a new grant).  A grant is registered on its first I/O if it qualifies
 * (io.h, IO_FIXED_MAX): a client cannot make the server allocate or pin
 * memory it has not touched itself.
 *
 * Safety rule: a slot is never changed while an I/O that names it may be
 * unsubmitted.  A colliding grant whose slot is busy uses plain I/O
 * instead (the kernel pins its pages per I/O: still no copy); a grant
 * that goes away has the queue submitted first, and the kernel keeps the
 * old buffer alive until I/Os already issued on it finish.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

void io_fixed_init(struct io_worker *iw)
{
	int r = io_uring_register_buffers_sparse(&iw->ring, IO_FIXED_SLOTS);

	iw->residency = blkd_zalloc(iw->d, IO_FIXED_MAX / 4096);
	iw->fixed_ok = r == 0 && iw->residency;
	if (r < 0)
		fprintf(stderr, "aoki-blkd: registered buffers unavailable (%s): "
			"using plain I/O (no copy either, but pages are pinned per I/O)\n",
			strerror(-r));
}

/* Point slot @idx at @iov (NULL: empty it).  0 or -errno. */
static int slot_set(struct io_worker *iw, unsigned idx, const struct iovec *iov)
{
	static const struct iovec none = { 0 };
	/* Returns how many slots it updated: 1 on success. */
	int r = io_uring_register_buffers_update_tag(&iw->ring, idx, iov ? iov : &none, NULL, 1);

	return r < 0 ? r : r == 1 ? 0 : -EIO;
}

/* Is every page of @g in memory already (the client touched it)? */
static int resident(struct io_worker *iw, const struct aoki_grant_info *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (g->size + page - 1) / page;

	if (n > IO_FIXED_MAX / 4096 || mincore(g->base, g->size, iw->residency) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(iw->residency[i] & 1))
			return 0;
	return 1;
}

/* May @g be registered now (io.h, IO_FIXED_MAX)? */
static int qualifies(struct io_worker *iw, const struct aoki_grant_info *g)
{
	/* The kernel pins for writing: the mapping must be writable. */
	return g->size <= IO_FIXED_MAX && iw->fixed_bytes + g->size <= IO_FIXED_TOTAL &&
	       (g->rights & AOKI_GRANT_WRITE) && resident(iw, g);
}

/* Register @g in slot @idx, emptying it first of another grant. */
static void take_slot(struct io_worker *iw, unsigned idx, const struct aoki_grant_info *g)
{
	struct io_fixed *f = &iw->fixed[idx];
	struct iovec iov = { g->base, g->size };
	int r;

	if (f->registered) {	/* another live grant, idle: evict it */
		slot_set(iw, idx, NULL);
		iw->fixed_bytes -= f->size;
	}
	f->serial = g->serial;
	f->uses = 0;
	r = slot_set(iw, idx, &iov);
	f->registered = r == 0;
	if (r < 0 && !iw->fixed_warned++)
		fprintf(stderr, "aoki-blkd: registering a grant as a fixed buffer: %s; "
			"plain I/O for it\n", strerror(-r));
	if (f->registered) {
		f->size = g->size;
		iw->fixed_bytes += g->size;
	}
}

int io_fixed_get(struct io_worker *iw, const struct aoki_grant_info *g)
{
	unsigned idx = (unsigned)(g->serial % IO_FIXED_SLOTS);
	struct io_fixed *f = &iw->fixed[idx];

	if (!iw->fixed_ok)
		return -1;
	if (f->serial != g->serial) {
		/* Never change a slot with I/O in flight, nor give a
		 * registered grant's slot to one that cannot use it. */
		if (f->busy || (f->registered && !qualifies(iw, g)))
			return -1;
		if (f->registered || qualifies(iw, g)) {
			take_slot(iw, idx, g);
		} else {	/* claim it unregistered; looked at again later */
			f->serial = g->serial;
			f->uses = 0;
		}
	} else if (!f->registered && ++f->uses % IO_FIXED_RECHECK == 0 && !f->busy &&
		   qualifies(iw, g)) {
		take_slot(iw, idx, g);
	}
	if (!f->registered)
		return -1;
	f->busy++;
	return (int)idx;
}

void io_fixed_put(struct io_worker *iw, int idx)
{
	if (idx >= 0)
		iw->fixed[idx].busy--;
}

void io_fixed_gone(void *wctx, uint64_t serial)
{
	struct io_worker *iw = wctx;
	unsigned idx = (unsigned)(serial % IO_FIXED_SLOTS);
	struct io_fixed *f = &iw->fixed[idx];

	if (!iw->fixed_ok || f->serial != serial)
		return;
	/* Queued SQEs naming the buffer must reach the kernel (which takes
	 * its own reference at submission) before the slot is emptied. */
	io_flush(iw);
	if (f->registered) {
		slot_set(iw, idx, NULL);
		iw->fixed_bytes -= f->size;
	}
	f->serial = 0;
	f->registered = 0;
}
