/* SPDX-License-Identifier: MIT */
/*
 * soak_blk.c - `aoki soak blk`: C client threads load aoki-blkd, run by
 * aoki-init, with asynchronous 4 KiB reads and writes at queue depth Q,
 * while the soak kills the server with SIGKILL N times.  Every read is
 * checked against a model of what the volume must hold.
 *
 * Each client has its own channel (struct aoki_blk) and its own disjoint
 * region of the volume.  Every 512-byte sector it writes carries the
 * run's seed, the block number, the write's generation (per client,
 * increasing), the client id, the sector's index, filler derived from
 * them, and an FNV-1a checksum of the rest.  The model holds, per block,
 * the last acknowledged generation (0: never written, reads as zeroes).
 * At most one I/O per block is in flight, so a read must return exactly
 * the acknowledged generation in all 8 sectors:
 *
 *   corrupt   a bad checksum, another block's or client's sector, a torn
 *             block, or a generation never acknowledged
 *   lost      an older generation than acknowledged (or zeroes)
 *   error     any completion other than 4096 bytes, an unknown or
 *             repeated tag, a channel lost
 *
 * At the end every client reads back its whole region and checks every
 * block the same way.  The stall of a kill runs from the kill until every
 * client has completed an I/O submitted after the server died (which only
 * the restarted server can complete).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "blk_work.h"
#include "clock.h"
#include "hash.h"
#include "progress.h"
#include "rand.h"
#include "soak.h"

#define PFX "aoki soak blk"
#define VOLUME "soak"
#define BLOCK 4096u
#define SECTOR 512u
#define SECTORS (BLOCK / SECTOR)
#define MAGIC 0x4b414f534b494f41ull		/* "AOKISOAK" */
#define NS 1000000000ll
#define RECOVERY_LIMIT_NS (10 * NS)	/* a kill not recovered from: error */
#define RECONNECT_NS (10 * NS)		/* a server that never returns */
#define IDLE_LIMIT_NS (30 * NS)		/* I/O in flight, nothing completes */
#define DEATH_LIMIT_MS 5000		/* SIGKILL to exit */
#define PID_LIMIT_NS (5 * NS)		/* a new server's pid file */
#define REAP_WAIT_NS 100000000ll
#define REAP_MAX 64
#define VERIFY_CHUNK 64u		/* blocks per read of the final check */
#define QD_MAX 1024u
#define MAX_MESSAGES 20			/* failure lines printed */
#define CLIENT_ERROR_LIMIT 100		/* a client gives up after this many */

struct soak_opts {
	struct soak_common c;
	unsigned qd;
	uint64_t size_mib;
};

/* One sector as written: 512 bytes, the checksum last. */
struct sector {
	uint64_t magic;
	uint64_t seed;
	uint64_t block;		/* volume block number */
	uint32_t gen;		/* the write's generation, >= 1 */
	uint32_t client;
	uint32_t index;		/* sector within the block */
	uint8_t fill[SECTOR - 44];
	uint64_t sum;		/* FNV-1a 64 of everything above */
} __attribute__((packed));

_Static_assert(sizeof(struct sector) == SECTOR, "a sector is 512 bytes");

/* Per-block model flags. */
#define B_BUSY 0x1u		/* an I/O on it is in flight */
#define B_UNKNOWN 0x2u		/* a write to it failed: content unknown */

struct slot {
	uint64_t idx;		/* block index within the client's region */
	uint32_t gen;		/* write: its generation; read: 0 */
	int write, used;
	int64_t sub_ns;		/* when it was submitted */
};

struct client {
	unsigned id;
	pthread_t th;
	int started;
	struct aoki_blk *b;
	uint8_t *buf;		/* qd blocks: slot i's data at i * BLOCK */
	uint8_t *vbuf;		/* VERIFY_CHUNK blocks for the final check */
	uint64_t first, nblocks;	/* volume blocks [first, first + nblocks) */
	uint32_t *acked;	/* per block: last acknowledged generation */
	uint8_t *flags;		/* per block: B_* */
	struct slot *slots;
	unsigned *free_slots, nfree, qd;
	uint64_t rng, seed;
	uint32_t gen;
	int64_t last_done;	/* last completion (or start of waiting) */
	unsigned errors;	/* failed completions */
	int failed;
	_Atomic unsigned recovered_seq;	/* kill it has recovered from */
	_Atomic int64_t recovered_ns;	/* when */
};

static struct {
	_Atomic int stop, abort;
	_Atomic unsigned kill_seq;	/* kills made (the current one) */
	_Atomic int64_t dead_at;	/* when the current kill's server died */
	_Atomic uint64_t ios, reads, writes, verified, lost, corrupt, errors;
	_Atomic unsigned messages;
} g;


/* Count @n failures in @what and, for the first MAX_MESSAGES, say what
 * happened on stderr. */
static void fail_n(_Atomic uint64_t *what, uint64_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_n(_Atomic uint64_t *what, uint64_t n, const char *fmt, ...)
{
	unsigned m = atomic_fetch_add(&g.messages, 1);
	char line[512];
	va_list ap;

	atomic_fetch_add(what, n);
	if (m > MAX_MESSAGES)
		return;
	if (m == MAX_MESSAGES) {
		fprintf(stderr, PFX ": further failures not shown\n");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PFX ": %s\n", line);	/* one write: lines do not mix */
}

#define fail(what, ...) fail_n(what, 1, __VA_ARGS__)

/* ------------------------------------------------------------ pattern */

/* sector_fill - write sector @index of volume block @block, generation
 * @gen of client @client, into @s. */
static void sector_fill(struct sector *s, uint64_t seed, uint64_t block, uint32_t gen,
			uint32_t client, uint32_t index)
{
	uint64_t x = seed ^ block * 0x9e3779b97f4a7c15ull ^ (uint64_t)gen << 32 ^ index;

	s->magic = MAGIC;
	s->seed = seed;
	s->block = block;
	s->gen = gen;
	s->client = client;
	s->index = index;
	for (size_t i = 0; i < sizeof(s->fill); i += 8) {
		uint64_t v = util_rnd(&x);
		size_t n = sizeof(s->fill) - i < 8 ? sizeof(s->fill) - i : 8;

		memcpy(s->fill + i, &v, n);
	}
	s->sum = util_fnv1a64(s, offsetof(struct sector, sum));
}

/* block_fill - the 4 KiB block @block, generation @gen, into @buf. */
static void block_fill(uint8_t *buf, const struct client *cl, uint64_t block, uint32_t gen)
{
	for (uint32_t i = 0; i < SECTORS; i++)
		sector_fill((struct sector *)(buf + i * SECTOR), cl->seed, block, gen, cl->id, i);
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* sector_gen - the generation sector @s holds: 0 for zeroes (never
 * written), or -1 if it is not sector @index of @block by client @client
 * of this run (corrupt). */
static int64_t sector_gen(const struct sector *s, const struct client *cl, uint64_t block,
			  uint32_t index)
{
	if (s->magic == 0 && all_zero((const uint8_t *)s, SECTOR))
		return 0;
	if (s->magic != MAGIC || s->seed != cl->seed || s->block != block ||
	    s->client != cl->id || s->index != index || !s->gen ||
	    s->sum != util_fnv1a64(s, offsetof(struct sector, sum)))
		return -1;
	return s->gen;
}

enum verdict { V_OK, V_LOST, V_CORRUPT };

/* block_verdict - check block @idx of @cl's region, read into @buf,
 * against the model; counts and reports a failure.  Any sector that is
 * not ours, or newer than acknowledged, makes it corrupt; else any older
 * one (a whole old block, or a torn write) makes it lost.  @when: "read"
 * or "final check", for the message. */
static enum verdict block_verdict(struct client *cl, uint64_t idx, const uint8_t *buf,
				  const char *when)
{
	uint64_t block = cl->first + idx;
	uint32_t want = cl->acked[idx];
	enum verdict v = V_OK;
	int64_t bad = want;

	if (cl->flags[idx] & B_UNKNOWN)
		return V_OK;
	for (uint32_t i = 0; i < SECTORS; i++) {
		int64_t gen = sector_gen((const struct sector *)(buf + i * SECTOR), cl, block, i);

		if (gen < 0 || gen > want) {
			v = V_CORRUPT;
			bad = gen;
			break;
		}
		if (gen < want && v == V_OK) {
			v = V_LOST;
			bad = gen;
		}
	}
	if (v == V_CORRUPT)
		fail(&g.corrupt, "client %u: %s of block %llu: corrupt (sector generation %lld, "
		     "acknowledged %u)", cl->id, when, (unsigned long long)block,
		     (long long)bad, want);
	else if (v == V_LOST)
		fail(&g.lost, "client %u: %s of block %llu: generation %lld, but %u was "
		     "acknowledged", cl->id, when, (unsigned long long)block, (long long)bad,
		     want);
	return v;
}

/* ------------------------------------------------------------- client */

/* client_open - open the volume on @port for @cl and allocate its model
 * and buffers.  Returns 0 or -errno, with a message. */
static int client_open(struct client *cl, const char *port, const struct soak_opts *o)
{
	struct aoki_blk_opts bo = {
		.queue_depth = 2, .arena_size = (size_t)(o->qd + VERIFY_CHUNK) * BLOCK,
		.reconnect_ns = RECONNECT_NS,
	};
	struct aoki_blk_info info;
	int r;

	while (bo.queue_depth < o->qd)
		bo.queue_depth *= 2;
	r = aoki_blk_open(port, VOLUME, AOKI_BLK_RDWR, &bo, &cl->b);
	if (r < 0) {
		fprintf(stderr, PFX ": client %u: open %s on %s: %s\n", cl->id, VOLUME, port,
			strerror(-r));
		return r;
	}
	aoki_blk_get_info(cl->b, &info);
	if (BLOCK % info.block_size || BLOCK % info.mem_align ||
	    info.size < (cl->first + cl->nblocks) * BLOCK || info.max_io < VERIFY_CHUNK * BLOCK) {
		fprintf(stderr, PFX ": volume geometry unusable: size %llu, block %u, align %u, "
			"max_io %u\n", (unsigned long long)info.size, info.block_size,
			info.mem_align, info.max_io);
		return -EINVAL;
	}
	r = aoki_blk_alloc(cl->b, (size_t)o->qd * BLOCK, (void **)&cl->buf);
	if (r == 0)
		r = aoki_blk_alloc(cl->b, (size_t)VERIFY_CHUNK * BLOCK, (void **)&cl->vbuf);
	cl->acked = calloc(cl->nblocks, sizeof(*cl->acked));
	cl->flags = calloc(cl->nblocks, 1);
	cl->slots = calloc(o->qd, sizeof(*cl->slots));
	cl->free_slots = calloc(o->qd, sizeof(*cl->free_slots));
	if (r == 0 && (!cl->acked || !cl->flags || !cl->slots || !cl->free_slots))
		r = -ENOMEM;
	if (r < 0) {
		fprintf(stderr, PFX ": client %u: buffers: %s\n", cl->id, strerror(-r));
		return r;
	}
	cl->qd = o->qd;
	for (unsigned i = 0; i < o->qd; i++)
		cl->free_slots[i] = i;
	cl->nfree = o->qd;
	return 0;
}

/* client_free - close @cl's volume and free what client_open made. */
static void client_free(struct client *cl)
{
	aoki_blk_close(cl->b);	/* NULL-safe; frees the buffers too */
	free(cl->acked);
	free(cl->flags);
	free(cl->slots);
	free(cl->free_slots);
}

/* pick_block - a random block of @cl's region with no I/O in flight, or
 * -1 if a few tries found none. */
static int64_t pick_block(struct client *cl)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t idx = util_rnd(&cl->rng) % cl->nblocks;

		if (!(cl->flags[idx] & B_BUSY))
			return (int64_t)idx;
	}
	return -1;
}

/* prepare - fill slot @s with a random read or write of a free block and
 * describe it in @io.  Returns 0, or -1 if no block was free. */
static int prepare(struct client *cl, unsigned s, struct aoki_blk_io *io)
{
	int64_t idx = pick_block(cl);
	struct slot *sl = &cl->slots[s];
	uint8_t *data = cl->buf + (size_t)s * BLOCK;

	if (idx < 0)
		return -1;
	*sl = (struct slot){ .idx = (uint64_t)idx, .write = util_rnd(&cl->rng) % 8 < 5, .used = 1 };
	if (sl->write) {
		sl->gen = ++cl->gen ? cl->gen : ++cl->gen;
		block_fill(data, cl, cl->first + sl->idx, sl->gen);
	}
	cl->flags[idx] |= B_BUSY;
	*io = (struct aoki_blk_io){ .op = sl->write ? AOKI_BLK_OP_WRITE : AOKI_BLK_OP_READ,
				    .len = BLOCK, .offset = (cl->first + sl->idx) * BLOCK,
				    .buf = data, .tag = s };
	return 0;
}

/* release - slot @s is done with (completed, or never submitted). */
static void release(struct client *cl, unsigned s)
{
	cl->flags[cl->slots[s].idx] &= (uint8_t)~B_BUSY;
	cl->slots[s].used = 0;
	cl->free_slots[cl->nfree++] = s;
}

/* client_fill - submit I/O into every free slot.  Returns 0, or -1 when
 * the channel failed (counted). */
static int client_fill(struct client *cl)
{
	struct aoki_blk_io ios[QD_MAX];
	unsigned n = 0;
	int64_t t;
	int q;

	while (n < cl->nfree && prepare(cl, cl->free_slots[cl->nfree - 1 - n], &ios[n]) == 0)
		n++;
	if (!n)
		return 0;
	t = util_now_ns();
	for (unsigned i = 0; i < n; i++)
		cl->slots[ios[i].tag].sub_ns = t;
	q = aoki_blk_submit(cl->b, ios, n);
	if (q == -EAGAIN)
		q = 0;
	/* What was not queued stays free: its slots are still on the
	 * stack, below the q taken from its top. */
	for (unsigned i = q > 0 ? (unsigned)q : 0; i < n; i++) {
		cl->flags[cl->slots[ios[i].tag].idx] &= (uint8_t)~B_BUSY;
		cl->slots[ios[i].tag].used = 0;
	}
	if (q < 0) {
		fail(&g.errors, "client %u: submit: %s", cl->id, strerror(-q));
		return -1;
	}
	cl->nfree -= (unsigned)q;
	return 0;
}

/* note_recovery - an I/O submitted at @sub_ns completed: if the current
 * kill's server was dead by then, @cl has recovered from that kill. */
static void note_recovery(struct client *cl, int64_t sub_ns)
{
	unsigned seq = atomic_load(&g.kill_seq);

	if (seq && atomic_load_explicit(&cl->recovered_seq, memory_order_relaxed) != seq &&
	    sub_ns > atomic_load(&g.dead_at)) {
		atomic_store(&cl->recovered_ns, util_now_ns());
		atomic_store(&cl->recovered_seq, seq);
	}
}

/* complete - handle completion @c: update the model or check the data. */
static void complete(struct client *cl, const struct aoki_blk_cqe *c)
{
	struct slot *sl;

	if (c->tag >= cl->qd || !cl->slots[c->tag].used) {
		fail(&g.errors, "client %u: completion for tag %llu, which is not in flight",
		     cl->id, (unsigned long long)c->tag);
		return;
	}
	sl = &cl->slots[c->tag];
	atomic_fetch_add_explicit(&g.ios, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(sl->write ? &g.writes : &g.reads, 1, memory_order_relaxed);
	note_recovery(cl, sl->sub_ns);
	if (c->res != BLOCK) {
		fail(&g.errors, "client %u: %s of block %llu: %s (%lld)", cl->id,
		     sl->write ? "write" : "read", (unsigned long long)(cl->first + sl->idx),
		     c->res < 0 ? strerror((int)-c->res) : "short", (long long)c->res);
		cl->errors++;
		if (sl->write)
			cl->flags[sl->idx] |= B_UNKNOWN;
	} else if (sl->write) {
		cl->acked[sl->idx] = sl->gen;
	} else {
		block_verdict(cl, sl->idx, cl->buf + c->tag * BLOCK, "read");
	}
	release(cl, (unsigned)c->tag);
}

/* client_reap - wait a little for completions and handle them.  Returns
 * 0, or -1 when the channel failed or nothing completed for too long. */
static int client_reap(struct client *cl)
{
	struct aoki_blk_cqe c[REAP_MAX];
	int n = aoki_blk_reap(cl->b, c, REAP_MAX, 1, REAP_WAIT_NS);
	int64_t t = util_now_ns();

	if (n < 0) {
		fail(&g.errors, "client %u: reap: %s", cl->id, strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++)
		complete(cl, &c[i]);
	if (cl->errors >= CLIENT_ERROR_LIMIT) {
		fprintf(stderr, PFX ": client %u: giving up after %u failed I/Os\n", cl->id,
			cl->errors);
		return -1;
	}
	if (n > 0 || cl->nfree == cl->qd) {
		cl->last_done = t;
	} else if (t - cl->last_done > IDLE_LIMIT_NS) {
		fail(&g.errors, "client %u: %u I/Os in flight, none completed for %lld s",
		     cl->id, cl->qd - cl->nfree, IDLE_LIMIT_NS / NS);
		return -1;
	}
	return 0;
}

/* client_verify - read back @cl's whole region and check every block. */
static void client_verify(struct client *cl)
{
	for (uint64_t idx = 0; idx < cl->nblocks; idx += VERIFY_CHUNK) {
		uint64_t n = cl->nblocks - idx < VERIFY_CHUNK ? cl->nblocks - idx : VERIFY_CHUNK;
		ssize_t r = aoki_blk_pread(cl->b, cl->vbuf, n * BLOCK, (cl->first + idx) * BLOCK);

		if (r != (ssize_t)(n * BLOCK)) {
			fail(&g.errors, "client %u: final read of blocks %llu+%llu: %s", cl->id,
			     (unsigned long long)(cl->first + idx), (unsigned long long)n,
			     r < 0 ? strerror((int)-r) : "short");
			return;
		}
		for (uint64_t i = 0; i < n; i++)
			block_verdict(cl, idx + i, cl->vbuf + i * BLOCK, "final check");
		atomic_fetch_add(&g.verified, n);
	}
}

/* client_main - the thread of one client: load until told to stop, let
 * what is in flight complete, then check the whole region. */
static void *client_main(void *arg)
{
	struct client *cl = arg;

	cl->last_done = util_now_ns();
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed) && !cl->failed)
		cl->failed = client_fill(cl) < 0 || client_reap(cl) < 0;
	while (!cl->failed && cl->nfree < cl->qd)
		cl->failed = client_reap(cl) < 0;
	if (cl->failed)
		atomic_store(&g.abort, 1);
	else if (!atomic_load(&g.abort))
		client_verify(cl);
	return NULL;
}

/* ------------------------------------------------------------- killer */

/* wait_recovered - wait until every client has recovered from kill @seq
 * (made at @kill_ns).  Returns the stall in ms, or -1 (timeout, or a
 * client failed). */
static double wait_recovered(struct client *cl, unsigned nclients, unsigned seq,
			     int64_t kill_ns)
{
	int64_t last = 0;
	unsigned i;

	while (util_now_ns() - kill_ns < RECOVERY_LIMIT_NS && !atomic_load(&g.abort)) {
		for (i = 0; i < nclients && atomic_load(&cl[i].recovered_seq) == seq; i++) {
			int64_t t = atomic_load(&cl[i].recovered_ns);

			last = t > last ? t : last;
		}
		if (i == nclients)
			return (last - kill_ns) / 1e6;
		soak_sleep_ms(1);
	}
	if (!atomic_load(&g.abort))
		fail(&g.errors, "kill %u: not every client completed an I/O within %lld s", seq,
		     RECOVERY_LIMIT_NS / NS);
	return -1;
}

/* kill_loop - kill the server o->c.kills times, each 20-60 ms after the
 * previous recovery; the stall of each in @stall.  Returns how many kills
 * were made and recovered from (it stops at the first that was not, or
 * when a client fails). */
static unsigned kill_loop(const struct soak_init *si, const struct soak_opts *o,
			  struct client *cl, double *stall)
{
	uint64_t rng = o->c.seed ^ 0x5eed;
	pid_t last = 0;
	unsigned k;

	for (k = 0; k < o->c.kills && !atomic_load(&g.abort); k++) {
		int64_t kill_ns;
		pid_t pid;

		soak_sleep_ms(soak_gap_ms(&o->c, &rng));
		pid = soak_new_pid(si, NULL, last, PID_LIMIT_NS, PFX);
		if (pid < 0)
			break;
		kill_ns = util_now_ns();
		if (soak_kill_wait(pid, DEATH_LIMIT_MS, PFX) < 0)
			break;
		last = pid;
		atomic_store(&g.dead_at, util_now_ns());
		atomic_store(&g.kill_seq, k + 1);
		stall[k] = wait_recovered(cl, o->c.clients, k + 1, kill_ns);
		if (stall[k] < 0)
			break;
		soak_progress(&o->c, PFX, k + 1, NULL, stall[k],
			      (unsigned long long)atomic_load(&g.ios), "I/Os");
	}
	util_progress_end();
	return k;
}

/* ------------------------------------------------------------- setup */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki soak blk [--kills N] [--clients C] [--qd Q] [--size MiB] [--seed S]\n"
		"                     [--json] [--verbose] [--keep]\n"
		"\n"
		"Starts aoki-init with aoki-blkd serving a new volume image in a private\n"
		"directory, loads it with C client threads (a channel each, a disjoint region\n"
		"each) doing random 4 KiB reads and writes, Q in flight per client, and kills\n"
		"the server with SIGKILL N times, each 20-60 ms after the last recovery.\n"
		"Every sector written carries its block, generation, client and a checksum;\n"
		"every read, and a final read of every block, is checked against the last\n"
		"acknowledged write.  A kill's stall: from the kill until every client has\n"
		"completed an I/O submitted after the server died.\n"
		"\n"
		"  --kills N     kills (default 100)\n"
		"  --clients C   client threads (default 4)\n"
		"  --qd Q        I/Os in flight per client (default 16)\n"
		"  --size MiB    volume size (default 64)\n"
		"  --seed S      random seed (default: from the clock; printed)\n"
		"  --json        one JSON object on stdout\n"
		"  --verbose     a line for every kill (on stderr; else, on a terminal, one\n"
		"                line that updates)\n"
		"  --keep        keep the run directory (init.log) and the image\n"
		"\n"
		"Exit status 0 when lost, corrupt and errors are all 0 and every kill was\n"
		"recovered from; 1 otherwise; 2 for bad usage.\n");
}

/* parse - options into @o.  Returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, struct soak_opts *o)
{
	static const struct option lo[] = {
		SOAK_COMMON_LONGOPTS,
		{ "qd", required_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 'S' },
		{ 0 },
	};
	int c;

	soak_common_defaults(&o->c, 100, 4, 20, 60);
	o->qd = 16;
	o->size_mib = 64;
	optind = 1;
	while ((c = getopt_long(argc, argv, SOAK_COMMON_SHORT "q:S:", lo, NULL)) != -1) {
		uint64_t v = 0;

		if (optarg && soak_parse_number(PFX, optarg, &v) < 0)
			return 2;
		if (soak_common_option(&o->c, c, v))
			continue;
		switch (c) {
		case 'q': o->qd = v > QD_MAX ? QD_MAX + 1 : (unsigned)v; break;
		case 'S': o->size_mib = v; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (soak_common_check(&o->c, 256, PFX) < 0)
		return 2;
	if (!o->qd || o->qd > QD_MAX || !o->size_mib || o->size_mib > (1u << 20)) {
		fprintf(stderr, PFX ": --qd 1..%u, --size 1..1048576 MiB\n", QD_MAX);
		return 2;
	}
	if (o->size_mib * (1u << 20) / BLOCK / o->c.clients < 4ull * o->qd) {
		fprintf(stderr, PFX ": --size too small: each client needs 4 x qd blocks\n");
		return 2;
	}
	return -1;
}

static void report(const struct soak_opts *o, double *stall, unsigned nstall, double secs)
{
	struct soak_stalls st = soak_stalls(stall, nstall);

	if (o->c.json) {
		printf("{\"kills\": %u, \"clients\": %u, \"qd\": %u, \"size_mib\": %llu, "
		       "\"seed\": %llu, \"seconds\": %.1f, \"ios\": %llu, \"reads\": %llu, "
		       "\"writes\": %llu, \"verified\": %llu, \"lost\": %llu, \"corrupt\": %llu, "
		       "\"errors\": %llu, ",
		       nstall, o->c.clients, o->qd, (unsigned long long)o->size_mib,
		       (unsigned long long)o->c.seed, secs, (unsigned long long)g.ios,
		       (unsigned long long)g.reads, (unsigned long long)g.writes,
		       (unsigned long long)g.verified, (unsigned long long)g.lost,
		       (unsigned long long)g.corrupt, (unsigned long long)g.errors);
		soak_stalls_json(&st);
		printf("}\n");
		return;
	}
	printf("%u kills, %u clients x qd %u, %llu MiB, %.1f s (seed %llu)\n"
	       "I/Os %llu (%llu reads, %llu writes), %llu blocks verified at the end\n"
	       "lost %llu, corrupt %llu, errors %llu\n",
	       nstall, o->c.clients, o->qd, (unsigned long long)o->size_mib, secs,
	       (unsigned long long)o->c.seed, (unsigned long long)g.ios,
	       (unsigned long long)g.reads, (unsigned long long)g.writes,
	       (unsigned long long)g.verified, (unsigned long long)g.lost,
	       (unsigned long long)g.corrupt, (unsigned long long)g.errors);
	soak_stalls_text(&st);
}

/* start_clients - open every client's volume and start its thread.
 * Returns 0 or -1 (with a message). */
static int start_clients(struct client *cl, const struct soak_opts *o, const char *port)
{
	uint64_t per = o->size_mib * (1u << 20) / BLOCK / o->c.clients;

	for (unsigned i = 0; i < o->c.clients; i++) {
		cl[i].id = i;
		cl[i].first = i * per;
		cl[i].nblocks = per;
		cl[i].seed = o->c.seed;
		cl[i].rng = o->c.seed * 1000003 + i;
		if (client_open(&cl[i], port, o) < 0)
			return -1;
	}
	for (unsigned i = 0; i < o->c.clients; i++) {
		if (pthread_create(&cl[i].th, NULL, client_main, &cl[i])) {
			fprintf(stderr, PFX ": cannot start threads\n");
			atomic_store(&g.abort, 1);
			return -1;
		}
		cl[i].started = 1;
	}
	return 0;
}

/* stop_clients - stop the load, wait for the final checks, close. */
static void stop_clients(struct client *cl, unsigned n)
{
	atomic_store(&g.stop, 1);
	for (unsigned i = 0; i < n; i++) {
		if (cl[i].started)
			pthread_join(cl[i].th, NULL);
		client_free(&cl[i]);
	}
}

int soak_blk_main(int argc, char **argv)
{
	char bindir[PATH_MAX], port[PATH_MAX + 16];
	static struct blk_work w;
	unsigned done = 0;
	struct soak_init si;
	struct soak_opts o;
	struct client *cl;
	double *stall;
	int64_t t0;
	int r, ok;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (soak_init_bindir(bindir, sizeof(bindir)) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	cl = calloc(o.c.clients, sizeof(*cl));
	stall = calloc(o.c.kills ? o.c.kills : 1, sizeof(*stall));
	if (!cl || !stall)
		return 1;
	fprintf(stderr, PFX ": seed %llu\n", (unsigned long long)o.c.seed);
	if (blk_work_create(&w, PFX, VOLUME, bindir, o.size_mib << 20) < 0 ||
	    blk_work_start(&w, o.c.kills + 10, &si, port, sizeof(port)) < 0) {
		blk_work_remove(&w, 0);
		return 1;
	}
	si.keep = o.c.keep;
	t0 = util_now_ns();
	r = start_clients(cl, &o, port);
	if (r == 0)
		done = kill_loop(&si, &o, cl, stall);
	soak_sleep_ms(50);
	stop_clients(cl, o.c.clients);
	ok = r == 0 && done == o.c.kills && !atomic_load(&g.abort) && !g.lost && !g.corrupt &&
	     !g.errors;
	si.keep = o.c.keep || !ok;
	soak_init_stop(&si);
	blk_work_remove(&w, si.keep);
	report(&o, stall, done, (util_now_ns() - t0) / 1e9);
	free(cl);
	free(stall);
	return ok ? 0 : 1;
}
