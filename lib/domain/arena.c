/* SPDX-License-Identifier: MIT */
/*
 * arena.c - address space for compartment heaps and stacks.  Everything
 * comes from one window of 4 GiB aligned to 4 GiB, reserved PROT_NONE at
 * init, so that the seccomp filter can recognise compartment pages with a
 * single compare of the upper 32 address bits (seccomp.c).  Ranges are
 * handed out first-fit from a small free list, under the runtime lock.
 */
#include <errno.h>
#include <sys/mman.h>

#include "internal.h"

#define WINDOW (1ull << 32)
#define MAX_FREE 256

static uintptr_t arena_lo, arena_brk;
static struct { uintptr_t p; size_t len; } freel[MAX_FREE];
static unsigned nfree;
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;

int dom_arena_init(void)
{
	void *r = dom_mmap(NULL, 2 * WINDOW, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
	uintptr_t p, lo;

	if ((long)r < 0 && (long)r > -4096)
		return (int)(long)r;
	p = (uintptr_t)r;
	lo = (p + WINDOW - 1) & ~(uintptr_t)(WINDOW - 1);
	if (lo > p)
		dom_munmap((void *)p, lo - p);
	if (p + 2 * WINDOW > lo + WINDOW)
		dom_munmap((void *)(lo + WINDOW), p + 2 * WINDOW - (lo + WINDOW));
	arena_lo = arena_brk = lo;
	return 0;
}

void dom_arena_range(uintptr_t *lo, uintptr_t *hi)
{
	*lo = arena_lo;
	*hi = arena_lo + WINDOW;
}

/* Returns @len bytes of PROT_NONE reserved address space, or NULL. */
void *dom_arena_get(size_t len)
{
	void *r = NULL;

	len = (len + 4095) & ~(size_t)4095;
	pthread_mutex_lock(&arena_lock);
	for (unsigned i = 0; i < nfree; i++) {
		if (freel[i].len >= len) {
			r = (void *)freel[i].p;
			freel[i].p += len;
			freel[i].len -= len;
			if (!freel[i].len)
				freel[i] = freel[--nfree];
			goto out;
		}
	}
	if (arena_brk + len <= arena_lo + WINDOW) {
		r = (void *)arena_brk;
		arena_brk += len;
	}
out:
	pthread_mutex_unlock(&arena_lock);
	return r;
}

/* Gives the range back: its pages are dropped (PROT_NONE, key 0). */
void dom_arena_put(void *p, size_t len)
{
	len = (len + 4095) & ~(size_t)4095;
	dom_mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE);
	pthread_mutex_lock(&arena_lock);
	if (nfree < MAX_FREE) {
		freel[nfree].p = (uintptr_t)p;
		freel[nfree].len = len;
		nfree++;
	}	/* else the range is leaked address space, not memory */
	pthread_mutex_unlock(&arena_lock);
}
