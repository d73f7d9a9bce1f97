/* SPDX-License-Identifier: MIT */
/*
 * build.c - one incarnation of a hosted server: its compartment (heap,
 * stacks, the service's state, its io_uring) and what the service opened,
 * built from the configuration words and torn down after a fault or at
 * stop.  The server object (lib/ipc: channels, grants, positions) is not
 * part of it: it lives on across incarnations, as the channel memory
 * does across server processes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define DEFAULT_HEAP (64u << 20)

long host_call(struct aoki_host *h, aoki_domain_fn fn, void *arg)
{
	return h->dom ? aoki_domain_call(h->dom, fn, arg) : fn(arg);
}

struct create_args {
	struct aoki_host *h;
	struct aoki_server_config cfg;
	char port[sizeof(((struct aoki_host *)0)->cfg_port)];
	char err[256];
};

static long create_in(void *p)
{
	struct create_args *a = p;
	long r;

	/* The service parses its words like a command line: getopt starts
	 * afresh (a rebuild parses them again). */
	optind = 0;
	r = a->h->svc->create(a->h, a->h->argc, a->h->argv, &a->cfg, a->err, sizeof(a->err));
	/* The port's name may be in the compartment's heap (fsd copies its
	 * options there), out of the host's reach: copied out here. */
	if (r >= 0 && a->cfg.port &&
	    snprintf(a->port, sizeof(a->port), "%s", a->cfg.port) >= (int)sizeof(a->port)) {
		snprintf(a->err, sizeof(a->err), "port name too long");
		r = -ENAMETOOLONG;
	}
	return r;
}

/* Why a build failed: on stderr at the first start (the caller must
 * know), through host_log for a rebuild (quiet hosts stay quiet; drive.c
 * says it will try again). */
static void build_failed(const struct aoki_host *h, const char *what, const char *why)
{
	if (h->srv)
		host_log(h, "%s: rebuild: %s%s", h->svc->name, what, why);
	else
		fprintf(stderr, "aoki-host: %s: %s%s\n", h->svc->name, what, why);
}

int host_build(struct aoki_host *h)
{
	struct aoki_domain_opts o = {
		/* A rebuild (the server runs already) succeeds the faulted
		 * incarnation: it may take up the key that only io_uring
		 * workers made for that incarnation's I/O still hold
		 * (aoki_domain_create).  Two hosts of one service share the
		 * name; such workers reach both anyway (io-wq workers belong
		 * to the calling thread and run every ring's work of it). */
		.flags = AOKI_DOMAIN_RECOVERABLE | (h->srv ? AOKI_DOMAIN_SUCCESSOR : 0),
		.heap_size = h->heap_size ? h->heap_size :
			     h->svc->heap_size ? h->svc->heap_size : DEFAULT_HEAP,
		.stack_size = h->svc->stack_size,
	};
	struct create_args *a;
	long r;

	if (!(h->flags & AOKI_HOST_UNISOLATED)) {
		r = aoki_domain_create(h->name, &o, &h->dom);
		if (r < 0) {
			build_failed(h, "no compartment: ", strerror((int)-r));
			return (int)r;
		}
	}
	/* The arguments live in ordinary memory, which the compartment can
	 * reach: the service reads its words and writes its config there. */
	a = calloc(1, sizeof(*a));
	if (!a) {
		r = -ENOMEM;
		goto fail;
	}
	a->h = h;
	r = host_call(h, create_in, a);
	if (r < 0) {
		build_failed(h, "", r == -EFAULT && !a->err[0] ? "faulted while starting" :
			     a->err[0] ? a->err : strerror((int)-r));
		free(a);
		goto fail;
	}
	h->cfg = a->cfg;
	if (h->cfg.port) {
		memcpy(h->cfg_port, a->port, sizeof(h->cfg_port));
		h->cfg.port = h->cfg_port;
	}
	h->state = a->cfg.handler_arg;
	free(a);
	return 0;
fail:
	if (h->dom)
		aoki_domain_destroy(h->dom);
	h->dom = NULL;
	return (int)(r == -EFAULT ? -EINVAL : r);
}

static long stop_worker_in(void *p)
{
	struct host_gate_args *a = p;

	srv_stop_worker_ops(a->h->srv, a->worker);
	return 0;
}

static long destroy_in(void *p)
{
	struct host_gate_args *a = p;
	const struct aoki_host_service *svc = a->h->svc;

	if (a->flag && svc->discard)
		svc->discard(a->h, a->h->state);
	else if (svc->destroy)
		svc->destroy(a->h, a->h->state);
	return 0;
}

void host_teardown(struct aoki_host *h, int faulted)
{
	int drained = 1;

	if (!h->state)
		return;	/* nothing built (a rebuild that failed) */
	/* Drain first: I/O the old incarnation has in flight must finish
	 * before anything is run again, or a late write could land after
	 * its rerun (and after the client's next write).  Its completions
	 * are dropped, not answered (srv_abandon): they are run again. */
	if (h->srv) {
		if (faulted)
			srv_abandon(h->srv);
		for (unsigned i = 0; i < h->nworkers; i++) {
			h->build = (struct host_gate_args){ h, i, faulted };

			/* A service with discard() fences its I/O itself
			 * (fsd: blkd's fence at its next open); its stop hook
			 * would trust damaged state (a drain could wait for
			 * ever). */
			if (faulted && h->svc->discard) {
				srv_forget_worker_ops(h->srv, i);
			} else if (host_call(h, stop_worker_in, &h->build) == -EFAULT) {
				/* Its stop hook faulted: never run it again (the
				 * server's destroy would, outside the gate). */
				srv_forget_worker_ops(h->srv, i);
				drained = 0;
			}
		}
	}
	if (drained) {
		h->build = (struct host_gate_args){ h, 0, faulted };
		if (host_call(h, destroy_in, &h->build) == -EFAULT)
			drained = 0;
	}
	if (!drained) {
		/* Its io_uring may still have I/O in flight: keep the old
		 * compartment (the kernel may still write its memory) and
		 * its descriptors; say so. */
		atomic_fetch_add_explicit(&h->drain_failures, 1, memory_order_relaxed);
		host_log(h, "%s: the faulted incarnation could not be drained; its "
			 "memory and descriptors are kept", h->svc->name);
		h->dom = NULL;
		h->state = NULL;
		return;
	}
	if (h->dom)
		aoki_domain_destroy(h->dom);
	h->dom = NULL;
	h->state = NULL;
}
