/* SPDX-License-Identifier: MIT */
/*
 * fault.c - faults inside compartments.
 *
 * At init (both modes) the runtime installs one handler for SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL and SIGABRT, keeping the handlers installed
 * before to chain to.  For each signal it decides, in this order:
 *
 *  1. Recovery (dom_fault_recover): the thread runs a compartment created
 *     AOKI_DOMAIN_RECOVERABLE (its innermost gate), on that activation's
 *     stack, outside the gate code, and the signal is a fault of that
 *     code (si_code > 0: the kernel raised it for an instruction) or, for
 *     SIGABRT, a signal the process sent itself (abort() is raise()).  The
 *     innermost gate then returns -EFAULT: with PKU the handler resumes the
 *     thread at aoki__gate_exit, which returns through the thread's
 *     protected frame stack to the caller's saved stack, PKRU and
 *     registers; without PKU at aoki__gate_exit_nopku, which returns
 *     through the key-0 frame (gate.S).
 *  2. A pkey fault (SEGV_PKUERR) anywhere else: one report line, abort().
 *  3. Anything else: the handler installed before init, or what SIG_DFL
 *     or SIG_IGN would have done.
 *
 * signal.c's wrapper (aoki_domain_sigaction) runs step 1 before the
 * application's handler for these signals, so a handler installed later
 * that way still leaves recovery in place.  A handler installed later with
 * plain sigaction() replaces all of this for its signal.
 * The handler uses only async-signal-safe calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif
#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

static const int fault_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction old_act[NSIG];	/* before init, to chain to */

static size_t put_s(char *b, size_t n, size_t cap, const char *s)
{
	while (*s && n + 1 < cap)
		b[n++] = *s++;
	return n;
}

static size_t put_x(char *b, size_t n, size_t cap, uintptr_t v)
{
	char t[19];
	int i = 18;

	t[i] = 0;
	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	t[--i] = 'x';
	t[--i] = '0';
	return put_s(b, n, cap, t + i);
}

static size_t put_d(char *b, size_t n, size_t cap, int v)
{
	char t[12];
	int i = 11;

	t[i] = 0;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put_s(b, n, cap, t + i);
}

bool dom_fault_sig(int sig)
{
	for (size_t i = 0; i < sizeof(fault_sigs) / sizeof(fault_sigs[0]); i++)
		if (fault_sigs[i] == sig)
			return true;
	return false;
}

void dom_sig_chain(int sig, siginfo_t *si, void *uc, const struct sigaction *to)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	/* A fault re-executes its instruction when the handler returns; a
	 * signal sent by a process (si_code <= 0) or abort's does not. */
	bool sent = si->si_code <= 0 || sig == SIGABRT;

	if (to->sa_handler != SIG_DFL && to->sa_handler != SIG_IGN) {
		if (to->sa_flags & SA_SIGINFO)
			to->sa_sigaction(sig, si, uc);
		else
			to->sa_handler(sig);
		return;
	}
	/* An ignored fault kills anyway (the kernel forces the default). */
	if (to->sa_handler == SIG_IGN && sent)
		return;
	dom_sigaction_raw(sig, &dfl, NULL);
	if (sent)	/* delivered, with the default action, once unblocked */
		aoki__sys(SYS_tgkill, getpid(), aoki__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
}

static bool in_gate_text(uintptr_t rip)
{
	return rip - (uintptr_t)aoki__gate_text_start <
	       (uintptr_t)(aoki__gate_text_end - aoki__gate_text_start);
}

/* The innermost gate's frame when the interrupted context runs that
 * activation: its stack pointer lies on the compartment's stack for this
 * thread (guard page included: a stack overflow), below the top the gate
 * switched to.  Not between aoki_domain_call()'s bookkeeping and the
 * gate's stack switch (still on the caller's stack), nor in a handler
 * running on the alternate stack on top of the callee. */
static struct dom_frame *running_frame(struct dom_tls *t, const ucontext_t *uc)
{
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	struct dom_frame *f;
	struct dom_stack *s;

	if (t->depth <= 0 || t->depth > DOM_MAX_DEPTH)
		return NULL;
	f = &t->frames[t->depth - 1];
	if (!f->d || f->d->idx < 0 || f->d->idx >= AOKI_DOMAIN_MAX)
		return NULL;
	s = t->stacks[f->d->idx];
	if (!s || sp < (uintptr_t)s->base || sp >= (uintptr_t)f->top)
		return NULL;
	return f;
}

static void record(struct dom_tls *t, int sig, const siginfo_t *si, const ucontext_t *uc)
{
	struct aoki_domain *cur = t->depth > 0 ? t->frames[t->depth - 1].d : NULL;
	long err = uc->uc_mcontext.gregs[REG_ERR];

	memset(&t->fault, 0, sizeof(t->fault));
	if (cur)
		memcpy(t->fault.domain, cur->name, sizeof(t->fault.domain));
	t->fault.signo = sig;
	t->fault.code = si->si_code;
	t->fault.pkey = -1;
	if (sig != SIGABRT)
		t->fault.addr = (uintptr_t)si->si_addr;
	if (sig == SIGSEGV && si->si_code > 0 && si->si_code != SI_KERNEL)
		/* Page-fault error code: bit 1 write, bit 4 instruction fetch. */
		t->fault.access = (err & 0x10) ? 'x' : (err & 0x2) ? 'w' : 'r';
	if (sig == SIGSEGV && si->si_code == SEGV_PKUERR) {
		t->fault.pkey = (int)si->si_pkey;
		for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++) {
			struct aoki_domain *d = dom_rt.slots[i];

			if (d && d->pkey == (int)si->si_pkey)
				memcpy(t->fault.owner, d->name, sizeof(t->fault.owner));
		}
	}
	t->has_fault = true;
}

#if defined(__SANITIZE_ADDRESS__)
#define DOM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOM_ASAN 1
#endif
#endif
#ifdef DOM_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

/* The frames of the abandoned activation never return: under
 * AddressSanitizer (SAN=address) their redzones would stay poisoned and
 * the next activation on that stack would trip over them.  Only writes
 * the shadow, so it is async-signal-safe.  Nothing to do otherwise. */
static void forget_stack(void *lo, void *hi)
{
#ifdef DOM_ASAN
	__asan_unpoison_memory_region(lo, (size_t)((uint8_t *)hi - (uint8_t *)lo));
#else
	(void)lo;
	(void)hi;
#endif
}

bool dom_fault_recover(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct dom_tls *t = &dom_tls;
	struct dom_frame *f;

	if (!dom_fault_sig(sig) || t->fatal)
		return false;
	if (sig == SIGABRT) {
		/* abort() is raise(): tgkill (SI_TKILL) or kill (SI_USER)
		 * from this process; never another process's signal. */
		if ((si->si_code != SI_TKILL && si->si_code != SI_USER) || si->si_pid != getpid())
			return false;
	} else if (si->si_code <= 0) {
		return false;	/* sent by a process, not a fault of the code */
	}
	/* A fault inside the gate code itself is never recovered: the gate
	 * is mid-way between two PKRU states, and its failed checks (ud2)
	 * must kill. */
	if (in_gate_text((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]))
		return false;
	f = running_frame(t, uc);
	if (!f || !(f->d->flags & AOKI_DOMAIN_RECOVERABLE))
		return false;
	record(t, sig, si, uc);
	forget_stack(t->stacks[f->d->idx]->base, f->top);
	if (f->light) {
		/* r12: the key-0 frame, with the caller's PKRU and stack. */
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)aoki__gate_exit_light;
		uc->uc_mcontext.gregs[REG_R12] = (greg_t)(uintptr_t)f;
		uc->uc_mcontext.gregs[REG_RAX] = -EFAULT;
	} else if (dom_rt.isolated) {
		/* r12: the thread's frame stack as TLS says; the gate checks
		 * it and returns through its top frame (gate.S). */
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)aoki__gate_exit;
		uc->uc_mcontext.gregs[REG_R12] = (greg_t)(uintptr_t)t->gstack;
		uc->uc_mcontext.gregs[REG_R13] = -EFAULT;
	} else {
		/* r12: the key-0 frame, whose caller_rsp the gate wrote. */
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)aoki__gate_exit_nopku;
		uc->uc_mcontext.gregs[REG_R12] = (greg_t)(uintptr_t)f;
		uc->uc_mcontext.gregs[REG_RAX] = -EFAULT;
	}
	return true;
}

/* A pkey fault not recovered: one report line, abort (the default policy). */
static void pkey_abort(siginfo_t *si, ucontext_t *uc)
{
	struct dom_tls *t = &dom_tls;
	char msg[256];
	size_t n = 0;

	record(t, SIGSEGV, si, uc);
	n = put_s(msg, n, sizeof(msg), "aoki: pkey fault in ");
	if (t->fault.domain[0]) {
		n = put_s(msg, n, sizeof(msg), "compartment \"");
		n = put_s(msg, n, sizeof(msg), t->fault.domain);
		n = put_s(msg, n, sizeof(msg), "\"");
	} else {
		n = put_s(msg, n, sizeof(msg), "no compartment");
	}
	n = put_s(msg, n, sizeof(msg), t->fault.access == 'w' ? ": write" :
				      t->fault.access == 'x' ? ": execute" : ": read");
	n = put_s(msg, n, sizeof(msg), " access to ");
	n = put_x(msg, n, sizeof(msg), t->fault.addr);
	n = put_s(msg, n, sizeof(msg), " (pkey ");
	n = put_d(msg, n, sizeof(msg), t->fault.pkey);
	if (t->fault.owner[0]) {
		n = put_s(msg, n, sizeof(msg), ", compartment \"");
		n = put_s(msg, n, sizeof(msg), t->fault.owner);
		n = put_s(msg, n, sizeof(msg), "\"");
	}
	n = put_s(msg, n, sizeof(msg), ")\n");
	if (write(2, msg, n) < 0) {
		/* nothing more to do: we abort either way */
	}
	t->fatal = true;	/* this abort() is the runtime's: not recovered */
	abort();
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (dom_fault_recover(sig, si, uc))
		return;
	if (sig == SIGSEGV && si->si_code == SEGV_PKUERR)
		pkey_abort(si, uc);
	dom_sig_chain(sig, si, uc, &old_act[sig]);
}

int dom_fault_install(void)
{
	struct sigaction sa;
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	/* SA_ONSTACK: a stack overflow in a compartment leaves no stack to
	 * run on.  SA_NODEFER: a re-sent signal (dom_sig_chain) is
	 * delivered at once. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, DOM_REVOKE_SIG);	/* see signal.c */
	for (size_t i = 0; i < sizeof(fault_sigs) / sizeof(fault_sigs[0]); i++) {
		r = dom_sigaction_raw(fault_sigs[i], &sa, &old_act[fault_sigs[i]]);
		if (r < 0)
			return r;
	}
	return 0;
}

int aoki_domain_last_fault(struct aoki_domain_fault *out)
{
	if (!dom_tls.has_fault)
		return -ENOENT;
	*out = dom_tls.fault;
	return 0;
}
