/* SPDX-License-Identifier: MIT */
/*
 * drive.c - a client thread gives the hosted server a turn: it takes a
 * worker's lock (never waiting for it: the holder serves every channel
 * of that worker, ours included), enters the compartment by a gate and
 * runs the worker's serving loop there (lib/ipc srv_drive_worker).
 *
 * A fault in the server's code returns from the gate with -EFAULT.  The
 * incarnation is marked broken (nobody enters it again), and one thread
 * rebuilds it with every worker lock held: the old one's I/O drained and
 * its compartment destroyed (build.c), a new one built from the
 * configuration, and every request taken and not answered run again on
 * the next turn (srv_resume_all: the resume protocol of a restarted
 * server process).  Other threads wait for the rebuild on its lock.  A
 * rebuild that fails (no protection key yet, a server it needs not back
 * yet) is tried again by later turns, 1 ms after the first failure and
 * twice as long each time, for 5 s; then every turn fails with its error,
 * as a daemon that aoki-init gave up on.  So does every turn, with -EIO,
 * after HOST_FAULT_STREAK_MAX faults with no turn completed between them:
 * a request that makes the server fault each time it is run again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "host.h"

/* The longest a turn waits for the server's own I/O with nothing else
 * to do: short, because other threads may want the worker meanwhile. */
#define TURN_SLEEP_NS 1000000

#define RETRY_FIRST_NS 1000000ll	/* a failed rebuild is tried again */
#define RETRY_MAX_NS 500000000ll	/* ... growing to this delay */
#define HOST_REBUILD_GIVEUP_NS 5000000000ll	/* ... for this long */
/* Faults in a row, no turn completed between them, after which the host
 * gives up as on a rebuild that keeps failing: a request that makes the
 * server fault every time it is run again would else loop for ever. */
#define HOST_FAULT_STREAK_MAX 16

/* This thread's identity in wowner[] (an address of its own). */
static __thread char drive_self;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static long turn_in(void *p)
{
	struct host_gate_args *a = p;

	return srv_drive_worker(a->h->srv, a->worker, a->flag, TURN_SLEEP_NS);
}

/* A rebuild failed with @r (rebuild_lock held): try again later, or give
 * up when failures have lasted long enough. */
static void rebuild_failed(struct aoki_host *h, int r)
{
	int64_t now = mono_ns();

	if (!h->fail_since) {
		h->fail_since = now;
		h->retry_delay = RETRY_FIRST_NS;
	} else {
		h->retry_delay = h->retry_delay * 2 < RETRY_MAX_NS ? h->retry_delay * 2
								   : RETRY_MAX_NS;
	}
	if (now - h->fail_since >= HOST_REBUILD_GIVEUP_NS) {
		host_log(h, "%s: cannot rebuild after a fault: %s; giving up", h->svc->name,
			 strerror(-r));
		atomic_store_explicit(&h->failed, r, memory_order_relaxed);
		return;
	}
	host_log(h, "%s: cannot rebuild after a fault: %s; trying again in %lld ms",
		 h->svc->name, strerror(-r), (long long)(h->retry_delay / 1000000));
	atomic_store_explicit(&h->retry_at, now + h->retry_delay, memory_order_relaxed);
}

/*
 * Rebuild the broken incarnation of generation @gen (RETRY_GEN: the one
 * broken now, for a retry), unless another thread has already.  Takes every worker lock (in order, with none held:
 * no deadlock with drivers, which hold one at most and never wait).
 */
#define RETRY_GEN UINT64_MAX	/* rebuild(): whatever generation is broken */

static void rebuild(struct aoki_host *h, uint64_t gen)
{
	int r;

	pthread_mutex_lock(&h->rebuild_lock);
	/* Acquire pairs with the release increment below (and, for a
	 * retry, with the release store of broken). */
	if (gen == RETRY_GEN ? !atomic_load_explicit(&h->broken, memory_order_acquire) :
	    atomic_load_explicit(&h->gen, memory_order_acquire) != gen) {
		pthread_mutex_unlock(&h->rebuild_lock);
		return;
	}
	for (unsigned i = 0; i < h->nworkers; i++)
		pthread_mutex_lock(&h->wlock[i]);
	/* Acquire: pairs with aoki_host_stop's release store.  A stop that
	 * came first tore the broken incarnation down itself. */
	if (atomic_load_explicit(&h->stopping, memory_order_acquire)) {
		for (unsigned i = h->nworkers; i-- > 0;)
			pthread_mutex_unlock(&h->wlock[i]);
		pthread_mutex_unlock(&h->rebuild_lock);
		return;
	}
	host_teardown(h, 1);	/* nothing left to do after a failed rebuild */
	if (atomic_load_explicit(&h->fault_streak, memory_order_relaxed) >= HOST_FAULT_STREAK_MAX) {
		host_log(h, "%s: %u faults in a row, no turn completed between them (a "
			 "request that makes it fault each time it runs?): giving up",
			 h->svc->name, HOST_FAULT_STREAK_MAX);
		atomic_store_explicit(&h->failed, -EIO, memory_order_relaxed);
		goto out;
	}
	r = host_build(h);
	if (r < 0) {
		/* Still broken, same generation: a later turn tries again. */
		rebuild_failed(h, r);
	} else {
		h->fail_since = 0;
		srv_set_args(h->srv, h->cfg.handler_arg, h->cfg.worker_arg);
		srv_resume_all(h->srv);
		atomic_fetch_add_explicit(&h->recoveries, 1, memory_order_relaxed);
		host_log(h, "%s: recovered from a fault (compartment rebuilt)", h->svc->name);
		/* Release: the new incarnation is complete before anyone who
		 * sees the new generation or the cleared flag enters it (the
		 * worker locks order it too; this is for the lock-free
		 * checks). */
		atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
		atomic_store_explicit(&h->broken, 0, memory_order_release);
	}
out:
	for (unsigned i = h->nworkers; i-- > 0;)
		pthread_mutex_unlock(&h->wlock[i]);
	pthread_mutex_unlock(&h->rebuild_lock);
}

/*
 * The incarnation is broken: wait for the rebuild in progress (on its
 * lock, not spinning), or run one that failed again when it is due.
 */
static void await_rebuild(struct aoki_host *h)
{
	int64_t at = atomic_load_explicit(&h->retry_at, memory_order_relaxed);
	int64_t now = mono_ns();

	if (at && now >= at) {
		/* One thread retries (relaxed: the rebuild lock orders the
		 * rest).  Not by generation: the failure this retry was set
		 * for may be over and another one pending (found by a
		 * review: a stale generation dropped the retry for good). */
		if (atomic_compare_exchange_strong_explicit(&h->retry_at, &at, 0,
							    memory_order_relaxed,
							    memory_order_relaxed))
			rebuild(h, RETRY_GEN);
		return;
	}
	if (at) {
		/* Not due: wait a little, not spinning. */
		struct timespec ts = { 0, at - now < 1000000 ? at - now : 1000000 };

		nanosleep(&ts, NULL);
		return;
	}
	pthread_mutex_lock(&h->rebuild_lock);
	pthread_mutex_unlock(&h->rebuild_lock);
}

int host_driving(const struct aoki_host *h)
{
	/* Relaxed: only this thread stores its own address there. */
	for (unsigned i = 0; i < h->nworkers; i++)
		if (atomic_load_explicit(&h->wowner[i], memory_order_relaxed) == &drive_self)
			return 1;
	return 0;
}

int host_drive(struct inproc_port *p, int block)
{
	struct aoki_host *h = (struct aoki_host *)p;
	int done = 0;

	/* A handler calling its own server (this thread is inside one of
	 * its turns): it would wait for itself, or enter its own
	 * compartment again.  Relaxed: only this thread stores its own
	 * address there, and reads it back. */
	for (unsigned i = 0; i < h->nworkers; i++)
		if (atomic_load_explicit(&h->wowner[i], memory_order_relaxed) == &drive_self)
			return -EDEADLK;
	for (unsigned i = 0; i < h->nworkers; i++) {
		struct host_gate_args *a = &h->turn[i];
		uint64_t gen;
		long r;

		if (pthread_mutex_trylock(&h->wlock[i]) != 0)
			continue;	/* its holder serves that worker's channels */
		/* Acquire: pairs with the release stores of aoki_host_stop
		 * and rebuild (the locks order them as well). */
		if (atomic_load_explicit(&h->stopping, memory_order_acquire)) {
			pthread_mutex_unlock(&h->wlock[i]);
			return -ESHUTDOWN;
		}
		r = atomic_load_explicit(&h->failed, memory_order_relaxed);
		if (r < 0 || atomic_load_explicit(&h->broken, memory_order_acquire)) {
			pthread_mutex_unlock(&h->wlock[i]);
			if (r < 0)
				return (int)r;
			await_rebuild(h);
			return done;
		}
		gen = atomic_load_explicit(&h->gen, memory_order_relaxed);
		atomic_store_explicit(&h->wowner[i], &drive_self, memory_order_relaxed);
		*a = (struct host_gate_args){ h, i, block };
		r = host_call(h, turn_in, a);
		atomic_store_explicit(&h->wowner[i], NULL, memory_order_relaxed);
		/* Relaxed: a count for rebuild(), which reads it under the
		 * worker locks this store is ordered by. */
		if (r == -EFAULT)
			atomic_fetch_add_explicit(&h->fault_streak, 1, memory_order_relaxed);
		else if (atomic_load_explicit(&h->fault_streak, memory_order_relaxed))
			atomic_store_explicit(&h->fault_streak, 0, memory_order_relaxed);
		if (r == -EFAULT) {
			/* Nobody enters the broken incarnation again: set the
			 * flag before letting the lock go.  Release pairs with
			 * the acquire load above. */
			atomic_store_explicit(&h->broken, 1, memory_order_release);
			pthread_mutex_unlock(&h->wlock[i]);
			rebuild(h, gen);
			return 1;
		}
		pthread_mutex_unlock(&h->wlock[i]);
		if (r < 0)
			return (int)r;	/* the extension would not start */
		done += (int)r;
	}
	return done;
}
