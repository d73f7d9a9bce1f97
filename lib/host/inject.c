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
	if (kind < AOKI_HOST_FAULT_NULL || kind > AOKI_HOST_FAULT_ABORT)
		return -EINVAL;
	atomic_store_explicit(&h->inject_target, target, memory_order_relaxed);
	/* Release: the target is visible to the handler that takes the
	 * kind (acquire exchange below). */
	atomic_store_explicit(&h->inject_kind, kind, memory_order_release);
	return 0;
}

/* Not a constant to the compiler (it would warn, or drop the store). */
static volatile char *volatile garbage = (volatile char *)16;

void aoki_host_check_fault(struct aoki_host *h)
{
	volatile char *target;
	int kind;

	if (!h || !atomic_load_explicit(&h->inject_kind, memory_order_relaxed))
		return;
	kind = atomic_exchange_explicit(&h->inject_kind, 0, memory_order_acquire);
	target = atomic_load_explicit(&h->inject_target, memory_order_relaxed);
	switch (kind) {
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
