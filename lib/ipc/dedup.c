/* SPDX-License-Identifier: MIT */
/*
 * dedup.c - exactly-once support: client slots and request records of an
 * aoki_dedup table (see aoki/dedup.h for the contract, dedup_layout.h for
 * the format, dedup_file.c for opening).
 *
 * Crash model: the server may die at any instruction.  Stores into the
 * MAP_SHARED mapping that were executed survive it; what matters is their
 * order in the program, which the release stores and the release fence
 * below fix against both the compiler and the CPU.  Each state change a
 * later server relies on is one aligned 8-byte store: a record's begun
 * tag, its done tag, a slot's state word.
 *
 * Concurrency: worker threads call begin/commit for different channels at
 * once.  A client's records have one writer at a time (the worker serving
 * its channel, or the thread completing a deferred request: requests in
 * flight use distinct records: one per channel slot, window >= ring size); client slots are
 * shared by all workers through the state word, changed only by CAS (pin,
 * unpin, claim, forget).
 *
 * Pins: a request pins its client's slot from begin until its reply is in
 * the channel (dedup_req_published, called by req_publish), not only
 * until commit: between commit and publication a crash makes it run
 * again, and only its record turns that rerun into DONE.  Each pin is
 * owned by one record (dd_rec.held), so the next server's sweep can count
 * the pins a crash left (dedup_file.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dedup_hook.h"
#include "dedup_layout.h"
#include "server.h"

/* Retries of a lost slot race before -EAGAIN (each loss means another
 * thread made progress). */
#define DD_RETRIES 64

struct dd_key {
	uint32_t uid;
	uint32_t slot;		/* aoki_req_slot: the record's index */
	uint64_t id[2];
	uint64_t seq;
};

static void key_of(const struct aoki_req *req, struct dd_key *k)
{
	uint8_t id[AOKI_CLIENT_ID_LEN];

	aoki_req_client(req, id);
	memcpy(k->id, id, sizeof(k->id));
	k->uid = (uint32_t)aoki_req_peer(req)->uid;
	k->seq = aoki_req_seq(req);
	k->slot = aoki_req_slot(req);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The first slot of the client's probe sequence, keyed by the table's
 * secret salt. */
static uint32_t home(const struct aoki_dedup *dd, const struct dd_key *k)
{
	uint64_t h = mix(dd->g.salt ^ k->uid);

	h = mix(h ^ k->id[0]);
	h = mix(h ^ k->id[1]);
	return (uint32_t)(h % dd->g.max_clients);
}

static uint32_t probe_len(const struct aoki_dedup *dd)
{
	return dd->g.max_clients < DD_PROBE ? dd->g.max_clients : DD_PROBE;
}

/* Client @c's record for the request @k: one per channel slot, which no
 * two requests in flight share (aoki_req_slot); the tag (seq + 1) tells
 * the request it holds. */
static struct dd_rec *record(const struct aoki_dedup *dd, uint32_t c, const struct dd_key *k)
{
	return &dd->recs[(uint64_t)c * dd->g.window + (k->slot & (dd->g.window - 1))];
}

/*
 * Find the client's live slot: its index, with the state seen when the
 * key matched in *@state, or -1.  Relaxed key loads: they are only
 * trusted through a CAS that expects *@state (the key changes only while
 * a slot is CLAIMING, with a new version), see slot_pin.
 */
static long slot_find(const struct aoki_dedup *dd, const struct dd_key *k, uint64_t *state)
{
	uint32_t start = home(dd, k), n = probe_len(dd);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = (start + i) % dd->g.max_clients;
		struct dd_slot *sl = &dd->slots[c];
		/* Acquire: pairs with the release store that published the
		 * slot LIVE, so the key loaded next is at least that one. */
		uint64_t s = atomic_load_explicit(&sl->state, memory_order_acquire);

		if (dd_kind_of(s) == DD_LIVE &&
		    atomic_load_explicit(&sl->uid, memory_order_relaxed) == k->uid &&
		    atomic_load_explicit(&sl->id[0], memory_order_relaxed) == k->id[0] &&
		    atomic_load_explicit(&sl->id[1], memory_order_relaxed) == k->id[1]) {
			*state = s;
			return c;
		}
	}
	return -1;
}

/* The slot to give a new client: a free one, else the least recently
 * used unpinned live one; -1 if every slot it may use is pinned. */
static long slot_victim(const struct aoki_dedup *dd, const struct dd_key *k, uint64_t *state)
{
	uint32_t start = home(dd, k), n = probe_len(dd);
	uint64_t best_used = UINT64_MAX;
	long best = -1;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = (start + i) % dd->g.max_clients;
		/* Relaxed: a hint; the claim's CAS expects exactly this value. */
		uint64_t s = atomic_load_explicit(&dd->slots[c].state, memory_order_relaxed);
		uint64_t used;

		if (dd_kind_of(s) == DD_FREE) {
			*state = s;
			return c;
		}
		if (dd_kind_of(s) != DD_LIVE || dd_busy_of(s))
			continue;
		/* Relaxed: LRU is a heuristic; a stale stamp only picks a
		 * worse victim, never a pinned one (the CAS checks busy). */
		used = atomic_load_explicit(&dd->slots[c].used, memory_order_relaxed);
		if (best < 0 || used < best_used) {
			best = c;
			best_used = used;
			*state = s;
		}
	}
	return best;
}

/* Zero record @rec (its owner's slot is CLAIMING). */
static void rec_clear(struct dd_rec *rec)
{
	atomic_store_explicit(&rec->begun, 0, memory_order_relaxed);
	atomic_store_explicit(&rec->done, 0, memory_order_relaxed);
	atomic_store_explicit(&rec->held, 0, memory_order_relaxed);
	rec->status = 0;
	rec->rep_len = 0;
	rec->pad0 = 0;
	memset(rec->rep, 0, sizeof(rec->rep));
}

/*
 * Take slot @c, last seen in state @s, for key @k: clear its records,
 * set the key, publish it LIVE and pinned once.  Returns 1, or 0 if @s
 * changed meanwhile.  A crash in between leaves it CLAIMING, which the
 * next open turns FREE.
 */
static int slot_claim(struct aoki_dedup *dd, uint32_t c, uint64_t s, const struct dd_key *k)
{
	struct dd_slot *sl = &dd->slots[c];
	uint64_t ver = dd_ver_of(s) + 1;

	/* Acquire: pairs with the release of the previous owner's last unpin
	 * (or forget), so its record stores happen before the clearing
	 * below and cannot land after it.  It also keeps the stores below
	 * after the CAS. */
	if (!atomic_compare_exchange_strong_explicit(&sl->state, &s,
						     dd_state(ver, 0, DD_CLAIMING),
						     memory_order_acquire, memory_order_relaxed))
		return 0;
	/* Whole records, result bytes included: nothing of the previous
	 * owner (maybe another uid) survives for a tag to match.  Plain and
	 * relaxed stores, published by the release store of LIVE below; until
	 * then nobody trusts this slot's records or key. */
	for (uint32_t i = 0; i < dd->g.window; i++)
		rec_clear(&dd->recs[(uint64_t)c * dd->g.window + i]);
	atomic_store_explicit(&sl->uid, k->uid, memory_order_relaxed);
	atomic_store_explicit(&sl->id[0], k->id[0], memory_order_relaxed);
	atomic_store_explicit(&sl->id[1], k->id[1], memory_order_relaxed);
	atomic_store_explicit(&sl->used, (uint64_t)now_ns(), memory_order_relaxed);
	/* Release: the cleared records and the key before LIVE, for the
	 * threads (and, after a crash, the server) that see LIVE. */
	atomic_store_explicit(&sl->state, dd_state(ver, 1, DD_LIVE), memory_order_release);
	return 1;
}

/* Find or claim the client's slot and pin it (busy + 1). */
static long slot_pin(struct aoki_dedup *dd, const struct dd_key *k)
{
	for (int tries = 0; tries < DD_RETRIES; tries++) {
		uint64_t s;
		long c = slot_find(dd, k, &s);

		if (c >= 0) {
			if (dd_busy_of(s) == DD_BUSY_MASK >> 2)
				return -EAGAIN;
			/* acq_rel.  Release: the key loads of slot_find stay
			 * before it, so if it succeeds no claim (which must
			 * CAS after us, acquiring this) fed them a new key.
			 * Acquire: pairs with the claim's LIVE store. */
			if (atomic_compare_exchange_strong_explicit(&dd->slots[c].state, &s,
								    s + DD_BUSY_ONE,
								    memory_order_acq_rel,
								    memory_order_relaxed)) {
				/* Relaxed: an LRU hint. */
				atomic_store_explicit(&dd->slots[c].used, (uint64_t)now_ns(),
						      memory_order_relaxed);
				return c;
			}
			continue;
		}
		c = slot_victim(dd, k, &s);
		if (c < 0)
			return -ENOSPC;
		if (slot_claim(dd, (uint32_t)c, s, k))
			return c;
	}
	return -EAGAIN;
}

static int slot_unpin(struct aoki_dedup *dd, uint32_t c)
{
	_Atomic uint64_t *st = &dd->slots[c].state;
	uint64_t s = atomic_load_explicit(st, memory_order_relaxed);

	do {
		if (dd_kind_of(s) != DD_LIVE || !dd_busy_of(s))
			return -EINVAL;
		/* Release: this request's record loads and stores happen
		 * before a claim that sees busy 0 (acquire) clears them. */
	} while (!atomic_compare_exchange_weak_explicit(st, &s, s - DD_BUSY_ONE,
							memory_order_release,
							memory_order_relaxed));
	return 0;
}

/*
 * Make record @rec of slot @c hold the pin the caller just took for @tag.
 * A record that already holds one (this request's, counted by the sweep
 * after a crash or taken by an earlier begin of it; or, from a forged
 * position, an older request of the same slot) keeps it and the new one
 * is dropped: one pin per record.
 */
static void rec_hold(struct aoki_dedup *dd, uint32_t c, struct dd_rec *rec, uint64_t tag)
{
	/* Relaxed: the record's writer is this thread (see the top); the
	 * crash order of held is set by the callers' release fence. */
	uint64_t held = atomic_load_explicit(&rec->held, memory_order_relaxed);

	if (held)
		slot_unpin(dd, c);
	if (held != tag)
		atomic_store_explicit(&rec->held, tag, memory_order_relaxed);
}

int aoki_dedup_begin(struct aoki_dedup *dd, struct aoki_req *req)
{
	struct dd_key k;
	struct dd_rec *rec;
	uint64_t tag;
	long c;
	int r;

	if (dd->g.window < aoki_req_window(req))
		return -E2BIG;
	key_of(req, &k);
	/* Its tag would be 0, the tag of a cleared record; no channel gets
	 * that far, so only a forged position can ask. */
	if (k.seq == UINT64_MAX)
		return -ERANGE;
	c = slot_pin(dd, &k);
	if (c < 0)
		return (int)c;
	rec = record(dd, (uint32_t)c, &k);
	tag = k.seq + 1;
	/* Acquire: pairs with commit's release store of done, so the
	 * result fields read next are this tag's. */
	if (atomic_load_explicit(&rec->done, memory_order_acquire) == tag) {
		int32_t status = rec->status;
		uint16_t len = rec->rep_len;	/* read once, then checked */
		uint8_t rep[AOKI_MSG_PAYLOAD];

		if (len > AOKI_MSG_PAYLOAD) {
			slot_unpin(dd, (uint32_t)c);
			return -EBADMSG;
		}
		memcpy(rep, rec->rep, len);
		aoki_req_reply(req, status, rep, len);	/* len checked: cannot fail */
		/* Replayed, not yet delivered: a crash before the reply is
		 * published reruns it again, so the record stays pinned. */
		rec_hold(dd, (uint32_t)c, rec, tag);
		req->dedup = dd;
		/* Release fence: the hold before the reply's publication
		 * (for the compiler; a dead process's executed stores stay). */
		atomic_thread_fence(memory_order_release);
		return AOKI_DEDUP_DONE;
	}
	rec_hold(dd, (uint32_t)c, rec, tag);
	req->dedup = dd;
	/* Relaxed: only this channel's worker writes begun. */
	if (atomic_load_explicit(&rec->begun, memory_order_relaxed) == tag) {
		r = AOKI_DEDUP_INTERRUPTED;
	} else {
		/* Relaxed, ordered by the fence below.  Clearing done first
		 * keeps every record self-consistent (done == tag implies the
		 * fields are that tag's) even while commit rewrites the
		 * fields of a record whose previous request (the slot's
		 * last) is long completed. */
		atomic_store_explicit(&rec->done, 0, memory_order_relaxed);
		atomic_store_explicit(&rec->begun, tag, memory_order_relaxed);
		r = AOKI_DEDUP_NEW;
	}
	/* Release fence: orders the stores above (begun, held) before every
	 * store the handler makes after we return (its side effect) and
	 * commit's result fields, for the CPU and the compiler (a fence is a
	 * compiler barrier for plain stores too).  So no crash can leave the
	 * side effect without the begun mark, which would turn a rerun into
	 * NEW: a duplicate; nor without the hold that keeps the record from
	 * eviction until the rerun. */
	atomic_thread_fence(memory_order_release);
	return r;
}

int aoki_dedup_commit(struct aoki_dedup *dd, struct aoki_req *req)
{
	struct dd_key k;
	struct dd_rec *rec;
	uint64_t s, tag;
	long c;

	key_of(req, &k);
	if (k.seq == UINT64_MAX)
		return -EINVAL;
	c = slot_find(dd, &k, &s);
	if (c < 0)
		return -EINVAL;
	rec = record(dd, (uint32_t)c, &k);
	tag = k.seq + 1;
	/* Relaxed: this channel's worker is the records' only writer (and
	 * if the slot is not pinned, we only report). */
	if (atomic_load_explicit(&rec->done, memory_order_relaxed) == tag)
		return -EALREADY;
	if (!dd_busy_of(s) || atomic_load_explicit(&rec->begun, memory_order_relaxed) != tag ||
	    atomic_load_explicit(&rec->held, memory_order_relaxed) != tag)
		return -EINVAL;
	rec->status = req->status;
	rec->rep_len = req->rep_len;
	memcpy(rec->rep, req->rep, req->rep_len <= AOKI_MSG_PAYLOAD ? req->rep_len : 0);
	/* Release: the result fields, and the handler's side effect before
	 * them, precede the tag that declares them; pairs with begin's
	 * acquire load.  A crash before this store leaves the request
	 * INTERRUPTED, after it DONE.  The slot stays pinned until the
	 * reply is published (dedup_req_published). */
	atomic_store_explicit(&rec->done, tag, memory_order_release);
	return 0;
}

void dedup_req_published(struct aoki_req *req)
{
	struct aoki_dedup *dd = req->dedup;
	struct dd_key k;
	struct dd_rec *rec;
	uint64_t s;
	long c;

	if (!dd)
		return;
	req->dedup = NULL;
	key_of(req, &k);
	/* The slot cannot have moved: this request's hold pins it. */
	c = slot_find(dd, &k, &s);
	if (c < 0 || k.seq == UINT64_MAX)
		return;
	rec = record(dd, (uint32_t)c, &k);
	/* Relaxed load: the record's writer is this thread.  Release
	 * store: the reply's stores in the channel come first, so a crash
	 * cannot leave the hold released (and the record evictable) with
	 * the reply not delivered. */
	if (atomic_load_explicit(&rec->held, memory_order_relaxed) != k.seq + 1)
		return;	/* a forged request of this client took the record over */
	atomic_store_explicit(&rec->held, 0, memory_order_release);
	slot_unpin(dd, (uint32_t)c);
}

int aoki_dedup_forget(struct aoki_dedup *dd, uid_t uid,
		      const uint8_t id[AOKI_CLIENT_ID_LEN])
{
	struct dd_key k = { .uid = (uint32_t)uid };

	memcpy(k.id, id, sizeof(k.id));
	for (int tries = 0; tries < DD_RETRIES; tries++) {
		uint64_t s;
		long c = slot_find(dd, &k, &s);

		if (c < 0)
			return -ENOENT;
		if (dd_busy_of(s))
			return -EBUSY;
		/* acq_rel: as an unpin (release: our key loads stay before
		 * it) and as a claim (acquire: the owner's last record
		 * stores happen before the next claimer's clearing, which
		 * acquires this). */
		if (atomic_compare_exchange_strong_explicit(&dd->slots[c].state, &s,
							    dd_state(dd_ver_of(s) + 1, 0, DD_FREE),
							    memory_order_acq_rel,
							    memory_order_relaxed))
			return 0;
	}
	return -EAGAIN;
}
