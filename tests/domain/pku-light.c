/* SPDX-License-Identifier: MIT */
/*
 * domain-light - the light gate (aoki_domain_call_light), without and with
 * hardening: its callee is confined like the protected gate's (a read of
 * another compartment is a pkey fault), the caller's PKRU comes back,
 * nesting with either gate and re-entry work, the depth limit holds, and
 * every fault of tests/domain/recover.h is recovered through it.  The
 * stack top it switches to must lie in the compartment arena.  The
 * hardening scan accepts its wrpkru sites (they lie in the gate text: init
 * succeeds) and the gate text holds exactly the eight wrpkru the runtime
 * has.  The documented trust assumption is shown too: a callee that
 * rewrites its key-0 gate frame returns with the PKRU it wrote (frame key
 * excepted), where the protected gate ignores the same forgery.
 * Jumps into its two wrpkru are in pku-wrpkru.c, a revocation of a caller
 * PKRU it saved in pku-reuse.c.
 */
#define _GNU_SOURCE
#include "recover.h"
#include "../../lib/domain/internal.h"

#define SECRET 0x5ec2e7L

static struct aoki_domain *A, *B, *C, *R, *N;
static long *secret;	/* in B */

static long put(void *arg) { poke(arg, SECRET); return 0; }
static long read_secret(void *arg) { (void)arg; return peek(secret); }

static void confined_child(void *arg)
{
	(void)arg;
	aoki_domain_call_light(A, read_secret, NULL);
}

/* Inside A through the light gate: A's rights only, whatever the caller
 * was granted. */
static long a_rights(void *arg)
{
	(void)arg;
	CHECK(aoki_domain_current() == A);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	CHECK_EQ(aoki_domain_rights(B), AOKI_DOMAIN_NONE);
	return 5;
}

static long c_leaf(void *arg) { CHECK(aoki_domain_current() == C); return (long)arg + 1; }
static long b_mid(void *arg)
{
	CHECK(aoki_domain_current() == B);
	CHECK_EQ(peek(secret), SECRET);
	return aoki_domain_call_light(C, c_leaf, arg) + 10;
}
static long a_top(void *arg)
{
	uint32_t mine = aoki__rdpkru();
	long r;

	r = aoki_domain_call(B, b_mid, arg) + 100;	/* protected inside light */
	CHECK_EQ(aoki__rdpkru(), mine);
	CHECK_EQ(aoki_domain_call_light(A, a_rights, NULL), 5);	/* re-entry */
	CHECK(aoki_domain_current() == A);
	CHECK_EQ(aoki__rdpkru(), mine);
	return r;
}

static long recurse(void *arg)
{
	long n = (long)arg;

	return n ? aoki_domain_call_light(A, recurse, (void *)(n - 1)) : 0;
}

/* The trust assumption: the callee rewrites the caller PKRU in its key-0
 * frame (here: every key but the frame key). */
static long forge_frame(void *arg)
{
	(void)arg;
	dom_tls.frames[dom_tls.depth - 1].caller_pkru = PKRU_AD(dom_rt.gkey);
	return 0;
}

static void forge_frame_key_child(void *arg)
{
	(void)arg;
	aoki_domain_call_light(A, (aoki_domain_fn)(uintptr_t)arg, NULL);
}

static long forge_with_frame_key(void *arg)
{
	(void)arg;
	dom_tls.frames[dom_tls.depth - 1].caller_pkru = 0;	/* the frame key too */
	return 0;
}

/* A stack top outside the compartment arena (key-0 metadata forged): the
 * light gate refuses it like the protected one. */
static struct dom_stack fake_s;
static uint8_t evil_stack[16384] __attribute__((aligned(16)));

static void forged_top_child(void *arg)
{
	(void)arg;
	fake_s = *dom_tls.stacks[B->idx];
	fake_s.top = evil_stack + sizeof(evil_stack);
	dom_tls.stacks[B->idx] = &fake_s;
	aoki_domain_call_light(B, read_secret, NULL);
	_exit(3);
}

static void run(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct aoki_domain_fault f;
	struct child_result res;
	const char *mode = flags ? "hardened: " : "";
	uint32_t pkru;
	long n = 0;
	void *p;

	init_pku_or_skip(flags);
	CHECK_EQ(aoki_domain_hardened(), !!(flags & AOKI_DOMAIN_HARDEN));
	for (const char *q = aoki__gate_text_start; q + 2 < aoki__gate_text_end; q++)
		n += q[0] == 0x0f && q[1] == 0x01 && (unsigned char)q[2] == 0xef;
	CHECK_EQ(n, 8);
	printf("ok: %sinit (scan) accepts the light gate's wrpkru; the gate text holds 8\n", mode);

	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	CHECK_EQ(aoki_domain_create("C", NULL, &C), 0);
	CHECK_EQ(aoki_domain_create("rec", &rec, &R), 0);
	CHECK_EQ(aoki_domain_create("plain", NULL, &N), 0);
	CHECK_EQ(aoki_domain_alloc(B, 64, &p), 0);
	secret = p;
	CHECK_EQ(aoki_domain_call_light(B, put, secret), 0);	/* the thread's first gate */

	CHECK_PKEY_ABORT(confined_child, NULL, &res);
	CHECK(strstr(res.err, "compartment \"A\"") && strstr(res.err, "compartment \"B\")"));
	CHECK_EQ(aoki_domain_call_light(R, read_secret, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK(!strcmp(f.owner, "B") && f.pkey == aoki_domain_pkey(B) && f.access == 'r');
	printf("ok: %sthe callee is confined: reading another compartment faults\n", mode);

	CHECK_EQ(aoki_domain_grant(B, AOKI_DOMAIN_READ), 0);
	pkru = aoki__rdpkru();
	CHECK_EQ(aoki_domain_call_light(A, a_rights, NULL), 5);
	CHECK_EQ(aoki__rdpkru(), pkru);
	CHECK_EQ(aoki_domain_call_light(R, rc_null_read, NULL), -EFAULT);
	CHECK_EQ(aoki__rdpkru(), pkru);
	CHECK_EQ(aoki_domain_grant(B, AOKI_DOMAIN_NONE), 0);
	printf("ok: %sthe caller's PKRU comes back (also after a recovered fault)\n", mode);

	CHECK_EQ(aoki_domain_call_light(A, a_top, (void *)1L), 112);
	CHECK_EQ(aoki_domain_call_light(A, recurse, (void *)31L), 0);
	CHECK_EQ(aoki_domain_call_light(A, recurse, (void *)40L), -ELOOP);
	CHECK(aoki_domain_current() == NULL);
	printf("ok: %snesting light > protected > light, re-entry, depth limit\n", mode);

	CHECK(in_child(forged_top_child, NULL, &res) == 0);
	CHECK(!res.exited && res.code == SIGILL);
	printf("ok: %sa stack top outside the compartment arena: SIGILL\n", mode);

	pkru = aoki__rdpkru();
	rc_gate = aoki_domain_call_light;
	rc_setup();
	for (size_t i = 0; i < RC_NCASES; i++) {
		rc_check_recovered(R, &rc_cases[i], 200);
		CHECK_EQ(aoki__rdpkru(), pkru);
		rc_check_kills(N, &rc_cases[i]);
	}
	CHECK_EQ(rc_gate(R, rc_overflow, NULL), -EFAULT);
	CHECK_EQ(aoki__rdpkru(), pkru);
	printf("ok: %sfault recovery through the light gate (every case, stack overflow)\n", mode);

	CHECK_EQ(aoki_domain_call(A, forge_frame, NULL), 0);
	CHECK_EQ(aoki__rdpkru(), pkru);
	CHECK_EQ(aoki_domain_call_light(A, forge_frame, NULL), 0);
	CHECK_EQ(peek(secret), SECRET);	/* the forged PKRU opens B */
	aoki_domain_revoke_all();
	CHECK(in_child(forge_frame_key_child, (void *)(uintptr_t)forge_with_frame_key, &res) == 0);
	CHECK(!res.exited && res.code == SIGILL);
	printf("ok: %sdocumented: a light callee forging its key-0 frame returns with that PKRU "
	       "(protected gate: ignored), never with the frame key (SIGILL)\n", mode);
}

int main(void)
{
	return in_child_both_modes(run);
}
