/* SPDX-License-Identifier: MIT */
/*
 * iomgr.c - the io_manager libext2fs reads and writes metadata through.
 * Every access goes through the block cache (cache.c) at file-system
 * block granularity; requests in other units (libext2fs reads and writes
 * the superblock as 1024 bytes at offset 1024) are translated.  A write
 * makes the block dirty in the open transaction, except a write of the
 * bytes the block already holds (bitmaps and group descriptors rewritten
 * unchanged at every commit), which changes nothing.  Nothing reaches
 * the device here, except in bypass mode (mount set-up, recovery), where
 * writes go straight through.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"

#define FSD_IO_MAGIC EXT2_ET_MAGIC_UNIX_IO_CHANNEL
#define FSD_IO_PREFIX "aoki-fsd:"

/* The name carries the struct fsd's address: libext2fs passes nothing
 * else from ext2fs_open2 to the manager's open. */
void fsd_io_name(struct fsd *d, char buf[FSD_IO_NAME_MAX])
{
	snprintf(buf, FSD_IO_NAME_MAX, FSD_IO_PREFIX "%" PRIxPTR, (uintptr_t)d);
}

/* The struct fsd a name of fsd_io_name() names; NULL if not one. */
static struct fsd *fsd_of_name(const char *name)
{
	size_t n = sizeof(FSD_IO_PREFIX) - 1;
	uintptr_t v = 0;

	if (!name || strncmp(name, FSD_IO_PREFIX, n) || !name[n])
		return NULL;
	for (const char *p = name + n; *p; p++) {
		int x = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (x < 0 || v > UINTPTR_MAX >> 4)
			return NULL;
		v = v << 4 | (uintptr_t)x;
	}
	return (struct fsd *)v;
}

/* The cached block @blk, read from the device if needed. */
static int get_block(struct fsd *d, uint64_t blk, struct cache_block **out)
{
	struct cache_block *b = cache_find(&d->cache, blk);
	int r;

	if (b) {
		*out = b;
		return 0;
	}
	if (blk >= d->info.size / d->bsize)
		return -ERANGE;
	b = cache_insert(&d->cache, blk);
	if (!b)
		return -ENOMEM;
	r = blkio_read(d, blk, 1, b->data);
	if (r < 0) {
		cache_forget(&d->cache, blk);
		return r;
	}
	*out = b;
	return 0;
}

/* Read @len bytes at byte @off through the cache. */
static int read_bytes(struct fsd *d, uint64_t off, size_t len, void *buf)
{
	while (len) {
		uint64_t blk = off / d->bsize;
		size_t in = off % d->bsize, n = d->bsize - in;
		struct cache_block *b;
		int r;

		if (n > len)
			n = len;
		r = get_block(d, blk, &b);
		if (r < 0)
			return r;
		memcpy(buf, b->data + in, n);
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Write @len bytes at byte @off into the cache (dirty), or through to
 * the device in bypass mode. */
static int write_bytes(struct fsd *d, uint64_t off, size_t len, const void *buf)
{
	while (len) {
		uint64_t blk = off / d->bsize;
		size_t in = off % d->bsize, n = d->bsize - in;
		struct cache_block *b = NULL;
		int r;

		if (n > len)
			n = len;
		if (n == d->bsize) {
			b = cache_find(&d->cache, blk);
			if (!b) {
				/* Not cached: whether it changes is unknown. */
				if (!(b = cache_insert(&d->cache, blk)))
					return -ENOMEM;
			} else if (b->state == CB_CLEAN && !memcmp(b->data, buf, n) &&
				   !d->bypass) {
				goto next;	/* unchanged: nothing to do */
			}
		} else {
			r = get_block(d, blk, &b);
			if (r < 0)
				return r;
			if (b->state == CB_CLEAN && !memcmp(b->data + in, buf, n) && !d->bypass)
				goto next;
		}
		if (d->bypass) {
			memcpy(b->data + in, buf, n);
			r = blkio_write(d, blk, 1, b->data, 0);
			if (r < 0) {
				cache_forget(&d->cache, blk);
				return r;
			}
		} else {
			if (d->io_error)
				return -EROFS;
			/* Dirty first: a committed block keeps its image. */
			r = cache_mark_dirty(&d->cache, b, now_real_ns());
			if (r < 0)
				return r;
			memcpy(b->data + in, buf, n);
			stage_note(d, b);
		}
next:
		buf = (const char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static size_t span(io_channel ch, int count)
{
	return count < 0 ? (size_t)-count : (size_t)count * (size_t)ch->block_size;
}

static errcode_t fsd_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	struct fsd *d = ch->private_data;
	int r = read_bytes(d, block * (uint64_t)ch->block_size, span(ch, count), data);

	return r == 0 ? 0 : r == -ENOMEM ? EXT2_ET_NO_MEMORY : EXT2_ET_SHORT_READ;
}

static errcode_t fsd_write_blk64(io_channel ch, unsigned long long block, int count,
				 const void *data)
{
	struct fsd *d = ch->private_data;
	int r = write_bytes(d, block * (uint64_t)ch->block_size, span(ch, count), data);

	return r == 0 ? 0 : r == -ENOMEM ? EXT2_ET_NO_MEMORY : r == -EROFS ? EXT2_ET_RO_FILSYS
									     : EXT2_ET_SHORT_WRITE;
}

static errcode_t fsd_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return fsd_read_blk64(ch, block, count, data);
}

static errcode_t fsd_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
	return fsd_write_blk64(ch, block, count, data);
}

static errcode_t fsd_open(const char *name, int flags, io_channel *out)
{
	struct fsd *d = fsd_of_name(name);
	io_channel ch;

	if (!d)
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = fsd_zalloc(d->host, sizeof(*ch));
	if (!ch)
		return EXT2_ET_NO_MEMORY;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = fsd_io_manager;
	ch->name = fsd_strdup(d->host, name);
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = d;
	*out = ch;
	return 0;
}

/* Frees the channel; writes nothing (fsd_release relies on it). */
static errcode_t fsd_close(io_channel ch)
{
	struct fsd *d = ch->private_data;

	if (--ch->refcount > 0)
		return 0;
	fsd_free(d->host, ch->name);
	fsd_free(d->host, ch);
	return 0;
}

static errcode_t fsd_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

/* libext2fs's flush: nothing; durability is the transaction's business. */
static errcode_t fsd_flush(io_channel ch)
{
	return 0;
}

static errcode_t fsd_set_option(io_channel ch, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t fsd_discard(io_channel ch, unsigned long long block, unsigned long long count)
{
	return EXT2_ET_UNIMPLEMENTED;
}

static errcode_t fsd_readahead(io_channel ch, unsigned long long block, unsigned long long count)
{
	return 0;
}

static errcode_t fsd_zeroout(io_channel ch, unsigned long long block, unsigned long long count)
{
	return EXT2_ET_UNIMPLEMENTED;	/* libext2fs falls back to writes */
}

static struct struct_io_manager manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "aoki-blkd",
	.open = fsd_open,
	.close = fsd_close,
	.set_blksize = fsd_set_blksize,
	.read_blk = fsd_read_blk,
	.write_blk = fsd_write_blk,
	.flush = fsd_flush,
	/* No write_byte: libext2fs then writes the superblock whole, with
	 * its checksum, instead of field by field (a torn one on disk in
	 * bypass mode). */
	.set_option = fsd_set_option,
	.read_blk64 = fsd_read_blk64,
	.write_blk64 = fsd_write_blk64,
	.discard = fsd_discard,
	.cache_readahead = fsd_readahead,
	.zeroout = fsd_zeroout,
};

io_manager fsd_io_manager = &manager;
