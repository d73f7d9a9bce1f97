/* SPDX-License-Identifier: MIT */
/*
 * srv_chan.c - what every server thread does to a channel: references,
 * kill, drop for a protocol violation, its grants' end; and the server's
 * log.  The bottom of the server half (see server.c for the layers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "closer.h"
#include "ctl.h"
#include "server.h"
#include "sys.h"

void srv_log(const struct aoki_server *srv, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (srv->cfg.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "aoki-server[%d]: %s\n", (int)getpid(), line);
}

/* ------------------------------------------------------------ channels */

void srv_chan_ref(struct srv_chan *ch)
{
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
}

static void chan_free(struct srv_chan *ch)
{
	/* Revokes parked behind deferred requests that never completed
	 * (the channel went away first). */
	while (ch->parked) {
		struct aoki_req *r = ch->parked;

		ch->parked = r->next;
		free(r);
	}
	for (unsigned i = 0; ch->grants && i < ch->geom.max_grants; i++) {
		struct srv_grant *g = atomic_load_explicit(&ch->grants[i], memory_order_relaxed);

		if (g)
			srv_grant_free(g);
	}
	free(ch->grants);
	free(ch->grant_len);
	if (ch->mem)
		munmap(ch->mem, ch->geom.total_size);
	/* Client-supplied (the notify socket) or able to hold descriptors
	 * the client queued in it (both): closing may block, and this may
	 * run on a worker.  The closer does it (closer.h). */
	closer_push(ch->srv->closer, ch->ctl_fd);
	closer_push(ch->srv->closer, ch->notify_fd);
	free(ch);
}

void srv_chan_unref(struct srv_chan *ch)
{
	/* acq_rel: the last owner must see every other owner's writes
	 * before it frees (the usual refcount pairing). */
	if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) == 1)
		chan_free(ch);
}

void srv_chan_kill(struct srv_chan *ch)
{
	if (atomic_exchange_explicit(&ch->dead, 1, memory_order_relaxed))
		return;
	/* The shutdown makes the acceptor (and the client) see a hang-up. */
	shutdown(ch->ctl_fd, SHUT_RDWR);
	if (ch->hdr) {
		/* Wake client threads asleep on the channel so they notice. */
		atomic_fetch_add_explicit(&ch->hdr->cli_futex, 1, memory_order_relaxed);
		futex_wake_shared(&ch->hdr->cli_futex, 1 << 30);
	}
	if (ch->worker)
		worker_kick(ch->worker);
}

void srv_chan_drop(struct srv_chan *ch, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	srv_log(ch->srv, "dropping channel of pid %d uid %d: %s", (int)ch->peer.pid,
		(int)ch->peer.uid, why);
	atomic_fetch_add_explicit(&ch->srv->st.dropped, 1, memory_order_relaxed);
	/* Tell the client this is final, so that it does not resume the
	 * channel as it would after a crash.  Best effort and never
	 * blocking: a client that does not read its socket loses the
	 * message and reconnects, to be dropped again. */
	struct ctl_msg bye = { .status = -EPROTO };

	ctl_send(ch->ctl_fd, CTL_BYE, &bye, NULL, 0);	/* non-blocking socket */
	srv_chan_kill(ch);
}

/* ------------------------------------------------------------ grants */

void srv_grant_free(struct srv_grant *g)
{
	/* A kept descriptor is a checked memfd (acceptor.c): its close
	 * cannot block, so any thread may do it. */
	munmap(g->base, g->len);
	if (g->fd >= 0)
		close(g->fd);
	free(g);
}

void srv_chan_grant_gone(struct srv_chan *ch, const struct srv_grant *g)
{
	const struct aoki_worker_ops *ops = ch->srv->cfg.worker_ops;

	/* Not after ops->stop: the channels a stopping worker drops had
	 * their I/O finished by it. */
	if (ops && ops->grant_gone && ch->worker && ch->worker->ops_started)
		ops->grant_gone(ch->worker->ops_ctx, g->serial);
}
