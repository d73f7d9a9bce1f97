/* SPDX-License-Identifier: MIT */
/*
 * domain-wrpkru - every wrpkru of the gate code, reached by a jump with
 * registers of the attacker's choosing (what an unintended branch or a
 * corrupted return address gives), must not leave the thread with rights
 * on compartment "victim".
 *
 * Each case loads all registers (rax ... r15, rsp) and jumps.  The
 * registers are chosen so that if the check after that wrpkru were
 * missing, the code would go on into escaped() (through the gate's own
 * return path, a plain ret, or the callee call) with the forged PKRU, and
 * read the secret: exit 10.  With the check the gate traps; the test's
 * SIGILL handler (installed with plain sigaction: no hardening here)
 * looks at the PKRU saved in the trap's signal frame, which is what a
 * handler resuming elsewhere would run with: it must deny the victim
 * (exit 20), i.e. aoki__gate_bad resets PKRU before it traps.
 * With hardening, a gate trap cannot be caught at all: a SIGILL handler
 * installed through aoki_domain_sigaction() does not run (killed).
 *
 * Not observable here, and so not tested: the compares after the two
 * frame-opening writes (enter and exit) when the jump brings a forged
 * eax but the rest of the gate runs on: the next wrpkru overwrites the
 * value before any instruction outside the gate runs; what the compare
 * adds is that no signal frame holds it (the wrapper rule below).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <ucontext.h>

#include "dtest.h"
#include "../../lib/domain/internal.h"

#define WORKED 10
#define CLEAN 20

extern const char aoki__gate_bad[];

static struct aoki_domain *V, *A;
static long *secret;

static long put_secret(void *arg) { poke(arg, 0x5ec2e7L); return 0; }
static long nothing(void *arg) { (void)arg; return 0; }

static bool victim_open(uint32_t pkru) { return !(pkru & PKRU_AD(V->pkey)); }

/* Where a missing check lets the jump go on to. */
static __attribute__((noreturn, used)) void escaped(void)
{
	if (victim_open(aoki__rdpkru()) && peek(secret) == 0x5ec2e7L)
		_exit(WORKED);
	_exit(CLEAN);
}

static long callee_escapes(void *arg) { (void)arg; escaped(); }

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
	uint64_t *bv;
	uint32_t *pk = dom_sigframe_pkru(ucv, &bv);

	(void)sig, (void)si;
	if (!pk)
		_exit(2);
	_exit(victim_open(*pk) ? WORKED : CLEAN);
}

struct regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r10, r12, r13, r14, r15, rsp, target;
};

__attribute__((visibility("hidden"), noreturn)) void jump_with(const struct regs *r);
__asm__(".text\n"
	".p2align 4\n"
	".type jump_with, @function\n"
	"jump_with:\n"
	"\tmovq %rdi, %r11\n"
	"\tmovq 0(%r11), %rax\n"
	"\tmovq 8(%r11), %rbx\n"
	"\tmovq 16(%r11), %rcx\n"
	"\tmovq 24(%r11), %rdx\n"
	"\tmovq 32(%r11), %rsi\n"
	"\tmovq 40(%r11), %rdi\n"
	"\tmovq 48(%r11), %rbp\n"
	"\tmovq 56(%r11), %r10\n"
	"\tmovq 64(%r11), %r12\n"
	"\tmovq 72(%r11), %r13\n"
	"\tmovq 80(%r11), %r14\n"
	"\tmovq 88(%r11), %r15\n"
	"\tmovq 96(%r11), %rsp\n"
	"\tjmpq *104(%r11)\n"
	".size jump_with, .-jump_with\n");

/* The n-th (0-based) wrpkru at or after @from. */
static const char *wrpkru_at(const char *from, int n)
{
	for (const char *p = from; p < aoki__gate_text_end; p++)
		if (p[0] == 0x0f && p[1] == 0x01 && (unsigned char)p[2] == 0xef && n-- == 0)
			return p;
	fprintf(stderr, "wrpkru not found\n");
	exit(1);
}

/* A stack for the jump: six callee-saved registers, then escaped() as the
 * return address (what RESTORE_CALLEE_SAVED; ret pops), room below. */
static uint64_t area[4096] __attribute__((aligned(16)));
#define TOP 4000

static void base(struct regs *r)
{
	memset(area, 0, sizeof(area));
	area[TOP + 6] = (uint64_t)(uintptr_t)escaped;
	memset(r, 0, sizeof(*r));
	r->rsp = (uint64_t)(uintptr_t)&area[TOP];
}

static void setup(unsigned flags)
{
	void *p;

	CHECK_EQ(aoki_domain_init(flags | AOKI_DOMAIN_QUIET), 0);
	CHECK_EQ(aoki_domain_create("victim", NULL, &V), 0);
	CHECK_EQ(aoki_domain_create("A", NULL, &A), 0);
	CHECK_EQ(aoki_domain_alloc(V, 4096, &p), 0);
	secret = p;
	CHECK_EQ(aoki_domain_call(V, put_secret, secret), 0);
	CHECK_EQ(aoki_domain_call(A, nothing, NULL), 0);	/* A's stack, the frame stack */
	if (!(flags & AOKI_DOMAIN_HARDEN)) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigill;
		sa.sa_flags = SA_SIGINFO;
		CHECK_EQ(sigaction(SIGILL, &sa, NULL), 0);
	}
}

static uint32_t all_but_frames(void) { return PKRU_AD(dom_rt.gkey); }

/* Enter, frame-opening write: eax 0; the rest of a genuine gate call with
 * the saved caller PKRU (r10) "everything but the frame key". */
static void enter_open(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at((const char *)aoki__gate_enter, 0);
	r->r10 = all_but_frames();
	r->r12 = (uintptr_t)dom_tls.gstack;
	r->rbx = (unsigned)A->idx;
	r->rbp = (uintptr_t)dom_tls.stacks[A->idx]->top;
	r->r13 = (uintptr_t)nothing;
}

/* Enter, compartment write: eax 0 for A's slot, a valid stack top, the
 * callee escaped(). */
static void enter_domain(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at((const char *)aoki__gate_enter, 1);
	r->rbx = (unsigned)A->idx;
	r->rbp = (uintptr_t)dom_tls.stacks[A->idx]->top;
	r->r13 = (uintptr_t)callee_escapes;
}

/* Exit, frame-opening write: eax 0, no frame stack. */
static void exit_open(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at(aoki__gate_exit, 0);
}

/* Exit, caller write: eax "all but the frame key", ebx another value. */
static void exit_caller_value(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at(aoki__gate_exit, 1);
	r->rax = all_but_frames();
	r->rbx = PKRU_ALL_DENIED;
}

/* Exit, caller write: eax = ebx = 0 (the frame key open too). */
static void exit_caller_frames(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at(aoki__gate_exit, 1);
}

/* Light gate, entry: eax 0 for A's slot, a valid stack top, the callee
 * escaped() (compare with the PKRU table). */
static void light_enter(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at((const char *)aoki__gate_enter_light, 0);
	r->rbx = (unsigned)A->idx;
	r->rbp = (uintptr_t)dom_tls.stacks[A->idx]->top;
	r->r13 = (uintptr_t)callee_escapes;
}

/* Light gate, exit: r12 a key-0 frame whose stack pointer is the jump's
 * stack (so that the rest of the exit returns into escaped()). */
static struct dom_frame light_frame;

static void light_exit_base(struct regs *r)
{
	memset(&light_frame, 0, sizeof(light_frame));
	light_frame.caller_rsp = &area[TOP];
	r->target = (uintptr_t)wrpkru_at(aoki__gate_exit_light, 0);
	r->r12 = (uintptr_t)&light_frame;
}

/* eax "all but the frame key", ebx another value. */
static void light_exit_value(struct regs *r)
{
	light_exit_base(r);
	r->rax = all_but_frames();
	r->rbx = PKRU_ALL_DENIED;
}

/* eax = ebx = 0 (the frame key open too). */
static void light_exit_frames(struct regs *r)
{
	light_exit_base(r);
}

/* The thread-rights write: eax 0, edi "key 0 only"; ret to escaped(). */
static void thread_write(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at((const char *)aoki__wrpkru, 0);
	r->rdi = PKRU_ALL_DENIED;
	r->rsp = (uint64_t)(uintptr_t)&area[TOP + 6];
}

/* The trap path's own reset: eax 0. */
static void bad_reset(struct regs *r)
{
	r->target = (uintptr_t)wrpkru_at(aoki__gate_bad, 0);
}

/* Not a wrpkru: the exit reached with the genuine frame stack and no gate
 * to return from (depth 0).  Must trap, not pop frame -1. */
static void exit_depth0(struct regs *r)
{
	r->target = (uintptr_t)aoki__gate_exit;
	r->r12 = (uintptr_t)dom_tls.gstack;
}

struct jump {
	const char *name;
	void (*set)(struct regs *);
};

static const struct jump jumps[] = {
	{ "enter: frame-opening wrpkru, eax 0 (compare with the frame PKRU)", enter_open },
	{ "enter: compartment wrpkru, eax 0 (compare with the PKRU table)", enter_domain },
	{ "exit: frame-opening wrpkru, eax 0 (trap resets PKRU)", exit_open },
	{ "exit: caller wrpkru, eax != ebx (compare with the frame value)", exit_caller_value },
	{ "exit: caller wrpkru, eax = ebx = 0 (frame key must be closed)", exit_caller_frames },
	{ "light enter: compartment wrpkru, eax 0 (compare with the PKRU table)", light_enter },
	{ "light exit: caller wrpkru, eax != ebx (compare with the loaded value)", light_exit_value },
	{ "light exit: caller wrpkru, eax = ebx = 0 (frame key must be closed)", light_exit_frames },
	{ "aoki__wrpkru, eax != edi (compare with the argument)", thread_write },
	{ "trap path: its own reset wrpkru, eax 0", bad_reset },
	{ "exit entered with no gate to return from (depth 0)", exit_depth0 },
};

static unsigned mode;

static void run(void *arg)
{
	struct regs r;

	setup(mode);
	base(&r);
	((const struct jump *)arg)->set(&r);
	jump_with(&r);
}

/* Hardening: a SIGILL handler through the runtime is not given a gate trap. */
static void on_sigill_hard(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	_exit(WORKED);
}

static void run_hard(void *arg)
{
	struct sigaction sa;
	struct regs r;

	setup(AOKI_DOMAIN_HARDEN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill_hard;
	sa.sa_flags = SA_SIGINFO;
	CHECK_EQ(aoki_domain_sigaction(SIGILL, &sa, NULL), 0);
	base(&r);
	((const struct jump *)arg)->set(&r);
	jump_with(&r);
}

static void probe(void *arg)
{
	(void)arg;
	aoki_domain_init(AOKI_DOMAIN_QUIET);
	_exit(aoki_domain_isolated() ? 0 : 77);
}

int main(void)
{
	struct child_result r;
	int failed = 0, n = 0;

	CHECK(in_child(probe, NULL, &r) == 0);
	if (r.exited && r.code == 77) {
		printf("SKIP: no PKU here\n");
		return 77;
	}
	for (const char *p = aoki__gate_text_start; p + 2 < aoki__gate_text_end; p++)
		n += p[0] == 0x0f && p[1] == 0x01 && (unsigned char)p[2] == 0xef;
	CHECK_EQ(n, 8);		/* a new one needs a case here */
	for (unsigned i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		CHECK(in_child(run, (void *)&jumps[i], &r) == 0);
		if (!r.exited || r.code != CLEAN) {
			fprintf(stderr, "FAILED: %s: got %s %d (10: secret read; 20: clean trap): %s\n",
				jumps[i].name, r.exited ? "exit" : "signal", r.code, r.err);
			failed = 1;
			continue;
		}
		CHECK(in_child(run_hard, (void *)&jumps[i], &r) == 0);
		if (r.exited || r.code != SIGILL) {
			fprintf(stderr, "FAILED: %s (hardened): got %s %d, want killed by SIGILL: %s\n",
				jumps[i].name, r.exited ? "exit" : "signal", r.code, r.err);
			failed = 1;
			continue;
		}
		printf("ok: %s: traps with the victim denied; uncatchable with hardening\n", jumps[i].name);
	}
	return failed;
}
