/* SPDX-License-Identifier: MIT */
/*
 * demo_blk.c - the storage part of `aoki demo`: aoki-init runs aoki-blkd
 * on a new 64 MiB volume in a private directory (blk_work.h); the demo
 * writes 16 MiB through aoki_blk(3) and reads it back, measures 4 KiB
 * random reads, then kills the server with writes in flight and shows
 * them complete, with the right data, once aoki-init has restarted it.
 *
 * Every 8-byte word written is a function of its volume offset and of
 * the pass that wrote it (1: the 16 MiB, 2: the writes of the crash), so
 * any read can be checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "blk_work.h"
#include "demo_blk.h"
#include "clock.h"
#include "stats.h"
#include "soak.h"

#define PFX "aoki demo"
#define VOLUME "demo"
#define NS 1000000000ll
#define BLOCK 4096u
#define VOLUME_BYTES (64ull << 20)
#define SEQ_BYTES (16u << 20)		/* written and read back */
#define SEQ_IO (128u << 10)		/* bytes per sequential request */
#define SEQ_REQS (SEQ_BYTES / SEQ_IO)
#define SEQ_DEPTH 8u
#define RAND_DEPTH 32u
#define RAND_NS NS			/* how long the random reads run */
#define LAT_MAX (1u << 21)		/* latencies kept for the median */
#define CRASH_IOS 32u
#define CRASH_STRIDE (SEQ_BYTES / CRASH_IOS)
#define WAIT_NS (5 * NS)		/* no completion for this long: failure */
#define MAX_CRASHES 10			/* aoki-init's limit */

_Static_assert(CRASH_IOS <= RAND_DEPTH && CRASH_IOS <= 64,
	       "the crash writes use the random-read slots; reap_all tracks 64 tags");

/* One run: the server, the open volume and its buffers. */
struct dblk {
	struct blk_work w;
	struct soak_init si;
	int started;			/* aoki-init is running */
	char port[PATH_MAX + 16];	/* the server's socket */
	struct aoki_blk *b;
	uint8_t *data;			/* SEQ_BYTES */
	uint8_t *slots;			/* RAND_DEPTH blocks */
	uint64_t rng;
};

/* pattern - the 8-byte word at volume offset @off as pass @pass writes it. */
static uint64_t pattern(uint64_t off, uint64_t pass)
{
	uint64_t x = (off | pass << 56) * 0x9e3779b97f4a7c15ull;

	return x ^ x >> 29;
}

/* fill - pass @pass's @len bytes for volume offset @off into @buf. */
static void fill(uint8_t *buf, size_t len, uint64_t off, uint64_t pass)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = pattern(off + i, pass);

		memcpy(buf + i, &v, sizeof(v));
	}
}

/* verify - whether @buf holds pass @pass's @len bytes for volume offset
 * @off.  Returns 0, or -1 with a message naming the first bad word. */
static int verify(const uint8_t *buf, size_t len, uint64_t off, uint64_t pass)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v;

		memcpy(&v, buf + i, sizeof(v));
		if (v != pattern(off + i, pass)) {
			fprintf(stderr, PFX ": storage: wrong data at volume offset %llu (pass %llu)\n",
				(unsigned long long)(off + i), (unsigned long long)pass);
			return -1;
		}
	}
	return 0;
}

/* random_block - xorshift64: a block of the written 16 MiB, at random
 * (the rest of the volume is allocated but never written, and the file
 * system answers reads of it with zeroes without touching the device). */
static uint64_t random_block(struct dblk *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng % (SEQ_BYTES / BLOCK);
}

/* submit - queue what it can of @n requests, in order: the ring takes a
 * request only when its slot's previous request has been reaped, so
 * completions out of order may leave it "full" with fewer in flight.
 * Returns how many were queued, or -1 with a message about @what. */
static int submit(struct dblk *d, const struct aoki_blk_io *ios, unsigned n, const char *what)
{
	int q = aoki_blk_submit(d->b, ios, n);

	if (q < 0)
		fprintf(stderr, PFX ": storage: %s: submit: %s\n", what, strerror(-q));
	return q < 0 ? -1 : q;
}

/* submit_all - queue all @n requests, on a ring with nothing in flight
 * and everything reaped.  Returns 0, or -1 with a message about @what. */
static int submit_all(struct dblk *d, const struct aoki_blk_io *ios, unsigned n,
		      const char *what)
{
	int q = submit(d, ios, n, what);

	if (q >= 0 && q < (int)n)
		fprintf(stderr, PFX ": storage: %s: only %d of %u requests queued\n", what, q, n);
	return q == (int)n ? 0 : -1;
}

/* reap - wait up to WAIT_NS for completions, at most @max into @c; each
 * must have a tag below @ntags and have moved @len bytes.  Returns how
 * many, or -1 with a message about @what. */
static int reap(struct dblk *d, struct aoki_blk_cqe *c, unsigned max, unsigned ntags,
		uint32_t len, const char *what)
{
	int n = aoki_blk_reap(d->b, c, max, 1, WAIT_NS);

	if (n <= 0) {
		fprintf(stderr, PFX ": storage: %s: %s\n", what,
			n < 0 ? strerror(-n) : "nothing completed for 5 s");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (c[i].tag < ntags && c[i].res == (int64_t)len)
			continue;
		fprintf(stderr, PFX ": storage: %s: request %llu: %s\n", what,
			(unsigned long long)c[i].tag,
			c[i].tag >= ntags ? "unknown tag" :
			c[i].res < 0 ? strerror((int)-c[i].res) : "short");
		return -1;
	}
	return n;
}

/* reap_all - reap @n (at most 64) requests of @len bytes, tags 0 to
 * @n - 1, each once.  Returns 0, or -1 with a message about @what. */
static int reap_all(struct dblk *d, unsigned n, uint32_t len, const char *what)
{
	struct aoki_blk_cqe c[RAND_DEPTH];
	uint64_t seen = 0;

	for (unsigned done = 0; done < n;) {
		int got = reap(d, c, RAND_DEPTH, n, len, what);

		for (int i = 0; i < got; i++) {
			if (seen & 1ull << c[i].tag) {
				fprintf(stderr, PFX ": storage: %s: request %llu completed twice\n",
					what, (unsigned long long)c[i].tag);
				return -1;
			}
			seen |= 1ull << c[i].tag;
		}
		if (got < 0)
			return -1;
		done += (unsigned)got;
	}
	return 0;
}

/* seq_pass - @op (read or write) the first SEQ_BYTES of the volume
 * from or into d->data, SEQ_IO per request, SEQ_DEPTH in flight.
 * Returns MB/s, or -1 with a message about @what. */
static double seq_pass(struct dblk *d, uint16_t op, const char *what)
{
	struct aoki_blk_cqe c[SEQ_DEPTH];
	struct aoki_blk_io ios[SEQ_DEPTH];
	unsigned next = 0, done = 0, n;
	int64_t t0 = util_now_ns();
	int q, got;

	while (done < SEQ_REQS) {
		for (n = 0; next + n < SEQ_REQS && next + n - done < SEQ_DEPTH; n++)
			ios[n] = (struct aoki_blk_io){ .op = op, .len = SEQ_IO,
						       .offset = (uint64_t)(next + n) * SEQ_IO,
						       .buf = d->data + (size_t)(next + n) * SEQ_IO,
						       .tag = next + n };
		q = n ? submit(d, ios, n, what) : 0;
		if (q < 0)
			return -1;
		next += (unsigned)q;
		got = reap(d, c, SEQ_DEPTH, SEQ_REQS, SEQ_IO, what);
		if (got < 0)
			return -1;
		done += (unsigned)got;
	}
	return SEQ_BYTES / 1e6 / ((double)(util_now_ns() - t0) / NS);
}

/* demo_seq - write SEQ_BYTES of pass 1, read them back and check them;
 * print the rates.  Returns 0, or -1 with a message. */
static int demo_seq(struct dblk *d)
{
	double wr, rd;

	fill(d->data, SEQ_BYTES, 0, 1);
	wr = seq_pass(d, AOKI_BLK_OP_WRITE, "sequential write");
	if (wr < 0)
		return -1;
	memset(d->data, 0, SEQ_BYTES);
	rd = seq_pass(d, AOKI_BLK_OP_READ, "sequential read");
	if (rd < 0 || verify(d->data, SEQ_BYTES, 0, 1) < 0)
		return -1;
	printf("storage: %u MiB in %u KiB requests at depth %u: written at %.0f MB/s, "
	       "read back at %.0f MB/s, every byte verified\n", SEQ_BYTES >> 20, SEQ_IO >> 10,
	       SEQ_DEPTH, wr, rd);
	return 0;
}

/* Random reads: every latency (up to LAT_MAX), the count, the slots. */
struct rand_run {
	int64_t *lat;
	size_t nlat;
	uint64_t ios;
	int64_t sub[RAND_DEPTH];	/* when slot i was submitted */
	unsigned free[RAND_DEPTH], nfree;	/* slots not in flight */
};

/* rand_submit - a read of a random block into every free slot, as many
 * as the ring takes.  Returns 0, or -1 with a message. */
static int rand_submit(struct dblk *d, struct rand_run *rr)
{
	struct aoki_blk_io ios[RAND_DEPTH];
	int64_t t = util_now_ns();
	int q;

	for (unsigned i = 0; i < rr->nfree; i++) {
		unsigned s = rr->free[rr->nfree - 1 - i];

		ios[i] = (struct aoki_blk_io){ .op = AOKI_BLK_OP_READ, .len = BLOCK,
					       .offset = random_block(d) * BLOCK,
					       .buf = d->slots + (size_t)s * BLOCK, .tag = s };
		rr->sub[s] = t;
	}
	q = rr->nfree ? submit(d, ios, rr->nfree, "random reads") : 0;
	if (q < 0)
		return -1;
	rr->nfree -= (unsigned)q;	/* the queued ones: the top of the stack */
	return 0;
}

/* rand_complete - note @n completions @c, reaped at @t, and free their
 * slots. */
static void rand_complete(struct rand_run *rr, const struct aoki_blk_cqe *c, int n, int64_t t)
{
	for (int i = 0; i < n; i++) {
		unsigned s = (unsigned)c[i].tag;

		if (rr->nlat < LAT_MAX)
			rr->lat[rr->nlat++] = t - rr->sub[s];
		rr->free[rr->nfree++] = s;
	}
	rr->ios += (unsigned)n;
}

/* rand_reads - BLOCK reads of random blocks, RAND_DEPTH in flight, for
 * RAND_NS.  Returns the seconds it took, or -1 with a message. */
static double rand_reads(struct dblk *d, struct rand_run *rr)
{
	int64_t t0 = util_now_ns(), end = t0 + RAND_NS, t = t0;
	struct aoki_blk_cqe c[RAND_DEPTH];
	int n;

	for (unsigned s = 0; s < RAND_DEPTH; s++)
		rr->free[s] = s;
	rr->nfree = RAND_DEPTH;
	while (t < end || rr->nfree < RAND_DEPTH) {
		if (t < end && rand_submit(d, rr) < 0)
			return -1;
		n = reap(d, c, RAND_DEPTH, RAND_DEPTH, BLOCK, "random reads");
		if (n < 0)
			return -1;
		t = util_now_ns();
		rand_complete(rr, c, n, t);
	}
	return (double)(util_now_ns() - t0) / NS;
}

/* demo_rand - run the random reads and print IOPS and the median
 * latency.  Returns 0, or -1 with a message. */
static int demo_rand(struct dblk *d)
{
	struct rand_run rr = { .lat = malloc(LAT_MAX * sizeof(*rr.lat)) };
	double secs;

	if (!rr.lat) {
		fprintf(stderr, PFX ": storage: %s\n", strerror(ENOMEM));
		return -1;
	}
	secs = rand_reads(d, &rr);
	if (secs > 0)
		printf("storage: %u KiB random reads at depth %u for %.0f s: %.0f IOPS, "
		       "median latency %.1f us\n", BLOCK >> 10, RAND_DEPTH, secs,
		       (double)rr.ios / secs, util_percentile(rr.lat, rr.nlat, 50) / 1e3);
	free(rr.lat);
	return secs > 0 ? 0 : -1;
}

/* crash_io - crash write (or read back) @i: a block every CRASH_STRIDE
 * bytes of the 16 MiB, at varying offsets within the stride. */
static struct aoki_blk_io crash_io(struct dblk *d, uint16_t op, unsigned i, uint8_t *buf)
{
	return (struct aoki_blk_io){ .op = op, .len = BLOCK,
				     .offset = (uint64_t)i * CRASH_STRIDE + (i % 16) * BLOCK,
				     .buf = buf + (size_t)i * BLOCK, .tag = i };
}

/* crash_writes - submit CRASH_IOS writes of pass 2, SIGKILL the server
 * at once and reap them all.  Returns the ms from the kill to the last
 * completion, or -1 with a message; *@old is the killed server. */
static double crash_writes(struct dblk *d, pid_t *old)
{
	struct aoki_blk_io ios[CRASH_IOS];
	int64_t t_kill;

	*old = soak_init_server_pid(&d->si);
	if (*old < 0) {
		fprintf(stderr, PFX ": storage: no aoki-blkd pid: %s\n", strerror(-*old));
		return -1;
	}
	for (unsigned i = 0; i < CRASH_IOS; i++) {
		ios[i] = crash_io(d, AOKI_BLK_OP_WRITE, i, d->slots);
		fill(ios[i].buf, BLOCK, ios[i].offset, 2);
	}
	if (submit_all(d, ios, CRASH_IOS, "writes before the crash") < 0)
		return -1;
	if (kill(*old, SIGKILL) < 0) {
		fprintf(stderr, PFX ": storage: kill %d: %s\n", (int)*old, strerror(errno));
		return -1;
	}
	t_kill = util_now_ns();
	if (reap_all(d, CRASH_IOS, BLOCK, "writes across the crash") < 0)
		return -1;
	return (double)(util_now_ns() - t_kill) / 1e6;
}

/* crash_check - read the crash writes' blocks back and check them.
 * Returns 0, or -1 with a message. */
static int crash_check(struct dblk *d)
{
	struct aoki_blk_io ios[CRASH_IOS];

	memset(d->data, 0, (size_t)CRASH_IOS * BLOCK);
	for (unsigned i = 0; i < CRASH_IOS; i++)
		ios[i] = crash_io(d, AOKI_BLK_OP_READ, i, d->data);
	if (submit_all(d, ios, CRASH_IOS, "read back after the crash") < 0 ||
	    reap_all(d, CRASH_IOS, BLOCK, "read back after the crash") < 0)
		return -1;
	for (unsigned i = 0; i < CRASH_IOS; i++)
		if (verify(ios[i].buf, BLOCK, ios[i].offset, 2) < 0)
			return -1;
	return 0;
}

/* demo_crash - the crash and its check; print what happened.  Returns 0,
 * or -1 with a message. */
static int demo_crash(struct dblk *d)
{
	double ms;
	pid_t old, now;

	ms = crash_writes(d, &old);
	if (ms < 0 || crash_check(d) < 0)
		return -1;
	now = soak_init_server_pid(&d->si);
	if (now <= 0 || now == old) {
		fprintf(stderr, PFX ": storage: aoki-init did not restart aoki-blkd %d\n",
			(int)old);
		return -1;
	}
	printf("crash recovery (storage): aoki-blkd %d killed (SIGKILL) with %u writes in "
	       "flight; restarted by aoki-init as %d; all %u completed %.1f ms after the kill, "
	       "data verified\n", (int)old, CRASH_IOS, (int)now, CRASH_IOS, ms);
	return 0;
}

/* volume_open - open the volume read-write with RAND_DEPTH slots and
 * allocate the buffers.  Returns 0, or -1 with a message. */
static int volume_open(struct dblk *d)
{
	struct aoki_blk_opts bo = {
		.queue_depth = RAND_DEPTH, .arena_size = SEQ_BYTES + RAND_DEPTH * BLOCK,
		.reconnect_ns = WAIT_NS,
	};
	struct aoki_blk_info info;
	int r;

	r = aoki_blk_open(d->port, VOLUME, AOKI_BLK_RDWR, &bo, &d->b);
	if (r < 0) {
		fprintf(stderr, PFX ": storage: open %s on %s: %s\n", VOLUME, d->port, strerror(-r));
		return -1;
	}
	aoki_blk_get_info(d->b, &info);
	if (info.size < VOLUME_BYTES || BLOCK % info.block_size || BLOCK % info.mem_align ||
	    info.max_io < SEQ_IO) {
		fprintf(stderr, PFX ": storage: volume geometry unusable: size %llu, block %u, "
			"align %u, max_io %u\n", (unsigned long long)info.size, info.block_size,
			info.mem_align, info.max_io);
		return -1;
	}
	r = aoki_blk_alloc(d->b, SEQ_BYTES, (void **)&d->data);
	if (r == 0)
		r = aoki_blk_alloc(d->b, RAND_DEPTH * BLOCK, (void **)&d->slots);
	if (r < 0)
		fprintf(stderr, PFX ": storage: buffers: %s\n", strerror(-r));
	return r < 0 ? -1 : 0;
}

/* dblk_start - the work directory, aoki-init with aoki-blkd, the open
 * volume; print the first line.  Returns 0, or -1 with a message. */
static int dblk_start(struct dblk *d, const char *bindir)
{
	struct aoki_blk_info info;

	if (blk_work_create(&d->w, PFX, VOLUME, bindir, VOLUME_BYTES) < 0 ||
	    blk_work_start(&d->w, MAX_CRASHES, &d->si, d->port, sizeof(d->port)) < 0)
		return -1;
	d->started = 1;
	if (volume_open(d) < 0)
		return -1;
	aoki_blk_get_info(d->b, &info);
	printf("storage: aoki-init runs aoki-blkd %d serving a %llu MiB volume (%s) from %s\n",
	       (int)soak_init_server_pid(&d->si), VOLUME_BYTES >> 20,
	       info.flags & AOKI_BLK_INFO_DIRECT ? "O_DIRECT" : "buffered", d->w.img);
	fflush(stdout);
	return 0;
}

/* dblk_stop - close the volume, stop aoki-init and remove the work
 * directory, or keep both (and say where) if @failed. */
static void dblk_stop(struct dblk *d, int failed)
{
	aoki_blk_close(d->b);	/* NULL-safe */
	if (d->started) {
		d->si.keep = failed;
		soak_init_stop(&d->si);
	}
	blk_work_remove(&d->w, failed);
}

/* servers_missing - whether aoki-blkd or aoki-init is missing from
 * @bindir (this program's directory): then print a SKIP line. */
static int servers_missing(const char *bindir)
{
	static const char *const need[] = { "aoki-blkd", "aoki-init" };
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", bindir, need[i]);
		if (access(path, X_OK) == 0)
			continue;
		printf("storage: SKIP (no %s next to this aoki, in %s)\n", need[i], bindir);
		return 1;
	}
	return 0;
}

int demo_blk(void)
{
	static struct dblk d;
	char bindir[PATH_MAX];
	int failed;

	if (soak_init_bindir(bindir, sizeof(bindir)) < 0) {
		printf("storage: SKIP (cannot find this program's directory)\n");
		return 0;
	}
	if (servers_missing(bindir))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	d.rng = (uint64_t)util_now_ns() | 1;
	failed = dblk_start(&d, bindir) < 0 || demo_seq(&d) < 0 || demo_rand(&d) < 0 ||
		 demo_crash(&d) < 0;
	dblk_stop(&d, failed);
	fflush(stdout);
	return failed;
}
