/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the memory layout of a channel, shared by the client and the
 * server halves of libaoki (and by the fuzz harnesses).  See docs/ipc.md.
 *
 *   offset 0            struct chan_hdr (6 cache lines)
 *   slots_off           nslots x struct chan_slot (64 bytes each)
 *   sq_off              nslots x uint32_t submission ring (slot indexes)
 *   cq_off              nslots x uint32_t completion ring (slot indexes)
 *
 * The client creates and owns this memory.  The server validates the
 * header once (chan_geometry_check) into a private copy and never reads
 * geometry from shared memory again; everything it reads later (slot
 * states, lengths, opcodes) is checked before use.
 */
#ifndef AOKI_LAYOUT_H
#define AOKI_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "aoki/ipc.h"

#define CACHELINE 64
#define AOKI_CHAN_MAGIC 0x314e48434b4f4155ull	/* "UAOKCHN1" little-endian */
#define CHAN_SLOT_SIZE 64u
#define CHAN_MIN_SLOTS 2u
#define CHAN_MAX_SLOTS 4096u
#define CHAN_MAX_GRANTS 1024u

/*
 * Slot state word: (uint32_t)(position << 2) | kind, where position is the
 * request's place in submission order (its submission-ring position).
 * Tagging the state with the position lets the server tell "queued for the
 * position I expect" from stale or forged values with one compare.  Slots
 * are not tied to positions: any free slot carries the next request (see
 * ring.h).
 */
enum slot_kind {
	SLOT_FREE = 0,		/* never used since the channel was made */
	SLOT_QUEUED = 1,	/* written by the client, for the server */
	SLOT_DONE = 2,		/* reply written by the server, for the client */
};
#define SLOT_KIND_MASK 3u

static inline uint32_t slot_state(uint64_t pos, enum slot_kind kind)
{
	return ((uint32_t)pos << 2) | (uint32_t)kind;
}

/* Library opcodes (>= AOKI_OP_RESERVED), handled by the server library. */
#define OP_GRANT_REVOKE (AOKI_OP_RESERVED + 1)	/* payload: uint32_t grant id */
#define OP_SERVER_STATS (AOKI_OP_RESERVED + 2)	/* payload: struct aoki_grant_ref
						 * of a writable grant (stats.c) */

/*
 * Submission-ring entry: (uint32_t)(position << SQ_IDX_BITS) | slot index.
 * The position tag tells the entry of the position the server expects
 * from the previous lap's; the slot's own state word then confirms it.
 */
#define SQ_IDX_BITS 12u
#define SQ_IDX_MASK ((1u << SQ_IDX_BITS) - 1)
_Static_assert((1u << SQ_IDX_BITS) >= 4096u, "slot index fits an entry");

static inline uint32_t sq_entry(uint64_t pos, uint32_t idx)
{
	return ((uint32_t)pos << SQ_IDX_BITS) | idx;
}

/* Message flags (struct chan_slot.flags). */
#define MSG_F_ASYNC 0x1u	/* push the completion on the CQ */

struct chan_slot {
	_Atomic uint32_t state;
	uint16_t op;
	uint16_t len;		/* request, then reply, payload bytes */
	uint64_t tag;		/* caller's tag (async) */
	uint64_t seq;		/* full 64-bit ring position of this request */
	int32_t status;		/* reply status */
	uint16_t flags;		/* MSG_F_* */
	uint16_t cpu;		/* submitter's CPU, a scheduling hint */
	uint8_t payload[AOKI_MSG_PAYLOAD];
};
_Static_assert(sizeof(struct chan_slot) == CHAN_SLOT_SIZE, "slot is one line");

/* Bits of chan_hdr.cli_wait. */
#define CLI_WAIT_SLEEPERS 0x0000ffffu	/* threads asleep on cli_futex */
#define CLI_WAIT_ARMED 0x00010000u	/* notify socket armed (epoll user) */

struct chan_hdr {
	/* Line 0: written by the client before connecting, then immutable. */
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t max_grants;
	uint32_t flags;
	uint64_t slots_off;
	uint64_t cq_off;
	uint64_t total_size;
	uint64_t sq_off;

	/* Line 1: written by the server, rarely (per batch at most). */
	alignas(CACHELINE) _Atomic uint32_t epoch;	/* server epoch that attached */
	_Atomic uint32_t srv_cpu;	/* CPU of the worker serving us, a hint */
	_Atomic uint32_t cq_tail;	/* completion ring producer index */

	/* Line 2: the server's wait word; the client's doorbell. */
	alignas(CACHELINE) _Atomic uint32_t srv_sleeping;

	/* Line 3: the client's wait words. */
	alignas(CACHELINE) _Atomic uint32_t cli_wait;	/* CLI_WAIT_* */
	_Atomic uint32_t cli_futex;	/* bumped by the server to wake sleepers */

	/* Line 4: the server's progress report, written per batch.  A line
	 * of its own: the client reads line 1 (srv_cpu) while it waits for a
	 * reply, and must not lose it to this store on every request. */
	alignas(CACHELINE) _Atomic uint64_t srv_head;	/* next position to take */
	/* The reply being published: written here first, then into the slot
	 * over the request.  A server that dies in between leaves the slot
	 * QUEUED with half a reply in it and the request gone; the next one
	 * finishes the publication from this record (resume.c). */
	_Atomic uint64_t reply_pos;	/* 1 + its position, once complete */
	int32_t reply_status;
	uint16_t reply_len;
	uint16_t reply_idx;	/* its slot */
	uint8_t reply_payload[AOKI_MSG_PAYLOAD];

	/* Line 5: written by the client before connecting, then immutable.
	 * The server copies it at attach and never reads it again. */
	alignas(CACHELINE) uint8_t client_id[AOKI_CLIENT_ID_LEN];	/* random */
	uint8_t pad5[CACHELINE - AOKI_CLIENT_ID_LEN];
};
_Static_assert(sizeof(struct chan_hdr) == 6 * CACHELINE, "header geometry");

/* The validated, private geometry of a channel. */
struct chan_geom {
	uint32_t nslots;
	uint32_t mask;
	uint32_t max_grants;
	uint64_t slots_off;
	uint64_t sq_off;
	uint64_t cq_off;
	uint64_t total_size;
};

/*
 * chan_geometry_init - compute the layout for @nslots slots and
 * @max_grants grants.  Returns 0 or -EINVAL.  Wait-free.
 */
int chan_geometry_init(struct chan_geom *g, uint32_t nslots, uint32_t max_grants);

/*
 * chan_header_write - write the immutable header line for @g into @hdr.
 */
void chan_header_write(struct chan_hdr *hdr, const struct chan_geom *g);

/*
 * chan_geometry_check - validate a header copied out of untrusted shared
 * memory against the size of the file it came from.  On success fills
 * @g.  Returns 0, -EBADMSG (bad magic or inconsistent geometry),
 * -EPROTO (other protocol version), -EFBIG/-ENOSPC (sizes).  Wait-free.
 */
int chan_geometry_check(const struct chan_hdr *copy, uint64_t file_size,
			struct chan_geom *g);

static inline struct chan_slot *chan_slots(void *base, const struct chan_geom *g)
{
	return (struct chan_slot *)((char *)base + g->slots_off);
}

static inline _Atomic uint32_t *chan_sq(void *base, const struct chan_geom *g)
{
	return (_Atomic uint32_t *)((char *)base + g->sq_off);
}

static inline _Atomic uint32_t *chan_cq(void *base, const struct chan_geom *g)
{
	return (_Atomic uint32_t *)((char *)base + g->cq_off);
}

#endif
