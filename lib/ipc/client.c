/* SPDX-License-Identifier: MIT */
/*
 * client.c - connecting a channel, call, submit and reap.
 *
 * Ring protocol (client side).  Positions are claimed from a client-local
 * counter.  The slot at position p is usable when it still holds lap
 * p - nslots, consumed (slot_claimable); the client writes the message and
 * then publishes slot_state(p, QUEUED).  The server replies in place with
 * slot_state(p, DONE), and for async requests also pushes the slot index on
 * the completion ring.  Whoever consumes the reply marks it consumed in
 * client-local memory (slot_consumed): no shared line is written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "sys.h"

#define DEFAULT_SLOTS 64
#define DEFAULT_GRANTS 16
#define DEFAULT_SPIN_NS 50000
#define DEFAULT_RECONNECT_NS 30000000000ll

int chan_open_port(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int make_channel_memory(struct aoki_chan *ch)
{
	const unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	void *mem;

	ch->memfd = memfd_create("aoki-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ch->memfd < 0)
		return -errno;
	if (ftruncate(ch->memfd, (off_t)ch->geom.total_size) < 0 ||
	    fcntl(ch->memfd, F_ADD_SEALS, seals) < 0)
		return -errno;
	mem = mmap(NULL, ch->geom.total_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ch->memfd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	ch->hdr = mem;
	ch->slots = chan_slots(mem, &ch->geom);
	ch->cq = chan_cq(mem, &ch->geom);
	chan_header_write(ch->hdr, &ch->geom);
	/* The channel's identity, for servers that keep per-client state
	 * across their own restarts (aoki_req_client).  Unguessable, so one
	 * client cannot pose as another of the same uid. */
	if (getrandom(ch->hdr->client_id, sizeof(ch->hdr->client_id), 0) !=
	    (ssize_t)sizeof(ch->hdr->client_id))
		return -EIO;
	/* Stamp each slot FREE as if consumed one lap before position 0
	 * (see slot_claimable).  Relaxed: the server sees this memory only
	 * after the HELLO system call that hands it over. */
	for (uint32_t i = 0; i < ch->geom.nslots; i++)
		atomic_store_explicit(&ch->slots[i].state,
				      slot_state((uint64_t)i - ch->geom.nslots, SLOT_FREE),
				      memory_order_relaxed);
	return 0;
}

static int hello(struct aoki_chan *ch)
{
	struct ctl_msg m = { 0 };
	int pair[2], fds[CTL_MAX_FDS];
	unsigned nfds;
	int r;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
		return -errno;
	ch->notify_fd = pair[0];
	ch->notify_peer = pair[1];
	fds[0] = ch->memfd;
	fds[1] = pair[1];
	r = ctl_send(ch->ctl_fd, CTL_HELLO, &m, fds, 2);
	if (r < 0)
		return r == -EPIPE ? -ECONNRESET : r;
	r = ctl_recv(ch->ctl_fd, &m, fds, &nfds, CTL_TIMEOUT_MS);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (r < 0)
		return r;
	if (m.type != CTL_HELLO_ACK)
		return -EBADMSG;
	return m.status;
}

int aoki_connect(const char *port, const struct aoki_chan_opts *opts,
		 struct aoki_chan **out)
{
	struct aoki_chan_opts o = { 0 };
	struct aoki_chan *ch;
	int r;

	if (opts)
		o = *opts;
	if (!o.slots)
		o.slots = DEFAULT_SLOTS;
	if (!o.max_grants)
		o.max_grants = DEFAULT_GRANTS;
	if (!o.spin_ns)
		o.spin_ns = DEFAULT_SPIN_NS;
	if (!o.reconnect_ns)
		o.reconnect_ns = DEFAULT_RECONNECT_NS;
	if (o.timeout_ns < 0)
		return -EINVAL;

	ch = aligned_alloc(CACHELINE, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	memset(ch, 0, sizeof(*ch));
	ch->memfd = ch->ctl_fd = ch->notify_fd = ch->notify_peer = ch->epfd = -1;
	ch->spin_ns = o.spin_ns;
	atomic_init(&ch->spin_cur, o.spin_ns > 0 ? o.spin_ns : 0);
	ch->timeout_ns = o.timeout_ns;
	ch->reconnect_ns = o.reconnect_ns;
	pthread_mutex_init(&ch->ctl_lock, NULL);

	r = chan_geometry_init(&ch->geom, o.slots, o.max_grants);
	if (r < 0)
		goto fail;
	r = aoki_port_path(port, ch->port_path, sizeof(ch->port_path));
	if (r < 0)
		goto fail;
	ch->grants = calloc(o.max_grants ? o.max_grants : 1, sizeof(*ch->grants));
	ch->orphan = calloc(o.slots, sizeof(*ch->orphan));
	ch->consumed = calloc(o.slots, sizeof(*ch->consumed));
	ch->repair_listed = calloc(o.slots, 1);
	r = -ENOMEM;
	if (!ch->grants || !ch->orphan || !ch->consumed || !ch->repair_listed)
		goto fail;
	for (unsigned i = 0; ch->grants && i < o.max_grants; i++)
		ch->grants[i].fd = -1;
	r = make_channel_memory(ch);
	if (r < 0)
		goto fail;
	r = chan_open_port(ch->port_path);
	if (r < 0)
		goto fail;
	ch->ctl_fd = r;
	r = hello(ch);
	if (r < 0)
		goto fail;
	*out = ch;
	return 0;
fail:
	aoki_close(ch);
	return r;
}

void aoki_close(struct aoki_chan *ch)
{
	if (!ch)
		return;
	if (ch->ctl_fd >= 0)
		close(ch->ctl_fd);
	if (ch->notify_fd >= 0)
		close(ch->notify_fd);
	if (ch->notify_peer >= 0)
		close(ch->notify_peer);
	if (ch->epfd >= 0)
		close(ch->epfd);
	if (ch->hdr)
		munmap(ch->hdr, ch->geom.total_size);
	if (ch->memfd >= 0)
		close(ch->memfd);
	for (unsigned i = 0; ch->grants && i < ch->geom.max_grants; i++) {
		if (ch->grants[i].mem)
			munmap(ch->grants[i].mem, ch->grants[i].size);
		if (ch->grants[i].fd >= 0)
			close(ch->grants[i].fd);
	}
	free(ch->grants);
	free(ch->orphan);
	free(ch->consumed);
	free(ch->repair_listed);
	pthread_mutex_destroy(&ch->ctl_lock);
	free(ch);
}

int chan_check_alive(struct aoki_chan *ch)
{
	/* Acquire pairs with the release increment after a reconnect: the
	 * new connection (ctl_fd's new socket) is in place for this gen. */
	uint32_t gen = atomic_load_explicit(&ch->conn_gen, memory_order_acquire);

	if (chan_lost(ch))
		return 0;
	if (chan_hung_up(ch))
		return chan_recover(ch, gen);
	return 1;
}

int chan_hung_up(const struct aoki_chan *ch)
{
	struct pollfd p = { .fd = ch->ctl_fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* Remember that nobody waits for this slot's reply any more. */
static void orphan_slot(struct aoki_chan *ch, uint32_t idx)
{
	atomic_store_explicit(&ch->orphan[idx], 1, memory_order_relaxed);
}

/*
 * Mark the reply in slot @idx, whose state word is @done, as consumed: the
 * slot may be claimed again one lap later.  Release pairs with the acquire
 * in slot_claimable: the consumer's reads of the reply happen before the
 * next owner's writes.  Client-local memory, so no shared line is written.
 */
static void slot_consumed(struct aoki_chan *ch, uint32_t idx, uint32_t done)
{
	atomic_store_explicit(&ch->consumed[idx], done, memory_order_release);
}

/*
 * Release an orphaned slot whose late reply has arrived, so the ring moves
 * on.  Returns 1 if it was released.  The exchange makes exactly one
 * submitter do it.
 */
static int reclaim_orphan(struct aoki_chan *ch, uint32_t idx, uint32_t st)
{
	if ((st & SLOT_KIND_MASK) != SLOT_DONE ||
	    !atomic_exchange_explicit(&ch->orphan[idx], 0, memory_order_relaxed))
		return 0;
	slot_consumed(ch, idx, st);
	return 1;
}

/*
 * May position @t claim its slot, whose state word is @st?  Yes if the slot
 * holds the previous lap's reply, DONE(t - nslots), and that reply has been
 * consumed; or, on the first lap, the FREE(t - nslots) that
 * make_channel_memory stamped.  Checking the position stamp, not only the
 * kind, keeps two threads out of one slot: while the owner of t has won the
 * tail CAS but not yet published QUEUED, the slot still shows the previous
 * lap, and a thread claiming t + nslots (others having taken the lap in
 * between) needs lap t's state, so it sees a full ring instead of
 * overwriting t's message.
 */
static int slot_claimable(struct aoki_chan *ch, uint64_t t, uint32_t st)
{
	uint64_t prev = t - ch->geom.nslots;

	if (st == slot_state(prev, SLOT_FREE))
		return 1;
	/* Acquire pairs with the release in slot_consumed. */
	return st == slot_state(prev, SLOT_DONE) &&
	       atomic_load_explicit(&ch->consumed[t & ch->geom.mask], memory_order_acquire) == st;
}

int chan_submit_one(struct aoki_chan *ch, uint16_t op, const void *data, size_t len,
		    uint64_t tag, uint16_t flags, uint64_t *pos)
{
	struct chan_slot *s;
	uint64_t t;
	uint32_t st;

	t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	for (;;) {
		s = &ch->slots[t & ch->geom.mask];
		/* Acquire pairs with the server's release store of DONE: its
		 * reply writes come before ours (and slot_claimable orders us
		 * after the consumer's reads). */
		st = atomic_load_explicit(&s->state, memory_order_acquire);
		if (!slot_claimable(ch, t, st)) {
			uint64_t now;

			if (reclaim_orphan(ch, t & ch->geom.mask, st))
				continue;
			/* A stale t (claimed by others since we loaded it)
			 * shows a later state: reload.  Relaxed, as the load
			 * above: the state re-checked next carries the
			 * ordering.  The slot at the current tail still in
			 * use means the ring is full. */
			now = atomic_load_explicit(&ch->tail, memory_order_relaxed);
			if (now == t)
				return -EAGAIN;
			t = now;
			continue;
		}
		/* Relaxed suffices on the claim itself: the slot's state,
		 * checked above, carries the ordering.  A failed CAS means
		 * another thread claimed t (lock-free) and reloads t. */
		if (atomic_compare_exchange_weak_explicit(&ch->tail, &t, t + 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	s->op = op;
	s->len = (uint16_t)len;
	s->tag = tag;
	s->seq = t;
	s->status = 0;
	s->flags = flags;
	s->cpu = sys_cpu();
	if (len)
		memcpy(s->payload, data, len);
	/* Release pairs with the server's acquire load of the state: the
	 * message fields above are visible before it sees QUEUED. */
	atomic_store_explicit(&s->state, slot_state(t, SLOT_QUEUED), memory_order_release);
	*pos = t;
	return 0;
}

int chan_kick(struct aoki_chan *ch)
{
	/* Store-load ordering (Dekker) with the server's sleep protocol:
	 * it stores srv_sleeping = 1, fences, then rechecks the slots; we
	 * stored QUEUED, fence, then check srv_sleeping.  At least one of
	 * us sees the other's store, so a request is never left unseen
	 * while the server sleeps. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&ch->hdr->srv_sleeping, memory_order_relaxed)) {
		atomic_store_explicit(&ch->hdr->srv_sleeping, 0, memory_order_relaxed);
		futex_wake_shared(&ch->hdr->srv_sleeping, 1);
		return 1;
	}
	return 0;
}

struct done_wait {
	struct chan_slot *slot;
	uint32_t want;
};

static int slot_done(struct aoki_chan *ch, void *arg)
{
	struct done_wait *w = arg;

	(void)ch;
	/* Acquire pairs with the server's release store of DONE: the reply
	 * fields are visible once we see it. */
	return atomic_load_explicit(&w->slot->state, memory_order_acquire) == w->want;
}

static int64_t deadline_for(const struct aoki_chan *ch)
{
	return ch->timeout_ns ? now_ns() + ch->timeout_ns : 0;
}

int aoki_call(struct aoki_chan *ch, uint16_t op, const void *req, size_t len,
	      void *rep, size_t rep_cap, size_t *rep_len)
{
	if (op >= AOKI_OP_RESERVED)
		return -EINVAL;
	return chan_call(ch, op, req, len, rep, rep_cap, rep_len);
}

int chan_call(struct aoki_chan *ch, uint16_t op, const void *req, size_t len,
	      void *rep, size_t rep_cap, size_t *rep_len)
{
	uint64_t pos;
	int r;

	if (len > AOKI_MSG_PAYLOAD)
		return -EMSGSIZE;
	if ((len && !req) || (rep_cap && !rep))
		return -EINVAL;
	if (chan_lost(ch))
		return chan_lost(ch);
	r = chan_submit_one(ch, op, req, len, 0, 0, &pos);
	if (r < 0)
		return r;
	return chan_wait_reply(ch, pos, rep, rep_cap, rep_len);
}

int chan_wait_reply(struct aoki_chan *ch, uint64_t pos, void *rep, size_t rep_cap,
		    size_t *rep_len)
{
	struct done_wait w;
	size_t n;
	int r, status;

	w.slot = &ch->slots[pos & ch->geom.mask];
	w.want = slot_state(pos, SLOT_DONE);
	r = chan_wait(ch, slot_done, &w, deadline_for(ch), 1);
	if (r < 0) {
		/* The server may still complete it; the next submitter to
		 * reach this slot releases it then (reclaim_orphan). */
		orphan_slot(ch, pos & ch->geom.mask);
		return r;
	}
	status = w.slot->status;
	n = w.slot->len;
	if (n > AOKI_MSG_PAYLOAD)	/* the server is trusted, but be safe */
		n = AOKI_MSG_PAYLOAD;
	if (n > rep_cap)
		n = rep_cap;
	if (n)
		memcpy(rep, w.slot->payload, n);
	if (rep_len)
		*rep_len = n;
	slot_consumed(ch, (uint32_t)(pos & ch->geom.mask), w.want);
	return status;
}

int aoki_submit(struct aoki_chan *ch, const struct aoki_sqe *sqes, unsigned n)
{
	unsigned i;
	uint64_t pos;
	int r = 0;

	if (chan_lost(ch))
		return chan_lost(ch);
	for (i = 0; i < n; i++) {
		const struct aoki_sqe *e = &sqes[i];

		if (e->len > AOKI_MSG_PAYLOAD || (e->len && !e->data) ||
		    e->reserved || e->op >= AOKI_OP_RESERVED) {
			r = -EINVAL;
			break;
		}
		r = chan_submit_one(ch, e->op, e->data, e->len, e->tag, MSG_F_ASYNC, &pos);
		if (r < 0)
			break;
	}
	if (i)
		chan_kick(ch);	/* one doorbell for the whole batch, at most */
	/* What was queued counts; a full ring is not an error (0). */
	return i ? (int)i : (r == -EAGAIN ? 0 : r);
}

static unsigned cq_pending(struct aoki_chan *ch)
{
	/* Acquire pairs with the server's release store of cq_tail: the
	 * entries and the slots they name are visible. */
	uint32_t t = atomic_load_explicit(&ch->hdr->cq_tail, memory_order_acquire);
	uint32_t n = t - atomic_load_explicit(&ch->cq_head, memory_order_relaxed);

	/* More than a ring's worth cannot be: the tail is garbage.  Reap
	 * nothing rather than walk up to 2^32 entries. */
	return n <= ch->geom.nslots ? n : 0;
}

static int cq_ready(struct aoki_chan *ch, void *arg)
{
	(void)arg;
	return cq_pending(ch) != 0;
}

/*
 * Enter and leave reap_some.  A reconnect repairs the completion ring only
 * with no reaper inside (chan_repair_cq), because a reaper between taking
 * an entry and marking its slot consumed looks, from outside, like a
 * completion that was never reported.  seq_cst on both sides (Dekker):
 * we count ourselves in, then look at the gate; the repair closes the
 * gate, then waits for the count to drop to zero.  Two locked
 * instructions per reap call, not per completion.
 */
static int reap_enter(struct aoki_chan *ch)
{
	atomic_fetch_add_explicit(&ch->reapers, 1, memory_order_seq_cst);
	if (!atomic_load_explicit(&ch->reap_block, memory_order_seq_cst))
		return 1;
	atomic_fetch_sub_explicit(&ch->reapers, 1, memory_order_release);
	return 0;
}

static void reap_leave(struct aoki_chan *ch)
{
	/* Release: our consumed-marks are visible to the repair that sees
	 * the count drop. */
	atomic_fetch_sub_explicit(&ch->reapers, 1, memory_order_release);
}

static unsigned reap_some(struct aoki_chan *ch, struct aoki_cqe *out, unsigned max)
{
	unsigned n = 0;

	if (!reap_enter(ch))
		return 0;	/* a reconnect is repairing the ring: wait */

	while (n < max) {
		uint32_t h = atomic_load_explicit(&ch->cq_head, memory_order_relaxed);
		/* Acquire: as in cq_pending. */
		uint32_t t = atomic_load_explicit(&ch->hdr->cq_tail, memory_order_acquire);
		uint32_t idx;

		if (h == t || t - h > ch->geom.nslots)
			break;	/* empty, or a garbage tail (see cq_pending) */
		idx = atomic_load_explicit(&ch->cq[h & ch->geom.mask], memory_order_relaxed);
		/* A reaper owns entry h once its CAS succeeds.  The entry
		 * cannot have been overwritten meanwhile: that needs more
		 * unreaped completions than there are slots.  Failure means
		 * another reaper took h (lock-free); retry. */
		if (!atomic_compare_exchange_weak_explicit(&ch->cq_head, &h, h + 1,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		if (idx > ch->geom.mask)
			continue;	/* a corrupt entry: nothing to free */

		struct chan_slot *s = &ch->slots[idx];
		/* Acquire pairs with the server's release store of DONE. */
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
		uint32_t len = s->len;

		out[n].tag = s->tag;
		out[n].status = s->status;
		out[n].len = len > AOKI_MSG_PAYLOAD ? AOKI_MSG_PAYLOAD : len;
		memcpy(out[n].payload, s->payload, out[n].len);
		slot_consumed(ch, idx, st);
		n++;
	}
	reap_leave(ch);
	return n;
}

int aoki_reap(struct aoki_chan *ch, struct aoki_cqe *cqes, unsigned max,
	      unsigned min_complete, int64_t timeout_ns)
{
	int64_t deadline = 0;
	unsigned n;
	int r;

	if (min_complete > max)
		return -EINVAL;
	n = reap_some(ch, cqes, max);
	if (n >= min_complete || timeout_ns == 0)
		return n || !chan_lost(ch) ? (int)n : chan_lost(ch);
	if (timeout_ns > 0)
		deadline = now_ns() + timeout_ns;
	else
		deadline = deadline_for(ch);
	while (n < min_complete) {
		r = chan_wait(ch, cq_ready, NULL, deadline, 0);
		if (r < 0) {
			n += reap_some(ch, cqes + n, max - n);
			if (n)
				return (int)n;
			if (chan_lost(ch))
				return chan_lost(ch);
			return r == -ETIMEDOUT ? 0 : r;
		}
		n += reap_some(ch, cqes + n, max - n);
	}
	return (int)n;
}

int aoki_chan_eventfd(struct aoki_chan *ch)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r = 0;

	pthread_mutex_lock(&ch->ctl_lock);
	if (ch->epfd < 0) {
		/* One descriptor for two events: completions (the notify
		 * socket) and the server's death (the control socket hangs
		 * up), so that an event loop asleep in epoll learns of a crash
		 * and calls aoki_chan_arm or aoki_reap, which reconnect. */
		r = epoll_create1(EPOLL_CLOEXEC);
		if (r >= 0) {
			ch->epfd = r;
			ev.data.fd = ch->notify_fd;
			r = epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->notify_fd, &ev);
			ev.events = EPOLLRDHUP;
			ev.data.fd = ch->ctl_fd;
			if (r == 0)
				r = epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->ctl_fd, &ev);
			if (r < 0) {
				r = -errno;
				close(ch->epfd);
				ch->epfd = -1;
			}
		} else {
			r = -errno;
		}
	}
	r = ch->epfd >= 0 ? ch->epfd : r;
	pthread_mutex_unlock(&ch->ctl_lock);
	return r;
}

int aoki_chan_arm(struct aoki_chan *ch)
{
	char buf[64];

	/* Drain notifications already delivered; they are level hints. */
	while (recv(ch->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	/* seq_cst RMW orders the arm before the CQ check below, pairing
	 * with the server's "publish completion; fence; load cli_wait". */
	atomic_fetch_or_explicit(&ch->hdr->cli_wait, CLI_WAIT_ARMED, memory_order_seq_cst);
	if (cq_pending(ch) != 0)
		return 1;
	/* About to sleep: make sure there is a server to wake us.  If it
	 * died, this reconnects (blocking) and the caller reaps what the
	 * restarted server completes. */
	return !chan_check_alive(ch) || cq_pending(ch) != 0;
}
