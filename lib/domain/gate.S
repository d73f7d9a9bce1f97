/* SPDX-License-Identifier: MIT */
/*
 * gate.S - every instruction of the compartment runtime that changes
 * PKRU or enters the kernel on the runtime's behalf.  All of it lies
 * between aoki__gate_text_start and aoki__gate_text_end, the one range
 * the hardening scan accepts WRPKRU sequences in, and aoki__sys_ip is the
 * one system-call site the seccomp filter trusts.
 *
 * Why assembly: C cannot promise that nothing (a spill, a stack access,
 * a reordered load) lands between the stack switch, the wrpkru and the
 * check of the value written, nor that the check is not optimised away.
 *
 * struct dom_frame (internal.h): +0 caller PKRU (u32), +8 caller rsp.
 */
#define AOKI_GATE_TABLE_LEN 1024
#define F_PKRU 0
#define F_RSP  8

	.section .text.aoki_gate, "ax", @progbits
	.globl aoki__gate_text_start
	.hidden aoki__gate_text_start
aoki__gate_text_start:

/*
 * long aoki__gate_enter(struct dom_frame *f, unsigned idx, void *stack_top,
 *                       aoki_domain_fn fn, void *arg)
 *
 * rdi = f, esi = idx, rdx = stack_top (16-byte aligned), rcx = fn, r8 = arg.
 * Saves the callee-saved registers on the caller's stack, the caller's
 * PKRU and stack pointer in *f, switches to stack_top, writes the PKRU of
 * compartment idx from the read-only table aoki__pkru_table, checks it,
 * calls fn(arg), and leaves through aoki__gate_exit.
 */
	.globl aoki__gate_enter
	.hidden aoki__gate_enter
	.type aoki__gate_enter, @function
	.p2align 4
aoki__gate_enter:
	.cfi_startproc
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rdi, %r12			/* frame, callee-saved across fn */
	movq %rcx, %r13			/* fn */
	movq %r8, %r14			/* arg */
	movl %esi, %ebx			/* idx */
	movq %rdx, %rbp			/* stack top: rdpkru clears edx */
	movq %rsp, F_RSP(%r12)
	xorl %ecx, %ecx
	rdpkru				/* eax = caller PKRU, edx = 0 */
	movl %eax, F_PKRU(%r12)
	cmpl $AOKI_GATE_TABLE_LEN, %ebx
	jae aoki__gate_bad
	leaq aoki__pkru_table(%rip), %r15
	movl (%r15,%rbx,4), %eax
	movq %rbp, %rsp			/* the compartment's stack for this thread */
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	/* lfence: the compare must not be executed speculatively ahead of
	 * the PKRU write, and nothing after it may run before it retires. */
	lfence
	/* The table is read-only and RIP-relative: a jump straight to the
	 * wrpkru above with a forged eax fails here.  Only a PKRU some
	 * compartment legitimately has survives the compare. */
	cmpl (%r15,%rbx,4), %eax
	jne aoki__gate_bad
	movq %r14, %rdi
	callq *%r13
	movq %rax, %r13			/* result */

/*
 * aoki__gate_exit: r12 = frame, r13 = result.  Also the landing point of
 * a recovered fault (fault.c sets rip, r12 and r13 = -EFAULT).
 */
	.globl aoki__gate_exit
	.hidden aoki__gate_exit
aoki__gate_exit:
	movl F_PKRU(%r12), %eax
	movq F_RSP(%r12), %rsp		/* back on the caller's stack */
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	lfence				/* as above: check only after the write retired */
	/* Re-read the saved value after the write: it must still be the
	 * one written. */
	cmpl F_PKRU(%r12), %eax
	jne aoki__gate_bad
	movq %r13, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.cfi_endproc
	.size aoki__gate_enter, .-aoki__gate_enter

/*
 * long aoki__gate_enter_nopku(struct dom_frame *f, void *stack_top,
 *                             aoki_domain_fn fn, void *arg)
 * Unprotected mode: the same stack switch, no PKRU instruction at all.
 */
	.globl aoki__gate_enter_nopku
	.hidden aoki__gate_enter_nopku
	.type aoki__gate_enter_nopku, @function
	.p2align 4
aoki__gate_enter_nopku:
	.cfi_startproc
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rdi, %r12
	movq %rsp, F_RSP(%r12)
	movq %rsi, %rsp
	movq %rcx, %rdi
	callq *%rdx
	movq F_RSP(%r12), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.cfi_endproc
	.size aoki__gate_enter_nopku, .-aoki__gate_enter_nopku

aoki__gate_bad:
	ud2

/* uint32_t aoki__rdpkru(void) */
	.globl aoki__rdpkru
	.hidden aoki__rdpkru
	.type aoki__rdpkru, @function
	.p2align 4
aoki__rdpkru:
	xorl %ecx, %ecx
	rdpkru
	ret
	.size aoki__rdpkru, .-aoki__rdpkru

/*
 * void aoki__wrpkru(uint32_t v) - the thread-rights write (grant, revoke,
 * new threads).  Checked like the gates: what is in PKRU after the write
 * must be the argument, so a jump to the wrpkru with a different eax
 * traps.
 */
	.globl aoki__wrpkru
	.hidden aoki__wrpkru
	.type aoki__wrpkru, @function
	.p2align 4
aoki__wrpkru:
	movl %edi, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	lfence				/* compare only after the write retired */
	cmpl %edi, %eax
	jne aoki__gate_bad
	ret
	.size aoki__wrpkru, .-aoki__wrpkru

/*
 * long aoki__sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
 * The runtime's own system-call site; returns the raw result (-errno).
 */
	.globl aoki__sys
	.hidden aoki__sys
	.type aoki__sys, @function
	.p2align 4
aoki__sys:
	movq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsi
	movq %rcx, %rdx
	movq %r8, %r10
	movq %r9, %r8
	movq 8(%rsp), %r9		/* a6: the first stack argument */
	syscall
	.globl aoki__sys_ip
	.hidden aoki__sys_ip
aoki__sys_ip:				/* seccomp_data.instruction_pointer */
	ret
	.size aoki__sys, .-aoki__sys

/* The sa_restorer of handlers installed by aoki_domain_sigaction(). */
	.globl aoki__sigreturn
	.hidden aoki__sigreturn
	.type aoki__sigreturn, @function
	.p2align 4
aoki__sigreturn:
	movl $15, %eax			/* rt_sigreturn */
	jmp aoki__sys_syscall
	.size aoki__sigreturn, .-aoki__sigreturn
aoki__sys_syscall:
	syscall
	.globl aoki__sigreturn_ip
	.hidden aoki__sigreturn_ip
aoki__sigreturn_ip:
	ud2

	.globl aoki__gate_text_end
	.hidden aoki__gate_text_end
aoki__gate_text_end:

	.section .note.GNU-stack, "", @progbits
