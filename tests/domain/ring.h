/* SPDX-License-Identifier: MIT */
/*
 * ring.h - a one-request-at-a-time io_uring on raw system calls, for the
 * compartment tests that need io-wq workers (pku-uring.c, pku-revoke.c):
 * the static test binaries have no liburing.
 */
#ifndef AOKI_DTEST_RING_H
#define AOKI_DTEST_RING_H

#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dtest.h"

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

/* Returns 0, or -1 with errno set (EPERM: refused by the filter). */
static inline int ring_init(struct ring *r)
{
	struct io_uring_params p;
	uint8_t *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	CHECK(sq != MAP_FAILED && cq != MAP_FAILED && r->sqes != MAP_FAILED);
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one request and wait for its completion; returns its result. */
static inline int ring_do(struct ring *r, uint8_t op, uint8_t flags, int fd, const void *addr,
		   unsigned len, unsigned advice)
{
	unsigned t = *r->sq_tail, i = t & *r->sq_mask, h;
	struct io_uring_sqe *e = &r->sqes[i];
	int res;

	memset(e, 0, sizeof(*e));
	e->opcode = op;
	e->flags = flags;
	e->fd = fd;
	e->addr = (uintptr_t)addr;
	e->len = len;
	e->fadvise_advice = advice;
	e->off = op == IORING_OP_MADVISE ? 0 : (uint64_t)-1;	/* madvise: must be 0 */
	r->sq_array[i] = i;
	/* Release: the kernel reads the entry after it sees the new tail. */
	atomic_store_explicit((_Atomic unsigned *)r->sq_tail, t + 1, memory_order_release);
	CHECK_EQ(syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0), 1);
	/* Acquire: pairs with the kernel's release of the CQ tail. */
	h = *r->cq_head;
	CHECK(atomic_load_explicit((_Atomic unsigned *)r->cq_tail, memory_order_acquire) != h);
	res = r->cqes[h & *r->cq_mask].res;
	atomic_store_explicit((_Atomic unsigned *)r->cq_head, h + 1, memory_order_release);
	return res;
}

#endif
