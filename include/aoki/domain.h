/* SPDX-License-Identifier: MIT */
/*
 * aoki/domain.h - compartments: isolation inside one address space with
 * memory protection keys (Intel MPK / AMD PKU, Linux pkeys).
 *
 * Model (docs/domain.md has the threat model):
 *   - A *compartment* (struct aoki_domain) owns one protection key and the
 *     pages tagged with it: a private heap, one stack per thread that
 *     enters it, and any globals placed in it with aoki_domain_place().
 *   - A *gate*, aoki_domain_call(), runs a function inside a compartment:
 *     it saves the caller's PKRU and stack on the thread's frame stack (in
 *     pages of a key of the runtime's own that no compartment holds),
 *     switches to the compartment's stack for this thread, writes the
 *     compartment's PKRU, runs the function, and restores both from that
 *     frame stack only, so a compartment cannot choose the PKRU or stack
 *     its gate returns with.  Every PKRU value written to open a key is
 *     checked (wrpkru; lfence; cmp; jne) against read-only memory, so that
 *     jumping into the middle of a gate does not yield rights the gate
 *     would not have given (docs/domain.md says where that stops).
 *   - Inside a compartment a thread can access key 0 (ordinary memory:
 *     libc, the caller's stack) read-write, the compartment's own key, and
 *     the keys of regions attached to it; all other keys are denied.
 *   - A *shared region* is a compartment created with AOKI_DOMAIN_SHARED:
 *     it has a key and a heap but no gate.  aoki_domain_attach() gives
 *     another compartment read-write or read-only access to it (or to any
 *     compartment).
 *   - PKRU is per thread: aoki_domain_grant() sets the calling thread's
 *     rights on one compartment outside gates.
 *
 * Without PKU (CPUID PKU+OSPKE and a working pkey_alloc) the library runs
 * in an explicit *unprotected mode*: the same API and the same stacks and
 * heaps, aoki_domain_isolated() returns false, a one-line notice is
 * printed once, and no rdpkru/wrpkru instruction is ever executed.
 *
 * Conventions (liburing style): the caller allocates what it passes in,
 * functions return 0 or a non-negative value on success and -errno on
 * failure, errno is never set.  Each function states its progress
 * guarantee.
 */
#ifndef AOKI_DOMAIN_H
#define AOKI_DOMAIN_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most compartments (including shared regions) alive at once.  With PKU
 * the limit is the number of free hardware keys (at most 14: key 0 is
 * shared and one key holds the gates' frames): keys are not virtualised,
 * aoki_domain_create() refuses with -ENOSPC. */
#define AOKI_DOMAIN_MAX 64

/* Page size compartments are tagged in. */
#define AOKI_DOMAIN_PAGE 4096

/* Rights of a thread (or of a compartment) on a compartment's pages. */
#define AOKI_DOMAIN_NONE  0u
#define AOKI_DOMAIN_READ  1u
#define AOKI_DOMAIN_RW    3u	/* read and write */

/* aoki_domain_init() flags. */
#define AOKI_DOMAIN_HARDEN    0x1u	/* hardening mode (see docs/domain.md) */
#define AOKI_DOMAIN_QUIET     0x2u	/* no notice on stderr in unprotected mode */
#define AOKI_DOMAIN_NO_PKU    0x4u	/* force unprotected mode (tests) */
#define AOKI_DOMAIN_HARDEN_REPORT 0x8u	/* report gadgets / no Landlock, do not refuse */

/* aoki_domain_create() flags. */
#define AOKI_DOMAIN_SHARED      0x1u	/* a shared region: key and heap, no gate */
#define AOKI_DOMAIN_RECOVERABLE 0x2u	/* a fault inside returns -EFAULT from the gate
					 * (aoki_domain_call has the contract) */
#define AOKI_DOMAIN_SUCCESSOR   0x4u	/* succeeds the destroyed compartment of the
					 * same name: may take up its key (below) */

struct aoki_domain;	/* opaque */

/* Compartment options; zero-initialise and set what you need. */
struct aoki_domain_opts {
	unsigned flags;		/* AOKI_DOMAIN_SHARED, AOKI_DOMAIN_RECOVERABLE,
				 * AOKI_DOMAIN_SUCCESSOR */
	size_t heap_size;	/* bytes of heap; 0: 4 MiB; rounded up to 16 KiB */
	size_t stack_size;	/* bytes of stack per thread; 0: 128 KiB */
};

/* A fault report: the last pkey fault the calling thread took, or the
 * last fault recovered in a recoverable compartment (any signal). */
struct aoki_domain_fault {
	char domain[32];	/* compartment running, "" outside any */
	char owner[32];		/* compartment owning the page, "" if unknown
				 * (always for a fault that is not a pkey fault) */
	uintptr_t addr;		/* si_addr: faulting address or instruction;
				 * 0 for SIGABRT */
	int pkey;		/* key of the page; -1: not a pkey fault */
	char access;		/* SIGSEGV: 'r' read, 'w' write, 'x' execute;
				 * 0 when unknown (other signals, SI_KERNEL) */
	int signo;		/* SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT */
	int code;		/* its si_code (SEGV_PKUERR for a pkey fault) */
};

/* ------------------------------------------------------------- runtime */

/*
 * aoki_domain_init - detect PKU and set the runtime up; idempotent (later
 * calls return 0 and ignore @flags).  Installs, in both modes, the
 * handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that reports
 * pkey faults and recovers faults of recoverable compartments; handlers
 * installed before stay in use for every other case (chained).  With
 * PKU, allocates the gates' frame key (one key fewer for compartments).  With AOKI_DOMAIN_HARDEN: scans executable
 * memory for WRPKRU/XRSTOR/WRFSBASE outside the gates (-EPERM when found,
 * unless AOKI_DOMAIN_HARDEN_REPORT), applies a Landlock rule that refuses
 * opening /proc/<pid>/mem (and, as collateral, every file of other
 * processes' and threads' /proc directories), then installs the seccomp
 * filter.  Hardening must be asked for while the caller is the only
 * thread (Landlock binds the calling thread and what it creates later).
 * io_uring is refused in hardening mode, rings made before init included
 * (docs/domain.md).  Returns 0, -EPERM (gadget found / seccomp refused / /proc unreadable),
 * -EOPNOTSUPP (hardening asked for without PKU, or without Landlock:
 * kernel before 5.13 or Landlock not in the LSM list; with
 * AOKI_DOMAIN_HARDEN_REPORT a missing Landlock is only reported), -EBUSY
 * (hardening asked for with other threads running), -ENOMEM, -ENOSPC (no
 * key left for the frame key).  Blocking (takes the runtime lock).
 */
int aoki_domain_init(unsigned flags);

/* aoki_domain_isolated - true when compartments are enforced by PKU.
 * Wait-free; false before aoki_domain_init(). */
bool aoki_domain_isolated(void);

/* aoki_domain_hardened - true when the hardening mode is on.  Wait-free. */
bool aoki_domain_hardened(void);

/* -------------------------------------------------------- compartments */

/*
 * aoki_domain_create - create compartment @name (at most 31 bytes kept)
 * with its own protection key and heap.  The calling thread gets no rights
 * on it.  When no key is free, the keys of destroyed compartments are
 * revoked from every thread of the process (SIGRTMAX, reserved by the
 * runtime in PKU mode; up to 200 ms per thread that does not answer) and
 * reused only if all answered.  io_uring's worker threads cannot be
 * asked: a key one of them may hold (it was made while the key was live)
 * stays out of use while it lives, except for an AOKI_DOMAIN_SUCCESSOR
 * compartment: when no other key is left, it gets the key of the last
 * destroyed compartment called @name that only such workers may hold
 * (they keep the reach they had: that compartment's successor; a
 * recovered server uses this, docs/domain.md).  Names are the program's
 * to keep apart.  Returns 0 with *@out set, -EINVAL (bad
 * name/opts, not initialised), -ENOSPC (no free protection key, or
 * AOKI_DOMAIN_MAX reached: keys are not virtualised; also while a thread
 * blocks SIGRTMAX and keys wait for revocation), -ENOMEM.  Blocking
 * (runtime lock).
 */
int aoki_domain_create(const char *name, const struct aoki_domain_opts *opts,
		       struct aoki_domain **out);

/*
 * aoki_domain_destroy - free @d: its heap, every thread's stack in it;
 * placed globals go back to key 0; the calling thread's rights on the key
 * are dropped.  The key itself is held back (other threads, and gate
 * frames, may still hold rights on it) until aoki_domain_create() finds
 * no other key and revokes it from every thread.  No thread may be inside
 * @d.  Returns 0, -EBUSY (the calling thread is inside @d, or @d is
 * attached to another compartment).  Blocking.
 */
int aoki_domain_destroy(struct aoki_domain *d);

/* aoki_domain_name - the name given at creation.  Wait-free. */
const char *aoki_domain_name(const struct aoki_domain *d);

/* aoki_domain_pkey - the protection key of @d, -1 in unprotected mode.
 * Wait-free. */
int aoki_domain_pkey(const struct aoki_domain *d);

/*
 * aoki_domain_current - the compartment the calling thread runs in (the
 * innermost gate), NULL outside any.  Wait-free.
 */
struct aoki_domain *aoki_domain_current(void);

/* --------------------------------------------------------------- memory */

/*
 * aoki_domain_alloc - allocate @size bytes (16-byte aligned; 4096-byte
 * aligned from 4097 bytes up) in @d's heap.  Size classes 16..4096 bytes
 * are carved from 16 KiB spans; larger blocks take whole spans.  The
 * allocator's metadata lives outside the heap, so any thread may call it,
 * with or without rights on @d; the memory itself is only accessible with
 * rights.  Contents are not zeroed.  Returns 0 with *@out set, -EINVAL
 * (@size 0), -ENOMEM.  Blocking (per-heap lock).
 */
int aoki_domain_alloc(struct aoki_domain *d, size_t size, void **out);

/*
 * aoki_domain_free - free @p, allocated from @d.  NULL is ignored.
 * Returns 0, -EINVAL (@p not a live block of @d: double free, interior or
 * foreign pointer).  Blocking (per-heap lock).
 */
int aoki_domain_free(struct aoki_domain *d, void *p);

/*
 * aoki_domain_place - tag the pages [@addr, @addr + @len) (both multiples
 * of AOKI_DOMAIN_PAGE) with @d's key, e.g. a component's globals declared
 * with AOKI_DOMAIN_GLOBALS.  They go back to key 0 on destroy.  Returns 0,
 * -EINVAL (misaligned, shared with another placement), -ENOMEM (more than
 * 32 placements), -EPERM.
 * Blocking.
 */
int aoki_domain_place(struct aoki_domain *d, void *addr, size_t len);

/*
 * aoki_domain_unplace - undo aoki_domain_place(@d, @addr, @len) (the same
 * range): the pages go back to key 0 now.  Call it before unmapping a
 * placed range, or the destroy would retag whatever is mapped there by
 * then.  Returns 0, -ENOENT (not a placement of @d), -EPERM (hardening
 * mode: the range stays placed), -EINVAL.  Blocking.
 */
int aoki_domain_unplace(struct aoki_domain *d, void *addr, size_t len);

/* Declare @name, a variable of type @T on pages of its own, to be placed
 * in a compartment with aoki_domain_place(d, &name, sizeof(name)); access
 * the value as name.v. */
#define AOKI_DOMAIN_GLOBALS(T, name)					\
	union {								\
		T v;							\
		unsigned char pad_[(sizeof(T) + AOKI_DOMAIN_PAGE - 1) /	\
				   AOKI_DOMAIN_PAGE * AOKI_DOMAIN_PAGE];\
	} name __attribute__((aligned(AOKI_DOMAIN_PAGE)))

/*
 * aoki_domain_attach - give compartment @d the rights @rights
 * (AOKI_DOMAIN_READ or AOKI_DOMAIN_RW; AOKI_DOMAIN_NONE detaches) on
 * @target's pages whenever a gate enters @d.  Takes effect for gates
 * entered after the call.  Returns 0, -EINVAL (@d shared, @d == @target,
 * bad rights).  Blocking.
 */
int aoki_domain_attach(struct aoki_domain *d, struct aoki_domain *target,
		       unsigned rights);

/* --------------------------------------------------------------- gates */

typedef long (*aoki_domain_fn)(void *arg);

/*
 * aoki_domain_call - run @fn(@arg) inside @d on the calling thread: on
 * @d's stack for this thread (allocated on first entry) with @d's rights
 * only.  Nested calls (A calls B calls C) work; each return restores the
 * caller's stack and PKRU.  Returns @fn's return value; -EFAULT when a
 * fault inside @d was recovered (details from aoki_domain_last_fault()).
 *
 * Recovery (@d created AOKI_DOMAIN_RECOVERABLE, and @d is the innermost
 * gate of the thread): a SIGSEGV (any fault: unmapped, protection, pkey),
 * SIGBUS, SIGFPE or SIGILL raised by an instruction of @fn or of anything
 * it calls on @d's stack (a stack overflow into the guard page included),
 * or a SIGABRT the process sends itself while @fn runs (abort()), makes
 * this gate return -EFAULT, in both modes.  The caller's stack,
 * callee-saved registers and PKRU come back exactly; what the activation
 * had on @d's stack is abandoned, its writes stay made, locks it held stay
 * held.  A fault inside libc (abort() included) can leave libc's state
 * (locks, malloc arenas, stdio) inconsistent: after -EFAULT, treat @d as
 * broken and destroy it; do not call on into it.  The signal mask of the
 * faulting context comes back (a SIGABRT that abort() unblocked stays
 * unblocked).  Not recovered: traps of the gate code itself (its checks
 * kill), signals other processes send, faults in a nested gate into a
 * compartment that is not recoverable, in a signal handler running on top
 * of @fn, and everything after a plain sigaction() replaced the runtime's
 * handler for that signal (install handlers with aoki_domain_sigaction()).
 *
 * -EINVAL (@d is a shared region; @d must
 * be live: calling through a destroyed handle is a use after free);
 * -ENOMEM (no stack, or more than 4096 threads have a frame stack);
 * -ELOOP (gates nested deeper than 32).  With PKU the return state lives
 * on the thread's protected frame stack: a callee that corrupts the
 * gate's registers or its key-0 bookkeeping makes the gate trap (SIGILL),
 * never return with another PKRU or stack.  Wait-free itself (after the
 * first entry per thread, which allocates).
 */
long aoki_domain_call(struct aoki_domain *d, aoki_domain_fn fn, void *arg);

/*
 * aoki_domain_call_light - aoki_domain_call() for a *trusted* callee, at
 * about half the cost with PKU: one checked wrpkru each way instead of
 * four, no protected frame stack.  Entry is checked like the protected
 * gate's (the PKRU written is @d's, from the read-only table; the stack
 * top lies in the compartment arena), so while @fn runs its memory
 * accesses are confined to @d's rights exactly as with
 * aoki_domain_call().  The return state (the caller's PKRU and stack
 * pointer) is kept in the thread's key-0 gate frame, which @fn can write:
 * a callee that attacks the gate can return with any PKRU except the
 * frame key, onto any stack.  Use it only where the callee is trusted
 * not to do that (its bugs are still contained while it runs); use
 * aoki_domain_call() for untrusted callees.  Everything else is the same:
 * nesting with either gate, -ELOOP, re-entry, and fault recovery in
 * AOKI_DOMAIN_RECOVERABLE compartments (-EFAULT; the caller's PKRU comes
 * from that frame).  In unprotected mode it is aoki_domain_call().
 * Returns as aoki_domain_call().  Wait-free
 * itself (after the first entry per thread, which allocates).
 */
long aoki_domain_call_light(struct aoki_domain *d, aoki_domain_fn fn, void *arg);

/* --------------------------------------------------- per-thread rights */

/*
 * aoki_domain_grant - set the calling thread's rights on @d's pages to
 * @rights (AOKI_DOMAIN_NONE, _READ, _RW) until changed; gates save and
 * restore them.  In unprotected mode the rights are recorded, not
 * enforced.  Returns 0, -EINVAL.  Wait-free.
 */
int aoki_domain_grant(struct aoki_domain *d, unsigned rights);

/* aoki_domain_rights - the calling thread's current rights on @d
 * (AOKI_DOMAIN_NONE, _READ or _RW), from PKRU.  Wait-free. */
int aoki_domain_rights(const struct aoki_domain *d);

/* aoki_domain_revoke_all - drop the calling thread's rights on every
 * compartment.  Returns 0.  Wait-free. */
int aoki_domain_revoke_all(void);

/*
 * aoki_domain_thread_create - pthread_create(), except that the new thread
 * starts with no rights on any compartment (plain pthread_create() and
 * fork() copy the creator's PKRU, a kernel rule).  Returns 0 or -errno
 * from pthread_create().  Blocking.
 */
int aoki_domain_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg);

/* --------------------------------------------------------------- faults */

/*
 * aoki_domain_last_fault - copy the calling thread's last fault report
 * into *@out: its last pkey fault (recovered or reported before the
 * abort), or the last fault recovered in a recoverable compartment (any
 * signal: signo and code say which).  Returns 0, -ENOENT (none yet).
 * Wait-free.
 */
int aoki_domain_last_fault(struct aoki_domain_fault *out);

/* ------------------------------------------------------------ hardening */

/*
 * aoki_domain_scan - scan [@addr, @addr + @len) for WRPKRU (0f 01 ef),
 * XRSTOR (0f ae /5, memory operand) and WRFSBASE (0f ae /2, register
 * operand) byte sequences at any offset.
 * Returns the number found (0: clean) and the first one's address in
 * *@first (may be NULL).  Wait-free.
 */
long aoki_domain_scan(const void *addr, size_t len, uintptr_t *first);

/*
 * aoki_domain_map_exec - make the code in [@addr, @addr + @len) (page
 * aligned, already mapped, readable) executable after scanning it; the
 * only way to create an executable mapping in hardening mode.  The bytes
 * are copied into fresh private anonymous pages (in the compartment arena
 * after init, where nobody else may change protections), scanned there,
 * made read+execute, and moved over the range: whatever was mapped there
 * (a shared memfd or file mapping included) is replaced, so writing
 * another mapping of the same object does not change the code.  Returns
 * 0, -EPERM (a WRPKRU, XRSTOR or WRFSBASE sequence found: the range is
 * left read-only, otherwise unchanged), -EINVAL (bad range, or compartment
 * memory), -ENOMEM.  Blocking (arena lock).
 */
int aoki_domain_map_exec(void *addr, size_t len);

/*
 * aoki_domain_sigaction - install @act for @sig with a wrapper that
 * restores the interrupted context's PKRU in the signal frame after the
 * handler returns (a handler that rewrote it cannot grant itself rights).
 * Adds SA_ONSTACK: handlers run with no compartment rights and so cannot
 * use a compartment's stack.  In hardening mode the only way to install
 * a handler.  A signal that interrupts the gate code resumes it exactly
 * where it was (the handler's edits of registers are undone), and a trap
 * of the gate code (a failed check) is never handed to the handler: the
 * process dies of it.  For SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT
 * the order is: a trap of the gate code kills; a fault recovered in a
 * recoverable compartment (aoki_domain_call) never reaches @act; the
 * rest goes to @act, SIG_DFL and SIG_IGN included (the wrapper stays
 * installed for them and does what they would).  Returns 0, -EINVAL (SIGRTMAX in PKU mode: the
 * runtime's revocation signal) or -errno from sigaction.  Blocking.
 */
int aoki_domain_sigaction(int sig, const struct sigaction *act,
			  struct sigaction *old);

#ifdef __cplusplus
}
#endif
#endif
