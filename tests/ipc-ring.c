/* SPDX-License-Identifier: MIT */
/*
 * ipc-ring - the ring protocol (lib/ipc/ring.h) driven through its API,
 * both sides in one thread, no server:
 *
 *   basics     claim prefers the slot numbered like the position; a full
 *              ring is -EAGAIN; peek/take/complete/reply_ready/release
 *   any_slot   a request in a slot not numbered like its position is
 *              found through the submission entry
 *   entry_only an entry for the head whose slot is not yet QUEUED is "not
 *              yet" (the client between its stores), never a drop
 *   garbage    entries no correct client writes are -EBADMSG
 *   old_taken  a taken request overtaken by many more than nslots others
 *              (a deferred one) is still found for a rerun, and queued
 *              requests not yet taken are not (before: only the last
 *              nslots positions were searched: the request was lost)
 *   orphans    a slot left by a timed-out call is freed once DONE
 *   reap       async completions free their slots
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_util.h"

/* Client: claim and publish a request with @tag; returns its position. */
static uint64_t submit(struct t_ring_chan *c, uint64_t tag, int async, uint32_t *idx)
{
	struct ring_msg m = { .op = 1, .len = 8, .tag = tag,
			      .flags = async ? MSG_F_ASYNC : 0 };
	int i = ring_claim(&c->rc, &c->g, c->mem, async);

	CHECK(i >= 0);
	memcpy(m.payload, &tag, 8);
	*idx = (uint32_t)i;
	return ring_publish(&c->rc, &c->g, c->mem, (uint32_t)i, &m);
}

/* Server: take the request at @head and complete it with its tag + 1. */
static void serve(struct t_ring_chan *c, uint64_t head)
{
	struct ring_msg m;
	uint64_t rep;
	uint8_t buf[AOKI_MSG_PAYLOAD] = { 0 };
	uint32_t idx;

	CHECK_EQ(ring_peek(&c->g, c->mem, head, &idx), 1);
	ring_take(&c->g, c->mem, idx, &m);
	CHECK_EQ(m.seq, head);
	memcpy(&rep, m.payload, 8);
	rep++;
	memcpy(buf, &rep, 8);
	ring_complete(&c->g, c->mem, idx, head, 0, buf, 8, m.flags & MSG_F_ASYNC, &c->cq_tail);
	ring_cq_publish(c->mem, c->cq_tail);
}

/* Client: consume the synchronous reply of @pos in @idx. */
static void consume(struct t_ring_chan *c, uint32_t idx, uint64_t pos, uint64_t tag)
{
	uint8_t buf[AOKI_MSG_PAYLOAD];
	uint64_t rep;
	size_t len;

	CHECK(ring_reply_ready(&c->g, c->mem, idx, pos));
	CHECK_EQ(ring_reply_copy(&c->g, c->mem, idx, buf, sizeof(buf), &len), 0);
	CHECK_EQ(len, 8);
	memcpy(&rep, buf, 8);
	CHECK(rep == tag + 1);
	ring_release(&c->rc, idx, slot_state(pos, SLOT_DONE));
}

static void basics(void)
{
	struct t_ring_chan c;
	uint32_t idx[4], i;
	uint64_t pos[4];

	t_ring_chan_init(&c, 4);
	for (i = 0; i < 4; i++) {
		pos[i] = submit(&c, 100 + i, 0, &idx[i]);
		CHECK_EQ(pos[i], i);
		CHECK_EQ(idx[i], i);	/* the slot numbered like it */
	}
	CHECK_EQ(ring_claim(&c.rc, &c.g, c.mem, 0), -EAGAIN);
	CHECK_EQ(ring_peek(&c.g, c.mem, 4, &i), 0);	/* nothing at 4 yet */
	for (i = 0; i < 4; i++)
		serve(&c, i);
	for (i = 0; i < 4; i++)
		consume(&c, idx[i], pos[i], 100 + i);
	t_ring_chan_fini(&c);
}

static void any_slot(void)
{
	struct t_ring_chan c;
	uint32_t a, b, k;
	uint64_t pa, pb;

	t_ring_chan_init(&c, 4);
	/* Hold slot 1 (position 0 goes to slot 0; take 1 by hand). */
	pa = submit(&c, 1, 0, &a);
	serve(&c, pa);
	consume(&c, a, pa, 1);
	/* Position 1 would go to slot 1: hold slot 1 first. */
	k = (uint32_t)ring_claim(&c.rc, &c.g, c.mem, 0);
	CHECK_EQ(k, 1);
	pb = submit(&c, 2, 0, &b);
	CHECK_EQ(pb, 1);
	CHECK(b != 1);
	serve(&c, pb);	/* found through the entry */
	consume(&c, b, pb, 2);
	t_ring_chan_fini(&c);
}

static void entry_only(void)
{
	struct t_ring_chan c;
	uint32_t idx;

	t_ring_chan_init(&c, 4);
	/* An entry naming slot 2 for position 0, whose state is still
	 * FREE: the client is between its two stores. */
	atomic_store(&chan_sq(c.mem, &c.g)[0], sq_entry(0, 2));
	CHECK_EQ(ring_peek(&c.g, c.mem, 0, &idx), 0);
	t_ring_chan_fini(&c);
}

static void garbage(void)
{
	const uint32_t bad[] = { sq_entry(0, 4095), sq_entry(0, 4), sq_entry(12345, 0),
				 0xffffffffu };
	/* Entries of another lap at place 0: requests in their own slot
	 * write no entry, so one may be many laps old, and a future lap's
	 * cannot be told from it: "not yet" (a forger stalls itself). */
	const uint32_t other_lap[] = { sq_entry(4, 0), sq_entry(8, 1) };
	struct t_ring_chan c;
	uint32_t idx;

	t_ring_chan_init(&c, 4);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(&chan_sq(c.mem, &c.g)[0], bad[i]);
		CHECK_EQ(ring_peek(&c.g, c.mem, 0, &idx), -EBADMSG);
	}
	for (unsigned i = 0; i < sizeof(other_lap) / sizeof(other_lap[0]); i++) {
		atomic_store(&chan_sq(c.mem, &c.g)[0], other_lap[i]);
		CHECK_EQ(ring_peek(&c.g, c.mem, 0, &idx), 0);
	}
	t_ring_chan_fini(&c);
}

static void old_taken(void)
{
	struct t_ring_chan c;
	uint32_t old_idx, idx, q_idx, found_idx[8];
	uint64_t old_pos, pos, head, q_pos, found_pos[8];
	struct ring_msg m;
	unsigned n;

	t_ring_chan_init(&c, 4);
	/* Position 0 is taken and deferred: it keeps its slot. */
	old_pos = submit(&c, 7, 0, &old_idx);
	CHECK_EQ(ring_peek(&c.g, c.mem, 0, &idx), 1);
	ring_take(&c.g, c.mem, idx, &m);
	head = 1;
	/* 1000 more requests go through the other three slots. */
	for (int k = 0; k < 1000; k++) {
		pos = submit(&c, 1000 + (uint64_t)k, 0, &idx);
		CHECK(idx != old_idx);
		serve(&c, head++);
		consume(&c, idx, pos, 1000 + (uint64_t)k);
	}
	/* One more queued, not taken: head stays below it. */
	q_pos = submit(&c, 5, 0, &q_idx);
	CHECK_EQ(q_pos, head);
	/* The server dies with srv_head == head: rerun what it took. */
	n = ring_find_taken(&c.g, c.mem, head, found_idx, found_pos);
	CHECK_EQ(n, 1);
	CHECK_EQ(found_idx[0], old_idx);
	CHECK_EQ(found_pos[0], old_pos);
	/* With the queued one taken too, both, in position order. */
	n = ring_find_taken(&c.g, c.mem, head + 1, found_idx, found_pos);
	CHECK_EQ(n, 2);
	CHECK(found_pos[0] == old_pos && found_pos[1] == q_pos);
	CHECK_EQ(found_idx[1], q_idx);
	t_ring_chan_fini(&c);
}

/* A request deferred for 2^30 positions: its slot's state then reads
 * QUEUED of the new head in the state word's 30 bits.  The full position
 * (seq) must decide, or the server runs the old request again as the new
 * one (and loses the new one), and a resume skips it. */
static void long_deferred(void)
{
	struct t_ring_chan c;
	uint32_t old_idx, idx, got, found_idx[4];
	uint64_t old_pos, head = 1ull << 30, pos, found_pos[4];
	struct ring_msg m;

	t_ring_chan_init(&c, 4);
	old_pos = submit(&c, 7, 0, &old_idx);
	CHECK_EQ(ring_peek(&c.g, c.mem, old_pos, &got), 1);
	ring_take(&c.g, c.mem, got, &m);
	/* 2^30 - 1 requests went by through the other slots. */
	atomic_store(&c.rc.tail, head);
	CHECK_EQ(slot_state(old_pos, SLOT_QUEUED), slot_state(head, SLOT_QUEUED));
	pos = submit(&c, 8, 0, &idx);
	CHECK_EQ(pos, head);
	CHECK(idx != old_idx);
	CHECK_EQ(ring_peek(&c.g, c.mem, head, &got), 1);
	CHECK_EQ(got, idx);
	/* A server dying now with srv_head == head reruns the old one only. */
	CHECK_EQ(ring_find_taken(&c.g, c.mem, head, found_idx, found_pos), 1);
	CHECK(found_idx[0] == old_idx && found_pos[0] == old_pos);
	t_ring_chan_fini(&c);
}

static void orphans(void)
{
	struct t_ring_chan c;
	uint32_t idx[2];
	uint64_t pos[2];
	int k;

	t_ring_chan_init(&c, 2);
	pos[0] = submit(&c, 1, 0, &idx[0]);
	pos[1] = submit(&c, 2, 0, &idx[1]);
	ring_orphan(&c.rc, idx[0]);	/* its caller timed out */
	CHECK_EQ(ring_claim(&c.rc, &c.g, c.mem, 0), -EAGAIN);	/* not DONE yet */
	serve(&c, pos[0]);
	serve(&c, pos[1]);
	consume(&c, idx[1], pos[1], 2);
	/* Both slots free again: the orphan once its reply came. */
	k = ring_claim(&c.rc, &c.g, c.mem, 0);
	CHECK(k >= 0);
	CHECK(ring_claim(&c.rc, &c.g, c.mem, 0) >= 0);
	CHECK_EQ(atomic_load(&c.rc.norphans), 0);
	t_ring_chan_fini(&c);
}

static void reap(void)
{
	struct t_ring_chan c;
	struct aoki_cqe cqe[8];
	uint32_t idx;
	uint64_t got = 0, tag;

	t_ring_chan_init(&c, 4);
	for (uint64_t t = 0; t < 4; t++)
		submit(&c, t, 1, &idx);
	CHECK_EQ(ring_claim(&c.rc, &c.g, c.mem, 1), -EAGAIN);
	CHECK_EQ(atomic_load(&c.rc.nasync), 4);
	for (uint64_t h = 0; h < 4; h++)
		serve(&c, h);
	CHECK_EQ(ring_cq_pending(&c.rc, &c.g, c.mem), 4);
	CHECK_EQ(ring_reap(&c.rc, &c.g, c.mem, cqe, 8), 4);
	for (int i = 0; i < 4; i++) {
		memcpy(&tag, cqe[i].payload, 8);
		CHECK(tag == cqe[i].tag + 1);
		got |= 1ull << cqe[i].tag;
	}
	CHECK_EQ(got, 0xf);
	CHECK_EQ(atomic_load(&c.rc.nasync), 0);
	for (int i = 0; i < 4; i++)
		CHECK(ring_claim(&c.rc, &c.g, c.mem, 0) >= 0);
	t_ring_chan_fini(&c);
}

int main(void)
{
	basics();
	any_slot();
	entry_only();
	garbage();
	old_taken();
	long_deferred();
	orphans();
	reap();
	return 0;
}
