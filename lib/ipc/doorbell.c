/* SPDX-License-Identifier: MIT */
/* doorbell.c - the client's side of the server's sleep protocol (see
 * ring.h ring_doorbell and worker.c worker_sleep). */
#include "ring.h"
#include "sys.h"

int ring_doorbell(void *mem)
{
	struct chan_hdr *h = mem;

	/* Store-load ordering (Dekker) with the server's sleep protocol
	 * (worker.c worker_sleep): it stores srv_sleeping = 1, fences, then
	 * rechecks the rings; we stored QUEUED, fence, then check
	 * srv_sleeping.  At least one of us sees the other's store, so a
	 * request is never left unseen while the server sleeps.  (A function
	 * of its own, not inline: GCC refuses atomic_thread_fence inlined
	 * into ThreadSanitizer builds.) */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&h->srv_sleeping, memory_order_relaxed)) {
		atomic_store_explicit(&h->srv_sleeping, 0, memory_order_relaxed);
		futex_wake_shared(&h->srv_sleeping, 1);
		return 1;
	}
	return 0;
}
