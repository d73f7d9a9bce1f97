/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ring_serve - the server consuming a ring that a hostile client
 * controls: slot states, opcodes, lengths, flags, payloads, grant
 * references, and memory changed between the server's passes.
 *
 * Input layout:
 *   byte 0        log2(slots) - 1 (masked to 1..5 -> 2..32 slots); bit 7:
 *                 resume the channel (a restarted server takes it up)
 *   then          initial content of the slot array (as much as given)
 *   then, if resuming, u64 srv_head as the dead server left it
 *   then          rounds of (u16 offset, u8 value) writes into the slots
 *                 and the submission ring; after each 8 writes the worker
 *                 serves one batch.
 * The client side is driven through the ring API too: a write whose
 * value is odd is followed by a well-formed request (ring_claim +
 * ring_publish, its message taken from the input) when a slot is free,
 * so that the decode paths behind the checks are reached, and garbage
 * lands on requests the server really takes.
 *
 * Properties: no crash or sanitizer report; every completion the server
 * publishes names a slot inside the ring; a channel, once dropped, is
 * never served again; a resume runs again at most one ring of requests.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/ipc/server.h"
#include "echo.h"

#define GRANT_SIZE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct echo_state est = { 0 };
	struct aoki_server srv = { 0 };
	struct worker w = { 0 };
	struct srv_chan ch = { 0 };
	struct srv_grant *grant, *left;
	_Atomic(struct srv_grant *) grants[2];
	struct chan_geom g;
	void *mem;
	size_t used, n;
	int dropped_before;
	struct ring_client rc;
	struct ring_msg msg;

	if (size < 1)
		return 0;
	if (chan_geometry_init(&g, 1u << ((data[0] % 5) + 1), 2))
		abort();
	mem = aligned_alloc(CACHELINE, g.total_size);
	if (!mem)
		return 0;
	memset(mem, 0, g.total_size);
	chan_header_write(mem, &g);

	srv.cfg.handler = echo_handler;
	srv.cfg.handler_arg = &est;
	srv.cfg.quiet = 1;
	w.srv = &srv;
	ch.srv = &srv;
	ch.worker = &w;
	ch.ctl_fd = -1;
	ch.notify_fd = -1;
	ch.mem = mem;
	ch.hdr = mem;
	ch.geom = g;
	ch.slots = chan_slots(mem, &g);
	ch.cq = chan_cq(mem, &g);
	/* The library owns grants (a revoke munmaps and frees them), so
	 * make this one the way the acceptor does. */
	grant = malloc(sizeof(*grant));
	if (!grant)
		abort();
	grant->base = mmap(NULL, GRANT_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (grant->base == MAP_FAILED)
		abort();
	grant->len = GRANT_SIZE;
	grant->fd = -1;
	grant->rights = AOKI_GRANT_READ;
	atomic_init(&grants[0], grant);
	atomic_init(&grants[1], NULL);
	ch.grants = grants;
	atomic_init(&ch.refs, 1);

	used = 1;
	n = size - used;
	if (n > (size_t)g.nslots * CHAN_SLOT_SIZE)
		n = (size_t)g.nslots * CHAN_SLOT_SIZE;
	memcpy(ch.slots, data + used, n);
	used += n;
	if ((data[0] & 0x80) && used + 8 <= size) {
		uint64_t head, rerun_before = srv.st.rerun;

		memcpy(&head, data + used, sizeof(head));
		used += sizeof(head);
		atomic_store(&ch.hdr->srv_head, head);
		chan_resume_scan(&ch);
		chan_rerun(&w, &ch);
		if (srv.st.rerun - rerun_before > g.nslots)
			abort();
		for (uint32_t i = 0; i != ch.cq_tail; i++)
			if (atomic_load(&ch.cq[i & g.mask]) > g.mask)
				abort();
	}

	if (ring_client_init(&rc, &g))
		abort();
	/* Positions continue from the server's (a resumed channel's too). */
	atomic_store(&rc.tail, ch.head);
	for (int round = 0; round < 64; round++) {
		uint32_t cq_before = ch.cq_tail;

		for (int k = 0; k < 8 && used + 3 <= size; k++, used += 3) {
			uint16_t off;
			int idx;

			memcpy(&off, data + used, sizeof(off));
			off %= (uint16_t)(g.cq_off - g.slots_off);
			((uint8_t *)ch.slots)[off] = data[used + 2];
			if (!(data[used + 2] & 1))
				continue;
			idx = ring_claim(&rc, &g, mem, 0);
			if (idx < 0)
				continue;
			memset(&msg, 0, sizeof(msg));
			n = size - used < sizeof(msg) ? size - used : sizeof(msg);
			memcpy(&msg, data + used, n);
			ring_publish(&rc, &g, mem, (uint32_t)idx, &msg);
			/* Nobody consumes the reply: free the slot once it
			 * comes (or never, if the server drops the channel). */
			ring_orphan(&rc, (uint32_t)idx);
		}
		dropped_before = atomic_load(&ch.dead);
		n = worker_serve(&w, &ch, 16);
		if (dropped_before && n)
			abort();	/* a dead channel must not be served */
		for (uint32_t i = cq_before; i != ch.cq_tail; i++)
			if (atomic_load(&ch.cq[i & g.mask]) > g.mask)
				abort();
		if (used + 3 > size && !n)
			break;
	}
	ring_client_free(&rc);
	echo_flush_deferred();	/* a parked DEFER drops the ref it took */
	while (ch.parked) {
		struct aoki_req *r = ch.parked;

		ch.parked = r->next;
		free(r);
	}
	left = atomic_load(&grants[0]);
	if (left) {
		munmap(left->base, left->len);
		free(left);
	}
	free(mem);
	return 0;
}
