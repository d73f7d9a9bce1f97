/* SPDX-License-Identifier: MIT */
/*
 * server.c - a server's life cycle and its acceptor thread.
 *
 * The acceptor owns the listening socket and every control socket: it
 * admits channels (credentials, policy, header validation), registers
 * grants, and notices hang-ups.  Requests never pass through it; they
 * are served by the workers (worker.c) straight from channel memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "server.h"
#include "sys.h"

#define DEFAULT_BATCH 16
#define DEFAULT_SPIN_NS 50000
#define DEFAULT_MAX_CHANNELS 1024

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
	if (ch->mem)
		munmap(ch->mem, ch->geom.total_size);
	if (ch->ctl_fd >= 0)
		close(ch->ctl_fd);
	if (ch->notify_fd >= 0)
		close(ch->notify_fd);
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

/* ------------------------------------------------------------ admission */

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

/* Check that @fd is a sealed memfd of at least @min bytes; return its size. */
static int64_t sealed_size(int fd, uint64_t min)
{
	struct stat sb;
	int seals;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EBADF;
	/* Without F_SEAL_SHRINK the client could truncate the file under
	 * our mapping and kill us with SIGBUS. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPERM;
	if ((uint64_t)sb.st_size < min)
		return -ENOSPC;
	return sb.st_size;
}

static int attach(struct srv_chan *ch, int memfd, int notify_fd, int resume)
{
	struct chan_hdr copy;
	struct stat sb;
	int64_t size;
	int r;

	size = sealed_size(memfd, sizeof(copy));
	if (size < 0)
		return (int)size;
	if (fstat(notify_fd, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return -ENOTSOCK;
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
	if (!ch->grants)
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
	atomic_fetch_add_explicit(&srv->nchannels, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->st.accepted, 1, memory_order_relaxed);
	worker_adopt(srv, ch);
}

static void handle_hello(struct srv_chan *ch, const struct ctl_msg *m, int *fds, unsigned nfds)
{
	struct aoki_server *srv = ch->srv;
	aoki_policy_fn policy = srv->cfg.policy ? srv->cfg.policy : default_policy;
	int resume = (m->arg & HELLO_F_RESUME) != 0;
	int r;

	if (m->type != CTL_HELLO || nfds != 2 || (m->arg & ~(uint64_t)HELLO_F_RESUME) ||
	    (!resume && m->id)) {
		r = -EBADMSG;
	} else if ((r = policy(&ch->peer, srv->cfg.policy_arg)) < 0) {
		/* refused with the policy's own -errno */
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

void srv_grant_free(struct srv_grant *g)
{
	munmap(g->base, g->len);
	if (g->fd >= 0)
		close(g->fd);
	free(g);
}

/* Serial numbers of grant mappings, unique for the process's life. */
static _Atomic uint64_t grant_serials = 1;

/*
 * Map the grant in @fd and enter it in the first free id, or, when
 * @fixed_id, at id m->id (a resumed channel's grants keep their ids).
 */
static int add_grant(struct srv_chan *ch, const struct ctl_msg *m, int fd, int fixed_id,
		     uint32_t *id)
{
	struct srv_grant *g;
	int64_t size;
	int prot = PROT_READ;

	if (!m->rights || (m->rights & ~(AOKI_GRANT_READ | AOKI_GRANT_WRITE)) ||
	    (fixed_id && m->id >= ch->geom.max_grants))
		return -EINVAL;
	size = sealed_size(fd, 1);
	if (size < 0)
		return (int)size;
	if (m->rights & AOKI_GRANT_WRITE)
		prot |= PROT_WRITE;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->base = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, 0);
	if (g->base == MAP_FAILED) {
		int r = -errno;

		free(g);
		return r;
	}
	g->len = (size_t)size;
	g->rights = m->rights;
	g->fd = -1;
	if (ch->srv->cfg.keep_grant_fds) {
		g->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (g->fd < 0) {
			int r = -errno;

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
		handle_hello(ch, &in->msg, in->fds, in->nfds);
	} else if (!ch->attached) {
		/* Resuming: the grants the channel had, under their ids. */
		if (in->msg.type != CTL_GRANT_ADD || in->nfds != 1)
			r = -EBADMSG;
		else
			r = add_grant(ch, &in->msg, in->fds[0], 1, &id);
		if (r < 0)
			refuse(ch, r);
		else if (--ch->restore_left == 0)
			finish_attach(ch);
	} else if (in->msg.type == CTL_GRANT_ADD && in->nfds == 1) {
		r = add_grant(ch, &in->msg, in->fds[0], 0, &id);
		r = reply(ch->ctl_fd, CTL_GRANT_ACK, r, id, 0);
		/* A full socket: the client does not read its replies. */
		if (r == -EAGAIN)
			srv_chan_drop(ch, "control replies not read");
		else if (r < 0)
			srv_chan_kill(ch);
	} else {
		srv_chan_drop(ch, "unexpected control message type %u with %u fds",
			      in->msg.type, in->nfds);
	}
	for (unsigned i = 0; i < in->nfds; i++)
		if (in->fds[i] >= 0)
			close(in->fds[i]);
	memset(in, 0, sizeof(*in));
}

static void acceptor_release(struct aoki_server *srv, struct srv_chan *ch)
{
	if (ch->all_prev)
		ch->all_prev->all_next = ch->all_next;
	else
		srv->all = ch->all_next;
	if (ch->all_next)
		ch->all_next->all_prev = ch->all_prev;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, ch->ctl_fd, NULL);
	if (ch->attached)
		atomic_fetch_sub_explicit(&srv->nchannels, 1, memory_order_relaxed);
	else
		srv->nhandshakes--;
	srv_chan_kill(ch);
	srv_chan_unref(ch);
}

static void accept_one(struct aoki_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct srv_chan *ch;
	int fd;

	/* Non-blocking: the acceptor must never wait on a client, also not
	 * when sending it a reply it does not read. */
	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* Connections that never send their HELLO must not pile up (each
	 * holds a descriptor): as many may wait as channels may exist. */
	if (srv->nhandshakes >= srv->cfg.max_channels) {
		srv_log(srv, "refusing a connection: %u handshakes pending", srv->nhandshakes);
		atomic_fetch_add_explicit(&srv->st.refused, 1, memory_order_relaxed);
		close(fd);
		return;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch || peer_creds(fd, &ch->peer) < 0) {
		free(ch);
		close(fd);
		return;
	}
	ch->srv = srv;
	ch->ctl_fd = fd;
	ch->notify_fd = -1;
	atomic_init(&ch->refs, 1);	/* the acceptor's */
	ev.data.ptr = ch;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		srv_chan_unref(ch);
		return;
	}
	ch->all_next = srv->all;
	if (srv->all)
		srv->all->all_prev = ch;
	srv->all = ch;
	srv->nhandshakes++;
}

static void *acceptor_main(void *arg)
{
	struct aoki_server *srv = arg;
	struct epoll_event evs[32];

	while (!atomic_load_explicit(&srv->stop, memory_order_relaxed)) {
		int n = epoll_wait(srv->epfd, evs, 32, -1);

		for (int i = 0; i < n; i++) {
			struct srv_chan *ch = evs[i].data.ptr;

			if (ch == NULL) {
				accept_one(srv);
				continue;
			}
			if (ch == (void *)srv)	/* stop_fd */
				continue;
			if (!atomic_load_explicit(&ch->dead, memory_order_relaxed) &&
			    (evs[i].events & EPOLLIN))
				handle_control(ch);
			if (atomic_load_explicit(&ch->dead, memory_order_relaxed) ||
			    (evs[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
				acceptor_release(srv, ch);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ life cycle */

static int bind_port(struct aoki_server *srv, const char *port)
{
	char path[sizeof(srv->path)];
	char *slash;
	int fd;

	fd = aoki_port_path(port, path, sizeof(path));
	if (fd < 0)
		return fd;
	/* Create the run directory (one level) for the default locations. */
	slash = strrchr(path, '/');
	if (slash && slash != path) {
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = aoki_port_listen(path);
	if (fd < 0)
		return fd;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		unlink(path);
		return r;
	}
	memcpy(srv->path, path, sizeof(srv->path));
	srv->own_listen = 1;
	srv->listen_fd = fd;
	return 0;
}

int aoki_server_create(const struct aoki_server_config *cfg, struct aoki_server **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct aoki_server *srv;
	int r;

	if (!cfg || !cfg->handler || (cfg->listen_fd < 0 && !cfg->port))
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->listen_fd = srv->epfd = srv->stop_fd = -1;
	if (!srv->cfg.workers)
		srv->cfg.workers = 1;
	if (!srv->cfg.batch)
		srv->cfg.batch = DEFAULT_BATCH;
	if (!srv->cfg.spin_ns)
		srv->cfg.spin_ns = DEFAULT_SPIN_NS;
	if (!srv->cfg.max_channels)
		srv->cfg.max_channels = DEFAULT_MAX_CHANNELS;
	/* The epoch tells a client which server incarnation attached. */
	srv->epoch = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);

	if (cfg->listen_fd >= 0) {
		srv->listen_fd = cfg->listen_fd;
		r = fcntl(srv->listen_fd, F_SETFL, fcntl(srv->listen_fd, F_GETFL) | O_NONBLOCK);
		r = r < 0 ? -errno : 0;
	} else if ((r = aoki_listen_fd(cfg->port)) >= 0) {
		/* Socket activation: the supervisor holds the socket across
		 * our restarts, so we close our copy at the end but never
		 * unlink its path. */
		srv->listen_fd = r;
		srv->close_listen = 1;
		r = 0;
	} else if (r == -ENOENT) {
		r = bind_port(srv, cfg->port);
	}	/* else a socket was passed for the port but is unusable: say so */
	if (r < 0)
		goto fail;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = -errno;
	if (srv->epfd < 0 || srv->stop_fd < 0)
		goto fail;
	ev.data.ptr = NULL;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, &ev) < 0)
		goto fail_errno;
	ev.data.ptr = srv;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stop_fd, &ev) < 0)
		goto fail_errno;
	srv->nworkers = srv->cfg.workers;
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	r = -ENOMEM;
	if (!srv->workers)
		goto fail;
	for (unsigned i = 0; i < srv->nworkers; i++) {
		srv->workers[i].srv = srv;
		srv->workers[i].id = i;
		pthread_mutex_init(&srv->workers[i].inbox_lock, NULL);
	}
	*out = srv;
	return 0;
fail_errno:
	r = -errno;
fail:
	aoki_server_destroy(srv);
	return r;
}

int aoki_server_start(struct aoki_server *srv)
{
	const struct aoki_worker_ops *ops = srv->cfg.worker_ops;
	int r;

	for (unsigned i = 0; ops && ops->start && i < srv->nworkers; i++) {
		r = ops->start(srv->cfg.worker_arg, i, &srv->workers[i].ops_ctx);
		if (r < 0) {
			aoki_server_stop(srv);
			return r;
		}
		srv->workers[i].ops_started = 1;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		r = pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]);
		if (r)
			goto fail;
		srv->workers[i].started = 1;
	}
	r = pthread_create(&srv->acceptor, NULL, acceptor_main, srv);
	if (r)
		goto fail;
	srv->acceptor_started = 1;
	return 0;
fail:
	aoki_server_stop(srv);
	return -r;
}

void aoki_server_stop(struct aoki_server *srv)
{
	uint64_t one = 1;

	atomic_store_explicit(&srv->stop, 1, memory_order_relaxed);
	if (srv->stop_fd >= 0 && write(srv->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is far from overflow; nothing to do */
	}
	if (srv->acceptor_started) {
		pthread_join(srv->acceptor, NULL);
		srv->acceptor_started = 0;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (!srv->workers[i].started)
			continue;
		worker_kick(&srv->workers[i]);
		pthread_join(srv->workers[i].thread, NULL);
		srv->workers[i].started = 0;
	}
	/* Extensions of workers that never ran (a failed start). */
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].ops_started && srv->cfg.worker_ops->stop)
			srv->cfg.worker_ops->stop(srv->workers[i].ops_ctx);
		srv->workers[i].ops_started = 0;
	}
}

void aoki_server_destroy(struct aoki_server *srv)
{
	if (!srv)
		return;
	aoki_server_stop(srv);
	/* The threads are gone: drop the acceptor's references. */
	while (srv->all)
		acceptor_release(srv, srv->all);
	for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		free(w->inbox);
		free(w->chans);
		pthread_mutex_destroy(&w->inbox_lock);
	}
	free(srv->workers);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->listen_fd >= 0 && srv->close_listen)
		close(srv->listen_fd);
	if (srv->listen_fd >= 0 && srv->own_listen) {
		unlink(srv->path);
		close(srv->listen_fd);
	}
	free(srv);
}

void aoki_server_get_stats(struct aoki_server *srv, struct aoki_server_stats *out)
{
	out->requests = 0;
	for (unsigned i = 0; i < srv->nworkers; i++)
		out->requests += atomic_load_explicit(&srv->workers[i].requests,
						      memory_order_relaxed);
	out->channels = atomic_load_explicit(&srv->nchannels, memory_order_relaxed);
	out->accepted = atomic_load_explicit(&srv->st.accepted, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&srv->st.dropped, memory_order_relaxed);
	out->refused = atomic_load_explicit(&srv->st.refused, memory_order_relaxed);
	out->sleeps = atomic_load_explicit(&srv->st.sleeps, memory_order_relaxed);
	out->resumed = atomic_load_explicit(&srv->st.resumed, memory_order_relaxed);
	out->rerun = atomic_load_explicit(&srv->st.rerun, memory_order_relaxed);
}
