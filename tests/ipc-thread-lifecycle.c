/* SPDX-License-Identifier: MIT */
/*
 * ipc-thread-lifecycle: channel and server life cycles under threads, in
 * one process (for TSan and ASan):
 *   - churn: threads connect and close channels over and over, some
 *     closed with requests still in flight and grants still registered,
 *     while a steady client keeps checking its replies; every channel is
 *     released, none dropped;
 *   - a revoke behind a deferred request waits (parked) until the
 *     deferred request completes, then succeeds;
 *   - aoki_server_destroy while client threads wait in calls and reaps:
 *     every one of them returns promptly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ipc_util.h"

#define NCHURN 4
#define CHURN_ITERS 60

static _Atomic int failed, churning;
static _Atomic uint64_t steady_calls;

#define TCHECK(cond) T_THREAD_CHECK(failed, cond)

/* ---------------------------------------------------------------- churn */

static void *churner(void *arg)
{
	static const unsigned slots[] = { 2, 8, 64 };
	unsigned tid = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < CHURN_ITERS; i++) {
		struct aoki_chan_opts o = { .slots = slots[(i + tid) % 3] };
		struct aoki_chan *ch;
		struct aoki_sqe s[4];
		uint32_t us = 2000, id;
		void *mem;
		int n;

		TCHECK(aoki_connect("life", &o, &ch) == 0);
		TCHECK(t_echo_ok(ch, ((uint64_t)tid << 40) | i));
		if (i % 3 == 0)
			TCHECK(aoki_grant_create(ch, 4096, AOKI_GRANT_WRITE, &id, &mem) == 0);
		/* Leave async requests behind: some still in the server's
		 * handler when the channel goes. */
		for (unsigned k = 0; k < 4; k++)
			s[k] = (struct aoki_sqe){ .op = k ? ECHO_OP_ECHO : ECHO_OP_SLEEP,
						  .tag = k, .len = k ? 0 : sizeof(us),
						  .data = &us };
		n = aoki_submit(ch, s, 4);
		TCHECK(n >= 1 && n <= 4);
		if (i % 2) {
			struct aoki_cqe c[4];

			TCHECK(aoki_reap(ch, c, 4, (unsigned)n, 2000000000) == n);
		}
		aoki_close(ch);
	}
	atomic_fetch_sub(&churning, 1);
	return NULL;
}

static void *steady(void *arg)
{
	struct aoki_chan *ch = arg;
	uint64_t i = 0;

	while (atomic_load(&churning) > 0 && !atomic_load(&failed)) {
		TCHECK(t_echo_ok(ch, i++));
		atomic_fetch_add(&steady_calls, 1);
	}
	return NULL;
}

static void churn(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("life", 2, &st, NULL, NULL);
	struct aoki_chan *ch;
	pthread_t th[NCHURN + 1];

	CHECK_EQ(aoki_connect("life", NULL, &ch), 0);
	atomic_store(&churning, NCHURN);
	for (unsigned t = 0; t < NCHURN; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, churner, (void *)(uintptr_t)t), 0);
	CHECK_EQ(pthread_create(&th[NCHURN], NULL, steady, ch), 0);
	for (unsigned t = 0; t <= NCHURN; t++)
		CHECK_EQ(pthread_join(th[t], NULL), 0);
	CHECK(!atomic_load(&failed));
	CHECK(atomic_load(&steady_calls) > 0);
	/* Every churned channel was released; only the steady one is left. */
	CHECK(t_wait_stat(srv, T_CHANNELS, 1, 3000));
	CHECK(t_wait_stat(srv, T_ACCEPTED, 1 + NCHURN * CHURN_ITERS, 2000));
	CHECK_EQ(t_stat(srv, T_DROPPED), 0);
	CHECK(t_echo_ok(ch, 12345));
	aoki_close(ch);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));
	aoki_server_destroy(srv);
	printf("note: %u channels churned; the steady client made %llu calls\n",
	       NCHURN * CHURN_ITERS, (unsigned long long)atomic_load(&steady_calls));
}

/* ------------------------------------------------- revoke behind defer */

struct revoker {
	struct aoki_chan *ch;
	uint32_t id;
	_Atomic int done;
	int r;
};

static void *revoke_main(void *arg)
{
	struct revoker *rv = arg;

	rv->r = aoki_grant_revoke(rv->ch, rv->id);
	atomic_store(&rv->done, 1);
	return NULL;
}

static void parked_revoke(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("park", 1, &st, NULL, NULL);
	struct aoki_sqe s = { .op = ECHO_OP_DEFER, .tag = 5, .len = 4, .data = "park" };
	struct revoker rv = { 0 };
	struct aoki_cqe cqe;
	pthread_t th;
	void *mem;

	CHECK_EQ(aoki_connect("park", NULL, &rv.ch), 0);
	CHECK_EQ(aoki_grant_create(rv.ch, 4096, AOKI_GRANT_READ, &rv.id, &mem), 0);
	CHECK_EQ(aoki_submit(rv.ch, &s, 1), 1);
	CHECK_EQ(aoki_reap(rv.ch, &cqe, 1, 1, 20000000), 0);	/* parked */
	CHECK_EQ(pthread_create(&th, NULL, revoke_main, &rv), 0);
	/* The deferred request may still use the grant: the revoke waits. */
	t_sleep_ms(50);
	CHECK(!atomic_load(&rv.done));
	/* The next request completes the deferred one, then the revoke. */
	CHECK(t_echo_ok(rv.ch, 1));
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(rv.r, 0);
	CHECK_EQ(aoki_reap(rv.ch, &cqe, 1, 1, 2000000000), 1);
	CHECK_EQ(cqe.tag, 5);
	CHECK(cqe.status == 4 && memcmp(cqe.payload, "park", 4) == 0);
	{
		struct aoki_grant_ref ref = { .grant = rv.id, .length = 1 };

		CHECK_EQ(aoki_call(rv.ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), NULL, 0, NULL),
			 -ENOENT);
	}
	aoki_close(rv.ch);
	aoki_server_destroy(srv);
}

/* ------------------------------------------- destroy under waiting clients */

struct waiter {
	struct aoki_chan *ch;
	int mode;	/* 0: long call, 1: reap with nothing in flight */
	int r;
	_Atomic int64_t at;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint32_t us = 300000;
	struct aoki_cqe c;

	if (w->mode == 0)
		w->r = aoki_call(w->ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
	else
		w->r = aoki_reap(w->ch, &c, 1, 1, -1);
	atomic_store(&w->at, t_now_ns());
	return NULL;
}

static void destroy_under_waiters(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("gone", 2, &st, NULL, NULL);
	struct waiter w[3] = { { .mode = 1 }, { .mode = 1 }, { .mode = 0 } };
	pthread_t th[3];
	int64_t t0;

	for (unsigned i = 0; i < 3; i++) {
		/* Reconnection off: the server is gone for good. */
		CHECK_EQ(aoki_connect("gone", &(struct aoki_chan_opts){ .reconnect_ns = -1 },
				      &w[i].ch), 0);
		CHECK(t_echo_ok(w[i].ch, i));
	}
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
	t_sleep_ms(50);
	/* A 300 ms sleep is in a worker's handler: stopping waits for it,
	 * then every waiter returns, well within a second. */
	t0 = t_now_ns();
	aoki_server_stop(srv);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(pthread_join(th[i], NULL), 0);
		/* The stop says goodbye: -ESHUTDOWN, not a crash. */
		CHECK(w[i].r == -ESHUTDOWN || (w[i].mode == 0 && w[i].r == 0));
	}
	for (unsigned i = 0; i < 3; i++)
		CHECK(atomic_load(&w[i].at) - t0 < 1000000000);
	aoki_server_destroy(srv);
	for (unsigned i = 0; i < 3; i++)
		aoki_close(w[i].ch);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_run_dir();
	churn();
	parked_revoke();
	destroy_under_waiters();
	return T_EXIT_PASS;
}
