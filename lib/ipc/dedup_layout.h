/* SPDX-License-Identifier: MIT */
/*
 * dedup_layout.h - the file format of an aoki_dedup table (private; the
 * tests and fuzz harnesses use it to build and corrupt tables).
 *
 *   offset 0          struct dd_hdr (one cache line), written once at
 *                     creation; read once at open into a private copy
 *   slots_off (64)    max_clients x struct dd_slot (64 bytes each)
 *   recs_off          max_clients x window x struct dd_rec (64 bytes each):
 *                     client slot c's record for seq s is at
 *                     recs_off + (c * window + s % window) * 64
 *   total_size        recs_off + max_clients * window * 64
 *
 * Little-endian, native alignment; the file is only meaningful on the
 * machine that wrote it (it lives in the run directory, a tmpfs).
 */
#ifndef AOKI_DEDUP_LAYOUT_H
#define AOKI_DEDUP_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "aoki/dedup.h"

#define DD_MAGIC 0x31544444494b4f41ull	/* "AOKIDDT1" little-endian */
#define DD_VERSION 1u
#define DD_HDR_SIZE 64u
#define DD_SLOT_SIZE 64u
#define DD_REC_SIZE 64u
#define DD_MAX_CLIENTS 65536u
#define DD_MIN_WINDOW 2u
#define DD_MAX_WINDOW 65536u
#define DD_MAX_TOTAL (1ull << 30)
#define DD_DEFAULT_CLIENTS 256u
#define DD_DEFAULT_WINDOW 256u
/* Slots a client may live in: its hash and the next DD_PROBE - 1. */
#define DD_PROBE 16u

struct dd_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t max_clients;
	uint32_t window;
	uint32_t slot_size;
	uint32_t rec_size;
	uint64_t slots_off;
	uint64_t recs_off;
	uint64_t total_size;
	uint64_t salt;		/* random hash key, so clients cannot aim at a slot */
};
_Static_assert(sizeof(struct dd_hdr) == DD_HDR_SIZE, "header is one line");

/*
 * Client slot state word: version << DD_VER_SHIFT | busy << 2 | kind.
 * The version changes on every claim, so a CAS that expects the value
 * seen when the key matched also proves that the key still belongs to the
 * slot.  busy counts the client's requests between begin and the
 * publication of their reply (a pinned slot is never evicted), plus
 * transient pins of a begin in progress.
 */
enum dd_kind {
	DD_FREE = 0,		/* no client; its records are garbage */
	DD_LIVE = 1,		/* key and records valid */
	DD_CLAIMING = 2,	/* being (re)assigned by one thread */
};
#define DD_KIND_MASK 3ull
#define DD_BUSY_ONE 4ull
#define DD_BUSY_BITS 20
#define DD_BUSY_MASK (((1ull << DD_BUSY_BITS) - 1) << 2)
#define DD_VER_SHIFT (DD_BUSY_BITS + 2)

static inline uint64_t dd_state(uint64_t ver, uint64_t busy, enum dd_kind kind)
{
	return ver << DD_VER_SHIFT | busy << 2 | (uint64_t)kind;
}
static inline enum dd_kind dd_kind_of(uint64_t s)
{
	return (enum dd_kind)(s & DD_KIND_MASK);
}
static inline uint64_t dd_busy_of(uint64_t s)
{
	return (s & DD_BUSY_MASK) >> 2;
}
static inline uint64_t dd_ver_of(uint64_t s)
{
	return s >> DD_VER_SHIFT;
}

struct dd_slot {
	_Atomic uint64_t state;
	_Atomic uint64_t used;	/* CLOCK_MONOTONIC ns of the last begin (LRU) */
	_Atomic uint64_t id[2];	/* the channel identity (AOKI_CLIENT_ID_LEN) */
	_Atomic uint32_t uid;
	uint8_t pad[28];
};
_Static_assert(sizeof(struct dd_slot) == DD_SLOT_SIZE, "slot is one line");

/*
 * A request record.  Tags are seq + 1, so that 0 (a cleared record)
 * matches no request; seq UINT64_MAX, whose tag would be 0, is refused
 * (-ERANGE), and a claim zeroes whole records, so no tag ever matches
 * what a previous owner left.  begin (NEW) stores done = 0, then begun =
 * tag; commit writes the result fields, then done = tag.  So at every
 * instant done == tag implies the fields hold that tag's result, and
 * begun == tag != done means begun and not recorded (INTERRUPTED).
 *
 * held: the tag of the request that pins the slot through this record,
 * from its begin until its reply is in the channel (dedup_req_published),
 * 0 if none.  The slot's busy count is the number of records with held
 * != 0; the sweep at open recounts it from them, so a request that a
 * crash cut off between begin and the publication of its reply keeps its
 * slot pinned until its rerun's reply is published.
 */
struct dd_rec {
	_Atomic uint64_t begun;	/* tag of the last request begun here */
	_Atomic uint64_t done;	/* tag whose result the fields below hold */
	int32_t status;
	uint16_t rep_len;	/* <= AOKI_MSG_PAYLOAD, checked on every read */
	uint16_t pad0;
	uint8_t rep[AOKI_MSG_PAYLOAD];
	_Atomic uint64_t held;	/* tag pinning the slot until published; 0 */
};
_Static_assert(sizeof(struct dd_rec) == DD_REC_SIZE, "record is one line");

/* The geometry a (max_clients, window) pair implies; -EINVAL if out of
 * range.  The only source of offsets: an existing header must match it. */
int dd_geometry(uint32_t max_clients, uint32_t window, struct dd_hdr *out);

/* An open table (dedup_file.c opens it, dedup.c uses it). */
struct aoki_dedup {
	int fd;
	void *map;
	struct dd_hdr g;	/* validated private copy: never re-read */
	struct dd_slot *slots;
	struct dd_rec *recs;
};

#endif
