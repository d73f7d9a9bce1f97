/* SPDX-License-Identifier: MIT */
/*
 * request.c - a request's life on the server: taken from the ring, run
 * (handler or library op), deferred and completed, its reply published.
 * What a handler reads of a request is req_api.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "dedup_hook.h"
#include "server.h"
#include "sys.h"

struct aoki_req *aoki_req_defer(struct aoki_req *req)
{
	struct aoki_req *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *req;
	req->deferred = 1;
	copy->deferred = 1;
	srv_chan_ref(req->ch);
	req->ch->ndeferred++;
	return copy;
}

void req_publish(struct aoki_req *req)
{
	struct srv_chan *ch = req->ch;
	struct chan_hdr *h = ch->hdr;

	/* First the reply record in line 4 (ours alone: no transfer), marked
	 * complete by reply_pos, then the slot: the reply overwrites the
	 * request there, and a server that dies in between must leave a way
	 * to finish (resume.c).  A release store: the record is complete
	 * before it is marked; then a release fence: marked before the slot
	 * changes (store-store order; what reads it is the next server,
	 * after system calls). */
	h->reply_status = req->status;
	h->reply_len = req->rep_len;
	h->reply_idx = (uint16_t)req->idx;
	/* Whole-buffer copies: a constant size is a few inline moves, where
	 * rep_len bytes would be a call; bytes past rep_len mean nothing. */
	memcpy(h->reply_payload, req->rep, AOKI_MSG_PAYLOAD);
	atomic_store_explicit(&h->reply_pos, req->pos + 1, memory_order_release);
	atomic_thread_fence(memory_order_release);
	ring_complete(&ch->geom, ch->mem, req->idx, req->pos, req->status, req->rep,
		      req->rep_len, req->msg.flags & MSG_F_ASYNC, &ch->cq_tail);
	if (req->msg.flags & MSG_F_ASYNC)
		ch->cq_dirty = 1;
	/* Only this worker writes its counter: a plain load and store, no
	 * locked instruction and no line shared between workers on the hot
	 * path.  Atomic (relaxed) so that aoki_server_get_stats may read it. */
	atomic_store_explicit(&ch->worker->requests,
			      atomic_load_explicit(&ch->worker->requests, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* Last: the reply is in the channel, so an exactly-once record may
	 * be let go (dedup.c keeps it pinned until here). */
	dedup_req_published(req);
}

void chan_publish_early(struct srv_chan *ch)
{
	/* A relaxed peek, no fence: if somebody already sleeps, publish and
	 * wake now rather than at the end of the batch, so slow handlers do
	 * not hold completions back.  A client that spins instead sees
	 * synchronous replies at once (the DONE store) and async ones at the
	 * batch's end, which keeps cq_tail's line quiet under load; when its
	 * spin runs out it sleeps, and the next request's peek finds it.
	 * Missing a sleeper that is just arriving is fine: chan_notify at the
	 * batch's end does the fenced check that guarantees the wake-up. */
	if (atomic_load_explicit(&ch->hdr->cli_wait, memory_order_relaxed))
		chan_notify(ch);
}

void chan_notify(struct srv_chan *ch)
{
	uint32_t w;

	if (ch->cq_dirty) {
		ring_cq_publish(ch->mem, ch->cq_tail);
		ch->cq_dirty = 0;
	}
	/* Store-load (Dekker) with chan_wait(): we stored DONE, fence, and
	 * load cli_wait; a client adds itself to cli_wait (seq_cst RMW) and
	 * then re-checks its reply.  One of us sees the other. */
	atomic_thread_fence(memory_order_seq_cst);
	w = atomic_load_explicit(&ch->hdr->cli_wait, memory_order_relaxed);
	if (w & CLI_WAIT_SLEEPERS) {
		atomic_fetch_add_explicit(&ch->hdr->cli_futex, 1, memory_order_release);
		futex_wake_shared(&ch->hdr->cli_futex, INT_MAX);
	}
	if ((w & CLI_WAIT_ARMED) &&
	    (atomic_fetch_and_explicit(&ch->hdr->cli_wait, ~CLI_WAIT_ARMED,
				       memory_order_relaxed) & CLI_WAIT_ARMED)) {
		/* MSG_DONTWAIT: a full socket means a notification is
		 * already pending; we never block on a client's descriptor. */
		send(ch->notify_fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

/* Revoke a grant: the requests before it are done, so nobody uses it. */
static void revoke(struct aoki_req *req)
{
	struct srv_chan *ch = req->ch;
	uint32_t id;
	struct srv_grant *g;

	if (req->msg.len != sizeof(id)) {
		req->status = -EINVAL;
		return;
	}
	memcpy(&id, req->msg.payload, sizeof(id));
	if (id >= ch->geom.max_grants) {
		req->status = -ENOENT;
		return;
	}
	/* The exchange makes this worker the grant's only owner; the
	 * acceptor may reuse the id from now on. */
	g = atomic_exchange_explicit(&ch->grants[id], NULL, memory_order_acq_rel);
	if (!g) {
		req->status = -ENOENT;
		return;
	}
	srv_chan_grant_gone(ch, g);
	srv_grant_free(g);
	req->status = 0;
}

static void run_parked(struct srv_chan *ch)
{
	while (ch->parked && ch->ndeferred == 0) {
		struct aoki_req *r = ch->parked;

		ch->parked = r->next;
		revoke(r);
		req_publish(r);
		chan_notify(ch);
		free(r);
	}
}

void aoki_req_complete(struct aoki_req *req)
{
	struct srv_chan *ch = req->ch;

	if (ch->srv->abandon) {
		/* Drained out of an incarnation being torn down: it is run
		 * again (srv_resume_all), and its count is reset there. */
		free(req);
		srv_chan_unref(ch);
		return;
	}
	ch->ndeferred--;
	if (!atomic_load_explicit(&ch->dead, memory_order_relaxed)) {
		req_publish(req);
		chan_notify(ch);
		run_parked(ch);
	}
	free(req);
	srv_chan_unref(ch);
}

/*
 * Run the handler and apply its return contract (aoki_handler_fn in
 * ipc.h): 0, the reply set by aoki_req_reply (status 0 if none);
 * negative, that -errno as the status and no payload; AOKI_DEFERRED after
 * aoki_req_defer, no reply yet.  Anything else is the handler's bug: the
 * client gets -EIO, and the log says why.  Returns 1 if deferred.
 */
static int run_handler(struct aoki_req *req)
{
	struct srv_chan *ch = req->ch;
	int r = ch->srv->cfg.handler(req, ch->srv->cfg.handler_arg);

	if (r == 0)
		return 0;
	if (r == AOKI_DEFERRED && req->deferred)
		return 1;
	if (r < 0 && r >= -4095) {
		req->status = r;
	} else {
		if (r == AOKI_DEFERRED)
			srv_log(ch->srv, "handler deferred op %u without aoki_req_defer",
				req->msg.op);
		else
			srv_log(ch->srv, "handler returned %d for op %u (not 0, -errno or "
				"AOKI_DEFERRED)", r, req->msg.op);
		req->status = -EIO;
	}
	req->rep_len = 0;
	return 0;
}

/* Run one request taken from the ring (handler or library op). */
static void req_dispatch(struct aoki_req *req)
{
	struct srv_chan *ch = req->ch;

	if (req->msg.len > AOKI_MSG_PAYLOAD || (req->msg.flags & ~MSG_F_ASYNC)) {
		req->status = -EINVAL;
	} else if (req->msg.op == OP_GRANT_REVOKE) {
		if (ch->ndeferred) {
			/* Deferred requests may still hold grant pointers. */
			struct aoki_req *copy = malloc(sizeof(*copy));

			if (copy) {
				struct aoki_req **tail = &ch->parked;

				*copy = *req;
				copy->next = NULL;
				while (*tail)	/* FIFO: revokes complete in order */
					tail = &(*tail)->next;
				*tail = copy;
				return;
			}
			req->status = -ENOMEM;
		} else {
			revoke(req);
		}
	} else if (req->msg.op == OP_SERVER_STATS) {
		srv_stats_reply(req);
	} else if (req->msg.op >= AOKI_OP_RESERVED) {
		req->status = -ENOSYS;
	} else if (run_handler(req)) {
		return;
	}
	req_publish(req);
}

uint16_t req_run(struct srv_chan *ch, uint32_t idx, uint64_t pos, int rerun)
{
	struct aoki_req req;

	/* Copy the request out before looking at it (no TOCTOU). */
	req.ch = ch;
	req.pos = pos;
	req.idx = idx;
	ring_take(&ch->geom, ch->mem, idx, &req.msg);
	req.status = 0;
	req.rep_len = 0;
	/* Cleared: the reply is published as a whole payload (req_publish,
	 * ring_complete), and the bytes past rep_len would otherwise be the
	 * last reply this stack held - another client's (ipc-reply-leak). */
	memset(req.rep, 0, sizeof(req.rep));
	req.deferred = 0;
	req.rerun = (uint8_t)rerun;
	req.next = NULL;
	req.dedup = NULL;
	req_dispatch(&req);
	return req.msg.cpu;
}
