/* SPDX-License-Identifier: MIT */
/*
 * resume.c - a restarted server takes up a channel where the dead one left
 * it.  Everything needed is in the channel memory, which the client owns
 * and which therefore outlives any server:
 *
 *   queued     a slot in state QUEUED(p), p >= srv_head: not yet taken
 *   taken      QUEUED(p), p < srv_head: taken by the server of hdr->epoch
 *              (the worker stores srv_head before it runs the request)
 *   completed  DONE(p)
 *
 * So the new server starts taking at srv_head and first runs again every
 * taken-but-not-completed request.  One of those may be a reply cut short:
 * the reply overwrites the request in the slot, so it is first written to
 * a record in line 4 (req_publish), and a publication found cut short is
 * finished from there rather than run again.  Those lie in [srv_head - nslots,
 * srv_head): position p + nslots cannot have been queued, let alone taken,
 * while p was still pending.  Nothing here trusts the memory: a client
 * that forges srv_head or slot states gets its own requests run in a
 * strange order, or its channel dropped by the usual checks, and nothing
 * worse.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

void chan_resume_scan(struct srv_chan *ch)
{
	/* Relaxed: the HELLO system call that handed us the memory orders
	 * the dead server's and the client's stores before our loads. */
	uint64_t head = atomic_load_explicit(&ch->hdr->srv_head, memory_order_relaxed);

	ch->head = head;
	/* Taken requests may be of any age (a deferred one is overtaken by
	 * any number of others): each slot's seq says its position. */
	ch->rerun_from = 0;
	ch->rerun_until = head;
}

/*
 * The dead server was publishing a reply when it died: the slot still
 * says QUEUED, its request half overwritten.  The handler had finished, so
 * finish the publication from the record in line 4 instead of running
 * what is left of the request.  Untrusted like the rest: a forged record
 * only completes this client's own request with a reply of its choosing.
 */
static void finish_cut_publication(struct srv_chan *ch)
{
	struct chan_hdr *h = ch->hdr;
	uint64_t pos = atomic_load_explicit(&h->reply_pos, memory_order_relaxed);
	struct chan_slot *s;
	struct aoki_req req;

	uint32_t idx = h->reply_idx;

	if (!pos-- || pos < ch->rerun_from || pos >= ch->rerun_until || idx >= ch->geom.nslots)
		return;
	s = &ch->slots[idx];
	/* Acquire pairs with the client's release store of QUEUED; the full
	 * position (seq), not the state's 30 bits: the slot may hold a newer
	 * request 2^30 positions later. */
	if (atomic_load_explicit(&s->state, memory_order_acquire) != slot_state(pos, SLOT_QUEUED) ||
	    s->seq != pos)
		return;
	memset(&req, 0, sizeof(req));
	req.ch = ch;
	req.pos = pos;
	req.idx = idx;
	req.msg.flags = s->flags & MSG_F_ASYNC;
	req.status = h->reply_status;
	req.rep_len = h->reply_len <= AOKI_MSG_PAYLOAD ? h->reply_len : AOKI_MSG_PAYLOAD;
	memcpy(req.rep, h->reply_payload, req.rep_len);
	req_publish(&req);
}

void chan_rerun(struct worker *w, struct srv_chan *ch)
{
	uint32_t *idx;
	uint64_t *pos;
	unsigned n;

	(void)w;
	finish_cut_publication(ch);
	idx = malloc(ch->geom.nslots * sizeof(*idx));
	pos = malloc(ch->geom.nslots * sizeof(*pos));
	if (!idx || !pos) {
		free(idx);
		free(pos);
		srv_chan_drop(ch, "no memory to resume the channel");
		return;
	}
	n = ring_find_taken(&ch->geom, ch->mem, ch->rerun_until, idx, pos);
	for (unsigned i = 0; i < n && !atomic_load_explicit(&ch->dead, memory_order_relaxed); i++) {
		/* Acquire pairs with the client's release store of QUEUED.
		 * A request rerun before this one may have been completed
		 * meanwhile only by us: check again. */
		if (atomic_load_explicit(&ch->slots[idx[i]].state, memory_order_acquire) !=
		    slot_state(pos[i], SLOT_QUEUED))
			continue;
		atomic_fetch_add_explicit(&ch->srv->st.rerun, 1, memory_order_relaxed);
		req_run(ch, idx[i], pos[i], 1);
	}
	free(idx);
	free(pos);
	ch->rerun_from = ch->rerun_until;
	if (ch->cq_dirty || ch->rerun_until)
		chan_notify(ch);
}
