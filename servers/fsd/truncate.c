/* SPDX-License-Identifier: MIT */
/*
 * truncate.c - freeing file blocks: size changes, punching holes,
 * fallocate, releasing an inode.  Anything that frees blocks first waits
 * until no data I/O is in flight (a lease on every block at once: blocks
 * freed here may be targets of a client's read or write still at blkd).
 * Freed blocks are not reused before the next checkpoint (alloc.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"

/* Zero bytes [off, end) of one block of the file, if it is mapped. */
static int zero_partial(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t off,
			uint64_t end)
{
	blk64_t pblk = 0;
	errcode_t e;
	int r = 0, flags = 0;
	void *z;

	if (off >= end)
		return 0;
	e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)in, NULL, 0, off / d->bsize, &flags,
			 &pblk);
	if (e)
		return fsd_errno(e);
	if (!pblk || (flags & BMAP_RET_UNINIT))
		return 0;	/* reads as zeroes already */
	z = fsd_zalloc(d->host, end - off);
	if (!z)
		return -ENOMEM;
	r = data_write_bounce(d, ino, in, off, z, end - off);
	fsd_free(d->host, z);
	return r;
}

static int punch(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t first,
		 uint64_t last)
{
	errcode_t e;

	blkio_drain(d, 0);
	e = ext2fs_punch(d->fs, ino, (struct ext2_inode *)in, NULL, first, last);
	if (e)
		return fsd_errno(e);
	return inode_read(d, ino, in);
}

int file_set_size(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t size)
{
	uint64_t old = EXT2_I_SIZE(in);
	int r = 0;

	if (size < old) {
		uint64_t keep = (size + d->bsize - 1) / d->bsize;

		/* The tail of the new last block must read as zeroes if
		 * the file grows again. */
		if (size % d->bsize)
			r = zero_partial(d, ino, in, size, keep * d->bsize);
		if (r == 0)
			r = punch(d, ino, in, keep, ~0ULL);
		if (r < 0)
			return r;
	}
	ext2fs_inode_size_set(d->fs, (struct ext2_inode *)in, size);
	inode_touch(in, 1);
	return inode_write(d, ino, in);
}

int file_fallocate(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, unsigned mode,
		   uint64_t off, uint64_t len)
{
	uint64_t end = off + len, first = (off + d->bsize - 1) / d->bsize, last = end / d->bsize;
	errcode_t e;
	int r = 0;

	if (mode & (FS_FALLOC_PUNCH_HOLE | FS_FALLOC_ZERO_RANGE)) {
		/* Partial blocks at the ends: zero their bytes; whole
		 * blocks: free them (punch) or leave a zeroed extent. */
		uint64_t a_end = end < first * d->bsize ? end : first * d->bsize;

		r = zero_partial(d, ino, in, off, a_end < end ? a_end : end);
		if (r == 0 && last >= first && last * d->bsize < end)
			r = zero_partial(d, ino, in, last * d->bsize, end);
		if (r == 0 && last > first)
			r = punch(d, ino, in, first, last - 1);
		if (r < 0 || (mode & FS_FALLOC_PUNCH_HOLE))
			goto out;
	}
	/* Allocate: unwritten extents, which read as zeroes until written
	 * (the write path converts them). */
	first = off / d->bsize;
	last = (end + d->bsize - 1) / d->bsize;
	e = ext2fs_fallocate(d->fs, EXT2_FALLOCATE_FORCE_UNINIT | EXT2_FALLOCATE_INIT_BEYOND_EOF,
			     ino, NULL, ~0ULL, first, last - first);
	if (e)
		return fsd_errno(e);
	r = inode_read(d, ino, in);
	if (r == 0 && !(mode & FS_FALLOC_KEEP_SIZE) && end > EXT2_I_SIZE(in))
		ext2fs_inode_size_set(d->fs, (struct ext2_inode *)in, end);
out:
	if (r < 0)
		return r;
	inode_touch(in, 1);
	return inode_write(d, ino, in);
}

int inode_release(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t e = 0;

	if (ext2fs_inode_has_valid_blocks2(d->fs, (struct ext2_inode *)in)) {
		blkio_drain(d, 0);
		e = ext2fs_punch(d->fs, ino, (struct ext2_inode *)in, NULL, 0, ~0ULL);
		if (e)
			return fsd_errno(e);
	}
	if (ext2fs_file_acl_block(d->fs, (struct ext2_inode *)in)) {
		blk64_t acl = ext2fs_file_acl_block(d->fs, (struct ext2_inode *)in);
		__u32 count = 0;

		e = ext2fs_adjust_ea_refcount3(d->fs, acl, NULL, -1, &count, ino);
		if (e)
			return fsd_errno(e);
		if (count == 0)
			ext2fs_block_alloc_stats2(d->fs, acl, -1);
		ext2fs_file_acl_block_set(d->fs, (struct ext2_inode *)in, 0);
	}
	if (LINUX_S_ISDIR(in->i_mode))
		dcache_drop(d, ino);
	in->i_links_count = 0;
	in->i_dtime = (uint32_t)(now_real_ns() / 1000000000);
	e = ext2fs_write_inode_full(d->fs, ino, (struct ext2_inode *)in, sizeof(*in));
	if (e)
		return fsd_errno(e);
	ext2fs_inode_alloc_stats2(d->fs, ino, -1, LINUX_S_ISDIR(in->i_mode));
	return 0;
}
