/* SPDX-License-Identifier: MIT */
/*
 * scan.c - find unintended WRPKRU / XRSTOR byte sequences in executable
 * memory (the ERIM check).  A sequence counts at any byte offset, aligned
 * to an instruction or not, since a jump can land anywhere.  XRSTOR is
 * 0f ae /5 with a memory operand; 0f ae e8..ef (mod 3) is LFENCE.
 * WRFSBASE (f3 [REX] 0f ae /2, register operand) counts too: fs base ties
 * a thread to its protected gate frame stack (gstack.c).  0f ae d0..d7 is
 * matched whatever precedes it (without f3 it is not a valid instruction,
 * so legitimate code never holds it as one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "internal.h"

enum { HIT_WRPKRU = 1, HIT_XRSTOR = 2, HIT_WRFSBASE = 3 };

static int hit_at(const uint8_t *b, size_t left)
{
	if (left < 3 || b[0] != 0x0f)
		return 0;
	if (b[1] == 0x01 && b[2] == 0xef)
		return HIT_WRPKRU;
	if (b[1] == 0xae && ((b[2] >> 3) & 7) == 5 && (b[2] >> 6) != 3)
		return HIT_XRSTOR;
	if (b[1] == 0xae && (b[2] & 0xf8) == 0xd0)
		return HIT_WRFSBASE;
	return 0;
}

long aoki_domain_scan(const void *addr, size_t len, uintptr_t *first)
{
	const uint8_t *b = addr;
	long n = 0;

	for (size_t i = 0; i + 2 < len; i++) {
		if (b[i] != 0x0f || !hit_at(b + i, len - i))
			continue;
		if (!n && first)
			*first = (uintptr_t)(b + i);
		n++;
	}
	return n;
}

static bool overlaps(uintptr_t a, size_t len, uintptr_t lo, uintptr_t hi)
{
	return a < hi && lo < a + len;
}

/*
 * The code is copied into fresh private anonymous pages, scanned there
 * and moved over @addr only once executable, so that
 *   - nothing else maps the bytes that run: a shared mapping (a memfd, a
 *     file) at @addr is replaced, and writes through another mapping of
 *     the same object no longer reach it (issue 13, hole 5);
 *   - nobody can write them between the scan and PROT_EXEC: the copy
 *     lives in the compartment arena, whose protections only the runtime
 *     may change in hardening mode (seccomp.c); once moved out, making
 *     it writable again drops PROT_EXEC, and PROT_EXEC cannot be asked
 *     for from outside the runtime.
 */
int aoki_domain_map_exec(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, lo = 0, hi = 0;
	bool in_arena = atomic_load_explicit(&dom_rt.inited, memory_order_acquire);
	void *copy;
	long n;
	int r;

	if (!len || (a | len) & 4095 || a + len < a)
		return -EINVAL;
	if (in_arena)
		dom_arena_range(&lo, &hi);
	if ((in_arena && overlaps(a, len, lo, hi)) ||
	    overlaps(a, len, (uintptr_t)aoki__pkru_table, (uintptr_t)aoki__pkru_table + 4096))
		return -EINVAL;		/* compartment pages keep their keys */
	/* Read-only first: the range must be mapped, and stays unchanged
	 * (but read-only) when refused. */
	r = dom_mprotect(addr, len, PROT_READ);
	if (r < 0)
		return r;
	copy = in_arena ? dom_arena_get(len) : NULL;
	if (in_arena && !copy)
		return -ENOMEM;
	copy = dom_mmap(copy, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | (in_arena ? MAP_FIXED : 0));
	if ((long)copy < 0 && (long)copy > -4096)
		return (int)(long)copy;
	memcpy(copy, addr, len);
	r = dom_mprotect(copy, len, PROT_READ);
	if (r == 0) {
		n = aoki_domain_scan(copy, len, NULL);
		r = n ? -EPERM : dom_mprotect(copy, len, PROT_READ | PROT_EXEC);
	}
	if (r == 0) {
		long m = aoki__sys(SYS_mremap, (long)copy, (long)len, (long)len,
				   MREMAP_MAYMOVE | MREMAP_FIXED, (long)addr, 0);

		r = m < 0 && m > -4096 ? (int)m : 0;
	}
	/* The copy's range is a hole now (moved) or still the copy (refused):
	 * give it back reserved, so that nothing else is mapped there. */
	if (in_arena)
		dom_arena_put(copy, len);
	else if (r < 0)
		dom_munmap(copy, len);
	return r;
}

/*
 * glibc's lazy-binding trampolines (_dl_runtime_resolve_xsave/xsavec, in
 * ld.so and in static binaries) hold "mov $imm32, %eax; xor %edx, %edx;
 * xrstor disp8(%rsp)" with a mask that leaves PKRU out.  The XRSTOR is
 * still a gadget for a jump that brings its own eax, so in hardening mode
 * it is disabled (rewritten to ud2 + nops): programs must bind eagerly
 * (static, -z now, or LD_BIND_NOW=1).  Any other sequence refuses.
 */
static bool lazy_binding_xrstor(const uint8_t *b, uintptr_t lo)
{
	uint32_t imm;

	if ((uintptr_t)b < lo + 7 || b[-7] != 0xb8 || b[-2] != 0x31 || b[-1] != 0xd2)
		return false;
	memcpy(&imm, b - 6, 4);
	return !(imm & (1u << 9)) && b[2] == 0x6c && b[3] == 0x24;
}

static int disable_xrstor(uint8_t *b)
{
	static const uint8_t ud2_nops[5] = { 0x0f, 0x0b, 0x90, 0x90, 0x90 };
	uintptr_t page = (uintptr_t)b & ~(uintptr_t)4095;
	size_t len = ((uintptr_t)b + 5 - page + 4095) & ~(size_t)4095;
	/* Keep it executable meanwhile: the page may hold running code. */
	int r = dom_mprotect((void *)page, len, PROT_READ | PROT_WRITE | PROT_EXEC);

	if (r < 0)
		return r;
	memcpy(b, ud2_nops, sizeof(ud2_nops));
	return dom_mprotect((void *)page, len, PROT_READ | PROT_EXEC);
}

int dom_scan_self(bool report_only)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[8], path[400];
	unsigned long lo, hi, off;
	long bad = 0;

	if (!f)
		return -EPERM;
	while (fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %399s", &lo, &hi, perms, &off, path) < 4)
			continue;
		if (perms[0] != 'r' || perms[2] != 'x' || !strcmp(path, "[vsyscall]"))
			continue;
		for (uintptr_t p = lo; p + 2 < hi; p++) {
			uint8_t *b = (uint8_t *)p;
			int h;

			if (*b != 0x0f || !(h = hit_at(b, hi - p)))
				continue;
			if (b >= (const uint8_t *)aoki__gate_text_start &&
			    b < (const uint8_t *)aoki__gate_text_end)
				continue;	/* the gates themselves */
			if (h == HIT_XRSTOR && p + 5 <= hi && lazy_binding_xrstor(b, lo) &&
			    !report_only && disable_xrstor(b) == 0)
				continue;
			fprintf(stderr, "aoki: hardening: %s sequence at %p (%s+0x%lx)\n",
				h == HIT_WRPKRU ? "WRPKRU" : h == HIT_XRSTOR ? "XRSTOR" : "WRFSBASE",
				(const void *)b,
				path[0] ? path : "anonymous", (unsigned long)(p - lo + off));
			bad++;
		}
	}
	fclose(f);
	if (bad && !report_only)
		return -EPERM;
	return 0;
}
