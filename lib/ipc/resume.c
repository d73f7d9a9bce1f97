/* SPDX-License-Identifier: MIT */
/*
 * resume.c - a restarted server takes up a channel where the dead one left
 * it.  Everything needed is in the channel memory, which the client owns
 * and which therefore outlives any server:
 *
 *   queued     slot state QUEUED(p), p >= srv_head: not yet taken
 *   taken      QUEUED(p), p < srv_head: taken by the server of hdr->epoch
 *              (the worker stores srv_head before it runs the request)
 *   completed  DONE(p)
 *
 * So the new server starts taking at srv_head and first runs again every
 * taken-but-not-completed request.  Those lie in [srv_head - nslots,
 * srv_head): position p + nslots cannot have been queued, let alone taken,
 * while p was still pending.  Nothing here trusts the memory: a client
 * that forges srv_head or slot states gets its own requests run in a
 * strange order, or its channel dropped by the usual checks, and nothing
 * worse.
 */
#include "server.h"

void chan_resume_scan(struct srv_chan *ch)
{
	/* Relaxed: the HELLO system call that handed us the memory orders
	 * the dead server's and the client's stores before our loads. */
	uint64_t head = atomic_load_explicit(&ch->hdr->srv_head, memory_order_relaxed);

	ch->head = head;
	ch->rerun_from = head >= ch->geom.nslots ? head - ch->geom.nslots : 0;
	ch->rerun_until = head;
}

void chan_rerun(struct worker *w, struct srv_chan *ch)
{
	while (ch->rerun_from < ch->rerun_until &&
	       !atomic_load_explicit(&ch->dead, memory_order_relaxed)) {
		uint64_t pos = ch->rerun_from++;
		struct chan_slot *s = &ch->slots[pos & ch->geom.mask];
		/* Acquire pairs with the client's release store of QUEUED, as
		 * in worker_serve. */
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

		/* Anything but QUEUED(pos) was completed (DONE), or completed,
		 * consumed and reused for a later position: not ours to run. */
		if (st != slot_state(pos, SLOT_QUEUED))
			continue;
		atomic_fetch_add_explicit(&ch->srv->st.rerun, 1, memory_order_relaxed);
		worker_take(w, ch, s, pos, 1);
	}
	if (ch->cq_dirty || ch->rerun_until)
		chan_notify(ch);
}
