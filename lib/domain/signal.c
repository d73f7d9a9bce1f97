/* SPDX-License-Identifier: MIT */
/*
 * signal.c - signal handlers that cannot hand rights back to the
 * interrupted code.  The kernel runs every handler with the default PKRU
 * (no compartment rights) and restores PKRU from the signal frame on
 * sigreturn; a handler that rewrites the frame's PKRU ("PKU Pitfalls")
 * would grant the interrupted context rights it never had.  The wrapper
 * saves the frame's PKRU before the handler and writes it back after.
 *
 * For the fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) the
 * wrapper decides in this order: a trap of the gate code is fatal; a
 * fault inside a recoverable compartment is recovered (fault.c) without
 * calling the application's handler; everything else goes to the
 * application's handler, or to what its SIG_DFL / SIG_IGN would do (the
 * wrapper stays installed for those too, so recovery stays in place).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "internal.h"

#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif
#define XFEATURE_PKRU 9

static struct sigaction user_act[NSIG];
static unsigned pkru_off;

/* The PKRU slot of the XSAVE image in the signal frame, NULL if none.
 * Async-signal-safe (CPUID only). */
uint32_t *dom_sigframe_pkru(void *ucv, uint64_t **xstate_bv)
{
	ucontext_t *uc = ucv;
	uint8_t *x = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic;
	uint64_t features;

	if (!pkru_off && dom_rt.isolated)
		pkru_off = dom_xsave_pkru_offset();
	if (!x || !pkru_off)
		return NULL;
	/* fxsave bytes 464..511 (sw_reserved): magic1, extended size,
	 * xfeatures present in the frame. */
	memcpy(&magic, x + 464, 4);
	memcpy(&features, x + 472, 8);
	if (magic != FP_XSTATE_MAGIC1 || !(features & (1ull << XFEATURE_PKRU)))
		return NULL;
	*xstate_bv = (uint64_t *)(x + 512);
	return (uint32_t *)(x + pkru_off);
}

static void wrapper(int sig, siginfo_t *si, void *ucv)
{
	struct sigaction *a = &user_act[sig];
	uint64_t *bv = NULL;
	uint32_t *pk = dom_sigframe_pkru(ucv, &bv);
	uint32_t saved = pk ? *pk : 0;
	ucontext_t *uc = ucv;
	uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	bool in_gate = rip - (uintptr_t)aoki__gate_text_start <
		       (uintptr_t)(aoki__gate_text_end - aoki__gate_text_start);
	gregset_t regs;

	/* Gate code between a wrpkru and its check (or a trap) must resume
	 * where and as it was: a handler that moved it elsewhere would run
	 * that code with the PKRU the check was about to refuse. */
	if (in_gate && si && si->si_code > 0 &&
	    (sig == SIGILL || sig == SIGTRAP || sig == SIGBUS || sig == SIGFPE)) {
		/* A trap in the gate code (a failed check) is fatal: back to
		 * the default action, and the instruction runs again. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		dom_sigaction_raw(sig, &dfl, NULL);
		return;
	}
	/* The context is rewritten to leave the gate; the frame's PKRU is
	 * the callee's, which the gate exit drops (gate.S). */
	if (dom_fault_recover(sig, si, ucv))
		return;
	if (in_gate)
		memcpy(regs, uc->uc_mcontext.gregs, sizeof(regs));
	if (dom_fault_sig(sig))
		dom_sig_chain(sig, si, ucv, a);	/* SIG_DFL, SIG_IGN included */
	else if (a->sa_flags & SA_SIGINFO)
		a->sa_sigaction(sig, si, ucv);
	else if (a->sa_handler != SIG_IGN && a->sa_handler != SIG_DFL)
		a->sa_handler(sig);
	if (in_gate)
		memcpy(uc->uc_mcontext.gregs, regs, sizeof(regs));
	if (pk) {
		*pk = saved;
		*bv |= 1ull << XFEATURE_PKRU;	/* restore it, not the init value */
	}
}

int aoki_domain_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction w;
	int r;

	if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP ||
	    (sig == DOM_REVOKE_SIG && aoki_domain_isolated()))
		return -EINVAL;
	if (!pkru_off && aoki_domain_isolated())
		pkru_off = dom_xsave_pkru_offset();
	if (old)
		*old = user_act[sig];
	if (!act)
		return 0;
	/* SIG_DFL / SIG_IGN: installed as such, except for the fault
	 * signals, whose wrapper keeps recovery in place and does the rest. */
	if (!dom_fault_sig(sig) && (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN)) {
		user_act[sig] = *act;
		return dom_sigaction_raw(sig, act, NULL);
	}
	w = *act;
	w.sa_sigaction = wrapper;
	/* SA_ONSTACK: the handler runs with no compartment rights, so it
	 * cannot use a compartment's stack (the thread's alternate stack is
	 * set up on its first gate entry). */
	w.sa_flags |= SA_SIGINFO | SA_ONSTACK;
	/* A revocation (revoke.c) must not edit the frame of this handler:
	 * the wrapper writes the interrupted PKRU back afterwards.  Held
	 * until the handler returns, it then scrubs the live PKRU. */
	sigaddset(&w.sa_mask, DOM_REVOKE_SIG);
	user_act[sig] = *act;
	r = dom_sigaction_raw(sig, &w, NULL);
	return r;
}
