/* SPDX-License-Identifier: MIT */
/*
 * seccomp.c - the hardening mode's system-call filter (classic BPF,
 * written out by hand: no library needed).
 *
 * Calls made from aoki__sys_ip (the runtime's one system-call site,
 * gate.S) are allowed.  From anywhere else:
 *   - pkey_alloc, pkey_free, pkey_mprotect, process_vm_readv,
 *     process_vm_writev, ptrace: EPERM;
 *   - arch_prctl(ARCH_SET_FS / ARCH_SET_GS): EPERM (fs base ties a
 *     thread to its protected gate frame stack, gstack.c);
 *   - rt_sigaction installing a handler: EPERM (aoki_domain_sigaction()
 *     is the way), rt_sigreturn: EPERM except from aoki__sigreturn;
 *   - mprotect or mmap asking for PROT_EXEC: EPERM (new code goes
 *     through aoki_domain_map_exec(), which scans it first);
 *   - mprotect, munmap, madvise, mremap, and mmap with MAP_FIXED, on a
 *     range overlapping compartment memory (the arena, the PKRU table,
 *     placed globals): EPERM; mremap with MREMAP_FIXED: EPERM; such calls
 *     with a length of 4 GiB or more: EPERM (the range test is 32-bit);
 *   - shmat with SHM_REMAP (it replaces pages like mmap(MAP_FIXED), with
 *     a length the filter cannot see): EPERM;
 *   - personality setting READ_IMPLIES_EXEC (mmap/mprotect would add
 *     PROT_EXEC to any PROT_READ behind the filter's back): EPERM;
 *   - process_madvise (madvise on an iovec the filter cannot read),
 *     userfaultfd (UFFDIO_COPY/MOVE fill or move compartment pages) and
 *     io_uring_setup/enter/register (io-wq workers keep the PKRU of the
 *     thread that created them; IORING_OP_MADVISE): EPERM;
 *   - clone with CLONE_VM but neither CLONE_THREAD nor CLONE_VFORK (a
 *     process sharing the address space is not in /proc/self/task, so
 *     key revocation, revoke.c, cannot reach it): EPERM; clone3 (its
 *     flags are in memory): ENOSYS, so that libc falls back to clone;
 *   - any x32 system call (number with bit 30 set: the same arch value
 *     as x86-64 and numbers no rule above matches): EPERM.
 * aoki_domain_place() in hardening mode stacks one more filter with the
 * range test for the new pages (filters cannot be edited, only added).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define MAXI 256
#define X32_SYSCALL_BIT 0x40000000u
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#define OFF_IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define OFF_IP_HI (OFF_IP_LO + 4)
#define OFF_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define OFF_ARG_HI(i) (OFF_ARG_LO(i) + 4)

/* Labels of the terminal instructions, resolved at the end. */
enum { L_ALLOW = 1, L_EPERM, L_ENOSYS, L_KILL, L_RANGE, L_MMAP, L_PROT, L_SIGACT, L_MREMAP, L_NLABELS };

struct prog {
	struct sock_filter f[MAXI];
	int jt[MAXI], jf[MAXI];	/* label or 0 (literal) */
	int label_at[L_NLABELS + 64];
	unsigned n;
	int next_label;
};

static void emit(struct prog *p, uint16_t code, uint32_t k, int jt, int jf)
{
	if (p->n == MAXI)
		return;
	p->f[p->n] = (struct sock_filter)BPF_STMT(code, k);
	p->jt[p->n] = jt;
	p->jf[p->n] = jf;
	p->n++;
}

static int new_label(struct prog *p) { return p->next_label++; }
static void place(struct prog *p, int l) { p->label_at[l] = (int)p->n; }
static void ld(struct prog *p, uint32_t off) { emit(p, BPF_LD | BPF_W | BPF_ABS, off, 0, 0); }
/* if (A == k) goto jt else goto jf; label 0 means "next instruction". */
static void jeq(struct prog *p, uint32_t k, int jt, int jf) { emit(p, BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf); }
static void ret(struct prog *p, uint32_t v) { emit(p, BPF_RET | BPF_K, v, 0, 0); }

static int resolve(struct prog *p)
{
	if (p->n == MAXI)
		return -E2BIG;
	for (unsigned i = 0; i < p->n; i++) {
		uint16_t cls = BPF_CLASS(p->f[i].code);
		int t = p->jt[i] ? p->label_at[p->jt[i]] - (int)i - 1 : 0;
		int f = p->jf[i] ? p->label_at[p->jf[i]] - (int)i - 1 : 0;

		if (cls != BPF_JMP)
			continue;
		if (BPF_OP(p->f[i].code) == BPF_JA) {
			p->f[i].k = (uint32_t)t;
			continue;
		}
		if (t < 0 || t > 255 || f < 0 || f > 255)
			return -E2BIG;
		p->f[i].jt = (uint8_t)t;
		p->f[i].jf = (uint8_t)f;
	}
	return 0;
}

/*
 * The range test: does [a, a + len) overlap [r1, r2)?  r1 and r2 - 1 must
 * share their upper 32 bits H; len < 2^32 (checked before).  Scratch:
 * M0 = lo(a) + lo(len) (32-bit), M1 = carry, M2 = lo(a), M3 = hi(a).
 *   hi(a) == H:     overlap iff lo(a) < lo(r2) (r2 at a 4 GiB boundary:
 *                   always) and (carry or M0 > lo(r1));
 *   hi(a) == H - 1: overlap iff carry and M0 > lo(r1);
 *   otherwise none (len < 2^32).
 */
static void emit_range(struct prog *p, uintptr_t r1, uintptr_t r2)
{
	uint32_t h = (uint32_t)(r1 >> 32), l1 = (uint32_t)r1, l2 = (uint32_t)r2;
	bool to_boundary = (r2 >> 32) != h;
	int same = new_label(p), below = new_label(p), no = new_label(p);

	emit(p, BPF_LD | BPF_MEM, 3, 0, 0);
	jeq(p, h, same, 0);
	jeq(p, h - 1, below, no);
	place(p, same);
	if (!to_boundary) {
		emit(p, BPF_LD | BPF_MEM, 2, 0, 0);
		emit(p, BPF_JMP | BPF_JGE | BPF_K, l2, no, 0);
	}
	emit(p, BPF_LD | BPF_MEM, 1, 0, 0);
	jeq(p, 1, L_EPERM, 0);
	emit(p, BPF_LD | BPF_MEM, 0, 0, 0);
	emit(p, BPF_JMP | BPF_JGT | BPF_K, l1, L_EPERM, no);
	place(p, below);
	emit(p, BPF_LD | BPF_MEM, 1, 0, 0);
	jeq(p, 0, no, 0);
	emit(p, BPF_LD | BPF_MEM, 0, 0, 0);
	emit(p, BPF_JMP | BPF_JGT | BPF_K, l1, L_EPERM, no);
	place(p, no);
}

/* Scratch setup for the range tests: a = arg0, len = arg1. */
static void emit_range_prologue(struct prog *p)
{
	int nc = new_label(p), go = new_label(p);

	ld(p, OFF_ARG_HI(1));
	jeq(p, 0, 0, L_EPERM);
	ld(p, OFF_ARG_LO(0));
	emit(p, BPF_ST, 2, 0, 0);
	ld(p, OFF_ARG_HI(0));
	emit(p, BPF_ST, 3, 0, 0);
	ld(p, OFF_ARG_LO(1));
	emit(p, BPF_MISC | BPF_TAX, 0, 0, 0);
	emit(p, BPF_LD | BPF_MEM, 2, 0, 0);
	emit(p, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
	emit(p, BPF_ST, 0, 0, 0);
	emit(p, BPF_LDX | BPF_MEM, 2, 0, 0);
	emit(p, BPF_JMP | BPF_JGE | BPF_X, 0, nc, 0);	/* sum >= lo(a): no carry */
	emit(p, BPF_LD | BPF_IMM, 1, 0, 0);
	emit(p, BPF_ST, 1, 0, 0);
	emit(p, BPF_JMP | BPF_JA, 0, go, 0);
	place(p, nc);
	emit(p, BPF_LD | BPF_IMM, 0, 0, 0);
	emit(p, BPF_ST, 1, 0, 0);
	place(p, go);
}

static void emit_trusted_ip(struct prog *p, const void *ip, int then)
{
	int skip = new_label(p);

	ld(p, OFF_IP_HI);
	jeq(p, (uint32_t)((uintptr_t)ip >> 32), 0, skip);
	ld(p, OFF_IP_LO);
	jeq(p, (uint32_t)(uintptr_t)ip, then, skip);
	place(p, skip);
}

static int build(struct prog *p, bool full, const uintptr_t (*ranges)[2], unsigned nranges)
{
	int not_sigreturn, arch, shm, pers, clone;

	memset(p, 0, sizeof(*p));
	p->next_label = L_NLABELS;
	not_sigreturn = new_label(p);
	arch = new_label(p);
	shm = new_label(p);
	pers = new_label(p);
	clone = new_label(p);
	ld(p, OFF_ARCH);
	jeq(p, AUDIT_ARCH_X86_64, 0, L_KILL);
	/* x32 calls share AUDIT_ARCH_X86_64 and differ by bit 30 of the
	 * number: none of the compares below would match them. */
	ld(p, OFF_NR);
	emit(p, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, L_EPERM, 0);
	emit_trusted_ip(p, aoki__sys_ip, L_ALLOW);
	ld(p, OFF_NR);
	if (full) {
		jeq(p, SYS_rt_sigreturn, 0, not_sigreturn);
		emit_trusted_ip(p, aoki__sigreturn_ip, L_ALLOW);
		ret(p, SECCOMP_RET_ERRNO | EPERM);
		place(p, not_sigreturn);
		ld(p, OFF_NR);
		jeq(p, SYS_pkey_alloc, L_EPERM, 0);
		jeq(p, SYS_pkey_free, L_EPERM, 0);
		jeq(p, SYS_pkey_mprotect, L_EPERM, 0);
		jeq(p, SYS_process_vm_readv, L_EPERM, 0);
		jeq(p, SYS_process_vm_writev, L_EPERM, 0);
		jeq(p, SYS_ptrace, L_EPERM, 0);
		jeq(p, SYS_process_madvise, L_EPERM, 0);
		jeq(p, SYS_userfaultfd, L_EPERM, 0);
		jeq(p, SYS_io_uring_setup, L_EPERM, 0);
		jeq(p, SYS_io_uring_enter, L_EPERM, 0);
		jeq(p, SYS_io_uring_register, L_EPERM, 0);
		jeq(p, SYS_shmat, shm, 0);
		jeq(p, SYS_clone, clone, 0);
		jeq(p, SYS_clone3, L_ENOSYS, 0);
		jeq(p, SYS_personality, pers, 0);
		jeq(p, SYS_rt_sigaction, L_SIGACT, 0);
		jeq(p, SYS_mprotect, L_PROT, 0);
		jeq(p, SYS_mremap, L_MREMAP, 0);
		jeq(p, SYS_arch_prctl, arch, 0);
	} else {
		jeq(p, SYS_mprotect, L_RANGE, 0);
		jeq(p, SYS_pkey_mprotect, L_RANGE, 0);
		jeq(p, SYS_mremap, L_RANGE, 0);
	}
	jeq(p, SYS_mmap, L_MMAP, 0);
	jeq(p, SYS_munmap, L_RANGE, 0);
	jeq(p, SYS_madvise, L_RANGE, L_ALLOW);

	if (full) {
		place(p, L_SIGACT);
		ld(p, OFF_ARG_LO(1));
		jeq(p, 0, 0, L_EPERM);
		ld(p, OFF_ARG_HI(1));
		jeq(p, 0, L_ALLOW, L_EPERM);
		place(p, L_PROT);
		ld(p, OFF_ARG_LO(2));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, L_EPERM, L_RANGE);
		place(p, L_MREMAP);
		ld(p, OFF_ARG_LO(3));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, 2 /* MREMAP_FIXED */, L_EPERM, L_RANGE);
		/* fs base binds a thread to its gate frame stack (gstack.c):
		 * ARCH_SET_FS (0x1002) and ARCH_SET_GS (0x1001) are refused. */
		place(p, arch);
		ld(p, OFF_ARG_HI(0));
		jeq(p, 0, 0, L_ALLOW);
		ld(p, OFF_ARG_LO(0));
		jeq(p, 0x1002, L_EPERM, 0);
		jeq(p, 0x1001, L_EPERM, L_ALLOW);
		place(p, shm);
		ld(p, OFF_ARG_LO(2));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, SHM_REMAP, L_EPERM, L_ALLOW);
		/* personality(0xffffffff) only queries. */
		place(p, pers);
		ld(p, OFF_ARG_LO(0));
		jeq(p, 0xffffffffu, L_ALLOW, 0);
		emit(p, BPF_JMP | BPF_JSET | BPF_K, READ_IMPLIES_EXEC, L_EPERM, L_ALLOW);
		place(p, clone);
		ld(p, OFF_ARG_LO(0));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_VM, 0, L_ALLOW);
		emit(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD | CLONE_VFORK, L_ALLOW, L_EPERM);
	}
	place(p, L_MMAP);
	if (full) {
		ld(p, OFF_ARG_LO(2));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, L_EPERM, 0);
	}
	ld(p, OFF_ARG_LO(3));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED, L_RANGE, L_ALLOW);

	place(p, L_RANGE);
	emit_range_prologue(p);
	for (unsigned i = 0; i < nranges; i++)
		emit_range(p, ranges[i][0], ranges[i][1]);
	place(p, L_ALLOW);
	ret(p, SECCOMP_RET_ALLOW);
	place(p, L_EPERM);
	ret(p, SECCOMP_RET_ERRNO | EPERM);
	place(p, L_ENOSYS);
	ret(p, SECCOMP_RET_ERRNO | ENOSYS);
	place(p, L_KILL);
	ret(p, SECCOMP_RET_KILL_PROCESS);
	return resolve(p);
}

static int install(struct prog *p)
{
	struct sock_fprog fp = { .len = (unsigned short)p->n, .filter = p->f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -EPERM;
	/* TSYNC: every thread of the process gets the filter now. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp))
		return -EPERM;
	return 0;
}

static bool one_window(uintptr_t lo, uintptr_t hi)
{
	return hi > lo && (lo >> 32) == ((hi - 1) >> 32);
}

int dom_seccomp_install(void)
{
	static struct prog p;
	uintptr_t ranges[2][2];
	int r;

	dom_arena_range(&ranges[0][0], &ranges[0][1]);
	ranges[1][0] = (uintptr_t)aoki__pkru_table;
	ranges[1][1] = (uintptr_t)aoki__pkru_table + sizeof(aoki__pkru_table);
	if (!one_window(ranges[0][0], ranges[0][1] - 1) || !one_window(ranges[1][0], ranges[1][1]))
		return -EINVAL;
	r = build(&p, true, (const uintptr_t (*)[2])ranges, 2);
	if (r < 0)
		return r;
	/* A READ_IMPLIES_EXEC set before init (by exec of a binary without
	 * PT_GNU_STACK, or by trusted code) would outlive the filter. */
	r = (int)aoki__sys(SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0);
	if (r >= 0 && (r & READ_IMPLIES_EXEC))
		aoki__sys(SYS_personality, r & ~READ_IMPLIES_EXEC, 0, 0, 0, 0, 0);
	return install(&p);
}

int dom_seccomp_protect(void *addr, size_t len)
{
	static struct prog p;
	uintptr_t range[1][2] = { { (uintptr_t)addr, (uintptr_t)addr + len } };
	int r;

	if (!one_window(range[0][0], range[0][1]))
		return -EINVAL;
	r = build(&p, false, (const uintptr_t (*)[2])range, 1);
	if (r < 0)
		return r;
	return install(&p);
}
