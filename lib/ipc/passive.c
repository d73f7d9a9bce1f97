/* SPDX-License-Identifier: MIT */
/*
 * passive.c - servers whose workers run on their clients' threads (the
 * in-process layout, inproc.h): start without worker threads, and the
 * recovery of an incarnation whose code faulted.  The serving turn
 * itself is srv_drive_worker in worker.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "closer.h"
#include "inproc.h"
#include "server.h"

int srv_start_passive(struct aoki_server *srv)
{
	int r;

	srv->passive = 1;
	if (!srv->closer) {
		r = closer_start(&srv->closer);
		if (r < 0)
			return r;
	}
	r = pthread_create(&srv->acceptor, NULL, acceptor_main, srv);
	if (r)
		return -r;
	srv->acceptor_started = 1;
	return 0;
}

unsigned srv_nworkers(const struct aoki_server *srv)
{
	return srv->nworkers;
}

void srv_abandon(struct aoki_server *srv)
{
	srv->abandon = 1;
}

/* Forget what the old incarnation had pending on @ch and find what it
 * took and did not answer (resume.c), to be run on the next turn. */
static void chan_restart(struct srv_chan *ch)
{
	/* Revokes parked behind deferred requests: they were taken and not
	 * answered, so the rerun runs them again, in order. */
	while (ch->parked) {
		struct aoki_req *r = ch->parked;

		ch->parked = r->next;
		free(r);
	}
	ch->ndeferred = 0;
	chan_resume_scan(ch);
}

void srv_resume_all(struct aoki_server *srv)
{
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		w->ops_started = 0;
		w->ops_ctx = NULL;
		for (unsigned k = 0; k < w->nchans; k++)
			chan_restart(w->chans[k]);
		w->rerun_pending = 1;
	}
	srv->abandon = 0;
}

void srv_set_args(struct aoki_server *srv, void *handler_arg, void *worker_arg)
{
	srv->cfg.handler_arg = handler_arg;
	srv->cfg.worker_arg = worker_arg;
}
