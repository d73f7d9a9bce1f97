/* SPDX-License-Identifier: MIT */
/*
 * stage.c - what a crash of aoki-fsd alone must not lose.
 *
 * The journal makes a transaction durable at its commit (every few ms,
 * or at fsync).  An operation acknowledged before that lives only in
 * fsd's memory; a power failure may lose it (POSIX: it was not synced),
 * but a crash of the fsd *process*, restarted at once by aoki-init, must
 * not: its clients carry on and must find what they were told is done.
 *
 * So after each request the blocks it changed are appended, whole, to a
 * staging ring in a file of the run directory (tmpfs under /run, or
 * wherever the ports live), shared-mapped: a process crash keeps every
 * store made before it.  A record counts only if its checksum holds (a
 * crash in the middle of one leaves it out: its request was not
 * answered).  Each hard commit empties the ring.
 *
 * At start, after the journal replay, the ring is applied - its blocks
 * become the first transaction - only if it belongs to this boot
 * (boot_id: after a reboot the device may have lost writes that were
 * never flushed, so only the journal counts), to this file system, and
 * to the transaction after the last one the journal holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsd.h"

#define STAGE_MAGIC 0x41534731u	/* "AGS1" */
#define REC_MAGIC 0x41535231u
#define STAGE_SIZE (64ull << 20)

struct stage_hdr {
	uint32_t magic;
	uint32_t bsize;
	uint8_t boot_id[16];
	uint8_t fs_uuid[16];
	uint32_t base;		/* the tid of the transaction these belong to */
	uint32_t epoch;		/* bumped by each reset: older records are void */
	uint64_t head;		/* bytes used, records included */
};

struct stage_rec {
	uint32_t magic;
	uint32_t epoch;		/* = hdr.epoch when written */
	uint32_t nblocks;
	uint32_t crc;		/* of the record with crc = 0, blocks and data */
	/* uint64_t blk[nblocks]; then nblocks blocks of data */
};

#define HDR_BYTES 4096u

static int boot_id(uint8_t out[16])
{
	char text[64];
	unsigned n = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (got <= 0)
		return -EIO;
	text[got] = 0;
	memset(out, 0, 16);
	for (char *p = text; *p && n < 32; p++) {
		int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (v < 0)
			continue;
		out[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
		n++;
	}
	return n == 32 ? 0 : -EIO;
}

int stage_open(struct fsd *d, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	void *m;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)STAGE_SIZE) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	m = mmap(NULL, STAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	d->stage = m;
	return 0;
}

void stage_close(struct fsd *d, int own)
{
	/* munmap writes nothing: the stores made are in the file already,
	 * as at a crash of the process. */
	if (d->stage)
		munmap(d->stage, STAGE_SIZE);
	d->stage = NULL;
	if (own)
		fsd_free(d->host, d->op);
	d->op = NULL;
	d->nop = d->op_cap = 0;
}

static uint32_t rec_crc(const struct stage_rec *rec, const uint8_t *body, size_t len)
{
	struct stage_rec h = *rec;

	h.crc = 0;
	return journal_crc32c(journal_crc32c(~0u, &h, sizeof(h)), body, len);
}

int stage_valid(struct fsd *d, uint32_t last_tid, const uint8_t fs_uuid[16])
{
	struct stage_hdr *h = d->stage;
	uint8_t now[16];

	int ok = h && h->magic == STAGE_MAGIC && h->bsize == d->bsize && boot_id(now) == 0 &&
		 !memcmp(h->boot_id, now, 16) && !memcmp(h->fs_uuid, fs_uuid, 16) &&
		 /* No commit of the ring's transaction or a later one: its
		  * content is newer than the log's (tids wrap: compare as
		  * jbd2 does). */
		 (int32_t)(h->base - last_tid) > 0;

	if (getenv("AOKI_FSD_DEBUG_STAGE") && h)
		fprintf(stderr, "aoki-fsd: staging ring magic %x base %u epoch %u head %llu, "
			"journal last %u: %s\n", h->magic, h->base, h->epoch,
			(unsigned long long)h->head, last_tid, ok ? "applied" : "not applied");
	return ok;
}

int stage_apply(struct fsd *d, unsigned *applied)
{
	struct stage_hdr *h = d->stage;
	uint64_t off = HDR_BYTES;

	*applied = 0;
	while (off + sizeof(struct stage_rec) <= STAGE_SIZE) {
		const struct stage_rec *rec = (const void *)((uint8_t *)d->stage + off);
		const uint8_t *body = (const uint8_t *)(rec + 1);
		uint64_t len;

		if (rec->magic != REC_MAGIC || rec->epoch != h->epoch || !rec->nblocks ||
		    rec->nblocks > 65536)
			break;
		len = rec->nblocks * (8ull + d->bsize);
		if (off + sizeof(*rec) + len > STAGE_SIZE || rec_crc(rec, body, len) != rec->crc)
			break;
		for (uint32_t i = 0; i < rec->nblocks; i++) {
			uint64_t blk;
			struct cache_block *b;
			int r;

			memcpy(&blk, body + 8 * i, 8);
			if (blk >= d->info.size / d->bsize)
				return -EUCLEAN;
			b = cache_find(&d->cache, blk);
			if (!b && !(b = cache_insert(&d->cache, blk)))
				return -ENOMEM;
			r = cache_mark_dirty(&d->cache, b, now_real_ns());
			if (r < 0)
				return r;
			memcpy(b->data, body + 8ull * rec->nblocks + (uint64_t)i * d->bsize, d->bsize);
		}
		(*applied)++;
		off += sizeof(*rec) + ((len + 7) & ~7ull);
	}
	return 0;
}

void stage_reset(struct fsd *d, uint32_t base)
{
	struct stage_hdr *h = d->stage;

	if (!h)
		return;
	/* The old records are ignored from here on: their epoch differs. */
	if (getenv("AOKI_FSD_DEBUG_STAGE"))
		fprintf(stderr, "aoki-fsd[%d]: ring reset: base %u (was %u, head %llu)\n",
			(int)getpid(), base, h->base, (unsigned long long)h->head);
	h->epoch++;
	h->magic = STAGE_MAGIC;
	h->bsize = d->bsize;
	boot_id(h->boot_id);
	memcpy(h->fs_uuid, d->fs->super->s_uuid, 16);
	h->base = base;
	h->head = HDR_BYTES;
	memset((uint8_t *)d->stage + HDR_BYTES, 0, sizeof(struct stage_rec));
	/* A commit inside a request: what it noted so far is committed. */
	for (unsigned i = 0; i < d->nop; i++)
		d->op[i].b->in_op = 0;
	d->nop = 0;
}

void stage_rebase(struct fsd *d, uint32_t base)
{
	struct stage_hdr *h = d->stage;

	if (getenv("AOKI_FSD_DEBUG_STAGE") && h)
		fprintf(stderr, "aoki-fsd[%d]: ring rebased: base %u (was %u)\n", (int)getpid(),
			base, h->base);
	if (h && h->magic == STAGE_MAGIC && (int32_t)(base - h->base) > 0)
		h->base = base;
}

/* Note that @b changed in the current request. */
void stage_note(struct fsd *d, struct cache_block *b)
{
	if (b->in_op || !d->stage)
		return;
	if (d->nop == d->op_cap) {
		unsigned cap = d->op_cap ? 2 * d->op_cap : 64;
		struct stage_ref *n = fsd_realloc(d->host, d->op, d->op_cap * sizeof(*n),
						  cap * sizeof(*n));

		if (!n) {
			d->stage_lost = 1;	/* the next stage commits instead */
			return;
		}
		d->op = n;
		d->op_cap = cap;
	}
	b->in_op = 1;
	d->op[d->nop++] = (struct stage_ref){ b, b->blk };
}

int stage_request(struct fsd *d)
{
	struct stage_hdr *h = d->stage;
	struct stage_rec *rec;
	uint8_t *body;
	uint64_t len;
	unsigned n = 0;
	int r;

	if (!h || d->io_error)
		return 0;
	r = txn_flush_fs(d);	/* libext2fs's bitmaps, superblock, descriptors */
	if (r < 0)
		return r;
	if (!d->nop)
		return 0;
	len = d->nop * (8ull + d->bsize);
	if (d->stage_lost || h->head + sizeof(*rec) + len > STAGE_SIZE) {
		/* Full: a hard commit empties the ring. */
		for (unsigned i = 0; i < d->nop; i++)
			d->op[i].b->in_op = 0;
		d->nop = 0;
		d->stage_lost = 0;
		return txn_commit(d);
	}
	rec = (struct stage_rec *)((uint8_t *)d->stage + h->head);
	body = (uint8_t *)(rec + 1);
	for (unsigned i = 0; i < d->nop; i++) {
		struct stage_ref *s = &d->op[i];

		s->b->in_op = 0;
		if (s->b->blk != s->blk || s->b->state != CB_DIRTY)
			continue;	/* forgotten, or committed since */
		memcpy(body + 8 * n, &s->blk, 8);
		n++;
	}
	d->nop = 0;
	if (!n)
		return 0;
	/* Data after the block list (n may be below the count noted). */
	for (unsigned i = 0; i < n; i++) {
		uint64_t blk;
		struct cache_block *b;

		memcpy(&blk, body + 8 * i, 8);
		b = cache_find(&d->cache, blk);
		memcpy(body + 8ull * n + (uint64_t)i * d->bsize, b->data, d->bsize);
	}
	len = n * (8ull + d->bsize);
	*rec = (struct stage_rec){ REC_MAGIC, h->epoch, n, 0 };
	rec->crc = rec_crc(rec, body, len);
	/* The next record's magic must not be a stale one of this epoch. */
	h->head += sizeof(*rec) + ((len + 7) & ~7ull);
	if (h->head + sizeof(*rec) <= STAGE_SIZE)
		memset((uint8_t *)d->stage + h->head, 0, sizeof(*rec));
	return 0;
}
