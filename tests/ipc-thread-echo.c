/* SPDX-License-Identifier: MIT */
/*
 * ipc-thread-echo: the rings under concurrency, all in one process (so
 * that TSan sees both halves).  An in-process echo server with two
 * workers; four channels: 16 slots shared by four client threads, 64
 * and 4 slots by two threads each, and 2 slots by three threads (where
 * claimers lap each other all the time).  Every thread mixes aoki_call (ECHO and
 * ADD) with aoki_submit/aoki_reap batches.  Completions of a shared
 * channel may be reaped by any of its threads, so each async request's
 * tag names its thread and sequence number, its payload is derived from
 * the tag, and a global table checks that every request completes
 * exactly once with the right payload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "ipc_util.h"

#define NCHANS 4
#define NTHREADS 11
#define ROUNDS 400
#define MAX_BATCH 8
#define MAX_ASYNC (ROUNDS * MAX_BATCH)

static const unsigned chan_of_thread[NTHREADS] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3 };
static const unsigned chan_slots[NCHANS] = { 16, 64, 4, 2 };

struct chan_acct {
	struct aoki_chan *ch;
	unsigned nthreads;
	_Atomic unsigned done_submitting;
	_Atomic uint64_t submitted, reaped;
};

static struct chan_acct chans[NCHANS];
/* seen[thread][seq]: how many completions carried that tag. */
static _Atomic uint8_t seen[NTHREADS][MAX_ASYNC];
static _Atomic uint64_t total_calls;
static _Atomic int failed;

#define TCHECK(cond) T_THREAD_CHECK(failed, cond)

static uint64_t mk_tag(unsigned tid, uint32_t seq)
{
	return ((uint64_t)(tid + 1) << 40) | seq;
}

/* Reap what is there (waiting up to @timeout_ns); check each completion. */
static int reap_check(struct chan_acct *a, int64_t timeout_ns)
{
	struct aoki_cqe cqes[16];
	int n = aoki_reap(a->ch, cqes, 16, 1, timeout_ns);

	if (n < 0) {
		fprintf(stderr, "reap: %d\n", n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint64_t tag = cqes[i].tag;
		unsigned tid = (unsigned)(tag >> 40) - 1;
		uint32_t seq = (uint32_t)tag;

		if (tid >= NTHREADS || seq >= MAX_ASYNC || chan_of_thread[tid] != a - chans) {
			fprintf(stderr, "completion with a foreign tag %#llx\n",
				(unsigned long long)tag);
			return -1;
		}
		if (cqes[i].status != (int32_t)t_tag_len(tag) ||
		    !t_tag_check(tag, cqes[i].payload, cqes[i].len)) {
			fprintf(stderr, "completion %#llx: status %d len %u corrupt\n",
				(unsigned long long)tag, cqes[i].status, cqes[i].len);
			return -1;
		}
		atomic_fetch_add(&seen[tid][seq], 1);
	}
	atomic_fetch_add(&a->reaped, (uint64_t)n);
	return n;
}

static void *client(void *arg)
{
	unsigned tid = (unsigned)(uintptr_t)arg;
	struct chan_acct *a = &chans[chan_of_thread[tid]];
	uint32_t seq = 0;
	uint64_t calls = 0;

	for (unsigned round = 0; round < ROUNDS; round++) {
		uint8_t req[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
		struct aoki_sqe sqes[MAX_BATCH];
		uint8_t bufs[MAX_BATCH][AOKI_MSG_PAYLOAD];
		uint64_t ab[2] = { round, (uint64_t)tid << 20 }, sum = 0;
		uint64_t ctag = mk_tag(tid, 0x800000u + round);
		size_t len = t_tag_fill(ctag, req), got = 999;
		unsigned want = 1 + (round + tid) % MAX_BATCH, queued = 0;
		int r;

		/* Synchronous calls; -EAGAIN only means the ring is full of
		 * unreaped async completions: reap some and try again. */
		while ((r = aoki_call(a->ch, ECHO_OP_ECHO, req, len, rep, sizeof(rep),
				      &got)) == -EAGAIN)
			TCHECK(reap_check(a, 0) >= 0);
		TCHECK(r == (int)len);
		TCHECK(t_tag_check(ctag, rep, got));
		while ((r = aoki_call(a->ch, ECHO_OP_ADD, ab, sizeof(ab), &sum, sizeof(sum),
				      &got)) == -EAGAIN)
			TCHECK(reap_check(a, 0) >= 0);
		TCHECK(r == 0 && got == sizeof(sum) && sum == ab[0] + ab[1]);
		calls += 2;

		/* An async batch; a partial submit is fine, the rest follows. */
		for (unsigned i = 0; i < want; i++) {
			uint64_t tag = mk_tag(tid, seq + i);

			sqes[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .tag = tag,
						     .data = bufs[i] };
			sqes[i].len = (uint16_t)t_tag_fill(tag, bufs[i]);
		}
		while (queued < want) {
			r = aoki_submit(a->ch, sqes + queued, want - queued);
			TCHECK(r >= 0 && r <= (int)(want - queued));
			queued += (unsigned)r;
			atomic_fetch_add(&a->submitted, (uint64_t)r);
			if (queued < want)
				TCHECK(reap_check(a, 0) >= 0);
		}
		seq += want;
		TCHECK(reap_check(a, round & 1 ? 1000000 : 0) >= 0);
	}
	atomic_fetch_add(&total_calls, calls);
	atomic_fetch_add(&a->done_submitting, 1);
	/* Drain: completions of this channel, whoever submitted them. */
	int64_t end = t_now_ns() + 20000000000ll;
	while (atomic_load(&a->done_submitting) < a->nthreads ||
	       atomic_load(&a->reaped) < atomic_load(&a->submitted)) {
		TCHECK(t_now_ns() < end);
		TCHECK(reap_check(a, 5000000) >= 0);
	}
	return (void *)(uintptr_t)seq;
}

int main(void)
{
	struct echo_state st;
	struct aoki_server *srv;
	pthread_t th[NTHREADS];
	uint32_t nsub[NTHREADS];
	uint64_t async_total = 0;

	t_run_dir();
	srv = t_echo_inproc("thr", 2, &st, NULL, NULL);
	for (unsigned c = 0; c < NCHANS; c++) {
		struct aoki_chan_opts o = { .slots = chan_slots[c] };

		CHECK_EQ(aoki_connect("thr", &o, &chans[c].ch), 0);
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		chans[chan_of_thread[t]].nthreads++;
	CHECK(t_wait_stat(srv, T_CHANNELS, NCHANS, 2000));

	for (unsigned t = 0; t < NTHREADS; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, client, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < NTHREADS; t++) {
		void *ret;

		CHECK_EQ(pthread_join(th[t], &ret), 0);
		nsub[t] = (uint32_t)(uintptr_t)ret;
	}
	CHECK(!atomic_load(&failed));

	/* Every async request completed exactly once, nothing else did. */
	for (unsigned t = 0; t < NTHREADS; t++) {
		async_total += nsub[t];
		for (uint32_t s = 0; s < MAX_ASYNC; s++) {
			uint8_t n = atomic_load(&seen[t][s]);

			if (n != (s < nsub[t])) {
				fprintf(stderr, "thread %u seq %u completed %u times\n", t, s, n);
				CHECK(0);
			}
		}
	}
	for (unsigned c = 0; c < NCHANS; c++)
		CHECK_EQ(atomic_load(&chans[c].reaped), atomic_load(&chans[c].submitted));
	/* The server counted exactly the requests we made (it counts just
	 * after publishing a reply, so the last count may trail a little). */
	if (!t_wait_stat(srv, T_REQUESTS, async_total + atomic_load(&total_calls), 2000)) {
		fprintf(stderr, "server counted %llu requests, we made %llu\n",
			(unsigned long long)t_stat(srv, T_REQUESTS),
			(unsigned long long)(async_total + atomic_load(&total_calls)));
		CHECK(0);
	}
	CHECK_EQ(t_stat(srv, T_DROPPED), 0);

	for (unsigned c = 0; c < NCHANS; c++)
		aoki_close(chans[c].ch);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));
	aoki_server_destroy(srv);
	printf("note: %u threads on %u channels: %llu calls, %llu async requests\n",
	       NTHREADS, NCHANS, (unsigned long long)atomic_load(&total_calls),
	       (unsigned long long)async_total);
	return T_EXIT_PASS;
}
