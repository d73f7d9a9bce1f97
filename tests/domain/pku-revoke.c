/* SPDX-License-Identifier: MIT */
/*
 * domain-revoke - the keys of destroyed compartments come back while
 * threads run through gates, and not while an io_uring worker may hold
 * them (issue 13 hole 1; issue 14, check 4 of tests/host/pku-host.c).
 *
 *   1. Every key taken, then 24 times: destroy one compartment, create
 *      one (each a revocation round) while three threads loop through the
 *      gates (protected and light) of another.  Without and with
 *      hardening.
 *   2. (No hardening: it refuses io_uring.)  Thread T makes an io-wq
 *      worker inside compartment W's gate; the worker keeps W's PKRU
 *      (control: T, holding no rights, has it copy W's secret to a
 *      pipe).  W is destroyed; then 20 rounds as in 1.  Every creation
 *      must succeed and none may get W's key; a compartment made on a
 *      key born after the worker must be out of the worker's reach
 *      (-EFAULT); once T has exited (its workers with it) W's key comes
 *      back.
 *   3. A recovered server: 20 times a compartment "s" is made (from the
 *      second on as AOKI_DOMAIN_SUCCESSOR), a thread makes an io-wq worker
 *      inside its gate and stays (its worker with it), and "s" is
 *      destroyed.  Every creation must succeed: once the keys are used
 *      up, "s" takes up a key only such workers hold.  Control: with
 *      every key worker-held, a compartment of another name, and one
 *      called "s" without the flag, get -ENOSPC; once the threads exited,
 *      they get keys.  Without the successor rule the 14th "s" got
 *      -ENOSPC (what check 4 of host-pku hit with 20 faults of blkd).
 * On the old code the worker, which blocks every signal, never answered
 * the revocation signal: no key came back, the first creation said
 * -ENOSPC (exit 1).  Counting io_uring threads as holding nothing would
 * hand W's key to a new compartment the worker can read: exit 10.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "ring.h"

#define NLOOP 3			/* threads looping through gates */
#define ROUNDS_1 24
#define ROUNDS_2 20
#define SECRET 0x5ec2e7L
#define ATTACK_WORKED 10

static struct aoki_domain *G, *W, *live[16];
static int nlive;
static long *gmem, *wsecret;
static long *nsecret;	/* in the last compartment created */
static int avoid = -1;	/* a key no new compartment may get (case 2) */
static atomic_int stop, step, probe_result;
static atomic_long calls;
static struct ring ring;
static int pipefd[2];

static long touch(void *arg) { poke(arg, peek(arg) + 1); return 0; }
static long put(void *arg) { poke(arg, SECRET); return 0; }

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* Through G's gates until told to stop: revocations land mid-gate too. */
static void *looper(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		long r = (i & 1) ? aoki_domain_call_light(G, touch, gmem)
				 : aoki_domain_call(G, touch, gmem);

		CHECK_EQ(r, 0);
		atomic_fetch_add(&calls, 1);
	}
	return NULL;
}

/* A new compartment on the key an io-wq worker holds: the attack worked. */
static void check_key(struct aoki_domain *d, int round)
{
	if (aoki_domain_pkey(d) != avoid)
		return;
	fprintf(stderr, "round %d: W's key %d handed out while a worker made in W's gate "
		"lives\n", round, avoid);
	_exit(ATTACK_WORKED);
}

/* Take every key that is left. */
static void fill_keys(void)
{
	char name[16];
	int r;

	for (;;) {
		CHECK(nlive < 16);
		snprintf(name, sizeof(name), "f%d", nlive);
		r = aoki_domain_create(name, NULL, &live[nlive]);
		if (r == -ENOSPC)
			break;
		CHECK_EQ(r, 0);
		check_key(live[nlive], -1);
		nlive++;
	}
	CHECK(nlive > 0);
}

/* Destroy one of the live compartments, create one in its place (a
 * revocation round: no free key), usable: a secret put in it.  Returns
 * the new one's key. */
static int replace(int i)
{
	struct aoki_domain **d = &live[i % nlive];
	long before = atomic_load(&calls);
	void *p;
	int r;

	CHECK_EQ(aoki_domain_destroy(*d), 0);
	r = aoki_domain_create("again", NULL, d);
	if (r < 0) {
		fprintf(stderr, "round %d: aoki_domain_create: %d (%s)\n", i, r, strerror(-r));
		exit(1);
	}
	check_key(*d, i);
	CHECK_EQ(aoki_domain_alloc(*d, 4096, &p), 0);
	CHECK_EQ(aoki_domain_call(*d, put, p), 0);
	nsecret = p;
	/* The loopers go on (none is stuck behind a revocation). */
	for (int t = 0; atomic_load(&calls) < before + NLOOP && t < 5000; t++)
		nap_ms(1);
	CHECK(atomic_load(&calls) >= before + NLOOP);
	return aoki_domain_pkey(*d);
}

static void start_loopers(pthread_t *t)
{
	void *p;

	CHECK_EQ(aoki_domain_create("gated", NULL, &G), 0);
	CHECK_EQ(aoki_domain_alloc(G, 4096, &p), 0);
	gmem = p;
	for (int i = 0; i < NLOOP; i++)
		CHECK_EQ(aoki_domain_thread_create(&t[i], NULL, looper, NULL), 0);
}

static void stop_loopers(pthread_t *t)
{
	atomic_store(&stop, 1);
	for (int i = 0; i < NLOOP; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
}

/* --- 1: rounds under gate traffic ------------------------------------- */

static void rounds(void *arg)
{
	pthread_t t[NLOOP];

	init_pku_or_skip((unsigned)(uintptr_t)arg);
	start_loopers(t);
	fill_keys();
	for (int i = 0; i < ROUNDS_1; i++)
		replace(i);
	stop_loopers(t);
}

/* --- 2: an io-wq worker made inside a gate ---------------------------- */

/* Inside W's gate: the first async request makes T's io-wq worker, a copy
 * of T with W's PKRU. */
static long async_in_w(void *arg)
{
	long v = 1;

	(void)arg;
	return ring_do(&ring, IORING_OP_WRITE, IOSQE_ASYNC, pipefd[1], &v, sizeof(v), 0);
}

/* Inside a gate: the first async request on ring @arg makes its thread's
 * io-wq worker, a copy of that thread with the gate's PKRU. */
static long async_in_w_ring(void *arg)
{
	long v = 1;

	return ring_do(arg, IORING_OP_WRITE, IOSQE_ASYNC, pipefd[1], &v, sizeof(v), 0);
}

static long peek_in(void *arg) { return peek(arg); }

/* Outside every gate, no rights: have a worker copy *@src to the pipe.
 * The value, or the request's -errno. */
static long async_copy(const void *src)
{
	long out = 0;
	int r = ring_do(&ring, IORING_OP_WRITE, IOSQE_ASYNC, pipefd[1], src, sizeof(out), 0);

	if (r < 0)
		return r;
	CHECK_EQ(r, sizeof(out));
	CHECK_EQ(read(pipefd[0], &out, sizeof(out)), sizeof(out));
	return out;
}

static void *worker_maker(void *arg)
{
	long v, got = 0;

	(void)arg;
	CHECK_EQ(ring_init(&ring), 0);
	/* Control: the worker holds W's rights.  (A busy machine may have
	 * the worker still busy at the second request: io-wq then makes
	 * another, a copy of T outside the gate, which gets -EFAULT.) */
	for (int i = 0; i < 20 && got != SECRET; i++) {
		CHECK_EQ(aoki_domain_call(W, async_in_w, NULL), sizeof(v));
		CHECK_EQ(read(pipefd[0], &v, sizeof(v)), sizeof(v));
		nap_ms(20);
		got = async_copy(wsecret);
		CHECK(got == -EFAULT || got == SECRET);
	}
	CHECK_EQ(got, SECRET);
	atomic_store(&step, 1);
	while (atomic_load(&step) < 2)
		CHECK_EQ(aoki_domain_call(G, touch, gmem), 0);
	/* A key born after the worker: out of its reach. */
	atomic_store(&probe_result, (int)async_copy((const void *)nsecret));
	atomic_store(&step, 3);
	return NULL;
}

static void io_worker(void *arg)
{
	pthread_t t[NLOOP], maker;
	int kw, k, i;
	void *p;

	(void)arg;
	init_pku_or_skip(0);
	CHECK_EQ(pipe(pipefd), 0);
	start_loopers(t);
	CHECK_EQ(aoki_domain_create("w", NULL, &W), 0);
	CHECK_EQ(aoki_domain_alloc(W, 4096, &p), 0);
	wsecret = p;
	CHECK_EQ(aoki_domain_call(W, put, wsecret), 0);
	CHECK_EQ(aoki_domain_thread_create(&maker, NULL, worker_maker, NULL), 0);
	while (atomic_load(&step) < 1)
		nap_ms(1);
	kw = aoki_domain_pkey(W);
	avoid = kw;
	CHECK_EQ(aoki_domain_destroy(W), 0);
	/* Every key handed out from now on is born more than a clock tick
	 * (/proc start times are in ticks) after the worker. */
	nap_ms(50);
	fill_keys();
	for (i = 0; i < ROUNDS_2; i++)
		replace(i);
	atomic_store(&step, 2);
	while (atomic_load(&step) < 3)
		nap_ms(1);
	if (atomic_load(&probe_result) == SECRET)
		_exit(ATTACK_WORKED);
	CHECK_EQ(atomic_load(&probe_result), -EFAULT);
	/* T's exit takes its workers with it: W's key comes back (the
	 * lowest free key is taken first). */
	CHECK_EQ(pthread_join(maker, NULL), 0);
	avoid = -1;
	for (k = -1; i < ROUNDS_2 + 50 && k != kw; i++) {
		k = replace(i);
		if (k != kw)
			nap_ms(20);	/* an exiting worker may still be listed */
	}
	CHECK_EQ(k, kw);
	stop_loopers(t);
}

/* --- 3: a successor takes up a key only its workers hold ------------- */

#define ROUNDS_3 20

static struct aoki_domain *S;
static atomic_int made, leave;

/* Make an io-wq worker inside S's gate, then stay until told to leave:
 * the worker, which holds S's key, lives as long as this thread. */
static void *successor_worker(void *arg)
{
	struct ring r;
	long v;

	(void)arg;
	CHECK_EQ(ring_init(&r), 0);
	CHECK_EQ(aoki_domain_call(S, async_in_w_ring, &r), sizeof(v));
	CHECK_EQ(read(pipefd[0], &v, sizeof(v)), sizeof(v));
	atomic_fetch_add(&made, 1);
	while (!atomic_load(&leave))
		nap_ms(5);
	close(r.fd);
	return NULL;
}

static void successor(void *arg)
{
	pthread_t t[ROUNDS_3];
	struct aoki_domain *other;
	unsigned seen = 0;
	void *p;
	int i, k, r;

	(void)arg;
	init_pku_or_skip(0);
	CHECK_EQ(pipe(pipefd), 0);
	for (i = 0; i < ROUNDS_3; i++) {
		struct aoki_domain_opts o = {
			.flags = AOKI_DOMAIN_RECOVERABLE | (i ? AOKI_DOMAIN_SUCCESSOR : 0),
		};

		r = aoki_domain_create("s", &o, &S);
		if (r < 0) {
			fprintf(stderr, "round %d: aoki_domain_create(\"s\", SUCCESSOR): %d (%s)\n",
				i, r, strerror(-r));
			exit(1);
		}
		k = aoki_domain_pkey(S);
		seen |= 1u << k;
		/* Usable: its memory is its own. */
		CHECK_EQ(aoki_domain_alloc(S, 4096, &p), 0);
		CHECK_EQ(aoki_domain_call(S, put, p), 0);
		CHECK_EQ(aoki_domain_call(S, peek_in, p), SECRET);
		CHECK_EQ(aoki_domain_thread_create(&t[i], NULL, successor_worker, NULL), 0);
		while (atomic_load(&made) <= i)
			nap_ms(1);
		CHECK_EQ(aoki_domain_destroy(S), 0);
	}
	/* More rounds than keys: keys were taken up. */
	CHECK(__builtin_popcount(seen) < ROUNDS_3);
	/* Control: no stranger gets a worker-held key. */
	CHECK_EQ(aoki_domain_create("stranger", NULL, &other), -ENOSPC);
	CHECK_EQ(aoki_domain_create("s", NULL, &other), -ENOSPC);
	atomic_store(&leave, 1);
	for (i = 0; i < ROUNDS_3; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	/* The workers go with their threads: the keys come back. */
	for (i = 0; i < 100 && (r = aoki_domain_create("stranger", NULL, &other)) == -ENOSPC; i++)
		nap_ms(20);
	CHECK_EQ(r, 0);
	CHECK_EQ(aoki_domain_destroy(other), 0);
}

/* Run case @fn in a child; 0 when it passed, else 1 with why. */
static int run_case(void (*fn)(void *), const char *what)
{
	struct child_result res;

	CHECK(in_child(fn, NULL, &res) == 0);
	fputs(res.err, stderr);
	if (res.exited && res.code == ATTACK_WORKED) {
		fprintf(stderr, "FAIL: a key an io-wq worker holds was handed to a new compartment\n");
		return 1;
	}
	if (!res.exited || res.code != 0) {
		fprintf(stderr, "FAIL: %s case: %s %d\n", what, res.exited ? "exit" : "signal",
			res.code);
		return 1;
	}
	return 0;
}

int main(void)
{
	int r = in_child_both_modes(rounds);

	if (r)
		return r;
	OK("24 keys reused while 3 threads loop through gates (with and without hardening)");
	if (run_case(io_worker, "io-wq worker"))
		return 1;
	OK("an io-wq worker made in W's gate: 20 keys reused around W's key, a key born after "
	   "the worker out of its reach, W's key back once the worker's thread exited");
	if (run_case(successor, "successor"))
		return 1;
	OK("20 successors of \"s\", each leaving an io-wq worker that holds its key: keys "
	   "taken up by the successors, refused to others until the workers exited");
	return 0;
}
