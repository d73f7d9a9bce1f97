/* SPDX-License-Identifier: MIT */
/*
 * domain-filter - the holes an outside review found in the hardening
 * mode's system-call side (issue 13, holes 3 to 6), each shown to reach
 * the secret of compartment "victim" without hardening and to be refused
 * with it.  Every attack child first checks the control (hardtest.h): code
 * without rights faults on the secret.  On the old filter the hardened
 * runs read or replaced the secret (shmat, personality, map_exec on a
 * memfd) or got past the filter to the kernel (process_madvise: EINVAL on
 * 6.1, x32: ENOSYS with x32 disabled), so each fails there.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "hardtest.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define X32_BIT 0x40000000L

static void *page_of_secret(void) { return (void *)((uintptr_t)secret & ~4095ul); }

/* EPERM: the filter refused it; another error without hardening: the
 * kernel itself does not do it (reported, not counted as working). */
static void decide(long r, unsigned flags)
{
	if (r >= 0)
		return;
	if (errno == EPERM)
		_exit(ATTACK_BLOCKED);
	if (!(flags & AOKI_DOMAIN_HARDEN) && (errno == EINVAL || errno == ENOSYS)) {
		printf("note: the kernel refuses it: %s\n", strerror(errno));
		_exit(ATTACK_UNSUPPORTED);
	}
	fprintf(stderr, "failed, not blocked: %s\n", strerror(errno));
	_exit(1);
}

/* Hole 3: System V shared memory attached over the secret's page. */
static void shm_remap(unsigned flags)
{
	int id, e;
	void *p;

	victim_setup(flags);
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	CHECK(id >= 0);
	p = shmat(id, page_of_secret(), SHM_REMAP);
	e = errno;
	shmctl(id, IPC_RMID, NULL);
	errno = e;
	decide(p == (void *)-1 ? -1 : 0, flags);
	poke(secret, 666);
	if (aoki_domain_call(A, get_secret, secret) == 666)
		_exit(ATTACK_WORKED);
	_exit(1);
}

static const unsigned char gadget[] = {
	0x31, 0xc9,		/* xor %ecx, %ecx */
	0x31, 0xd2,		/* xor %edx, %edx */
	0x31, 0xc0,		/* xor %eax, %eax: PKRU 0, every key open */
	0x0f, 0x01, 0xef,	/* wrpkru */
	0xc3,			/* ret */
};

/* Hole 4: READ_IMPLIES_EXEC makes a PROT_READ|PROT_WRITE mapping
 * executable without PROT_EXEC in the arguments. */
static void read_implies_exec(unsigned flags)
{
	void *p;

	victim_setup(flags);
	decide(personality(READ_IMPLIES_EXEC), flags);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memcpy(p, gadget, sizeof(gadget));
	((void (*)(void))p)();
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* Hole 5: a shared memfd mapped twice; the scanned mapping is made
 * executable, then the other one is written.  Without hardening the
 * attacker makes it executable itself (mprotect). */
static void memfd_alias(unsigned flags)
{
	int fd = memfd_create("code", MFD_CLOEXEC);
	uint8_t *x, *w;

	victim_setup(flags);
	CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
	x = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(x != MAP_FAILED && w != MAP_FAILED);
	x[0] = 0xc3;	/* ret: clean */
	if (flags & AOKI_DOMAIN_HARDEN) {
		CHECK_EQ(mprotect(x, 4096, PROT_READ | PROT_EXEC), -1);
		CHECK_EQ(aoki_domain_map_exec(x, 4096), 0);
	} else {
		CHECK_EQ(mprotect(x, 4096, PROT_READ | PROT_EXEC), 0);
	}
	memcpy(w, gadget, sizeof(gadget));	/* after the scan */
	if (memcmp(x, gadget, sizeof(gadget)) != 0) {
		CHECK_EQ(x[0], 0xc3);		/* the scanned bytes run */
		((void (*)(void))x)();
		CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
		_exit(ATTACK_BLOCKED);
	}
	((void (*)(void))x)();
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* Hole 6a: process_madvise(MADV_DONTNEED) on the secret's page (zeroes
 * it on Linux 6.x kernels that accept DONTNEED there; 6.1 says EINVAL). */
static void proc_madvise(unsigned flags)
{
	struct iovec v;
	int pfd;

	victim_setup(flags);
	pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	CHECK(pfd >= 0);
	v.iov_base = page_of_secret();
	v.iov_len = 4096;
	decide(syscall(SYS_process_madvise, pfd, &v, 1, MADV_DONTNEED, 0), flags);
	if (aoki_domain_call(A, get_secret, secret) == 0)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* Hole 6b: the x32 number of pkey_mprotect (x32 shares the common
 * numbers, plus bit 30) re-keys the secret's page to key 0. */
static void x32_rekey(unsigned flags)
{
	victim_setup(flags);
	decide(syscall(X32_BIT | SYS_pkey_mprotect, page_of_secret(), 4096,
		       PROT_READ | PROT_WRITE, 0), flags);
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* userfaultfd: UFFDIO_COPY fills a compartment page nobody touched yet. */
static void uffd_fill(unsigned flags)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_copy cp;
	static long src[512] __attribute__((aligned(4096)));
	void *fresh;
	int u;

	victim_setup(flags);
	CHECK_EQ(aoki_domain_alloc(A, 4096, &fresh), 0);	/* not touched: not present */
	u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	decide(u, flags);
	CHECK_EQ(ioctl(u, UFFDIO_API, &api), 0);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)fresh;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	CHECK_EQ(ioctl(u, UFFDIO_REGISTER, &reg), 0);
	src[0] = 666;
	memset(&cp, 0, sizeof(cp));
	cp.dst = (uintptr_t)fresh;
	cp.src = (uintptr_t)src;
	cp.len = 4096;
	CHECK_EQ(ioctl(u, UFFDIO_COPY, &cp), 0);
	if (aoki_domain_call(A, get_secret, fresh) == 666)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* mremap moves the secret's page away; a page of the attacker's is
 * mapped at its address (a hint: no MAP_FIXED needed once it is free). */
static void remap_away(unsigned flags)
{
	static uint8_t dst_area[2 * 4096] __attribute__((aligned(4096)));
	void *dst = dst_area, *p;

	victim_setup(flags);
	p = mremap(page_of_secret(), 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	decide(p == MAP_FAILED ? -1 : 0, flags);
	p = mmap(page_of_secret(), 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p == page_of_secret());
	poke(secret, 666);
	if (aoki_domain_call(A, get_secret, secret) == 666)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* i386 system calls (int $0x80, another audit arch): mprotect (125) of
 * the gates' PKRU table (below 4 GiB in a static non-PIE binary), then
 * a compartment with every key.  The filter kills the process (SIGSYS). */
extern uint32_t aoki__pkru_table[];
static long reads(void *arg) { return peek(arg); }

static void i386_table(unsigned flags)
{
	struct aoki_domain *B;
	long r;

	victim_setup(flags);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	if ((uintptr_t)aoki__pkru_table >> 32) {
		printf("note: PIE binary, the table is above 4 GiB\n");
		_exit(ATTACK_UNSUPPORTED);
	}
	__asm__ volatile("int $0x80" : "=a"(r)
			 : "a"(125L), "b"((long)(uintptr_t)aoki__pkru_table), "c"(4096L),
			   "d"((long)(PROT_READ | PROT_WRITE)) : "memory");
	decide(r < 0 ? (errno = (int)-r, -1) : 0, flags);
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++)
		aoki__pkru_table[i] = 0;
	if (aoki_domain_call(B, reads, secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

static void i386_killed(void *arg)
{
	(void)arg;
	i386_table(AOKI_DOMAIN_HARDEN);
}

/* Calls refused with nothing to show without hardening. */
static void refusals(void *arg)
{
	(void)arg;
	CHECK_EQ(personality(READ_IMPLIES_EXEC), 0);	/* set before init (trusted) */
	victim_setup(AOKI_DOMAIN_HARDEN);
	CHECK_EQ(personality(0xffffffff) & READ_IMPLIES_EXEC, 0);	/* cleared by init */
	CHECK_EQ(personality(0), 0);	/* other personalities: allowed */
	CHECK_EQ(syscall(SYS_pkey_alloc, 0, 0), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(syscall(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, 0), -1);
	CHECK_EQ(errno, EPERM);
}

int main(void)
{
	static const struct attack list[] = {
		{ "shmat(SHM_REMAP) over a compartment page", shm_remap, 0 },
		{ "personality(READ_IMPLIES_EXEC), then an RW mapping runs a WRPKRU", read_implies_exec, 0 },
		{ "map_exec on a shared memfd, rewritten through a second mapping", memfd_alias, 0 },
		{ "process_madvise(MADV_DONTNEED) on a compartment page", proc_madvise, 0 },
		{ "x32 pkey_mprotect re-keys a compartment page", x32_rekey, 0 },
		{ "userfaultfd UFFDIO_COPY fills a compartment page", uffd_fill, 0 },
		{ "mremap moves a compartment page away, another takes its place", remap_away, 0 },
	};
	struct child_result r;
	int rc = run_attacks(list, sizeof(list) / sizeof(list[0]));

	if (rc)
		return rc;
	{
		unsigned plain = 0;
		struct attack a = { "i386", i386_table, 0 };
		void *args[2] = { &a, &plain };

		CHECK(in_child(run_one, args, &r) == 0);
		CHECK(r.exited && (r.code == ATTACK_WORKED || r.code == ATTACK_UNSUPPORTED));
		if (r.code == ATTACK_WORKED) {
			CHECK(in_child(i386_killed, NULL, &r) == 0);
			if (r.exited || r.code != SIGSYS) {
				fprintf(stderr, "i386 with hardening: want SIGSYS, got %s %d: %s\n",
					r.exited ? "exit" : "signal", r.code, r.err);
				return 1;
			}
			OK("i386 int $0x80 mprotect of the PKRU table: works without, killed (SIGSYS) with hardening");
		}
	}
	CHECK_CHILD_OK(refusals, NULL, &r);
	OK("READ_IMPLIES_EXEC set before init is cleared; pkey_alloc, ptrace, arch_prctl(ARCH_SET_FS): EPERM");
	return 0;
}
