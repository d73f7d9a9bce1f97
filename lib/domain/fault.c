/* SPDX-License-Identifier: MIT */
/*
 * fault.c - pkey faults.  A SIGSEGV with si_code SEGV_PKUERR is reported
 * with the running compartment's name, the page's owner, the address and
 * the access.  Default policy: print one line and abort().  A compartment
 * created AOKI_DOMAIN_RECOVERABLE instead has its innermost gate return
 * -EFAULT: the handler resumes the thread at aoki__gate_exit, which
 * returns through the thread's protected frame stack to the caller's
 * saved stack, PKRU and registers.
 * Other SIGSEGVs go to the previous handler (or the default action).
 * The handler uses only async-signal-safe calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

static struct sigaction old_segv;

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

static void chain(int sig, siginfo_t *si, void *uc)
{
	if ((old_segv.sa_flags & SA_SIGINFO) && old_segv.sa_sigaction) {
		old_segv.sa_sigaction(sig, si, uc);
	} else if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN) {
		old_segv.sa_handler(sig);
	} else {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		/* Returning re-executes the access, which now kills us. */
		dom_sigaction_raw(SIGSEGV, &dfl, NULL);
	}
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct dom_tls *t = &dom_tls;
	struct aoki_domain *cur = t->depth ? t->frames[t->depth - 1].d : NULL;
	struct aoki_domain *owner = NULL;
	long err = uc->uc_mcontext.gregs[REG_ERR];
	char msg[256];
	size_t n = 0;
	bool gate;

	if (si->si_code != SEGV_PKUERR) {
		chain(sig, si, ucv);
		return;
	}
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++) {
		struct aoki_domain *d = dom_rt.slots[i];

		if (d && d->pkey == (int)si->si_pkey)
			owner = d;
	}
	memset(&t->fault, 0, sizeof(t->fault));
	if (cur)
		memcpy(t->fault.domain, cur->name, sizeof(t->fault.domain));
	if (owner)
		memcpy(t->fault.owner, owner->name, sizeof(t->fault.owner));
	t->fault.addr = (uintptr_t)si->si_addr;
	t->fault.pkey = (int)si->si_pkey;
	/* Page-fault error code: bit 1 write, bit 4 instruction fetch. */
	t->fault.access = (err & 0x10) ? 'x' : (err & 0x2) ? 'w' : 'r';
	t->has_fault = true;

	/* A fault inside the gate code itself is never recovered: the gate
	 * is mid-way between two PKRU states. */
	gate = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] - (uintptr_t)aoki__gate_text_start <
	       (uintptr_t)(aoki__gate_text_end - aoki__gate_text_start);
	if (cur && (cur->flags & AOKI_DOMAIN_RECOVERABLE) && !gate) {
		/* r12: the thread's frame stack as TLS says; the gate checks
		 * it and returns through its top frame (gate.S). */
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)aoki__gate_exit;
		uc->uc_mcontext.gregs[REG_R12] = (greg_t)(uintptr_t)t->gstack;
		uc->uc_mcontext.gregs[REG_R13] = -EFAULT;
		return;
	}
	n = put_s(msg, n, sizeof(msg), "aoki: pkey fault in ");
	if (cur) {
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
	if (owner) {
		n = put_s(msg, n, sizeof(msg), ", compartment \"");
		n = put_s(msg, n, sizeof(msg), t->fault.owner);
		n = put_s(msg, n, sizeof(msg), "\"");
	}
	n = put_s(msg, n, sizeof(msg), ")\n");
	if (write(2, msg, n) < 0) {
		/* nothing more to do: we abort either way */
	}
	abort();
}

int dom_fault_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, DOM_REVOKE_SIG);	/* see signal.c */
	return dom_sigaction_raw(SIGSEGV, &sa, &old_segv);
}

int aoki_domain_last_fault(struct aoki_domain_fault *out)
{
	if (!dom_tls.has_fault)
		return -ENOENT;
	*out = dom_tls.fault;
	return 0;
}
