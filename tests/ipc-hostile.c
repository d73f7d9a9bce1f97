/* SPDX-License-Identifier: MIT */
/*
 * ipc-hostile: one client process scribbles random values over its own
 * channel memory while 3 well-behaved client processes use the same echo
 * server process (2 workers).  The scribbler writes every header line
 * (geometry, epoch/cq_tail, the srv_sleeping doorbell, cli_wait/cli_futex,
 * srv_head, client_id), slot states (random ones and near-plausible ones at
 * the server's head), opcodes, lengths, flags and payloads, the completion
 * ring, and now and then garbage on its control socket; it forges requests
 * (reserved opcodes, malformed grant revokes, lengths past the payload)
 * and sends calls and async batches with random grant references (ids,
 * offsets, lengths; the echo GRANT ops among others) to grants it
 * registered.  When the server drops it (or a library call fails) it
 * closes and connects a fresh channel, for the whole hostile phase.
 *
 * Checked:
 *   - the server never crashes or hangs: alive at the end, it answers a
 *     fresh client and exits 0 on SIGTERM; its stderr (captured to a file)
 *     logs each drop with its reason ("dropping channel ..."), at least
 *     one, and no sanitizer report;
 *   - no leak: once the scribbler is gone, the server's descriptors are
 *     back to the baseline taken before any hostile phase, its mappings
 *     and VmRSS close to it;
 *   - the good clients (checked echo calls, async batches, grant sums)
 *     get every reply right: zero errors;
 *   - throughput of the good clients, reported.
 *
 * Throughput.  On this project's 2-core machines a client and a worker
 * exchange requests fast only while both are on a CPU, so the good
 * clients' rate depends mostly on how the kernel happens to co-schedule
 * 5 busy threads, and any extra process that wakes up (however well it
 * behaves) breaks those pairs; a scribbler that never sleeps would also
 * take its fair share of CPU from everybody.  Both are the scheduler's
 * doing, not the server's.  So:
 *   - the scribbler works like a busy real client: bursts of up to 32
 *     actions, then a 300 us sleep; it never spins (spin_ns < 0) and its
 *     calls give up after 20 ms;
 *   - a control: the same process, bursts and sleeps, but well-behaved
 *     (checked-free echo calls and async batches) -- the "benign" phase;
 *   - the phases (clean: good clients alone, benign, hostile) alternate in
 *     ROUNDS x SLICE_MS slices, so that drifts of the scheduler hit all
 *     three alike.
 * Reported: raw = calls/s clean / calls/s hostile (the goal is
 * <= 2); vs-benign = calls/s benign / calls/s hostile, what hostility costs
 * over an equally busy good client; and a CPU-normalised raw ratio,
 * raw x (1 - the scribbler's share of the CPUs).  Only raw <= 10 (a
 * stalled worker) is asserted: tighter bounds would be flaky here.
 *
 * ECHO_OP_SLEEP is never sent: it is the echo server's legitimate way to
 * hold a worker for up to 10 s, a handler's cost, not a protocol hole.
 *
 * The scribbler's choices come from a seeded PRNG; the seed is printed
 * (AOKI_HOSTILE_SEED replays the choices; the interleaving with the
 * server still varies).
 *
 * Last, parked_revoke_leak reproduces a server leak this test found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

/* Mappings the server may gain over the run without leaking: 2; under
 * AddressSanitizer also the regions its allocator maps on the first use
 * of each size class (8 seen; a leaked grant per channel would be
 * hundreds). */
#if defined(__SANITIZE_ADDRESS__)
#define MAPS_SLACK 24
#else
#define MAPS_SLACK 2
#endif
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/client.h"
#include "../lib/ipc/layout.h"
#include "../lib/ipc/sys.h"

#define PORT "hostile"
#define NGOOD 3
#define ROUNDS 4
#define SLICE_MS 300
#define GOOD_TIMEOUT_NS 2000000000ll	/* a hung server fails a good call */
#define GOOD_GRANT 4096
#define SCRIB_MAX_GRANTS 4
#define SCRIB_SLEEP_US 300
#define RSS_SLACK_KB (16 * 1024)

enum phase { PH_CLEAN, PH_BENIGN, PH_HOSTILE, PH_AFTER, PH_STOP, NPHASE = PH_STOP };

/* Shared by the parent and every child. */
struct shared {
	_Atomic uint32_t phase;	/* a futex word too */
	_Atomic uint64_t ops[NGOOD][NPHASE];	/* good requests completed */
	_Atomic int64_t cpu_ns[NPHASE];		/* the scribbler's CPU time */
	struct {
		_Atomic uint64_t connects, connect_fails, actions, resets, timeouts,
			eagain, other_errs, forced;
	} s;	/* the scribbler in the hostile phase */
};

static struct shared *sh;
static pid_t parent, srv_pid = -1, scrib_pid = -1, good_pid[NGOOD];
static char log_path[128];
static uint64_t seed;
static int passed;

/* ------------------------------------------------------------- the PRNG */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* A value worth writing: edges, small numbers, single bits, noise. */
static uint32_t rnd_value(void)
{
	switch (rnd_below(6)) {
	case 0: return 0;
	case 1: return ~0u;
	case 2: return 1u << rnd_below(32);
	case 3: return rnd_below(128);
	default: return (uint32_t)rnd();
	}
}

/* -------------------------------------------------------- the scribbler */

/* An action's verdict, besides the -errno of a library call. */
#define REPLACE 1	/* the channel is beyond use: connect a fresh one */

struct scrib {
	struct aoki_chan *ch;
	uint32_t gid[SCRIB_MAX_GRANTS];
	unsigned ngrants;
	unsigned eagain;	/* -EAGAIN in a row */
	unsigned left;		/* actions before a forced reconnect */
	int hostile;		/* else the benign control */
	uint64_t tag;		/* benign mode's next payload */
};

/* Count @what for the notes, in the hostile phase only. */
static void scrib_count(const struct scrib *s, _Atomic uint64_t *what)
{
	if (s->hostile)
		atomic_fetch_add(what, 1);
}

/* Connect a fresh channel; 0, or -1 if the phase ended meanwhile. */
static int scrib_connect(struct scrib *s, uint32_t ph)
{
	/* Never spin, give up calls after 20 ms, never reconnect by itself. */
	struct aoki_chan_opts o = { .slots = 2u << rnd_below(6), .max_grants = SCRIB_MAX_GRANTS,
				    .spin_ns = -1, .timeout_ns = 20000000, .reconnect_ns = -1 };

	while (aoki_connect(PORT, &o, &s->ch) < 0) {
		scrib_count(s, &sh->s.connect_fails);
		if (atomic_load(&sh->phase) != ph)
			return -1;
		t_sleep_ms(1);
	}
	scrib_count(s, &sh->s.connects);
	s->ngrants = 0;
	s->eagain = 0;
	s->left = 20 + rnd_below(400);
	return 0;
}

static uint32_t scrib_grant_id(const struct scrib *s)
{
	switch (rnd_below(4)) {
	case 0: return rnd_below(SCRIB_MAX_GRANTS + 4);
	case 1: return rnd_value();
	default: return s->ngrants ? s->gid[rnd_below(s->ngrants)] : 0;
	}
}

/* Fill all of @p; return a length for it, often a grant reference's. */
static size_t scrib_payload(const struct scrib *s, uint8_t p[AOKI_MSG_PAYLOAD])
{
	struct aoki_grant_ref ref = {
		.grant = scrib_grant_id(s),
		.length = rnd_below(3) ? rnd_below(2 * GOOD_GRANT) : rnd_value(),
		.offset = rnd_below(3) ? rnd_below(2 * GOOD_GRANT) : rnd(),
	};

	for (unsigned i = 0; i < AOKI_MSG_PAYLOAD; i++)
		p[i] = (uint8_t)rnd();
	if (rnd_below(4))
		memcpy(p, &ref, sizeof(ref));
	return rnd_below(2) ? sizeof(ref) + rnd_below(2) : rnd_below(AOKI_MSG_PAYLOAD + 1);
}

/* An opcode: mostly the echo server's (grant ops twice as likely), else
 * anything; reserved ones only if @reserved.  Never ECHO_OP_SLEEP. */
static uint16_t scrib_op(int reserved)
{
	static const uint16_t ops[] = {
		ECHO_OP_ECHO, ECHO_OP_ADD, ECHO_OP_GRANT_SUM, ECHO_OP_GRANT_FILL,
		ECHO_OP_GRANT_SUM, ECHO_OP_GRANT_FILL, ECHO_OP_DEFER, ECHO_OP_PID, 0,
	};
	uint16_t op;

	if (rnd_below(4))
		return ops[rnd_below(sizeof(ops) / sizeof(ops[0]))];
	do
		op = (uint16_t)rnd();
	while (op == ECHO_OP_SLEEP || (!reserved && op >= AOKI_OP_RESERVED));
	return op;
}

/* A state word near what the server expects at its head, or noise. */
static uint32_t scrib_state(const struct scrib *s)
{
	uint32_t n = s->ch->geom.nslots;
	uint64_t pos = atomic_load(&s->ch->ring.tail) + rnd_below(4 * n) - 2 * n;

	return rnd_below(4) ? slot_state(pos, (enum slot_kind)rnd_below(4)) : rnd_value();
}

/* Random words anywhere in the header: all six lines. */
static int scrib_header(struct scrib *s)
{
	volatile uint32_t *w = (volatile uint32_t *)s->ch->hdr;

	for (unsigned n = 1 + rnd_below(4); n; n--)
		w[rnd_below(sizeof(struct chan_hdr) / 4)] = rnd_value();
	return 0;
}

/* One word of a slot: the state (half the time at the server's head,
 * which is our tail when nothing is in flight), or any other field. */
static int scrib_slot(struct scrib *s)
{
	struct aoki_chan *ch = s->ch;
	uint32_t i = rnd_below(2) ? (uint32_t)(atomic_load(&ch->ring.tail) & ch->geom.mask)
				  : rnd_below(ch->geom.nslots);
	volatile uint32_t *w = (volatile uint32_t *)&ch->slots[i];
	unsigned k = rnd_below(CHAN_SLOT_SIZE / 4);

	w[k] = k == 0 ? scrib_state(s) : rnd_value();
	return 0;
}

/* A submission entry: at the server's next position half the time
 * (naming any slot, or an impossible one), else anywhere. */
static int scrib_sq(struct scrib *s)
{
	struct aoki_chan *ch = s->ch;
	_Atomic uint32_t *sq = chan_sq(ch->hdr, &ch->geom);
	uint64_t t = atomic_load(&ch->ring.tail);

	if (rnd_below(2))
		atomic_store(&sq[t & ch->geom.mask], sq_entry(t, rnd_below(ch->geom.nslots + 2)));
	else
		atomic_store(&sq[rnd_below(ch->geom.nslots)], rnd_value());
	return 0;
}

static int scrib_cq(struct scrib *s)
{
	atomic_store(&s->ch->cq[rnd_below(s->ch->geom.nslots)], rnd_value());
	return 0;
}

/*
 * Queue message @m at @ch's tail whatever its slot holds, as no library
 * call would: any opcode, length, flags; its seq if not 0, else the
 * position.
 */
static void forge(struct aoki_chan *ch, const struct chan_slot *m)
{
	struct ring_msg msg = { .op = m->op, .len = m->len, .flags = m->flags, .tag = m->tag };
	int async = (m->flags & MSG_F_ASYNC) != 0;
	int idx = ring_claim(&ch->ring, &ch->geom, ch->hdr, async);

	if (idx < 0)
		return;	/* every slot in use: nothing forged this time */
	memcpy(msg.payload, m->payload, sizeof(msg.payload));
	ring_publish(&ch->ring, &ch->geom, ch->hdr, (uint32_t)idx, &msg);
	/* A wrong seq, written after publication as a client may. */
	if (m->seq)
		ch->slots[idx].seq = m->seq;
	/* Nobody waits for a synchronous reply: the slot is freed when it
	 * comes (an async one, by a reap). */
	if (!async)
		ring_orphan(&ch->ring, (uint32_t)idx);
	chan_kick(ch);
}

/* Forge @op with @len bytes of @data; now and then a wrong length, odd
 * flags or a wrong seq. */
static int scrib_forge(struct scrib *s, uint16_t op, const void *data, size_t len)
{
	struct chan_slot m = {
		.op = op, .tag = rnd(),
		.len = rnd_below(8) ? (uint16_t)len : (uint16_t)rnd_value(),
		.flags = rnd_below(4) ? (uint16_t)rnd_below(2) : (uint16_t)rnd_value(),
		.seq = rnd_below(2) ? 0 : rnd(),
	};

	memcpy(m.payload, data, len < sizeof(m.payload) ? len : sizeof(m.payload));
	forge(s->ch, &m);
	return 0;
}

static int scrib_forge_random(struct scrib *s)
{
	uint8_t p[AOKI_MSG_PAYLOAD];
	size_t len = scrib_payload(s, p);

	return scrib_forge(s, scrib_op(1), p, len);
}

/* A revoke of a real or made-up grant, sometimes of the wrong size. */
static int scrib_revoke(struct scrib *s)
{
	uint32_t id = scrib_grant_id(s);

	return scrib_forge(s, OP_GRANT_REVOKE, &id, rnd_below(4) ? sizeof(id) : rnd_below(5));
}

static int scrib_call(struct scrib *s)
{
	uint8_t p[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
	size_t len = scrib_payload(s, p), n;

	return aoki_call(s->ch, scrib_op(0), p, len, rep, sizeof(rep), &n);
}

/*
 * Reap what is there, or wait a millisecond for one.  Only while cq_tail
 * is within a ring of our head: the library trusts cq_tail in our own
 * memory, and one scribbled far ahead makes reap_some walk up to 2^32
 * (corrupt) entries: seconds of CPU that would only hurt us.
 */
static int scrib_reap(struct scrib *s)
{
	struct aoki_chan *ch = s->ch;
	struct aoki_cqe c[16];
	int r;

	if (atomic_load(&ch->hdr->cq_tail) - atomic_load(&ch->ring.cq_head) > ch->geom.nslots)
		return 0;
	r = aoki_reap(ch, c, 16, rnd_below(2), rnd_below(2) ? 0 : 1000000);
	return r < 0 ? r : 0;
}

static int scrib_async(struct scrib *s)
{
	struct aoki_sqe q[8];
	uint8_t p[8][AOKI_MSG_PAYLOAD];
	unsigned n = 1 + rnd_below(8);
	int r;

	for (unsigned i = 0; i < n; i++)
		q[i] = (struct aoki_sqe){ .op = scrib_op(0), .len = (uint16_t)scrib_payload(s, p[i]),
					  .tag = rnd(), .data = p[i] };
	r = aoki_submit(s->ch, q, n);
	return r < 0 ? r : scrib_reap(s);
}

static int scrib_grant(struct scrib *s)
{
	void *mem;
	uint32_t id;
	int r;

	if (s->ngrants == SCRIB_MAX_GRANTS)
		return scrib_revoke(s);
	r = aoki_grant_create(s->ch, (size_t)GOOD_GRANT << rnd_below(3), 1 + rnd_below(3), &id,
			      &mem);
	if (r == -ENOSPC)
		return 0;	/* our forged revokes confuse our bookkeeping */
	if (r == 0) {
		memset(mem, (int)rnd(), GOOD_GRANT);
		s->gid[s->ngrants++] = id;
	}
	return r;
}

/* Ring the doorbell with a random value in it, nothing behind it. */
static int scrib_doorbell(struct scrib *s)
{
	for (unsigned n = 1 + rnd_below(64); n; n--) {
		atomic_store(&s->ch->hdr->srv_sleeping, rnd_below(4) ? 0 : rnd_value());
		futex_wake_shared(&s->ch->hdr->srv_sleeping, 1);
	}
	return 0;
}

/* Garbage on the control socket: random bytes, or a well-framed message
 * of a random type.  Our control stream is out of step after it (a grant
 * registration would wait 5 s for its answer): replace the channel. */
static int scrib_control(struct scrib *s)
{
	uint32_t b[16];

	for (unsigned i = 0; i < 16; i++)
		b[i] = (uint32_t)rnd();
	if (rnd_below(2)) {
		b[0] = 0x4c54434bu;	/* CTL_MAGIC */
		b[1] = AOKI_IPC_VERSION | (rnd_value() << 16);
	}
	send(s->ch->ctl_fd, b, 1 + rnd_below(sizeof(b)), MSG_NOSIGNAL | MSG_DONTWAIT);
	return REPLACE;
}

static int scrib_action(struct scrib *s)
{
	static int (*const act[])(struct scrib *) = {
		scrib_header, scrib_header, scrib_slot, scrib_slot, scrib_slot, scrib_sq, scrib_sq,
		scrib_cq,
		scrib_forge_random, scrib_forge_random, scrib_forge_random, scrib_revoke,
		scrib_call, scrib_call, scrib_call, scrib_async, scrib_async, scrib_reap,
		scrib_grant, scrib_doorbell,
	};

	if (rnd_below(1000) == 0)
		return scrib_control(s);
	return act[rnd_below(sizeof(act) / sizeof(act[0]))](s);
}

/* The benign control: what a well-behaved client would do instead. */
static int benign_action(struct scrib *s)
{
	struct aoki_sqe q[8];
	struct aoki_cqe c[8];
	uint8_t p[8][AOKI_MSG_PAYLOAD];
	unsigned n = 1 + rnd_below(8);
	int r;

	if (rnd_below(2)) {
		n = (unsigned)t_tag_fill(s->tag, p[0]);
		r = aoki_call(s->ch, ECHO_OP_ECHO, p[0], n, p[1], sizeof(p[1]), NULL);
		s->tag++;
		return r == (int)n ? 0 : r;
	}
	for (unsigned i = 0; i < n; i++, s->tag++)
		q[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .tag = s->tag, .data = p[i],
					  .len = (uint16_t)t_tag_fill(s->tag, p[i]) };
	r = aoki_submit(s->ch, q, n);
	if (r == (int)n)
		r = aoki_reap(s->ch, c, n, n, -1);
	return r == (int)n ? 0 : r < 0 ? r : -ETIMEDOUT;
}

/* Does the result of an action mean the channel must be replaced?  The
 * handler's own errors (bad op, bad grant reference, ...) do not. */
static int scrib_must_reconnect(struct scrib *s, int r)
{
	switch (r) {
	case 0: case -EINVAL: case -ENOSYS: case -ENOENT: case -EACCES: case -EFAULT:
		s->eagain = 0;
		return 0;
	case -EAGAIN:	/* slots we scribbled never come back */
		scrib_count(s, &sh->s.eagain);
		return ++s->eagain >= 4;
	case -ECONNRESET:
		scrib_count(s, &sh->s.resets);
		return 1;
	case -ETIMEDOUT:
		scrib_count(s, &sh->s.timeouts);
		return 1;
	case REPLACE:
		scrib_count(s, &sh->s.forced);
		return 1;
	default:
		if (r > 0)
			return 0;
		scrib_count(s, &sh->s.other_errs);
		return 1;
	}
}

static int64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Bursts of actions on a channel of ours while the phase stays @ph. */
static void scrib_phase(struct scrib *s, uint32_t ph)
{
	int64_t cpu0 = cpu_now_ns();

	s->hostile = ph == PH_HOSTILE;
	if (scrib_connect(s, ph) < 0)
		return;
	while (atomic_load(&sh->phase) == ph) {
		for (unsigned n = 1 + rnd_below(32); n; n--) {
			int r = s->hostile ? scrib_action(s) : benign_action(s);

			scrib_count(s, &sh->s.actions);
			if (scrib_must_reconnect(s, r))
				goto reconnect;
			if (--s->left == 0) {
				scrib_must_reconnect(s, REPLACE);
				goto reconnect;
			}
			if (atomic_load(&sh->phase) != ph)
				break;
		}
		if (chan_check_alive(s->ch)) {
			usleep(SCRIB_SLEEP_US);
			continue;
		}
		scrib_must_reconnect(s, -ECONNRESET);
reconnect:
		aoki_close(s->ch);
		s->ch = NULL;
		if (scrib_connect(s, ph) < 0)
			break;
	}
	aoki_close(s->ch);
	s->ch = NULL;
	atomic_fetch_add(&sh->cpu_ns[ph], cpu_now_ns() - cpu0);
}

/* Hostile or benign as the phase says; closed and asleep otherwise. */
static void scribbler(void)
{
	struct scrib s = { .tag = 1ull << 63 };
	uint32_t ph;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while ((ph = atomic_load(&sh->phase)) != PH_STOP) {
		if (ph == PH_BENIGN || ph == PH_HOSTILE)
			scrib_phase(&s, ph);
		else
			futex_wait_shared(&sh->phase, ph, 100000000);
	}
	_exit(0);
}

/* ------------------------------------------------------ the good clients */

static int good_fail(unsigned id, const char *what, uint64_t tag, int r)
{
	fprintf(stderr, "good client %u: %s (tag %#llx): %d\n", id, what,
		(unsigned long long)tag, r);
	_exit(1);
}

/* 8 async echoes, every completion checked: its tag, status, payload. */
static unsigned good_async(unsigned id, struct aoki_chan *ch, uint64_t base)
{
	uint8_t p[8][AOKI_MSG_PAYLOAD];
	struct aoki_sqe q[8];
	struct aoki_cqe c[8];
	unsigned sent = 0, got = 0, seen = 0;

	for (unsigned i = 0; i < 8; i++)
		q[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .tag = base + i, .data = p[i],
					  .len = (uint16_t)t_tag_fill(base + i, p[i]) };
	while (sent < 8) {
		int r = aoki_submit(ch, q + sent, 8 - sent);

		if (r <= 0)
			good_fail(id, "submit", base + sent, r);
		sent += (unsigned)r;
	}
	while (got < 8) {
		int r = aoki_reap(ch, c, 8, 1, GOOD_TIMEOUT_NS);

		if (r <= 0)
			good_fail(id, "reap", base, r);
		for (int i = 0; i < r; i++) {
			uint64_t k = c[i].tag - base;

			if (k >= 8 || (seen & (1u << k)))
				good_fail(id, "unknown or repeated completion", c[i].tag, 0);
			seen |= 1u << k;
			if (c[i].status != (int32_t)q[k].len ||
			    !t_tag_check(c[i].tag, c[i].payload, c[i].len))
				good_fail(id, "async reply corrupt", c[i].tag, c[i].status);
		}
		got += (unsigned)r;
	}
	return 8;
}

/* The sum of a piece of our grant, against the one computed here. */
static unsigned good_grant(unsigned id, struct aoki_chan *ch, uint32_t gid,
			   const uint8_t *mem, uint64_t tag)
{
	struct aoki_grant_ref ref = { .grant = gid, .offset = tag % GOOD_GRANT };
	uint64_t want = 0, sum = 0;
	size_t n = 0;
	int r;

	ref.length = (uint32_t)((tag * 2654435761u) % (GOOD_GRANT - ref.offset + 1));
	for (uint32_t i = 0; i < ref.length; i++)
		want += mem[ref.offset + i];
	r = aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), &sum, sizeof(sum), &n);
	if (r != 0 || n != sizeof(sum) || sum != want)
		good_fail(id, "grant sum", tag, r);
	return 1;
}

static void good_client(unsigned id, int ready_fd)
{
	struct aoki_chan_opts o = { .timeout_ns = GOOD_TIMEOUT_NS };
	struct aoki_chan *ch;
	uint8_t *mem;
	uint32_t gid, ph;
	uint64_t tag = (uint64_t)id << 48;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (aoki_connect(PORT, &o, &ch) < 0 ||
	    aoki_grant_create(ch, GOOD_GRANT, AOKI_GRANT_READ, &gid, (void **)&mem) < 0)
		_exit(2);
	for (unsigned i = 0; i < GOOD_GRANT; i++)
		mem[i] = (uint8_t)(i * 7 + id);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	while ((ph = atomic_load(&sh->phase)) != PH_STOP) {
		unsigned n;

		if (tag % 64 == 63)
			n = good_async(id, ch, tag);
		else if (tag % 64 == 31)
			n = good_grant(id, ch, gid, mem, tag);
		else
			n = t_echo_ok(ch, tag) ? 1 : (unsigned)good_fail(id, "echo", tag, 0);
		tag += n;
		atomic_fetch_add_explicit(&sh->ops[id][ph], n, memory_order_relaxed);
	}
	aoki_close(ch);
	_exit(0);
}

/* -------------------------------------------------------------- parent */

/* Count the server's log lines: drops by reason, sanitizer reports. */
struct server_log {
	unsigned drops, slot, doorbell, control, other, sanitizer;
};

static struct server_log read_log(void)
{
	struct server_log l = { 0 };
	char line[512];
	FILE *f = fopen(log_path, "r");

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
			l.sanitizer++;
		if (!strstr(line, "dropping channel"))
			continue;
		l.drops++;
		if (strstr(line, "holds state"))
			l.slot++;
		else if (strstr(line, "doorbell"))
			l.doorbell++;
		else if (strstr(line, "control message"))
			l.control++;
		else
			l.other++;
	}
	fclose(f);
	return l;
}

/* On failure: show what the server said (drops left out), and kill every
 * child, the server included, so that nothing outlives the test. */
static void on_exit_cleanup(void)
{
	char line[512];
	FILE *f;

	if (passed || getpid() != parent)
		return;
	f = log_path[0] ? fopen(log_path, "r") : NULL;
	fprintf(stderr, "server stderr (drops left out):\n");
	while (f && fgets(line, sizeof(line), f))
		if (!strstr(line, "dropping channel"))
			fprintf(stderr, "  %s", line);
	if (f)
		fclose(f);
	for (unsigned i = 0; i < NGOOD; i++)
		if (good_pid[i] > 0)
			kill(good_pid[i], SIGKILL);
	if (scrib_pid > 0)
		kill(scrib_pid, SIGKILL);
	if (srv_pid > 0)
		kill(srv_pid, SIGKILL);
	fprintf(stderr, "seed %llu\n", (unsigned long long)seed);
}

/* Spawn the server with its stderr going to the log file. */
static void spawn_server(void)
{
	struct echo_opts eo = { .workers = 2, .cpu = -1, .quiet = 0 };
	int fd, saved;

	snprintf(log_path, sizeof(log_path), "%s/server.log", t_run_dir());
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	saved = dup(2);
	CHECK(saved >= 0);
	CHECK_EQ(dup2(fd, 2), 2);
	CHECK_EQ(echo_server_spawn(PORT, &eo, &srv_pid), 0);
	CHECK_EQ(dup2(saved, 2), 2);
	close(saved);
	close(fd);
}

static void set_phase(enum phase ph)
{
	atomic_store(&sh->phase, ph);
	futex_wake_shared(&sh->phase, INT_MAX);
}

static pid_t fork_child(void)
{
	pid_t p = fork();

	CHECK(p >= 0);
	return p;
}

/* The server is still there and answers a fresh channel, right. */
static void fresh_client(void)
{
	struct aoki_chan *ch;
	int status;

	CHECK_EQ(waitpid(srv_pid, &status, WNOHANG), 0);
	CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
	for (uint64_t k = 0; k < 200; k++)
		CHECK(t_echo_ok(ch, (k << 16) | 0xf));
	aoki_close(ch);
}

/* Reap @pid; it must have exited 0. */
static void reap_child(pid_t *pid, const char *what)
{
	int status;

	CHECK_EQ(waitpid(*pid, &status, 0), *pid);
	*pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "%s: wait status %#x\n", what, status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * The leak this test found, reproduced on an in-process server (so that
 * its allocations can be counted).  A grant revoke that arrives while its
 * channel has a deferred request is parked on srv_chan.parked
 * (req_dispatch, lib/ipc/request.c).  If the channel goes away before the
 * deferred request completes, aoki_req_complete sees it dead and skips
 * run_parked, and chan_free (lib/ipc/server.c) never frees the parked
 * list: one struct aoki_req lost per parked revoke, for as long as a
 * client repeats DEFER, revoke, close.  Seen here as malloc growth
 * (mallinfo2); in an ASan build LeakSanitizer reports it at exit.
 */
#define LEAK_ROUNDS 300

/* One channel: DEFER, a revoke parked behind it, close; then a request
 * on @flush completes the DEFER, which frees the channel. */
static void defer_revoke_close(struct aoki_server *srv, struct aoki_chan *flush, uint64_t i)
{
	struct chan_slot revoke = { .op = OP_GRANT_REVOKE, .len = sizeof(uint32_t),
				    .flags = MSG_F_ASYNC };	/* of grant 0 */
	int64_t end = t_now_ns() + 2000000000;
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect("leak", NULL, &ch), 0);
	CHECK_EQ(aoki_submit(ch, &(struct aoki_sqe){ .op = ECHO_OP_DEFER }, 1), 1);
	forge(ch, &revoke);
	/* Both taken: the DEFER parked in the worker, the revoke behind it. */
	while (atomic_load(&ch->hdr->srv_head) < 2)
		CHECK(t_now_ns() < end);
	aoki_close(ch);
	CHECK(t_wait_stat(srv, T_CHANNELS, 1, 2000));
	CHECK(t_echo_ok(flush, i));
}

static void parked_revoke_leak(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("leak", 1, &st, NULL, NULL);
	struct aoki_chan *flush;
	size_t before, after;
	uint64_t i = 0;

	CHECK_EQ(aoki_connect("leak", NULL, &flush), 0);
	/* Warm up: the server's one-time allocations, malloc's caches. */
	while (i < 50)
		defer_revoke_close(srv, flush, i++);
	before = mallinfo2().uordblks;
	while (i < 50 + LEAK_ROUNDS)
		defer_revoke_close(srv, flush, i++);
	after = mallinfo2().uordblks;
	aoki_close(flush);
	aoki_server_destroy(srv);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator is not glibc's: mallinfo2 sees nothing. */
	printf("note: parked revokes: %u channels; LeakSanitizer checks at exit\n", LEAK_ROUNDS);
	(void)before;
	(void)after;
#else
	printf("note: parked revokes: malloc in use grew %zd bytes over %u channels\n",
	       (ssize_t)(after - before), LEAK_ROUNDS);
	if (after >= before + LEAK_ROUNDS * 32)
		fprintf(stderr, "server leak: revokes parked behind a deferred request are "
			"not freed with their channel (see parked_revoke_leak)\n");
	CHECK(after < before + LEAK_ROUNDS * 32);
#endif
}

int main(void)
{
	int ready[2], status;
	int64_t t_phase[NPHASE] = { 0 }, end;
	uint64_t ops[NPHASE] = { 0 };
	double rate[NPHASE], raw, share, cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("AOKI_HOSTILE_SEED");
	struct t_proc_usage base = { 0 }, now;
	struct server_log log;
	char b;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	seed = env ? strtoull(env, NULL, 0) : (uint64_t)t_now_ns() ^ (uint64_t)getpid() << 32;
	rng = seed;
	printf("seed %llu (AOKI_HOSTILE_SEED=%llu replays it)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	t_run_dir();
	parent = getpid();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	atexit(on_exit_cleanup);
	spawn_server();

	CHECK_EQ(pipe(ready), 0);
	for (unsigned i = 0; i < NGOOD; i++)
		if ((good_pid[i] = fork_child()) == 0) {
			close(ready[0]);
			good_client(i, ready[1]);
		}
	close(ready[1]);
	for (unsigned i = 0; i < NGOOD; i++)
		CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);
	if ((scrib_pid = fork_child()) == 0)
		scribbler();

	/* The phases in turn, the hostile one last in each round; the
	 * baseline is taken after the first clean slice. */
	for (unsigned round = 0; round < ROUNDS; round++) {
		for (enum phase ph = PH_CLEAN; ph <= PH_HOSTILE; ph++) {
			int64_t t0 = t_now_ns();

			set_phase(ph);
			t_sleep_ms(SLICE_MS);
			t_phase[ph] += t_now_ns() - t0;
			if (round == 0 && ph == PH_CLEAN)
				base = t_proc_usage(srv_pid);
		}
	}
	set_phase(PH_AFTER);
	/* The good clients go on (their requests complete whatever the
	 * scribbler left parked in the workers) while the server releases
	 * the scribbler's last channel. */
	end = t_now_ns() + 3000000000ll;
	do {
		t_sleep_ms(20);
		now = t_proc_usage(srv_pid);
	} while ((now.fds > base.fds || now.maps > base.maps) && t_now_ns() < end);
	set_phase(PH_STOP);
	reap_child(&scrib_pid, "scribbler");
	for (unsigned i = 0; i < NGOOD; i++) {
		reap_child(&good_pid[i], "good client");
		for (enum phase ph = PH_CLEAN; ph <= PH_HOSTILE; ph++) {
			CHECK(atomic_load(&sh->ops[i][ph]) > 0);	/* nobody starved */
			ops[ph] += atomic_load(&sh->ops[i][ph]);
		}
	}
	fresh_client();
	status = echo_server_stop(srv_pid);
	srv_pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	log = read_log();

	for (enum phase ph = PH_CLEAN; ph <= PH_HOSTILE; ph++)
		rate[ph] = (double)ops[ph] / ((double)t_phase[ph] / 1e9);
	raw = rate[PH_CLEAN] / rate[PH_HOSTILE];
	share = (double)sh->cpu_ns[PH_HOSTILE] / ((double)t_phase[PH_HOSTILE] * cpus);
	printf("note: good clients, calls/s: %.0f alone, %.0f with a benign busy client, "
	       "%.0f with the scribbler\n", rate[PH_CLEAN], rate[PH_BENIGN], rate[PH_HOSTILE]);
	printf("note: ratio alone/hostile %.2f (goal <= 2), benign/hostile %.2f, "
	       "CPU-normalised %.2f (scribbler used %.1f%% of %.0f CPUs, benign %.1f%%)\n",
	       raw, rate[PH_BENIGN] / rate[PH_HOSTILE], raw * (1 - share), share * 100, cpus,
	       (double)sh->cpu_ns[PH_BENIGN] * 100 / ((double)t_phase[PH_BENIGN] * cpus));
	printf("note: scribbler: %llu actions on %llu channels (%llu dropped, %llu timed out, "
	       "%llu with a full ring, %llu other errors, %llu closed by choice)\n",
	       (unsigned long long)sh->s.actions, (unsigned long long)sh->s.connects,
	       (unsigned long long)sh->s.resets, (unsigned long long)sh->s.timeouts,
	       (unsigned long long)sh->s.eagain, (unsigned long long)sh->s.other_errs,
	       (unsigned long long)sh->s.forced);
	printf("note: server: %u drops logged (slot state %u, doorbell %u, control %u, "
	       "other %u); fds %ld -> %ld, maps %ld -> %ld, RSS %ld -> %ld KiB\n",
	       log.drops, log.slot, log.doorbell, log.control, log.other, base.fds, now.fds,
	       base.maps, now.maps, base.rss_kb, now.rss_kb);

	CHECK_EQ(log.sanitizer, 0);
	CHECK(log.drops >= 1);
	CHECK(sh->s.connects >= 20);
	CHECK_EQ(now.fds, base.fds);
	CHECK(now.maps <= base.maps + MAPS_SLACK);
	CHECK(now.rss_kb <= base.rss_kb + RSS_SLACK_KB);
	CHECK(raw <= 10);

	parked_revoke_leak();
	passed = 1;
	return T_EXIT_PASS;
}
