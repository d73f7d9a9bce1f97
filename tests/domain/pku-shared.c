/* SPDX-License-Identifier: MIT */
/*
 * domain-shared - a shared region (its own key) that A may read and
 * write and B may only read; read-only sharing of A's own heap with B;
 * and no access at all from outside or from C.
 */
#include "dtest.h"

static struct aoki_domain *A, *B, *C, *S;
static long *shared, *a_heap;

static long a_writes(void *arg)
{
	poke(shared, (long)arg);
	poke(a_heap, (long)arg * 2);
	return peek(shared);
}

static long b_reads(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_rights(S), AOKI_DOMAIN_READ);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_READ);
	return peek(shared) + peek(a_heap);
}

static long b_writes_shared(void *arg) { (void)arg; poke(shared, 0); return 0; }
static long b_writes_a(void *arg) { (void)arg; poke(a_heap, 0); return 0; }
static long c_reads_shared(void *arg) { (void)arg; return peek(shared); }

static void outside_reads(void *arg) { (void)arg; peek(shared); }

int main(void)
{
	struct aoki_domain_opts sh = { .flags = AOKI_DOMAIN_SHARED };
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct aoki_domain_fault f;
	struct child_result r;
	void *p;

	init_pku_or_skip(0);
	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("B", &rec, &B), 0);
	CHECK_EQ(aoki_domain_create("C", &rec, &C), 0);
	CHECK_EQ(aoki_domain_create("S", &sh, &S), 0);
	CHECK_EQ(aoki_domain_alloc(S, 128, &p), 0); shared = p;
	CHECK_EQ(aoki_domain_alloc(A, 128, &p), 0); a_heap = p;
	CHECK_EQ(aoki_domain_attach(A, S, AOKI_DOMAIN_RW), 0);
	CHECK_EQ(aoki_domain_attach(B, S, AOKI_DOMAIN_READ), 0);
	CHECK_EQ(aoki_domain_attach(B, A, AOKI_DOMAIN_READ), 0);

	CHECK_EQ(aoki_domain_call(A, a_writes, (void *)21L), 21);
	CHECK_EQ(aoki_domain_call(B, b_reads, NULL), 63);
	OK("shared region: A writes, B reads; A's heap shared read-only with B");

	CHECK_EQ(aoki_domain_call(B, b_writes_shared, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.domain, "B") && !strcmp(f.owner, "S") && f.access == 'w');
	CHECK(f.addr == (uintptr_t)shared);
	CHECK_EQ(aoki_domain_call(B, b_writes_a, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.owner, "A") && f.access == 'w');
	OK("read-only sharing: writes fault (region and heap)");

	CHECK_EQ(aoki_domain_call(C, c_reads_shared, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.domain, "C") && !strcmp(f.owner, "S") && f.access == 'r');
	CHECK_PKEY_ABORT(outside_reads, NULL, &r);
	CHECK(strstr(r.err, "compartment \"S\""));
	OK("not attached: no access (C, outside)");

	CHECK_EQ(aoki_domain_call(S, c_reads_shared, NULL), -EINVAL);
	CHECK_EQ(aoki_domain_destroy(S), -EBUSY);
	CHECK_EQ(aoki_domain_attach(A, S, AOKI_DOMAIN_NONE), 0);
	CHECK_EQ(aoki_domain_attach(B, S, AOKI_DOMAIN_NONE), 0);
	CHECK_EQ(aoki_domain_destroy(S), 0);
	OK("a shared region has no gate; destroyed once detached");
	return 0;
}
