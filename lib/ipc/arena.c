/* SPDX-License-Identifier: MIT */
/*
 * arena.c - buffers in grants (see arena.h).  The table of arenas is
 * append-only: a slot is filled under the lock, then published by a
 * release store of the count; readers load the count with acquire and
 * read only slots below it, which never change again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"

#define DEFAULT_ARENA_SIZE (8u << 20)

void ipc_arenas_init(struct ipc_arenas *as, struct aoki_chan *ch, size_t arena_size,
		     unsigned rights)
{
	memset(as, 0, sizeof(*as));
	as->ch = ch;
	if (!arena_size || arena_size > SIZE_MAX / 2)
		arena_size = DEFAULT_ARENA_SIZE;
	as->arena_size = (arena_size + IPC_ARENA_PAGE - 1) / IPC_ARENA_PAGE * IPC_ARENA_PAGE;
	as->rights = rights;
	pthread_mutex_init(&as->lock, NULL);
	atomic_init(&as->n, 0);
}

void ipc_arenas_fini(struct ipc_arenas *as)
{
	/* Relaxed: the caller guarantees that no other thread uses @as. */
	unsigned n = atomic_load_explicit(&as->n, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		free(as->a[i].pages);
		as->a[i].pages = NULL;
	}
	atomic_store_explicit(&as->n, 0, memory_order_relaxed);
	pthread_mutex_destroy(&as->lock);
}

int ipc_arena_find(struct ipc_arenas *as, const void *buf, size_t len, uint32_t *grant,
		   uint64_t *offset)
{
	/* Acquire pairs with the release store in add_arena: the fields of
	 * every arena below the count are complete before we read them. */
	unsigned n = atomic_load_explicit(&as->n, memory_order_acquire);
	uintptr_t p = (uintptr_t)buf;

	for (unsigned i = 0; i < n; i++) {
		const struct ipc_arena *a = &as->a[i];
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
static void *take_pages(struct ipc_arena *a, size_t npages)
{
	size_t total = a->size / IPC_ARENA_PAGE, run = 0;

	for (size_t i = 0; i < total; i++) {
		run = a->pages[i] ? 0 : run + 1;
		if (run == npages) {
			size_t first = i + 1 - npages;

			a->pages[first] = 1;
			memset(a->pages + first + 1, 2, npages - 1);
			return a->base + first * IPC_ARENA_PAGE;
		}
	}
	return NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

/* Fault every page of a new arena in now, in this process: the memory is
 * the client's to pay for, and a server that registers a grant as a
 * fixed buffer does so only once all of it is resident (it will not
 * allocate memory on a client's behalf by pinning). */
static void populate(void *mem, size_t size)
{
	if (madvise(mem, size, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t off = 0; off < size; off += IPC_ARENA_PAGE)	/* before 5.14 */
		((volatile char *)mem)[off] = 0;
}

/* A new arena of at least @npages pages.  Called with the lock held. */
static int add_arena(struct ipc_arenas *as, size_t npages, struct ipc_arena **out)
{
	/* Relaxed: only lock holders store the count. */
	unsigned n = atomic_load_explicit(&as->n, memory_order_relaxed);
	struct ipc_arena *a = &as->a[n];
	size_t size = npages * IPC_ARENA_PAGE;
	void *mem;
	int r;

	if (n == IPC_ARENA_MAX)
		return -ENOSPC;
	if (size < as->arena_size)
		size = as->arena_size;
	a->pages = calloc(size / IPC_ARENA_PAGE, 1);
	if (!a->pages)
		return -ENOMEM;
	r = aoki_grant_create(as->ch, size, as->rights, &a->grant, &mem);
	if (r < 0) {
		free(a->pages);
		a->pages = NULL;
		return r;
	}
	populate(mem, size);
	a->base = mem;
	a->size = size;
	/* Release pairs with the acquire load in ipc_arena_find: the fields
	 * above are visible before the arena is counted. */
	atomic_store_explicit(&as->n, n + 1, memory_order_release);
	*out = a;
	return 0;
}

int ipc_arena_alloc(struct ipc_arenas *as, size_t len, void **buf)
{
	size_t npages = (len + IPC_ARENA_PAGE - 1) / IPC_ARENA_PAGE;
	unsigned n;
	void *p = NULL;
	int r = 0;

	/* *buf is left alone on failure (callers may keep using it). */
	if (!len || len > SIZE_MAX / 2)
		return -EINVAL;
	pthread_mutex_lock(&as->lock);
	/* Relaxed: we hold the lock, and only lock holders store the count. */
	n = atomic_load_explicit(&as->n, memory_order_relaxed);
	for (unsigned i = 0; i < n && !p; i++)
		p = take_pages(&as->a[i], npages);
	if (!p) {
		struct ipc_arena *a;

		r = add_arena(as, npages, &a);
		if (r == 0)
			p = take_pages(a, npages);
	}
	pthread_mutex_unlock(&as->lock);
	if (r == 0)
		*buf = p;
	return r;
}

void ipc_arena_free(struct ipc_arenas *as, void *buf)
{
	uintptr_t p = (uintptr_t)buf;
	unsigned n;

	if (!buf)
		return;
	pthread_mutex_lock(&as->lock);
	/* Relaxed: we hold the lock, and only lock holders store the count. */
	n = atomic_load_explicit(&as->n, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		struct ipc_arena *a = &as->a[i];
		uintptr_t off = p - (uintptr_t)a->base;
		size_t k = off / IPC_ARENA_PAGE;

		if (p < (uintptr_t)a->base || off >= a->size)
			continue;
		/* Only the first byte of a buffer frees it. */
		if (off % IPC_ARENA_PAGE == 0 && a->pages[k] == 1) {
			a->pages[k++] = 0;
			while (k < a->size / IPC_ARENA_PAGE && a->pages[k] == 2)
				a->pages[k++] = 0;
		}
		break;
	}
	pthread_mutex_unlock(&as->lock);
}
