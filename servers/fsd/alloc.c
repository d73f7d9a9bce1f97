/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - block allocation that never hands out a block freed since
 * the last checkpoint.  Such a block may still be named by metadata that
 * the device or the journal holds (the transaction that freed it is not
 * committed, or its commit is in the log and would be replayed over
 * whatever the block holds next), and file data is written to newly
 * allocated blocks directly, without the journal.  So libext2fs allocates
 * from "avoid", a bitmap of the blocks in use at the last checkpoint plus
 * every block allocated since; frees do not clear it.  A checkpoint (the
 * open transaction empty, every committed one home) resets it to the
 * block bitmap.  When the quarantine is what makes an allocation fail,
 * the allocator commits and checkpoints, then tries again.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "fsd.h"

static errcode_t get_alloc_block(ext2_filsys fs, blk64_t goal, blk64_t *ret)
{
	struct fsd *d = fs->priv_data;
	errcode_t e = ext2fs_new_block2(fs, goal, d->avoid, ret);

	if (e == EXT2_ET_BLOCK_ALLOC_FAIL && ext2fs_free_blocks_count(fs->super) > 0) {
		/* Freed blocks wait for a checkpoint: make one. */
		if (txn_commit(d) == 0 && txn_checkpoint(d) == 0)
			e = ext2fs_new_block2(fs, goal, d->avoid, ret);
	}
	if (!e)
		ext2fs_mark_block_bitmap2(d->avoid, *ret);
	return e;
}

static errcode_t new_range(ext2_filsys fs, int flags, blk64_t goal, blk64_t len,
			   blk64_t *pblk, blk64_t *plen)
{
	struct fsd *d = fs->priv_data;
	errcode_t e = ext2fs_new_range(fs, flags, goal, len, d->avoid, pblk, plen);

	if (e == EXT2_ET_BLOCK_ALLOC_FAIL && ext2fs_free_blocks_count(fs->super) > 0) {
		if (txn_commit(d) == 0 && txn_checkpoint(d) == 0)
			e = ext2fs_new_range(fs, flags, goal, len, d->avoid, pblk, plen);
	}
	/* Marked here, not only in the stats callback: libext2fs 1.47.0
	 * calls the range stats callback with the range already consumed
	 * (length 0).  A range the caller then does not claim stays
	 * avoided until the next checkpoint: harmless. */
	if (!e)
		ext2fs_mark_block_bitmap_range2(d->avoid, *pblk, (unsigned)*plen);
	return e;
}

static void alloc_stats(ext2_filsys fs, blk64_t blk, int inuse)
{
	struct fsd *d = fs->priv_data;

	if (inuse > 0 && d->avoid)
		ext2fs_mark_block_bitmap2(d->avoid, blk);
}

static void alloc_stats_range(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	/* 1.47.0 passes the range already consumed (num 0): nothing. */
	struct fsd *d = fs->priv_data;

	if (inuse > 0 && num && d->avoid)
		ext2fs_mark_block_bitmap_range2(d->avoid, blk, num);
}

int alloc_reset(struct fsd *d)
{
	ext2fs_block_bitmap copy;
	errcode_t e = ext2fs_copy_bitmap(d->fs->block_map, &copy);

	if (e)
		return -ENOMEM;
	if (d->avoid)
		ext2fs_free_block_bitmap(d->avoid);
	d->avoid = copy;
	return 0;
}

int alloc_init(struct fsd *d)
{
	int r = alloc_reset(d);

	if (r < 0)
		return r;
	ext2fs_set_alloc_block_callback(d->fs, get_alloc_block, NULL);
	ext2fs_set_new_range_callback(d->fs, new_range, NULL);
	ext2fs_set_block_alloc_stats_callback(d->fs, alloc_stats, NULL);
	ext2fs_set_block_alloc_stats_range_callback(d->fs, alloc_stats_range, NULL);
	return 0;
}

void alloc_fini(struct fsd *d)
{
	if (d->avoid)
		ext2fs_free_block_bitmap(d->avoid);
	d->avoid = NULL;
}
