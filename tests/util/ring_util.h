/* SPDX-License-Identifier: MIT */
/*
 * ring_util.h - a channel in private memory for tests that drive the ring
 * protocol (lib/ipc/ring.h) from both sides in one thread, no server.
 */
#ifndef AOKI_TEST_RING_UTIL_H
#define AOKI_TEST_RING_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../../lib/ipc/ring.h"

struct t_ring_chan {
	struct chan_geom g;
	void *mem;
	struct ring_client rc;
	uint32_t cq_tail;	/* the "server's" private copy */
};

/* Fresh channel memory of @nslots slots, formatted as a client would. */
static inline void t_ring_chan_init(struct t_ring_chan *c, uint32_t nslots)
{
	CHECK_EQ(chan_geometry_init(&c->g, nslots, 4), 0);
	c->mem = aligned_alloc(64, c->g.total_size);
	CHECK(c->mem != NULL);
	memset(c->mem, 0, c->g.total_size);
	chan_header_write(c->mem, &c->g);
	ring_format(c->mem, &c->g);
	CHECK_EQ(ring_client_init(&c->rc, &c->g), 0);
	c->cq_tail = 0;
}

static inline void t_ring_chan_fini(struct t_ring_chan *c)
{
	ring_client_free(&c->rc);
	free(c->mem);
}

#endif
