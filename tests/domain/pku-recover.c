/* SPDX-License-Identifier: MIT */
/*
 * domain-recover (PKU) - fault recovery with PKU, without and with
 * hardening: each fault of tests/domain/recover.h (NULL read, write to a
 * read-only page, SIGBUS, division by zero, ud2, abort()) in a recoverable
 * compartment makes its gate return -EFAULT through the protected frame
 * stack, with the caller's PKRU back, many times in a row; in a
 * non-recoverable one it kills (the control).  A pkey fault is still
 * reported with its owner and key.  Traps of the gate's own checks still
 * kill, also when the compartment running is recoverable: a callee that
 * returns with a forged frame-stack pointer, and one that jumps into the
 * trap path.  The native counterpart is tests/domain-recover.c.
 */
#define _GNU_SOURCE
#include "recover.h"
#include "../../lib/domain/internal.h"

#define REPS 1000	/* faulting calls in a row per case */

static struct aoki_domain *R, *N, *B;
static long *heap_b;

static long r_writes_b(void *arg) { (void)arg; poke(heap_b, 1); return 0; }

/* Return to the gate with r12 (its frame-stack pointer) forged. */
__attribute__((visibility("hidden"))) long rc_forge_r12(void *g);
__asm__(".text\n"
	".p2align 4\n"
	".type rc_forge_r12, @function\n"
	"rc_forge_r12:\n"
	"\tmovq %rdi, %r12\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	".size rc_forge_r12, .-rc_forge_r12\n");

static uint64_t forged_page[512] __attribute__((aligned(4096)));

static void forged_r12_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, rc_forge_r12, forged_page);
	_exit(3);	/* not reached: the gate's exit check traps */
}

static long r_jumps_gate_bad(void *arg)
{
	(void)arg;
	__asm__ volatile("call aoki__gate_bad" ::: "memory");
	return 0;
}

static void gate_bad_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, r_jumps_gate_bad, NULL);
	_exit(3);
}

static void run(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct aoki_domain_fault f;
	uint32_t pkru;
	void *p;

	init_pku_or_skip(flags);
	CHECK_EQ(aoki_domain_hardened(), !!(flags & AOKI_DOMAIN_HARDEN));
	CHECK_EQ(aoki_domain_create("rec", &rec, &R), 0);
	CHECK_EQ(aoki_domain_create("plain", NULL, &N), 0);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	CHECK_EQ(aoki_domain_alloc(B, 64, &p), 0);
	heap_b = p;
	rc_setup();
	CHECK_EQ(aoki_domain_grant(N, AOKI_DOMAIN_READ), 0);	/* a caller PKRU to get back */
	CHECK_EQ(aoki_domain_call(R, rc_ok, NULL), 1);	/* the thread's first gate sets its frame stack up */
	pkru = aoki__rdpkru();

	for (size_t i = 0; i < RC_NCASES; i++) {
		rc_check_recovered(R, &rc_cases[i], REPS);
		CHECK_EQ(aoki__rdpkru(), pkru);
		rc_check_kills(N, &rc_cases[i]);
		printf("ok: %s%s: -EFAULT, report, caller PKRU back, %d more; kills when not recoverable\n",
		       flags ? "hardened: " : "", rc_cases[i].name, REPS);
	}

	CHECK_EQ(aoki_domain_call(R, rc_overflow, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK_EQ(f.signo, SIGSEGV);
	CHECK_EQ(aoki_domain_call(R, rc_ok, (void *)1L), 2);
	CHECK_EQ(aoki__rdpkru(), pkru);
	OK("stack overflow into the guard page: -EFAULT");

	CHECK_EQ(aoki_domain_call(R, r_writes_b, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.domain, "rec") && !strcmp(f.owner, "B"));
	CHECK_EQ(f.pkey, aoki_domain_pkey(B));
	CHECK_EQ(f.signo, SIGSEGV);
	CHECK_EQ(f.code, 4);	/* SEGV_PKUERR */
	CHECK(f.access == 'w' && f.addr == (uintptr_t)heap_b);
	CHECK_EQ(aoki__rdpkru(), pkru);
	OK("a recovered pkey fault reports owner, key, SIGSEGV/SEGV_PKUERR");

	rc_expect_killed(forged_r12_child, NULL, SIGILL, "gate exit with a forged frame-stack pointer");
	rc_expect_killed(gate_bad_child, NULL, SIGILL, "a recoverable callee jumping to the gate's trap");
	OK("traps of the gate code kill, also under a recoverable compartment");
}

int main(void)
{
	return in_child_both_modes(run);
}
