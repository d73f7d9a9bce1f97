/* SPDX-License-Identifier: MIT */
/*
 * host.c - hosting a server in this process: start (the compartment, the
 * passive server on a private socket, the registry entry that makes
 * aoki_connect find it) and stop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

void host_log(const struct aoki_host *h, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (h->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "aoki-host[%d]: %s\n", (int)getpid(), line);
}

/* Only this process may connect to the private socket. */
static int same_process(const struct aoki_peer *peer, void *arg)
{
	(void)arg;
	return peer->pid == getpid() ? 0 : -EACCES;
}

/* Split @config at white space into h->argv, after the service name. */
static int split_words(struct aoki_host *h, const char *config)
{
	size_t n = config ? strlen(config) : 0;
	unsigned cap = 2;
	char *s;

	h->words = malloc(n + 1);
	if (!h->words)
		return -ENOMEM;
	memcpy(h->words, config ? config : "", n + 1);
	for (size_t i = 0; i < n; i++)
		cap += config[i] == ' ' || config[i] == '\t' || config[i] == '\n';
	h->argv = calloc(cap + 1, sizeof(char *));
	if (!h->argv)
		return -ENOMEM;
	h->argv[h->argc++] = (char *)h->svc->name;
	for (s = strtok(h->words, " \t\n"); s; s = strtok(NULL, " \t\n"))
		h->argv[h->argc++] = s;
	h->argv[h->argc] = NULL;
	return 0;
}

static void host_free(struct aoki_host *h)
{
	if (h->wlock) {
		for (unsigned i = 0; i < h->nworkers; i++)
			pthread_mutex_destroy(&h->wlock[i]);
	}
	free(h->wlock);
	free(h->wowner);
	free(h->turn);
	pthread_mutex_destroy(&h->rebuild_lock);
	free(h->argv);
	free(h->words);
	free(h);
}

/* The registry's last reference (and every channel's) is gone. */
static void port_release(struct inproc_port *p)
{
	host_free((struct aoki_host *)p);
}

/* The private socket: a directory of our own, mode 0700. */
static int make_private_socket_path(struct aoki_host *h)
{
	int r = host_sockdir_make(h->dir, sizeof(h->dir));

	if (r < 0) {
		h->dir[0] = 0;
		return r;
	}
	snprintf(h->port.sock, sizeof(h->port.sock), "%s/s", h->dir);
	return 0;
}

static int start_server(struct aoki_host *h)
{
	struct aoki_server_config cfg = h->cfg;
	int r;

	r = aoki_port_path(h->cfg.port ? h->cfg.port : h->svc->name, h->port.path,
			   sizeof(h->port.path));
	if (r < 0)
		return r;
	r = make_private_socket_path(h);
	if (r < 0)
		return r;
	cfg.port = h->port.sock;
	cfg.listen_fd = -1;
	cfg.policy = same_process;
	cfg.policy_arg = NULL;
	cfg.quiet = h->quiet;
	r = aoki_server_create(&cfg, &h->srv);
	if (r < 0)
		return r;
	h->nworkers = srv_nworkers(h->srv);
	h->wlock = calloc(h->nworkers, sizeof(*h->wlock));
	h->wowner = calloc(h->nworkers, sizeof(*h->wowner));
	h->turn = calloc(h->nworkers, sizeof(*h->turn));
	if (!h->wlock || !h->wowner || !h->turn)
		return -ENOMEM;
	for (unsigned i = 0; i < h->nworkers; i++)
		pthread_mutex_init(&h->wlock[i], NULL);
	return srv_start_passive(h->srv);
}

int aoki_host_start_service(const struct aoki_host_service *svc, const char *config,
			    const struct aoki_host_opts *opts, struct aoki_host **out)
{
	struct aoki_host *h;
	int r;

	if (!svc || !svc->name || !svc->create || !out ||
	    (opts && (opts->flags & ~(AOKI_HOST_UNISOLATED | AOKI_HOST_QUIET))))
		return -EINVAL;
	/* Quiet: not even the one-line notice of the unprotected mode (a
	 * program that initialised compartments itself chose already). */
	r = aoki_domain_init(opts && (opts->flags & AOKI_HOST_QUIET) ? AOKI_DOMAIN_QUIET : 0);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->svc = svc;
	h->flags = opts ? opts->flags : 0;
	h->heap_size = opts ? opts->heap_size : 0;
	h->quiet = !!(h->flags & AOKI_HOST_QUIET);
	h->port.drive = host_drive;
	h->port.release = port_release;
	pthread_mutex_init(&h->rebuild_lock, NULL);
	snprintf(h->name, sizeof(h->name), "host:%s", svc->name);
	r = split_words(h, config);
	if (r == 0)
		r = host_build(h);
	if (r < 0) {
		host_free(h);
		return r;
	}
	r = start_server(h);
	if (r == 0)
		r = inproc_register(&h->port);
	if (r < 0) {
		if (r == -EEXIST)
			fprintf(stderr, "aoki-host: %s: a server is already hosted for %s\n",
				svc->name, h->port.path);
		atomic_store_explicit(&h->stopping, 1, memory_order_relaxed);
		host_teardown(h, 0);
		aoki_server_destroy(h->srv);
		if (h->dir[0])
			rmdir(h->dir);
		host_free(h);
		return r;
	}
	*out = h;
	return 0;
}

int aoki_host_start(const char *name, const char *config, const struct aoki_host_opts *opts,
		    struct aoki_host **out)
{
	const struct aoki_host_service *svc = name ? host_service_find(name) : NULL;

	if (!svc)
		return -ENOENT;
	return aoki_host_start_service(svc, config, opts, out);
}

void aoki_host_stop(struct aoki_host *h)
{
	if (!h)
		return;
	/* Ours until the end (the registry's goes now).  Relaxed: the
	 * caller owns @h; the final put orders everything. */
	atomic_fetch_add_explicit(&h->port.refs, 1, memory_order_relaxed);
	/* New connections go to the socket port again. */
	inproc_unregister(&h->port);
	/* No rebuild runs meanwhile (one that waits for this lock finds
	 * stopping set and gives up). */
	pthread_mutex_lock(&h->rebuild_lock);
	for (unsigned i = 0; i < h->nworkers; i++)
		pthread_mutex_lock(&h->wlock[i]);
	/* Release: drivers that take a worker lock after ours see it. */
	atomic_store_explicit(&h->stopping, 1, memory_order_release);
	/* Drain and stop the extensions inside the compartment, then the
	 * server says goodbye.  A broken incarnation (a fault whose rebuild
	 * had not begun) is drained as after a fault: answers dropped. */
	host_teardown(h, atomic_load_explicit(&h->broken, memory_order_relaxed));
	for (unsigned i = h->nworkers; i-- > 0;)
		pthread_mutex_unlock(&h->wlock[i]);
	pthread_mutex_unlock(&h->rebuild_lock);
	aoki_server_destroy(h->srv);
	h->srv = NULL;
	rmdir(h->dir);
	/* Channels still hold references to the port: freed with the last. */
	inproc_put(&h->port);
}

void *aoki_host_alloc(struct aoki_host *h, size_t size)
{
	void *p = NULL;

	if (!h || !h->dom)
		return calloc(1, size);
	if (aoki_domain_alloc(h->dom, size, &p) < 0)
		return NULL;
	memset(p, 0, size);
	return p;
}

void aoki_host_free(struct aoki_host *h, void *p)
{
	if (!p)
		return;
	if (!h || !h->dom)
		free(p);
	else
		aoki_domain_free(h->dom, p);
}

int aoki_host_place(struct aoki_host *h, void *addr, size_t len)
{
	return h && h->dom ? aoki_domain_place(h->dom, addr, len) : 0;
}

int aoki_host_unplace(struct aoki_host *h, void *addr, size_t len)
{
	return h && h->dom ? aoki_domain_unplace(h->dom, addr, len) : 0;
}

int aoki_host_get_stats(const struct aoki_host *h, struct aoki_host_stats *out)
{
	if (!h || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->recoveries = atomic_load_explicit(&h->recoveries, memory_order_relaxed);
	out->drain_failures = atomic_load_explicit(&h->drain_failures, memory_order_relaxed);
	out->isolated = h->dom && aoki_domain_isolated();
	return 0;
}
