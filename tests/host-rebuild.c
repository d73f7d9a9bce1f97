/* SPDX-License-Identifier: MIT */
/*
 * host-rebuild: what lib/host does around the rebuild of a hosted server
 * (drive.c, build.c), through a test service with worker extensions;
 * what host-service does not show:
 *   - a rebuild that keeps failing: the call that met the fault gets
 *     create()'s error after 5 s of retries (not a hang, not at once),
 *     with 12..30 attempts (the delays double from 1 ms: neither a storm
 *     nor a single try); then the host has failed for good: every call
 *     gets the error at once, and create() is not run again even when it
 *     would succeed.  Before it, a transient run of failures (two) is
 *     recovered, 1 s earlier: its failures must not count towards the
 *     5 s of the next run.  (host-service has the transient case alone.)
 *   - two and three workers, a handler calling its own server through a
 *     channel of any worker: -EDEADLK at once, and no handler of the
 *     server runs nested inside another on this thread.  (The old check,
 *     a worker's owner looked at only when its lock was busy, took the
 *     locks of the workers before the caller's own and ran their turns
 *     inside the handler: the self-call was served nested, then
 *     -EDEADLK, for 4 of the 16 pairs with two workers, 12 of 36 with
 *     three: a caller on worker w calling through a channel of a worker
 *     before w.)
 *   - after a fault, a service with discard() is not drained through its
 *     workers' stop hook (its state may be damaged): discard() runs for
 *     the faulted incarnation and the stop hook does not; the next
 *     incarnation's extension is started afresh (its handlers see their
 *     own worker context).  Control: aoki_host_stop() runs the stop hook
 *     of the live incarnation, then destroy().
 *   - a service without discard() whose stop hook faults on the faulted
 *     incarnation's state (the drain fails: its memory is kept), and
 *     whose rebuilds then fail: aoki_host_stop() returns, and the stop
 *     hook ran once.  (Before, the failed drain left the extension marked
 *     started, and aoki_host_stop() ran the stop hook again, outside any
 *     compartment, on the damaged state: the application died of
 *     SIGSEGV; found by the review that wrote these tests.)
 * A hang fails the test through alarm(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/host.h"
#include "check.h"
#include "harness.h"

enum { OP_ECHO = 1, OP_SELF = 2 };

#define MAX_CHANS 6	/* channels of each kind to the multi-worker one */

/* Ordinary memory: the service's code reaches it, as the test does. */
static _Atomic int fail_creates;	/* create() fails while > 0 */
static _Atomic int creates, destroys, discards, starts, stops;
static _Atomic int discarded_inc, destroyed_inc;	/* whose */
static _Atomic int stopped_inc[8];	/* whose stop hook ran, in order */
static _Atomic int nested;	/* handlers that ran inside another */
static _Atomic int stale;	/* handlers that saw another incarnation's
				 * worker context */
static struct aoki_chan *self_chs[MAX_CHANS];	/* the test's channels to
						 * the multi-worker one */
static __thread int depth;	/* this thread's handlers in progress */
static _Atomic int stop_faults;	/* the stop hook faults while set */
/* An address that is never mapped, out of the compiler's sight. */
static volatile uintptr_t nowhere = 16;

struct svc_state {
	struct aoki_host *h;
	unsigned workers;
	int inc;		/* which create() made it: 1, 2, ... */
};

struct wctx {
	int inc;		/* the incarnation that started it */
};

static int wstart(void *arg, unsigned worker, void **out)
{
	struct svc_state *s = arg;
	struct wctx *w = aoki_host_alloc(s->h, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->inc = s->inc;
	atomic_fetch_add(&starts, 1);
	*out = w;
	return 0;
}

static void wstop(void *ctx)
{
	const struct wctx *w = ctx;
	int n = atomic_fetch_add(&stops, 1);

	if (n < 8)
		atomic_store(&stopped_inc[n], w->inc);
	if (atomic_load(&stop_faults))
		*(volatile int *)nowhere = 1;	/* its state is damaged */
}

static const struct aoki_worker_ops wops = { .start = wstart, .stop = wstop };

static int handle(struct aoki_req *req, void *arg)
{
	struct svc_state *s = arg;
	const struct wctx *w = aoki_req_worker_data(req);
	size_t n;
	const unsigned *k;
	int r = -ENOSYS;

	aoki_host_check_fault(s->h);
	if (depth++ > 0)
		atomic_fetch_add(&nested, 1);
	if (!w || w->inc != s->inc) {
		atomic_fetch_add(&stale, 1);
		r = -ESTALE;
	} else if (aoki_req_opcode(req) == OP_ECHO) {
		r = 0;
	} else if (aoki_req_opcode(req) == OP_SELF) {
		k = aoki_req_data(req, &n);
		r = n == sizeof(*k) && *k < MAX_CHANS && self_chs[*k] ?
		    aoki_call(self_chs[*k], OP_ECHO, NULL, 0, NULL, 0, NULL) : -EINVAL;
	}
	depth--;
	return r;
}

/* Words: the port, and optionally the number of workers. */
static int create(struct aoki_host *h, int argc, char **argv, struct aoki_server_config *cfg,
		  char *err, size_t errcap)
{
	int inc = atomic_fetch_add(&creates, 1) + 1;
	struct svc_state *s;

	if (atomic_load(&fail_creates) > 0) {
		atomic_fetch_sub(&fail_creates, 1);
		snprintf(err, errcap, "told to fail");
		return -EAGAIN;
	}
	if (argc != 2 && argc != 3) {
		snprintf(err, errcap, "want the port, and the workers");
		return -EINVAL;
	}
	s = aoki_host_alloc(h, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = h;
	s->inc = inc;
	s->workers = argc == 3 ? (unsigned)atoi(argv[2]) : 1;
	*cfg = (struct aoki_server_config){ .port = argv[1], .handler = handle,
					    .handler_arg = s, .workers = s->workers,
					    .worker_ops = &wops, .worker_arg = s };
	return 0;
}

static void destroy(struct aoki_host *h, void *state)
{
	struct svc_state *s = state;

	atomic_store(&destroyed_inc, s->inc);
	atomic_fetch_add(&destroys, 1);
	aoki_host_free(h, state);
}

static void discard(struct aoki_host *h, void *state)
{
	const struct svc_state *s = state;

	atomic_store(&discarded_inc, s->inc);
	atomic_fetch_add(&discards, 1);
}

static const struct aoki_host_service svc = {
	.name = "rebuildsvc", .create = create, .destroy = destroy, .discard = discard,
};

/* The same without discard(): drained through its stop hook after a
 * fault, as aoki-blkd is. */
static const struct aoki_host_service svc_drained = {
	.name = "drainsvc", .create = create, .destroy = destroy,
};

static const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };

static uint64_t recoveries(struct aoki_host *h)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	return st.recoveries;
}

static double ms_since(int64_t t0)
{
	return (double)(t_now_ns() - t0) / 1e6;
}

static void reset_counts(void)
{
	atomic_store(&creates, 0);
	atomic_store(&destroys, 0);
	atomic_store(&discards, 0);
	atomic_store(&starts, 0);
	atomic_store(&stops, 0);
	atomic_store(&nested, 0);
	atomic_store(&stale, 0);
	atomic_store(&discarded_inc, 0);
	atomic_store(&destroyed_inc, 0);
}

static void on_alarm(int sig)
{
	static const char msg[] = "host-rebuild: a hang (the alarm went off)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(T_EXIT_FAIL);
}

/* Start an instance at "<run dir>/<name>" with @workers workers (0: the
 * service's default); the port into @port. */
static struct aoki_host *start_svc(const struct aoki_host_service *service, const char *name,
				   unsigned workers, char *port, size_t cap)
{
	char words[PATH_MAX + 16];
	struct aoki_host *h;

	snprintf(port, cap, "%s/%s", t_run_dir(), name);
	if (workers)
		snprintf(words, sizeof(words), "%s %u", port, workers);
	else
		snprintf(words, sizeof(words), "%s", port);
	reset_counts();
	CHECK_EQ(aoki_host_start_service(service, words, &quiet, &h), 0);
	return h;
}

static struct aoki_host *start(const char *name, unsigned workers, char *port, size_t cap)
{
	return start_svc(&svc, name, workers, port, cap);
}

/* A faulting stop hook, then failing rebuilds: the stop survives. */
static void failed_drain_then_stop(void)
{
	const struct aoki_chan_opts opts = { .timeout_ns = 500000000 };
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host_stats st;
	struct aoki_host *h = start_svc(&svc_drained, "drain.sock", 0, port, sizeof(port));
	int r;

	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	atomic_store(&stop_faults, 1);
	atomic_store(&fail_creates, INT_MAX);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	r = aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL);
	CHECK(r == -ETIMEDOUT || r == -EAGAIN);
	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	CHECK_EQ(st.drain_failures, 1);
	CHECK_EQ(atomic_load(&stops), 1);	/* the one that faulted */
	aoki_close(ch);
	aoki_host_stop(h);
	CHECK_EQ(atomic_load(&stops), 1);	/* not run again */
	atomic_store(&stop_faults, 0);
	atomic_store(&fail_creates, 0);
}

/* After a fault, the stop hook of the faulted incarnation is not run,
 * discard() is; at the stop, the stop hook then destroy(). */
static void discard_not_drained(void)
{
	const struct aoki_chan_opts opts = { .timeout_ns = 5000000000 };
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host *h = start("discard.sock", 0, port, sizeof(port));

	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(atomic_load(&creates), 1);
	CHECK_EQ(atomic_load(&starts), 1);	/* incarnation 1's extension */

	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(recoveries(h), 1);
	CHECK_EQ(atomic_load(&creates), 2);
	if (atomic_load(&stops))
		fprintf(stderr, "the faulted incarnation %d was drained through its stop "
			"hook\n", atomic_load(&stopped_inc[0]));
	CHECK_EQ(atomic_load(&stops), 0);
	CHECK_EQ(atomic_load(&discards), 1);
	CHECK_EQ(atomic_load(&discarded_inc), 1);
	CHECK_EQ(atomic_load(&destroys), 0);
	/* Incarnation 2 started its own extension, and its handler saw it. */
	CHECK_EQ(atomic_load(&starts), 2);
	CHECK_EQ(atomic_load(&stale), 0);

	/* Control: a clean stop drains through the stop hook. */
	aoki_close(ch);
	aoki_host_stop(h);
	CHECK_EQ(atomic_load(&stops), 1);
	CHECK_EQ(atomic_load(&stopped_inc[0]), 2);
	CHECK_EQ(atomic_load(&destroys), 1);
	CHECK_EQ(atomic_load(&destroyed_inc), 2);
	CHECK_EQ(atomic_load(&discards), 1);
}

/* With @workers workers, a handler calling its own server through each
 * of @workers * 2 channels, from each of as many. */
static void self_calls(unsigned workers)
{
	const struct aoki_chan_opts opts = { .timeout_ns = 5000000000 };
	unsigned nch = workers * 2;
	struct aoki_chan *ch[MAX_CHANS];
	char port[PATH_MAX], name[32];
	struct aoki_host *h;
	int64_t t0;
	double ms;
	int r;

	CHECK(nch <= MAX_CHANS);
	snprintf(name, sizeof(name), "self%u.sock", workers);
	h = start(name, workers, port, sizeof(port));
	/* Channels go to the workers in turn: both kinds on every worker. */
	for (unsigned i = 0; i < nch; i++)
		CHECK_EQ(aoki_connect(port, &opts, &ch[i]), 0);
	for (unsigned i = 0; i < nch; i++)
		CHECK_EQ(aoki_connect(port, &opts, &self_chs[i]), 0);
	for (unsigned i = 0; i < nch; i++)
		for (unsigned k = 0; k < nch; k++) {
			int before = atomic_load(&nested);

			t0 = t_now_ns();
			r = aoki_call(ch[i], OP_SELF, &k, sizeof(k), NULL, 0, NULL);
			ms = ms_since(t0);
			if (r != -EDEADLK || atomic_load(&nested) != before)
				fprintf(stderr, "%u workers: channel %u calling through %u: %d "
					"after %.1f ms, %d handlers run nested\n", workers, i, k,
					r, ms, atomic_load(&nested) - before);
			CHECK_EQ(r, -EDEADLK);
			CHECK(ms < 1000);
			CHECK_EQ(atomic_load(&nested), before);
		}
	/* Still serving; the self-calls' requests may have run since, on
	 * this thread's later turns, never nested. */
	for (unsigned i = 0; i < nch; i++)
		CHECK_EQ(aoki_call(ch[i], OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(atomic_load(&nested), 0);
	CHECK_EQ(atomic_load(&stale), 0);
	for (unsigned i = 0; i < nch; i++) {
		aoki_close(ch[i]);
		aoki_close(self_chs[i]);
		self_chs[i] = NULL;
	}
	aoki_host_stop(h);
}

/* Failed rebuilds: a transient run recovered, then one that lasts. */
static void rebuild_gives_up(void)
{
	const struct aoki_chan_opts opts = { .timeout_ns = 12000000000 };
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host *h = start("giveup.sock", 0, port, sizeof(port));
	int64_t t0;
	double ms;
	int r, n;

	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);

	/* Two failures, then a rebuild that works. */
	atomic_store(&fail_creates, 2);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(atomic_load(&creates), 4);
	CHECK_EQ(recoveries(h), 1);
	usleep(1000000);	/* a run of failures 1 s later is a new run */

	/* create() fails from now on. */
	atomic_store(&fail_creates, INT_MAX);
	n = atomic_load(&creates);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	t0 = t_now_ns();
	r = aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL);
	ms = ms_since(t0);
	n = atomic_load(&creates) - n;
	printf("note: rebuilds failing for good: the call returned %d after %.0f ms, "
	       "%d attempts\n", r, ms, n);
	CHECK_EQ(r, -EAGAIN);
	CHECK(ms >= 5000 && ms < 9000);
	CHECK(n >= 12 && n <= 30);
	CHECK_EQ(recoveries(h), 1);

	/* Failed for good: at once, even though create() would work now. */
	atomic_store(&fail_creates, 0);
	n = atomic_load(&creates);
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), -EAGAIN);
	usleep(20000);	/* past a retry that would be due */
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), -EAGAIN);
	ms = ms_since(t0);
	CHECK(ms < 1000);
	CHECK_EQ(atomic_load(&creates), n);
	CHECK_EQ(recoveries(h), 1);
	aoki_close(ch);
	aoki_host_stop(h);
	CHECK_EQ(atomic_load(&destroys), 0);	/* nothing left to destroy */
	CHECK_EQ(atomic_load(&stops), 0);	/* nor any extension to stop */
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	alarm(30);
	discard_not_drained();
	self_calls(2);
	self_calls(3);
	rebuild_gives_up();
	failed_drain_then_stop();
	return 0;
}
