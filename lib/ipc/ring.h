/* SPDX-License-Identifier: MIT */
/*
 * ring.h - the channel's ring protocol, as pure functions over a channel's
 * geometry and memory (layout.h), in the manner of Concurrency Kit's
 * ck_ring.  The client library (client.c) and the server's workers
 * (worker.c, request.c, resume.c) are its two users; the fuzzers and the
 * hostile-client tests drive it directly.
 *
 * Three structures live in the channel memory:
 *   slots   nslots message slots.  A slot's state word says QUEUED(pos)
 *           (a request for submission position pos) or DONE(pos) (its
 *           reply).  Slots are not tied to positions: a request takes any
 *           free slot, so one slow request holds only its own slot.
 *   sq      the submission ring: entry pos % nslots names the slot of the
 *           request at position pos (sq_entry).  The server takes
 *           positions in order.
 *   cq      the completion ring: slot indexes of finished async requests.
 *
 * Client-local state (struct ring_client, never shared with the server):
 * which slots are free, the next position, the completion-ring consumer
 * index, and per slot the reply last consumed (for reconnect's repair).
 *
 * Life of a request:
 *   client  ring_claim        a free slot (lock-free; -EAGAIN if none)
 *           ring_publish      fill it, take the next position, publish
 *                             (_many: a batch, one RMW for all of it)
 *   server  ring_peek         is the request at position head published?
 *           ring_take         copy it out of the slot
 *           ring_complete     write the reply, DONE(pos), queue on the cq
 *           ring_cq_publish   publish the cq tail (once per batch)
 *   client  ring_reply_ready  (sync) has the reply in slot idx come?
 *           ring_reap         (async) take completions off the cq
 *           ring_release      the reply was consumed: the slot is free
 *
 * Why positions never overtake the server: a client claims a position
 * only while it holds a slot, and each slot carries at most one position
 * the server has not taken.  Among positions t - nslots .. t (nslots + 1
 * of them) two therefore used the same slot, the later after the earlier
 * was completed, so the server had taken position t - nslots (it takes in
 * order), reading its submission entry if it needed it, before entry t
 * reuses the place.  And entry t - nslots was written before the server
 * could take that position at all: ring_publish writes the entry before
 * the QUEUED state that lets the server take the request.  (The other
 * order broke under ThreadSanitizer's slowness: a server taking a request
 * from its slot while the client was still to write its entry, and that
 * late write landing on the entry of the position a lap later.)  Only a
 * request outside the slot numbered like its position writes an entry: in
 * its own slot the server finds it first, and an entry written for every
 * request put a second cache line on the critical path of each call (the
 * server's polls read the entry's line, so the client's store waited for
 * that line before its QUEUED store could be seen: 530-555 against
 * 376-401 ns per call).  An entry may therefore be any number of laps
 * old, and ring_peek reads one of another lap at the place as "not yet".
 * The
 * acquire/release chain that makes this a happens-before: the client's
 * release of QUEUED and the server's acquire, the server's release of
 * DONE, the consumer's acquire, ring_release's release of the slot,
 * ring_claim's acquire, and the acq_rel position counter.  Batches keep
 * it: ring_claim_many holds k slots before ring_publish_many takes k
 * positions with one RMW of the counter, and ring_reap frees a run of
 * slots with one release RMW per word of the free map.
 *
 * Nothing the server reads is trusted: ring_peek reports a state no
 * correct client can produce as -EBADMSG, and the server drops the
 * channel.  The server is trusted by the client only as far as the
 * library needs (a bad completion entry is skipped, never followed out of
 * the ring).
 */
#ifndef AOKI_RING_H
#define AOKI_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aoki/ipc.h"
#include "layout.h"

/* A request or reply as it travels in a slot. */
struct ring_msg {
	uint16_t op;
	uint16_t flags;		/* MSG_F_* */
	uint16_t len;		/* payload bytes */
	uint16_t cpu;		/* submitter's CPU, a scheduling hint */
	uint64_t tag;		/* caller's tag (async) */
	uint64_t seq;		/* the position the client wrote (untrusted) */
	uint8_t payload[AOKI_MSG_PAYLOAD];
};

/* The client's private side of a channel's rings. */
struct ring_client {
	/* Next submission position: its own line, so that claiming does
	 * not slow down readers of the fields below. */
	alignas(CACHELINE) _Atomic uint64_t tail;
	/* Completion-ring consumer index. */
	alignas(CACHELINE) _Atomic uint32_t cq_head;
	_Atomic uint32_t nasync;	/* slots held by async requests */
	_Atomic uint32_t norphans;	/* slots left by timed-out calls */
	_Atomic uint32_t freed;		/* futex word: bumped on release
					 * while free_waiters > 0 */
	_Atomic uint32_t free_waiters;	/* threads waiting for a slot */
	uint32_t nslots;
	_Atomic uint64_t *free_map;	/* bit i set: slot i is free */
	/* Per slot: the DONE state word whose reply was consumed (so a
	 * reconnect can tell an unreported completion from a consumed one,
	 * without a store to the shared slot). */
	_Atomic uint32_t *consumed;
	_Atomic uint8_t *orphan;	/* per slot: nobody waits for its reply */
};

/*
 * ring_client_init - allocate the client-local state for @g, every slot
 * free.  Returns 0 or -ENOMEM.  ring_client_free releases it.
 */
int ring_client_init(struct ring_client *rc, const struct chan_geom *g);
void ring_client_free(struct ring_client *rc);

/*
 * ring_format - stamp fresh channel memory: every slot FREE, every
 * submission entry "one lap before position 0".  Call before the server
 * sees the memory (the HELLO system call orders these plain stores).
 */
void ring_format(void *mem, const struct chan_geom *g);

/*
 * ring_claim - take a free slot for one request; @async counts it as held
 * by an async request until ring_reap.  Prefers the slot numbered like
 * the next position (the server looks there first: one cache line).  A
 * slot left by a timed-out call whose reply has since arrived is freed on
 * the way.  Returns the slot index, or -EAGAIN when none is free.
 * Lock-free.
 */
int ring_claim(struct ring_client *rc, const struct chan_geom *g, void *mem, int async);

/*
 * ring_publish - write @m into slot @idx (from ring_claim), assign it the
 * next position and make it visible to the server.  m->seq is ignored
 * (set to the position).  Returns the position.  Wait-free.
 */
uint64_t ring_publish(struct ring_client *rc, const struct chan_geom *g, void *mem,
		      uint32_t idx, const struct ring_msg *m);

/* A request to publish whose payload stays where its caller has it (no
 * copy through a struct ring_msg). */
struct ring_req {
	uint16_t op;
	uint16_t flags;		/* MSG_F_* */
	uint16_t len;		/* payload bytes; at most AOKI_MSG_PAYLOAD are read */
	uint16_t cpu;		/* submitter's CPU, a scheduling hint */
	uint64_t tag;
	const void *data;	/* the payload */
};

/*
 * ring_claim_many - take up to @n free slots into @idx, as ring_claim
 * takes one (@async counts them until ring_reap), with one RMW per word
 * of the free map rather than one per slot.  Prefers the slots numbered
 * like the next positions, in position order.  Returns how many (0 when
 * none is free).  Lock-free.
 */
unsigned ring_claim_many(struct ring_client *rc, const struct chan_geom *g, void *mem,
			 int async, uint32_t *idx, unsigned n);

/*
 * ring_publish_many - write the @n requests @reqs into the slots @idx
 * (held: from ring_claim or ring_claim_many), give them the next @n
 * positions in order (one RMW) and make each visible to the server.
 * Returns the first position.  Wait-free.
 */
uint64_t ring_publish_many(struct ring_client *rc, const struct chan_geom *g, void *mem,
			   const uint32_t *idx, const struct ring_req *reqs, unsigned n);

/*
 * ring_reply_ready - has the reply to the request at @pos in slot @idx
 * arrived?  Acquire: when true, the reply fields may be read.  Wait-free.
 */
static inline int ring_reply_ready(const struct chan_geom *g, void *mem, uint32_t idx,
				   uint64_t pos)
{
	/* Acquire pairs with the server's release store of DONE in
	 * ring_complete: the reply is visible once the state is. */
	return atomic_load_explicit(&chan_slots(mem, g)[idx].state, memory_order_acquire) ==
	       slot_state(pos, SLOT_DONE);
}

/*
 * ring_reply_copy - copy the reply in slot @idx (ready) into @out (at most
 * @cap bytes of payload); returns its status and sets *@len to the reply's
 * full length (which may exceed @cap).  Wait-free.
 */
int32_t ring_reply_copy(const struct chan_geom *g, void *mem, uint32_t idx, void *out,
			size_t cap, size_t *len);

/*
 * ring_release - the reply in slot @idx, whose state word is @done, has
 * been consumed: the slot is free again.  Wakes a thread waiting for a
 * slot (ring_wait_word) if there is one.  Wait-free (one wake-up system
 * call when somebody waits).
 */
void ring_release(struct ring_client *rc, uint32_t idx, uint32_t done);

/*
 * ring_orphan - the caller waiting for slot @idx gave up (timeout); the
 * slot is freed by a later ring_claim once the reply arrives.  Wait-free.
 */
void ring_orphan(struct ring_client *rc, uint32_t idx);

/*
 * ring_slot_wait_begin / _end - bracket a wait for a free slot: between
 * them, ring_release bumps rc->freed and wakes it.  begin returns the
 * word's value to sleep on, read after the waiter is counted (so a
 * release after it is seen).  seq_cst, see ring.c.
 */
uint32_t ring_slot_wait_begin(struct ring_client *rc);
void ring_slot_wait_end(struct ring_client *rc);

/*
 * ring_cq_pending - completions published and not yet reaped, or 0 when
 * the server's tail is garbage (more than a ring's worth).  Wait-free.
 */
unsigned ring_cq_pending(struct ring_client *rc, const struct chan_geom *g, void *mem);

/*
 * ring_reap - take up to @max completions off the completion ring into
 * @out (tag, status, payload), releasing their slots.  Returns how many.
 * Lock-free: reapers race with a CAS on cq_head.
 */
unsigned ring_reap(struct ring_client *rc, const struct chan_geom *g, void *mem,
		   struct aoki_cqe *out, unsigned max);

/*
 * ring_doorbell - after publishing requests: wake the server if it
 * published that it sleeps (srv_sleeping).  Returns 1 if a wake-up system
 * call was made.  Wait-free.
 */
int ring_doorbell(void *mem);

/* ------------------------------------------------------------ server */

/*
 * ring_peek - is the request at position @head published?  Returns 1 and
 * its slot in *@idx, 0 if not yet (including an entry whose slot is not
 * yet QUEUED(head): the client is between its stores), or -EBADMSG if
 * the submission entry is one no correct client writes (a slot out of
 * range, a position neither this lap's nor the last): drop the channel.  Looks first at the slot
 * numbered like @head, where a single-threaded client puts it.  Acquire:
 * with 1, the slot's message is visible.  Wait-free.
 */
int ring_peek(const struct chan_geom *g, void *mem, uint64_t head, uint32_t *idx);

/*
 * ring_take - copy the message in slot @idx out of shared memory (the
 * client may change it afterwards; only the copy is used).  Wait-free.
 */
void ring_take(const struct chan_geom *g, void *mem, uint32_t idx, struct ring_msg *out);

/*
 * ring_complete - write the reply (@status, @len bytes of @rep, which must
 * hold AOKI_MSG_PAYLOAD bytes) into slot @idx over the request at @pos and
 * mark it DONE(pos).  With @async also queue the slot on the completion
 * ring at *@cq_tail (advanced; published by ring_cq_publish).  Wait-free.
 */
void ring_complete(const struct chan_geom *g, void *mem, uint32_t idx, uint64_t pos,
		   int32_t status, const void *rep, uint16_t len, int async, uint32_t *cq_tail);

/* ring_cq_publish - make completions up to @cq_tail visible.  Wait-free. */
void ring_cq_publish(void *mem, uint32_t cq_tail);

/*
 * ring_find_taken - for a server resuming a channel whose requests below
 * position @until were taken: list in @idx (room for nslots) the slots
 * still QUEUED for such a position (taken, never completed), in position
 * order; their positions in @pos.  Any age: a deferred request may be
 * far older than the last nslots positions.  Returns how many.  Reads
 * untrusted memory; every index returned is < nslots, every position <
 * @until.
 */
unsigned ring_find_taken(const struct chan_geom *g, void *mem, uint64_t until,
			 uint32_t *idx, uint64_t *pos);

#endif
