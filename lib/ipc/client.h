/* SPDX-License-Identifier: MIT */
/* client.h - the client half of a channel (private to libaoki). */
#ifndef AOKI_CLIENT_H
#define AOKI_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "layout.h"

struct client_grant {
	void *mem;		/* mapping made by aoki_grant_create, or NULL */
	size_t size;
};

struct aoki_chan {
	/* Read-mostly. */
	struct chan_hdr *hdr;
	struct chan_slot *slots;
	_Atomic uint32_t *cq;
	struct chan_geom geom;
	int memfd;
	int ctl_fd;		/* control socket to the server */
	int notify_fd;		/* our end of the notify socketpair (epoll) */
	int64_t spin_ns;	/* the most a waiter spins */
	_Atomic int64_t spin_cur;	/* adaptive budget, <= spin_ns (wait.c) */
	int64_t timeout_ns;
	_Atomic int dead;	/* the server hung up or dropped us */

	/* Submission claims: a client-local counter, its own cache line so
	 * threads claiming positions do not slow down the shared header. */
	alignas(CACHELINE) _Atomic uint64_t tail;
	/* Completion-ring consumer index, client-local. */
	alignas(CACHELINE) _Atomic uint32_t cq_head;

	alignas(CACHELINE) pthread_mutex_t ctl_lock;	/* control socket, grants */
	struct client_grant *grants;
	/* Per slot: 1 when a timed-out call left it for the server to finish. */
	_Atomic uint8_t *orphan;
	/* Per slot: the DONE state word whose reply has been consumed.  Kept
	 * here, not as a FREE store into the slot, so that finishing a call
	 * writes no shared cache line (see slot_claimable in client.c). */
	_Atomic uint32_t *consumed;
};

/* Claim the next position and fill its slot; see client.c. */
int chan_submit_one(struct aoki_chan *ch, uint16_t op, const void *data, size_t len,
		    uint64_t tag, uint16_t flags, uint64_t *pos);

/* aoki_call without the reserved-opcode check, for library requests. */
int chan_call(struct aoki_chan *ch, uint16_t op, const void *req, size_t len,
	      void *rep, size_t rep_cap, size_t *rep_len);

/* Ring the server's doorbell if it published that it sleeps; returns 1
 * if it did (a wake-up system call was made). */
int chan_kick(struct aoki_chan *ch);

/*
 * chan_wait - wait until @ready(ch, arg) is true: spin for spin_ns, then
 * sleep on cli_futex in slices, checking the server is alive.
 * @kick_pending: the caller queued a request without ringing the doorbell
 * (chan_kick); chan_wait rings it after about a microsecond of polling,
 * and always before sleeping.  A polling server answers sooner, and the
 * store-load fence the doorbell check needs is then never paid.
 * Returns 0, -ETIMEDOUT (@deadline, absolute ns, passed; 0 = none), or
 * -ECONNRESET.
 */
int chan_wait(struct aoki_chan *ch, int (*ready)(struct aoki_chan *, void *),
	      void *arg, int64_t deadline, int kick_pending);

/* Mark the channel dead if the control socket has hung up; returns dead. */
int chan_check_alive(struct aoki_chan *ch);

#endif
