/* SPDX-License-Identifier: MIT */
/* internal.h - compartment runtime internals shared by lib/domain. */
#ifndef AOKI_DOMAIN_INTERNAL_H
#define AOKI_DOMAIN_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aoki/domain.h"

/* Nothing below is part of the library's ABI. */
#pragma GCC visibility push(hidden)

#define DOM_TABLE_LEN 1024	/* entries of aoki__pkru_table (one page); gate.S */
#define DOM_MAX_DEPTH 32	/* nested gates per thread */
#define DOM_SPAN 16384		/* heap span */
#define DOM_NCLS 9		/* size classes 16 .. 4096 */
#define DOM_MAX_PLACES 32	/* aoki_domain_place() ranges per compartment */
#define DOM_ALTSTACK (64 * 1024)

/* PKRU: two bits per key, AD (access disable) at 2k, WD (write disable) at 2k+1. */
#define PKRU_AD(k) (1u << (2 * (k)))
#define PKRU_WD(k) (1u << (2 * (k) + 1))
#define PKRU_ALL_DENIED 0xfffffffcu	/* key 0 read-write, keys 1..15 denied */

/* Slots of the read-only table page beyond the compartments' entries
 * (u32 indices; gate.S uses the byte offsets 4 * these). */
#define DOM_RO_ARENA_LO 1012	/* u64: the compartment arena (stacks live there) */
#define DOM_RO_ARENA_HI 1014	/* u64: its end */
#define DOM_RO_BLK_LO 1016	/* u64: start of the frame-stack region */
#define DOM_RO_BLK_HI 1018	/* u64: its end */
#define DOM_RO_GOPEN 1020	/* the frame PKRU: key 0 and the frame key only */
#define DOM_RO_GAD 1021		/* PKRU_AD(frame key) */
#define DOM_GSTACK_MAX 4096	/* frame stacks (threads in gates) at once */

/* One gate activation as the runtime sees it, in key-0 TLS: advisory
 * only (the compartment may rewrite it).  The gate writes caller_rsp
 * (+8, gate.S); in unprotected mode it also restores the stack from it.
 * With PKU the gate returns through struct dom_gstack instead. */
struct dom_frame {
	uint64_t reserved;	/* +0 */
	void *caller_rsp;	/* +8 */
	struct aoki_domain *d;	/* +16 */
	void *top;		/* +24: the activation's stack top: it runs below */
	uint32_t caller_pkru;	/* +32: light gate: the PKRU its exit writes */
	uint32_t light;		/* +36: entered through the light gate */
};

/* One frame of the protected frame stack; layout known to gate.S. */
struct dom_gframe {
	uint32_t caller_pkru;	/* +0 */
	uint32_t idx;		/* +4: the compartment entered */
	void *caller_rsp;	/* +8 */
	uint64_t reserved[2];
};

/* A thread's protected frame stack: one page tagged with the frame key
 * (dom_rt.gkey), written only by gate.S and by gstack.c while it holds
 * the key.  Layout known to gate.S. */
struct dom_gstack {
	struct dom_gstack *self;	/* +0: its own address */
	uint32_t depth;			/* +8 */
	uint32_t pad;
	uint64_t fsbase;		/* +16: owner thread's fs base, 0: unchecked */
	uint64_t reserved[5];
	struct dom_gframe frames[DOM_MAX_DEPTH];	/* +64 */
	uint8_t tail[4096 - 64 - 32 * DOM_MAX_DEPTH];
};

/* One thread's stack in one compartment. */
struct dom_stack {
	struct dom_stack *next;	/* in the compartment's list (d->lock) */
	struct dom_stack **owner; /* the thread's slot pointing here */
	void *base;		/* mapping, guard page first */
	size_t len;
	void *top;
};

struct dom_span {
	uint8_t kind;		/* SPAN_FREE, SPAN_SMALL, SPAN_LARGE, SPAN_CONT */
	uint8_t cls;
	uint16_t nfree;
	uint32_t next, prev;	/* class list of spans with free slots */
	uint32_t nspans;	/* SPAN_LARGE: spans in the block */
	uint64_t bits[DOM_SPAN / 16 / 64];	/* SPAN_SMALL: 1 = allocated */
};

struct dom_heap {
	pthread_mutex_t lock;
	uint8_t *base;
	uint32_t nspans;
	struct dom_span *spans;	/* out of band: ordinary (key 0) memory */
	uint32_t head[DOM_NCLS];
};

struct dom_place {
	void *addr;
	size_t len;
};

struct aoki_domain {
	char name[32];
	unsigned flags;
	int idx;		/* slot in the runtime and in aoki__pkru_table */
	int pkey;		/* -1 in unprotected mode */
	uint32_t gen;		/* of the slot, to spot stale per-thread stacks */
	uint32_t pkru;		/* PKRU inside (also in the table) */
	size_t stack_size;
	unsigned nattached;	/* compartments attached to this one */
	uint8_t attach[AOKI_DOMAIN_MAX];	/* rights on other slots */
	pthread_mutex_t lock;	/* stacks */
	struct dom_stack *stacks;
	struct dom_place places[DOM_MAX_PLACES];
	unsigned nplaces;
	struct dom_heap heap;
};

/* Per-thread state (ordinary TLS). */
struct dom_tls {
	int depth;
	struct dom_frame frames[DOM_MAX_DEPTH];
	struct dom_stack *stacks[AOKI_DOMAIN_MAX];
	uint32_t stack_gen[AOKI_DOMAIN_MAX];
	uint8_t rights[AOKI_DOMAIN_MAX];	/* unprotected mode: recorded rights */
	bool has_fault;
	bool registered;
	bool fatal;		/* the runtime is aborting: no recovery (fault.c) */
	struct aoki_domain_fault fault;
	void *altstack;
	struct dom_gstack *gstack;	/* PKU mode: this thread's frame stack */
};

struct dom_rt {
	pthread_mutex_t lock;
	atomic_bool inited;
	bool isolated;
	bool hardened;
	int gkey;		/* PKU mode: the frame key, no compartment's */
	unsigned flags;
	struct aoki_domain *slots[AOKI_DOMAIN_MAX];
	uint32_t gen[AOKI_DOMAIN_MAX];
	pthread_key_t tls_key;
};

extern struct dom_rt dom_rt;
extern __thread struct dom_tls dom_tls;

/* gate.S */
long aoki__gate_enter(struct dom_frame *f, unsigned idx, void *stack_top,
		      aoki_domain_fn fn, void *arg, struct dom_gstack *g);
long aoki__gate_enter_nopku(struct dom_frame *f, void *stack_top,
			    aoki_domain_fn fn, void *arg);
long aoki__gate_enter_light(struct dom_frame *f, unsigned idx, void *stack_top,
			    aoki_domain_fn fn, void *arg);
uint32_t aoki__rdpkru(void);
void aoki__wrpkru(uint32_t v);
long aoki__sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
void aoki__sigreturn(void);
extern const char aoki__gate_text_start[], aoki__gate_text_end[];
extern const char aoki__sys_ip[], aoki__sigreturn_ip[], aoki__gate_exit[];
extern const char aoki__gate_exit_nopku[], aoki__gate_exit_light[];
extern uint32_t aoki__pkru_table[DOM_TABLE_LEN];

/* cpu.c */
bool dom_cpu_has_pku(void);
unsigned dom_xsave_pkru_offset(void);

/* sys.c: system calls through the trusted site; return -errno */
void *dom_mmap(void *addr, size_t len, int prot, int flags);
int dom_munmap(void *addr, size_t len);
int dom_mprotect(void *addr, size_t len, int prot);
int dom_pkey_mprotect(void *addr, size_t len, int prot, int pkey);
int dom_pkey_alloc(unsigned rights);
int dom_pkey_free(int pkey);
int dom_sigaction_raw(int sig, const struct sigaction *act, struct sigaction *old);
int dom_tag(void *addr, size_t len, int pkey);	/* RW pages with @pkey (or plain RW) */

/* arena.c: all heaps and stacks come from one 4 GiB aligned window */
int dom_arena_init(void);
void *dom_arena_get(size_t len);
void dom_arena_put(void *p, size_t len);
void dom_arena_range(uintptr_t *lo, uintptr_t *hi);

/* heap.c */
int dom_heap_init(struct dom_heap *h, size_t size, int pkey);
void dom_heap_fini(struct dom_heap *h);

/* stack.c */
struct dom_stack *dom_stack_get(struct aoki_domain *d);
void dom_stacks_free(struct aoki_domain *d);
int dom_thread_setup(void);
void dom_thread_exit(void *arg);

/* gstack.c: protected frame stacks (PKU mode); return -errno */
int dom_gstack_init(void);		/* init, under dom_rt.lock, table writable */
int dom_gstack_thread(void);		/* this thread's, on its first gate */
void dom_gstack_release(void);		/* at thread exit */

/* fault.c: the fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) */
int dom_fault_install(void);	/* init, both modes */
bool dom_fault_sig(int sig);	/* one of them */
/* When the interrupted context (@uc) runs a recoverable compartment's
 * code and @sig is its fault (or its own abort()): record the report and
 * rewrite @uc to return -EFAULT from the innermost gate.  Async-signal-
 * safe; returns whether it did. */
bool dom_fault_recover(int sig, siginfo_t *si, void *uc);
/* Hand @sig to @to: call its handler, or do what SIG_DFL / SIG_IGN would
 * have done (a fault re-executes under SIG_DFL, a sent signal is sent
 * again).  Async-signal-safe. */
void dom_sig_chain(int sig, siginfo_t *si, void *uc, const struct sigaction *to);

/* scan.c, seccomp.c */
int dom_scan_self(bool report_only);
int dom_seccomp_install(void);
int dom_seccomp_protect(void *addr, size_t len);

/* landlock.c: no opening /proc/<pid>/mem from here on, in this thread
 * and what it creates; the caller must be the only thread.  Returns 0,
 * -EOPNOTSUPP (no Landlock; 0 with @report_only, after a report line),
 * -EBUSY (other threads exist), -EPERM, -E2BIG, -errno. */
int dom_landlock_install(bool report_only);

/* revoke.c: keys of destroyed compartments (quarantine, revocation) */
#define DOM_REVOKE_SIG (SIGRTMAX)	/* reserved by the runtime in PKU mode */
int dom_revoke_install(void);		/* the handler; init, PKU mode */
void dom_revoke_quarantine(int pkey, const char *name);	/* destroy: hold the key back (dom_rt.lock) */
/* A key for a new compartment: a quarantined one proven clean before, else
 * a fresh one (pkey_alloc, no rights for the caller), else one proven
 * clean now by revoking the quarantined keys from every thread, else, for
 * a @successor, the key last held by a compartment called @name that only
 * io_uring workers may still hold.  Returns the key, -ENOSPC, or
 * pkey_alloc's -errno.  dom_rt.lock held. */
int dom_revoke_take_key(const char *name, bool successor);
/* PKRU = (PKRU & ~@clear) | @set on this thread, applying any revocation
 * that ran between the read and the write.  Outside the gates only. */
void dom_pkru_update(uint32_t clear, uint32_t set);

/* signal.c: the PKRU slot of a signal frame (ucontext_t *), NULL if none */
uint32_t *dom_sigframe_pkru(void *uc, uint64_t **xstate_bv);

/* runtime.c */
uint32_t dom_pkru_of(const struct aoki_domain *d);
int dom_table_set(unsigned idx, uint32_t pkru);

#pragma GCC visibility pop

#endif
