/* SPDX-License-Identifier: MIT */
/*
 * domain-gates - nested gates (A calls B calls C), re-entry, rights inside
 * each level, restoration on return, depth limit, the key limit (keys are
 * not virtualised: -ENOSPC), and the checked wrpkru: jumping straight to
 * a gate's wrpkru with a forged PKRU traps instead of granting it.
 */
#include <stdint.h>

#include "dtest.h"

static struct aoki_domain *A, *B, *C;
static long *ha, *hb, *hc;

static long in_c(void *arg)
{
	CHECK(aoki_domain_current() == C);
	CHECK_EQ(aoki_domain_rights(C), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_NONE);
	poke(hc, peek(hc) + 1);
	return (long)arg + 100;
}

static long in_b(void *arg)
{
	long before = peek(hb);
	long r;

	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	r = aoki_domain_call(C, in_c, arg);
	/* Back in B: B's rights again, C's gone. */
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(C), AOKI_DOMAIN_NONE);
	poke(hb, before + 1);
	return r + 10;
}

static long in_a(void *arg)
{
	long local = 5, r;

	poke(ha, 1);
	r = aoki_domain_call(B, in_b, arg);
	CHECK_EQ(local, 5);
	CHECK(aoki_domain_current() == A);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_NONE);
	return r + 1;
}

static long a_reenter(void *arg);
static long b_back_to_a(void *arg) { return aoki_domain_call(A, a_reenter, arg); }

static long a_reenter(void *arg)
{
	long n = (long)arg, local = n * 7, r = 0;

	if (n > 0)
		r = aoki_domain_call(B, b_back_to_a, (void *)(n - 1));
	CHECK_EQ(local, n * 7);	/* the outer activation's stack survived */
	return r + n;
}

static long a_deep(void *arg)
{
	long n = (long)arg;

	return n ? aoki_domain_call(A, a_deep, (void *)(n - 1)) : 0;
}

extern const char aoki__gate_enter[], aoki__wrpkru[];
extern uint32_t aoki__pkru_table[];

static const char *find_wrpkru(const char *from)
{
	for (const char *p = from;; p++)
		if (p[0] == 0x0f && p[1] == 0x01 && (unsigned char)p[2] == 0xef)
			return p;
}

/* Jump to the wrpkru inside aoki__gate_enter with PKRU = 0 (all keys)
 * and the table index of A: the compare against the table traps. */
static void jump_gate(void *arg)
{
	const char *w = find_wrpkru(aoki__gate_enter);

	(void)arg;
	__asm__ volatile("movq %0, %%r15\n\t"
			 "movq %1, %%rbx\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "jmp *%2\n\t"
			 :: "r"(aoki__pkru_table), "r"(0L), "r"(w)
			 : "rax", "rcx", "rdx", "rbx", "r15", "memory");
}

/* The same with the rights-setting wrpkru (grant): edi is the value the
 * function was asked to write, eax the forged one. */
static void jump_grant(void *arg)
{
	const char *w = find_wrpkru(aoki__wrpkru);

	(void)arg;
	__asm__ volatile("movl $0x55555554, %%edi\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "jmp *%0\n\t"
			 :: "r"(w) : "rax", "rcx", "rdx", "rdi", "memory");
}

int main(void)
{
	struct aoki_domain *extra[16];
	struct child_result r;
	void *p;
	int n = 0, rc;

	init_pku_or_skip(0);
	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	CHECK_EQ(aoki_domain_create("C", NULL, &C), 0);
	CHECK_EQ(aoki_domain_alloc(A, 8, &p), 0); ha = p;
	CHECK_EQ(aoki_domain_alloc(B, 8, &p), 0); hb = p;
	CHECK_EQ(aoki_domain_alloc(C, 8, &p), 0); hc = p;
	CHECK_EQ(aoki_domain_call(C, in_c, NULL), 100);
	CHECK_EQ(aoki_domain_call(A, in_a, (void *)1L), 112);
	CHECK(aoki_domain_current() == NULL);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_rights(C), AOKI_DOMAIN_NONE);
	OK("nested A -> B -> C: each level has its own rights only; both restored on return");

	CHECK_EQ(aoki_domain_call(A, a_reenter, (void *)6L), 21);
	OK("re-entry A -> B -> A ... keeps the outer activations' stacks");

	/* Rights of the outside thread are saved and restored by a gate. */
	CHECK_EQ(aoki_domain_grant(C, AOKI_DOMAIN_READ), 0);
	CHECK_EQ(aoki_domain_call(A, in_a, (void *)1L), 112);
	CHECK_EQ(aoki_domain_rights(C), AOKI_DOMAIN_READ);
	CHECK_EQ(aoki_domain_grant(C, AOKI_DOMAIN_NONE), 0);
	OK("the caller's PKRU is restored exactly");

	CHECK(in_child(jump_gate, NULL, &r) == 0);
	CHECK(!r.exited && r.code == SIGILL);
	CHECK(in_child(jump_grant, NULL, &r) == 0);
	CHECK(!r.exited && r.code == SIGILL);
	OK("a jump to a gate's wrpkru with a forged PKRU traps at the check (SIGILL)");

	CHECK_EQ(aoki_domain_call(A, a_deep, (void *)40L), -ELOOP);
	CHECK_EQ(aoki_domain_call(A, a_deep, (void *)31L), 0);
	OK("nesting deeper than 32 gates: -ELOOP");

	/* Keys are not virtualised: creation stops at the hardware limit. */
	rc = 0;
	for (n = 0; n < 16; n++) {
		char name[8];

		snprintf(name, sizeof(name), "x%d", n);
		rc = aoki_domain_create(name, NULL, &extra[n]);
		if (rc < 0)
			break;
	}
	CHECK_EQ(rc, -ENOSPC);
	CHECK(n >= 1 && n <= 11);	/* 14 keys (one is the frame key), 3 taken by A, B, C */
	printf("note: %d more compartments fitted before -ENOSPC\n", n);
	while (n--)
		CHECK_EQ(aoki_domain_destroy(extra[n]), 0);
	CHECK_EQ(aoki_domain_create("after", NULL, &extra[0]), 0);
	CHECK_EQ(aoki_domain_destroy(extra[0]), 0);
	OK("more compartments than keys: refused with -ENOSPC, keys reusable after destroy");
	return 0;
}
