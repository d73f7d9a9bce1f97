/* SPDX-License-Identifier: MIT */
/*
 * dcache.c - names in directories, in memory.  libext2fs looks a name up
 * by reading the directory block by block (it does not use the htree
 * index), so a lookup in a directory of 10 000 entries cost ~100 us.
 * The first lookup in a directory reads it whole into a hash table;
 * later lookups, hits and misses, cost a hash probe.  Every operation of
 * fsd that changes a directory entry updates the table (dcache_add,
 * dcache_del); a directory freed drops its table.  Only this thread
 * changes directories, so the table cannot go stale behind its back.
 * Total size is bounded: past DCACHE_MAX_ENTRIES every table is dropped
 * and rebuilt on demand.  The tables are the instance's (struct fsd's
 * dcache), in its memory (mem.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"
#include "hash.h"

#define DCACHE_MAX_ENTRIES (1u << 20)

struct dentry {
	struct dentry *next;
	uint32_t hash;
	ext2_ino_t ino;
	uint8_t len;
	char name[];
};

struct dtable {
	struct dtable *next;
	ext2_ino_t dir;
	uint32_t mask;		/* buckets - 1 */
	uint32_t n;
	struct dentry **b;
};

static uint32_t name_hash(const char *s, size_t n)
{
	return util_fnv1a32(s, n);
}

static void table_free(struct fsd *d, struct dtable *t)
{
	for (uint32_t i = 0; t->b && i <= t->mask; i++) {
		while (t->b[i]) {
			struct dentry *e = t->b[i];

			t->b[i] = e->next;
			fsd_free(d->host, e);
		}
	}
	d->dcache.total -= t->n;
	fsd_free(d->host, t->b);
	fsd_free(d->host, t);
}

void dcache_drop(struct fsd *d, ext2_ino_t dir)
{
	struct dtable **pp = &d->dcache.dirs[dir % FSD_DCACHE_DIRS];

	while (*pp && (*pp)->dir != dir)
		pp = &(*pp)->next;
	if (*pp) {
		struct dtable *t = *pp;

		*pp = t->next;
		table_free(d, t);
	}
}

void dcache_clear(struct fsd *d)
{
	for (unsigned i = 0; i < FSD_DCACHE_DIRS; i++) {
		while (d->dcache.dirs[i]) {
			struct dtable *t = d->dcache.dirs[i];

			d->dcache.dirs[i] = t->next;
			table_free(d, t);
		}
	}
}

static struct dtable *find_table(struct fsd *d, ext2_ino_t dir)
{
	struct dtable *t = d->dcache.dirs[dir % FSD_DCACHE_DIRS];

	while (t && t->dir != dir)
		t = t->next;
	return t;
}

static int grow(struct fsd *d, struct dtable *t)
{
	uint32_t nb = 2 * (t->mask + 1);
	struct dentry **b = fsd_zalloc_array(d->host, nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->mask; i++) {
		while (t->b[i]) {
			struct dentry *e = t->b[i];

			t->b[i] = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	fsd_free(d->host, t->b);
	t->b = b;
	t->mask = nb - 1;
	return 0;
}

/* Set @name -> @ino in @t (replacing an entry of that name). */
static int table_set(struct fsd *d, struct dtable *t, const char *name, size_t len,
		     ext2_ino_t ino)
{
	uint32_t h = name_hash(name, len);
	struct dentry *e;

	for (e = t->b[h & t->mask]; e; e = e->next)
		if (e->hash == h && e->len == len && !memcmp(e->name, name, len)) {
			e->ino = ino;
			return 0;
		}
	if (t->n + 1 > 2 * (t->mask + 1) && grow(d, t) < 0)
		return -ENOMEM;
	e = fsd_alloc(d->host, sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->ino = ino;
	e->len = (uint8_t)len;
	memcpy(e->name, name, len);
	e->next = t->b[h & t->mask];
	t->b[h & t->mask] = e;
	t->n++;
	d->dcache.total++;
	return 0;
}

struct filling {
	struct fsd *d;
	struct dtable *t;
};

static int fill(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset, int blocksize,
		char *buf, void *priv)
{
	struct filling *f = priv;

	if (de->inode &&
	    table_set(f->d, f->t, de->name, ext2fs_dirent_name_len(de), de->inode) < 0)
		return DIRENT_ABORT;
	return 0;
}

/* The table of @dir, read from the directory if it has none. */
static int table_of(struct fsd *d, ext2_ino_t dir, struct dtable **out)
{
	struct dtable *t = find_table(d, dir);
	struct filling f = { d, NULL };
	errcode_t e;

	if (t) {
		*out = t;
		return 0;
	}
	if (d->dcache.total > DCACHE_MAX_ENTRIES)
		dcache_clear(d);
	t = fsd_zalloc(d->host, sizeof(*t));
	if (!t || !(t->b = fsd_zalloc_array(d->host, 64, sizeof(*t->b)))) {
		fsd_free(d->host, t);
		return -ENOMEM;
	}
	t->dir = dir;
	t->mask = 63;
	f.t = t;
	e = ext2fs_dir_iterate2(d->fs, dir, 0, NULL, fill, &f);
	if (e) {
		table_free(d, t);
		return fsd_errno(e);
	}
	t->next = d->dcache.dirs[dir % FSD_DCACHE_DIRS];
	d->dcache.dirs[dir % FSD_DCACHE_DIRS] = t;
	*out = t;
	return 0;
}

int dcache_lookup(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t *ino)
{
	size_t len = strlen(name);
	uint32_t h = name_hash(name, len);
	struct dtable *t = NULL;
	int r = table_of(d, dir, &t);

	if (r < 0)
		return r;
	for (struct dentry *e = t->b[h & t->mask]; e; e = e->next)
		if (e->hash == h && e->len == len && !memcmp(e->name, name, len)) {
			*ino = e->ino;
			return 0;
		}
	return -ENOENT;
}

void dcache_add(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct dtable *t = find_table(d, dir);

	/* No table yet: the next lookup reads the directory, entry
	 * included.  Out of memory: drop the table rather than lie. */
	if (t && table_set(d, t, name, strlen(name), ino) < 0)
		dcache_drop(d, dir);
}

void dcache_del(struct fsd *d, ext2_ino_t dir, const char *name)
{
	struct dtable *t = find_table(d, dir);
	size_t len = strlen(name);
	uint32_t h = name_hash(name, len);

	if (!t)
		return;
	for (struct dentry **pp = &t->b[h & t->mask]; *pp; pp = &(*pp)->next) {
		struct dentry *e = *pp;

		if (e->hash == h && e->len == len && !memcmp(e->name, name, len)) {
			*pp = e->next;
			fsd_free(d->host, e);
			t->n--;
			d->dcache.total--;
			return;
		}
	}
}
