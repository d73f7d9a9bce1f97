/* SPDX-License-Identifier: MIT */
/*
 * domain-recover - fault recovery in unprotected mode (natively, on any
 * CPU): a NULL read, a write to a read-only page, SIGBUS, a division by
 * zero, ud2 and abort() in a compartment created AOKI_DOMAIN_RECOVERABLE
 * make its gate return -EFAULT with a report naming the signal, 1000
 * times in a row; the same faults in a non-recoverable compartment kill
 * (the control).  Also: a stack overflow, the innermost gate decides,
 * sent signals (SIGSEGV by kill(), SIGABRT from another process), faults
 * in a signal handler on top of the callee, outside compartments or in
 * the gate code are not recovered, handlers installed before init and through
 * aoki_domain_sigaction() still get what is not recovered, a second
 * thread, and the light gate (the same gate in this mode).  The PKU counterpart is tests/domain/pku-recover.c.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>

#include "domain/recover.h"

static struct aoki_domain *R, *N, *A;
static sigjmp_buf jump;
static volatile sig_atomic_t jump_armed, pre_fpe_calls, post_ill_calls;
static volatile long sink;

/* Installed with plain sigaction() before init: counts and jumps back
 * when armed, else takes the default action (the control children). */
static void pre_init_fpe(int sig)
{
	if (!jump_armed) {
		signal(sig, SIG_DFL);
		return;
	}
	pre_fpe_calls++;
	siglongjmp(jump, 1);
}

static void app_ill(int sig)	/* aoki_domain_sigaction() after init */
{
	(void)sig;
	post_ill_calls++;
	siglongjmp(jump, 1);
}

static long a_calls_r(void *arg)
{
	volatile long keep = 0x1234;
	long r = aoki_domain_call(R, rc_null_read, arg);

	CHECK_EQ(keep, 0x1234);
	CHECK(aoki_domain_current() == A);
	return r == -EFAULT ? 7 : r;
}

static long r_calls_n(void *arg)
{
	(void)arg;
	return aoki_domain_call(N, rc_null_read, NULL);
}

static void innermost_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, r_calls_n, NULL);
}

static long r_sends_segv(void *arg)
{
	(void)arg;
	kill(getpid(), SIGSEGV);
	return 0;
}

static void sent_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, r_sends_segv, NULL);
}

/* SIGABRT from another process while the callee runs: not recovered. */
static long r_waits_for_abrt(void *arg)
{
	pid_t parent = getpid(), helper = fork();

	(void)arg;
	if (helper == 0) {
		kill(parent, SIGABRT);
		_exit(0);
	}
	for (int i = 0; i < 2000; i++)
		usleep(1000);	/* killed long before */
	return 0;
}

static void abrt_from_other_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, r_waits_for_abrt, NULL);
}

/* A fault in a signal handler (on the alternate stack) that interrupted
 * the callee: not the callee's fault, not recovered. */
static void faulting_handler(int sig)
{
	(void)sig;
	sink = peek(NULL);
}

static long r_raises_usr1(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
	return 0;
}

static void handler_fault_child(void *arg)
{
	struct sigaction sa;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = faulting_handler;
	sa.sa_flags = SA_ONSTACK;
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	aoki_domain_call(R, r_raises_usr1, NULL);
}

static void outside_child(void *arg)
{
	peek(arg);
}

/* A callee that jumps into the gate's trap path: a fault in the gate
 * text is never recovered (here the wrpkru itself raises SIGILL on a CPU
 * without PKU; with PKU the ud2 after it does). */
void aoki__gate_bad(void);
static long r_jumps_gate_bad(void *arg)
{
	(void)arg;
	aoki__gate_bad();
	return 0;
}

static void gate_text_child(void *arg)
{
	(void)arg;
	aoki_domain_call(R, r_jumps_gate_bad, NULL);
}

static void *thread_recovers(void *arg)
{
	struct aoki_domain_fault f;

	(void)arg;
	for (int i = 0; i < 100; i++)
		CHECK_EQ(aoki_domain_call(R, rc_div0, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK_EQ(f.signo, SIGFPE);
	return NULL;
}

int main(void)
{
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	struct aoki_domain_fault f;
	struct sigaction sa;
	sigset_t mask;
	pthread_t t;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pre_init_fpe;
	sa.sa_flags = SA_NODEFER;
	CHECK_EQ(sigaction(SIGFPE, &sa, NULL), 0);
	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_NO_PKU | AOKI_DOMAIN_QUIET), 0);
	CHECK(!aoki_domain_isolated());
	CHECK_EQ(aoki_domain_create("rec", &rec, &R), 0);
	CHECK_EQ(aoki_domain_create("plain", NULL, &N), 0);
	CHECK_EQ(aoki_domain_create("outer", NULL, &A), 0);
	rc_setup();

	for (size_t i = 0; i < RC_NCASES; i++) {
		rc_check_recovered(R, &rc_cases[i], 1000);
		rc_check_kills(N, &rc_cases[i]);
		printf("ok: %s: -EFAULT, report, 1000 more in a row; kills when not recoverable\n",
		       rc_cases[i].name);
	}
	rc_gate = aoki_domain_call_light;	/* in this mode the same gate */
	for (size_t i = 0; i < RC_NCASES; i++) {
		rc_check_recovered(R, &rc_cases[i], 1000);
		rc_check_kills(N, &rc_cases[i]);
	}
	rc_gate = aoki_domain_call;
	OK("the light gate: the same recovery and the same controls");
	CHECK_EQ(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	CHECK(!sigismember(&mask, SIGABRT) && !sigismember(&mask, SIGSEGV));
	OK("after recovery no fault signal stays blocked");

	CHECK_EQ(aoki_domain_call(R, rc_overflow, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	CHECK_EQ(f.signo, SIGSEGV);
	for (int i = 0; i < 20; i++)
		CHECK_EQ(aoki_domain_call(R, rc_overflow, NULL), -EFAULT);
	CHECK_EQ(aoki_domain_call(R, rc_ok, (void *)1L), 2);
	OK("stack overflow into the guard page: -EFAULT (handler on the alternate stack)");

	CHECK_EQ(aoki_domain_call(A, a_calls_r, NULL), 7);
	rc_expect_killed(innermost_child, NULL, SIGSEGV, "fault in a plain gate inside a recoverable one");
	OK("the innermost gate decides: recoverable inside plain returns to it, plain inside recoverable kills");

	rc_expect_killed(sent_child, NULL, SIGSEGV, "SIGSEGV sent with kill() inside a recoverable compartment");
	rc_expect_killed(abrt_from_other_child, NULL, SIGABRT, "SIGABRT from another process");
	rc_expect_killed(handler_fault_child, NULL, SIGSEGV, "a fault in a handler on top of the callee");
	rc_expect_killed(outside_child, NULL, SIGSEGV, "NULL read outside compartments");
	rc_expect_killed(gate_text_child, NULL, SIGILL, "trap in the gate text");
	OK("not recovered: a sent SIGSEGV, another process's SIGABRT, a fault in a handler on top of "
	   "the callee, a fault outside compartments, a trap in the gate code");

	jump_armed = 1;
	if (!sigsetjmp(jump, 1))
		sink = rc_div0(NULL);
	CHECK_EQ(pre_fpe_calls, 1);
	CHECK_EQ(aoki_domain_call(R, rc_div0, NULL), -EFAULT);
	CHECK_EQ(pre_fpe_calls, 1);
	OK("a handler installed before init gets faults outside compartments, not recovered ones");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_ill;
	sa.sa_flags = SA_NODEFER;
	CHECK_EQ(aoki_domain_sigaction(SIGILL, &sa, NULL), 0);
	if (!sigsetjmp(jump, 1))
		rc_ud2(NULL);
	CHECK_EQ(post_ill_calls, 1);
	CHECK_EQ(aoki_domain_call(R, rc_ud2, NULL), -EFAULT);
	CHECK_EQ(post_ill_calls, 1);
	sa.sa_handler = SIG_DFL;
	CHECK_EQ(aoki_domain_sigaction(SIGBUS, &sa, NULL), 0);
	CHECK_EQ(aoki_domain_call(R, rc_bus, NULL), -EFAULT);
	rc_check_kills(N, &rc_cases[2]);
	OK("aoki_domain_sigaction() handlers (and SIG_DFL) after init: recovery first, then theirs");

	CHECK_EQ(pthread_create(&t, NULL, thread_recovers, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	OK("recovery on a second thread");
	return 0;
}
