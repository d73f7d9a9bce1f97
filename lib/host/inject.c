/* SPDX-License-Identifier: MIT */
/*
 * inject.c - the fault-injection test aid: a hosted server's handler
 * faults on purpose, so that tests can prove the recovery (and, with
 * PKU, that a stray access outside the compartment is stopped).
 */
#include <errno.h>
#include <stdlib.h>

#include "host.h"

int aoki_host_inject_fault(struct aoki_host *h, int kind, void *target)
{
	int base = kind & ~AOKI_HOST_FAULT_LATE;

	if (!h || base < AOKI_HOST_FAULT_NULL || base > AOKI_HOST_FAULT_ABORT)
		return -EINVAL;
	atomic_store_explicit(&h->inject_target, target, memory_order_relaxed);
	/* Release: the target is visible to the handler that takes the
	 * kind (acquire exchange below). */
	atomic_store_explicit(&h->inject_kind, kind, memory_order_release);
	return 0;
}

/* Not a constant to the compiler (it would warn, or drop the store). */
static volatile char *volatile garbage = (volatile char *)16;

/* Carry out the pending fault if its timing is @late's. */
static void check_fault(struct aoki_host *h, int late)
{
	volatile char *target;
	int kind;

	if (!h)
		return;
	kind = atomic_load_explicit(&h->inject_kind, memory_order_relaxed);
	if (!kind || !(kind & AOKI_HOST_FAULT_LATE) != !late)
		return;
	/* Acquire: pairs with the release store of the injection (the
	 * target).  Only one handler takes a fault; a new injection in
	 * between makes the exchange fail, and the next check sees it. */
	if (!atomic_compare_exchange_strong_explicit(&h->inject_kind, &kind, 0,
						     memory_order_acquire, memory_order_relaxed))
		return;
	target = atomic_load_explicit(&h->inject_target, memory_order_relaxed);
	switch (kind & ~AOKI_HOST_FAULT_LATE) {
	case AOKI_HOST_FAULT_NULL:
		/* A garbage pointer, as a damaged structure would give
		 * (laundered: the compiler must not see a constant). */
		target = garbage;
		*target = 1;
		break;
	case AOKI_HOST_FAULT_WRITE:
		*target = (char)(*target + 1);
		break;
	case AOKI_HOST_FAULT_READ:
		(void)*target;
		break;
	case AOKI_HOST_FAULT_ABORT:
		abort();
	default:
		break;
	}
}

void aoki_host_check_fault(struct aoki_host *h)
{
	check_fault(h, 0);
}

void aoki_host_check_fault_late(struct aoki_host *h)
{
	check_fault(h, 1);
}
