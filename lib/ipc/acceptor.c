/* SPDX-License-Identifier: MIT */
/*
 * acceptor.c - a server's acceptor thread.  It owns the listening socket
 * and every control socket: it admits connections (credentials, the
 * access policy and the per-uid cap at accept time, a deadline for the
 * HELLO), validates each HELLO and the descriptors it carries, registers
 * grants within their budgets, notices hang-ups, and says goodbye to
 * every client when the server stops.  Requests never pass through it;
 * the workers (worker.c) serve them straight from channel memory.
 *
 * It never waits on a client: control sockets are non-blocking and a
 * message is reassembled from whatever each socket has (ctl_recv_some);
 * descriptors a client handed over are closed on the closer thread
 * (closer.h), since a close can block; and when descriptors run out it
 * stops watching the listening socket for a while instead of spinning on
 * a failing accept(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "closer.h"
#include "ctl.h"
#include "server.h"
#include "sys.h"

/* How long the acceptor stops accepting when descriptors run out. */
#define ACCEPT_BACKOFF_NS 100000000

static int default_policy(const struct aoki_peer *peer, void *arg)
{
	(void)arg;
	return peer->uid == 0 || peer->uid == geteuid() ? 0 : -EACCES;
}

static int reply(int fd, uint16_t type, int32_t status, uint32_t id, uint64_t arg)
{
	struct ctl_msg m = { .status = status, .id = id, .arg = arg };

	return ctl_send(fd, type, &m, NULL, 0);
}

/* ctl_in's hook for descriptors beyond the two a message may carry. */
static void discard_fd(void *arg, int fd)
{
	struct aoki_server *srv = arg;

	closer_push(srv->closer, fd);
}

/* Ready @ch's ctl_in for the next message; its descriptors are handled. */
static void ctl_in_reset(struct srv_chan *ch)
{
	struct ctl_in *in = &ch->ctl_in;

	memset(in, 0, sizeof(*in));
	in->discard = discard_fd;
	in->discard_arg = ch->srv;
}

static int attach(struct srv_chan *ch, int memfd, int notify_fd, int resume)
{
	struct chan_hdr copy;
	int64_t size;
	int r;

	/* Only the kinds the protocol needs, checked without asking a file
	 * system anything (sys.h): a sealed memfd, and a datagram socket
	 * that request.c signals with send(MSG_DONTWAIT). */
	size = sys_memfd_size(memfd, F_SEAL_SHRINK, sizeof(copy));
	if (size < 0)
		return (int)size;
	r = sys_unix_dgram(notify_fd);
	if (r < 0)
		return r;
	/* Validate a private copy: the client may change the header while
	 * we look at it, so the shared one is never trusted. */
	if (pread(memfd, &copy, sizeof(copy), 0) != (ssize_t)sizeof(copy))
		return -EIO;
	r = chan_geometry_check(&copy, (uint64_t)size, &ch->geom);
	if (r < 0)
		return r;
	memcpy(ch->client_id, copy.client_id, sizeof(ch->client_id));
	ch->mem = mmap(NULL, ch->geom.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ch->mem == MAP_FAILED) {
		ch->mem = NULL;
		return -errno;
	}
	ch->grants = calloc(ch->geom.max_grants ? ch->geom.max_grants : 1, sizeof(*ch->grants));
	ch->grant_len = calloc(ch->geom.max_grants ? ch->geom.max_grants : 1,
			       sizeof(*ch->grant_len));
	if (!ch->grants || !ch->grant_len)
		return -ENOMEM;
	ch->hdr = ch->mem;
	ch->slots = chan_slots(ch->mem, &ch->geom);
	ch->cq = chan_cq(ch->mem, &ch->geom);
	ch->notify_fd = notify_fd;
	ch->cq_tail = atomic_load_explicit(&ch->hdr->cq_tail, memory_order_relaxed);
	if (resume) {
		chan_resume_scan(ch);
	} else {
		ch->head = 0;
		atomic_store_explicit(&ch->hdr->srv_head, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&ch->hdr->srv_cpu, 0xffff, memory_order_relaxed);
	ch->published_cpu = 0xffff;
	atomic_store_explicit(&ch->hdr->epoch, ch->srv->epoch, memory_order_relaxed);
	return 0;
}

static int peer_creds(int fd, struct aoki_peer *peer)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	peer->pid = uc.pid;
	peer->uid = uc.uid;
	peer->gid = uc.gid;
	return 0;
}

static void refuse(struct srv_chan *ch, int r)
{
	struct aoki_server *srv = ch->srv;

	srv_log(srv, "refusing pid %d uid %d: %s", (int)ch->peer.pid, (int)ch->peer.uid,
		strerror(-r));
	atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
	reply(ch->ctl_fd, CTL_HELLO_ACK, r, 0, 0);
	srv_chan_kill(ch);
}

/* The channel is complete (and, when resumed, its grants restored). */
static void finish_attach(struct srv_chan *ch)
{
	struct aoki_server *srv = ch->srv;

	if (reply(ch->ctl_fd, CTL_HELLO_ACK, 0, 0, srv->epoch) < 0) {
		srv_chan_kill(ch);
		return;
	}
	ch->attached = 1;
	srv->nhandshakes--;
	admit_hs_remove(srv, ch);
	atomic_fetch_add_explicit(&srv->nchannels, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->st.accepted, 1, memory_order_relaxed);
	worker_adopt(srv, ch);
}

static void handle_hello(struct srv_chan *ch, const struct ctl_in *in, int *fds)
{
	struct aoki_server *srv = ch->srv;
	const struct ctl_msg *m = &in->msg;
	int resume = (m->arg & HELLO_F_RESUME) != 0;
	int r;

	/* (The access policy was asked at accept time.) */
	if (m->type != CTL_HELLO || in->nfds != 2 || in->extra ||
	    (m->arg & ~(uint64_t)HELLO_F_RESUME) || (!resume && m->id)) {
		r = -EBADMSG;
	} else if (atomic_load_explicit(&srv->nchannels, memory_order_relaxed) >=
		   srv->cfg.max_channels) {
		r = -EUSERS;
	} else {
		r = attach(ch, fds[0], fds[1], resume);
		if (r == 0)
			fds[1] = -1;	/* now owned by the channel */
		if (r == 0 && m->id > ch->geom.max_grants)
			r = -EINVAL;
	}
	if (r < 0) {
		refuse(ch, r);
		return;
	}
	if (resume)
		atomic_fetch_add_explicit(&srv->st.resumed, 1, memory_order_relaxed);
	ch->restore_left = m->id;
	if (!ch->restore_left)
		finish_attach(ch);
}

/* Serial numbers of grant mappings, unique for the process's life. */
static _Atomic uint64_t grant_serials = 1;

/*
 * Map the grant in @fd and enter it in the first free id, or, when
 * @fixed_id, at id m->id (a resumed channel's grants keep their ids).
 * Within the budgets (admit.h): -E2BIG, -ENOSPC past them.
 */
static int add_grant(struct srv_chan *ch, const struct ctl_msg *m, int fd, int fixed_id,
		     uint32_t *id)
{
	struct srv_grant *g;
	int64_t size;
	int prot = PROT_READ, r;

	if (!m->rights || (m->rights & ~(AOKI_GRANT_READ | AOKI_GRANT_WRITE)) ||
	    (fixed_id && m->id >= ch->geom.max_grants))
		return -EINVAL;
	/* Without F_SEAL_SHRINK the client could truncate the file under
	 * our mapping and kill us with SIGBUS. */
	size = sys_memfd_size(fd, F_SEAL_SHRINK, 1);
	if (size < 0)
		return (int)size;
	r = admit_grant_check(ch, (uint64_t)size);
	if (r < 0)
		return r;
	if (m->rights & AOKI_GRANT_WRITE)
		prot |= PROT_WRITE;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->base = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, 0);
	if (g->base == MAP_FAILED) {
		r = -errno;
		free(g);
		return r;
	}
	g->len = (size_t)size;
	g->rights = m->rights;
	g->fd = -1;
	if (ch->srv->cfg.keep_grant_fds) {
		/* A checked memfd: safe to close on any thread later. */
		g->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (g->fd < 0) {
			r = -errno;
			munmap(g->base, g->len);
			free(g);
			return r;
		}
	}
	/* Relaxed: only uniqueness matters, not order. */
	g->serial = atomic_fetch_add_explicit(&grant_serials, 1, memory_order_relaxed);
	for (uint32_t i = fixed_id ? m->id : 0; i < ch->geom.max_grants; i++) {
		struct srv_grant *empty = NULL;

		/* Release pairs with the worker's acquire load in
		 * aoki_req_grant: the grant is complete before it is seen.
		 * Only the acceptor fills a slot and only the worker empties
		 * one, so the CAS cannot lose a grant. */
		if (atomic_compare_exchange_strong_explicit(&ch->grants[i], &empty, g,
							    memory_order_release,
							    memory_order_relaxed)) {
			admit_grant_charge(ch, i, (uint64_t)size);
			*id = i;
			return 0;
		}
		if (fixed_id)
			break;	/* that id is taken: a duplicate */
	}
	srv_grant_free(g);
	return -ENOSPC;
}

/*
 * Take what the control socket has.  Never blocks: a client that sends a
 * message a byte at a time only keeps its own message pending, and every
 * other connection is served meanwhile.
 */
static void handle_control(struct srv_chan *ch)
{
	struct ctl_in *in = &ch->ctl_in;
	uint32_t id = 0;
	int r;

	r = ctl_recv_some(ch->ctl_fd, in);
	if (r == 0)
		return;		/* the rest of the message comes later */
	if (r < 0) {
		if (r == -EPROTO && !ch->attached)
			refuse(ch, r);	/* another version: say so, in ours */
		else if (r != -ECONNRESET && ch->attached)
			srv_chan_drop(ch, "bad control message: %s", strerror(-r));
		srv_chan_kill(ch);
	} else if (!ch->mem) {
		handle_hello(ch, in, in->fds);
	} else if (!ch->attached) {
		/* Resuming: the grants the channel had, under their ids. */
		if (in->msg.type != CTL_GRANT_ADD || in->nfds != 1 || in->extra)
			r = -EBADMSG;
		else
			r = add_grant(ch, &in->msg, in->fds[0], 1, &id);
		if (r < 0)
			refuse(ch, r);
		else if (--ch->restore_left == 0)
			finish_attach(ch);
	} else if (in->msg.type == CTL_GRANT_ADD && in->nfds == 1 && !in->extra) {
		r = add_grant(ch, &in->msg, in->fds[0], 0, &id);
		r = reply(ch->ctl_fd, CTL_GRANT_ACK, r, id, 0);
		/* A full socket: the client does not read its replies. */
		if (r == -EAGAIN)
			srv_chan_drop(ch, "control replies not read");
		else if (r < 0)
			srv_chan_kill(ch);
	} else {
		srv_chan_drop(ch, "unexpected control message type %u with %u fds",
			      in->msg.type, in->nfds + in->extra);
	}
	for (unsigned i = 0; i < in->nfds; i++)
		closer_push(ch->srv->closer, in->fds[i]);	/* skips the -1s */
	ctl_in_reset(ch);
}

/* The acceptor lets go of @ch: it is dead, or the server is going. */
static void acceptor_release(struct aoki_server *srv, struct srv_chan *ch)
{
	if (ch->all_prev)
		ch->all_prev->all_next = ch->all_next;
	else
		srv->all = ch->all_next;
	if (ch->all_next)
		ch->all_next->all_prev = ch->all_prev;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, ch->ctl_fd, NULL);
	if (ch->attached) {
		atomic_fetch_sub_explicit(&srv->nchannels, 1, memory_order_relaxed);
	} else {
		srv->nhandshakes--;
		admit_hs_remove(srv, ch);
	}
	admit_uid_put(srv, ch);
	admit_grant_forget(ch);
	/* A message cut short keeps its descriptors here. */
	for (unsigned i = 0; i < ch->ctl_in.nfds; i++)
		closer_push(srv->closer, ch->ctl_in.fds[i]);
	ch->ctl_in.nfds = 0;
	srv_chan_kill(ch);
	srv_chan_unref(ch);
}

void acceptor_release_all(struct aoki_server *srv)
{
	while (srv->all)
		acceptor_release(srv, srv->all);
}

/* Descriptors ran out (accept4: EMFILE...): a level-triggered listening
 * socket would wake us at once, again and again.  Stop watching it for
 * ACCEPT_BACKOFF_NS; connections wait in its backlog meanwhile. */
static void listen_pause(struct aoki_server *srv, int err)
{
	if (epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listen_fd, NULL) < 0)
		return;
	srv->listen_off_until = now_ns() + ACCEPT_BACKOFF_NS;
	srv_log(srv, "cannot accept (%s): not accepting for %d ms", strerror(err),
		ACCEPT_BACKOFF_NS / 1000000);
}

static void listen_resume(struct aoki_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, &ev) == 0)
		srv->listen_off_until = 0;
	else	/* (out of memory for epoll itself): try again later */
		srv->listen_off_until = now_ns() + ACCEPT_BACKOFF_NS;
}

static void accept_one(struct aoki_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	aoki_policy_fn policy = srv->cfg.policy ? srv->cfg.policy : default_policy;
	struct srv_chan *ch;
	int fd, r;

	/* Non-blocking: the acceptor must never wait on a client, also not
	 * when sending it a reply it does not read. */
	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			listen_pause(srv, errno);
		return;
	}
	/* Connections that never send their HELLO must not pile up (each
	 * holds a descriptor): as many may wait as channels may exist.  (A
	 * close of the socket is the closer's: the client may have queued
	 * descriptors in it already.) */
	if (srv->nhandshakes >= srv->cfg.max_channels) {
		srv_log(srv, "refusing a connection: %u handshakes pending", srv->nhandshakes);
		atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
		closer_push(srv->closer, fd);
		return;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch || peer_creds(fd, &ch->peer) < 0) {
		free(ch);
		closer_push(srv->closer, fd);
		return;
	}
	ch->srv = srv;
	ch->ctl_fd = fd;
	ch->notify_fd = -1;
	atomic_init(&ch->refs, 1);	/* the acceptor's */
	ctl_in_reset(ch);
	r = admit_uid_take(srv, ch);
	if (r < 0) {
		/* At its uid's cap: answer and close at once, holding no
		 * place for it.  (A client whose HELLO is not sent yet may
		 * see the close, -ECONNRESET, rather than the answer.) */
		srv_log(srv, "refusing pid %d uid %d: %s", (int)ch->peer.pid, (int)ch->peer.uid,
			strerror(-r));
		atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
		reply(fd, CTL_HELLO_ACK, r, 0, 0);
		srv_chan_unref(ch);
		return;
	}
	ev.data.ptr = ch;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		admit_uid_put(srv, ch);
		srv_chan_unref(ch);
		return;
	}
	ch->all_next = srv->all;
	if (srv->all)
		srv->all->all_prev = ch;
	srv->all = ch;
	srv->nhandshakes++;
	admit_hs_push(srv, ch, now_ns());
	/* The policy before anything else the client sends is looked at.
	 * A refused one is answered now and dropped at its next event (its
	 * HELLO arriving, a hang-up) or its deadline: closing at once could
	 * make the client's HELLO fail (EPIPE) before it reads why. */
	r = policy(&ch->peer, srv->cfg.policy_arg);
	if (r < 0) {
		ch->refused = r;
		srv_log(srv, "refusing pid %d uid %d: %s", (int)ch->peer.pid, (int)ch->peer.uid,
			strerror(-r));
		atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
		reply(fd, CTL_HELLO_ACK, r, 0, 0);
	}
}

/* Close the connections whose handshake is overdue. */
static void expire_handshakes(struct aoki_server *srv, int64_t now)
{
	struct srv_chan *ch;

	while ((ch = admit_hs_expired(srv, now))) {
		if (!ch->refused && !atomic_load_explicit(&ch->dead, memory_order_relaxed)) {
			srv_log(srv, "refusing pid %d uid %d: no HELLO within %u ms",
				(int)ch->peer.pid, (int)ch->peer.uid, srv->cfg.hello_timeout_ms);
			atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
			reply(ch->ctl_fd, CTL_HELLO_ACK, -ETIMEDOUT, 0, 0);
		}
		acceptor_release(srv, ch);
	}
}

/*
 * The server stops for good: tell every client before anything hangs up
 * (the workers shut the sockets down only after this), so that it fails
 * at once (-ESHUTDOWN) instead of reconnecting as after a crash.  The
 * sockets are non-blocking: a client that does not read loses the
 * message and sees a plain hang-up.
 */
static void say_goodbye(struct aoki_server *srv)
{
	struct ctl_msg bye = { .status = -ESHUTDOWN };

	for (struct srv_chan *ch = srv->all; ch; ch = ch->all_next) {
		if (atomic_load_explicit(&ch->dead, memory_order_relaxed) || ch->refused)
			continue;
		if (ch->attached)
			ctl_send(ch->ctl_fd, CTL_BYE, &bye, NULL, 0);
		else
			reply(ch->ctl_fd, CTL_HELLO_ACK, -ESHUTDOWN, 0, 0);
	}
}

void *acceptor_main(void *arg)
{
	struct aoki_server *srv = arg;
	struct epoll_event evs[32];

	/* Relaxed: aoki_server_stop sets bye before the eventfd write that
	 * ends our epoll_wait, and we test it again after every wake. */
	while (!atomic_load_explicit(&srv->bye, memory_order_relaxed)) {
		int n = epoll_wait(srv->epfd, evs, 32, admit_wait_ms(srv, now_ns()));
		int64_t now;

		for (int i = 0; i < n; i++) {
			struct srv_chan *ch = evs[i].data.ptr;

			if (ch == NULL) {
				accept_one(srv);
				continue;
			}
			if (ch == (void *)srv)	/* stop_fd */
				continue;
			if (!atomic_load_explicit(&ch->dead, memory_order_relaxed) &&
			    (evs[i].events & EPOLLIN)) {
				if (ch->refused)
					srv_chan_kill(ch);	/* it had its answer */
				else
					handle_control(ch);
			}
			if (atomic_load_explicit(&ch->dead, memory_order_relaxed) ||
			    (evs[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
				acceptor_release(srv, ch);
		}
		now = now_ns();
		expire_handshakes(srv, now);
		if (srv->listen_off_until && now >= srv->listen_off_until)
			listen_resume(srv);
	}
	say_goodbye(srv);
	return NULL;
}
