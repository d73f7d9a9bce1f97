/* SPDX-License-Identifier: MIT */
/*
 * fs-journal: the jbd2 writer and replayer of servers/fsd/journal.c on a
 * real ext4 image made by mke2fs (metadata_csum, 64bit: csum v3 and
 * 64-bit tags).  Transactions it commits are replayed by e2fsck and by
 * journal_recover to the same result; revoked blocks are not replayed;
 * a torn transaction is not replayed; the log wraps across checkpoints;
 * random corruption of the log never makes journal_recover crash or
 * write outside the file system.  As root, the kernel replays them too.
 *
 * The transactions rewrite free data blocks (which e2fsck does not
 * read), so the file system stays consistent whatever is replayed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "../../servers/fsd/journal.h"
#include "harness.h"

#define BS 4096
#define NHOME 600
#define MAGIC 0xC03B3998u

/* An image and what the test learnt of it through libext2fs. */
struct img {
	char path[300];
	uint64_t map[16384];	/* the journal inode's block map */
	uint32_t nblocks;
	uint8_t uuid[16];
	uint64_t fs_blocks;
	int csum, tag64;
	uint64_t home[NHOME];	/* free blocks the transactions rewrite */
};

/* A journal_dev over the image file, or over a copy of it in memory. */
struct dev {
	int fd;
	uint8_t *mem;
	uint64_t fs_blocks;
	unsigned writes, flushes;
};

static const char *dir;
static uint8_t exp_[NHOME][BS];	/* what each home must hold after a replay */
static int live[NHOME];		/* journaled since the last checkpoint */

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 || !WIFEXITED(r) ? -1 : WEXITSTATUS(r);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A fresh 64 MiB ext4 image, mke2fs options @opts. */
static void mkimg(struct img *im, const char *name, const char *opts)
{
	ext2_filsys fs;
	struct ext2_inode ino;
	unsigned n = 0;

	snprintf(im->path, sizeof(im->path), "%s/%s", dir, name);
	CHECK_EQ(sh("mke2fs -q -t ext4 -b 4096 %s -F %s 64M >/dev/null 2>&1", opts, im->path), 0);
	CHECK_EQ(ext2fs_open(im->path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
	CHECK_EQ(fs->super->s_journal_inum, 8);
	CHECK_EQ(ext2fs_read_inode(fs, 8, &ino), 0);
	im->nblocks = EXT2_I_SIZE(&ino) / BS;
	CHECK(im->nblocks >= 1024 && im->nblocks <= 16384);
	for (uint32_t i = 0; i < im->nblocks; i++) {
		blk64_t p = 0;

		CHECK_EQ(ext2fs_bmap2(fs, 8, &ino, NULL, 0, i, NULL, &p), 0);
		CHECK(p != 0);
		im->map[i] = p;
	}
	memcpy(im->uuid, fs->super->s_uuid, 16);
	im->fs_blocks = ext2fs_blocks_count(fs->super);
	im->csum = ext2fs_has_feature_metadata_csum(fs->super);
	im->tag64 = ext2fs_has_feature_64bit(fs->super);
	CHECK_EQ(ext2fs_read_block_bitmap(fs), 0);
	for (uint64_t b = im->fs_blocks - 1; b > 0 && n < NHOME; b--)
		if (!ext2fs_test_block_bitmap2(fs->block_map, b))
			im->home[n++] = b;
	CHECK_EQ(n, NHOME);
	ext2fs_close_free(&fs);
}

/* Set or clear the ext4 needs_recovery flag, as fsd does before its
 * first commit: without it the kernel and e2fsck ignore the journal. */
static void set_recover(const char *path, int on)
{
	ext2_filsys fs;

	CHECK_EQ(ext2fs_open(path, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
	if (on)
		fs->super->s_feature_incompat |= EXT3_FEATURE_INCOMPAT_RECOVER;
	else
		fs->super->s_feature_incompat &= ~EXT3_FEATURE_INCOMPAT_RECOVER;
	ext2fs_mark_super_dirty(fs);
	CHECK_EQ(ext2fs_close_free(&fs), 0);
}

/* The device checks every access: the journal must never reach past the
 * file system, whatever the log says. */
static int d_read(void *ctx, uint64_t b, unsigned n, void *buf)
{
	struct dev *d = ctx;

	CHECK(n > 0 && b < d->fs_blocks && n <= d->fs_blocks - b);
	if (d->mem)
		memcpy(buf, d->mem + b * BS, (size_t)n * BS);
	else if (pread(d->fd, buf, (size_t)n * BS, (off_t)(b * BS)) != (ssize_t)n * BS)
		return -EIO;
	return 0;
}

static int d_write(void *ctx, uint64_t b, unsigned n, const void *buf, int fua)
{
	struct dev *d = ctx;

	CHECK(n > 0 && b < d->fs_blocks && n <= d->fs_blocks - b);
	d->writes++;
	if (d->mem)
		memcpy(d->mem + b * BS, buf, (size_t)n * BS);
	else if (pwrite(d->fd, buf, (size_t)n * BS, (off_t)(b * BS)) != (ssize_t)n * BS)
		return -EIO;
	return 0;
}

static int d_flush(void *ctx)
{
	struct dev *d = ctx;

	d->flushes++;
	return d->mem || fdatasync(d->fd) == 0 ? 0 : -errno;
}

static struct journal_dev jdev(struct dev *d)
{
	return (struct journal_dev){ d_read, d_write, d_flush, d, NULL };
}

static void dev_open(struct dev *d, const struct img *im, int in_memory)
{
	d->fd = open(im->path, O_RDWR);
	CHECK(d->fd >= 0);
	d->fs_blocks = im->fs_blocks;
	d->mem = NULL;
	d->writes = d->flushes = 0;
	if (in_memory) {
		d->mem = malloc(im->fs_blocks * BS);
		CHECK(d->mem != NULL);
		CHECK_EQ(pread(d->fd, d->mem, im->fs_blocks * BS, 0), (ssize_t)(im->fs_blocks * BS));
	}
}

static void dev_save(struct dev *d)
{
	if (d->mem)
		CHECK_EQ(pwrite(d->fd, d->mem, d->fs_blocks * BS, 0), (ssize_t)(d->fs_blocks * BS));
}

static void dev_close(struct dev *d)
{
	free(d->mem);
	close(d->fd);
}

static struct journal *jopen(struct dev *d, const struct img *im)
{
	struct journal_dev jd = jdev(d);
	struct journal *j;

	CHECK_EQ(journal_open(&j, &jd, im->map, im->nblocks, BS, im->uuid, im->csum, im->tag64), 0);
	return j;
}

/* Open, recover (nothing to do), start. */
static struct journal *jstart(struct dev *d, const struct img *im)
{
	struct journal *j = jopen(d, im);
	unsigned n = 99;

	CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);
	CHECK_EQ(journal_start(j), 0);
	return j;
}

static void home_read(struct dev *d, const struct img *im, unsigned i, uint8_t *buf)
{
	CHECK_EQ(d_read(d, im->home[i], 1, buf), 0);
}

static void model_init(struct dev *d, const struct img *im)
{
	for (unsigned i = 0; i < NHOME; i++)
		home_read(d, im, i, exp_[i]);
	memset(live, 0, sizeof(live));
}

/* Fill a block for version @v of home @i; some start with the jbd2
 * magic, so that they must be escaped in the log. */
static void fill(uint8_t *b, unsigned i, uint64_t v)
{
	uint64_t s = (v << 20 | i) * 0x9E3779B97F4A7C15ull | 1;

	for (unsigned k = 0; k < BS; k += 8) {
		uint64_t x = rnd(&s);

		memcpy(b + k, &x, 8);
	}
	if ((v + i) % 7 == 0)
		put_be32(b, MAGIC);
}

/* Commit new versions of homes @idx, and revoke @rv; update the model. */
static int64_t commit(struct journal *j, struct dev *d, const struct img *im,
		      const unsigned *idx, unsigned n, const unsigned *rv, unsigned nr, uint64_t v)
{
	static uint8_t data[NHOME][BS];
	static struct journal_block blocks[NHOME];
	static uint64_t revoke[NHOME];
	int64_t tid;

	for (unsigned k = 0; k < n; k++) {
		fill(data[k], idx[k], v);
		blocks[k] = (struct journal_block){ im->home[idx[k]], data[k] };
	}
	for (unsigned k = 0; k < nr; k++)
		revoke[k] = im->home[rv[k]];
	tid = journal_commit(j, blocks, n, revoke, nr);
	if (tid < 0)
		return tid;
	/* A revoked block is not replayed: its home keeps what it holds. */
	for (unsigned k = 0; k < nr; k++) {
		home_read(d, im, rv[k], exp_[rv[k]]);
		live[rv[k]] = 0;
	}
	for (unsigned k = 0; k < n; k++) {
		memcpy(exp_[idx[k]], data[k], BS);
		live[idx[k]] = 1;
	}
	return tid;
}

static void verify(struct dev *d, const struct img *im)
{
	uint8_t buf[BS];

	for (unsigned i = 0; i < NHOME; i++) {
		home_read(d, im, i, buf);
		if (memcmp(buf, exp_[i], BS)) {
			fprintf(stderr, "home %u (block %llu) differs\n", i,
				(unsigned long long)im->home[i]);
			CHECK(0);
		}
	}
}

static void crc_vectors(void)
{
	static uint8_t buf[1000];
	uint64_t s = 1;

	CHECK_EQ(journal_crc32c(~0u, "123456789", 9) ^ ~0u, 0xE3069283u);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd(&s);
	/* The sliced loop against a bit at a time, at every alignment. */
	for (unsigned off = 0; off < 16; off++) {
		uint32_t c = 0x12345678;

		for (unsigned i = off; i < sizeof(buf); i++) {
			c ^= buf[i];
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
		}
		CHECK_EQ(journal_crc32c(0x12345678, buf + off, sizeof(buf) - off), c);
	}
}

/* The transactions of cases 1-3: escaped blocks, two descriptors in one
 * transaction, revokes (home 5 is rewritten after its revoke, home 0
 * and 7 are not).  Returns the last tid. */
static uint32_t scenario(struct journal *j, struct dev *d, const struct img *im)
{
	unsigned a[] = { 0, 1, 2, 5, 6, 7 }, b[] = { 0, 2, 3 }, big[300], c[] = { 5, 9 };
	unsigned rv[] = { 0, 5, 7 };
	int64_t t1, t;

	unsigned w, f;
	int contiguous = 1;

	for (unsigned i = 0; i < 300; i++)
		big[i] = 10 + i;
	for (uint32_t i = 2; i < im->nblocks; i++)
		contiguous &= im->map[i] == im->map[i - 1] + 1;
	t1 = commit(j, d, im, a, 6, NULL, 0, 1);
	CHECK(t1 >= 0);
	CHECK_EQ(commit(j, d, im, b, 3, NULL, 0, 2), t1 + 1);
	w = d->writes, f = d->flushes;
	CHECK_EQ(commit(j, d, im, big, 300, NULL, 0, 3), t1 + 2);
	/* One write for the body, a flush, the commit block. */
	if (contiguous)
		CHECK(d->writes - w == 2 && d->flushes - f == 1);
	CHECK_EQ(commit(j, d, im, NULL, 0, rv, 3, 4), t1 + 3);
	t = commit(j, d, im, c, 2, NULL, 0, 5);
	CHECK_EQ(t, t1 + 4);
	return (uint32_t)t;
}

static int grep(const char *file, const char *s)
{
	return sh("grep -q -i -e '%s' %s", s, file) == 0;
}

/* Cases 1-3: e2fsck and journal_recover replay the same transactions to
 * the same homes. */
static void replay_both(const char *opts)
{
	struct img *im = calloc(1, sizeof(*im));
	struct dev d;
	struct journal *j;
	struct journal_info ji;
	char path2[300], log[400], line[64];
	uint32_t last;
	unsigned n;
	int r;

	mkimg(im, "a.img", opts);
	set_recover(im->path, 1);
	dev_open(&d, im, 0);
	model_init(&d, im);
	j = jstart(&d, im);
	journal_get_info(j, &ji);
	CHECK_EQ(ji.csum_v3, im->csum);
	CHECK_EQ(ji.tag64, im->tag64);
	last = scenario(j, &d, im);
	CHECK_EQ(journal_close(j, 1), -EBUSY);	/* not checkpointed */
	dev_close(&d);
	snprintf(path2, sizeof(path2), "%s/b.img", dir);
	CHECK_EQ(sh("cp --sparse=always %s %s", im->path, path2), 0);

	/* debugfs sees every transaction. */
	snprintf(log, sizeof(log), "%s/logdump.txt", dir);
	CHECK_EQ(sh("debugfs -R logdump %s >%s 2>&1", im->path, log), 0);
	for (uint32_t t = last - 4; t != last + 1; t++) {
		snprintf(line, sizeof(line), "sequence %u, type 2 (commit", t);
		CHECK(grep(log, line));
	}
	CHECK(grep(log, "type 5 (revoke table)"));
	CHECK(!grep(log, "checksum"));

	/* e2fsck replays them, checking every checksum. */
	snprintf(log, sizeof(log), "%s/fsck.txt", dir);
	r = sh("e2fsck -fy %s >%s 2>&1", im->path, log);
	if (r != 0 && r != 1)
		sh("cat %s >&2", log);
	CHECK(r == 0 || r == 1);
	CHECK(grep(log, "recovering journal"));
	CHECK(!grep(log, "invalid") && !grep(log, "checksum") && !grep(log, "corrupt"));
	CHECK_EQ(sh("e2fsck -fn %s >/dev/null 2>&1", im->path), 0);
	dev_open(&d, im, 0);
	verify(&d, im);
	/* Sequence numbers rise past what e2fsck left. */
	j = jopen(&d, im);
	journal_get_info(j, &ji);
	CHECK_EQ(ji.start, 0);
	CHECK(ji.next_tid > last);
	journal_close(j, 0);
	dev_close(&d);

	/* journal_recover on the copy: the same homes. */
	snprintf(im->path, sizeof(im->path), "%s", path2);
	dev_open(&d, im, 0);
	j = jopen(&d, im);
	journal_get_info(j, &ji);
	CHECK(ji.start != 0);
	CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);
	CHECK_EQ(n, 5);
	verify(&d, im);
	CHECK_EQ(journal_close(j, 0), 0);
	j = jopen(&d, im);
	journal_get_info(j, &ji);
	CHECK_EQ(ji.start, 0);
	CHECK_EQ(ji.next_tid, last + 2);
	CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);
	CHECK_EQ(n, 0);
	journal_close(j, 0);
	dev_close(&d);
	set_recover(im->path, 0);
	CHECK_EQ(sh("e2fsck -fn %s >/dev/null 2>&1", im->path), 0);
	free(im);
}

/* Flip a bit of log block @pos at byte @off. */
static void corrupt(struct dev *d, const struct img *im, uint32_t pos, unsigned off)
{
	d->mem[im->map[pos] * BS + off] ^= 0x40;
}

/* Case 4: a transaction with a bad commit block, a bad descriptor or a
 * bad block is not replayed; the one before it is. */
static void torn(void)
{
	struct img *im = calloc(1, sizeof(*im));
	uint8_t *saved;
	struct dev d;
	struct journal *j;
	struct journal_info ji;
	unsigned a[] = { 1, 2, 3 }, b[] = { 2, 4 }, n;
	uint32_t t2pos;
	int64_t t1;

	mkimg(im, "c.img", "");
	dev_open(&d, im, 1);
	saved = malloc(d.fs_blocks * BS);
	CHECK(saved != NULL);
	model_init(&d, im);
	j = jstart(&d, im);
	t1 = commit(j, &d, im, a, 3, NULL, 0, 1);
	CHECK(t1 >= 0);
	journal_get_info(j, &ji);
	t2pos = ji.head;
	memcpy(saved, exp_, sizeof(exp_));	/* the state with T1 only */
	CHECK(commit(j, &d, im, b, 2, NULL, 0, 2) >= 0);
	journal_close(j, 0);
	memcpy(exp_, saved, sizeof(exp_));
	memcpy(saved, d.mem, d.fs_blocks * BS);
	/* T2 is descriptor, 2 blocks, commit at t2pos + 3. */
	for (int c = 0; c < 5; c++) {
		memcpy(d.mem, saved, d.fs_blocks * BS);
		if (c == 0)
			corrupt(&d, im, t2pos + 3, 200);	/* commit: bad checksum */
		else if (c == 1)
			memset(d.mem + im->map[t2pos + 3] * BS, 0, BS);	/* no commit */
		else if (c == 2)
			corrupt(&d, im, t2pos, 20);	/* descriptor */
		else if (c == 3)
			corrupt(&d, im, t2pos + 2, 1000);	/* a block */
		else
			corrupt(&d, im, t2pos + 3, 8);	/* commit of another tid */
		j = jopen(&d, im);
		CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);
		CHECK_EQ(n, 1);
		verify(&d, im);
		journal_close(j, 0);
	}
	/* Without recovery, journal_start drops both, past their tids. */
	memcpy(d.mem, saved, d.fs_blocks * BS);
	j = jopen(&d, im);
	journal_get_info(j, &ji);
	CHECK_EQ(ji.next_tid, t1);
	CHECK_EQ(journal_start(j), 0);
	journal_get_info(j, &ji);
	CHECK_EQ(ji.next_tid, t1 + 3);
	CHECK_EQ(ji.start, ji.first);
	model_init(&d, im);
	journal_close(j, 0);
	j = jopen(&d, im);
	CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);	/* the log is empty */
	CHECK_EQ(n, 0);
	verify(&d, im);
	journal_close(j, 0);
	dev_close(&d);
	free(saved);
	free(im);
}

/* Fix the checksum of the log block at @b after a mutation, so that the
 * parser looks past it. */
static void fix_csum(uint8_t *b, uint32_t seed, int is_sb)
{
	uint8_t zero[4] = { 0 };
	uint32_t c;

	if (is_sb) {
		memset(b + 0xFC, 0, 4);
		put_be32(b + 0xFC, journal_crc32c(~0u, b, 1024));
		return;
	}
	if (be32(b) != MAGIC)
		return;
	if (be32(b + 4) == 1 || be32(b + 4) == 5) {
		memset(b + BS - 4, 0, 4);
		put_be32(b + BS - 4, journal_crc32c(seed, b, BS));
	} else if (be32(b + 4) == 2) {
		c = journal_crc32c(seed, b, 16);
		c = journal_crc32c(c, zero, 4);
		put_be32(b + 16, journal_crc32c(c, b + 20, BS - 20));
	}
}

/* Cases 5 and 6: the log wraps several times across checkpoints; what is
 * live at the end (spanning the wrap) replays under both replayers; then
 * random corruption of that log never crashes journal_recover. */
static void wrap_and_hostile(const char *opts)
{
	struct img *im = calloc(1, sizeof(*im));
	struct dev d;
	struct journal *j;
	struct journal_info ji;
	uint64_t s = 42, laps = 0, prev_head, tail;
	uint8_t *logsave, *blk;
	unsigned idx[200], rv[20], n, nlive = 0, counts[3] = { 0 };
	uint32_t seed, live0, nlog;

	mkimg(im, "d.img", opts);
	set_recover(im->path, 1);
	dev_open(&d, im, 1);
	model_init(&d, im);
	j = jstart(&d, im);
	journal_get_info(j, &ji);
	tail = prev_head = ji.head;
	for (uint64_t v = 10; v < 100000; v++) {
		unsigned k = 1 + rnd(&s) % 150, nr = 0;
		int64_t t;

		for (unsigned i = 0; i < k; i++)
			idx[i] = (unsigned)(rnd(&s) % NHOME);
		for (unsigned i = 0; i < NHOME && nr < 20; i += 1 + rnd(&s) % 50)
			if (live[i] && rnd(&s) % 4 == 0)
				rv[nr++] = i;
		/* Duplicates in a transaction: the last copy wins. */
		t = commit(j, &d, im, idx, k, rv, nr, v);
		if (t == -ENOSPC) {
			for (unsigned i = 0; i < NHOME; i++)
				if (live[i])
					CHECK_EQ(d_write(&d, im->home[i], 1, exp_[i], 0), 0);
			memset(live, 0, sizeof(live));
			CHECK_EQ(journal_checkpointed(j), 0);
			journal_get_info(j, &ji);
			tail = ji.head;
			nlive = 0;
			continue;
		}
		CHECK(t >= 0);
		nlive++;
		journal_get_info(j, &ji);
		laps += ji.head < prev_head;
		prev_head = ji.head;
		if (laps >= 3 && ji.head < tail && nlive >= 3)
			break;
	}
	CHECK(laps >= 3 && ji.head < tail);
	journal_close(j, 0);
	dev_save(&d);	/* for e2fsck, below */

	logsave = malloc((size_t)im->nblocks * BS);
	blk = d.mem;
	for (uint32_t i = 0; i < im->nblocks; i++)
		memcpy(logsave + (size_t)i * BS, blk + im->map[i] * BS, BS);
	j = jopen(&d, im);
	CHECK_EQ(journal_recover(j, im->fs_blocks, &n), 0);
	CHECK_EQ(n, nlive);
	verify(&d, im);
	journal_close(j, 0);

	/* e2fsck agrees, on the same log. */
	CHECK(sh("e2fsck -fy %s >/dev/null 2>&1", im->path) <= 1);
	CHECK_EQ(sh("e2fsck -fn %s >/dev/null 2>&1", im->path), 0);
	{
		struct dev f;

		dev_open(&f, im, 0);
		verify(&f, im);
		dev_close(&f);
	}

	/* A committed descriptor naming a block outside the file system. */
	for (uint32_t i = 0; i < im->nblocks; i++)
		memcpy(blk + im->map[i] * BS, logsave + (size_t)i * BS, BS);
	seed = journal_crc32c(~0u, logsave + 0x30, 16);
	{
		uint32_t start = be32(logsave + 0x1C);
		uint8_t *desc = blk + im->map[start] * BS;

		CHECK_EQ(be32(desc + 4), 1);
		put_be32(desc + 12, 0xfffffff0);	/* the first tag's block */
		fix_csum(desc, seed, 0);
		j = jopen(&d, im);
		CHECK_EQ(journal_recover(j, im->fs_blocks, &n), -EUCLEAN);
		journal_close(j, 0);
	}

	/* Random damage, with checksums sometimes made right again. */
	live0 = be32(logsave + 0x1C);
	nlog = (uint32_t)(((uint64_t)ji.head + im->nblocks - live0) % im->nblocks) + 1;
	for (int it = 0; it < 400; it++) {
		uint64_t r = 1000 + it;
		struct journal_dev jd = jdev(&d);
		int muts = 1 + rnd(&r) % 6, res;

		for (uint32_t i = 0; i < im->nblocks; i++)
			memcpy(blk + im->map[i] * BS, logsave + (size_t)i * BS, BS);
		for (int m = 0; m < muts; m++) {
			/* Mostly the live log, mostly its headers and tags. */
			uint32_t pos = live0 + (uint32_t)(rnd(&r) % nlog);
			uint8_t *b;

			if (pos >= im->nblocks)	/* wrap to log block 1 */
				pos -= im->nblocks - 1;
			if (rnd(&r) % 4 == 0)
				pos = rnd(&r) % 2 ? 0 : (uint32_t)(rnd(&r) % im->nblocks);
			b = blk + im->map[pos] * BS;
			unsigned off = (unsigned)(rnd(&r) % (pos && rnd(&r) % 2 ? BS : 128)) & ~3u;

			switch (rnd(&r) % 5) {
			case 0:
				b[off] ^= 1 << (rnd(&r) % 8);
				break;
			case 1:
				put_be32(b + off, (uint32_t)rnd(&r));
				break;
			case 2:	/* a small or boundary value in a header field */
				put_be32(b + (rnd(&r) % 8) * 4, (uint32_t)(rnd(&r) % 3) - 1 +
					 (rnd(&r) % 2 ? im->nblocks : 0));
				break;
			case 3:
				memset(b + off, rnd(&r) % 2 ? 0xff : 0, BS - off > 64 ? 64 : 4);
				break;
			default:
				memcpy(b, logsave + (rnd(&r) % im->nblocks) * BS, pos ? BS : 1024);
			}
			if (rnd(&r) % 2)
				fix_csum(b, seed, pos == 0);
		}
		if (journal_open(&j, &jd, im->map, im->nblocks, BS, im->uuid, 1, 1) < 0) {
			counts[0]++;
			continue;
		}
		res = journal_recover(j, im->fs_blocks, &n);
		CHECK(res == 0 || res == -EUCLEAN);
		counts[res == 0 ? 1 : 2]++;
		journal_close(j, 0);
	}
	printf("hostile: %u refused at open, %u recovered, %u -EUCLEAN\n", counts[0], counts[1],
	       counts[2]);
	free(logsave);
	dev_close(&d);
	free(im);
}

/* Case 7: the kernel replays our transactions at mount (root only). */
static void kernel_mount(void)
{
	struct img *im = calloc(1, sizeof(*im));
	struct dev d;
	struct journal *j;
	char mnt[400];

	if (geteuid() != 0) {
		printf("kernel mount: skipped (not root)\n");
		free(im);
		return;
	}
	mkimg(im, "k.img", "");
	set_recover(im->path, 1);
	dev_open(&d, im, 0);
	model_init(&d, im);
	j = jstart(&d, im);
	scenario(j, &d, im);
	journal_close(j, 0);
	dev_close(&d);
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	CHECK_EQ(mkdir(mnt, 0700), 0);
	if (sh("mount -t ext4 -o loop %s %s >/dev/null 2>&1", im->path, mnt) != 0) {
		printf("kernel mount: skipped (mount failed)\n");
		rmdir(mnt);
		free(im);
		return;
	}
	CHECK_EQ(sh("umount %s", mnt), 0);
	rmdir(mnt);
	CHECK_EQ(sh("e2fsck -fn %s >/dev/null 2>&1", im->path), 0);
	dev_open(&d, im, 0);
	verify(&d, im);
	dev_close(&d);
	printf("kernel mount: replayed\n");
	free(im);
}

int main(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	/* e2fsprogs live in sbin, which a user's PATH may lack. */
	snprintf(buf, sizeof(buf), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	setenv("PATH", buf, 1);
	if (sh("(command -v mke2fs && command -v e2fsck && command -v debugfs) >/dev/null") != 0)
		t_skip("mke2fs, e2fsck or debugfs missing");
	dir = t_run_dir();
	crc_vectors();
	/* csum v3 with 64-bit tags (Debian's default), then neither. */
	replay_both("");
	replay_both("-O ^metadata_csum,^64bit");
	torn();
	wrap_and_hostile("");
	wrap_and_hostile("-O ^metadata_csum,^64bit");
	kernel_mount();
	return T_EXIT_PASS;
}
