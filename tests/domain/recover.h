/* SPDX-License-Identifier: MIT */
/*
 * recover.h - the fault-recovery cases shared by the native test
 * (tests/domain-recover.c, unprotected mode) and the PKU one
 * (tests/domain/pku-recover.c, in the guest): each fault a callee can
 * take, run in a recoverable compartment (the gate returns -EFAULT, the
 * report names the signal, the caller goes on, the gate works again many
 * times) and in a non-recoverable one (a child dies of the signal),
 * through the gate rc_gate points to.
 */
#ifndef AOKI_TEST_RECOVER_H
#define AOKI_TEST_RECOVER_H

/* Needs _GNU_SOURCE (memfd_create) before the first include. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#include "dtest.h"

/* A page mapped read-only, and a page of a memfd truncated under its
 * mapping (SIGBUS); set up by rc_setup(). */
static void *rc_ro_page, *rc_bus_page;

static void rc_setup(void)
{
	int fd = memfd_create("aoki-recover", MFD_CLOEXEC);

	rc_ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(rc_ro_page != MAP_FAILED);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	rc_bus_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(rc_bus_page != MAP_FAILED);
	CHECK_EQ(ftruncate(fd, 0), 0);	/* the page is now past the end */
	close(fd);
}

static long rc_null_read(void *arg) { (void)arg; return peek(NULL); }
static long rc_ro_write(void *arg) { (void)arg; poke(rc_ro_page, 1); return 0; }
static long rc_bus(void *arg) { (void)arg; return peek(rc_bus_page); }

/* UBSan would report the division before the CPU traps: the trap is
 * the point. */
__attribute__((no_sanitize("undefined")))
static long rc_div0(void *arg)
{
	volatile int zero = (int)(intptr_t)arg;

	return 100 / zero;
}

static long rc_ud2(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
	return 0;
}

static long rc_abort(void *arg)
{
	(void)arg;
	abort();
}

/* Recursion that runs into the compartment stack's guard page (1 KiB a
 * level: 1 GiB before the bound stops it). */
static long rc_overflow(void *arg)
{
	volatile char buf[1024];
	intptr_t depth = (intptr_t)arg;

	buf[0] = (char)depth;
	if (depth > (1 << 20))
		return 0;
	return rc_overflow((void *)(depth + 1)) + buf[0];
}

struct rc_case {
	const char *name;
	aoki_domain_fn fn;
	int signo;
	int code;
	char access;	/* expected report access, 0: none */
};

static const struct rc_case rc_cases[] = {
	{ "NULL read", rc_null_read, SIGSEGV, SEGV_MAPERR, 'r' },
	{ "write to a read-only page", rc_ro_write, SIGSEGV, SEGV_ACCERR, 'w' },
	{ "read past a truncated memfd", rc_bus, SIGBUS, BUS_ADRERR, 0 },
	{ "division by zero", rc_div0, SIGFPE, FPE_INTDIV, 0 },
	{ "ud2 in the callee", rc_ud2, SIGILL, ILL_ILLOPN, 0 },
	{ "abort()", rc_abort, SIGABRT, SI_TKILL, 0 },
};
#define RC_NCASES (sizeof(rc_cases) / sizeof(rc_cases[0]))

static long rc_ok(void *arg) { return (long)arg + 1; }

/* The gate under test: aoki_domain_call or aoki_domain_call_light. */
static long (*rc_gate)(struct aoki_domain *, aoki_domain_fn, void *) = aoki_domain_call;

/* Sanitizer builds (SAN=): the runtime chains faults it does not recover
 * to the sanitizer's handler, installed before it, which reports and
 * exits non-zero instead of dying of the signal. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RC_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RC_SANITIZER 1
#endif
#endif

/* Did the child die of @sig (or, under a sanitizer, of its report)? */
static inline int rc_died_of(const struct child_result *res, int sig)
{
#ifdef RC_SANITIZER
	/* A sanitizer reports the fault and exits, or aborts with
	 * abort_on_error=1 (CI's ASAN_OPTIONS). */
	if (strstr(res->err, "Sanitizer") &&
	    ((res->exited && res->code != 0) || (!res->exited && res->code == SIGABRT)))
		return 1;
#endif
	return !res->exited && res->code == sig;
}

/* Run case @c in the recoverable compartment @R: -EFAULT with the right
 * report, callee-saved registers intact, then @reps faulting calls in a
 * row (a leaked gate frame would give -ELOOP after 32) and a good one. */
static void rc_check_recovered(struct aoki_domain *R, const struct rc_case *c, int reps)
{
	struct aoki_domain_fault f;
	register long callee_saved __asm__("rbx") = 0x5eed;

	__asm__ volatile("" : "+r"(callee_saved));
	CHECK_EQ(rc_gate(R, c->fn, NULL), -EFAULT);
	__asm__ volatile("" : "+r"(callee_saved));
	CHECK_EQ(callee_saved, 0x5eed);
	CHECK(aoki_domain_current() == NULL);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	if (f.signo != c->signo || f.code != c->code || f.access != c->access ||
	    f.pkey != -1 || f.owner[0] || strcmp(f.domain, aoki_domain_name(R))) {
		fprintf(stderr, "%s: report signo %d code %d access %d pkey %d owner \"%s\" domain \"%s\"\n",
			c->name, f.signo, f.code, f.access, f.pkey, f.owner, f.domain);
		exit(1);
	}
	for (int i = 0; i < reps; i++)
		CHECK_EQ(rc_gate(R, c->fn, NULL), -EFAULT);
	CHECK_EQ(rc_gate(R, rc_ok, (void *)41L), 42);
	CHECK(aoki_domain_current() == NULL);
}

/* Run @fn(@arg) in a child: it must die of @sig (or of a sanitizer's
 * report); @what names the case in the failure message. */
static void rc_expect_killed(void (*fn)(void *), void *arg, int sig, const char *what)
{
	struct child_result res;

	CHECK(in_child(fn, arg, &res) == 0);
	if (!rc_died_of(&res, sig)) {
		fprintf(stderr, "%s: %s %d, want signal %d: %s\n", what,
			res.exited ? "exit" : "signal", res.code, sig, res.err);
		exit(1);
	}
}

/* The control: the same fault in the non-recoverable compartment @N kills
 * a child with the signal (a pkey fault would abort; none of these is). */
static struct aoki_domain *rc_N;
static const struct rc_case *rc_cur;

static void rc_child(void *arg)
{
	(void)arg;
	rc_gate(rc_N, rc_cur->fn, NULL);
}

static void rc_check_kills(struct aoki_domain *N, const struct rc_case *c)
{
	rc_N = N;
	rc_cur = c;
	rc_expect_killed(rc_child, NULL, c->signo, c->name);
}

#endif
