/* SPDX-License-Identifier: MIT */
/*
 * heap.c - a compartment's private heap.
 *
 * The heap is one range of the arena tagged with the compartment's key,
 * cut into 16 KiB spans.  A span is free, holds objects of one size class
 * (16, 32, ... 4096 bytes; a bitmap marks the allocated ones), or belongs
 * to a large block of whole spans.  All metadata (span table, bitmaps,
 * class lists) lives out of band in ordinary memory: the allocator never
 * touches the heap pages, so it runs with or without rights on them, and
 * code inside the compartment cannot corrupt it by overflowing a block.
 * One mutex per heap: blocking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { SPAN_FREE, SPAN_SMALL, SPAN_LARGE, SPAN_CONT };
#define NONE UINT32_MAX

static unsigned cls_of(size_t size)
{
	unsigned c = 0;

	while ((16u << c) < size)
		c++;
	return c;
}

static size_t cls_size(unsigned c) { return (size_t)16 << c; }
static unsigned cls_count(unsigned c) { return DOM_SPAN / (16u << c); }

int dom_heap_init(struct dom_heap *h, size_t size, int pkey)
{
	int r;

	size = (size + DOM_SPAN - 1) & ~(size_t)(DOM_SPAN - 1);
	memset(h, 0, sizeof(*h));
	h->nspans = (uint32_t)(size / DOM_SPAN);
	h->spans = calloc(h->nspans, sizeof(*h->spans));
	if (!h->spans)
		return -ENOMEM;
	h->base = dom_arena_get(size);
	if (!h->base) {
		free(h->spans);
		return -ENOMEM;
	}
	r = dom_tag(h->base, size, pkey);
	if (r < 0) {
		dom_arena_put(h->base, size);
		free(h->spans);
		return r;
	}
	for (unsigned c = 0; c < DOM_NCLS; c++)
		h->head[c] = NONE;
	pthread_mutex_init(&h->lock, NULL);
	return 0;
}

void dom_heap_fini(struct dom_heap *h)
{
	if (h->base)
		dom_arena_put(h->base, (size_t)h->nspans * DOM_SPAN);
	free(h->spans);
	pthread_mutex_destroy(&h->lock);
	memset(h, 0, sizeof(*h));
}

static void list_remove(struct dom_heap *h, uint32_t i)
{
	struct dom_span *s = &h->spans[i];

	if (s->prev != NONE)
		h->spans[s->prev].next = s->next;
	else
		h->head[s->cls] = s->next;
	if (s->next != NONE)
		h->spans[s->next].prev = s->prev;
	s->next = s->prev = NONE;
}

static void list_push(struct dom_heap *h, uint32_t i)
{
	struct dom_span *s = &h->spans[i];

	s->prev = NONE;
	s->next = h->head[s->cls];
	if (s->next != NONE)
		h->spans[s->next].prev = i;
	h->head[s->cls] = i;
}

/* First fit: @n consecutive free spans; returns the first or NONE. */
static uint32_t find_free(struct dom_heap *h, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < h->nspans; i++) {
		if (h->spans[i].kind != SPAN_FREE) {
			run = 0;
			continue;
		}
		if (++run == n)
			return i + 1 - n;
	}
	return NONE;
}

static void *alloc_small(struct dom_heap *h, unsigned c)
{
	uint32_t i = h->head[c];
	struct dom_span *s;

	if (i == NONE) {
		i = find_free(h, 1);
		if (i == NONE)
			return NULL;
		s = &h->spans[i];
		memset(s, 0, sizeof(*s));
		s->kind = SPAN_SMALL;
		s->cls = (uint8_t)c;
		s->nfree = (uint16_t)cls_count(c);
		list_push(h, i);
	}
	s = &h->spans[i];
	for (unsigned w = 0; w * 64 < cls_count(c); w++) {
		uint64_t free_bits = ~s->bits[w];
		unsigned b;

		if (cls_count(c) - w * 64 < 64)
			free_bits &= (1ull << (cls_count(c) - w * 64)) - 1;
		if (!free_bits)
			continue;
		b = (unsigned)__builtin_ctzll(free_bits);
		s->bits[w] |= 1ull << b;
		if (--s->nfree == 0)
			list_remove(h, i);
		return h->base + (size_t)i * DOM_SPAN + (size_t)(w * 64 + b) * cls_size(c);
	}
	return NULL;	/* unreachable: a listed span has a free slot */
}

int aoki_domain_alloc(struct aoki_domain *d, size_t size, void **out)
{
	struct dom_heap *h;
	void *p = NULL;

	if (!d || !out || !size)
		return -EINVAL;
	if (size > (size_t)UINT32_MAX * DOM_SPAN)
		return -ENOMEM;
	h = &d->heap;
	pthread_mutex_lock(&h->lock);
	if (size <= cls_size(DOM_NCLS - 1)) {
		p = alloc_small(h, cls_of(size));
	} else {
		uint32_t n = (uint32_t)((size + DOM_SPAN - 1) / DOM_SPAN);
		uint32_t i = find_free(h, n);

		if (i != NONE) {
			h->spans[i].kind = SPAN_LARGE;
			h->spans[i].nspans = n;
			for (uint32_t j = 1; j < n; j++)
				h->spans[i + j].kind = SPAN_CONT;
			p = h->base + (size_t)i * DOM_SPAN;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

int aoki_domain_free(struct aoki_domain *d, void *ptr)
{
	struct dom_heap *h;
	uintptr_t off;
	uint32_t i;
	struct dom_span *s;
	int r = 0;

	if (!ptr)
		return 0;
	if (!d)
		return -EINVAL;
	h = &d->heap;
	if ((uint8_t *)ptr < h->base || (uint8_t *)ptr >= h->base + (size_t)h->nspans * DOM_SPAN)
		return -EINVAL;
	off = (uintptr_t)((uint8_t *)ptr - h->base);
	i = (uint32_t)(off / DOM_SPAN);
	off %= DOM_SPAN;
	pthread_mutex_lock(&h->lock);
	s = &h->spans[i];
	if (s->kind == SPAN_SMALL) {
		size_t sz = cls_size(s->cls);
		unsigned b = (unsigned)(off / sz);

		if (off % sz || !(s->bits[b / 64] & (1ull << (b % 64)))) {
			r = -EINVAL;
			goto out;
		}
		s->bits[b / 64] &= ~(1ull << (b % 64));
		if (s->nfree++ == 0)
			list_push(h, i);
		if (s->nfree == cls_count(s->cls)) {
			list_remove(h, i);
			s->kind = SPAN_FREE;
		}
	} else if (s->kind == SPAN_LARGE && off == 0) {
		uint32_t n = s->nspans;

		for (uint32_t j = 0; j < n; j++)
			h->spans[i + j].kind = SPAN_FREE;
	} else {
		r = -EINVAL;
	}
out:
	pthread_mutex_unlock(&h->lock);
	return r;
}
