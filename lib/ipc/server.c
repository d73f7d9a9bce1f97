/* SPDX-License-Identifier: MIT */
/*
 * server.c - a server's life cycle: create, start, stop, destroy.  The
 * top of the server half of libaoki, which reads downwards:
 *
 *   server.c    life cycle
 *   acceptor.c  the acceptor thread: admission (admit.c), grants
 *   worker.c    the workers' serving loop
 *   resume.c    a restarted server takes up a channel
 *   request.c   a request's dispatch, deferral and reply
 *   stats.c     the statistics request and counters
 *   req_api.c   what a handler reads of a request
 *   srv_chan.c  what every thread does to a channel (references, kill,
 *               drop) and the log
 *   ring.c, ctl.c, closer.c, sys.c   the protocol and system layers
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
#include <time.h>
#include <unistd.h>

#include "closer.h"
#include "inproc.h"
#include "ctl.h"
#include "server.h"
#include "sys.h"

#define DEFAULT_BATCH 16
#define DEFAULT_SPIN_NS 50000
#define DEFAULT_MAX_CHANNELS 1024

/* ------------------------------------------------------------ life cycle */

static int bind_port(struct aoki_server *srv, const char *port)
{
	char path[sizeof(srv->path)];
	struct stat sb;
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
	/* The file that names our socket, so that the end unlinks it only
	 * if it still does.  (Nobody replaces it meanwhile: it is live, and
	 * aoki_port_listen replaces only stale ones.) */
	if (stat(path, &sb) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		unlink(path);
		return r;
	}
	srv->path_dev = sb.st_dev;
	srv->path_ino = sb.st_ino;
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

	/* listen_fd 0 is "none" (a zeroed config), not stdin. */
	if (!cfg || !cfg->handler || (cfg->listen_fd <= 0 && !cfg->port))
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
	admit_defaults(&srv->cfg);
	srv->euid = geteuid();
	/* The epoch tells a client which server incarnation attached. */
	srv->epoch = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);

	if (cfg->listen_fd > 0) {
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

	if (!srv->closer) {
		r = closer_start(&srv->closer);
		if (r < 0)
			return r;
	}
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

	/* First the acceptor, which says goodbye to every client as it
	 * exits (acceptor.c); only then the workers, which shut the control
	 * sockets down as they drop their channels: the goodbye is queued
	 * before any client can see a hang-up.  Relaxed: the eventfd write
	 * that wakes the acceptor comes after it. */
	atomic_store_explicit(&srv->bye, 1, memory_order_relaxed);
	if (srv->stop_fd >= 0 && write(srv->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is far from overflow; nothing to do */
	}
	if (srv->acceptor_started) {
		pthread_join(srv->acceptor, NULL);
		srv->acceptor_started = 0;
	}
	/* Relaxed: each worker is woken by worker_kick (a release) after. */
	atomic_store_explicit(&srv->stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (!srv->workers[i].started)
			continue;
		worker_kick(&srv->workers[i]);
		pthread_join(srv->workers[i].thread, NULL);
		srv->workers[i].started = 0;
	}
	/* Extensions of workers that never ran (a failed start). */
	for (unsigned i = 0; i < srv->nworkers; i++)
		srv_stop_worker_ops(srv, i);
}

void aoki_server_destroy(struct aoki_server *srv)
{
	if (!srv)
		return;
	aoki_server_stop(srv);
	for (unsigned i = 0; srv->passive && i < srv->nworkers; i++)
		worker_release_passive(&srv->workers[i]);
	/* The threads are gone: drop the acceptor's references. */
	acceptor_release_all(srv);
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
		struct stat sb;

		/* Only if the path still names our socket: another server may
		 * have it now (ours was moved or removed meanwhile).  Before the
		 * close, so that it is never a stale file a rival replaces. */
		if (stat(srv->path, &sb) == 0 && sb.st_dev == srv->path_dev &&
		    sb.st_ino == srv->path_ino)
			unlink(srv->path);
		close(srv->listen_fd);
	}
	/* Last: the channels freed above queued their closes. */
	closer_finish(srv->closer);
	free(srv);
}

