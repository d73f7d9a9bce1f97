/* SPDX-License-Identifier: MIT */
/*
 * domain-isolation - a compartment's heap, stack and globals: accessible
 * from inside its gate, a pkey fault (reported, default policy: abort)
 * from outside and from another compartment.
 */
#include <sys/mman.h>

#include "dtest.h"

static struct aoki_domain *A, *B;
static long *heap_a;
static long *stack_a;	/* address of a local of A's gate function */
static AOKI_DOMAIN_GLOBALS(struct { long v[8]; }, glob_a);

static long a_inside(void *arg)
{
	long local = 42;

	(void)arg;
	stack_a = &local;
	poke(heap_a, 1234);
	CHECK_EQ(peek(heap_a), 1234);
	glob_a.v.v[3] = 77;
	CHECK_EQ(glob_a.v.v[3], 77);
	CHECK_EQ(peek(&local), 42);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_NONE);
	return 7;
}

static void read_heap(void *arg) { (void)arg; peek(heap_a); }
static void write_heap(void *arg) { (void)arg; poke(heap_a, 1); }
static void read_stack(void *arg) { (void)arg; peek(stack_a); }
static void write_stack(void *arg) { (void)arg; poke(stack_a, 1); }
static void read_glob(void *arg) { (void)arg; peek(&glob_a.v.v[3]); }
static void write_glob(void *arg) { (void)arg; poke(&glob_a.v.v[3], 1); }

static void read_at(void *arg) { peek(arg); }

/* The protection key of the page at @p (/proc/self/smaps), -1 if none. */
static int pkey_of(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, k = -1, v;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "ProtectionKey: %d", &v) == 1)
			k = v;
	}
	fclose(f);
	return k;
}

static long b_reads_a(void *arg) { return peek(arg); }
static void from_b(void *arg) { aoki_domain_call(B, b_reads_a, arg); }

static void expect_fault(void (*fn)(void *), void *addr, const char *access, const char *where)
{
	struct child_result r;
	char want[64];

	CHECK_PKEY_ABORT(fn, addr, &r);
	snprintf(want, sizeof(want), "%s access to %p", access, addr);
	if (!strstr(r.err, want) || !strstr(r.err, "compartment \"alpha\"") || !strstr(r.err, where)) {
		fprintf(stderr, "report lacks \"%s\" / \"%s\": %s\n", want, where, r.err);
		exit(1);
	}
}

int main(void)
{
	struct child_result r;
	void *p;

	init_pku_or_skip(0);
	CHECK_EQ(aoki_domain_create("alpha", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("beta", NULL, &B), 0);
	CHECK(aoki_domain_pkey(A) > 0 && aoki_domain_pkey(B) > 0);
	CHECK(aoki_domain_pkey(A) != aoki_domain_pkey(B));
	CHECK_EQ(aoki_domain_alloc(A, 64, &p), 0);
	heap_a = p;
	CHECK_EQ(aoki_domain_place(A, &glob_a, sizeof(glob_a)), 0);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);

	CHECK_EQ(aoki_domain_call(A, a_inside, NULL), 7);
	OK("inside: heap, stack and globals read and written");

	expect_fault(read_heap, heap_a, "read", "no compartment");
	expect_fault(write_heap, heap_a, "write", "no compartment");
	expect_fault(read_stack, stack_a, "read", "no compartment");
	expect_fault(write_stack, stack_a, "write", "no compartment");
	expect_fault(read_glob, &glob_a.v.v[3], "read", "no compartment");
	expect_fault(write_glob, &glob_a.v.v[3], "write", "no compartment");
	OK("outside: heap, stack and globals fault on read and write, reported");

	CHECK_PKEY_ABORT(from_b, heap_a, &r);
	CHECK(strstr(r.err, "pkey fault in compartment \"beta\": read access"));
	CHECK(strstr(r.err, "compartment \"alpha\")"));
	OK("another compartment: fault, reported with both names");

	/* Grant, then revoke, the calling thread. */
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_READ), 0);
	CHECK_EQ(peek(heap_a), 1234);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_READ);
	CHECK_PKEY_ABORT(write_heap, heap_a, &r);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_RW), 0);
	poke(heap_a, 99);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_NONE), 0);
	CHECK_PKEY_ABORT(read_heap, heap_a, &r);
	OK("grant read, grant read-write, revoke");

	/* A placed mapping given back before it is unmapped: key 0 at once,
	 * and the destroy does not touch what is mapped there later. */
	{
		long *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		long *again;

		CHECK(m != MAP_FAILED);
		CHECK_EQ(aoki_domain_place(A, m, 4096), 0);
		CHECK_PKEY_ABORT(read_at, m, &r);
		CHECK_EQ(aoki_domain_unplace(A, m, 4096), 0);
		CHECK_EQ(aoki_domain_unplace(A, m, 4096), -ENOENT);
		CHECK_EQ(aoki_domain_unplace(B, &glob_a, sizeof(glob_a)), -ENOENT);
		poke(m, 5);
		CHECK_EQ(munmap(m, 4096), 0);
		again = mmap(m, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		CHECK(again == m);
		/* Now B's: A's destroy must leave it so. */
		CHECK_EQ(aoki_domain_place(B, again, 4096), 0);
		CHECK_EQ(aoki_domain_destroy(A), 0);
		CHECK_EQ(pkey_of(again), aoki_domain_pkey(B));
		CHECK_EQ(aoki_domain_unplace(B, again, 4096), 0);
		CHECK_EQ(pkey_of(again), 0);
		munmap(again, 4096);
	}
	OK("unplace: key 0 again at once, and left alone by the destroy");
	CHECK_EQ(aoki_domain_destroy(B), 0);
	glob_a.v.v[0] = 1;	/* back to key 0 */
	OK("destroy returns placed globals to key 0");
	return 0;
}
