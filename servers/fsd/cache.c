/* SPDX-License-Identifier: MIT */
/*
 * cache.c - metadata blocks in memory.  Each block is clean (the device
 * has it), dirty (changed by the open transaction: it must not reach its
 * home location before that transaction commits) or committed (in the
 * journal, not yet checkpointed home).  Reads of dirty and committed
 * blocks are served from here: the device holds an older copy.  Only
 * clean blocks are evicted (clock), so the cache grows past its
 * capacity while a transaction is large; the transaction size limit
 * bounds that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"

static unsigned bucket_of(const struct cache *c, uint64_t blk)
{
	return (unsigned)((blk * 0x9e3779b97f4a7c15ull) >> 40) & (c->nbuckets - 1);
}

int cache_init(struct cache *c, struct aoki_host *host, unsigned bsize, unsigned capacity)
{
	memset(c, 0, sizeof(*c));
	c->host = host;
	c->bsize = bsize;
	c->capacity = capacity;
	c->nbuckets = 1;
	while (c->nbuckets < capacity * 2)
		c->nbuckets <<= 1;
	c->hash = fsd_zalloc_array(host, c->nbuckets, sizeof(*c->hash));
	c->clock = fsd_zalloc_array(host, capacity, sizeof(*c->clock));
	if (!c->hash || !c->clock) {
		cache_destroy(c);
		return -ENOMEM;
	}
	return 0;
}

void cache_destroy(struct cache *c)
{
	for (unsigned i = 0; c->clock && i < c->nclock; i++) {
		fsd_free(c->host, c->clock[i]->shadow);
		fsd_free(c->host, c->clock[i]->data);
		fsd_free(c->host, c->clock[i]);
	}
	fsd_free(c->host, c->clock);
	fsd_free(c->host, c->hash);
	memset(c, 0, sizeof(*c));
}

struct cache_block *cache_find(struct cache *c, uint64_t blk)
{
	struct cache_block *b = c->hash[bucket_of(c, blk)];

	while (b && b->blk != blk)
		b = b->hnext;
	if (b)
		b->ref = 1;
	return b;
}

static void unhash(struct cache *c, struct cache_block *b)
{
	struct cache_block **pp = &c->hash[bucket_of(c, b->blk)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
}

static void list_del(struct cache_block **head, struct cache_block *b)
{
	if (b->lprev)
		b->lprev->lnext = b->lnext;
	else
		*head = b->lnext;
	if (b->lnext)
		b->lnext->lprev = b->lprev;
	b->lnext = b->lprev = NULL;
}

static void list_add(struct cache_block **head, struct cache_block *b)
{
	b->lprev = NULL;
	b->lnext = *head;
	if (*head)
		(*head)->lprev = b;
	*head = b;
}

/* Take a clean block to reuse (clock); NULL if every block is pinned. */
static struct cache_block *evict(struct cache *c)
{
	for (unsigned n = 0; n < 2 * c->nclock; n++) {
		struct cache_block *b = c->clock[c->clock_hand];

		c->clock_hand = (c->clock_hand + 1) % c->nclock;
		if (b->state != CB_CLEAN)
			continue;
		if (b->ref) {
			b->ref = 0;
			continue;
		}
		unhash(c, b);
		return b;
	}
	return NULL;
}

struct cache_block *cache_insert(struct cache *c, uint64_t blk)
{
	struct cache_block *b = NULL;
	unsigned h;

	if (c->nclock >= c->capacity)
		b = evict(c);
	if (!b) {
		if (c->nclock == c->capacity) {
			/* Everything is pinned by transactions: grow. */
			struct cache_block **n = fsd_realloc(c->host, c->clock,
							     c->capacity * sizeof(*n),
							     2 * c->capacity * sizeof(*n));

			if (!n)
				return NULL;
			c->clock = n;
			c->capacity *= 2;
		}
		b = fsd_zalloc(c->host, sizeof(*b));
		if (!b || !(b->data = fsd_alloc_block(c->host, c->bsize))) {
			fsd_free(c->host, b);
			return NULL;
		}
		c->clock[c->nclock++] = b;
	}
	b->blk = blk;
	b->state = CB_CLEAN;
	b->ref = 1;
	b->in_op = 0;
	h = bucket_of(c, blk);
	b->hnext = c->hash[h];
	c->hash[h] = b;
	return b;
}

int cache_mark_dirty(struct cache *c, struct cache_block *b, int64_t now)
{
	if (b->state == CB_DIRTY)
		return 0;
	if (b->state == CB_COMMITTED) {
		/* The checkpoint must still write the committed image: the
		 * log's tail moves past its transaction then. */
		b->shadow = fsd_alloc(c->host, c->bsize);
		if (!b->shadow)
			return -ENOMEM;
		memcpy(b->shadow, b->data, c->bsize);
		c->nshadow++;
		list_del(&c->committed, b);
		c->ncommitted--;
	}
	b->state = CB_DIRTY;
	list_add(&c->dirty, b);
	if (!c->ndirty++)
		c->dirty_since = now;
	return 0;
}

static void drop_shadow(struct cache *c, struct cache_block *b)
{
	if (b->shadow) {
		fsd_free(c->host, b->shadow);
		b->shadow = NULL;
		c->nshadow--;
	}
}

void cache_forget(struct cache *c, uint64_t blk)
{
	struct cache_block *b = cache_find(c, blk);

	if (!b)
		return;
	drop_shadow(c, b);
	if (b->state == CB_DIRTY) {
		list_del(&c->dirty, b);
		c->ndirty--;
	} else if (b->state == CB_COMMITTED) {
		list_del(&c->committed, b);
		c->ncommitted--;
	}
	/* Keep the slot, clean and unreachable, for eviction. */
	unhash(c, b);
	b->blk = UINT64_MAX;
	b->state = CB_CLEAN;
	b->ref = 0;
	b->hnext = NULL;
	{
		unsigned h = bucket_of(c, b->blk);

		b->hnext = c->hash[h];
		c->hash[h] = b;
	}
}

void cache_dirty_to_committed(struct cache *c)
{
	while (c->dirty) {
		struct cache_block *b = c->dirty;

		list_del(&c->dirty, b);
		drop_shadow(c, b);	/* superseded by this commit */
		b->state = CB_COMMITTED;
		list_add(&c->committed, b);
		c->ncommitted++;
	}
	c->ndirty = 0;
}

void cache_committed_to_clean(struct cache *c)
{
	while (c->committed) {
		struct cache_block *b = c->committed;

		list_del(&c->committed, b);
		b->state = CB_CLEAN;
	}
	c->ncommitted = 0;
	for (struct cache_block *b = c->dirty; b && c->nshadow; b = b->lnext)
		drop_shadow(c, b);	/* its committed image is home */
}
