/* SPDX-License-Identifier: MIT */
/*
 * io_sleep.c - a worker with I/O in flight sleeps in io_uring_enter, so
 * that a completion wakes it; it must also wake when a client rings a
 * doorbell (a futex word in channel memory).  On Linux 6.7+ one
 * IORING_OP_FUTEX_WAITV request in the same ring waits on every doorbell:
 * either kind of event ends the one sleep, and no system call is made
 * while there is work.  The wait is cancelled when the sleep ends: a
 * channel that goes away may leave its address to a new channel's
 * doorbell, which an armed wait (keyed by the old mapping) would never
 * hear.  The cancellation is queued, never waited for: each wait carries
 * a generation in its tag, and the completion of an old one is ignored.
 * (The kernel copies the words when it takes the request, so the array
 * may be refilled at once.)  Older kernels, or one that refuses the
 * request: sleep on the ring in short slices and look at the doorbells
 * between them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "io.h"

#define FUTEX2_SIZE_U32 0x02	/* linux/futex.h, 6.7 */
#define IORING_OP_FUTEX_WAITV_NR 53
#define SLICE_NS 200000	/* without FUTEX_WAITV: look at doorbells this often */

void io_sleep_cqe(struct io_worker *iw, uint64_t tag, int res)
{
	if (tag != IO_TAG_WAIT(iw->futex_gen))
		return;	/* a cancellation, an old wait, a liburing timeout */
	iw->futex_armed = 0;
	/* A kernel that has the opcode but refuses the request would end
	 * every sleep at once: fall back to slices for good. */
	if (res == -EINVAL || res == -EOPNOTSUPP || res == -ENOSYS)
		iw->futex_ok = 0;
}

void io_sleep_disarm(struct io_worker *iw)
{
	struct io_uring_sqe *sqe;

	if (!iw->futex_armed)
		return;
	iw->futex_armed = 0;
	sqe = io_sqe(iw);
	if (!sqe)
		return;	/* it ends at the next doorbell; its CQE is ignored */
	io_uring_prep_cancel64(sqe, IO_TAG_WAIT(iw->futex_gen), 0);
	io_uring_sqe_set_data64(sqe, IO_TAG_CANCEL);
	io_flush(iw);
}

static int arm(struct io_worker *iw, const struct aoki_wait_word *words, unsigned n)
{
	struct io_uring_sqe *sqe = io_sqe(iw);

	if (!sqe)
		return -EBUSY;
	for (unsigned i = 0; i < n; i++)
		iw->wait[i] = (struct io_futex_waitv){
			.val = words[i].expected,
			.uaddr = (uint64_t)(uintptr_t)words[i].word,
			.flags = FUTEX2_SIZE_U32,	/* shared: not FUTEX2_PRIVATE */
		};
	iw->futex_gen++;
	io_uring_prep_rw(IORING_OP_FUTEX_WAITV_NR, sqe, 0, iw->wait, n, 0);
	io_uring_sqe_set_data64(sqe, IO_TAG_WAIT(iw->futex_gen));
	iw->futex_armed = 1;
	return 0;
}

/* After a sleep: if the doorbell wait ended, 1 with its result in *@res
 * (the index of the word that woke it, or -EAGAIN); else 0. */
static int wait_result(struct io_worker *iw, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned head;

	io_uring_for_each_cqe(&iw->ring, head, cqe) {
		if (cqe->user_data == IO_TAG_WAIT(iw->futex_gen)) {
			*res = cqe->res;
			return 1;
		}
	}
	return 0;
}

int io_sleep(void *wctx, const struct aoki_wait_word *words, unsigned n, int64_t timeout_ns)
{
	struct io_worker *iw = wctx;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int r;

	if (!iw->inflight)
		return -ENOSYS;	/* plain futex_waitv: only doorbells matter */
	if (!iw->futex_ok || arm(iw, words, n) < 0)
		timeout_ns = SLICE_NS < timeout_ns ? SLICE_NS : timeout_ns;
	ts.tv_sec = timeout_ns / 1000000000;
	ts.tv_nsec = timeout_ns % 1000000000;
	r = io_uring_submit_and_wait_timeout(&iw->ring, &cqe, 1, &ts, NULL);
	if (r == -ETIME) {
		io_sleep_disarm(iw);
		return -ETIMEDOUT;
	}
	/* The CQEs themselves are handled by the worker's next poll.  A
	 * wait that ended needs no cancelling; else I/O ended the sleep. */
	if (iw->futex_armed && wait_result(iw, &r)) {
		iw->futex_armed = 0;
		return r == -EINVAL || r == -EOPNOTSUPP || r == -ENOSYS ? 0 : r;
	}
	io_sleep_disarm(iw);
	return 0;
}
