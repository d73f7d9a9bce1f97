/* SPDX-License-Identifier: MIT */
/*
 * ipc-ring-batch - the ring's batch operations (lib/ipc/ring.h), both
 * sides in one thread, no server:
 *
 *   aligned   ring_claim_many on a fresh ring takes the slots numbered
 *             like the next positions; ring_publish_many gives positions
 *             in order; the server finds each on its fast path; one
 *             ring_reap frees them all
 *   partial   with some slots held, a claim takes what is free, then 0;
 *             an orphaned slot whose reply came is taken back
 *   runs      a reap of more completions than one run (64) in one call,
 *             and a reap cut short by @max leaves the rest for the next
 *   corrupt   a completion entry out of the ring, or naming a slot that
 *             is not DONE, is skipped and frees nothing
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_util.h"

/* Client: claim up to @n slots and publish async requests tagged
 * @tag0.. in them; returns how many, their slots in @idx. */
static unsigned submit_many(struct t_ring_chan *c, uint64_t tag0, unsigned n, uint32_t *idx)
{
	struct ring_req r[128];
	uint64_t data[128];
	unsigned got;

	CHECK(n <= 128);
	got = ring_claim_many(&c->rc, &c->g, c->mem, 1, idx, n);
	for (unsigned i = 0; i < got; i++) {
		data[i] = tag0 + i;
		r[i] = (struct ring_req){ .op = 1, .flags = MSG_F_ASYNC, .len = 8,
					  .tag = tag0 + i, .data = &data[i] };
	}
	if (got)
		ring_publish_many(&c->rc, &c->g, c->mem, idx, r, got);
	return got;
}

/* Server: take the request at @head, check it sits in @want (or anywhere
 * if @want is UINT32_MAX), complete it with its payload + 1. */
static void serve(struct t_ring_chan *c, uint64_t head, uint32_t want)
{
	uint8_t buf[AOKI_MSG_PAYLOAD] = { 0 };
	struct ring_msg m;
	uint64_t v;
	uint32_t idx;

	CHECK_EQ(ring_peek(&c->g, c->mem, head, &idx), 1);
	if (want != UINT32_MAX)
		CHECK_EQ(idx, want);
	ring_take(&c->g, c->mem, idx, &m);
	CHECK_EQ(m.seq, head);
	memcpy(&v, m.payload, 8);
	CHECK_EQ(v, m.tag);
	v++;
	memcpy(buf, &v, 8);
	ring_complete(&c->g, c->mem, idx, head, 0, buf, 8, 1, &c->cq_tail);
}

/* Client: reap up to @max, check each reply is its tag + 1. */
static unsigned reap(struct t_ring_chan *c, unsigned max)
{
	struct aoki_cqe cqe[256];
	unsigned n;

	CHECK(max <= 256);
	n = ring_reap(&c->rc, &c->g, c->mem, cqe, max);
	for (unsigned i = 0; i < n; i++) {
		uint64_t v;

		CHECK_EQ(cqe[i].len, 8);
		memcpy(&v, cqe[i].payload, 8);
		CHECK_EQ(v, cqe[i].tag + 1);
	}
	return n;
}

static void aligned(void)
{
	struct t_ring_chan c;
	uint32_t idx[8];

	t_ring_chan_init(&c, 8);
	CHECK_EQ(submit_many(&c, 100, 5, idx), 5);
	for (uint32_t i = 0; i < 5; i++) {
		CHECK_EQ(idx[i], i);
		serve(&c, i, i);
	}
	ring_cq_publish(c.mem, c.cq_tail);
	CHECK_EQ(reap(&c, 8), 5);
	CHECK_EQ(atomic_load(&c.rc.nasync), 0);
	/* Positions 5..12 go to slots 5, 6, 7, 0, .. 4: all free again. */
	CHECK_EQ(submit_many(&c, 200, 8, idx), 8);
	for (uint32_t i = 0; i < 8; i++) {
		CHECK_EQ(idx[i], (5 + i) % 8);
		serve(&c, 5 + i, (5 + i) % 8);
	}
	ring_cq_publish(c.mem, c.cq_tail);
	CHECK_EQ(reap(&c, 8), 8);
	t_ring_chan_fini(&c);
}

static void partial(void)
{
	struct t_ring_chan c;
	uint32_t idx[8], held[3];
	uint64_t pos;
	int k;

	t_ring_chan_init(&c, 8);
	for (int i = 0; i < 3; i++) {
		k = ring_claim(&c.rc, &c.g, c.mem, 0);
		CHECK(k >= 0);
		held[i] = (uint32_t)k;
	}
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 1, idx, 8), 5);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 3; j++)
			CHECK(idx[i] != held[j]);
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 1, idx, 8), 0);
	CHECK_EQ(ring_claim(&c.rc, &c.g, c.mem, 0), -EAGAIN);
	/* A synchronous request in held[0] times out (orphan); once its
	 * reply is there, a batch claim takes the slot back. */
	struct ring_msg m = { .op = 1, .len = 8, .tag = 9 };

	memcpy(m.payload, &m.tag, 8);
	pos = ring_publish(&c.rc, &c.g, c.mem, held[0], &m);
	ring_orphan(&c.rc, held[0]);
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 1, idx, 8), 0);	/* not DONE yet */
	{
		uint8_t buf[AOKI_MSG_PAYLOAD] = { 0 };
		uint32_t i;

		CHECK_EQ(ring_peek(&c.g, c.mem, pos, &i), 1);
		CHECK_EQ(i, held[0]);
		ring_complete(&c.g, c.mem, i, pos, 0, buf, 0, 0, &c.cq_tail);
	}
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 1, idx, 8), 1);
	CHECK_EQ(idx[0], held[0]);
	CHECK_EQ(atomic_load(&c.rc.norphans), 0);
	t_ring_chan_fini(&c);
}

static void runs(void)
{
	struct t_ring_chan c;
	uint32_t idx[128];

	t_ring_chan_init(&c, 128);
	CHECK_EQ(submit_many(&c, 1000, 100, idx), 100);
	for (uint64_t p = 0; p < 100; p++)
		serve(&c, p, (uint32_t)p);
	ring_cq_publish(c.mem, c.cq_tail);
	CHECK_EQ(ring_cq_pending(&c.rc, &c.g, c.mem), 100);
	CHECK_EQ(reap(&c, 30), 30);	/* cut short by max */
	CHECK_EQ(ring_cq_pending(&c.rc, &c.g, c.mem), 70);
	CHECK_EQ(reap(&c, 128), 70);	/* two runs in one call */
	CHECK_EQ(atomic_load(&c.rc.nasync), 0);
	CHECK_EQ(reap(&c, 128), 0);
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 0, idx, 128), 128);
	t_ring_chan_fini(&c);
}

static void corrupt(void)
{
	struct t_ring_chan c;
	uint32_t idx[4];
	_Atomic uint32_t *cq;

	t_ring_chan_init(&c, 4);
	cq = chan_cq(c.mem, &c.g);
	CHECK_EQ(submit_many(&c, 7, 2, idx), 2);
	serve(&c, 0, idx[0]);
	/* The "server" then queues garbage: a slot index out of the ring
	 * and the slot of the request it has not completed (QUEUED). */
	atomic_store(&cq[c.cq_tail++ & c.g.mask], 4095);
	atomic_store(&cq[c.cq_tail++ & c.g.mask], idx[1]);
	ring_cq_publish(c.mem, c.cq_tail);
	CHECK_EQ(reap(&c, 4), 1);	/* the one real completion */
	/* The busy slot was not freed: the three others are free, no more. */
	CHECK_EQ(ring_claim_many(&c.rc, &c.g, c.mem, 0, idx, 4), 3);
	t_ring_chan_fini(&c);
}

int main(void)
{
	aligned();
	partial();
	runs();
	corrupt();
	return T_EXIT_PASS;
}
