/* SPDX-License-Identifier: MIT */
/*
 * domain-frames - a callee cannot make its gate return with a PKRU or onto
 * a stack of its choosing.
 *
 * The gates keep the caller's PKRU and stack pointer on a per-thread frame
 * stack in pages of a key no compartment holds (lib/domain/gstack.c,
 * gate.S).  Compartment "attacker" (no rights on compartment "victim")
 * forges the return state the ways the threat model allows (registers,
 * key-0 memory including TLS) so that its gate would return into
 * escaped() with every right, where it reads the victim's secret.
 *
 * The protection is always on with PKU (not only in hardening mode), so
 * unlike domain-harden there is no "works without hardening" run: every
 * attack runs once without and once with hardening and must be stopped
 * both times.  To show the forged return state itself is sound, the
 * control case writes the very same forgery *with* the frame key opened
 * (through the runtime's internal aoki__wrpkru, what an attacker able to
 * call arbitrary runtime functions could do - out of the threat model):
 * then the gate does return into escaped() and the secret is read.  So
 * the frame key, and the checks on the frame-stack pointer, are what stop
 * the attacks.  One more case is about the next entry, not the return:
 * a forged stack top for another compartment is refused by the gate.  Before this protection (frames in key-0 TLS, r12 trusted)
 * the "forged r12" and "stray TLS write" attacks read the secret.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/auxv.h>

#include "dtest.h"
#include "../../lib/domain/internal.h"

#define ATTACK_WORKED 10
#define ATTACK_BLOCKED 20
#define SECRET 0x5ec2e7L

enum expect { TRAPS = 1, BLOCKED, PKEY_ABORT, WORKS };

static struct aoki_domain *V, *B, *R;
static long *secret;

static long put_secret(void *arg) { poke(arg, SECRET); return 0; }

static uint64_t fs_base(void)
{
	uint64_t v = 0;

	if (getauxval(AT_HWCAP2) & (1 << 1))	/* HWCAP2_FSGSBASE */
		__asm__ volatile("rdfsbase %0" : "=r"(v));
	return v;
}

/* Where a successful forgery lands: with every right but the frame key. */
static __attribute__((noreturn, used)) void escaped(void)
{
	if (peek(secret) == SECRET)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* The forged caller stack: six callee-saved registers, then the return
 * address, near the top of a buffer (escaped() runs below it); at a
 * 16-byte boundary so that escaped() starts with rsp = 8 mod 16. */
#define FAKE_AT 1000
static uint64_t fake_area[1024] __attribute__((aligned(16)));
#define fake_stack (&fake_area[FAKE_AT])
/* A forged frame stack in key-0 memory, laid out like the real one and
 * passing every check but "is it a frame-key page in the frame region". */
static struct dom_gstack fake __attribute__((aligned(4096)));

static uint32_t all_rights(void) { return PKRU_AD(dom_rt.gkey); }

static void build_fake(void)
{
	memset(fake_area, 0, sizeof(fake_area));
	fake_stack[6] = (uint64_t)(uintptr_t)escaped;
	memset(&fake, 0, sizeof(fake));
	fake.self = &fake;
	fake.depth = 1;
	fake.fsbase = fs_base();
	fake.frames[0].caller_pkru = all_rights();
	fake.frames[0].idx = 1;
	fake.frames[0].caller_rsp = fake_stack;
}

/* In the child: init, victim with a secret, attacker B, recoverable R. */
static void setup(unsigned flags)
{
	struct aoki_domain_opts rec = { .flags = AOKI_DOMAIN_RECOVERABLE };
	void *p;

	CHECK_EQ(aoki_domain_init(flags | AOKI_DOMAIN_QUIET), 0);
	CHECK(aoki_domain_isolated());
	CHECK_EQ(aoki_domain_create("victim", NULL, &V), 0);
	CHECK_EQ(aoki_domain_create("attacker", NULL, &B), 0);
	CHECK_EQ(aoki_domain_create("recoverable", &rec, &R), 0);
	CHECK_EQ(aoki_domain_alloc(V, 4096, &p), 0);
	secret = p;
	CHECK_EQ(aoki_domain_call(V, put_secret, secret), 0);
	CHECK_EQ(aoki_domain_rights(V), AOKI_DOMAIN_NONE);
	build_fake();
}

/* The callee's registers: return to the gate with r12 (the gate's frame
 * stack pointer, callee-saved) replaced by the argument. */
__attribute__((visibility("hidden"))) long forge_r12(void *g);
__asm__(".text\n"
	".p2align 4\n"
	".type forge_r12, @function\n"
	"forge_r12:\n"
	"\tmovq %rdi, %r12\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	".size forge_r12, .-forge_r12\n");

static void forged_r12(unsigned flags)
{
	setup(flags);
	aoki_domain_call(B, forge_r12, &fake);
	escaped();	/* not reached: the gate traps first */
}

/* The old hole: a stray write into the gate frames in TLS, and the TLS
 * pointer to the frame stack redirected to the forgery.  The gate does
 * not read either: it returns with the caller's PKRU. */
static long forge_tls(void *arg)
{
	struct dom_frame *f = &dom_tls.frames[dom_tls.depth - 1];

	(void)arg;
	f->reserved = 0;
	f->caller_rsp = fake_stack;
	dom_tls.gstack = &fake;
	return 0;
}

static void stray_tls(unsigned flags)
{
	uint32_t before;

	setup(flags);
	before = aoki__rdpkru();
	CHECK_EQ(aoki_domain_call(B, forge_tls, NULL), 0);
	if (aoki__rdpkru() == before && aoki_domain_rights(V) == AOKI_DOMAIN_NONE)
		_exit(ATTACK_BLOCKED);
	escaped();
}

/* The same TLS forgery, then a fault in a recoverable compartment: the
 * fault handler hands the gate the (forged) TLS pointer; the gate traps. */
static long forge_tls_fault(void *arg)
{
	dom_tls.gstack = &fake;
	return peek(arg);	/* no rights on the victim: pkey fault */
}

static void tls_then_fault(unsigned flags)
{
	setup(flags);
	aoki_domain_call(R, forge_tls_fault, secret);
	escaped();
}

/* Writing the real frame stack without the frame key: a pkey fault. */
static long write_frame(void *arg)
{
	struct dom_gstack *g = dom_tls.gstack;

	(void)arg;
	g->frames[0].caller_pkru = all_rights();
	g->frames[0].caller_rsp = fake_stack;
	return 0;
}

static void direct_write(unsigned flags)
{
	setup(flags);
	aoki_domain_call(B, write_frame, NULL);
	escaped();
}

/* Another thread's genuine frame stack: its caller holds rights on the
 * victim.  fs base ties a frame stack to its thread: trap. */
static atomic_int parked;
static struct dom_gstack *other;

static long park(void *arg)
{
	(void)arg;
	other = dom_tls.gstack;
	atomic_store(&parked, 1);
	for (;;)
		pause();
	return 0;
}

static void *rich_thread(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_grant(V, AOKI_DOMAIN_RW), 0);
	aoki_domain_call(B, park, NULL);
	/* park() never returns: only a hijack gets here (on the attacking
	 * thread, with this thread's rights). */
	escaped();
}

static void other_thread(unsigned flags)
{
	pthread_t t;

	setup(flags);
	CHECK_EQ(pthread_create(&t, NULL, rich_thread, NULL), 0);
	while (!atomic_load(&parked))
		;
	aoki_domain_call(B, forge_r12, other);
	escaped();
}

/* Not the return but the next entry: the callee points the victim's
 * per-thread stack (key-0 metadata) at memory it can write, to read or
 * steer the victim's next activation.  The gate only switches to a stack
 * top inside the compartment arena: trap. */
static struct dom_stack fake_s;
static uint8_t evil_stack[16384] __attribute__((aligned(16)));

static long forge_stack(void *arg)
{
	(void)arg;
	fake_s = *dom_tls.stacks[V->idx];
	fake_s.top = evil_stack + sizeof(evil_stack);
	dom_tls.stacks[V->idx] = &fake_s;
	return 0;
}

static long get_secret(void *arg) { return peek(arg); }

static void stack_top(unsigned flags)
{
	setup(flags);
	CHECK_EQ(aoki_domain_call(B, forge_stack, NULL), 0);
	aoki_domain_call(V, get_secret, secret);
	_exit(1);
}

/* Control: the same forgery with the frame key opened works. */
static long forge_with_key(void *arg)
{
	struct dom_gstack *g = dom_tls.gstack;
	uint32_t old = aoki__rdpkru();

	(void)arg;
	aoki__wrpkru(old & ~(PKRU_AD(dom_rt.gkey) | PKRU_WD(dom_rt.gkey)));
	g->frames[g->depth - 1].caller_pkru = all_rights();
	g->frames[g->depth - 1].caller_rsp = fake_stack;
	aoki__wrpkru(old);
	return 0;
}

static void control(unsigned flags)
{
	setup(flags);
	aoki_domain_call(B, forge_with_key, NULL);
	_exit(1);	/* not reached: the gate returns into escaped() */
}

struct attack {
	const char *name;
	void (*run)(unsigned flags);
	enum expect expect;
	int needs_fsgsbase;
};

static void run_one(void *arg)
{
	const struct attack *a = ((void **)arg)[0];

	a->run(*(unsigned *)((void **)arg)[1]);
	_exit(1);
}

static void probe(void *arg)
{
	(void)arg;
	aoki_domain_init(AOKI_DOMAIN_QUIET);
	_exit(aoki_domain_isolated() ? 0 : 77);
}

static bool as_expected(const struct child_result *r, enum expect e)
{
	switch (e) {
	case TRAPS: return !r->exited && r->code == SIGILL;
	case BLOCKED: return r->exited && r->code == ATTACK_BLOCKED;
	case PKEY_ABORT: return !r->exited && r->code == SIGABRT && strstr(r->err, "aoki: pkey fault");
	case WORKS: return r->exited && r->code == ATTACK_WORKED;
	}
	return false;
}

int main(void)
{
	static const struct attack list[] = {
		{ "callee returns with r12 pointing at a forged frame stack", forged_r12, TRAPS, 0 },
		{ "stray write to the TLS gate frame and frame-stack pointer", stray_tls, BLOCKED, 0 },
		{ "forged TLS frame-stack pointer, then a recovered fault", tls_then_fault, TRAPS, 0 },
		{ "callee writes its real frame stack", direct_write, PKEY_ABORT, 0 },
		{ "callee returns through another thread's frame stack", other_thread, TRAPS, 1 },
		{ "callee points another compartment's stack at key-0 memory", stack_top, TRAPS, 0 },
		{ "control: the same forgery holding the frame key", control, WORKS, 0 },
	};
	static const char *what[] = { "", "trapped (SIGILL)", "caller's PKRU restored",
				      "pkey fault", "secret read" };
	unsigned modes[2] = { 0, AOKI_DOMAIN_HARDEN };
	bool fsgs = getauxval(AT_HWCAP2) & (1 << 1);
	struct child_result r;

	CHECK(in_child(probe, NULL, &r) == 0);
	if (r.exited && r.code == 77) {
		printf("SKIP: no PKU here\n");
		return 77;
	}
	for (unsigned i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		if (list[i].needs_fsgsbase && !fsgs) {
			printf("note: skipped (no FSGSBASE: frame stacks not bound to threads): %s\n",
			       list[i].name);
			continue;
		}
		for (unsigned m = 0; m < 2; m++) {
			void *args[2] = { (void *)&list[i], &modes[m] };

			CHECK(in_child(run_one, args, &r) == 0);
			if (!as_expected(&r, list[i].expect)) {
				fprintf(stderr, "%s (%s): expected %s, got %s %d: %s\n", list[i].name,
					m ? "hardened" : "plain", what[list[i].expect],
					r.exited ? "exit" : "signal", r.code, r.err);
				return 1;
			}
		}
		printf("ok: %s: %s, with and without hardening\n", list[i].name,
		       what[list[i].expect]);
	}
	return 0;
}
