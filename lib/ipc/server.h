/* SPDX-License-Identifier: MIT */
/* server.h - the server half of libaoki (private). */
#ifndef AOKI_SERVER_H
#define AOKI_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ctl.h"
#include "layout.h"

struct srv_grant {
	void *base;
	size_t len;
	unsigned rights;
	uint64_t serial;	/* aoki_grant_info.serial */
	int fd;			/* the memfd, kept with cfg.keep_grant_fds; else -1 */
};

/* Unmap and free a grant (and close its kept memfd). */
void srv_grant_free(struct srv_grant *g);

/* A channel as the server sees it.  Owned jointly by the acceptor (while
 * its control socket is watched) and one worker; freed on the last ref. */
struct srv_chan {
	struct aoki_server *srv;
	struct worker *worker;
	int ctl_fd;
	int notify_fd;
	void *mem;
	struct chan_hdr *hdr;
	struct chan_slot *slots;
	_Atomic uint32_t *cq;
	struct chan_geom geom;	/* validated private copy: never re-read */
	struct aoki_peer peer;
	uint8_t client_id[AOKI_CLIENT_ID_LEN];	/* private copy, from attach */
	_Atomic int refs;
	_Atomic int dead;	/* hung up, dropped, or server stopping */
	int attached;		/* HELLO done and adopted (acceptor only) */
	unsigned restore_left;	/* resume: grants still to receive (acceptor) */
	struct ctl_in ctl_in;	/* control message being received (acceptor) */
	struct srv_chan *all_prev, *all_next;	/* acceptor's list */
	_Atomic(struct srv_grant *) *grants;

	/* Worker-only state. */
	uint64_t head;		/* next position to take */
	uint64_t rerun_from;	/* resume: positions in [rerun_from, head) */
	uint64_t rerun_until;	/* that a previous server took: run again */
	uint32_t cq_tail;	/* private copy of the CQ producer index */
	int cq_dirty;		/* completions pushed but tail not published */
	unsigned spurious;	/* wake-ups with nothing to do, in a row */
	unsigned ndeferred;	/* deferred requests not yet completed */
	struct aoki_req *parked;	/* revokes waiting for ndeferred == 0 */
	uint16_t cli_cpu;	/* last submitter CPU seen */
	uint16_t published_cpu;
};

struct worker {
	struct aoki_server *srv;
	pthread_t thread;
	unsigned id;
	int started;
	_Atomic uint32_t wake;	/* bumped to wake the worker (new channel, stop) */
	_Atomic unsigned load;	/* channels owned, for placement */
	_Atomic uint64_t requests;	/* requests completed (written by this worker only) */
	_Atomic int inbox_pending;	/* inbox non-empty: worth taking the lock */
	pthread_mutex_t inbox_lock;
	struct srv_chan **inbox;
	unsigned ninbox, inbox_cap;
	struct srv_chan **chans;	/* worker-only */
	unsigned nchans, chans_cap;
	unsigned rr;		/* round-robin start */
	uint16_t cpu;
	void *ops_ctx;		/* from cfg.worker_ops->start */
	int ops_started;
};

struct aoki_server {
	struct aoki_server_config cfg;
	int listen_fd;
	int own_listen;		/* we bound it: unlink the path at the end */
	int close_listen;	/* socket activation: close, do not unlink */
	char path[108];
	int epfd;
	int stop_fd;		/* eventfd that wakes the acceptor */
	_Atomic int stop;
	uint32_t epoch;
	pthread_t acceptor;
	int acceptor_started;
	struct worker *workers;
	unsigned nworkers;
	_Atomic unsigned nchannels;
	struct srv_chan *all;	/* every channel the acceptor watches */
	unsigned nhandshakes;	/* of those, not yet attached (acceptor only) */
	struct {
		_Atomic uint64_t accepted, dropped, refused, sleeps, resumed, rerun;
	} st;
};

struct aoki_req {
	struct srv_chan *ch;
	uint64_t pos;
	uint32_t idx;
	uint16_t op, flags, len, cpu;
	uint64_t tag, seq;
	uint8_t data[AOKI_MSG_PAYLOAD];
	int32_t status;
	uint16_t rep_len;
	uint8_t deferred;
	uint8_t rerun;		/* taken by a previous incarnation (resume) */
	struct aoki_req *next;	/* parked list */
	uint8_t rep[AOKI_MSG_PAYLOAD];
};

void srv_chan_ref(struct srv_chan *ch);
void srv_chan_unref(struct srv_chan *ch);

/* Drop a channel for a protocol violation, logging @why. */
void srv_chan_drop(struct srv_chan *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Mark dead and wake everybody who might wait on it. */
void srv_chan_kill(struct srv_chan *ch);

/*
 * Resume (resume.c).  chan_resume_scan: on attaching a channel that lived
 * before, take up the dead server's position and find the requests it had
 * taken but not completed.  chan_rerun: run those again, in order, from
 * the worker that adopted the channel.
 */
void chan_resume_scan(struct srv_chan *ch);
void chan_rerun(struct worker *w, struct srv_chan *ch);

/* Take the request at position @pos (slot @s, whose state the caller
 * loaded as QUEUED(pos)) and run it; @rerun as for aoki_req_rerun. */
void worker_take(struct worker *w, struct srv_chan *ch, struct chan_slot *s,
		 uint64_t pos, int rerun);

/* Hand a freshly attached channel to the least loaded worker. */
void worker_adopt(struct aoki_server *srv, struct srv_chan *ch);
void *worker_main(void *arg);
void worker_kick(struct worker *w);
/* Serve up to @budget requests of @ch; returns how many were taken.
 * Drops the channel on a protocol violation.  (Exported for fuzz/.) */
unsigned worker_serve(struct worker *w, struct srv_chan *ch, unsigned budget);

/* Write a request's reply into its slot and queue its completion. */
void req_publish(struct aoki_req *req);
/* Publish the CQ tail and wake the client if it sleeps or is armed. */
void chan_notify(struct srv_chan *ch);
/* After each request of a batch: if a client already sleeps, publish and
 * wake it now, so slow handlers do not hold completions back. */
void chan_publish_early(struct srv_chan *ch);
/* Run one request taken from the ring (handler or library op). */
void req_dispatch(struct aoki_req *req);

/* Tell the worker's extension that grant @g of @ch goes away. */
void worker_grant_gone(struct srv_chan *ch, const struct srv_grant *g);

void srv_log(const struct aoki_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
