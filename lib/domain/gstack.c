/* SPDX-License-Identifier: MIT */
/*
 * gstack.c - the gates' protected frame stacks (PKU mode).
 *
 * A gate keeps the caller's PKRU and stack pointer in a page of its
 * thread's own, tagged with the frame key dom_rt.gkey: a key allocated at
 * init that no compartment's PKRU grants and that threads outside the
 * gates do not hold, so neither a callee nor any other code running with
 * ordinary rights can read or forge a frame (gate.S explains the checks).
 *
 * The pages come from one region of DOM_GSTACK_MAX pages inside the
 * compartment arena (so the hardening filter refuses mprotect, munmap,
 * mmap(MAP_FIXED), madvise on them), reserved PROT_NONE; the gates accept
 * a frame-stack pointer only inside it.  Its bounds, the arena's (a gate
 * switches only to a stack top inside the arena), the frame PKRU and the
 * key's AD bit are written into the read-only table page at init.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "internal.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

_Static_assert(sizeof(struct dom_gstack) == 4096, "one page per frame stack");
_Static_assert(offsetof(struct dom_gstack, depth) == 8, "gate.S G_DEPTH");
_Static_assert(offsetof(struct dom_gstack, fsbase) == 16, "gate.S G_FSBASE");
_Static_assert(offsetof(struct dom_gstack, frames) == 64, "gate.S G_FRAMES");
_Static_assert(sizeof(struct dom_gframe) == 32, "gate.S GF_SHIFT");
_Static_assert(offsetof(struct dom_gframe, caller_rsp) == 8, "gate.S GF_RSP");
_Static_assert(offsetof(struct dom_frame, caller_rsp) == 8, "gate.S F_RSP");
_Static_assert(offsetof(struct dom_frame, caller_pkru) == 32, "gate.S F_PKRU");
_Static_assert(DOM_MAX_DEPTH == 32, "gate.S G_MAXDEPTH");
_Static_assert(DOM_RO_ARENA_LO * 4 == 4048 && DOM_RO_ARENA_HI * 4 == 4056 &&
	       DOM_RO_BLK_LO * 4 == 4064 && DOM_RO_BLK_HI * 4 == 4072 &&
	       DOM_RO_GOPEN * 4 == 4080 && DOM_RO_GAD * 4 == 4084, "gate.S RO_* offsets");
_Static_assert(AOKI_DOMAIN_MAX == 64, "gate.S AOKI_GATE_SLOTS");
_Static_assert(DOM_RO_GAD < DOM_TABLE_LEN && DOM_RO_BLK_LO >= AOKI_DOMAIN_MAX &&
	       DOM_RO_ARENA_LO >= AOKI_DOMAIN_MAX && DOM_RO_ARENA_LO % 2 == 0 &&
	       DOM_RO_ARENA_HI % 2 == 0 && DOM_RO_BLK_LO % 2 == 0 && DOM_RO_BLK_HI % 2 == 0,
	       "table page layout");

static uint8_t *region;			/* DOM_GSTACK_MAX pages */
static uint64_t used[DOM_GSTACK_MAX / 64];
static pthread_mutex_t gs_lock = PTHREAD_MUTEX_INITIALIZER;
static bool check_fs;			/* rdfsbase usable (kernel FSGSBASE) */

/*
 * Allocates the frame key and reserves the region; fills the table
 * page's gate slots.  Called by aoki_domain_init() in PKU mode, with
 * dom_rt.lock held and the table page still writable.  Returns 0 or
 * -errno (-ENOSPC: no key left, -ENOMEM: no address space).
 */
int dom_gstack_init(void)
{
	size_t len = (size_t)DOM_GSTACK_MAX * 4096;
	uintptr_t alo, ahi;
	uint64_t lo, hi;
	int k;

	/* PKEY_DISABLE_ACCESS: the initialising thread gets no rights on
	 * it either; other threads start with every non-zero key denied. */
	k = dom_pkey_alloc(PKEY_DISABLE_ACCESS);
	if (k < 0)
		return k;
	region = dom_arena_get(len);
	if (!region) {
		dom_pkey_free(k);
		return -ENOMEM;
	}
	dom_rt.gkey = k;
	check_fs = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
	dom_arena_range(&alo, &ahi);
	aoki__pkru_table[DOM_RO_ARENA_LO] = (uint32_t)alo;
	aoki__pkru_table[DOM_RO_ARENA_LO + 1] = (uint32_t)((uint64_t)alo >> 32);
	aoki__pkru_table[DOM_RO_ARENA_HI] = (uint32_t)ahi;
	aoki__pkru_table[DOM_RO_ARENA_HI + 1] = (uint32_t)((uint64_t)ahi >> 32);
	lo = (uint64_t)(uintptr_t)region;
	hi = lo + len;
	aoki__pkru_table[DOM_RO_BLK_LO] = (uint32_t)lo;
	aoki__pkru_table[DOM_RO_BLK_LO + 1] = (uint32_t)(lo >> 32);
	aoki__pkru_table[DOM_RO_BLK_HI] = (uint32_t)hi;
	aoki__pkru_table[DOM_RO_BLK_HI + 1] = (uint32_t)(hi >> 32);
	aoki__pkru_table[DOM_RO_GOPEN] = PKRU_ALL_DENIED & ~(PKRU_AD(k) | PKRU_WD(k));
	aoki__pkru_table[DOM_RO_GAD] = PKRU_AD(k);
	return 0;
}

/*
 * Gives the calling thread a frame stack: a page of the region tagged
 * with the frame key, its header written with the key opened for these
 * few stores only.  Returns 0, -ENOMEM (region full) or the -errno of
 * pkey_mprotect.  Not async-signal-safe (takes a mutex).
 */
int dom_gstack_thread(void)
{
	struct dom_gstack *g = NULL;
	uint64_t fs = 0;
	int r;

	if (dom_tls.gstack)
		return 0;
	pthread_mutex_lock(&gs_lock);
	for (unsigned w = 0; w < DOM_GSTACK_MAX / 64 && !g; w++) {
		if (used[w] == ~0ull)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(~used[w]);

		used[w] |= 1ull << b;
		g = (struct dom_gstack *)(region + (size_t)(w * 64 + b) * 4096);
	}
	pthread_mutex_unlock(&gs_lock);
	if (!g)
		return -ENOMEM;
	r = dom_pkey_mprotect(g, 4096, PROT_READ | PROT_WRITE, dom_rt.gkey);
	if (r < 0) {
		dom_tls.gstack = g;	/* give the slot back */
		dom_gstack_release();
		return r;
	}
	if (check_fs)
		__asm__ volatile("rdfsbase %0" : "=r"(fs));
	dom_pkru_update(PKRU_AD(dom_rt.gkey) | PKRU_WD(dom_rt.gkey), 0);
	__asm__ volatile("" ::: "memory");
	((volatile struct dom_gstack *)g)->depth = 0;
	((volatile struct dom_gstack *)g)->fsbase = fs;
	((volatile struct dom_gstack *)g)->self = g;
	__asm__ volatile("" ::: "memory");
	dom_pkru_update(0, PKRU_AD(dom_rt.gkey) | PKRU_WD(dom_rt.gkey));
	dom_tls.gstack = g;
	return 0;
}

/* Drops the calling thread's frame stack (pthread key destructor): the
 * page goes back to PROT_NONE, key 0, contents gone.  Not async-signal-safe. */
void dom_gstack_release(void)
{
	struct dom_gstack *g = dom_tls.gstack;
	size_t i;

	if (!g || (uint8_t *)g < region || (uint8_t *)g >= region + (size_t)DOM_GSTACK_MAX * 4096)
		return;
	dom_tls.gstack = NULL;
	dom_mmap(g, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE);
	i = (size_t)((uint8_t *)g - region) / 4096;
	pthread_mutex_lock(&gs_lock);
	used[i / 64] &= ~(1ull << (i % 64));
	pthread_mutex_unlock(&gs_lock);
}
