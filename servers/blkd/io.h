/* SPDX-License-Identifier: MIT */
/* io.h - one worker's io_uring (private to io*.c). */
#ifndef AOKI_BLKD_IO_H
#define AOKI_BLKD_IO_H

#include <liburing.h>
#include <stdint.h>

#include "blkd.h"

#define IO_SQ_ENTRIES 256
#define IO_CQ_ENTRIES 1024
#define IO_FIXED_SLOTS 1024	/* registered-buffer table size */
/* Registering pins every page of a grant at once, where plain I/O pins
 * only the pages of each request.  So a grant is registered only if every
 * page of it is already resident (the client populated it: pinning then
 * allocates nothing), it is at most IO_FIXED_MAX, and the worker holds at
 * most IO_FIXED_TOTAL registered.  The rest use plain I/O, and are looked
 * at again every IO_FIXED_RECHECK I/Os. */
#define IO_FIXED_MAX (64ull << 20)
#define IO_FIXED_TOTAL (1ull << 30)
#define IO_FIXED_RECHECK 256
/* user_data with the low bit set is not an io_op (those are aligned
 * pointers): the doorbell waits, (generation << 2) | 1, their
 * cancellations, 3, and liburing's own timeouts on kernels without
 * IORING_FEAT_EXT_ARG (all ones). */
#define IO_TAG_INTERNAL 1ull
#define IO_TAG_CANCEL 3ull
#define IO_TAG_WAIT(gen) (((uint64_t)(gen) << 2) | 1)
#define IO_RETRIES 8		/* -EAGAIN/-EINTR resubmissions of one I/O */

/* The kernel's struct futex_waitv (linux/futex.h, 5.16+). */
struct io_futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* One registered-buffer slot, keyed by grant serial. */
struct io_fixed {
	uint64_t serial;	/* 0: empty */
	int registered;		/* 0: not registered, use plain I/O */
	uint64_t size;		/* bytes registered */
	unsigned uses;		/* I/Os since the last look (unregistered) */
	unsigned busy;		/* I/Os in flight that use it */
};

/* One I/O in flight. */
struct io_op {
	struct aoki_req *req;	/* deferred; completed when the I/O is */
	uint16_t op;
	uint16_t retries;
	uint32_t flags;
	int file;		/* fixed-file index (the volume's) */
	int fixed;		/* registered-buffer index, or -1 */
	uint64_t offset;
	uint32_t length, done;
	char *buf;
	struct io_op *next;	/* free list */
	uint64_t seq;		/* start order on this worker */
	struct io_op *iprev, *inext;	/* in flight, oldest first */
};

/* An OPEN with BLK_OPEN_FENCE waiting for older I/O. */
struct io_fence {
	struct aoki_req *req;	/* deferred */
	uint64_t seq;		/* done when no op of seq <= this is in flight */
	uint8_t rep[AOKI_MSG_PAYLOAD];
	size_t len;
	struct io_fence *next;
};

struct io_worker {
	struct io_uring ring;
	const struct blkd *d;
	struct blkd_io_count *count;	/* this worker's, in struct blkd */
	unsigned inflight;	/* I/Os submitted or queued, not completed */
	uint64_t seq;		/* of the last op started */
	struct io_op *oldest, *newest;	/* in flight, by start */
	struct io_fence *fences;	/* waiting, oldest first */
	struct io_fence *fences_tail;
	struct io_op *free_ops;
	int fixed_ok;		/* a sparse buffer table is registered */
	uint64_t fixed_bytes;	/* registered now, <= IO_FIXED_TOTAL */
	unsigned char *residency;	/* mincore(2) vector, IO_FIXED_MAX pages */
	int fixed_warned;
	struct io_fixed fixed[IO_FIXED_SLOTS];
	int futex_ok;		/* IORING_OP_FUTEX_WAITV works (6.7+) */
	int futex_armed;	/* the wait of generation futex_gen is in the ring */
	uint32_t futex_gen;	/* of the latest doorbell wait */
	struct io_futex_waitv wait[128];	/* the armed wait's words */
};

/* io.c: submit what is queued; returns 0 or -errno. */
int io_flush(struct io_worker *iw);
/* io.c: a free SQE, submitting the queue first if it is full; NULL only
 * if the kernel refuses the submission. */
struct io_uring_sqe *io_sqe(struct io_worker *iw);
/* io.c: handle every completion in the ring; returns requests completed. */
unsigned io_reap(struct io_worker *iw);

/* io_fixed.c: the registered-buffer index for an I/O into @g, marked
 * busy, or -1 (plain I/O: unregistrable or slot busy). */
int io_fixed_get(struct io_worker *iw, const struct aoki_grant_info *g);
/* io_fixed.c: the I/O using index @idx (>= 0) is done. */
void io_fixed_put(struct io_worker *iw, int idx);
/* io_fixed.c: set up the sparse table (failure: plain I/O only). */
void io_fixed_init(struct io_worker *iw);
/* io_fixed.c: worker_ops.grant_gone. */
void io_fixed_gone(void *wctx, uint64_t serial);

/* io_sleep.c: worker_ops.sleep. */
int io_sleep(void *wctx, const struct aoki_wait_word *words, unsigned n, int64_t timeout_ns);
/* io_sleep.c: a CQE with an internal tag (IO_TAG_INTERNAL set) came with
 * result @res. */
void io_sleep_cqe(struct io_worker *iw, uint64_t tag, int res);
/* io_sleep.c: have the kernel cancel the doorbell wait, if one is armed
 * (after a sleep, at stop).  Never waits. */
void io_sleep_disarm(struct io_worker *iw);

#endif
