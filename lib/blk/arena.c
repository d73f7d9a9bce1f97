/* SPDX-License-Identifier: MIT */
/*
 * arena.c - I/O buffers in grants.  Each arena is one grant, mapped here
 * and in the server; buffers are runs of 4 KiB pages in it (aligned for
 * any O_DIRECT device).  Arenas are only ever added, never moved or
 * removed before close, so the hot-path lookup from address to grant
 * reads them without a lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blk.h"

int blk_arena_find(struct aoki_blk *b, const void *buf, size_t len, uint32_t *grant,
		   uint64_t *offset)
{
	/* Acquire pairs with the release store in add_arena: an arena's
	 * fields are complete before it is counted. */
	unsigned n = atomic_load_explicit(&b->narenas, memory_order_acquire);
	uintptr_t p = (uintptr_t)buf;

	for (unsigned i = 0; i < n; i++) {
		const struct blk_arena *a = &b->arenas[i];
		uintptr_t base = (uintptr_t)a->base;

		if (p >= base && p - base <= a->size && len <= a->size - (p - base)) {
			*grant = a->grant;
			*offset = p - base;
			return 0;
		}
	}
	return -EFAULT;
}

/* First fit of @npages free pages in @a; returns the buffer or NULL. */
static void *take_pages(struct blk_arena *a, size_t npages)
{
	size_t total = a->size / BLK_PAGE, run = 0;

	for (size_t i = 0; i < total; i++) {
		run = a->pages[i] ? 0 : run + 1;
		if (run == npages) {
			size_t first = i + 1 - npages;

			a->pages[first] = 1;
			memset(a->pages + first + 1, 2, npages - 1);
			return a->base + first * BLK_PAGE;
		}
	}
	return NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

/* Fault every page of a new arena in now, in this process: the memory is
 * the client's to pay for, and the server registers a grant as a fixed
 * buffer only once all of it is resident (it will not allocate memory on
 * a client's behalf by pinning). */
static void populate(void *mem, size_t size)
{
	if (madvise(mem, size, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t off = 0; off < size; off += BLK_PAGE)	/* before 5.14 */
		((volatile char *)mem)[off] = 0;
}

/* A new arena of at least @npages pages.  Called with the lock held. */
static int add_arena(struct aoki_blk *b, size_t npages, struct blk_arena **out)
{
	unsigned n = atomic_load_explicit(&b->narenas, memory_order_relaxed);
	struct blk_arena *a = &b->arenas[n];
	size_t size = npages * BLK_PAGE;
	void *mem;
	int r;

	if (n == BLK_MAX_ARENAS)
		return -ENOSPC;
	if (size < b->arena_size)
		size = b->arena_size;
	a->pages = calloc(size / BLK_PAGE, 1);
	if (!a->pages)
		return -ENOMEM;
	r = aoki_grant_create(b->ch, size, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &a->grant, &mem);
	if (r < 0) {
		free(a->pages);
		a->pages = NULL;
		return r;
	}
	populate(mem, size);
	a->base = mem;
	a->size = size;
	/* Release pairs with the acquire load in blk_arena_find. */
	atomic_store_explicit(&b->narenas, n + 1, memory_order_release);
	*out = a;
	return 0;
}

int aoki_blk_alloc(struct aoki_blk *b, size_t len, void **buf)
{
	size_t npages = (len + BLK_PAGE - 1) / BLK_PAGE;
	unsigned n;
	void *p = NULL;
	int r = 0;

	if (!len || len > SIZE_MAX - BLK_PAGE)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	n = atomic_load_explicit(&b->narenas, memory_order_relaxed);
	for (unsigned i = 0; i < n && !p; i++)
		p = take_pages(&b->arenas[i], npages);
	if (!p) {
		struct blk_arena *a;

		r = add_arena(b, npages, &a);
		if (r == 0)
			p = take_pages(a, npages);
	}
	pthread_mutex_unlock(&b->lock);
	*buf = p;
	return r;
}

void aoki_blk_free(struct aoki_blk *b, void *buf)
{
	uintptr_t p = (uintptr_t)buf;
	unsigned n;

	if (!buf)
		return;
	pthread_mutex_lock(&b->lock);
	n = atomic_load_explicit(&b->narenas, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		struct blk_arena *a = &b->arenas[i];
		size_t k = (p - (uintptr_t)a->base) / BLK_PAGE;

		if (p < (uintptr_t)a->base || p - (uintptr_t)a->base >= a->size)
			continue;
		/* Only the first byte of a buffer frees it. */
		if ((p - (uintptr_t)a->base) % BLK_PAGE == 0 && a->pages[k] == 1) {
			a->pages[k++] = 0;
			while (k < a->size / BLK_PAGE && a->pages[k] == 2)
				a->pages[k++] = 0;
		}
		break;
	}
	pthread_mutex_unlock(&b->lock);
}

void blk_arenas_free(struct aoki_blk *b)
{
	unsigned n = atomic_load_explicit(&b->narenas, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++)
		free(b->arenas[i].pages);
}
