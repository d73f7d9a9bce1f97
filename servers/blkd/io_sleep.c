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
 * hear.  The cancellation costs one io_uring_enter, only on the path that
 * slept anyway.  Older kernels: sleep on the ring in short slices and
 * look at the doorbells between them.
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
	if (tag != IO_FUTEX_TAG) {
		iw->cancel_pending = 0;
		return;
	}
	iw->futex_armed = 0;
	/* A kernel that has the opcode but refuses the request would end
	 * every sleep at once: fall back to slices for good. */
	if (res == -EINVAL || res == -EOPNOTSUPP || res == -ENOSYS)
		iw->futex_ok = 0;
}

void io_sleep_disarm(struct io_worker *iw)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	if (iw->futex_armed)
		io_reap(iw);	/* a doorbell may have ended it already */
	if (!iw->futex_armed)
		return;
	sqe = io_sqe(iw);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, IO_FUTEX_TAG, 0);
	io_uring_sqe_set_data64(sqe, IO_CANCEL_TAG);
	iw->cancel_pending = 1;
	io_flush(iw);
	/* The words stay in use until the wait's CQE: wait for it, and
	 * complete whatever I/O finishes meanwhile. */
	while (iw->futex_armed || iw->cancel_pending) {
		if (io_uring_wait_cqe(&iw->ring, &cqe) < 0)
			break;
		io_reap(iw);
	}
}

static int arm(struct io_worker *iw, const struct aoki_wait_word *words, unsigned n)
{
	struct io_uring_sqe *sqe;

	for (unsigned i = 0; i < n; i++)
		iw->wait[i] = (struct io_futex_waitv){
			.val = words[i].expected,
			.uaddr = (uint64_t)(uintptr_t)words[i].word,
			.flags = FUTEX2_SIZE_U32,	/* shared: not FUTEX2_PRIVATE */
		};
	sqe = io_sqe(iw);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_FUTEX_WAITV_NR, sqe, 0, iw->wait, n, 0);
	io_uring_sqe_set_data64(sqe, IO_FUTEX_TAG);
	iw->futex_armed = 1;
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
	io_sleep_disarm(iw);
	/* I/O completions are handled by the worker's next poll (or were, by
	 * the disarm): report them as own work. */
	return r == -ETIME ? -ETIMEDOUT : 0;
}
