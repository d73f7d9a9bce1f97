/* SPDX-License-Identifier: MIT */
/* ring.c - the channel ring protocol; see ring.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "sys.h"

#define MAP_BITS 64u

/* Tags carried by submission entries: the position's low bits. */
#define SQ_TAG_MASK (UINT32_MAX >> SQ_IDX_BITS)

int ring_client_init(struct ring_client *rc, const struct chan_geom *g)
{
	uint32_t words = (g->nslots + MAP_BITS - 1) / MAP_BITS;

	memset(rc, 0, sizeof(*rc));
	rc->nslots = g->nslots;
	rc->free_map = calloc(words, sizeof(*rc->free_map));
	rc->consumed = calloc(g->nslots, sizeof(*rc->consumed));
	rc->orphan = calloc(g->nslots, sizeof(*rc->orphan));
	if (!rc->free_map || !rc->consumed || !rc->orphan) {
		ring_client_free(rc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < g->nslots; i++) {
		atomic_init(&rc->free_map[i / MAP_BITS],
			    atomic_load_explicit(&rc->free_map[i / MAP_BITS], memory_order_relaxed) |
				    1ull << (i % MAP_BITS));
		/* Fresh slots hold FREE(-1): nothing consumed, nothing
		 * to repair. */
		atomic_init(&rc->consumed[i], slot_state((uint64_t)-1, SLOT_FREE));
	}
	return 0;
}

void ring_client_free(struct ring_client *rc)
{
	free(rc->free_map);
	free(rc->consumed);
	free(rc->orphan);
	rc->free_map = NULL;
	rc->consumed = NULL;
	rc->orphan = NULL;
}

void ring_format(void *mem, const struct chan_geom *g)
{
	struct chan_slot *slots = chan_slots(mem, g);
	_Atomic uint32_t *sq = chan_sq(mem, g);

	/* Relaxed: the server sees this memory only after the HELLO system
	 * call that hands it over. */
	for (uint32_t i = 0; i < g->nslots; i++) {
		atomic_store_explicit(&slots[i].state, slot_state((uint64_t)-1, SLOT_FREE),
				      memory_order_relaxed);
		atomic_store_explicit(&sq[i], sq_entry((uint64_t)i - g->nslots, 0),
				      memory_order_relaxed);
	}
}

/* Take slot @i if it is free.  Acquire pairs with the release in
 * ring_release: the last consumer's reads of the reply happen before our
 * writes of the next request. */
static int take_slot(struct ring_client *rc, uint32_t i)
{
	_Atomic uint64_t *w = &rc->free_map[i / MAP_BITS];
	uint64_t bit = 1ull << (i % MAP_BITS);

	/* A plain load first: a busy slot costs no locked instruction. */
	if (!(atomic_load_explicit(w, memory_order_relaxed) & bit))
		return 0;
	return (atomic_fetch_and_explicit(w, ~bit, memory_order_acquire) & bit) != 0;
}

/* Take any free slot, scanning from word @start; -1 if none. */
static int take_any_slot(struct ring_client *rc, uint32_t start)
{
	uint32_t words = (rc->nslots + MAP_BITS - 1) / MAP_BITS;

	for (uint32_t k = 0; k < words; k++) {
		uint32_t wi = (start + k) % words;
		uint64_t v = atomic_load_explicit(&rc->free_map[wi], memory_order_relaxed);

		while (v) {
			uint32_t i = wi * MAP_BITS + (uint32_t)__builtin_ctzll(v);

			if (take_slot(rc, i))
				return (int)i;
			v = atomic_load_explicit(&rc->free_map[wi], memory_order_relaxed);
		}
	}
	return -1;
}

/* Free the orphaned slots whose late replies have arrived; returns how
 * many.  The exchange makes exactly one thread free each. */
static unsigned reclaim_orphans(struct ring_client *rc, const struct chan_geom *g, void *mem)
{
	struct chan_slot *slots = chan_slots(mem, g);
	unsigned n = 0;

	if (!atomic_load_explicit(&rc->norphans, memory_order_relaxed))
		return 0;
	for (uint32_t i = 0; i < g->nslots; i++) {
		/* Acquire pairs with the server's release store of DONE: its
		 * writes of the slot come before the next owner's. */
		uint32_t st = atomic_load_explicit(&slots[i].state, memory_order_acquire);

		if (!atomic_load_explicit(&rc->orphan[i], memory_order_relaxed) ||
		    (st & SLOT_KIND_MASK) != SLOT_DONE ||
		    !atomic_exchange_explicit(&rc->orphan[i], 0, memory_order_relaxed))
			continue;
		atomic_fetch_sub_explicit(&rc->norphans, 1, memory_order_relaxed);
		ring_release(rc, i, st);
		n++;
	}
	return n;
}

int ring_claim(struct ring_client *rc, const struct chan_geom *g, void *mem, int async)
{
	int idx;

	for (;;) {
		/* Relaxed: only a hint for which slot to try first. */
		uint32_t pref = (uint32_t)atomic_load_explicit(&rc->tail, memory_order_relaxed) &
				g->mask;

		if (take_slot(rc, pref)) {
			idx = (int)pref;
			break;
		}
		idx = take_any_slot(rc, pref / MAP_BITS);
		if (idx >= 0)
			break;
		if (!reclaim_orphans(rc, g, mem))
			return -EAGAIN;
	}
	if (async)
		atomic_fetch_add_explicit(&rc->nasync, 1, memory_order_relaxed);
	return idx;
}

unsigned ring_claim_many(struct ring_client *rc, const struct chan_geom *g, void *mem,
			 int async, uint32_t *idx, unsigned n)
{
	unsigned got = 0;

	if (n > g->nslots)
		n = g->nslots;
	/* Until @n are taken, or none is free and no orphan can be freed. */
	for (int pass = 0; got < n && (pass == 0 || reclaim_orphans(rc, g, mem)); pass++) {
		/* Relaxed: only a hint for which slots to try first. */
		uint32_t pref = (uint32_t)atomic_load_explicit(&rc->tail, memory_order_relaxed);
		uint32_t words = (g->nslots + MAP_BITS - 1) / MAP_BITS;

		/* First the slots numbered like the next positions (the
		 * server looks there first), a word's worth per RMW. */
		for (uint32_t i = 0; pass == 0 && i < n;) {
			uint32_t s = (pref + i) & g->mask, b = s % MAP_BITS;
			uint32_t cnt = MAP_BITS - b;
			uint64_t want, v, took;

			if (cnt > n - i)
				cnt = n - i;
			if (cnt > g->nslots - s)
				cnt = g->nslots - s;
			want = (cnt == MAP_BITS ? ~0ull : ((1ull << cnt) - 1)) << b;
			/* A plain load first: busy slots cost no RMW. */
			v = atomic_load_explicit(&rc->free_map[s / MAP_BITS], memory_order_relaxed) &
			    want;
			/* Acquire, as in take_slot.  Bits another thread took
			 * meanwhile are not ours. */
			if (v)
				v &= atomic_fetch_and_explicit(&rc->free_map[s / MAP_BITS], ~v,
							       memory_order_acquire);
			for (took = v; v; v &= v - 1)
				idx[got++] = s / MAP_BITS * MAP_BITS + (uint32_t)__builtin_ctzll(v);
			if (took != want)
				break;	/* the run is broken: positions and slots part */
			i += cnt;
		}
		/* Any others, scanning from the preferred word. */
		for (uint32_t k = 0; got < n && k < words; k++) {
			uint32_t wi = ((pref & g->mask) / MAP_BITS + k) % words;
			uint64_t v = atomic_load_explicit(&rc->free_map[wi], memory_order_relaxed);

			while (v && got < n) {
				uint64_t pick = 0;

				for (unsigned c = got; v && c < n; c++, v &= v - 1)
					pick |= v & -v;
				/* Acquire, as in take_slot; bits another thread
				 * took meanwhile are simply not ours. */
				pick &= atomic_fetch_and_explicit(&rc->free_map[wi], ~pick,
								  memory_order_acquire);
				for (; pick; pick &= pick - 1)
					idx[got++] = wi * MAP_BITS + (uint32_t)__builtin_ctzll(pick);
				v = atomic_load_explicit(&rc->free_map[wi], memory_order_relaxed);
			}
		}
	}
	if (async && got)
		atomic_fetch_add_explicit(&rc->nasync, got, memory_order_relaxed);
	return got;
}

/* Write request @r into slot @s at position @pos and publish it. */
static void publish_one(const struct chan_geom *g, void *mem, struct chan_slot *s, uint32_t idx,
			uint64_t pos, const struct ring_req *r)
{
	/* At most the buffer, whatever r->len says (the hostile tests
	 * forge lengths through this function). */
	size_t len = r->len < AOKI_MSG_PAYLOAD ? r->len : AOKI_MSG_PAYLOAD;

	s->op = r->op;
	s->len = r->len;
	s->tag = r->tag;
	s->seq = pos;
	s->status = 0;
	s->flags = r->flags;
	s->cpu = r->cpu;
	/* A full payload (the usual size) is two inline moves. */
	if (len == AOKI_MSG_PAYLOAD)
		memcpy(s->payload, r->data, AOKI_MSG_PAYLOAD);
	else if (len)
		memcpy(s->payload, r->data, len);
	/* In the slot numbered like its position, the server finds the
	 * request without an entry (ring_peek's fast path), so none is
	 * written: the entry's line, which the server's polls read, stays
	 * off the critical path (ring.h).  Elsewhere, the entry before the
	 * state: the server may take the request from the slot alone, and
	 * the entry's write must be done by then, or a late one could land
	 * on the entry of the position nslots later.  Relaxed: the release
	 * store of the state publishes it with the message. */
	if (idx != (pos & g->mask))
		atomic_store_explicit(&chan_sq(mem, g)[pos & g->mask], sq_entry(pos, idx),
				      memory_order_relaxed);
	/* Release pairs with the server's acquire loads of the state in
	 * ring_peek: the message and the entry are visible first. */
	atomic_store_explicit(&s->state, slot_state(pos, SLOT_QUEUED), memory_order_release);
}

uint64_t ring_publish_many(struct ring_client *rc, const struct chan_geom *g, void *mem,
			   const uint32_t *idx, const struct ring_req *reqs, unsigned n)
{
	struct chan_slot *slots = chan_slots(mem, g);
	/* acq_rel: the counter carries the happens-before of ring.h's
	 * argument from the thread that freed a slot to the one that
	 * claims a later position (release sequence of the RMWs).  One RMW
	 * for the batch: we hold @n slots, so we may take @n positions. */
	uint64_t pos = atomic_fetch_add_explicit(&rc->tail, n, memory_order_acq_rel);

	for (unsigned i = 0; i < n; i++)
		publish_one(g, mem, &slots[idx[i]], idx[i], pos + i, &reqs[i]);
	return pos;
}

uint64_t ring_publish(struct ring_client *rc, const struct chan_geom *g, void *mem,
		      uint32_t idx, const struct ring_msg *m)
{
	struct ring_req r = { .op = m->op, .flags = m->flags, .len = m->len, .cpu = m->cpu,
			      .tag = m->tag, .data = m->payload };

	return ring_publish_many(rc, g, mem, &idx, &r, 1);
}

int32_t ring_reply_copy(const struct chan_geom *g, void *mem, uint32_t idx, void *out,
			size_t cap, size_t *len)
{
	const struct chan_slot *s = &chan_slots(mem, g)[idx];
	size_t n = s->len;

	if (n > AOKI_MSG_PAYLOAD)	/* the server is trusted, but be safe */
		n = AOKI_MSG_PAYLOAD;
	*len = n;
	if (n > cap)
		n = cap;
	/* A full payload (the usual size) is two inline moves. */
	if (n == AOKI_MSG_PAYLOAD)
		memcpy(out, s->payload, AOKI_MSG_PAYLOAD);
	else if (n)
		memcpy(out, s->payload, n);
	return s->status;
}

void ring_release(struct ring_client *rc, uint32_t idx, uint32_t done)
{
	/* Relaxed: read only by a reconnect's repair, which runs with no
	 * reaper or waiter inside (client.c's gate orders it). */
	atomic_store_explicit(&rc->consumed[idx], done, memory_order_relaxed);
	/* seq_cst (a release is enough for take_slot's acquire): it also
	 * orders the free bit before the load of free_waiters below, against
	 * ring_slot_wait_begin's "count myself; then look for a slot"
	 * (Dekker).  One locked instruction either way. */
	atomic_fetch_or_explicit(&rc->free_map[idx / MAP_BITS], 1ull << (idx % MAP_BITS),
				 memory_order_seq_cst);
	if (atomic_load_explicit(&rc->free_waiters, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&rc->freed, 1, memory_order_relaxed);
		futex_wake_private(&rc->freed, 1);
	}
}

void ring_orphan(struct ring_client *rc, uint32_t idx)
{
	atomic_store_explicit(&rc->orphan[idx], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rc->norphans, 1, memory_order_relaxed);
}

uint32_t ring_slot_wait_begin(struct ring_client *rc)
{
	/* seq_cst: see ring_release. */
	atomic_fetch_add_explicit(&rc->free_waiters, 1, memory_order_seq_cst);
	return atomic_load_explicit(&rc->freed, memory_order_seq_cst);
}

void ring_slot_wait_end(struct ring_client *rc)
{
	atomic_fetch_sub_explicit(&rc->free_waiters, 1, memory_order_relaxed);
}

unsigned ring_cq_pending(struct ring_client *rc, const struct chan_geom *g, void *mem)
{
	/* Acquire pairs with the server's release store of cq_tail: the
	 * entries and the slots they name are visible. */
	uint32_t t = atomic_load_explicit(&((struct chan_hdr *)mem)->cq_tail,
					  memory_order_acquire);
	uint32_t n = t - atomic_load_explicit(&rc->cq_head, memory_order_relaxed);

	/* More than a ring's worth cannot be: the tail is garbage.  Reap
	 * nothing rather than walk up to 2^32 entries. */
	return n <= g->nslots ? n : 0;
}

/* Reap in runs of at most this many completions: one CAS claims a run. */
#define REAP_RUN 64u

/* Free bits gathered by a reap, one word at a time (runs of completions
 * mostly name neighbouring slots): flushed with one RMW per word. */
struct free_bits {
	uint32_t word;
	uint64_t bits;
	unsigned n;		/* slots freed in all */
};

static void free_bits_flush(struct ring_client *rc, struct free_bits *f)
{
	/* seq_cst, as in ring_release: the free bits are ordered before
	 * the load of free_waiters in free_bits_done (Dekker with
	 * ring_slot_wait_begin); release for take_slot's acquire. */
	if (f->bits)
		atomic_fetch_or_explicit(&rc->free_map[f->word], f->bits, memory_order_seq_cst);
	f->bits = 0;
}

static void free_bits_add(struct ring_client *rc, struct free_bits *f, uint32_t idx)
{
	if (f->bits && f->word != idx / MAP_BITS)
		free_bits_flush(rc, f);
	f->word = idx / MAP_BITS;
	f->bits |= 1ull << (idx % MAP_BITS);
	f->n++;
}

/* The last flush, then wake the threads waiting for a slot, if any. */
static void free_bits_done(struct ring_client *rc, struct free_bits *f)
{
	free_bits_flush(rc, f);
	if (f->n && atomic_load_explicit(&rc->free_waiters, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&rc->freed, 1, memory_order_relaxed);
		futex_wake_private(&rc->freed, (int)(f->n < INT_MAX ? f->n : INT_MAX));
	}
}

unsigned ring_reap(struct ring_client *rc, const struct chan_geom *g, void *mem,
		   struct aoki_cqe *out, unsigned max)
{
	struct chan_hdr *h = mem;
	struct chan_slot *slots = chan_slots(mem, g);
	_Atomic uint32_t *cq = chan_cq(mem, g);
	struct free_bits fb = { 0, 0, 0 };
	uint32_t run[REAP_RUN];
	unsigned n = 0, nasync = 0;

	while (n < max) {
		uint32_t head = atomic_load_explicit(&rc->cq_head, memory_order_relaxed);
		/* Acquire: as in ring_cq_pending. */
		uint32_t tail = atomic_load_explicit(&h->cq_tail, memory_order_acquire);
		uint32_t k = tail - head;

		if (head == tail || k > g->nslots)
			break;	/* empty, or a garbage tail */
		if (k > max - n)
			k = max - n;
		if (k > REAP_RUN)
			k = REAP_RUN;
		for (uint32_t i = 0; i < k; i++)
			run[i] = atomic_load_explicit(&cq[(head + i) & g->mask],
						      memory_order_relaxed);
		/* A reaper owns entries head .. head + k - 1 once its CAS
		 * succeeds.  None can have been overwritten since we read it:
		 * with cq_head still at head no entry from head on was
		 * reaped, so fewer than nslots completions follow head, and
		 * the server writes entry head + nslots only after that many.
		 * Failure means another reaper took some (lock-free); retry. */
		if (!atomic_compare_exchange_weak_explicit(&rc->cq_head, &head, head + k,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		for (uint32_t i = 0; i < k; i++) {
			uint32_t idx = run[i], st;
			struct chan_slot *s;

			if (idx >= g->nslots)
				continue;	/* a corrupt entry: nothing to free */
			s = &slots[idx];
			/* Acquire pairs with the server's release store of DONE. */
			st = atomic_load_explicit(&s->state, memory_order_acquire);
			if ((st & SLOT_KIND_MASK) != SLOT_DONE)
				continue;	/* not a reply: never free a busy slot */
			out[n].tag = s->tag;
			out[n].status = s->status;
			out[n].len = s->len > AOKI_MSG_PAYLOAD ? AOKI_MSG_PAYLOAD : s->len;
			/* The whole payload: a constant size is a few inline
			 * moves; bytes past len mean nothing. */
			memcpy(out[n].payload, s->payload, AOKI_MSG_PAYLOAD);
			/* Relaxed: as in ring_release. */
			atomic_store_explicit(&rc->consumed[idx], st, memory_order_relaxed);
			free_bits_add(rc, &fb, idx);
			nasync++;
			n++;
		}
	}
	if (nasync)
		atomic_fetch_sub_explicit(&rc->nasync, nasync, memory_order_relaxed);
	free_bits_done(rc, &fb);
	return n;
}

/* ------------------------------------------------------------ server */

/* Does slot @s hold the request at @pos, QUEUED?  The state word keeps
 * only 30 bits of the position, and a deferred request may sit in its
 * slot for longer than 2^30 positions: the full position the client
 * wrote (seq) decides.  Acquire pairs with the client's release store of
 * QUEUED: the message, seq included, is visible once the state is. */
static inline int queued_at(const struct chan_slot *s, uint64_t pos)
{
	return atomic_load_explicit(&s->state, memory_order_acquire) ==
		       slot_state(pos, SLOT_QUEUED) &&
	       s->seq == pos;
}

int ring_peek(const struct chan_geom *g, void *mem, uint64_t head, uint32_t *idx)
{
	struct chan_slot *slots = chan_slots(mem, g);
	uint32_t pref = (uint32_t)head & g->mask;
	uint32_t e, i;

	/* Fast path: the slot numbered like the position.  QUEUED(head) can
	 * only be the request at head, wherever it is.  Acquire pairs with
	 * the client's release store of QUEUED in ring_publish. */
	if (queued_at(&slots[pref], head)) {
		*idx = pref;
		return 1;
	}
	/* Relaxed: the state checked below carries the ordering. */
	e = atomic_load_explicit(&chan_sq(mem, g)[pref], memory_order_relaxed);
	if ((e >> SQ_IDX_BITS) != ((uint32_t)head & SQ_TAG_MASK)) {
		/* An entry of another lap at this place: nothing new yet.
		 * Requests published in their own slot write no entry, so it
		 * may be any number of laps old, and a future lap's cannot be
		 * told from it; a client that forges one stalls only itself. */
		if (((e >> SQ_IDX_BITS) & g->mask) == pref)
			return 0;
		return -EBADMSG;
	}
	i = e & SQ_IDX_MASK;
	if (i >= g->nslots)
		return -EBADMSG;
	/* Not yet QUEUED(head): the client is between its two stores (or,
	 * if hostile, stalls only its own channel). */
	if (!queued_at(&slots[i], head))
		return 0;
	*idx = i;
	return 1;
}

void ring_take(const struct chan_geom *g, void *mem, uint32_t idx, struct ring_msg *out)
{
	const struct chan_slot *s = &chan_slots(mem, g)[idx];

	out->op = s->op;
	out->flags = s->flags;
	out->len = s->len;
	out->cpu = s->cpu;
	out->tag = s->tag;
	out->seq = s->seq;
	/* The whole payload: a constant size is a few inline moves. */
	memcpy(out->payload, s->payload, sizeof(out->payload));
}

void ring_complete(const struct chan_geom *g, void *mem, uint32_t idx, uint64_t pos,
		   int32_t status, const void *rep, uint16_t len, int async, uint32_t *cq_tail)
{
	struct chan_slot *s = &chan_slots(mem, g)[idx];

	s->status = status;
	s->len = len;
	memcpy(s->payload, rep, AOKI_MSG_PAYLOAD);
	/* Release pairs with the client's acquire load of the state
	 * (ring_reply_ready, ring_reap): the reply is visible first. */
	atomic_store_explicit(&s->state, slot_state(pos, SLOT_DONE), memory_order_release);
	if (async) {
		/* Relaxed: published by the release store of ring_cq_publish. */
		atomic_store_explicit(&chan_cq(mem, g)[*cq_tail & g->mask], idx,
				      memory_order_relaxed);
		++*cq_tail;
	}
}

void ring_cq_publish(void *mem, uint32_t cq_tail)
{
	/* Release pairs with the client's acquire load of cq_tail: the
	 * entries and the DONE slots behind them come first. */
	atomic_store_explicit(&((struct chan_hdr *)mem)->cq_tail, cq_tail, memory_order_release);
}

unsigned ring_find_taken(const struct chan_geom *g, void *mem, uint64_t until,
			 uint32_t *idx, uint64_t *pos)
{
	struct chan_slot *slots = chan_slots(mem, g);
	unsigned n = 0;

	if (!until)
		return 0;
	for (uint32_t i = 0; i < g->nslots; i++) {
		/* Acquire pairs with the client's release store of QUEUED. */
		uint32_t st = atomic_load_explicit(&slots[i].state, memory_order_acquire);
		uint64_t p;

		if ((st & SLOT_KIND_MASK) != SLOT_QUEUED)
			continue;
		/* The full position is the seq the client wrote (the state
		 * keeps 30 bits of it): below @until, taken - of any age, not
		 * just the last ring's worth, as a deferred request is
		 * overtaken by any number of others; at or above, queued and
		 * not taken.  A seq that disagrees with the state is a
		 * forgery: skipped (its client stalls only itself). */
		p = slots[i].seq;
		if (slot_state(p, SLOT_QUEUED) != st || p >= until)
			continue;
		/* Insertion sort by position: at most nslots, once per
		 * resume. */
		unsigned k = n++;

		while (k && pos[k - 1] > p) {
			pos[k] = pos[k - 1];
			idx[k] = idx[k - 1];
			k--;
		}
		pos[k] = p;
		idx[k] = i;
	}
	return n;
}
