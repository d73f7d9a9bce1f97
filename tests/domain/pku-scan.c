/* SPDX-License-Identifier: MIT */
/*
 * domain-scan - an unintended WRPKRU in the program's own code: without
 * hardening a jump to it opens every compartment; the hardening mode's
 * scan at init finds it and refuses to start (or, with
 * AOKI_DOMAIN_HARDEN_REPORT, reports it).
 */
#include "hardtest.h"

/* Bytes that could hide in any immediate or displacement. */
__asm__(".text\n"
	".globl stray_gadget\n"
	"stray_gadget:\n\t"
	"xorl %ecx, %ecx\n\t"
	"xorl %edx, %edx\n\t"
	"xorl %eax, %eax\n\t"
	".byte 0x0f, 0x01, 0xef\n\t"
	"ret\n");
void stray_gadget(void);

static void use_gadget(unsigned flags)
{
	if (flags & AOKI_DOMAIN_HARDEN) {
		int r = aoki_domain_init(flags | AOKI_DOMAIN_QUIET);

		_exit(r == -EPERM ? ATTACK_BLOCKED : 1);
	}
	victim_setup(flags);
	stray_gadget();
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

static void report_only(void *arg)
{
	(void)arg;
	_exit(aoki_domain_init(AOKI_DOMAIN_HARDEN | AOKI_DOMAIN_HARDEN_REPORT | AOKI_DOMAIN_QUIET) == 0 ? 0 : 1);
}

int main(void)
{
	static const struct attack list[] = {
		{ "a stray WRPKRU in the program's code", use_gadget, 0 },
	};
	struct child_result r;
	char want[64];
	int rc = run_attacks(list, 1);

	if (rc)
		return rc;
	CHECK_CHILD_OK(report_only, NULL, &r);
	snprintf(want, sizeof(want), "WRPKRU sequence at %p", (void *)((char *)stray_gadget + 6));
	if (!strstr(r.err, want)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want, r.err);
		return 1;
	}
	OK("report mode: the address of the sequence is reported, init goes on");
	return 0;
}
