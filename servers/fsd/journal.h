/* SPDX-License-Identifier: MIT */
/*
 * journal.h - a jbd2 journal writer and replayer (private to servers/fsd).
 *
 * The on-disk format is the Linux kernel's (Documentation/filesystems/
 * ext4/journal.rst): a journal superblock (v2), then a circular log of
 * transactions, each a descriptor block naming the home block of each
 * metadata block that follows it, those blocks (escaped where they start
 * with the jbd2 magic), optional revoke blocks, and a commit block.  With
 * csum v3 (set whenever the file system has metadata_csum, as the kernel
 * does) each tag carries the crc32c of its block and descriptor, revoke
 * and commit blocks end in their own crc32c; 64-bit tags when the file
 * system is 64bit.
 *
 * The module knows nothing of libext2fs: it writes and reads file-system
 * blocks through struct journal_dev, and is given the journal inode's
 * block map.  The caller (the overlay) decides what goes in a
 * transaction and when home locations are written (checkpoint).
 *
 * Write order of journal_commit: descriptor + metadata (+ revoke) blocks,
 * FLUSH (which also covers any data the caller wrote before), then the
 * commit block with FUA.  When it returns 0 the transaction is durable.
 */
#ifndef AOKI_FSD_JOURNAL_H
#define AOKI_FSD_JOURNAL_H

#include <stdint.h>

struct aoki_host;

/* Block I/O of the journal, in file-system blocks.  Each returns 0 or
 * -errno.  write with @fua: durable when it returns.  @host: where the
 * journal's memory comes from (mem.h: NULL, libc). */
struct journal_dev {
	int (*read)(void *ctx, uint64_t block, unsigned count, void *buf);
	int (*write)(void *ctx, uint64_t block, unsigned count, const void *buf, int fua);
	int (*flush)(void *ctx);
	void *ctx;
	struct aoki_host *host;
};

/* One metadata block of a transaction: its home location and content
 * (block_size bytes). */
struct journal_block {
	uint64_t home;
	const void *data;
};

struct journal;

/* What the journal superblock says, for status and tests. */
struct journal_info {
	uint32_t blocks;	/* log blocks (journal size) */
	uint32_t first;		/* first log block */
	uint32_t start;		/* log block of the oldest live transaction;
				 * 0: the journal is empty (clean) */
	uint32_t sequence;	/* tid expected at start */
	uint32_t next_tid;	/* tid of the next commit */
	uint32_t head;		/* log block the next commit starts at */
	uint32_t free;		/* log blocks a commit may still use
				 * (0 before journal_start) */
	int csum_v3;
	int tag64;
};

/*
 * journal_open - read and check the journal superblock at log block 0.
 * @map: the file-system block of each of the @nblocks log blocks (the
 * journal inode's block map; copied).  @fs_uuid: the file system's UUID
 * (the checksum seed is the journal's own UUID; when that is zero,
 * journal_start writes fs_uuid there first, and recovery, as the kernel,
 * seeds with the zero UUID).  @csum_v3 / @tag64: turn those features on in the
 * superblock if not yet set (written at journal_start).
 * Returns 0, -EUCLEAN (not a jbd2 v2 superblock, a bad checksum, a size
 * that does not fit @nblocks, a feature we cannot write: async commit,
 * csum v1/v2, fast commit), -ENOMEM, or a read error.
 */
int journal_open(struct journal **out, const struct journal_dev *dev, const uint64_t *map,
		 uint32_t nblocks, uint32_t block_size, const uint8_t fs_uuid[16], int csum_v3,
		 int tag64);

/*
 * journal_recover - if the journal holds transactions (start != 0),
 * replay every committed one in order to its home locations (honouring
 * revoke records, checking every checksum: a transaction whose
 * descriptor, tags or commit block does not check ends the log there,
 * as the kernel does), flush, and mark the journal empty.  The next
 * tid is the one after the tid the scan stopped at (last replayed + 2),
 * as jbd2 does: a commit block of the stopped-at tid may still lie in
 * the log.  Only the last copy of each home block is written.
 * *@replayed gets the number of transactions replayed (may be NULL).
 * Returns 0, -EUCLEAN (a malformed block inside a committed transaction:
 * a home location outside @fs_blocks, a bad revoke count), -EINVAL
 * (after journal_start), -ENOMEM, or an I/O error.
 */
int journal_recover(struct journal *j, uint64_t fs_blocks, unsigned *replayed);

/*
 * journal_scan - what journal_recover would do, writing nothing: *@last
 * gets the tid of the last committed transaction in the log (the one
 * before the start's if none), *@next the tid journal_recover will leave
 * for the next commit.  Returns 0 or an error as journal_recover.
 */
int journal_scan(struct journal *j, uint64_t fs_blocks, uint32_t *last, uint32_t *next);

/*
 * journal_start - make the journal ready to take commits: write the
 * superblock with start = first log block and the next sequence (and the
 * requested features), FUA.  Called once after journal_recover, before
 * the first journal_commit.  Transactions still in the log (recovery was
 * not asked for: the file system did not say needs_recovery) are dropped
 * as the kernel does, the next tid going past them.  Returns 0, -EINVAL
 * (called twice), -ENOMEM, or an I/O error.
 */
int journal_start(struct journal *j);

/*
 * journal_space - log blocks that a transaction of @nblocks metadata
 * blocks and @nrevoke revoked blocks needs (descriptors, revoke blocks,
 * commit block included).  Compare with journal_get_info().free.
 */
uint32_t journal_space(const struct journal *j, unsigned nblocks, unsigned nrevoke);

/*
 * journal_commit - write one transaction: @n metadata blocks and @nrevoke
 * revoked home locations (blocks journaled by an earlier, not yet
 * checkpointed transaction that must not be replayed any more).  Returns
 * the transaction's tid (>= 0 as an int64) or -ENOSPC (not enough free
 * log: checkpoint first), -EINVAL (@n == 0 and @nrevoke == 0), or an I/O
 * error (the journal is then unusable: -EIO for every later commit).
 */
int64_t journal_commit(struct journal *j, const struct journal_block *blocks, unsigned n,
		       const uint64_t *revoke, unsigned nrevoke);

/*
 * journal_checkpointed - the caller has written the home location of
 * every block of every transaction committed so far, and flushed: free
 * the log (superblock start = the next commit's position, sequence = its
 * tid; written FUA).  Returns 0 or -errno.
 */
int journal_checkpointed(struct journal *j);

/*
 * journal_close - after a final checkpoint: mark the journal empty
 * (start = 0, sequence = the next tid) with FUA, as a clean unmount does,
 * and free @j.  With @clean 0 (the caller could not checkpoint), only
 * free.  Returns 0 or -errno of the write.
 */
int journal_close(struct journal *j, int clean);

void journal_get_info(const struct journal *j, struct journal_info *out);

/* crc32c (Castagnoli), without pre- or post-inversion, as the kernel's
 * crc32c() and jbd2 use it. */
uint32_t journal_crc32c(uint32_t crc, const void *buf, unsigned long len);

#endif
