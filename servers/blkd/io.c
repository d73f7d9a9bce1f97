/* SPDX-License-Identifier: MIT */
/*
 * io.c - each worker owns one io_uring.  A handler queues an SQE for a
 * checked request and defers it; the worker's poll hook submits all that
 * was queued in one io_uring_enter per turn (a batch: requests of every
 * channel served in the turn) and completes the requests whose CQEs have
 * arrived.  Peeking at the CQ is a load, so a busy worker finds
 * completions without a system call.  The volumes are registered files;
 * client grants become registered buffers (io_fixed.c), so the device
 * moves data straight to and from client memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "aoki/host.h"
#include "io.h"
#include "record.h"

int io_flush(struct io_worker *iw)
{
	int r;

	if (!io_uring_sq_ready(&iw->ring))
		return 0;
	r = io_uring_submit(&iw->ring);
	return r < 0 ? r : 0;
}

struct io_uring_sqe *io_sqe(struct io_worker *iw)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&iw->ring);

	if (!sqe && io_flush(iw) == 0)
		sqe = io_uring_get_sqe(&iw->ring);
	return sqe;
}

/* Queue (the rest of) @op's I/O.  Returns 0 or -EBUSY (no SQE). */
static int io_queue(struct io_worker *iw, struct io_op *op)
{
	struct io_uring_sqe *sqe = io_sqe(iw);
	char *buf = op->buf ? op->buf + op->done : NULL;	/* NULL: no data */
	unsigned len = op->length - op->done;
	uint64_t off = op->offset + op->done;

	if (!sqe)
		return -EBUSY;
	switch (op->op) {
	case BLK_OP_READ:
		if (op->fixed >= 0)
			io_uring_prep_read_fixed(sqe, op->file, buf, len, off, op->fixed);
		else
			io_uring_prep_read(sqe, op->file, buf, len, off);
		break;
	case BLK_OP_WRITE:
		if (op->fixed >= 0)
			io_uring_prep_write_fixed(sqe, op->file, buf, len, off, op->fixed);
		else
			io_uring_prep_write(sqe, op->file, buf, len, off);
		/* FUA: the write is durable when it completes. */
		if (op->flags & AOKI_BLK_FUA)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, op->file, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
		/* Files: a hole (reads return zeroes).  Block devices: the
		 * kernel zeroes by discard/unmap, never by writing. */
		io_uring_prep_fallocate(sqe, op->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	case BLK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, op->file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static void inflight_add(struct io_worker *iw, struct io_op *op)
{
	op->seq = ++iw->seq;
	op->inext = NULL;
	op->iprev = iw->newest;
	if (iw->newest)
		iw->newest->inext = op;
	else
		iw->oldest = op;
	iw->newest = op;
}

static void inflight_del(struct io_worker *iw, struct io_op *op)
{
	if (op->iprev)
		op->iprev->inext = op->inext;
	else
		iw->oldest = op->inext;
	if (op->inext)
		op->inext->iprev = op->iprev;
	else
		iw->newest = op->iprev;
}

/* Answer the fences whose older I/O has all completed. */
static unsigned fences_check(struct io_worker *iw)
{
	unsigned done = 0;

	while (iw->fences && (!iw->oldest || iw->oldest->seq > iw->fences->seq)) {
		struct io_fence *f = iw->fences;

		iw->fences = f->next;
		if (!iw->fences)
			iw->fences_tail = NULL;
		aoki_req_reply(f->req, 0, f->rep, f->len);
		aoki_req_complete(f->req);
		blkd_free(iw->d, f);
		done++;
	}
	return done;
}

int blkd_io_fence(struct aoki_req *req, const void *rep, size_t len)
{
	struct io_worker *iw = aoki_req_worker_data(req);
	struct io_fence *f;

	if (!iw->oldest)
		return aoki_req_reply(req, 0, rep, len) ?: 0;
	f = blkd_zalloc(iw->d, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->req = aoki_req_defer(req);
	if (!f->req) {
		blkd_free(iw->d, f);
		return -ENOMEM;
	}
	f->seq = iw->seq;
	memcpy(f->rep, rep, len);
	f->len = len;
	if (iw->fences_tail)
		iw->fences_tail->next = f;
	else
		iw->fences = f;
	iw->fences_tail = f;
	return AOKI_DEFERRED;
}

static void op_free(struct io_worker *iw, struct io_op *op)
{
	op->next = iw->free_ops;
	iw->free_ops = op;
}

/* Add one to a counter only this worker writes: a relaxed load and
 * store, no locked instruction; relaxed because the stats request only
 * wants each value whole, in no order with anything. */
static void count_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Account a finished I/O of kind @op with result @res (bytes, or -errno). */
static void io_count(struct blkd_io_count *c, uint16_t op, int res)
{
	if (res < 0) {
		count_add(&c->errors, 1);
		return;
	}
	switch (op) {
	case BLK_OP_READ:
		count_add(&c->reads, 1);
		count_add(&c->read_bytes, (uint64_t)res);
		break;
	case BLK_OP_WRITE:
		count_add(&c->writes, 1);
		count_add(&c->write_bytes, (uint64_t)res);
		break;
	case BLK_OP_FLUSH:
		count_add(&c->flushes, 1);
		break;
	default:	/* discard, write-zeroes */
		count_add(&c->discards, 1);
		break;
	}
}

/* The kernel finished one step of @op with @res.  Returns 1 if the
 * request is complete (replied), 0 if more was queued. */
static int op_step(struct io_worker *iw, struct io_op *op, int res)
{
	int rw = op->op == BLK_OP_READ || op->op == BLK_OP_WRITE;

	if ((res == -EAGAIN || res == -EINTR) && op->retries < IO_RETRIES) {
		op->retries++;
		if (io_queue(iw, op) == 0)
			return 0;
	} else if (rw && res > 0 && op->done + (unsigned)res < op->length) {
		/* A short transfer (buffered I/O, signals): the rest. */
		op->done += (unsigned)res;
		if (io_queue(iw, op) == 0)
			return 0;
		res = -EIO;
	} else if (rw && res == 0) {
		res = -EIO;	/* end of file inside the volume: it shrank */
	}
	if (res == -EAGAIN || res == -EINTR)
		res = -EIO;	/* retried enough; and the client's -EAGAIN means "ring full" */
	if (res >= 0)
		res = rw ? (int)op->length : 0;
	/* --record: logged before the reply, so a client that saw the
	 * reply finds the I/O in the log. */
	if (res >= 0 && op->op != BLK_OP_READ && blkd_record_enabled())
		blkd_record_io((unsigned)op->file, op->op, op->flags, op->offset, op->length,
			       op->buf);
	io_count(iw->count, op->op, res);
	aoki_req_reply(op->req, res, NULL, 0);
	aoki_req_complete(op->req);
	io_fixed_put(iw, op->fixed);
	inflight_del(iw, op);
	op_free(iw, op);
	iw->inflight--;
	return 1;
}

unsigned io_reap(struct io_worker *iw)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, done = 0;

	io_uring_for_each_cqe(&iw->ring, head, cqe) {
		seen++;
		if (cqe->user_data & IO_TAG_INTERNAL)
			io_sleep_cqe(iw, cqe->user_data, cqe->res);
		else
			done += (unsigned)op_step(iw, io_uring_cqe_get_data(cqe), cqe->res);
	}
	io_uring_cq_advance(&iw->ring, seen);
	return done;
}

/* worker_ops.poll: submit the turn's batch, complete what finished. */
static unsigned io_poll(void *wctx)
{
	struct io_worker *iw = wctx;
	unsigned done;

	if (!iw->inflight)
		return fences_check(iw);
	io_flush(iw);
	done = io_reap(iw);
	io_flush(iw);	/* resubmissions */
	return done + fences_check(iw);
}

int blkd_io_start(struct aoki_req *req, const struct blkd_io_args *a)
{
	struct io_worker *iw = aoki_req_worker_data(req);
	struct io_op *op = iw->free_ops;

	if (op)
		iw->free_ops = op->next;
	else if (!(op = blkd_zalloc(iw->d, sizeof(*op))))
		return -ENOMEM;
	memset(op, 0, sizeof(*op));
	op->op = a->op;
	op->flags = a->flags;
	op->file = (int)a->vol_index;
	op->offset = a->offset;
	op->length = a->length;
	op->buf = a->buf;
	op->fixed = a->buf ? io_fixed_get(iw, &a->grant) : -1;
	op->req = aoki_req_defer(req);
	if (!op->req || io_queue(iw, op) < 0) {
		/* Decided before op_free: a freed op is the free list's. */
		int deferred = op->req != NULL;

		if (deferred) {	/* no SQE: the kernel refused to take the queue */
			aoki_req_reply(op->req, -EBUSY, NULL, 0);
			aoki_req_complete(op->req);
		}
		io_fixed_put(iw, op->fixed);
		op_free(iw, op);
		return deferred ? AOKI_DEFERRED : -ENOMEM;
	}
	inflight_add(iw, op);
	iw->inflight++;
	return AOKI_DEFERRED;
}

/*
 * A hosted blkd keeps its ring's mappings (the SQ ring, the CQ ring when
 * not the same mapping, the SQEs) under its compartment's key, like its
 * heap: the application cannot forge requests nor read completions.  Only
 * blkd's own code, inside the compartment, touches them; the kernel
 * reaches the rings through its own mapping.  @on: place, else give them
 * back (before io_uring_queue_exit() unmaps them).  0 or -errno.
 */
static int ring_keyed(struct io_worker *iw, int on)
{
	struct io_uring *ring = &iw->ring;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *addr[3] = { ring->sq.ring_ptr, ring->sq.sqes, ring->cq.ring_ptr };
	size_t len[3] = { ring->sq.ring_sz, ring->sq.ring_entries * sizeof(struct io_uring_sqe),
			  ring->cq.ring_sz };
	int n = ring->cq.ring_ptr == ring->sq.ring_ptr ? 2 : 3, r = 0;

	if (!iw->d->host)
		return 0;
	for (int i = 0; i < n; i++)
		len[i] = (len[i] + page - 1) & ~(page - 1);	/* whole pages mapped */
	for (int i = 0; i < n; i++) {
		int e = on ? aoki_host_place(iw->d->host, addr[i], len[i])
			   : aoki_host_unplace(iw->d->host, addr[i], len[i]);

		if (e < 0 && !r)
			r = e;
		if (e < 0 && on) {
			while (i-- > 0)
				aoki_host_unplace(iw->d->host, addr[i], len[i]);
			break;
		}
	}
	return r;
}

/* worker_ops.start: the worker's ring, with the volumes registered. */
static int io_start(void *arg, unsigned worker, void **wctx)
{
	const struct blkd *d = arg;
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = IO_CQ_ENTRIES };
	struct io_worker *iw = blkd_zalloc(d, sizeof(*iw));
	struct io_uring_probe *probe;
	int fds[BLKD_MAX_VOLUMES], r;

	if (!iw)
		return -ENOMEM;
	iw->d = d;
	/* The counters live in the (non-const) struct blkd the server was
	 * given as worker_arg; worker < cfg.workers <= BLKD_MAX_WORKERS. */
	iw->count = &((struct blkd *)arg)->count[worker % BLKD_MAX_WORKERS];
	r = io_uring_queue_init_params(IO_SQ_ENTRIES, &iw->ring, &p);
	if (r < 0) {
		fprintf(stderr, "aoki-blkd: io_uring_setup: %s\n", strerror(-r));
		blkd_free(d, iw);
		return r;
	}
	r = ring_keyed(iw, 1);
	if (r < 0) {
		fprintf(stderr, "aoki-blkd: the ring under the compartment's key: %s\n",
			strerror(-r));
		io_uring_queue_exit(&iw->ring);
		blkd_free(d, iw);
		return r;
	}
	for (unsigned i = 0; i < d->nvol; i++)
		fds[i] = d->vol[i].fd;
	r = io_uring_register_files(&iw->ring, fds, d->nvol);
	if (r < 0) {
		fprintf(stderr, "aoki-blkd: io_uring_register_files: %s\n", strerror(-r));
		ring_keyed(iw, 0);
		io_uring_queue_exit(&iw->ring);
		blkd_free(d, iw);
		return r;
	}
	io_fixed_init(iw);
	/* IORING_OP_FUTEX_WAITV is 53 (Linux 6.7); older headers lack it. */
	probe = io_uring_get_probe_ring(&iw->ring);
	iw->futex_ok = probe && io_uring_opcode_supported(probe, 53);
	if (probe)
		io_uring_free_probe(probe);
	*wctx = iw;
	return 0;
}

/* worker_ops.stop: wait for every I/O in flight, then free the ring. */
static void io_stop(void *wctx)
{
	struct io_worker *iw = wctx;
	struct io_uring_cqe *cqe;

	io_sleep_disarm(iw);
	io_flush(iw);
	while (iw->inflight) {
		if (io_uring_wait_cqe(&iw->ring, &cqe) < 0)
			break;
		io_reap(iw);
		io_flush(iw);
	}
	ring_keyed(iw, 0);
	io_uring_queue_exit(&iw->ring);
	while (iw->free_ops) {
		struct io_op *op = iw->free_ops;

		iw->free_ops = op->next;
		blkd_free(iw->d, op);
	}
	blkd_free(iw->d, iw->residency);
	blkd_free(iw->d, iw);
}

const struct aoki_worker_ops blkd_io_ops = {
	.start = io_start,
	.poll = io_poll,
	.sleep = io_sleep,
	.grant_gone = io_fixed_gone,
	.stop = io_stop,
};
