/* SPDX-License-Identifier: MIT */
/*
 * client.c - the client's entry points: connecting a channel, call,
 * submit and reap.  The ring protocol itself is ring.c's; waiting is
 * wait.c's; surviving a server's death is reconnect.c's.
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

#include "aoki/host.h"
#include "client.h"
#include "ctl.h"
#include "sys.h"

#define DEFAULT_SLOTS 64
#define DEFAULT_GRANTS 16
#define DEFAULT_SPIN_NS 50000
#define DEFAULT_RECONNECT_NS 30000000000ll

_Atomic uint32_t aoki__fork_gen;

static void forked_child(void)
{
	atomic_fetch_add_explicit(&aoki__fork_gen, 1, memory_order_relaxed);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_watch_err;

static void fork_watch_once(void)
{
	fork_watch_err = -pthread_atfork(NULL, NULL, forked_child);
}

int chan_fork_watch(void)
{
	pthread_once(&fork_once, fork_watch_once);
	return fork_watch_err;
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
	ring_format(mem, &ch->geom);
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
	struct inproc_port *host;
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
	/* Servers the environment asks this process to host (AOKI_HOST,
	 * aoki/host.h) exist before the first connection looks for them. */
	r = aoki_host_from_env();
	if (r < 0)
		return r;

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

	r = chan_fork_watch();
	if (r < 0)
		goto fail;
	ch->fork_gen = atomic_load_explicit(&aoki__fork_gen, memory_order_relaxed);
	r = chan_geometry_init(&ch->geom, o.slots, o.max_grants);
	if (r < 0)
		goto fail;
	r = ring_client_init(&ch->ring, &ch->geom);
	if (r < 0)
		goto fail;
	r = aoki_port_path(port, ch->port_path, sizeof(ch->port_path));
	if (r < 0)
		goto fail;
	ch->grants = calloc(o.max_grants ? o.max_grants : 1, sizeof(*ch->grants));
	ch->repair_listed = calloc(o.slots, 1);
	r = -ENOMEM;
	if (!ch->grants || !ch->repair_listed)
		goto fail;
	for (unsigned i = 0; ch->grants && i < o.max_grants; i++)
		ch->grants[i].fd = -1;
	r = make_channel_memory(ch);
	if (r < 0)
		goto fail;
	r = chan_open_port(ch->port_path, &host);
	if (r < 0)
		goto fail;
	chan_set_host(ch, host);
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
	chan_put_hosts(ch);
	ring_client_free(&ch->ring);
	free(ch->repair_listed);
	pthread_mutex_destroy(&ch->ctl_lock);
	free(ch);
}

/*
 * Wait for a free slot while synchronous calls or timed-out requests hold
 * them all: each of those frees its slot when its reply comes.  Sleeps on
 * the ring's private futex word, in slices, so that a lost channel and
 * the deadline are noticed.  Returns a slot index, -EAGAIN when async
 * requests hold every slot (only a reap frees one), -ETIMEDOUT, or the
 * channel's loss error.
 */
static int claim_waiting(struct aoki_chan *ch, int64_t deadline)
{
	int idx;

	for (unsigned tries = 0;; tries++) {
		uint32_t seen;
		int64_t slice = 1000000;

		idx = ring_claim(&ch->ring, &ch->geom, ch->hdr, 0);
		if (idx >= 0)
			return idx;
		if (atomic_load_explicit(&ch->ring.nasync, memory_order_relaxed) >= ch->geom.nslots)
			return -EAGAIN;
		if (chan_lost(ch))
			return chan_lost(ch);
		if (deadline) {
			int64_t left = deadline - now_ns();

			if (left <= 0)
				return -ETIMEDOUT;
			if (left < slice)
				slice = left;
		}
		if (tries < 16) {	/* a reply is often microseconds away */
			sched_yield();
			continue;
		}
		seen = ring_slot_wait_begin(&ch->ring);
		idx = ring_claim(&ch->ring, &ch->geom, ch->hdr, 0);
		if (idx < 0)
			futex_wait_private(&ch->ring.freed, seen, slice);
		ring_slot_wait_end(&ch->ring);
		if (idx >= 0)
			return idx;
	}
}

static int64_t deadline_for(const struct aoki_chan *ch)
{
	return ch->timeout_ns ? now_ns() + ch->timeout_ns : 0;
}

int chan_submit_one(struct aoki_chan *ch, uint16_t op, const void *data, size_t len,
		    uint64_t tag, uint16_t flags, int wait, struct chan_ticket *t)
{
	struct ring_req r = { .op = op, .flags = flags, .len = (uint16_t)len, .tag = tag,
			      .data = data };
	int idx;

	idx = ring_claim(&ch->ring, &ch->geom, ch->hdr, flags & MSG_F_ASYNC);
	if (idx == -EAGAIN && wait)
		idx = claim_waiting(ch, deadline_for(ch));
	if (idx < 0)
		return idx;
	r.cpu = sys_cpu();
	t->idx = (uint32_t)idx;
	t->pos = ring_publish_many(&ch->ring, &ch->geom, ch->hdr, &t->idx, &r, 1);
	return 0;
}

static int reply_ready(struct aoki_chan *ch, void *arg)
{
	const struct chan_ticket *t = arg;

	return ring_reply_ready(&ch->geom, ch->hdr, t->idx, t->pos);
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
	struct chan_ticket t;
	int r;

	if (len > AOKI_MSG_PAYLOAD)
		return -EMSGSIZE;
	if ((len && !req) || (rep_cap && !rep))
		return -EINVAL;
	if (chan_lost(ch))
		return chan_lost(ch);
	r = chan_submit_one(ch, op, req, len, 0, 0, 1, &t);
	if (r < 0)
		return r;
	return chan_wait_reply(ch, &t, rep, rep_cap, rep_len);
}

int chan_wait_reply(struct aoki_chan *ch, const struct chan_ticket *t, void *rep,
		    size_t rep_cap, size_t *rep_len)
{
	size_t n;
	int r, status;

	r = chan_wait(ch, reply_ready, (void *)t, deadline_for(ch), 1);
	if (r < 0) {
		/* The server may still complete it; a later claim frees the
		 * slot then (ring.c reclaim_orphans). */
		ring_orphan(&ch->ring, t->idx);
		return r;
	}
	status = ring_reply_copy(&ch->geom, ch->hdr, t->idx, rep, rep_cap, &n);
	if (rep_len)
		*rep_len = n;
	ring_release(&ch->ring, t->idx, slot_state(t->pos, SLOT_DONE));
	/* A reply longer than the caller's buffer: its first rep_cap bytes
	 * were copied, *rep_len says how long it was, and the status is
	 * replaced, so that a short buffer is never mistaken for a short
	 * reply.  (The request did run.)  No buffer at all means the caller
	 * does not want the payload. */
	return n > rep_cap && rep ? -EMSGSIZE : status;
}

/* Requests that aoki_submit claims and publishes together (one RMW of the
 * free map per word, one of the position counter). */
#define SUBMIT_RUN 64

int aoki_submit(struct aoki_chan *ch, const struct aoki_sqe *sqes, unsigned n)
{
	struct ring_req reqs[SUBMIT_RUN];
	uint32_t idx[SUBMIT_RUN];
	unsigned i = 0, k, got;
	uint16_t cpu;
	int r = 0;

	if (chan_lost(ch))
		return chan_lost(ch);
	cpu = sys_cpu();
	while (i < n && r == 0) {
		/* The next run, up to the first bad entry. */
		for (k = 0; k < SUBMIT_RUN && i + k < n; k++) {
			const struct aoki_sqe *e = &sqes[i + k];

			if (e->len > AOKI_MSG_PAYLOAD || (e->len && !e->data) ||
			    e->reserved || e->op >= AOKI_OP_RESERVED) {
				r = -EINVAL;
				break;
			}
			reqs[k] = (struct ring_req){ .op = e->op, .flags = MSG_F_ASYNC,
						     .len = (uint16_t)e->len, .cpu = cpu,
						     .tag = e->tag, .data = e->data };
		}
		got = k ? ring_claim_many(&ch->ring, &ch->geom, ch->hdr, 1, idx, k) : 0;
		if (got)
			ring_publish_many(&ch->ring, &ch->geom, ch->hdr, idx, reqs, got);
		i += got;
		if (got < k)
			r = -EAGAIN;	/* every slot is in use */
	}
	/* One doorbell for the whole batch, at most; a server hosted here
	 * takes the batch on this thread now instead. */
	if (i && chan_drive(ch, 0) == -ESHUTDOWN)
		chan_kick(ch);
	/* What was queued counts; a full ring is not an error (0). */
	return i ? (int)i : (r == -EAGAIN ? 0 : r);
}

static int cq_ready(struct aoki_chan *ch, void *arg)
{
	(void)arg;
	return ring_cq_pending(&ch->ring, &ch->geom, ch->hdr) != 0;
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
	unsigned n;

	if (!reap_enter(ch))
		return 0;	/* a reconnect is repairing the ring: wait */
	n = ring_reap(&ch->ring, &ch->geom, ch->hdr, out, max);
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
	if (chan_lost(ch) == -EBADFD)
		return -EBADFD;
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

	/* A server hosted in this process has no thread to publish its
	 * completions and wake us: give it turns here until one of our
	 * requests completes (none in flight: nothing will come). */
	if (atomic_load_explicit(&ch->host, memory_order_relaxed) &&
	    atomic_load_explicit(&ch->ring.nasync, memory_order_relaxed) &&
	    !ring_cq_pending(&ch->ring, &ch->geom, ch->hdr))
		chan_wait(ch, cq_ready, NULL, deadline_for(ch), 0);
	/* Drain notifications already delivered; they are level hints. */
	while (recv(ch->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	/* seq_cst RMW orders the arm before the CQ check below, pairing
	 * with the server's "publish completion; fence; load cli_wait". */
	atomic_fetch_or_explicit(&ch->hdr->cli_wait, CLI_WAIT_ARMED, memory_order_seq_cst);
	if (ring_cq_pending(&ch->ring, &ch->geom, ch->hdr) != 0)
		return 1;
	/* About to sleep: make sure there is a server to wake us.  If it
	 * died, this reconnects (blocking) and the caller reaps what the
	 * restarted server completes. */
	return !chan_check_alive(ch) || ring_cq_pending(&ch->ring, &ch->geom, ch->hdr) != 0;
}
