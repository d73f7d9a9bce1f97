/* SPDX-License-Identifier: MIT */
/*
 * sys.c - the runtime's system calls.  All go through aoki__sys (gate.S),
 * the one call site the hardening seccomp filter lets touch compartment
 * pages, keys and signal handlers.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "internal.h"

void *dom_mmap(void *addr, size_t len, int prot, int flags)
{
	return (void *)aoki__sys(SYS_mmap, (long)addr, (long)len, prot, flags, -1, 0);
}

int dom_munmap(void *addr, size_t len)
{
	return (int)aoki__sys(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

int dom_mprotect(void *addr, size_t len, int prot)
{
	return (int)aoki__sys(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
}

int dom_pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	return (int)aoki__sys(SYS_pkey_mprotect, (long)addr, (long)len, prot, pkey, 0, 0);
}

int dom_pkey_alloc(unsigned rights)
{
	return (int)aoki__sys(SYS_pkey_alloc, 0, rights, 0, 0, 0, 0);
}

int dom_pkey_free(int pkey)
{
	return (int)aoki__sys(SYS_pkey_free, pkey, 0, 0, 0, 0, 0);
}

int dom_tag(void *addr, size_t len, int pkey)
{
	if (pkey < 0)
		return dom_mprotect(addr, len, PROT_READ | PROT_WRITE);
	return dom_pkey_mprotect(addr, len, PROT_READ | PROT_WRITE, pkey);
}

/* The kernel's struct sigaction (not glibc's): handler, flags, restorer,
 * mask (8 bytes). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

int dom_sigaction_raw(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct ksigaction k, ko;
	long r;

	if (act) {
		memset(&k, 0, sizeof(k));
		k.handler = (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
							  : (void *)act->sa_handler;
		k.flags = (unsigned long)act->sa_flags | SA_RESTORER;
		k.restorer = aoki__sigreturn;
		memcpy(&k.mask, &act->sa_mask, sizeof(k.mask));
	}
	r = aoki__sys(SYS_rt_sigaction, sig, act ? (long)&k : 0, old ? (long)&ko : 0, 8, 0, 0);
	if (r < 0)
		return (int)r;
	if (old) {
		memset(old, 0, sizeof(*old));
		old->sa_flags = (int)(ko.flags & ~(unsigned long)SA_RESTORER);
		if (old->sa_flags & SA_SIGINFO)
			old->sa_sigaction = (void (*)(int, siginfo_t *, void *))ko.handler;
		else
			old->sa_handler = (void (*)(int))ko.handler;
		memcpy(&old->sa_mask, &ko.mask, sizeof(ko.mask));
	}
	return 0;
}
