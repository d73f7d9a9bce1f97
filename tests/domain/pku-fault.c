/* SPDX-License-Identifier: MIT */
/*
 * domain-fault - pkey fault reports and policies: the default policy
 * prints the compartment, the address and the access and aborts; a
 * recoverable compartment returns -EFAULT from its gate, the caller's
 * stack, registers and PKRU intact, also from inside a nested gate; the
 * compartment can be entered again afterwards.  Signal handlers run with
 * no compartment rights, even when the signal interrupts a gate.
 */
#include <stdint.h>

#include "dtest.h"

static struct aoki_domain *A, *B, *R;
static long *heap_b;

static long a_reads_b(void *arg) { (void)arg; return peek(heap_b); }
static void abort_policy(void *arg) { (void)arg; aoki_domain_call(A, a_reads_b, NULL); }

static long r_writes_b(void *arg) { (void)arg; poke(heap_b, 1); return 0; }
static long r_ok(void *arg) { return (long)arg + 1; }

static long a_calls_r(void *arg)
{
	volatile long keep = 0x1234;
	long r;

	(void)arg;
	r = aoki_domain_call(R, r_writes_b, NULL);
	CHECK_EQ(keep, 0x1234);
	CHECK(aoki_domain_current() == A);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(R), AOKI_DOMAIN_NONE);
	return r;
}

static volatile int handler_rights = -1;

static void on_usr1(int sig)
{
	(void)sig;
	handler_rights = aoki_domain_rights(A);
}

static long a_raises(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	raise(SIGUSR1);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);	/* restored after */
	return 0;
}

int main(void)
{
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct aoki_domain_fault f;
	struct child_result r;
	struct sigaction sa;
	char want[160];
	void *p;
	register long callee_saved __asm__("rbx") = 0x5eed;

	init_pku_or_skip(0);
	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	CHECK_EQ(aoki_domain_create("R", &rec, &R), 0);
	CHECK_EQ(aoki_domain_alloc(B, 64, &p), 0);
	heap_b = p;
	CHECK_EQ(aoki_domain_last_fault(&f), -ENOENT);

	CHECK_PKEY_ABORT(abort_policy, NULL, &r);
	snprintf(want, sizeof(want),
		 "aoki: pkey fault in compartment \"A\": read access to %p (pkey %d, compartment \"B\")",
		 (void *)heap_b, aoki_domain_pkey(B));
	if (!strstr(r.err, want)) {
		fprintf(stderr, "want \"%s\", got \"%s\"\n", want, r.err);
		return 1;
	}
	OK("default policy: one report line (compartment, address, access, owner), abort");

	CHECK_EQ(aoki_domain_call(R, r_writes_b, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.domain, "R") && !strcmp(f.owner, "B"));
	CHECK(f.addr == (uintptr_t)heap_b && f.access == 'w' && f.pkey == aoki_domain_pkey(B));
	__asm__ volatile("" : "+r"(callee_saved));
	CHECK_EQ(callee_saved, 0x5eed);
	CHECK(aoki_domain_current() == NULL);
	CHECK_EQ(aoki_domain_rights(R), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_call(R, r_ok, (void *)4L), 5);
	OK("recoverable policy: -EFAULT from the gate, report kept, caller intact, re-entry works");

	CHECK_EQ(aoki_domain_call(A, a_calls_r, NULL), -EFAULT);
	OK("recoverable fault in a nested gate returns to the calling compartment");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;	/* the compartment's stack is not the handler's */
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	CHECK_EQ(aoki_domain_call(A, a_raises, NULL), 0);
	CHECK_EQ(handler_rights, AOKI_DOMAIN_NONE);
	OK("a signal handler interrupting a gate runs with no compartment rights");
	return 0;
}
