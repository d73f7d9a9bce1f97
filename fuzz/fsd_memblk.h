/* SPDX-License-Identifier: MIT */
/*
 * fsd_memblk.h - aoki-fsd's blkio seam (servers/fsd/blkio.c, declared in
 * fsd.h) over memory, for harnesses that run fsd's file-system code in
 * one process without aoki-blkd.  Metadata I/O works on a caller-owned
 * image; the asynchronous data path (client grants imported into blkd)
 * has no memory equivalent and answers -EOPNOTSUPP, so harnesses write
 * file data with data_write_bounce().
 */
#ifndef AOKI_FUZZ_FSD_MEMBLK_H
#define AOKI_FUZZ_FSD_MEMBLK_H

#include <stddef.h>
#include <stdint.h>

#define MEMBLK_SECTOR 512	/* the volume's block size */
#define MEMBLK_TRACK 4096	/* granularity of the written-block record */

struct memblk {
	uint8_t *img;		/* the volume's bytes */
	size_t size;		/* a multiple of MEMBLK_TRACK */
	uint8_t *written;	/* one byte per MEMBLK_TRACK chunk written */
	unsigned fail_at;	/* fail the fail_at-th I/O with -EIO (0: none) */
	unsigned ios;		/* I/Os done since memblk_reset */
};

/* The volume blkio_open() serves next (and the one in use). */
extern struct memblk memblk;

/* Copy the chunks written since the last call back from @base (the
 * image as it was), forget them and the I/O count. */
void memblk_restore(const uint8_t *base);

#endif
