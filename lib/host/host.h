/* SPDX-License-Identifier: MIT */
/*
 * host.h - servers hosted in the application (private to lib/host).
 *
 *   host.c     start and stop: the compartment, the server, the port
 *   build.c    building and tearing down one incarnation of a server
 *              inside its compartment
 *   drive.c    a client thread's turn of the server, and the recovery of
 *              an incarnation whose code faulted
 *   env.c      AOKI_HOST
 *   inject.c   the fault-injection test aid
 *   services.c the built-in services (blkd, fsd)
 *
 * Layering: host.c -> drive.c -> build.c -> lib/ipc (inproc.h, the
 * passive server) and lib/domain; env.c -> host.c.
 */
#ifndef AOKI_HOST_PRIV_H
#define AOKI_HOST_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "aoki/domain.h"
#include "aoki/host.h"
#include "../ipc/inproc.h"

/* The argument of a gate call into the server (see turn, build below). */
struct host_gate_args {
	struct aoki_host *h;
	unsigned worker;
	int flag;		/* turn: block; teardown: faulted */
};

struct aoki_host {
	struct inproc_port port;	/* first: the registry's view */
	const struct aoki_host_service *svc;
	unsigned flags;		/* AOKI_HOST_* */
	size_t heap_size;
	int argc;		/* the configuration words, argv[0] the */
	char **argv;		/* service name (kept for rebuilds) */
	char *words;		/* what argv points into */
	char name[32];		/* the compartment's name */

	/* The incarnation: changed only with every worker lock held. */
	struct aoki_domain *dom;	/* NULL: AOKI_HOST_UNISOLATED */
	void *state;		/* cfg.handler_arg of the service */

	struct aoki_server *srv;
	struct aoki_server_config cfg;	/* as the service filled it, but: */
	char cfg_port[256];	/* cfg.port, copied out of the compartment */
	char dir[80];		/* the private socket's directory */

	/* One lock per worker: whoever holds it runs that worker's turn;
	 * wowner[i] names the holding thread (its drive_self address), so
	 * that a handler calling its own server is told (-EDEADLK). */
	pthread_mutex_t *wlock;
	_Atomic(const void *) *wowner;
	unsigned nworkers;
	/* The arguments of the gate calls live here, in ordinary memory:
	 * the calling thread may be inside another hosted server (fsd
	 * driving its blkd), on a stack under that server's key, which
	 * this server's gate cannot read.  turn[i] under wlock[i]; build
	 * with every worker lock held (or before the server runs). */
	struct host_gate_args *turn, build;
	/* Set with release when stopping, or when the incarnation faulted
	 * and must not be entered until rebuilt (broken); drivers load them
	 * with acquire after taking a worker lock. */
	_Atomic int stopping;
	_Atomic int broken;
	_Atomic uint64_t gen;	/* incarnations rebuilt */
	pthread_mutex_t rebuild_lock;
	/* Rebuilds that failed are tried again with a growing delay
	 * (retry_at, monotonic ns; fail_since: the first failure of the
	 * run), for HOST_REBUILD_GIVEUP_NS; then failed holds -errno for
	 * every turn.  Under rebuild_lock but for the loads of drivers. */
	_Atomic int64_t retry_at;
	int64_t fail_since, retry_delay;
	_Atomic int failed;

	_Atomic uint64_t recoveries, drain_failures;
	/* Faults with no turn completed between them (drive.c). */
	_Atomic unsigned fault_streak;
	_Atomic int inject_kind;	/* aoki_host_inject_fault */
	_Atomic(void *) inject_target;
	int quiet;
};

/* sockdir.c: make the private socket's directory in @dir (@cap bytes),
 * after removing those that processes now gone left behind.  0 or -errno. */
int host_sockdir_make(char *dir, size_t cap);

/* build.c: make a new incarnation (compartment and service state); fills
 * h->dom, h->state and h->cfg.  0 or -errno (a message on stderr). */
int host_build(struct aoki_host *h);

/* build.c: tear the incarnation down: stop its workers' extensions
 * (draining their I/O), let the service close what it holds, destroy the
 * compartment.  With every worker lock held (or before the server runs).
 * @faulted: the incarnation faulted, its state may be damaged. */
void host_teardown(struct aoki_host *h, int faulted);

/* build.c: run @fn(@arg) in the incarnation's compartment (directly when
 * unisolated).  Returns fn's value, or -EFAULT after a recovered fault. */
long host_call(struct aoki_host *h, aoki_domain_fn fn, void *arg);

/* drive.c: the inproc_port drive function. */
int host_drive(struct inproc_port *p, int block);
/* drive.c: is the calling thread inside one of @h's turns (holding a
 * worker lock)?  Wait-free. */
int host_driving(const struct aoki_host *h);

/* services.c: the built-in service called @name, or NULL. */
const struct aoki_host_service *host_service_find(const char *name);

/* host.c: log a line on stderr unless quiet. */
void host_log(const struct aoki_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
