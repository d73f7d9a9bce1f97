/* SPDX-License-Identifier: MIT */
/*
 * mount.c - opening the image and closing it cleanly.
 *
 * Mount: read the superblock raw to learn the block size; open it with
 * libext2fs over our io_manager; refuse features we cannot keep
 * consistent; map the journal inode; replay the journal if the last user
 * crashed (then reopen: libext2fs read the pre-replay metadata); set
 * needs_recovery and make it durable before the first commit (a kernel
 * that finds a journal without it wipes the journal); start the log.
 * Unmount: commit, checkpoint, mark the log empty, clear needs_recovery.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsd.h"

static int jread(void *ctx, uint64_t block, unsigned count, void *buf)
{
	return blkio_read(ctx, block, count, buf);
}

static int jwrite(void *ctx, uint64_t block, unsigned count, const void *buf, int fua)
{
	return blkio_write(ctx, block, count, buf, fua);
}

static int jflush(void *ctx)
{
	return blkio_flush(ctx);
}

/* The block size, from the raw superblock; -EUCLEAN if not ext2/3/4. */
static int probe(struct fsd *d)
{
	uint8_t *sb = fsd_alloc(d->host, 4096);
	uint32_t log;
	int r;

	if (!sb)
		return -ENOMEM;
	d->bsize = 4096 > d->info.block_size ? 4096 : d->info.block_size;
	if (d->info.size < 8192) {
		fsd_free(d->host, sb);
		return -EUCLEAN;
	}
	r = blkio_read(d, 0, 1, sb);
	if (r == 0) {
		log = sb[1024 + 24] | sb[1024 + 25] << 8 | sb[1024 + 26] << 16 |
		      (uint32_t)sb[1024 + 27] << 24;
		if ((sb[1024 + 56] | sb[1024 + 57] << 8) != EXT2_SUPER_MAGIC || log > 6)
			r = -EUCLEAN;
		else
			d->bsize = 1024u << log;
	}
	fsd_free(d->host, sb);
	if (r == 0 && (d->bsize % d->info.block_size || d->bsize < d->info.mem_align)) {
		fprintf(stderr, "aoki-fsd: file-system blocks of %u bytes cannot be read "
			"directly from a volume with %u-byte blocks; make the file system "
			"with mke2fs -b 4096\n", d->bsize, d->info.block_size);
		r = -EINVAL;
	}
	return r;
}

/* Open the file system; with @bitmaps, read the bitmaps too (not before
 * a journal replay: a crash in the middle of a checkpoint leaves bitmaps
 * and group descriptors that disagree until the replay). */
static int open_fs(struct fsd *d, int bitmaps)
{
	int flags = EXT2_FLAG_64BITS | (d->cfg.read_only ? 0 : EXT2_FLAG_RW);
	char name[FSD_IO_NAME_MAX];
	errcode_t e;

	fsd_io_name(d, name);
	e = ext2fs_open2(name, NULL, flags, 0, 0, fsd_io_manager, &d->fs);
	if (e) {
		d->fs = NULL;
		fprintf(stderr, "aoki-fsd: cannot open the file system: %s\n", error_message(e));
		return e == EXT2_ET_UNSUPP_FEATURE || e == EXT2_ET_RO_UNSUPP_FEATURE ? -EOPNOTSUPP
										  : -EUCLEAN;
	}
	d->fs->priv_data = d;	/* alloc.c's callbacks reach their fsd here */
	d->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	if (!bitmaps)
		return 0;
	/* e2fsck's first checks, before libext2fs trusts the layout: it
	 * overruns a buffer reading the bitmaps when s_first_data_block is
	 * wrong, and reads wherever the group descriptors point. */
	if (d->fs->super->s_first_data_block !=
	    (d->fs->super->s_log_block_size == 0 && EXT2FS_CLUSTER_RATIO(d->fs) == 1))
		e = EXT2_ET_CORRUPT_SUPERBLOCK;
	else
		e = ext2fs_check_desc(d->fs);
	if (e) {
		fprintf(stderr, "aoki-fsd: the file system is damaged: %s\n", error_message(e));
		return -EUCLEAN;
	}
	e = ext2fs_read_bitmaps(d->fs);
	if (e) {
		fprintf(stderr, "aoki-fsd: cannot read the bitmaps: %s\n", error_message(e));
		return -EUCLEAN;
	}
	return 0;
}

static void close_fs(struct fsd *d)
{
	if (d->fs)
		ext2fs_free(d->fs);
	d->fs = NULL;
}

/* Features whose on-disk rules fsd does not implement: refuse to write. */
static const struct {
	int (*has)(struct ext2_super_block *s);
	const char *name;
} refused[] = {
	{ ext2fs_has_feature_inline_data, "inline_data" },
	{ ext2fs_has_feature_bigalloc, "bigalloc" },
	{ ext2fs_has_feature_encrypt, "encrypt" },
	{ ext2fs_has_feature_casefold, "casefold" },
	{ ext2fs_has_feature_verity, "verity" },
	{ ext2fs_has_feature_orphan_file, "orphan_file" },
	{ ext2fs_has_feature_journal_dev, "external journal" },
};

static int check_features(struct fsd *d)
{
	struct ext2_super_block *s = d->fs->super;
	const char *bad = NULL;

	if (d->cfg.read_only)
		return 0;
	if (!ext2fs_has_feature_journal(s) || !s->s_journal_inum)
		bad = "no internal journal (add one with tune2fs -j)";
	for (size_t i = 0; !bad && i < sizeof(refused) / sizeof(refused[0]); i++)
		if (refused[i].has(s))
			bad = refused[i].name;
	if (!bad)
		return 0;
	fprintf(stderr, "aoki-fsd: cannot serve this file system read-write: %s\n", bad);
	return -EOPNOTSUPP;
}

static int map_journal(struct fsd *d, uint32_t *nblocks)
{
	struct ext2_inode_large in;
	ext2_ino_t ino = d->fs->super->s_journal_inum;
	uint64_t size;
	int r;

	if (ino < 1 || ino > d->fs->super->s_inodes_count || inode_read(d, ino, &in) < 0)
		return -EUCLEAN;
	size = EXT2_I_SIZE(&in);
	if (size / d->bsize < 1024 || size / d->bsize > (1u << 24))
		return -EUCLEAN;
	*nblocks = (uint32_t)(size / d->bsize);
	fsd_free(d->host, d->journal_map);
	d->journal_map = fsd_alloc(d->host, *nblocks * sizeof(uint64_t));
	if (!d->journal_map)
		return -ENOMEM;
	r = file_map(d, ino, &in, d->journal_map, *nblocks);
	if (r < 0)
		return -EUCLEAN;
	for (uint32_t i = 0; i < *nblocks; i++)
		if (!d->journal_map[i] || d->journal_map[i] >= ext2fs_blocks_count(d->fs->super))
			return -EUCLEAN;
	return 0;
}

static int load_journal(struct fsd *d)
{
	/* journal_open keeps a copy. */
	struct journal_dev dev = { jread, jwrite, jflush, d, d->host };
	struct ext2_super_block *s = d->fs->super;
	uint32_t nblocks;
	int r = map_journal(d, &nblocks);

	if (r < 0) {
		fprintf(stderr, "aoki-fsd: the journal inode is damaged\n");
		return r;
	}
	r = journal_open(&d->journal, &dev, d->journal_map, nblocks, d->bsize, s->s_uuid,
			 ext2fs_has_feature_metadata_csum(s), ext2fs_has_feature_64bit(s));
	if (r < 0)
		fprintf(stderr, "aoki-fsd: the journal superblock is not valid: %s\n",
			strerror(-r));
	return r;
}

void fsd_release(struct fsd *d, int own)
{
	if (own) {
		journal_close(d->journal, 0);	/* frees, writes nothing */
		dcache_clear(d);
		replies_close(d);
	}
	d->journal = NULL;
	alloc_fini(d);	/* a libext2fs bitmap */
	/* ext2fs_free writes nothing (ext2fs_close would flush): it frees
	 * libext2fs's objects and closes the io channel, whose close
	 * (iomgr.c) only frees it. */
	close_fs(d);
	if (own) {
		cache_destroy(&d->cache);
		fsd_free(d->host, d->journal_map);
	}
	d->journal_map = NULL;
	stage_close(d, own);
	fsd_unclaim(d);
}

/* A mount that failed: free what it took, writing nothing. */
static int mount_failed(struct fsd *d, int r)
{
	fsd_release(d, 1);
	return r;
}

/* Open the image (fsd_mount); on failure everything is released. */
static int mount_image(struct fsd *d)
{
	unsigned replayed = 0;
	int r = fsd_claim(d);

	if (r < 0)
		return r;
	if (d->cfg.stage_path && !d->cfg.read_only && stage_open(d, d->cfg.stage_path) < 0)
		fprintf(stderr, "aoki-fsd: cannot use %s: a crash of aoki-fsd will lose what "
			"was not yet committed (%s)\n", d->cfg.stage_path, strerror(errno));
	r = probe(d);
	if (r == 0)
		r = cache_init(&d->cache, d->host, d->bsize, FSD_CACHE_BLOCKS);
	if (r == 0)
		r = open_fs(d, d->cfg.read_only);
	if (r == 0)
		r = check_features(d);
	if (r < 0 || d->cfg.read_only)
		return r;
	r = load_journal(d);
	if (r < 0)
		return r;
	if (ext2fs_has_feature_journal_needs_recovery(d->fs->super)) {
		uint8_t uuid[16];
		uint32_t last, next;

		memcpy(uuid, d->fs->super->s_uuid, 16);
		/* The last transaction the log holds, and the tid the replay
		 * will restart the log at.  A ring that belongs after that
		 * transaction is moved to the restarted tid before the replay
		 * rewrites the log's superblock: a crash between the two must
		 * still find it valid. */
		r = journal_scan(d->journal, ext2fs_blocks_count(d->fs->super), &last, &next);
		if (r == 0 && d->stage && stage_valid(d, last, uuid)) {
			stage_rebase(d, next);
			last = next - 1;
		}
		d->bypass = 1;
		if (r == 0)
			r = journal_recover(d->journal, ext2fs_blocks_count(d->fs->super),
					    &replayed);
		d->bypass = 0;
		if (r < 0) {
			fprintf(stderr, "aoki-fsd: journal replay failed: %s\n", strerror(-r));
			return r;
		}
		d->st.replayed = replayed;
		/* libext2fs and the cache hold the metadata as it was before
		 * the replay: start again from the device. */
		journal_close(d->journal, 0);
		d->journal = NULL;
		close_fs(d);
		cache_destroy(&d->cache);
		r = cache_init(&d->cache, d->host, d->bsize, FSD_CACHE_BLOCKS);
		d->stage_last = last;
		d->stage_uuid_ok = 1;
		memcpy(d->stage_uuid, uuid, 16);
	}
	if (r == 0) {
		/* Again, after the replay and with the bitmaps. */
		journal_close(d->journal, 0);
		d->journal = NULL;
		close_fs(d);
		r = open_fs(d, 1);
		if (r == 0)
			r = load_journal(d);
	}
	if (r < 0)
		return r;
	/* needs_recovery durable before the first commit; written while
	 * the image is as the journal left it (consistent).  After a crash
	 * it is on the device already: no write, no flush (a flush costs
	 * 10-15 ms here, and every one is in the restart's stall). */
	d->bypass = 1;
	if (!ext2fs_has_feature_journal_needs_recovery(d->fs->super)) {
		ext2fs_set_feature_journal_needs_recovery(d->fs->super);
		d->fs->super->s_mtime = (uint32_t)(now_real_ns() / 1000000000);
		ext2fs_mark_super_dirty(d->fs);
		r = ext2fs_flush2(d->fs, 0) ? -EIO : 0;
		if (r == 0)
			r = blkio_flush(d);
	}
	if (r == 0 && d->stage_uuid_ok && stage_valid(d, d->stage_last, d->stage_uuid)) {
		struct journal_info ji;

		/* The ring now belongs to the journal's next transaction,
		 * before the journal restarts at it: a crash from here on
		 * still finds the ring valid. */
		journal_get_info(d->journal, &ji);
		stage_rebase(d, ji.next_tid);
		d->stage_apply = 1;
	}
	if (r == 0)
		r = journal_start(d->journal);
	d->bypass = 0;
	if (r == 0 && d->stage_apply) {
		/* What the crashed process had acknowledged but not yet
		 * committed: into the cache as the open transaction, then
		 * libext2fs reads the metadata again (through the cache).
		 * The ring keeps it until the commit below. */
		r = stage_apply(d, &d->staged_applied);
		if (r == 0 && d->staged_applied) {
			close_fs(d);
			r = open_fs(d, 1);
		}
	}
	if (r == 0)
		r = alloc_init(d);
	if (r == 0)
		r = replies_open(d);
	if (r == 0)
		r = txn_commit(d);
	if (r == 0) {
		struct journal_info ji;

		journal_get_info(d->journal, &ji);
		stage_reset(d, ji.next_tid);
	}
	return r;
}

int fsd_mount(struct fsd *d)
{
	int r = mount_image(d);

	return r < 0 ? mount_failed(d, r) : 0;
}

int fsd_unmount(struct fsd *d)
{
	int r = 0;

	if (!d->fs)
		return 0;
	if (!d->cfg.read_only && d->journal) {
		blkio_drain(d, 0);
		r = txn_commit(d);
		if (r == 0)
			r = txn_checkpoint(d);
		if (r == 0)
			r = journal_close(d->journal, 1);
		else
			journal_close(d->journal, 0);
		d->journal = NULL;
		if (r == 0) {
			d->bypass = 1;
			ext2fs_clear_feature_journal_needs_recovery(d->fs->super);
			ext2fs_mark_super_dirty(d->fs);
			r = ext2fs_flush2(d->fs, 0) ? -EIO : 0;
			if (r == 0)
				r = blkio_flush(d);
			d->bypass = 0;
		}
	}
	fsd_release(d, 1);
	return r;
}
