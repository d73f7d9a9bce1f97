/* SPDX-License-Identifier: MIT */
/*
 * worker.c - a worker thread serves many channels: round-robin over its
 * channels, at most cfg.batch requests from each per turn, so that one
 * deep queue cannot starve a neighbour.  When no channel has work it
 * spins (up to cfg.spin_ns, while spinning pays: spin.h), then sleeps in
 * one futex_waitv(2) on every channel's doorbell word plus its own wake
 * word.
 *
 * Everything read from channel memory is hostile: a slot state other than
 * the few a correct client can produce drops the channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "spin.h"
#include "sys.h"

/* Sleep at most this long, so a worker re-checks its world now and then. */
#define SLEEP_NS 1000000000
/* With more channels than futex_waitv takes, poll the rest this often. */
#define OVERFLOW_SLEEP_NS 1000000
/* Empty wake-ups a channel's doorbell may cause: at most this many per
 * SPURIOUS_WINDOW_NS (a rate, not a run: real requests in between do not
 * excuse the rest).  A correct client causes a few at most (a doorbell
 * racing with the server's own wake-up); 2000 a second cost the worker
 * about 1 % of a CPU. */
#define SPURIOUS_LIMIT 2000
#define SPURIOUS_WINDOW_NS 1000000000

void worker_adopt(struct aoki_server *srv, struct srv_chan *ch)
{
	struct worker *best = &srv->workers[0];

	for (unsigned i = 1; i < srv->nworkers; i++)
		if (atomic_load_explicit(&srv->workers[i].load, memory_order_relaxed) <
		    atomic_load_explicit(&best->load, memory_order_relaxed))
			best = &srv->workers[i];
	ch->worker = best;
	srv_chan_ref(ch);	/* the worker's */
	atomic_fetch_add_explicit(&best->load, 1, memory_order_relaxed);
	pthread_mutex_lock(&best->inbox_lock);
	if (best->ninbox == best->inbox_cap) {
		unsigned cap = best->inbox_cap ? best->inbox_cap * 2 : 8;
		struct srv_chan **n = realloc(best->inbox, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&best->inbox_lock);
			atomic_fetch_sub_explicit(&best->load, 1, memory_order_relaxed);
			srv_chan_kill(ch);
			srv_chan_unref(ch);
			return;
		}
		best->inbox = n;
		best->inbox_cap = cap;
	}
	best->inbox[best->ninbox++] = ch;
	atomic_store_explicit(&best->inbox_pending, 1, memory_order_relaxed);
	pthread_mutex_unlock(&best->inbox_lock);
	worker_kick(best);
}

/* Move the channels handed to @w into its list; returns the index of the
 * first new one. */
static unsigned take_inbox_no_rerun(struct worker *w)
{
	unsigned first = w->nchans;

	pthread_mutex_lock(&w->inbox_lock);
	atomic_store_explicit(&w->inbox_pending, 0, memory_order_relaxed);
	for (unsigned i = 0; i < w->ninbox; i++) {
		if (w->nchans == w->chans_cap) {
			unsigned cap = w->chans_cap ? w->chans_cap * 2 : 8;
			struct srv_chan **n = realloc(w->chans, cap * sizeof(*n));

			if (!n) {	/* cannot serve it: refuse politely */
				srv_chan_kill(w->inbox[i]);
				srv_chan_unref(w->inbox[i]);
				atomic_fetch_sub_explicit(&w->load, 1, memory_order_relaxed);
				continue;
			}
			w->chans = n;
			w->chans_cap = cap;
		}
		w->chans[w->nchans++] = w->inbox[i];
	}
	w->ninbox = 0;
	pthread_mutex_unlock(&w->inbox_lock);
	return first;
}

static void take_inbox(struct worker *w)
{
	unsigned first;

	/* Relaxed peek, so the common empty case costs no lock: a channel
	 * added after it is picked up next pass (worker_adopt also kicks). */
	if (!atomic_load_explicit(&w->inbox_pending, memory_order_relaxed))
		return;
	first = take_inbox_no_rerun(w);
	/* A resumed channel: first what the dead server left undone.  (Out
	 * of the lock: handlers run here.) */
	for (unsigned i = first; i < w->nchans; i++)
		chan_rerun(w, w->chans[i]);
}

static void remove_chan(struct worker *w, unsigned i)
{
	struct srv_chan *ch = w->chans[i];

	/* Our requests can reach no grant of a channel we no longer serve.
	 * (One the acceptor adds from now on was never used here.) */
	for (unsigned k = 0; k < ch->geom.max_grants; k++) {
		/* Acquire pairs with the acceptor's release CAS in add_grant. */
		struct srv_grant *g = atomic_load_explicit(&ch->grants[k], memory_order_acquire);

		if (g)
			srv_chan_grant_gone(ch, g);
	}

	w->chans[i] = w->chans[--w->nchans];
	atomic_fetch_sub_explicit(&w->load, 1, memory_order_relaxed);
	srv_chan_unref(ch);
}

/* Is the request at the channel's head published (or is the ring in a
 * state that gets the channel dropped)?  For polling: no side effects. */
static int chan_has_work(const struct srv_chan *ch)
{
	uint32_t idx;

	return ring_peek(&ch->geom, ch->mem, ch->head, &idx) != 0;
}

unsigned worker_serve(struct worker *w, struct srv_chan *ch, unsigned budget)
{
	unsigned n = 0;

	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return 0;	/* dropped: never touch its memory again */
	while (n < budget) {
		uint32_t idx;
		int r = ring_peek(&ch->geom, ch->mem, ch->head, &idx);

		if (r <= 0) {
			if (r < 0)
				srv_chan_drop(ch, "submission ring corrupt at position %llu",
					      (unsigned long long)ch->head);
			break;
		}
		ch->head++;
		/* Record "taken" before running it, for a server that resumes
		 * this channel after we die (resume.c): a request below
		 * srv_head may have had side effects.  Relaxed, then a release
		 * fence: the handler's own stores (its side effects) come
		 * after this one.  The line is ours alone (the client never
		 * reads it while we live), so the store costs no transfer. */
		atomic_store_explicit(&ch->hdr->srv_head, ch->head, memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
		ch->cli_cpu = req_run(ch, idx, ch->head - 1, 0);
		if (ch->published_cpu != w->cpu) {
			ch->published_cpu = w->cpu;
			atomic_store_explicit(&ch->hdr->srv_cpu, w->cpu, memory_order_relaxed);
		}
		n++;
		chan_publish_early(ch);
		if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
			break;
	}
	if (n)
		chan_notify(ch);
	return n;
}

/* Let the worker extension sleep (it may wait on its own work too);
 * -ENOSYS when it has none or declines. */
static int ops_sleep(struct worker *w, const struct futex_waiter *wv, unsigned n,
		     int64_t timeout_ns)
{
	const struct aoki_worker_ops *ops = w->srv->cfg.worker_ops;
	struct aoki_wait_word words[FUTEX_WAITV_LIMIT];

	if (!ops || !ops->sleep)
		return -ENOSYS;
	for (unsigned i = 0; i < n; i++)
		words[i] = (struct aoki_wait_word){ (uint32_t *)wv[i].word, wv[i].expected };
	return ops->sleep(w->ops_ctx, words, n, timeout_ns);
}

/* Complete what the worker extension finished; returns how many. */
static inline unsigned ops_poll(struct worker *w)
{
	const struct aoki_worker_ops *ops = w->srv->cfg.worker_ops;

	return ops && ops->poll ? ops->poll(w->ops_ctx) : 0;
}

/* Count an empty wake-up caused by @ch's doorbell; 1 if the channel went
 * over its rate. */
static int spurious_wake(struct srv_chan *ch)
{
	int64_t now = now_ns();

	if (now - ch->spurious_since > SPURIOUS_WINDOW_NS) {
		ch->spurious_since = now;
		ch->spurious = 0;
	}
	return ++ch->spurious > SPURIOUS_LIMIT;
}

/*
 * Go to sleep unless some channel has work.  Store-load (Dekker) with
 * chan_kick(): we store srv_sleeping = 1, fence, and re-check each ring;
 * a client stores QUEUED, fences, and checks srv_sleeping.
 */
static void worker_sleep(struct worker *w, uint32_t seen)
{
	struct futex_waiter wv[FUTEX_WAITV_LIMIT];
	unsigned n = 0, i;
	int r;

	for (i = 0; i < w->nchans; i++)
		atomic_store_explicit(&w->chans[i]->hdr->srv_sleeping, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < w->nchans; i++)
		if (chan_has_work(w->chans[i]))
			goto awake;
	wv[n++] = (struct futex_waiter){ &w->wake, seen };
	for (i = 0; i < w->nchans && n < FUTEX_WAITV_LIMIT; i++)
		wv[n++] = (struct futex_waiter){ &w->chans[i]->hdr->srv_sleeping, 1 };
	atomic_fetch_add_explicit(&w->srv->st.sleeps, 1, memory_order_relaxed);
	r = ops_sleep(w, wv, n, w->nchans + 1 > FUTEX_WAITV_LIMIT ? OVERFLOW_SLEEP_NS : SLEEP_NS);
	if (r == -ENOSYS)
		r = futex_waitv_shared(wv, n, w->nchans + 1 > FUTEX_WAITV_LIMIT ?
						     OVERFLOW_SLEEP_NS : SLEEP_NS);
	if (r == -ENOSYS) {	/* pre-5.16 kernel: a plain timed wait */
		futex_wait_shared(&w->wake, seen, OVERFLOW_SLEEP_NS);
		r = 0;
	}
	/* A doorbell that moved with no work behind it, again and again, is
	 * a client keeping us awake on purpose: drop it. */
	if (r != 0 && r != -ETIMEDOUT) {
		for (i = 0; i < w->nchans; i++) {
			struct srv_chan *ch = w->chans[i];

			if (atomic_load_explicit(&ch->hdr->srv_sleeping, memory_order_relaxed) == 1 ||
			    chan_has_work(ch))
				continue;
			if (spurious_wake(ch))
				srv_chan_drop(ch, "doorbell rung %u times in a second with no "
					      "request", ch->spurious);
		}
	}
awake:
	for (i = 0; i < w->nchans; i++)
		atomic_store_explicit(&w->chans[i]->hdr->srv_sleeping, 0, memory_order_relaxed);
}

/*
 * An idle worker's spin (spin.h), private to its thread: the budget (at
 * most cfg.spin_ns) and until when it does not spin at all because a
 * spin lost its CPU (0: it may).
 */
struct worker_spin {
	int64_t budget_ns;
	int64_t calm_until;
	int64_t idle_since;	/* when this idle period began (0: busy) */
};

/* One look at everything that can give the worker work; 1 if it may. */
static int poll_once(struct worker *w, uint32_t seen)
{
	for (unsigned i = 0; i < w->nchans; i++)
		if (chan_has_work(w->chans[i]))
			return 1;
	if (atomic_load_explicit(&w->wake, memory_order_relaxed) != seen)
		return 1;
	return ops_poll(w) != 0;
}

/*
 * Poll every channel's head slot until one has work, the worker is kicked,
 * or the spin budget has passed since the idle period began.  Returns 1
 * if there may be work.  The inner loop only loads (the lines stay shared
 * in our cache until a client writes them), so a request is seen within
 * about one `pause` of arriving; the clock (~20 ns) is read after each 32
 * rounds (the idle period's start is its first read).  When our only client runs on our CPU, spinning would only keep
 * it off the CPU: yield instead, so that a same-core round trip costs two
 * sched_yield calls rather than four sleep/wake calls - unless the
 * machine is oversubscribed (spin.h): a yield then hands the CPU to other
 * work for the rest of its time slice, so a calm worker polls once and
 * sleeps.  A spin that loses its CPU makes the worker calm.
 */
static int wait_for_work(struct worker *w, struct worker_spin *sp)
{
	uint32_t seen = atomic_load_explicit(&w->wake, memory_order_relaxed);
	int same_cpu = w->nchans == 1 && w->chans[0]->cli_cpu == w->cpu;
	int64_t now, last = 0;

	sp->idle_since = 0;
	if (sp->calm_until) {
		now = now_ns();
		if (now < sp->calm_until) {
			sp->idle_since = now;
			return poll_once(w, seen);
		}
		sp->calm_until = 0;
	}
	for (;;) {
		for (unsigned k = 0; k < (same_cpu ? 1u : 32u); k++) {
			if (poll_once(w, seen)) {
				/* Spinning paid: spin in full next time. */
				sp->budget_ns = w->srv->cfg.spin_ns;
				return 1;
			}
			if (same_cpu)
				sched_yield();
			else
				cpu_relax();
		}
		now = now_ns();
		if (!sp->idle_since) {
			/* The first read, a round into the idle period: a
			 * request that comes at once never pays for the clock. */
			sp->idle_since = now;
		} else if (spin_lost_cpu(last, now)) {
			sp->calm_until = now + SPIN_CALM_NS;
			return 0;
		}
		if (now - sp->idle_since >= sp->budget_ns)
			return 0;
		last = now;
	}
}

/* After a sleep that began an idle period at sp->idle_since: would a
 * longer spin have caught the work that woke us?  (A clock read, after a
 * system call.) */
static void worker_learn(struct worker *w, struct worker_spin *sp)
{
	sp->budget_ns = spin_next_budget(sp->budget_ns, w->srv->cfg.spin_ns,
					 now_ns() - sp->idle_since, 1);
}

/* One turn: up to cfg.batch requests of each channel, round-robin from
 * a start that moves each turn, dropping dead channels; then what the
 * extension completed.  Returns the work done. */
static unsigned serve_turn(struct worker *w)
{
	unsigned work = 0;

	w->cpu = sys_cpu();
	for (unsigned i = 0; i < w->nchans;) {
		unsigned k = (w->rr + i) % w->nchans;

		if (atomic_load_explicit(&w->chans[k]->dead, memory_order_relaxed)) {
			remove_chan(w, k);
			continue;
		}
		work += worker_serve(w, w->chans[k], w->srv->cfg.batch);
		i++;
	}
	if (w->nchans)
		w->rr = (w->rr + 1) % w->nchans;
	return work + ops_poll(w);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct aoki_server *srv = w->srv;
	struct worker_spin spin = { .budget_ns = srv->cfg.spin_ns };

	for (;;) {
		unsigned work;
		/* Read the wake word before the stop flag and the inbox, and
		 * sleep on this value: a kick (stop, new channel) that lands
		 * after this load makes worker_sleep's futex_waitv return at
		 * once; one that landed before it is seen by the checks below.
		 * (Loaded inside worker_sleep, a kick between the checks and
		 * the load was lost until the 1 s timeout.)  Acquire pairs
		 * with the release increment in worker_kick. */
		uint32_t seen = atomic_load_explicit(&w->wake, memory_order_acquire);

		if (atomic_load_explicit(&srv->stop, memory_order_relaxed))
			break;
		take_inbox(w);
		work = serve_turn(w);
		if (work)
			continue;
		if (srv->cfg.spin_ns > 0 && wait_for_work(w, &spin))
			continue;
		worker_sleep(w, seen);
		if (srv->cfg.spin_ns > 0)
			worker_learn(w, &spin);
	}
	take_inbox(w);
	if (w->ops_started && srv->cfg.worker_ops->stop) {
		srv->cfg.worker_ops->stop(w->ops_ctx);
		w->ops_started = 0;
	}
	while (w->nchans) {
		srv_chan_kill(w->chans[0]);
		remove_chan(w, 0);
	}
	return NULL;
}

/* ------------------------------------------------ passive workers (inproc.h) */

/* Start the worker's extension on the driving thread, once. */
static int ops_start_here(struct worker *w)
{
	const struct aoki_worker_ops *ops = w->srv->cfg.worker_ops;
	int r;

	if (w->ops_started || !ops || !ops->start)
		return 0;
	r = ops->start(w->srv->cfg.worker_arg, w->id, &w->ops_ctx);
	if (r < 0)
		return r;
	w->ops_started = 1;
	return 0;
}

/* After an in-process recovery: run again what the dead incarnation had
 * taken and not answered, on every channel (srv_resume_all scanned). */
static void rerun_all(struct worker *w)
{
	w->rerun_pending = 0;
	for (unsigned i = 0; i < w->nchans; i++)
		chan_rerun(w, w->chans[i]);
}

int srv_drive_worker(struct aoki_server *srv, unsigned i, int block, int64_t sleep_ns)
{
	struct worker *w = &srv->workers[i];
	unsigned work;
	int r = ops_start_here(w);

	if (r < 0)
		return r;
	/* The channels this worker had at the recovery first, then new
	 * ones (take_inbox reruns those itself: running them here too
	 * would run a still-deferred request twice). */
	if (w->rerun_pending)
		rerun_all(w);
	take_inbox(w);
	work = serve_turn(w);
	if (!work && block && w->ops_started) {
		/* Nothing queued, nothing finished: wait for the extension's
		 * own work (I/O in flight), woken early by a kick. */
		uint32_t seen = atomic_load_explicit(&w->wake, memory_order_acquire);
		struct futex_waiter wv = { &w->wake, seen };

		if (ops_sleep(w, &wv, 1, sleep_ns) != -ENOSYS)
			work += ops_poll(w);
	}
	return (int)work;
}

void srv_forget_worker_ops(struct aoki_server *srv, unsigned i)
{
	struct worker *w = &srv->workers[i];

	w->ops_started = 0;
	w->ops_ctx = NULL;
}

void srv_stop_worker_ops(struct aoki_server *srv, unsigned i)
{
	struct worker *w = &srv->workers[i];

	if (w->ops_started && srv->cfg.worker_ops->stop)
		srv->cfg.worker_ops->stop(w->ops_ctx);
	srv_forget_worker_ops(srv, i);
}

/* A passive worker's end (server destroy): drop its channels as
 * worker_main does when it exits.  Its extension was stopped on a
 * driving thread before (srv_stop_worker_ops). */
void worker_release_passive(struct worker *w)
{
	take_inbox_no_rerun(w);
	while (w->nchans) {
		srv_chan_kill(w->chans[0]);
		remove_chan(w, 0);
	}
}
