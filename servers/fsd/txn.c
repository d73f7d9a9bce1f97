/* SPDX-License-Identifier: MIT */
/*
 * txn.c - transactions.  The open transaction is the set of dirty cache
 * blocks; libext2fs's in-memory bitmaps, superblock and group
 * descriptors join it when it closes.  Commit order (DESIGN: "Journal"):
 *   1. data written to newly allocated blocks has completed (ordered
 *      data: blkd has it; the flush below makes it durable);
 *   2. descriptor + metadata blocks into the log, FLUSH, commit block
 *      with FUA (journal_commit);
 *   3. only then are waiting fsyncs acknowledged.
 * Checkpoint writes the committed blocks home, flushes, and frees the log;
 * it runs right after a commit (so the open transaction is empty and the
 * allocator's quarantine can be reset) when the log is half full, or when
 * something needs a block that is committed but not home.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"

/* Push libext2fs's in-memory metadata into the cache (dirty). */
int txn_flush_fs(struct fsd *d)
{
	ext2_filsys fs = d->fs;
	errcode_t e = 0;

	if (!(fs->flags & (EXT2_FLAG_DIRTY | EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY)))
		return 0;
	/* Bitmaps first: writing them updates their checksums in the group
	 * descriptors, which the flush then writes. */
	e = ext2fs_write_bitmaps(fs);
	if (!e)
		e = ext2fs_flush2(fs, 0);
	return e ? -EIO : 0;
}

static int cmp_blk(const void *a, const void *b)
{
	const struct journal_block *x = a, *y = b;

	return x->home < y->home ? -1 : x->home > y->home;
}

static unsigned txn_limit(struct fsd *d)
{
	struct journal_info ji;

	journal_get_info(d->journal, &ji);
	return ji.blocks / 4 < FSD_TXN_MAX_BLOCKS ? ji.blocks / 4 : FSD_TXN_MAX_BLOCKS;
}

int txn_commit(struct fsd *d)
{
	struct journal_block *jb;
	struct journal_info ji;
	unsigned n = 0;
	int64_t tid;
	int r;

	if (d->io_error)
		return -EIO;
	r = txn_flush_fs(d);
	if (r < 0)
		return r;
	if (!d->cache.ndirty)
		return 0;
	blkio_drain(d, 1);
	journal_get_info(d->journal, &ji);
	if (journal_space(d->journal, d->cache.ndirty, 0) > ji.free) {
		r = txn_checkpoint(d);
		if (r < 0)
			return r;
	}
	jb = fsd_alloc(d->host, d->cache.ndirty * sizeof(*jb));
	if (!jb)
		return -ENOMEM;
	for (struct cache_block *b = d->cache.dirty; b; b = b->lnext)
		jb[n++] = (struct journal_block){ b->blk, b->data };
	qsort(jb, n, sizeof(*jb), cmp_blk);
	tid = journal_commit(d->journal, jb, n, NULL, 0);
	fsd_free(d->host, jb);
	if (tid < 0) {
		/* The log is unusable: stop changing anything, keep serving
		 * reads of what is committed. */
		d->io_error = 1;
		return (int)tid;
	}
	cache_dirty_to_committed(&d->cache);
	d->st.commits++;
	d->st.journal_blocks += n;
	journal_get_info(d->journal, &ji);
	stage_reset(d, ji.next_tid);	/* all it held is in the journal */
	if (ji.free < ji.blocks / 2)
		return txn_checkpoint(d);
	return 0;
}

/* Write @n sorted committed blocks home, coalescing neighbours. */
static int write_home(struct fsd *d, struct journal_block *jb, unsigned n)
{
	uint8_t *run = fsd_alloc(d->host, (size_t)FSD_BOUNCE_BLOCKS * d->bsize);
	int r = 0;

	if (!run)
		return -ENOMEM;
	for (unsigned i = 0; i < n && r == 0;) {
		unsigned k = 1;

		memcpy(run, jb[i].data, d->bsize);
		while (i + k < n && k < FSD_BOUNCE_BLOCKS && jb[i + k].home == jb[i].home + k) {
			memcpy(run + (size_t)k * d->bsize, jb[i + k].data, d->bsize);
			k++;
		}
		r = blkio_write(d, jb[i].home, k, run, 0);
		i += k;
	}
	fsd_free(d->host, run);
	return r;
}

int txn_checkpoint(struct fsd *d)
{
	struct journal_block *jb;
	unsigned n = 0;
	int r;

	if (d->cache.ncommitted || d->cache.nshadow) {
		jb = fsd_alloc(d->host, (d->cache.ncommitted + d->cache.nshadow) * sizeof(*jb));
		if (!jb)
			return -ENOMEM;
		/* The last committed image of each block: committed blocks,
		 * and the shadows of committed blocks changed since. */
		for (struct cache_block *b = d->cache.committed; b; b = b->lnext)
			jb[n++] = (struct journal_block){ b->blk, b->data };
		for (struct cache_block *b = d->cache.dirty; b; b = b->lnext)
			if (b->shadow)
				jb[n++] = (struct journal_block){ b->blk, b->shadow };
		qsort(jb, n, sizeof(*jb), cmp_blk);
		r = write_home(d, jb, n);
		fsd_free(d->host, jb);
		if (r == 0)
			r = blkio_flush(d);
		if (r == 0)
			r = journal_checkpointed(d->journal);
		if (r < 0) {
			d->io_error = 1;
			return r;
		}
		cache_committed_to_clean(&d->cache);
		d->st.checkpoints++;
	}
	/* Freed blocks become free for real only with the open transaction
	 * empty: its frees are not committed yet. */
	if (!d->cache.ndirty && !(d->fs->flags & EXT2_FLAG_BB_DIRTY))
		return alloc_reset(d);
	return 0;
}

int txn_maybe_commit(struct fsd *d)
{
	/* Called on every turn of the worker, also while it spins: the
	 * common case (nothing dirty) must cost a load. */
	if (!d->cache.ndirty)
		return 0;
	if (!d->txn_limit)
		d->txn_limit = txn_limit(d);
	if (d->cache.ndirty < d->txn_limit &&
	    now_real_ns() - d->cache.dirty_since < d->cfg.commit_ns)
		return 0;
	return txn_commit(d);
}

int txn_sync(struct fsd *d)
{
	uint64_t commits = d->st.commits;
	int r = txn_commit(d);

	/* Nothing to commit: data overwrites still need the device's cache
	 * flushed (a commit's FLUSH covers them otherwise). */
	if (r == 0 && d->st.commits == commits)
		r = blkio_flush(d);
	return r;
}
