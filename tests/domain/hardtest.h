/* SPDX-License-Identifier: MIT */
/*
 * hardtest.h - the frame of the hardening tests: each attack runs in a
 * fresh child, once without and once with the hardening mode; it exits
 * ATTACK_WORKED when it read or changed the compartment's secret, or
 * ATTACK_BLOCKED when the system refused it.
 */
#ifndef AOKI_HARDTEST_H
#define AOKI_HARDTEST_H

#include "dtest.h"

#define ATTACK_WORKED 10
#define ATTACK_BLOCKED 20
#define ATTACK_UNSUPPORTED 30	/* the kernel refuses it anyway (no hardening) */
#define SECRET 0x5ec2e7L

static struct aoki_domain *A, *Probe;
static long *secret;

static long put_secret(void *arg) { poke(arg, SECRET); return 0; }
static long get_secret(void *arg) { return peek(arg); }
static long set_secret(void *arg) { poke(arg, 1); return 0; }

/*
 * The control of every attack: code holding no rights on the victim
 * (compartment "probe", recoverable) neither reads nor writes the secret:
 * both accesses take a pkey fault on the victim's key.  So an attack that
 * reaches the secret got there by the attack, not because the page was
 * never protected (a no-op pkey_mprotect, a PKRU that opens everything).
 */
static void control_faults(void)
{
	struct aoki_domain_fault f;

	CHECK_EQ(aoki_domain_call(Probe, get_secret, secret), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK_EQ(f.pkey, aoki_domain_pkey(A));
	CHECK_EQ(f.access, 'r');
	CHECK_EQ(aoki_domain_call(Probe, set_secret, secret), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK_EQ(f.pkey, aoki_domain_pkey(A));
	CHECK_EQ(f.access, 'w');
	CHECK_EQ(aoki_domain_call(A, get_secret, secret), SECRET);
}

/* In the child: init (hardened or not), compartment A with a secret,
 * and the control above. */
static void victim_setup(unsigned flags)
{
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	void *p;
	int r = aoki_domain_init(flags | AOKI_DOMAIN_QUIET);

	if (r) {
		fprintf(stderr, "init: %d\n", r);
		_exit(1);
	}
	CHECK(aoki_domain_isolated());
	CHECK_EQ(aoki_domain_create("victim", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("probe", &rec, &Probe), 0);
	CHECK_EQ(aoki_domain_alloc(A, 4096, &p), 0);	/* a page of its own */
	secret = p;
	CHECK_EQ(aoki_domain_call(A, put_secret, secret), 0);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	control_faults();
}

static void probe(void *arg)
{
	(void)arg;
	aoki_domain_init(AOKI_DOMAIN_QUIET);
	_exit(aoki_domain_isolated() ? 0 : 77);
}

struct attack {
	const char *name;
	void (*run)(unsigned flags);
	int plain_only_blocked;	/* 1: not run without hardening (would crash) */
};

static void run_one(void *arg)
{
	const struct attack *a = ((void **)arg)[0];
	unsigned flags = *(unsigned *)((void **)arg)[1];

	a->run(flags);
	_exit(1);	/* an attack must decide */
}

static int run_attacks(const struct attack *list, unsigned n)
{
	struct child_result r;
	unsigned plain = 0, hard = AOKI_DOMAIN_HARDEN;
	int failed = 0;

	CHECK(in_child(probe, NULL, &r) == 0);
	if (r.exited && r.code == 77) {
		printf("SKIP: no PKU here\n");
		return 77;
	}
	for (unsigned i = 0; i < n; i++) {
		void *args[2] = { (void *)&list[i], &plain };

		bool unsupported = false;

		if (!list[i].plain_only_blocked) {
			CHECK(in_child(run_one, args, &r) == 0);
			unsupported = r.exited && r.code == ATTACK_UNSUPPORTED;
			if (!unsupported && (!r.exited || r.code != ATTACK_WORKED)) {
				fprintf(stderr, "FAILED: %s without hardening: expected it to work, got %s %d: %s\n",
					list[i].name, r.exited ? "exit" : "signal", r.code, r.err);
				failed = 1;
				continue;
			}
		}
		args[1] = &hard;
		CHECK(in_child(run_one, args, &r) == 0);
		if (!r.exited || r.code != ATTACK_BLOCKED) {
			fprintf(stderr, "FAILED: %s with hardening: expected it blocked, got %s %d: %s\n",
				list[i].name, r.exited ? "exit" : "signal", r.code, r.err);
			failed = 1;
			continue;
		}
		printf("ok: %s: %s, blocked with hardening\n", list[i].name,
		       list[i].plain_only_blocked ? "not run without (would crash)" :
		       unsupported ? "refused by this kernel without (shown on newer ones)" :
		       "works without");
	}
	return failed;
}

#endif
