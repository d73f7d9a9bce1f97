/* SPDX-License-Identifier: MIT */
/* server.h - the server half of libaoki (private). */
#ifndef AOKI_SERVER_H
#define AOKI_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "admit.h"
#include "ctl.h"
#include "layout.h"
#include "ring.h"
#include "sys.h"

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
	/* Admission (acceptor only; admit.h). */
	struct srv_chan *hs_prev, *hs_next;	/* handshakes, oldest first */
	int64_t hello_deadline;	/* handshake to be done by (monotonic ns) */
	int refused;		/* -errno answered at accept: drop it next */
	struct uid_slot *uid;	/* counted against this uid; NULL: not counted */
	uint64_t *grant_len;	/* bytes of the grant entered at each id; 0 none */
	uint64_t grant_bytes;	/* the sum of grant_len */
	unsigned ngrants;	/* its nonzero entries */

	/* Worker-only state. */
	uint64_t head;		/* next position to take */
	uint64_t rerun_from;	/* resume: positions in [rerun_from, head) */
	uint64_t rerun_until;	/* that a previous server took: run again */
	uint32_t cq_tail;	/* private copy of the CQ producer index */
	int cq_dirty;		/* completions pushed but tail not published */
	unsigned spurious;	/* empty wake-ups since spurious_since */
	int64_t spurious_since;	/* start of the doorbell-rate window */
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
	int rerun_pending;	/* passive: run taken requests again (inproc.h) */
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
	int passive;		/* workers run on client threads (inproc.h) */
	/* In-process recovery (inproc.h): deferred requests that complete
	 * are dropped, not answered.  Written and read by the thread that
	 * holds every worker. */
	int abandon;
	_Atomic unsigned nchannels;
	struct srv_chan *all;	/* every channel the acceptor watches */
	unsigned nhandshakes;	/* of those, not yet attached (acceptor only) */
	/* Admission and limits (acceptor only unless noted; admit.h). */
	uid_t euid;		/* the server's uid: not capped per uid */
	_Atomic int bye;	/* stopping: the acceptor says goodbye, exits */
	struct closer *closer;	/* closes client-supplied descriptors */
	struct srv_chan *hs_first, *hs_last;	/* handshakes by deadline */
	struct uid_slot *uids[ADMIT_UID_BUCKETS];
	uint64_t grant_bytes;	/* grants of all channels, as recorded */
	unsigned ngrants;
	int64_t listen_off_until;	/* descriptors ran out: not accepting
					 * until then (monotonic ns); 0: accepting */
	dev_t path_dev;		/* the socket file bound at path (own_listen) */
	ino_t path_ino;
	struct {
		_Atomic uint64_t accepted, dropped, refused, sleeps, resumed, rerun;
	} st;
};

struct aoki_req {
	struct srv_chan *ch;
	uint64_t pos;		/* its submission position */
	uint32_t idx;		/* its slot */
	struct ring_msg msg;	/* private copy of the request */
	int32_t status;
	uint16_t rep_len;
	uint8_t deferred;
	uint8_t rerun;		/* taken by a previous incarnation (resume) */
	struct aoki_dedup *dedup;	/* set by aoki_dedup_begin; NULL when taken */
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

/*
 * req_run - take the request at position @pos out of slot @idx (ring_take)
 * and run it: handler or library op, then publish its reply unless it was
 * deferred.  @rerun as for aoki_req_rerun.  Returns the submitter's CPU
 * hint from the message.
 */
uint16_t req_run(struct srv_chan *ch, uint32_t idx, uint64_t pos, int rerun);

/* acceptor.c: the acceptor thread (@arg: the server); once it and the
 * workers have exited, acceptor_release_all drops every channel it
 * still holds. */
void *acceptor_main(void *arg);
void acceptor_release_all(struct aoki_server *srv);

/* Hand a freshly attached channel to the least loaded worker. */
void worker_adopt(struct aoki_server *srv, struct srv_chan *ch);
void *worker_main(void *arg);
/* A passive worker's end (inproc.h): kill and drop its channels, as
 * worker_main does on exit.  Server destroy only. */
void worker_release_passive(struct worker *w);
/* Wake worker @w (a new channel, a channel to drop, stop).  Release
 * pairs with the acquire load of wake in worker_main. */
static inline void worker_kick(struct worker *w)
{
	atomic_fetch_add_explicit(&w->wake, 1, memory_order_release);
	futex_wake_shared(&w->wake, 1);
}
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

/* stats.c: answer OP_SERVER_STATS (the counters, the server's own figures
 * from cfg.stats_fn, into the client's grant); sets the status. */
void srv_stats_reply(struct aoki_req *req);
/* stats.c: the process fields of @out (pid, start, uptime, epoch, workers). */
void srv_stats_identity(const struct aoki_server *srv, struct aoki_server_stats *out);

/* Tell the worker's extension that grant @g of @ch goes away
 * (srv_chan.c). */
void srv_chan_grant_gone(struct srv_chan *ch, const struct srv_grant *g);

void srv_log(const struct aoki_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
