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
 * Where a gate keeps its return state (PKU mode).  The caller's PKRU and
 * stack pointer are pushed on the thread's *frame stack* (struct
 * dom_gstack, internal.h): one page per thread, tagged with the frame key
 * G that no compartment and no thread outside the gates has rights to.
 * The gate opens G only between two checked writes of the constant
 * "frame PKRU" (key 0 and G, every compartment key denied), so a callee
 * can neither read nor write any frame.  The pointer to the frame stack
 * is not trusted (it comes from key-0 TLS or, on exit, from r12, both
 * writable by the callee): it must be page aligned, inside the frame
 * region whose bounds are in the read-only table page, point to a page
 * whose first word is its own address (only the runtime writes G pages),
 * and, where the kernel lets us read fs base (FSGSBASE), belong to the
 * thread's fs base.  Exit takes the caller's PKRU and stack pointer from
 * that frame stack only.
 *
 * struct dom_gstack: +0 self, +8 depth (u32), +16 owner fs base (0: not
 * checked), +64 frames[32] of 32 bytes: +0 caller PKRU (u32), +4
 * compartment index entered (u32), +8 caller rsp.
 * The read-only table page aoki__pkru_table (1024 u32): [0, 64) the PKRU
 * inside each compartment; byte 4048 compartment arena start (u64), 4056
 * its end, 4064 frame region start (u64), 4072 its end, 4080 the frame
 * PKRU, 4084 the AD bit of the frame key.
 * struct dom_frame (key 0, advisory): +8 caller rsp, for the runtime's
 * re-entry arithmetic only, never read by the protected gate; +32 the
 * caller PKRU.  The light gate (aoki__gate_enter_light) returns through
 * it: one checked wrpkru each way, no frame stack, and a callee that
 * writes key 0 can forge its return state (the documented trust
 * assumption of aoki_domain_call_light).
 */
#define AOKI_GATE_SLOTS 64		/* AOKI_DOMAIN_MAX: valid table indices */
#define RO_ARENA_LO 4048
#define RO_ARENA_HI 4056
#define RO_BLK_LO 4064
#define RO_BLK_HI 4072
#define RO_GOPEN  4080
#define RO_GAD    4084
#define G_SELF   0
#define G_DEPTH  8
#define G_FSBASE 16
#define G_FRAMES 64
#define G_MAXDEPTH 32			/* DOM_MAX_DEPTH */
#define GF_SHIFT 5			/* 32-byte frames */
#define GF_PKRU 0
#define GF_IDX  4
#define GF_RSP  8
#define F_RSP  8			/* struct dom_frame (advisory, key 0) */
#define F_PKRU 32			/* its caller PKRU (u32): the light gate's */
#define PKRU_KEY0_ONLY 0xfffffffc	/* PKRU_ALL_DENIED: keys 1..15 denied */

/*
 * OPEN_FRAMES: write the frame PKRU (key 0 and G only) and check it.
 * The compare is RIP-relative to the read-only page, so a jump straight
 * to this wrpkru with a forged eax (or a forged table base) traps.
 * Clobbers eax, ecx, edx.
 */
.macro OPEN_FRAMES
	movl aoki__pkru_table+RO_GOPEN(%rip), %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	lfence				/* compare only after the write retired */
	cmpl aoki__pkru_table+RO_GOPEN(%rip), %eax
	jne aoki__gate_bad
.endm

/* The System V callee-saved registers, saved and restored by each gate. */
.macro SAVE_CALLEE_SAVED
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro RESTORE_CALLEE_SAVED
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
.endm

/*
 * CHECK_GSTACK: r12 must be a genuine frame stack of this thread (G must
 * be open).  Page aligned and inside the frame region (bounds from the
 * read-only page: only G pages or unmapped pages lie there), its first
 * word its own address (a G page only the runtime writes), and its owner
 * fs base the thread's (when recorded; rdfsbase reads the register, not
 * memory).  Clobbers rax, rcx.
 */
.macro CHECK_GSTACK
	testl $4095, %r12d
	jnz aoki__gate_bad
	cmpq aoki__pkru_table+RO_BLK_LO(%rip), %r12
	jb aoki__gate_bad
	cmpq aoki__pkru_table+RO_BLK_HI(%rip), %r12
	jae aoki__gate_bad
	cmpq G_SELF(%r12), %r12
	jne aoki__gate_bad
	movq G_FSBASE(%r12), %rax
	testq %rax, %rax
	jz 1f
	rdfsbase %rcx
	cmpq %rcx, %rax
	jne aoki__gate_bad
1:
.endm

/*
 * ENTER_COMPARTMENT (both gates): ebx = compartment index (checked < 64
 * before), rbp = its stack top for this thread, r13 = fn, r14 = arg.
 * Writes the compartment's PKRU from the read-only table, checks it,
 * checks the stack top, switches to it and calls fn(arg).  Clobbers eax,
 * ecx, edx, r15 (and whatever fn clobbers).
 */
.macro ENTER_COMPARTMENT
	leaq aoki__pkru_table(%rip), %r15
	movl (%r15,%rbx,4), %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	/* lfence: the compare must not be executed speculatively ahead of
	 * the PKRU write, and nothing after it may run before it retires. */
	lfence
	/* Reload the table base RIP-relative and re-check the index after
	 * the write: a jump straight to the wrpkru above with a forged eax,
	 * r15 or rbx fails here.  Only a PKRU some compartment legitimately
	 * has survives the compare. */
	leaq aoki__pkru_table(%rip), %r15
	cmpl $AOKI_GATE_SLOTS, %ebx
	jae aoki__gate_bad
	cmpl (%r15,%rbx,4), %eax
	jne aoki__gate_bad
	/* The stack top comes from key-0 metadata: accept only one inside
	 * the compartment arena (never ordinary key-0 memory). */
	cmpq aoki__pkru_table+RO_ARENA_LO(%rip), %rbp
	jbe aoki__gate_bad
	cmpq aoki__pkru_table+RO_ARENA_HI(%rip), %rbp
	ja aoki__gate_bad
	movq %rbp, %rsp			/* the compartment's stack for this thread */
	movq %r14, %rdi
	callq *%r13
.endm

	.section .text.aoki_gate, "ax", @progbits
	.globl aoki__gate_text_start
	.hidden aoki__gate_text_start
aoki__gate_text_start:

/*
 * long aoki__gate_enter(struct dom_frame *f, unsigned idx, void *stack_top,
 *                       aoki_domain_fn fn, void *arg, struct dom_gstack *g)
 *
 * rdi = f (advisory key-0 frame), esi = idx, rdx = stack_top (16-byte
 * aligned), rcx = fn, r8 = arg, r9 = g (the thread's frame stack).
 * Saves the callee-saved registers on the caller's stack, pushes the
 * caller's PKRU, idx and stack pointer on the protected frame stack *g,
 * switches to stack_top, writes the PKRU of compartment idx from the
 * read-only table aoki__pkru_table, checks it, calls fn(arg), and leaves
 * through aoki__gate_exit.  Traps (ud2) on any failed check.
 */
	.globl aoki__gate_enter
	.hidden aoki__gate_enter
	.type aoki__gate_enter, @function
	.p2align 4
aoki__gate_enter:
	.cfi_startproc
	SAVE_CALLEE_SAVED
	movq %r9, %r12			/* frame stack, callee-saved across fn */
	movq %rcx, %r13			/* fn */
	movq %r8, %r14			/* arg */
	movl %esi, %ebx			/* idx */
	movq %rdx, %rbp			/* stack top: rdpkru clears edx */
	movq %rsp, F_RSP(%rdi)		/* advisory copy for the runtime (key 0) */
	cmpl $AOKI_GATE_SLOTS, %ebx
	jae aoki__gate_bad
	xorl %ecx, %ecx
	rdpkru				/* eax = caller PKRU, edx = 0 */
	movl %eax, %r10d
	/* A caller holding the frame key is not one the runtime made. */
	testl aoki__pkru_table+RO_GAD(%rip), %r10d
	jz aoki__gate_bad
	OPEN_FRAMES			/* from here: key 0 and G, nothing else */
	CHECK_GSTACK
	movl G_DEPTH(%r12), %ecx	/* ecx = depth (zero-extends rcx) */
	cmpl $G_MAXDEPTH, %ecx
	jae aoki__gate_bad
	movq %rcx, %rax
	shlq $GF_SHIFT, %rax
	leaq G_FRAMES(%r12,%rax), %rdx	/* rdx = &frames[depth] */
	movl %r10d, GF_PKRU(%rdx)	/* push: caller PKRU, */
	movl %ebx, GF_IDX(%rdx)		/* the compartment entered, */
	movq %rsp, GF_RSP(%rdx)		/* the caller's stack pointer */
	incl %ecx
	movl %ecx, G_DEPTH(%r12)
	/* Close G: write the compartment's PKRU (G denied in every entry). */
	ENTER_COMPARTMENT
	movq %rax, %r13			/* result */

/*
 * aoki__gate_exit: r12 = the thread's frame stack (claimed: the callee
 * may have changed it; checked), r13 = result.  Also the landing point of
 * a recovered fault (fault.c sets rip, r12 and r13 = -EFAULT).  Nothing
 * here reads the callee's stack or key-0 memory: the caller's PKRU and
 * stack pointer come from the top frame of the protected frame stack.
 */
	.globl aoki__gate_exit
	.hidden aoki__gate_exit
aoki__gate_exit:
	OPEN_FRAMES			/* drops the callee's rights, opens G */
	CHECK_GSTACK
	movl G_DEPTH(%r12), %ecx
	testl %ecx, %ecx		/* no gate to return from */
	jz aoki__gate_bad
	cmpl $G_MAXDEPTH, %ecx
	ja aoki__gate_bad
	decl %ecx			/* pop (zero-extends rcx) */
	movl %ecx, G_DEPTH(%r12)
	shlq $GF_SHIFT, %rcx
	leaq G_FRAMES(%r12,%rcx), %rdx	/* rdx = the popped frame */
	movl GF_PKRU(%rdx), %ebx	/* caller PKRU (rbx is restored below) */
	movq GF_RSP(%rdx), %rsp		/* back on the caller's stack */
	movl %ebx, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru				/* the caller's PKRU: closes G again */
	lfence				/* as above: check only after the write retired */
	/* The value is the frame's (ebx); and G must be closed again,
	 * checked against the read-only page: whatever reaches this wrpkru
	 * never leaves with the frame key open. */
	cmpl %ebx, %eax
	jne aoki__gate_bad
	testl aoki__pkru_table+RO_GAD(%rip), %eax
	jz aoki__gate_bad
	movq %r13, %rax
	RESTORE_CALLEE_SAVED
	ret
	.cfi_endproc
	.size aoki__gate_enter, .-aoki__gate_enter

/*
 * long aoki__gate_enter_light(struct dom_frame *f, unsigned idx,
 *                             void *stack_top, aoki_domain_fn fn, void *arg)
 *
 * rdi = f (key-0 TLS frame), esi = idx, rdx = stack_top, rcx = fn, r8 =
 * arg.  Saves the callee-saved registers on the caller's stack, the
 * caller's stack pointer and PKRU in *f, writes the PKRU of compartment
 * idx from the read-only table and checks it exactly as the protected
 * gate does, checks the stack top against the arena, switches and calls
 * fn(arg).  Traps (ud2) on any failed check.
 */
	.globl aoki__gate_enter_light
	.hidden aoki__gate_enter_light
	.type aoki__gate_enter_light, @function
	.p2align 4
aoki__gate_enter_light:
	.cfi_startproc
	SAVE_CALLEE_SAVED
	movq %rdi, %r12			/* f, callee-saved across fn */
	movq %rcx, %r13			/* fn */
	movq %r8, %r14			/* arg */
	movl %esi, %ebx			/* idx */
	movq %rdx, %rbp			/* stack top: rdpkru clears edx */
	movq %rsp, F_RSP(%r12)		/* where the exit returns to */
	cmpl $AOKI_GATE_SLOTS, %ebx
	jae aoki__gate_bad
	xorl %ecx, %ecx
	rdpkru				/* eax = caller PKRU, edx = 0 */
	/* A caller holding the frame key is not one the runtime made. */
	testl aoki__pkru_table+RO_GAD(%rip), %eax
	jz aoki__gate_bad
	movl %eax, F_PKRU(%r12)		/* what the exit writes back */
	ENTER_COMPARTMENT

/*
 * aoki__gate_exit_light: r12 = f (claimed), rax = result.  Also the
 * landing point of a recovered fault (fault.c sets rip, r12 = the
 * innermost frame, rax = -EFAULT).  Writes the caller PKRU saved in *f and
 * checks that the value written is that one and that the frame key is
 * closed (read-only page); then the caller's stack from *f.  *f is key-0
 * memory: a callee that rewrites it (or r12) chooses the PKRU (frame key
 * excepted) and the stack it returns with.
 */
	.globl aoki__gate_exit_light
	.hidden aoki__gate_exit_light
aoki__gate_exit_light:
	movq %rax, %r13			/* result */
	movl F_PKRU(%r12), %ebx
	movl %ebx, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru				/* the caller's PKRU: drops the callee's rights */
	lfence				/* check only after the write retired */
	cmpl %ebx, %eax
	jne aoki__gate_bad
	testl aoki__pkru_table+RO_GAD(%rip), %eax
	jz aoki__gate_bad
	movq F_RSP(%r12), %rsp		/* back on the caller's stack */
	movq %r13, %rax
	RESTORE_CALLEE_SAVED
	ret
	.cfi_endproc
	.size aoki__gate_enter_light, .-aoki__gate_enter_light

/*
 * long aoki__gate_enter_nopku(struct dom_frame *f, void *stack_top,
 *                             aoki_domain_fn fn, void *arg)
 * Unprotected mode: the same stack switch, no PKRU instruction at all.
 *
 * aoki__gate_exit_nopku: r12 = f, rax = result.  The callee's return
 * address, and the landing point of a recovered fault (fault.c sets rip,
 * r12 = the innermost struct dom_frame and rax = -EFAULT): back to the
 * caller's stack as the frame records it (key 0, unchecked: nothing is
 * isolated in this mode), then the callee-saved registers pushed there.
 */
	.globl aoki__gate_enter_nopku
	.hidden aoki__gate_enter_nopku
	.type aoki__gate_enter_nopku, @function
	.p2align 4
aoki__gate_enter_nopku:
	.cfi_startproc
	SAVE_CALLEE_SAVED
	movq %rdi, %r12
	movq %rsp, F_RSP(%r12)
	movq %rsi, %rsp
	movq %rcx, %rdi
	callq *%rdx
	.globl aoki__gate_exit_nopku
	.hidden aoki__gate_exit_nopku
aoki__gate_exit_nopku:
	movq F_RSP(%r12), %rsp
	RESTORE_CALLEE_SAVED
	ret
	.cfi_endproc
	.size aoki__gate_enter_nopku, .-aoki__gate_enter_nopku

/*
 * Every failed check lands here, usually right after a wrpkru that wrote
 * a value the check refused: trap only once PKRU is back to "key 0 only",
 * so that the SIGILL frame (which a handler may resume from elsewhere)
 * and anything that runs after it hold no compartment key and not the
 * frame key.  The write is checked the ERIM way: a jump straight to it
 * with another eax loops back and writes the constant.
 */
	.globl aoki__gate_bad
	.hidden aoki__gate_bad
aoki__gate_bad:
	movl $PKRU_KEY0_ONLY, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	cmpl $PKRU_KEY0_ONLY, %eax
	jne aoki__gate_bad
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
