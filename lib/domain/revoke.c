/* SPDX-License-Identifier: MIT */
/*
 * revoke.c - keys of destroyed compartments are not handed out again while
 * any thread may still hold rights on them (issue 13, hole 1).
 *
 * PKRU is per thread, and a thread can hold rights on key k in five
 * places: its live PKRU (aoki_domain_grant(), or a copy taken by
 * pthread_create()/clone()), the caller PKRUs saved in its gate frame
 * stack, those the light gate saved in its key-0 TLS frames, a PKRU
 * loaded into a register by gate code in flight, and the PKRU saved in a
 * signal frame.  aoki_domain_destroy() therefore keeps the
 * key allocated (quarantined) instead of freeing it.  When a new
 * compartment needs a key and none is free, dom_revoke_reclaim() proves
 * every quarantined key clean and makes it reusable:
 *   1. the calling thread drops the keys from its PKRU and its frames;
 *   2. every other thread of the process (listed from /proc/self/task,
 *      listed again until no new thread shows up) is sent DOM_REVOKE_SIG;
 *      its handler (on that thread) sets the keys' AD|WD bits in the
 *      interrupted context's PKRU (the signal frame, restored by
 *      sigreturn) and in every frame of the thread's frame stack, and
 *      acknowledges.  A thread interrupted inside the gate code (where a
 *      register may hold a PKRU) does not acknowledge; it is asked again.
 *   3. Only when every thread acknowledged are the keys reusable; a thread
 *      that blocks the signal, or does not answer in time, leaves them in
 *      quarantine (aoki_domain_create() then says -ENOSPC): the failure is
 *      safe.
 * The runtime's other signal handlers block DOM_REVOKE_SIG, so it never
 * runs on top of a handler whose frame would bring an old PKRU back.
 * Read-modify-writes of PKRU outside the gates (grant, revoke_all, the
 * frame-stack setup) go through dom_pkru_update(), which notices a
 * revocation that ran between its read and its write and applies it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#define REVOKE_TIMEOUT_NS (200 * 1000 * 1000L)	/* per thread */
#define RESEND_NS (1000 * 1000L)		/* ask again (mid-gate) */
#define MAX_PASSES 16				/* re-listings of the threads */

static _Atomic uint64_t revoke_req;	/* round << 32 | PKRU bits to set */
static _Atomic uint64_t revoke_ack;	/* round << 32 | tid of the last ack */
static _Atomic uint32_t rev_epoch;	/* rounds started */
static _Atomic uint32_t key_epoch[16];	/* round that last revoked key k */
static uint32_t quarantine;		/* keys held back (dom_rt.lock) */
static uint32_t clean;			/* keys proven clean, unused (dom_rt.lock) */

static uint32_t key_bits(uint32_t keys)
{
	uint32_t v = 0;

	for (int k = 1; k < 16; k++)
		if (keys & (1u << k))
			v |= PKRU_AD(k) | PKRU_WD(k);
	return v;
}

/* PKRU bits of the keys whose revocation started after round @e. */
static uint32_t revoked_since(uint32_t e)
{
	uint32_t keys = 0;

	for (int k = 1; k < 16; k++)
		if ((int32_t)(atomic_load_explicit(&key_epoch[k], memory_order_relaxed) - e) > 0)
			keys |= 1u << k;
	return key_bits(keys);
}

void dom_pkru_update(uint32_t clear, uint32_t set)
{
	/* Acquire: pairs with the release in reclaim(), so key_epoch[] is
	 * current for any round this load sees. */
	uint32_t e0 = atomic_load_explicit(&rev_epoch, memory_order_acquire), e = e0, now;

	for (;;) {
		uint32_t v = ((aoki__rdpkru() | revoked_since(e0)) & ~clear) | set;

		aoki__wrpkru(v);
		/* A revocation handler that ran on this thread between the
		 * read and the write was sent after the round's epoch was
		 * bumped (release in reclaim()), and ran before this load in
		 * program order: this load sees the bump.  Redo with it. */
		now = atomic_load_explicit(&rev_epoch, memory_order_acquire);
		if (now == e)
			return;
		e = now;
	}
}

/* Set @bits in every caller PKRU saved on this thread's frame stack and
 * in its key-0 gate frames (the light gate returns through those). */
static void scrub_frames(uint32_t bits)
{
	volatile struct dom_gstack *g = dom_tls.gstack;
	volatile struct dom_frame *f = dom_tls.frames;
	uint32_t old;

	if (!dom_rt.isolated)
		return;
	for (unsigned i = 0; i < DOM_MAX_DEPTH; i++)
		f[i].caller_pkru |= bits;
	if (!g)
		return;
	old = aoki__rdpkru();
	aoki__wrpkru(old & ~(PKRU_AD(dom_rt.gkey) | PKRU_WD(dom_rt.gkey)));
	__asm__ volatile("" ::: "memory");
	for (unsigned i = 0; i < DOM_MAX_DEPTH; i++)
		g->frames[i].caller_pkru |= bits;
	__asm__ volatile("" ::: "memory");
	aoki__wrpkru(old);
}

static void on_revoke(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	/* Acquire: pairs with the release that published the round. */
	uint64_t req = atomic_load_explicit(&revoke_req, memory_order_acquire);
	uint32_t bits = (uint32_t)req, *pk;
	uint64_t *bv;

	(void)sig, (void)si;
	if (rip - (uintptr_t)aoki__gate_text_start <
	    (uintptr_t)(aoki__gate_text_end - aoki__gate_text_start))
		return;		/* a register may hold a PKRU: asked again */
	pk = dom_sigframe_pkru(uc, &bv);
	if (!pk)
		return;		/* cannot edit the frame: no ack, keys stay held */
	*pk |= bits;
	*bv |= 1ull << 9;	/* XFEATURE_PKRU: restore it, not the init value */
	scrub_frames(bits);
	/* Release: the scrubbing above happens before the requester sees
	 * the ack (its acquire load in ask()). */
	atomic_store_explicit(&revoke_ack, (req & ~0xffffffffull) | (uint32_t)syscall(SYS_gettid),
			      memory_order_release);
}

int dom_revoke_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_revoke;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	return dom_sigaction_raw(DOM_REVOKE_SIG, &sa, NULL);
}

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Have thread @tid run on_revoke() for @round.  0, or -EAGAIN. */
static int ask(pid_t pid, pid_t tid, uint64_t round)
{
	uint64_t want = round << 32 | (uint32_t)tid;
	long start = now_ns(), sent = 0;
	struct timespec nap = { 0, 50 * 1000 };

	for (;;) {
		long t = now_ns();

		if (t - start > REVOKE_TIMEOUT_NS)
			return -EAGAIN;
		if (!sent || t - sent > RESEND_NS) {
			if (syscall(SYS_tgkill, pid, tid, DOM_REVOKE_SIG) < 0)
				return errno == ESRCH ? 0 : -EAGAIN;	/* gone: holds nothing */
			sent = t;
		}
		/* Acquire: pairs with the release in on_revoke(). */
		if (atomic_load_explicit(&revoke_ack, memory_order_acquire) == want)
			return 0;
		nanosleep(&nap, NULL);
	}
}

struct tids {
	pid_t *v;
	unsigned n, cap;
};

static bool seen(const struct tids *s, pid_t t)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->v[i] == t)
			return true;
	return false;
}

/* One listing of the threads: ask each one not asked yet.  Returns the
 * number newly asked, or -errno. */
static int pass(struct tids *done, uint64_t round)
{
	pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int fresh = 0, r = 0;

	if (!d)
		return -EAGAIN;		/* cannot list the threads: not provable */
	while (r == 0 && (e = readdir(d))) {
		pid_t t = (pid_t)atol(e->d_name);

		if (t <= 0 || t == self || seen(done, t))
			continue;
		if (done->n == done->cap) {
			unsigned cap = done->cap ? 2 * done->cap : 64;
			pid_t *v = realloc(done->v, cap * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				break;
			}
			done->v = v;
			done->cap = cap;
		}
		r = ask(pid, t, round);
		done->v[done->n++] = t;
		fresh++;
	}
	closedir(d);
	return r < 0 ? r : fresh;
}

/* Revoke @keys from every thread; 0 when all acknowledged. */
static int reclaim(uint32_t keys)
{
	struct tids done = { 0 };
	uint32_t bits = key_bits(keys), round;
	int r = 0, p;

	round = atomic_load_explicit(&rev_epoch, memory_order_relaxed) + 1;
	for (int k = 1; k < 16; k++)
		if (keys & (1u << k))
			atomic_store_explicit(&key_epoch[k], round, memory_order_relaxed);
	/* Release: key_epoch[] before the round number (dom_pkru_update()),
	 * the bits before any handler runs (on_revoke()). */
	atomic_store_explicit(&revoke_req, (uint64_t)round << 32 | bits, memory_order_release);
	atomic_store_explicit(&rev_epoch, round, memory_order_release);
	dom_pkru_update(0, bits);	/* this thread first: what it creates is clean */
	scrub_frames(bits);
	for (p = 0; p < MAX_PASSES; p++) {
		r = pass(&done, round);
		if (r <= 0)
			break;
	}
	free(done.v);
	if (r < 0)
		return r;
	return p < MAX_PASSES ? 0 : -EAGAIN;
}

void dom_revoke_quarantine(int pkey)
{
	quarantine |= 1u << pkey;
}

int dom_revoke_take_key(bool may_reclaim)
{
	int k;

	if (!clean && quarantine && may_reclaim && reclaim(quarantine) == 0) {
		clean |= quarantine;
		quarantine = 0;
	}
	if (!clean)
		return -ENOSPC;
	k = __builtin_ctz(clean);
	clean &= ~(1u << k);
	return k;
}
