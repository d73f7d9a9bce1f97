/* SPDX-License-Identifier: MIT */
/*
 * ipc-thread-grant: grants under concurrency, in one process (TSan sees
 * the acceptor registering grants while the worker resolves and revokes
 * them).  Several threads share one channel with a small grant table;
 * each creates a grant, checks that FILL and SUM see exactly its own
 * memory, and revokes it, over and over, so ids are reused constantly.
 * A revoke must only ever unmap the grant it revoked, never a new grant
 * that reused the id meanwhile.  Meanwhile other threads call with
 * stale and random grant ids, which must fail cleanly or see a whole,
 * consistent grant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ipc_util.h"

#define NOWNERS 4
#define NPROBES 2
#define ITERS 300
#define GRANT_BYTES 4096
#define MAX_GRANTS 4

struct fill_req {
	struct aoki_grant_ref ref;
	uint8_t value;
};

static struct aoki_chan *ch;
static _Atomic int failed;
static _Atomic int owners_left = NOWNERS;
static _Atomic uint64_t probe_ok, probe_enoent, table_full;

#define TCHECK(cond) T_THREAD_CHECK(failed, cond)

static int sum_call(uint32_t id, uint64_t off, uint32_t len, uint64_t *sum)
{
	struct aoki_grant_ref ref = { .grant = id, .offset = off, .length = len };
	int r;

	while ((r = aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), sum, sizeof(*sum),
			      NULL)) == -EAGAIN)
		sched_yield();
	return r;
}

static void *owner(void *arg)
{
	unsigned tid = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < ITERS; i++) {
		uint8_t v = (uint8_t)(tid * 30 + i % 30 + 1), w = (uint8_t)(v + 120);
		struct fill_req f;
		uint32_t id;
		uint8_t *mem;
		uint64_t sum = 0;
		int r;

		r = aoki_grant_create(ch, GRANT_BYTES, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &id,
				      (void **)&mem);
		if (r == -ENOSPC) {	/* the others hold every id: retry */
			atomic_fetch_add(&table_full, 1);
			sched_yield();
			i--;
			continue;
		}
		TCHECK(r == 0 && id < MAX_GRANTS);
		/* Our memory is ours: another thread's revoke of a grant that
		 * had the same id must not have unmapped it. */
		memset(mem, v, GRANT_BYTES);
		TCHECK(sum_call(id, 0, GRANT_BYTES, &sum) == 0);
		TCHECK(sum == (uint64_t)v * GRANT_BYTES);
		memset(&f, 0, sizeof(f));
		f.ref = (struct aoki_grant_ref){ .grant = id, .offset = 8, .length = 100 };
		f.value = w;
		while ((r = aoki_call(ch, ECHO_OP_GRANT_FILL, &f, sizeof(f.ref) + 1, NULL, 0,
				      NULL)) == -EAGAIN)
			sched_yield();
		TCHECK(r == 0);
		for (unsigned k = 0; k < GRANT_BYTES; k++)
			TCHECK(mem[k] == (k >= 8 && k < 108 ? w : v));
		r = aoki_grant_revoke(ch, id);
		if (r != 0)
			fprintf(stderr, "thread %u: revoke of grant %u: %d\n", tid, id, r);
		TCHECK(r == 0);
		/* Revoked: the id now fails, or names somebody else's grant
		 * (whose bytes are then never ours: v and w are unique). */
		r = sum_call(id, 8, 1, &sum);
		TCHECK(r == -ENOENT || (r == 0 && sum != v && sum != w));
	}
	atomic_fetch_sub(&owners_left, 1);
	return NULL;
}

/* Probe random ids while the owners churn them. */
static void *prober(void *arg)
{
	uint64_t x = (uintptr_t)arg * 7919 + 1;

	while (atomic_load(&owners_left) > 0 && !atomic_load(&failed)) {
		uint64_t sum;
		int r;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		r = sum_call((uint32_t)(x >> 33) % (MAX_GRANTS + 2), 0, GRANT_BYTES, &sum);
		TCHECK(r == 0 || r == -ENOENT);
		/* Either a live grant (its bytes are being written by its
		 * owner, so the sum is not checked) or none; never a crash. */
		atomic_fetch_add(r == 0 ? &probe_ok : &probe_enoent, 1);
	}
	return NULL;
}

int main(void)
{
	struct aoki_chan_opts o = { .max_grants = MAX_GRANTS, .slots = 16 };
	struct echo_state st;
	struct aoki_server *srv;
	pthread_t th[NOWNERS + NPROBES];

	t_run_dir();
	srv = t_echo_inproc("tgrant", 1, &st, NULL, NULL);
	CHECK_EQ(aoki_connect("tgrant", &o, &ch), 0);
	for (unsigned t = 0; t < NOWNERS; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, owner, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < NPROBES; t++)
		CHECK_EQ(pthread_create(&th[NOWNERS + t], NULL, prober, (void *)(uintptr_t)t),
			 0);
	for (unsigned t = 0; t < NOWNERS + NPROBES; t++)
		CHECK_EQ(pthread_join(th[t], NULL), 0);
	CHECK(!atomic_load(&failed));
	/* Every grant was revoked: every id is free again. */
	for (uint32_t id = 0; id < MAX_GRANTS; id++) {
		uint64_t sum;

		CHECK_EQ(sum_call(id, 0, 1, &sum), -ENOENT);
	}
	CHECK(t_echo_ok(ch, 1));
	CHECK_EQ(t_stat(srv, T_DROPPED), 0);
	aoki_close(ch);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));
	aoki_server_destroy(srv);
	printf("note: %u x %u grant cycles on %u ids (%llu table-full retries); "
	       "probes: %llu hits, %llu -ENOENT\n", NOWNERS, ITERS, MAX_GRANTS,
	       (unsigned long long)atomic_load(&table_full),
	       (unsigned long long)atomic_load(&probe_ok),
	       (unsigned long long)atomic_load(&probe_enoent));
	return T_EXIT_PASS;
}
