/* SPDX-License-Identifier: MIT */
/* cpu.c - PKU detection from CPUID; never executes a PKRU instruction. */
#include <cpuid.h>

#include "internal.h"

/* CPUID.(EAX=7,ECX=0):ECX bit 3 = PKU (the CPU has it), bit 4 = OSPKE
 * (the kernel set CR4.PKE, so rdpkru/wrpkru do not raise #UD). */
bool dom_cpu_has_pku(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (c & (1u << 3)) && (c & (1u << 4));
}

/* Offset of the PKRU component (state 9) in the standard-format XSAVE
 * area, which is the format of the signal frame.  0 if unknown. */
unsigned dom_xsave_pkru_offset(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 0xd)
		return 0;
	__cpuid_count(0xd, 9, a, b, c, d);
	return a >= 4 ? b : 0;
}
