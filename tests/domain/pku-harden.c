/* SPDX-License-Identifier: MIT */
/*
 * domain-harden - the attacks of "PKU Pitfalls" (USENIX Security '20)
 * that the hardening mode claims to stop, each shown to work without it
 * and to fail with it.  Code outside the runtime (this test) attacks the
 * secret in compartment "victim", holding no rights on it.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>

#include "hardtest.h"

static void *page_of_secret(void) { return (void *)((uintptr_t)secret & ~4095ul); }

static void leak_or_fail(void)
{
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

static void blocked_if(int r)
{
	if (r < 0 && errno == EPERM)
		_exit(ATTACK_BLOCKED);
	if (r < 0) {
		fprintf(stderr, "failed, not blocked: %s\n", strerror(errno));
		_exit(1);
	}
}

/* Re-key the secret's page to key 0 with pkey_mprotect. */
static void rekey(unsigned flags)
{
	victim_setup(flags);
	blocked_if(pkey_mprotect(page_of_secret(), 4096, PROT_READ | PROT_WRITE, 0));
	leak_or_fail();
}

/* Free the victim's key and allocate it again: pkey_alloc gives the
 * caller full rights on it, and the pages still carry it. */
static void key_reuse(unsigned flags)
{
	int k;

	victim_setup(flags);
	blocked_if(pkey_free(aoki_domain_pkey(A)));
	k = pkey_alloc(0, 0);
	if (k != aoki_domain_pkey(A))
		_exit(1);
	leak_or_fail();
}

/* Replace the victim's page under it with MAP_FIXED (integrity). */
static void remap(unsigned flags)
{
	void *p;

	victim_setup(flags);
	p = mmap(page_of_secret(), 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	blocked_if(p == MAP_FAILED ? -1 : 0);
	poke(secret, 666);
	if (aoki_domain_call(A, get_secret, secret) == 666)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* Drop the victim's page (MADV_DONTNEED zero-fills it). */
static void discard(unsigned flags)
{
	victim_setup(flags);
	blocked_if(madvise(page_of_secret(), 4096, MADV_DONTNEED));
	if (aoki_domain_call(A, get_secret, secret) == 0)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* Make the victim's page inaccessible (denial of service). */
static void unmap(unsigned flags)
{
	victim_setup(flags);
	blocked_if(munmap(page_of_secret(), 4096));
	_exit(ATTACK_WORKED);
}

/* Protection changes on a compartment's placed globals (outside the
 * arena: covered by the filter aoki_domain_place() stacks). */
static AOKI_DOMAIN_GLOBALS(struct { long v; }, victim_globals);

static void globals_prot(unsigned flags)
{
	victim_setup(flags);
	CHECK_EQ(aoki_domain_place(A, &victim_globals, sizeof(victim_globals)), 0);
	blocked_if(mprotect(&victim_globals, sizeof(victim_globals), PROT_NONE));
	_exit(ATTACK_WORKED);
}

/* Make the gates' PKRU table writable and give compartment B every key. */
extern uint32_t aoki__pkru_table[];
static long b_reads(void *arg) { return peek(arg); }

static void table_write(unsigned flags)
{
	struct aoki_domain *B;

	victim_setup(flags);
	CHECK_EQ(aoki_domain_create("B", NULL, &B), 0);
	blocked_if(mprotect(aoki__pkru_table, 4096, PROT_READ | PROT_WRITE));
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++)
		aoki__pkru_table[i] = 0;
	if (aoki_domain_call(B, b_reads, secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* The kernel's remote access ignores PKRU. */
static void vm_readv(unsigned flags)
{
	long out = 0;
	struct iovec l = { &out, sizeof(out) }, r;

	victim_setup(flags);
	r.iov_base = secret;
	r.iov_len = sizeof(out);
	blocked_if((int)process_vm_readv(getpid(), &l, 1, &r, 1, 0));
	if (out == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

static void vm_writev(unsigned flags)
{
	long in = 777;
	struct iovec l = { &in, sizeof(in) }, r;

	victim_setup(flags);
	r.iov_base = secret;
	r.iov_len = sizeof(in);
	blocked_if((int)process_vm_writev(getpid(), &l, 1, &r, 1, 0));
	if (aoki_domain_call(A, get_secret, secret) == 777)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* /proc/<pid>/mem: the kernel's accessor ignores PKRU as well.  With
 * hardening every spelling of the file must be refused (EACCES, from
 * Landlock), while the rest of /proc/self and the file system work. */
static int open_errno(const char *fmt, long a, long b)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), fmt, a, b);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void *mem_from_thread(void *arg)
{
	int e = open_errno("/proc/%ld/mem", syscall(SYS_gettid), 0);

	(void)arg;
	if (e == EACCES)
		e = open_errno("/proc/thread-self/mem", 0, 0);
	return (void *)(intptr_t)e;
}

static void proc_mem(unsigned flags)
{
	long in = 888, out = 0, pid = getpid(), tid = syscall(SYS_gettid);
	int fd;

	victim_setup(flags);
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EACCES) {
			fprintf(stderr, "failed, not blocked: %s\n", strerror(errno));
			_exit(1);
		}
		CHECK_EQ(open_errno("/proc/thread-self/mem", 0, 0), EACCES);
		CHECK_EQ(open_errno("/proc/%ld/mem", pid, 0), EACCES);
		CHECK_EQ(open_errno("/proc/%ld/task/%ld/mem", pid, tid), EACCES);
		CHECK_EQ(open_errno("/proc/self/task/%ld/mem", tid, 0), EACCES);
		/* What keeps working, and what is collateral damage. */
		CHECK_EQ(open_errno("/proc/self/maps", 0, 0), 0);
		CHECK_EQ(open_errno("/proc/self/status", 0, 0), 0);
		CHECK_EQ(open_errno("/proc/meminfo", 0, 0), 0);
		CHECK_EQ(open_errno("/proc/self/task/%ld/comm", tid, 0), EACCES);
		/* Threads created after init inherit the rule. */
		{
			pthread_t t;
			void *e;

			CHECK_EQ(pthread_create(&t, NULL, mem_from_thread, NULL), 0);
			CHECK_EQ(pthread_join(t, &e), 0);
			CHECK_EQ((long)(intptr_t)e, EACCES);
		}
		_exit(ATTACK_BLOCKED);
	}
	if (pread(fd, &out, sizeof(out), (off_t)(uintptr_t)secret) != sizeof(out) || out != SECRET)
		_exit(1);
	if (pwrite(fd, &in, sizeof(in), (off_t)(uintptr_t)secret) != sizeof(in))
		_exit(1);
	if (aoki_domain_call(A, get_secret, secret) == 888)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* New code holding a WRPKRU: write it, make it executable, run it. */
static const unsigned char gadget[] = {
	0x31, 0xc9,		/* xor %ecx, %ecx */
	0x31, 0xd2,		/* xor %edx, %edx */
	0x31, 0xc0,		/* xor %eax, %eax: PKRU 0, every key open */
	0x0f, 0x01, 0xef,	/* wrpkru */
	0xc3,			/* ret */
};

static void new_code(unsigned flags)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	victim_setup(flags);
	CHECK(p != MAP_FAILED);
	memcpy(p, gadget, sizeof(gadget));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0) {
		if (errno != EPERM)
			_exit(1);
		/* The sanctioned way scans first and refuses. */
		if (aoki_domain_map_exec(p, 4096) != -EPERM)
			_exit(1);
		if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
			_exit(1);
		_exit(ATTACK_BLOCKED);
	}
	((void (*)(void))p)();
	leak_or_fail();
}

/* A handler rewrites the PKRU saved in its signal frame. */
static unsigned pkru_off(void)
{
	unsigned a, b, c, d;

	__cpuid_count(0xd, 9, a, b, c, d);
	return b;
}

static void tamper(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint8_t *x = (uint8_t *)uc->uc_mcontext.fpregs;

	(void)sig, (void)si;
	*(uint32_t *)(x + pkru_off()) = 0;
	*(uint64_t *)(x + 512) |= 1u << 9;
}

static void sigframe(unsigned flags)
{
	struct sigaction sa;

	victim_setup(flags);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = tamper;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		if (errno != EPERM)
			_exit(1);
		/* Only through the runtime, whose wrapper undoes the edit. */
		CHECK_EQ(aoki_domain_sigaction(SIGUSR1, &sa, NULL), 0);
		raise(SIGUSR1);
		if (aoki_domain_rights(A) == AOKI_DOMAIN_NONE)
			_exit(ATTACK_BLOCKED);
		leak_or_fail();
	}
	raise(SIGUSR1);
	leak_or_fail();
}

/* A forged frame handed to rt_sigreturn directly: the frame of a real
 * signal, copied, with PKRU 0 and the resume address changed. */
/* Room below the frame: after a refused rt_sigreturn the stack is here. */
static struct {
	uint8_t room[16384];
	ucontext_t uc;
} forged_area __attribute__((aligned(16)));
#define forged forged_area.uc
static uint8_t forged_fp[8192] __attribute__((aligned(64)));
static uint8_t resume_stack[16384] __attribute__((aligned(16)));

static void capture(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint32_t ext;

	(void)sig, (void)si;
	memcpy(&ext, (uint8_t *)uc->uc_mcontext.fpregs + 468, 4);	/* extended size */
	memcpy(&forged, uc, sizeof(forged));
	memcpy(forged_fp, uc->uc_mcontext.fpregs, ext < sizeof(forged_fp) ? ext : sizeof(forged_fp));
}

static void resumed(void)
{
	leak_or_fail();
}

static void forged_sigreturn(unsigned flags)
{
	struct sigaction sa;
	long r;

	victim_setup(flags);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = capture;
	sa.sa_flags = SA_SIGINFO;
	if (flags & AOKI_DOMAIN_HARDEN)
		CHECK_EQ(aoki_domain_sigaction(SIGUSR2, &sa, NULL), 0);
	else
		CHECK_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
	raise(SIGUSR2);
	forged.uc_mcontext.fpregs = (void *)forged_fp;
	*(uint32_t *)(forged_fp + pkru_off()) = 0;
	*(uint64_t *)(forged_fp + 512) |= 1u << 9;
	forged.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)resumed;
	forged.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(resume_stack + sizeof(resume_stack) - 8);
	__asm__ volatile("movq %1, %%rsp\n\t"
			 "movl $15, %%eax\n\t"
			 "syscall\n\t"
			 "movq %%rax, %0\n\t"
			 : "=r"(r) : "r"(&forged) : "rax", "rcx", "r11", "memory");
	/* Only reached if the kernel refused; the stack is the forged frame
	 * now, so leave without returning. */
	_exit(r == -EPERM ? ATTACK_BLOCKED : 1);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void init_with_thread(void *arg)
{
	pthread_t t;

	(void)arg;
	CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
	_exit(aoki_domain_init(AOKI_DOMAIN_HARDEN | AOKI_DOMAIN_QUIET) == -EBUSY ? 0 : 1);
}

int main(void)
{
	static const struct attack list[] = {
		{ "pkey_mprotect re-keys a compartment page", rekey, 0 },
		{ "pkey_free + pkey_alloc reuses the compartment's key", key_reuse, 0 },
		{ "mmap MAP_FIXED replaces a compartment page", remap, 0 },
		{ "madvise(MADV_DONTNEED) wipes a compartment page", discard, 0 },
		{ "munmap removes a compartment page", unmap, 0 },
		{ "mprotect on a compartment's placed globals", globals_prot, 0 },
		{ "mprotect makes the gates' PKRU table writable", table_write, 0 },
		{ "process_vm_readv reads compartment memory", vm_readv, 0 },
		{ "process_vm_writev writes compartment memory", vm_writev, 0 },
		{ "/proc/self/mem reads and writes compartment memory", proc_mem, 0 },
		{ "new executable code with a WRPKRU", new_code, 0 },
		{ "a signal handler edits the PKRU in its frame", sigframe, 0 },
		{ "rt_sigreturn with a forged frame (PKRU 0)", forged_sigreturn, 0 },
	};

	struct child_result r;
	int rc = run_attacks(list, sizeof(list) / sizeof(list[0]));

	if (rc)
		return rc;
	/* Landlock binds the calling thread and its future children only:
	 * hardening refuses to start while another thread runs. */
	CHECK_CHILD_OK(init_with_thread, NULL, &r);
	OK("hardening init with another thread running: -EBUSY");
	return 0;
}
