/* SPDX-License-Identifier: MIT */
/*
 * reconnect.c - a client outlives its server's crash.
 *
 * When the control socket hangs up without a goodbye (CTL_BYE), the server
 * died.  The channel memory is ours and holds every request's state, so
 * nothing is lost: we connect to the same port again (a supervisor
 * restarts the server on the same listening socket), hand over the same
 * memfd and grants with HELLO_F_RESUME, and the new server runs again what
 * the old one had taken but not completed (resume.c).  Threads waiting for
 * replies go on waiting; they see a delay, not an error.
 *
 * One thing the dead server may have left half done is ours to finish: an
 * async request it completed (slot DONE) but whose completion-ring entry it
 * had not yet published.  With the server gone we are the only writer, so
 * chan_repair_cq publishes such entries before the new server starts.
 * (A reply cut short in the slot is the new server's to finish: resume.c.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "sys.h"

/* Retry delays while the port refuses us (no supervisor holds it). */
#define RETRY_MIN_NS 1000000
#define RETRY_MAX_NS 50000000

/* Replaced hosted servers of a channel, released at aoki_close. */
struct host_retired {
	struct inproc_port *port;
	struct host_retired *next;
};

void chan_set_host(struct aoki_chan *ch, struct inproc_port *host)
{
	struct inproc_port *old = atomic_load_explicit(&ch->host, memory_order_relaxed);
	struct host_retired *r;

	if (old == host) {
		inproc_put(host);	/* the same server: one reference is enough */
		return;
	}
	if (old) {
		r = malloc(sizeof(*r));
		if (r) {
			r->port = old;
			r->next = ch->host_retired;
			ch->host_retired = r;
		}	/* else keep the reference forever: never freed under a driver */
	}
	/* Release: the port's contents are visible to a thread that loads
	 * the pointer (chan_drive). */
	atomic_store_explicit(&ch->host, host, memory_order_release);
}

void chan_put_hosts(struct aoki_chan *ch)
{
	inproc_put(atomic_load_explicit(&ch->host, memory_order_relaxed));
	while (ch->host_retired) {
		struct host_retired *r = ch->host_retired;

		ch->host_retired = r->next;
		inproc_put(r->port);
		free(r);
	}
}

int chan_open_port(const char *path, struct inproc_port **host)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	*host = inproc_lookup(path);
	if (*host)
		path = (*host)->sock;	/* hosted here: its private socket */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		inproc_put(*host);
		*host = NULL;
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		inproc_put(*host);
		*host = NULL;
		return r;
	}
	return fd;
}

int chan_hung_up(const struct aoki_chan *ch)
{
	struct pollfd p = { .fd = ch->ctl_fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
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

/* Wake every thread asleep on the channel, or waiting for one of its
 * slots, so that it sees ch->lost. */
static void wake_all(struct aoki_chan *ch)
{
	atomic_fetch_add_explicit(&ch->hdr->cli_futex, 1, memory_order_release);
	futex_wake_shared(&ch->hdr->cli_futex, INT_MAX);
	atomic_fetch_add_explicit(&ch->ring.freed, 1, memory_order_release);
	futex_wake_private(&ch->ring.freed, INT_MAX);
}

void chan_set_lost(struct aoki_chan *ch, int err)
{
	atomic_store_explicit(&ch->lost, err, memory_order_relaxed);
	wake_all(ch);
}

/* Did the server say goodbye before hanging up?  Returns the error the
 * channel fails with from now on - -ESHUTDOWN if the goodbye says the
 * server stopped for good, else -ECONNRESET (it dropped us) - or 0 if it
 * hung up without one (it died).  Reads what is left on the
 * socket; we hold ctl_lock, so no control round trip is in progress. */
static int said_bye(struct aoki_chan *ch)
{
	for (;;) {
		struct ctl_in in = { .got = 0 };
		int r = ctl_recv_some(ch->ctl_fd, &in);

		for (unsigned i = 0; i < in.nfds; i++)
			close(in.fds[i]);
		if (r <= 0)
			return 0;	/* no (more) complete messages */
		if (in.msg.type == CTL_BYE)
			return in.msg.status == -ESHUTDOWN ? -ESHUTDOWN : -ECONNRESET;
	}
}

/*
 * Publish on the completion ring every async reply that the dead server
 * completed but never reported: DONE, not consumed, and not among the
 * entries already published and not yet reaped.  Reapers are kept out
 * meanwhile (reap_enter), so "taken from the ring but not yet marked
 * consumed" cannot be mistaken for "never reported".
 */
static void chan_repair_cq(struct aoki_chan *ch)
{
	uint32_t nslots = ch->geom.nslots, head, tail, pending;
	uint8_t *listed = ch->repair_listed;

	/* seq_cst: see reap_enter. */
	atomic_store_explicit(&ch->reap_block, 1, memory_order_seq_cst);
	while (atomic_load_explicit(&ch->reapers, memory_order_seq_cst))
		sched_yield();
	head = atomic_load_explicit(&ch->ring.cq_head, memory_order_relaxed);
	/* Relaxed: the server that wrote it is dead and its stores were
	 * made visible by the hang-up we saw (a system call). */
	tail = atomic_load_explicit(&ch->hdr->cq_tail, memory_order_relaxed);
	pending = tail - head;
	if (pending > nslots)	/* a garbage tail: start the ring afresh */
		tail = head;
	memset(listed, 0, nslots);
	for (uint32_t k = head; k != tail; k++) {
		uint32_t idx = atomic_load_explicit(&ch->cq[k & ch->geom.mask], memory_order_relaxed);

		if (idx < nslots)
			listed[idx] = 1;
	}
	for (uint32_t i = 0; i < nslots; i++) {
		struct chan_slot *s = &ch->slots[i];
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

		if ((st & SLOT_KIND_MASK) != SLOT_DONE || !(s->flags & MSG_F_ASYNC) || listed[i] ||
		    atomic_load_explicit(&ch->ring.consumed[i], memory_order_relaxed) == st)
			continue;
		atomic_store_explicit(&ch->cq[tail & ch->geom.mask], i, memory_order_relaxed);
		tail++;
	}
	/* Release pairs with the reapers' acquire load of cq_tail. */
	atomic_store_explicit(&ch->hdr->cq_tail, tail, memory_order_release);
	/* Release: the repaired ring is visible to reapers let in again. */
	atomic_store_explicit(&ch->reap_block, 0, memory_order_release);
}

/*
 * Errors after which trying again cannot help, as the channel's lost
 * error: the server's policy refuses us now (-EACCES, -EPERM), it is
 * stopping for good (-ESHUTDOWN), our grants exceed its budget (-E2BIG),
 * or it does not accept what it accepted before (another version, our
 * header or grants refused): -EPROTO.  0 for errors worth another try.
 */
static int permanent(int err)
{
	if (err == -EACCES || err == -EPERM || err == -ESHUTDOWN)
		return err;
	if (err == -E2BIG)	/* our grants exceed its budget */
		return -E2BIG;
	if (err == -EPROTO || err == -EBADMSG || err == -EINVAL || err == -ENOSPC ||
	    err == -ENAMETOOLONG || err == -ENOTSOCK || err == -EBADF)
		return -EPROTO;
	return 0;
}

/* ctl_send on a non-blocking socket, waiting for room until @deadline. */
static int send_by(int fd, uint16_t type, const struct ctl_msg *m, const int *fds,
		   unsigned nfds, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = (deadline - now_ns()) / 1000000;
		int r = ctl_send(fd, type, m, fds, nfds);

		if (r != -EAGAIN)
			return r;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left < INT_MAX ? (int)left : INT_MAX) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Grant @i is being revoked and the server has done it: do not hand it
 * to the next server (its users are all complete). */
static int revoked_already(struct aoki_chan *ch, uint32_t i)
{
	uint64_t pos = ch->grants[i].revoke_pos;

	return pos && chan_request_done(ch, ch->grants[i].revoke_idx, pos - 1);
}

/*
 * One attempt: connect, HELLO with HELLO_F_RESUME, our grants under their
 * ids, and wait for the acknowledgement until @deadline.  On success the
 * new socket takes the old one's descriptor number.
 */
static int resume_once(struct aoki_chan *ch, int64_t deadline)
{
	struct ctl_msg m = { .arg = HELLO_F_RESUME };
	struct inproc_port *host;
	int fds[CTL_MAX_FDS];
	unsigned nfds = 0, ngrants = 0;
	int fd, r;
	int64_t left;

	for (uint32_t i = 0; i < ch->geom.max_grants; i++)
		ngrants += ch->grants[i].fd >= 0 && !revoked_already(ch, i);
	fd = chan_open_port(ch->port_path, &host);
	if (fd < 0)
		return fd;
	/* Non-blocking, so that a server that does not read (a supervisor
	 * holds the socket, nobody serves it yet) cannot keep us past the
	 * deadline when many grants fill the socket buffer. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		inproc_put(host);
		return r;
	}
	fds[0] = ch->memfd;
	fds[1] = ch->notify_peer;
	m.id = ngrants;
	r = send_by(fd, CTL_HELLO, &m, fds, 2, deadline);
	for (uint32_t i = 0; r == 0 && i < ch->geom.max_grants; i++) {
		struct ctl_msg g = { .id = i, .rights = ch->grants[i].rights };

		if (ch->grants[i].fd >= 0 && !revoked_already(ch, i))
			r = send_by(fd, CTL_GRANT_ADD, &g, &ch->grants[i].fd, 1, deadline);
	}
	left = (deadline - now_ns()) / 1000000;
	if (r == 0)
		r = ctl_recv(fd, &m, fds, &nfds, left > 0 ? (int)(left < INT_MAX ? left : INT_MAX) : 0);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == 0 && m.type != CTL_HELLO_ACK)
		r = -EBADMSG;
	if (r == 0)
		r = m.status;
	if (r == 0 && fcntl(fd, F_SETFL, 0) < 0)	/* grant round trips block */
		r = -errno;
	if (r == 0 && ch->epfd >= 0)
		epoll_ctl(ch->epfd, EPOLL_CTL_DEL, ch->ctl_fd, NULL);
	if (r == 0 && dup3(fd, ch->ctl_fd, O_CLOEXEC) < 0)
		r = -errno;
	if (r == 0 && ch->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLRDHUP, .data.fd = ch->ctl_fd };

		epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->ctl_fd, &ev);
	}
	close(fd);
	if (r == 0)
		chan_set_host(ch, host);
	else
		inproc_put(host);
	return r == -EPIPE ? -ECONNRESET : r;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int chan_recover_locked(struct aoki_chan *ch, uint32_t gen)
{
	int64_t deadline, delay = RETRY_MIN_NS;
	int r;

	if (chan_lost(ch) || atomic_load_explicit(&ch->conn_gen, memory_order_relaxed) != gen ||
	    !chan_hung_up(ch))
		return !chan_lost(ch);	/* somebody else did it, or all is well */
	r = said_bye(ch);
	if (r < 0 || ch->reconnect_ns < 0) {
		chan_set_lost(ch, r < 0 ? r : -ECONNRESET);
		return 0;
	}
	deadline = now_ns() + ch->reconnect_ns;
	chan_repair_cq(ch);
	for (;;) {
		r = resume_once(ch, deadline);
		if (r == 0)
			break;
		if (permanent(r)) {
			chan_set_lost(ch, permanent(r));
			return 0;
		}
		if (now_ns() >= deadline) {
			chan_set_lost(ch, -ETIMEDOUT);
			return 0;
		}
		/* The port refused us or the server died again during the
		 * handshake: wait a little, less than the time left. */
		if (delay > deadline - now_ns())
			delay = deadline - now_ns();
		if (delay > 0)
			sleep_ns(delay);
		if (delay < RETRY_MAX_NS)
			delay *= 2;
	}
	ch->reconnects++;
	/* Release pairs with the acquire in chan_check_alive. */
	atomic_fetch_add_explicit(&ch->conn_gen, 1, memory_order_release);
	/* Replies come from the new server; nobody needs waking.  But a
	 * request queued while nobody served may need the doorbell (or, for
	 * a server hosted here, a turn). */
	if (chan_drive(ch, 0) == -ESHUTDOWN)
		chan_kick(ch);
	return 1;
}

int chan_recover(struct aoki_chan *ch, uint32_t gen)
{
	int r;

	pthread_mutex_lock(&ch->ctl_lock);
	r = chan_recover_locked(ch, gen);
	pthread_mutex_unlock(&ch->ctl_lock);
	return r;
}
