/* SPDX-License-Identifier: MIT */
/*
 * journal.c - the jbd2 log: its superblock, commit (writer side) and
 * recovery (replayer side), from the format of the kernel's
 * Documentation/filesystems/ext4/journal.rst.  See journal.h for the
 * contract.
 *
 * The log is log blocks first..maxlen-1, used circularly.  The writer
 * keeps two positions: head, where the next transaction goes, and tail,
 * where the oldest transaction not yet checkpointed starts (head == tail:
 * nothing is live).  One block between head and tail always stays free,
 * so that a full log and an empty one never look alike.
 *
 * Everything read from the log is hostile: block numbers, counts and
 * offsets are checked before use, every loop is bounded by the log size
 * or the block size, and a block that is not exactly what the format
 * says ends the log (recovery stops there) or, inside a transaction whose
 * commit block checks, fails recovery with -EUCLEAN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "mem.h"

#define JBD2_MAGIC 0xC03B3998u

enum { BT_DESCRIPTOR = 1, BT_COMMIT = 2, BT_SB_V1 = 3, BT_SB_V2 = 4, BT_REVOKE = 5 };

/* Feature bits (journal superblock). */
#define COMPAT_CHECKSUM 0x1u
#define INCOMPAT_REVOKE 0x1u
#define INCOMPAT_64BIT 0x2u
#define INCOMPAT_ASYNC_COMMIT 0x4u
#define INCOMPAT_CSUM_V2 0x8u
#define INCOMPAT_CSUM_V3 0x10u
#define INCOMPAT_FAST_COMMIT 0x20u
#define CSUM_TYPE_CRC32C 4

/* Tag flags. */
#define TAG_ESCAPE 1u
#define TAG_SAME_UUID 2u
#define TAG_LAST 8u

/* Byte offsets of the journal superblock (v2) fields. */
enum {
	SB_BLOCKSIZE = 0x0C, SB_MAXLEN = 0x10, SB_FIRST = 0x14, SB_SEQUENCE = 0x18,
	SB_START = 0x1C, SB_COMPAT = 0x24, SB_INCOMPAT = 0x28, SB_RO_COMPAT = 0x2C,
	SB_UUID = 0x30, SB_CSUM_TYPE = 0x50, SB_CHECKSUM = 0xFC, SB_SIZE = 0x400,
};
/* Every log block starts with magic, type, sequence (12 bytes). */
#define HDR_SIZE 12
/* Commit block: h_chksum_type, h_chksum_size, h_chksum[0], time. */
enum { CB_CSUM_TYPE = 12, CB_CSUM_SIZE = 13, CB_CSUM = 16, CB_SEC = 48, CB_NSEC = 56 };
/* Revoke block: r_count (bytes used, header included), then records. */
enum { RB_COUNT = 12, RB_RECORDS = 16 };
#define UUID_SIZE 16
#define TAIL_SIZE 4	/* crc32c tail of descriptor and revoke blocks */

struct journal {
	struct journal_dev dev;
	uint64_t *map;		/* file-system block of each log block */
	uint32_t bs;
	uint32_t first, maxlen, len;	/* log area: [first, maxlen), len blocks */
	uint32_t head, tail;	/* see the top of the file */
	uint32_t next_tid;
	uint32_t seed;		/* crc32c of the journal's UUID */
	int csum, tag64;	/* as the superblock on disk says: how to read */
	int w_csum, w_tag64;	/* what commits write (set at journal_start) */
	int started;		/* journal_start done: commits allowed */
	int broken;		/* a commit's I/O failed: the log is unknown */
	uint8_t fs_uuid[UUID_SIZE];
	uint8_t *sb;		/* log block 0, bs bytes */
	uint8_t *blk;		/* one scratch block (commit block, scan) */
	uint8_t *buf;		/* a transaction's log blocks before commit */
	size_t bufcap;		/* in blocks */
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

/* tid a comes after b (tids wrap at 2^32, as in jbd2). */
static int tid_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* Bytes per tag, tags per descriptor block and records per revoke block
 * of a journal with these features.  Each descriptor reserves room for
 * the UUID after its first tag. */
static unsigned tag_bytes(int csum, int tag64)
{
	return csum ? 16 : tag64 ? 12 : 8;
}

static unsigned tail_bytes(int csum)
{
	return csum ? TAIL_SIZE : 0;
}

static unsigned tags_per_desc(const struct journal *j)
{
	return (j->bs - HDR_SIZE - tail_bytes(j->w_csum) - UUID_SIZE) /
	       tag_bytes(j->w_csum, j->w_tag64);
}

static unsigned recs_per_revoke(const struct journal *j)
{
	return (j->bs - RB_RECORDS - tail_bytes(j->w_csum)) / (j->w_tag64 ? 8 : 4);
}

/* The position @n blocks after log block @pos. */
static uint32_t log_next(const struct journal *j, uint32_t pos, uint32_t n)
{
	return j->first + (uint32_t)(((uint64_t)pos - j->first + n) % j->len);
}

/* Blocks between tail and head: the live part of the log. */
static uint32_t log_used(const struct journal *j)
{
	return (uint32_t)(((uint64_t)j->head + j->len - j->tail) % j->len);
}

/*
 * Read or write @count log blocks from @pos on, wrapping at the end of the
 * log; one device call per run of blocks that is contiguous both in the
 * log and in the map (the journal inode is usually one extent, so a
 * transaction is one call).
 */
static int log_io(struct journal *j, uint32_t pos, uint32_t count, void *buf, int write,
		  int fua)
{
	uint8_t *p = buf;

	while (count) {
		uint32_t run = 1;
		int r;

		while (run < count && pos + run < j->maxlen && j->map[pos + run] == j->map[pos] + run)
			run++;
		r = write ? j->dev.write(j->dev.ctx, j->map[pos], run, p, fua)
			  : j->dev.read(j->dev.ctx, j->map[pos], run, p);
		if (r < 0)
			return r;
		p += (size_t)run * j->bs;
		count -= run;
		pos = log_next(j, pos, run);
	}
	return 0;
}

static uint32_t sb_csum(const struct journal *j)
{
	uint8_t zero[4] = { 0 };
	uint32_t c = journal_crc32c(~0u, j->sb, SB_CHECKSUM);

	c = journal_crc32c(c, zero, 4);
	return journal_crc32c(c, j->sb + SB_CHECKSUM + 4, SB_SIZE - SB_CHECKSUM - 4);
}

/* The crc32c of a block whose 4 bytes at @off count as zero. */
static uint32_t block_csum(const struct journal *j, const uint8_t *b, unsigned off)
{
	uint8_t zero[4] = { 0 };
	uint32_t c = journal_crc32c(j->seed, b, off);

	c = journal_crc32c(c, zero, 4);
	return journal_crc32c(c, b + off + 4, j->bs - off - 4);
}

static uint32_t tag_csum(const struct journal *j, uint32_t tid, const uint8_t *data)
{
	uint8_t seq[4];

	put32(seq, tid);
	return journal_crc32c(journal_crc32c(j->seed, seq, 4), data, j->bs);
}

/* Write the superblock, start = @start, sequence = @seq, FUA: the one
 * write that moves the log's tail, so it must be durable on return. */
static int sb_write(struct journal *j, uint32_t start, uint32_t seq)
{
	put32(j->sb + SB_START, start);
	put32(j->sb + SB_SEQUENCE, seq);
	if (j->csum) {
		j->sb[SB_CSUM_TYPE] = CSUM_TYPE_CRC32C;
		put32(j->sb + SB_CHECKSUM, sb_csum(j));
	}
	return j->dev.write(j->dev.ctx, j->map[0], 1, j->sb, 1);
}

static void seed_from_sb(struct journal *j)
{
	j->seed = journal_crc32c(~0u, j->sb + SB_UUID, UUID_SIZE);
}

int journal_open(struct journal **out, const struct journal_dev *dev, const uint64_t *map,
		 uint32_t nblocks, uint32_t block_size, const uint8_t fs_uuid[16], int csum_v3,
		 int tag64)
{
	struct journal *j;
	uint32_t incompat, start;
	int r = -EUCLEAN;

	*out = NULL;
	if (nblocks < 2 || block_size < SB_SIZE || (block_size & (block_size - 1)))
		return -EUCLEAN;
	j = fsd_zalloc(dev->host, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->dev = *dev;
	j->bs = block_size;
	j->map = fsd_alloc(dev->host, (size_t)nblocks * sizeof(*map));
	j->sb = fsd_alloc(dev->host, block_size);
	j->blk = fsd_alloc(dev->host, block_size);
	if (!j->map || !j->sb || !j->blk) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(j->map, map, (size_t)nblocks * sizeof(*map));
	memcpy(j->fs_uuid, fs_uuid, UUID_SIZE);
	r = dev->read(dev->ctx, map[0], 1, j->sb);
	if (r < 0)
		goto fail;
	r = -EUCLEAN;
	if (get32(j->sb) != JBD2_MAGIC || get32(j->sb + 4) != BT_SB_V2 ||
	    get32(j->sb + SB_BLOCKSIZE) != block_size)
		goto fail;
	j->maxlen = get32(j->sb + SB_MAXLEN);
	j->first = get32(j->sb + SB_FIRST);
	start = get32(j->sb + SB_START);
	/* A log of fewer than 4 blocks cannot hold a descriptor, a block, a
	 * commit and the gap. */
	if (j->maxlen > nblocks || j->first < 1 || j->first >= j->maxlen ||
	    j->maxlen - j->first < 4 || (start && (start < j->first || start >= j->maxlen)))
		goto fail;
	j->len = j->maxlen - j->first;
	incompat = get32(j->sb + SB_INCOMPAT);
	/* Async commit, csum v1/v2 and fast commit are formats we neither
	 * write nor replay; unknown features we cannot even read. */
	if (get32(j->sb + SB_COMPAT) & COMPAT_CHECKSUM || get32(j->sb + SB_RO_COMPAT) ||
	    incompat & ~(INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_CSUM_V3))
		goto fail;
	j->csum = !!(incompat & INCOMPAT_CSUM_V3);
	j->tag64 = !!(incompat & INCOMPAT_64BIT);
	if (j->csum && (j->sb[SB_CSUM_TYPE] != CSUM_TYPE_CRC32C ||
			get32(j->sb + SB_CHECKSUM) != sb_csum(j)))
		goto fail;
	j->w_csum = j->csum || csum_v3;
	j->w_tag64 = j->tag64 || tag64;
	/* Recovery must use the seed the writer used: the UUID on disk. */
	seed_from_sb(j);
	j->next_tid = get32(j->sb + SB_SEQUENCE);
	j->head = j->tail = j->first;
	*out = j;
	return 0;
fail:
	fsd_free(dev->host, j->map);
	fsd_free(dev->host, j->sb);
	fsd_free(dev->host, j->blk);
	fsd_free(dev->host, j);
	return r;
}

/* Make room for @n log blocks in j->buf. */
static int buf_reserve(struct journal *j, size_t n)
{
	uint8_t *p;

	if (n <= j->bufcap)
		return 0;
	p = fsd_realloc(j->dev.host, j->buf, j->bufcap * j->bs, n * j->bs);
	if (!p)
		return -ENOMEM;
	j->buf = p;
	j->bufcap = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Recovery.
 *
 * One scan pass walks the log from start with the expected tid, checking
 * every checksum (descriptor, each tag's block, revoke, commit) and
 * collecting a transaction's blocks and revokes in a pending list; only
 * when its commit block checks do they go into a table keyed by home
 * block.  The table keeps, per home, the last copy in the log and the
 * newest revoke; a copy from transaction T is replayed unless a revoke
 * from a transaction >= T names it (jbd2's rule).  Writing only the last
 * copy of each home gives the state writing them all in order would.
 */

enum { R_BLOCK = 1, R_REVOKE = 2, R_ESCAPE = 4 };

struct rec {
	uint64_t home;
	uint32_t pos, tid;	/* the last copy in the log */
	uint32_t rtid;		/* the newest revoke */
	uint8_t flags;		/* 0: a free table slot */
};

struct table {
	struct rec *v;
	size_t cap, n;		/* cap: a power of two */
	struct aoki_host *host;	/* the journal's memory (mem.h) */
};

static struct rec *table_get(struct table *t, uint64_t home)
{
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct rec *v = fsd_zalloc_array(t->host, cap, sizeof(*v)), *old = t->v;

		if (!v)
			return NULL;
		t->v = v;
		for (size_t i = 0, oldcap = t->cap; i < oldcap; i++)
			if (old[i].flags) {
				size_t h = (old[i].home * 0x9E3779B97F4A7C15ull) & (cap - 1);

				while (v[h].flags)
					h = (h + 1) & (cap - 1);
				v[h] = old[i];
			}
		t->cap = cap;
		fsd_free(t->host, old);
	}
	/* Probing ends: the table is never more than half full. */
	for (size_t h = (home * 0x9E3779B97F4A7C15ull) & (t->cap - 1);; h = (h + 1) & (t->cap - 1)) {
		if (!t->v[h].flags) {
			t->v[h].home = home;
			t->n++;
			return &t->v[h];
		}
		if (t->v[h].home == home)
			return &t->v[h];
	}
}

struct pending {
	struct rec *v;
	size_t n, cap;
	struct aoki_host *host;	/* the journal's memory (mem.h) */
};

static int pending_add(struct pending *p, uint64_t home, uint32_t pos, uint8_t flags)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct rec *v = fsd_realloc(p->host, p->v, p->cap * sizeof(*v), cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct rec){ .home = home, .pos = pos, .flags = flags };
	return 0;
}

/* Transaction @tid committed: its pending blocks and revokes count. */
static int pending_commit(struct pending *p, struct table *t, uint32_t tid)
{
	for (size_t i = 0; i < p->n; i++) {
		struct rec *e = table_get(t, p->v[i].home);

		if (!e)
			return -ENOMEM;
		if (p->v[i].flags & R_REVOKE) {
			if (!(e->flags & R_REVOKE) || tid_gt(tid, e->rtid))
				e->rtid = tid;
			e->flags |= R_REVOKE;
		} else {
			e->pos = p->v[i].pos;
			e->tid = tid;
			e->flags = (e->flags & R_REVOKE) | R_BLOCK | (p->v[i].flags & R_ESCAPE);
		}
	}
	p->n = 0;
	return 0;
}

/*
 * A descriptor block at @pos of transaction @tid, in j->blk: check it and
 * the blocks it tags, queue them.  Returns the log blocks it spans (>= 1),
 * 0 when it ends the log (bad checksum, runs past the log), or -errno.
 * *@bad is set when a tag names a home outside @fs_blocks.
 */
static int scan_descriptor(struct journal *j, uint32_t pos, uint32_t tid, uint32_t room,
			   uint64_t fs_blocks, struct pending *p, int *bad)
{
	unsigned tb = tag_bytes(j->csum, j->tag64), end = j->bs - tail_bytes(j->csum);
	unsigned off = HDR_SIZE, n = 0, max = j->bs / 8;
	uint8_t *desc;
	int r;

	if (j->csum && get32(j->blk + j->bs - TAIL_SIZE) != block_csum(j, j->blk, j->bs - TAIL_SIZE))
		return 0;
	/* Keep the descriptor: j->blk is reused below. */
	if ((r = buf_reserve(j, 2)) < 0)
		return r;
	desc = j->buf + j->bs;
	memcpy(desc, j->blk, j->bs);
	while (off + tb <= end && n < max) {
		const uint8_t *tag = desc + off;
		uint32_t flags = j->csum ? get32(tag + 4) : (uint32_t)(tag[6] << 8 | tag[7]);
		uint64_t home = get32(tag) | (j->tag64 ? (uint64_t)get32(tag + 8) << 32 : 0);
		uint32_t at = log_next(j, pos, 1 + n);

		if (1 + n + 1 > room)	/* the block would run past the scan */
			return 0;
		if (j->csum) {
			if ((r = log_io(j, at, 1, j->buf, 0, 0)) < 0)
				return r;
			if (get32(tag + 12) != tag_csum(j, tid, j->buf))
				return 0;
		}
		if (home >= fs_blocks)
			*bad = 1;
		if ((r = pending_add(p, home, at, flags & TAG_ESCAPE ? R_ESCAPE : 0)) < 0)
			return r;
		n++;
		off += tb + (flags & TAG_SAME_UUID ? 0 : UUID_SIZE);
		if (flags & TAG_LAST)
			break;
	}
	return 1 + n;
}

/* A revoke block of the transaction in j->blk: queue its records.
 * Returns 1, 0 when it ends the log, or -errno. */
static int scan_revoke(struct journal *j, struct pending *p, int *bad)
{
	unsigned rs = j->tag64 ? 8 : 4, count = get32(j->blk + RB_COUNT);
	int r;

	if (j->csum && get32(j->blk + j->bs - TAIL_SIZE) != block_csum(j, j->blk, j->bs - TAIL_SIZE))
		return 0;
	if (count < RB_RECORDS || count > j->bs - tail_bytes(j->csum)) {
		*bad = 1;
		return 1;
	}
	for (unsigned off = RB_RECORDS; off + rs <= count; off += rs) {
		uint64_t home = rs == 8 ? get64(j->blk + off) : get32(j->blk + off);

		if ((r = pending_add(p, home, 0, R_REVOKE)) < 0)
			return r;
	}
	return 1;
}

/* Recovery, or with @replay 0 the scan alone: the log's transactions are
 * dropped, but the next tid still goes past them. */
static int recover(struct journal *j, uint64_t fs_blocks, unsigned *replayed, int replay,
		   uint32_t *scan_end)
{
	struct table t = { .host = j->dev.host };
	struct pending p = { .host = j->dev.host };
	uint32_t pos = get32(j->sb + SB_START), tid = get32(j->sb + SB_SEQUENCE);
	uint32_t scanned = 0;
	unsigned ntx = 0;
	int bad = 0, r = 0;

	if (replayed)
		*replayed = 0;
	if (!pos)
		return 0;
	/* Scan: at most one lap of the log. */
	while (scanned < j->len) {
		uint32_t type;
		int n;

		if ((r = log_io(j, pos, 1, j->blk, 0, 0)) < 0)
			goto out;
		if (get32(j->blk) != JBD2_MAGIC || get32(j->blk + 8) != tid)
			break;
		type = get32(j->blk + 4);
		if (type == BT_DESCRIPTOR)
			n = scan_descriptor(j, pos, tid, j->len - scanned, fs_blocks, &p, &bad);
		else if (type == BT_REVOKE)
			n = scan_revoke(j, &p, &bad);
		else if (type == BT_COMMIT) {
			if (j->csum && get32(j->blk + CB_CSUM) != block_csum(j, j->blk, CB_CSUM))
				break;
			if (bad && replay) {	/* it checks: no torn write */
				r = -EUCLEAN;
				goto out;
			}
			if (replay && (r = pending_commit(&p, &t, tid)) < 0)
				goto out;
			p.n = 0;
			ntx++;
			tid++;
			n = 1;
		} else
			break;
		if (n < 0) {
			r = n;
			goto out;
		}
		if (n == 0)
			break;
		pos = log_next(j, pos, n);
		scanned += n;
	}
	if (scan_end) {		/* journal_scan: look, write nothing */
		*scan_end = tid;
		if (replayed)
			*replayed = ntx;
		goto out;
	}
	/* Replay: the last copy of each home that no revoke cancels. */
	for (size_t i = 0; i < t.cap; i++) {
		const struct rec *e = &t.v[i];

		if (!(e->flags & R_BLOCK) || (e->flags & R_REVOKE && !tid_gt(e->tid, e->rtid)))
			continue;
		if ((r = log_io(j, e->pos, 1, j->blk, 0, 0)) < 0)
			goto out;
		if (e->flags & R_ESCAPE)
			put32(j->blk, JBD2_MAGIC);
		if ((r = j->dev.write(j->dev.ctx, e->home, 1, j->blk, 0)) < 0)
			goto out;
	}
	if ((r = j->dev.flush(j->dev.ctx)) < 0)
		goto out;
	/*
	 * The log is empty now.  Skip the tid the scan stopped at, as jbd2
	 * does: a commit block of that tid may be left in the log (say, of a
	 * transaction whose tags did not check), and a later crash could
	 * make it look like the end of a new transaction of the same tid.
	 */
	j->next_tid = tid + 1;
	if ((r = sb_write(j, 0, j->next_tid)) < 0)
		goto out;
	if (replayed)
		*replayed = ntx;
out:
	fsd_free(j->dev.host, t.v);
	fsd_free(j->dev.host, p.v);
	return r;
}

int journal_scan(struct journal *j, uint64_t fs_blocks, uint32_t *last, uint32_t *next)
{
	uint32_t seq = get32(j->sb + SB_SEQUENCE), end = seq;
	int r = 0;

	if (j->started)
		return -EINVAL;
	if (get32(j->sb + SB_START))
		r = recover(j, fs_blocks, NULL, 1, &end);
	if (r < 0)
		return r;
	*last = end - 1;
	/* What journal_recover leaves: the tid after the stop, skipped. */
	*next = get32(j->sb + SB_START) ? end + 1 : seq;
	return 0;
}

int journal_recover(struct journal *j, uint64_t fs_blocks, unsigned *replayed)
{
	if (j->started)
		return -EINVAL;
	return recover(j, fs_blocks, replayed, 1, NULL);
}

/* ------------------------------------------------------------------ */
/* Writing. */

int journal_start(struct journal *j)
{
	uint32_t incompat = get32(j->sb + SB_INCOMPAT) | INCOMPAT_REVOKE;
	static const uint8_t zero[UUID_SIZE];
	int r;

	if (j->started)
		return -EINVAL;
	/* Transactions nobody replayed (the file system did not say
	 * needs_recovery): drop them as the kernel does, with the next tid
	 * past them, so that a crash before our first commit cannot make a
	 * stale one look new. */
	if (get32(j->sb + SB_START) && (r = recover(j, UINT64_MAX, NULL, 0, NULL)) < 0)
		return r;
	if (j->w_csum)
		incompat |= INCOMPAT_CSUM_V3;
	if (j->w_tag64)
		incompat |= INCOMPAT_64BIT;
	put32(j->sb + SB_INCOMPAT, incompat);
	/* The kernel seeds with the journal's UUID; give it one. */
	if (!memcmp(j->sb + SB_UUID, zero, UUID_SIZE))
		memcpy(j->sb + SB_UUID, j->fs_uuid, UUID_SIZE);
	j->csum = j->w_csum;
	j->tag64 = j->w_tag64;
	seed_from_sb(j);
	j->head = j->tail = j->first;
	if ((r = sb_write(j, j->head, j->next_tid)) < 0)
		return r;
	j->started = 1;
	return 0;
}

uint32_t journal_space(const struct journal *j, unsigned nblocks, unsigned nrevoke)
{
	unsigned tpd = tags_per_desc(j), rpr = recs_per_revoke(j);
	uint64_t n = (uint64_t)nblocks + (nblocks + tpd - 1) / tpd + (nrevoke + rpr - 1) / rpr + 1;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static uint32_t log_free(const struct journal *j)
{
	return j->len - 1 - log_used(j);
}

/* Fill @b as a block of type @type of transaction @tid. */
static void header(uint8_t *b, const struct journal *j, uint32_t type, uint32_t tid)
{
	memset(b, 0, j->bs);
	put32(b, JBD2_MAGIC);
	put32(b + 4, type);
	put32(b + 8, tid);
}

/* The revoke blocks of a transaction at @b; returns the blocks used. */
static uint32_t build_revokes(struct journal *j, uint8_t *b, uint32_t tid, const uint64_t *rv,
			      unsigned n)
{
	unsigned rpr = recs_per_revoke(j), rs = j->w_tag64 ? 8 : 4;
	uint32_t used = 0;

	for (unsigned i = 0; i < n; used++, b += j->bs) {
		unsigned k = n - i < rpr ? n - i : rpr, off = RB_RECORDS;

		header(b, j, BT_REVOKE, tid);
		for (unsigned e = i + k; i < e; i++, off += rs)
			if (rs == 8)
				put64(b + off, rv[i]);
			else
				put32(b + off, (uint32_t)rv[i]);
		put32(b + RB_COUNT, off);
		if (j->w_csum)
			put32(b + j->bs - TAIL_SIZE, block_csum(j, b, j->bs - TAIL_SIZE));
	}
	return used;
}

/* Descriptor blocks, each followed by the blocks it tags; returns the
 * blocks used. */
static uint32_t build_descriptors(struct journal *j, uint8_t *b, uint32_t tid,
				  const struct journal_block *blocks, unsigned n)
{
	unsigned tpd = tags_per_desc(j), tb = tag_bytes(j->w_csum, j->w_tag64);
	static const uint8_t magic[4] = { 0xC0, 0x3B, 0x39, 0x98 };
	uint32_t used = 0;

	for (unsigned i = 0; i < n;) {
		unsigned k = n - i < tpd ? n - i : tpd, off = HDR_SIZE;
		uint8_t *desc = b, *data = b + j->bs;

		header(desc, j, BT_DESCRIPTOR, tid);
		for (unsigned t = 0; t < k; t++, i++, data += j->bs) {
			uint8_t *tag = desc + off;
			uint32_t flags = t ? TAG_SAME_UUID : 0;

			memcpy(data, blocks[i].data, j->bs);
			/* A block that starts like a log block is escaped, so
			 * that a scan never takes it for one. */
			if (!memcmp(data, magic, 4)) {
				memset(data, 0, 4);
				flags |= TAG_ESCAPE;
			}
			if (t == k - 1)
				flags |= TAG_LAST;
			put32(tag, (uint32_t)blocks[i].home);
			if (j->w_tag64)
				put32(tag + 8, (uint32_t)(blocks[i].home >> 32));
			if (j->w_csum) {
				put32(tag + 4, flags);
				/* Over the block as it lies in the log. */
				put32(tag + 12, tag_csum(j, tid, data));
			} else {
				tag[6] = flags >> 8;
				tag[7] = flags;
			}
			off += tb;
			if (!t) {
				memcpy(desc + off, j->sb + SB_UUID, UUID_SIZE);
				off += UUID_SIZE;
			}
		}
		if (j->w_csum)
			put32(desc + j->bs - TAIL_SIZE, block_csum(j, desc, j->bs - TAIL_SIZE));
		used += 1 + k;
		b = data;
	}
	return used;
}

int64_t journal_commit(struct journal *j, const struct journal_block *blocks, unsigned n,
		       const uint64_t *revoke, unsigned nrevoke)
{
	uint32_t need, body, tid = j->next_tid;
	struct timespec now;
	int r;

	if (j->broken)
		return -EIO;
	if (!j->started || (n == 0 && nrevoke == 0))
		return -EINVAL;
	need = journal_space(j, n, nrevoke);
	if (need > log_free(j))
		return -ENOSPC;
	if (buf_reserve(j, need - 1) < 0)
		return -ENOMEM;
	/* Revoke blocks first, as jbd2 writes them; the order inside a
	 * transaction does not matter to a replay. */
	body = build_revokes(j, j->buf, tid, revoke, nrevoke);
	body += build_descriptors(j, j->buf + (size_t)body * j->bs, tid, blocks, n);
	r = log_io(j, j->head, body, j->buf, 1, 0);
	/* The flush orders the body (and the caller's data) before the
	 * commit block: a commit on disk means its transaction is. */
	if (r == 0)
		r = j->dev.flush(j->dev.ctx);
	if (r == 0) {
		header(j->blk, j, BT_COMMIT, tid);
		clock_gettime(CLOCK_REALTIME, &now);
		put64(j->blk + CB_SEC, (uint64_t)now.tv_sec);
		put32(j->blk + CB_NSEC, (uint32_t)now.tv_nsec);
		/* csum v3: type and size stay 0, h_chksum[0] covers the block. */
		if (j->w_csum)
			put32(j->blk + CB_CSUM, block_csum(j, j->blk, CB_CSUM));
		r = log_io(j, log_next(j, j->head, body), 1, j->blk, 1, 1);
	}
	if (r < 0) {
		/* The commit block may or may not be on disk: nothing more
		 * can be written behind it safely. */
		j->broken = 1;
		return r;
	}
	j->head = log_next(j, j->head, need);
	j->next_tid++;
	return tid;
}

int journal_checkpointed(struct journal *j)
{
	int r;

	if (j->broken)
		return -EIO;
	if (!j->started)
		return -EINVAL;
	if ((r = sb_write(j, j->head, j->next_tid)) < 0)
		return r;
	j->tail = j->head;
	return 0;
}

int journal_close(struct journal *j, int clean)
{
	int r = 0;

	if (!j)
		return 0;
	if (clean) {
		if (j->broken || log_used(j))
			r = j->broken ? -EIO : -EBUSY;
		else
			r = sb_write(j, 0, j->next_tid);
	}
	fsd_free(j->dev.host, j->map);
	fsd_free(j->dev.host, j->sb);
	fsd_free(j->dev.host, j->blk);
	fsd_free(j->dev.host, j->buf);
	fsd_free(j->dev.host, j);
	return r;
}

void journal_get_info(const struct journal *j, struct journal_info *out)
{
	out->blocks = j->maxlen;
	out->first = j->first;
	out->start = get32(j->sb + SB_START);
	out->sequence = get32(j->sb + SB_SEQUENCE);
	out->next_tid = j->next_tid;
	out->head = j->head;
	out->free = j->started ? log_free(j) : 0;
	out->csum_v3 = j->csum;
	out->tag64 = j->tag64;
}
