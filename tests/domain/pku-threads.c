/* SPDX-License-Identifier: MIT */
/*
 * domain-threads - PKRU is per thread: two threads with different rights
 * on the same pages at the same time; threads entering the same
 * compartment get stacks of their own; aoki_domain_thread_create() starts
 * threads with no rights, pthread_create() and fork() copy the creator's
 * (kernel rule), and fork keeps the keys and the tagged pages.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dtest.h"

static struct aoki_domain *A, *R;
static long *heap_a;
static atomic_int phase;

static long r_reads_a(void *arg) { (void)arg; return peek(heap_a); }

static void *reader_rw(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_RW), 0);
	atomic_store(&phase, 1);
	while (atomic_load(&phase) != 2)
		poke(heap_a, peek(heap_a) + 1);	/* while the other thread cannot */
	return NULL;
}

static void *reader_none(void *arg)
{
	(void)arg;
	while (atomic_load(&phase) != 1)
		;
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	/* The same pages, at the same time: this thread faults (recovered
	 * through compartment R, which has no rights on A either). */
	for (int i = 0; i < 100; i++)
		CHECK_EQ(aoki_domain_call(R, r_reads_a, NULL), -EFAULT);
	atomic_store(&phase, 2);
	return NULL;
}

static void *rights_of_a(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)aoki_domain_rights(A);
}

static pthread_barrier_t both_inside;

static long where(void *arg)
{
	long local;

	*(uintptr_t *)arg = (uintptr_t)&local;
	pthread_barrier_wait(&both_inside);	/* both stacks are live now */
	return 0;
}

static void *enter_a(void *arg)
{
	CHECK_EQ(aoki_domain_call(A, where, arg), 0);
	return NULL;
}

static void child_reads(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	CHECK_EQ(peek(heap_a), 4242);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_NONE), 0);
	peek(heap_a);	/* now faults */
}

int main(void)
{
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct child_result r;
	pthread_t t1, t2;
	uintptr_t s1 = 0, s2 = 0;
	void *p, *ret;

	init_pku_or_skip(0);
	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("R", &rec, &R), 0);
	CHECK_EQ(aoki_domain_alloc(A, 64, &p), 0);
	heap_a = p;

	CHECK_EQ(aoki_domain_thread_create(&t1, NULL, reader_rw, NULL), 0);
	CHECK_EQ(aoki_domain_thread_create(&t2, NULL, reader_none, NULL), 0);
	CHECK_EQ(pthread_join(t1, NULL), 0);
	CHECK_EQ(pthread_join(t2, NULL), 0);
	OK("two threads, different rights, same pages, concurrently");

	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_RW), 0);
	poke(heap_a, 4242);
	CHECK_EQ(aoki_domain_thread_create(&t1, NULL, rights_of_a, NULL), 0);
	CHECK_EQ(pthread_join(t1, &ret), 0);
	CHECK_EQ((intptr_t)ret, AOKI_DOMAIN_NONE);
	CHECK_EQ(pthread_create(&t1, NULL, rights_of_a, NULL), 0);
	CHECK_EQ(pthread_join(t1, &ret), 0);
	CHECK_EQ((intptr_t)ret, AOKI_DOMAIN_RW);
	OK("aoki_domain_thread_create: no rights; pthread_create: the creator's (kernel)");

	CHECK_PKEY_ABORT(child_reads, NULL, &r);
	OK("fork: the child inherits rights, keys and tagged pages; revoking works there");
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_NONE), 0);

	pthread_barrier_init(&both_inside, NULL, 2);
	CHECK_EQ(aoki_domain_thread_create(&t1, NULL, enter_a, &s1), 0);
	CHECK_EQ(aoki_domain_thread_create(&t2, NULL, enter_a, &s2), 0);
	CHECK_EQ(pthread_join(t1, NULL), 0);
	CHECK_EQ(pthread_join(t2, NULL), 0);
	CHECK(s1 && s2 && (s1 > s2 ? s1 - s2 : s2 - s1) >= 64 * 1024);
	OK("each thread entering a compartment has its own stack there (freed at thread exit)");

	CHECK_EQ(aoki_domain_destroy(A), 0);
	CHECK_EQ(aoki_domain_destroy(R), 0);
	return 0;
}
