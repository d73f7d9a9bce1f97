/* SPDX-License-Identifier: MIT */
/* client.h - the client half of a channel (private to libaoki). */
#ifndef AOKI_CLIENT_H
#define AOKI_CLIENT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "inproc.h"
#include "layout.h"
#include "ring.h"
#include "sys.h"

struct client_grant {
	void *mem;		/* mapping made by aoki_grant_create, or NULL */
	size_t size;
	int fd;			/* our copy of the memfd, to hand to a restarted
				 * server; -1 for a free entry */
	unsigned rights;
	uint64_t serial;	/* tells this record from a later one at the id */
	uint64_t revoke_pos;	/* 1 + ring position of its revoke, 0: none */
	uint32_t revoke_idx;	/* the revoke's slot */
};

/* Where a request went: its position and its slot. */
struct chan_ticket {
	uint64_t pos;
	uint32_t idx;
};

struct aoki_chan {
	/* Read-mostly. */
	struct chan_hdr *hdr;
	struct chan_slot *slots;
	_Atomic uint32_t *cq;
	struct chan_geom geom;
	int memfd;
	int ctl_fd;		/* control socket to the server; the number stays
				 * the same across reconnects (dup2) */
	int notify_fd;		/* our end of the notify socketpair */
	int notify_peer;	/* the server's end, kept for a restarted server */
	int epfd;		/* aoki_chan_eventfd: epoll over notify_fd and
				 * ctl_fd; -1 until asked for */
	int64_t spin_ns;	/* the most a waiter spins */
	_Atomic int64_t spin_cur;	/* adaptive budget, <= spin_ns (wait.c) */
	int64_t timeout_ns;
	int64_t reconnect_ns;	/* <0: never reconnect */
	/* 0 while the channel is usable; else the -errno that every call
	 * returns from now on (dropped, the server never came back, ...). */
	_Atomic int lost;
	_Atomic uint32_t conn_gen;	/* bumped by each reconnect */
	unsigned reconnects;	/* successful reconnects (under ctl_lock) */
	char port_path[108];
	/* The server hosted in this process that serves the channel (its
	 * turns run on our threads, inproc.h), or NULL for a remote one.
	 * Set at connect and by a reconnect (under ctl_lock); a replaced
	 * port keeps its reference on host_retired until aoki_close, so a
	 * thread still driving it never sees it freed.  Acquire/release
	 * with the reconnect that changes it. */
	_Atomic(struct inproc_port *) host;
	struct host_retired *host_retired;

	/* The client's private ring state (free slots, positions, cq head). */
	struct ring_client ring;
	/* Reapers inside aoki_reap, and the gate that keeps them out while a
	 * reconnect repairs the completion ring (reconnect.c). */
	_Atomic unsigned reapers;
	_Atomic int reap_block;

	alignas(CACHELINE) pthread_mutex_t ctl_lock;	/* control socket, grants */
	struct client_grant *grants;
	uint64_t grant_serial;	/* last serial handed out (under ctl_lock) */
	/* Scratch for the completion-ring repair (under ctl_lock). */
	uint8_t *repair_listed;
	uint32_t fork_gen;	/* aoki__fork_gen when the channel was made */
};

/*
 * chan_submit_one - queue one request (ring_claim + ring_publish) and
 * report where it went in *@t.  With @wait, a synchronous request waits
 * for a free slot while others hold them all, until the channel's
 * timeout (-ETIMEDOUT); -EAGAIN only when async requests hold every slot.
 * Without, -EAGAIN at once.  Does not ring the doorbell (chan_kick).
 */
int chan_submit_one(struct aoki_chan *ch, uint16_t op, const void *data, size_t len,
		    uint64_t tag, uint16_t flags, int wait, struct chan_ticket *t);

/* aoki_call without the reserved-opcode check, for library requests. */
int chan_call(struct aoki_chan *ch, uint16_t op, const void *req, size_t len,
	      void *rep, size_t rep_cap, size_t *rep_len);

/* The second half of chan_call: wait for the reply to the synchronous
 * request @t and consume it.  Returns its status, -EMSGSIZE if the reply
 * did not fit @rep_cap (as aoki_call), or a wait error. */
int chan_wait_reply(struct aoki_chan *ch, const struct chan_ticket *t, void *rep,
		    size_t rep_cap, size_t *rep_len);

/*
 * chan_kick - ring the server's doorbell if it published that it sleeps;
 * returns 1 if it did (a wake-up system call was made).
 */
static inline int chan_kick(struct aoki_chan *ch)
{
	return ring_doorbell(ch->hdr);
}

/*
 * chan_wait - wait until @ready(ch, arg) is true: spin for spin_ns, then
 * sleep on cli_futex in slices, checking the server is alive.
 * @kick_pending: the caller queued a request without ringing the doorbell
 * (chan_kick); chan_wait rings it after about a microsecond of polling,
 * and always before sleeping.  A polling server answers sooner, and the
 * store-load fence the doorbell check needs is then never paid.
 * A server that dies meanwhile is reconnected and waited for (see
 * chan_check_alive).  Returns 0, -ETIMEDOUT (@deadline, absolute ns,
 * passed; 0 = none), or the channel's loss error (ch->lost).
 */
int chan_wait(struct aoki_chan *ch, int (*ready)(struct aoki_chan *, void *),
	      void *arg, int64_t deadline, int kick_pending);

/*
 * chan_check_alive - is the server there?  Looks at the control socket
 * (one poll(2)); if it hung up, reconnects first (chan_recover), which
 * blocks until a restarted server has resumed the channel or the
 * reconnect deadline has passed.  Returns 1 if the channel is usable, 0
 * if it is lost (ch->lost says why).
 */
int chan_check_alive(struct aoki_chan *ch);

/* Has the control socket hung up (the server died, dropped us or
 * stopped)?  One poll(2), never blocking. */
int chan_hung_up(const struct aoki_chan *ch);

/*
 * chan_recover - the control socket of connection @gen hung up: unless
 * another thread has already done it, repair what the dead server left
 * half done, reconnect to the port and resume the channel (reconnect.c).
 * On failure sets ch->lost and wakes every waiter.  Blocking (takes
 * ctl_lock; up to reconnect_ns).  Returns 1 if usable, 0 if lost.
 */
int chan_recover(struct aoki_chan *ch, uint32_t gen);

/* The same, for a caller that already holds ctl_lock. */
int chan_recover_locked(struct aoki_chan *ch, uint32_t gen);

/* Mark the channel lost with @err (what every call returns from now on)
 * and wake every waiter.  Call with ctl_lock held. */
void chan_set_lost(struct aoki_chan *ch, int err);

/* Open a connection to the port at @path: to the server hosted in this
 * process for it if there is one (*@host set, with a reference), else to
 * the socket at @path (*@host NULL).  Returns the socket or -errno
 * (reconnect.c). */
int chan_open_port(const char *path, struct inproc_port **host);

/* Make @host (a reference, or NULL) the channel's hosted server; the one
 * it replaces is kept until aoki_close (reconnect.c).  Under ctl_lock or
 * before the channel is shared. */
void chan_set_host(struct aoki_chan *ch, struct inproc_port *host);

/* Drop the hosted-server references at aoki_close (reconnect.c). */
void chan_put_hosts(struct aoki_chan *ch);

/*
 * chan_drive - give the channel's hosted server a turn on this thread
 * (inproc.h); @block as for inproc_port.drive.  Returns > 0 if it did
 * work, 0 if none, -ESHUTDOWN when there is no hosted server (anymore).
 */
static inline int chan_drive(struct aoki_chan *ch, int block)
{
	/* Acquire pairs with the release store of chan_set_host. */
	struct inproc_port *p = atomic_load_explicit(&ch->host, memory_order_acquire);

	return p ? p->drive(p, block) : -ESHUTDOWN;
}

/* Register the fork handler once (client.c); 0 or -errno. */
int chan_fork_watch(void);

/* Has the request queued at @pos in slot @idx been completed?  The slot
 * shows QUEUED(pos) until then, and DONE(pos) - or, once the reply was
 * consumed and the slot reused, another position - after.  Acquire:
 * pairs with the server's release store of DONE. */
static inline int chan_request_done(const struct aoki_chan *ch, uint32_t idx, uint64_t pos)
{
	return atomic_load_explicit(&ch->slots[idx].state, memory_order_acquire) !=
	       slot_state(pos, SLOT_QUEUED);
}

/* Bumped in every child of fork() (pthread_atfork): a channel made
 * before the fork belongs to the parent. */
extern _Atomic uint32_t aoki__fork_gen;

/*
 * chan_lost - the channel's permanent error, or 0: -EBADFD in a child of
 * fork() (the channel is the parent's: its replies would go to whichever
 * process looks first), else what chan_set_lost recorded.  Relaxed: the
 * error is set once, under ctl_lock, before the waiters are woken; a
 * stale 0 costs one more pass.  Every entry point checks it first.
 */
static inline int chan_lost(const struct aoki_chan *ch)
{
	if (__builtin_expect(atomic_load_explicit(&aoki__fork_gen, memory_order_relaxed) !=
				     ch->fork_gen, 0))
		return -EBADFD;
	return atomic_load_explicit(&ch->lost, memory_order_relaxed);
}

#endif
