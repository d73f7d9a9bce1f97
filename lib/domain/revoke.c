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
 * compartment needs a key and none is free, dom_revoke_take_key() proves
 * quarantined keys clean (reclaim()) and makes them reusable:
 *   1. the calling thread drops the keys from its PKRU and its frames;
 *   2. every other thread of the process (listed from /proc/self/task,
 *      listed again until no new thread shows up) is sent DOM_REVOKE_SIG;
 *      its handler (on that thread) sets the keys' AD|WD bits in the
 *      interrupted context's PKRU (the signal frame, restored by
 *      sigreturn) and in every frame of the thread's frame stack, and
 *      acknowledges.  A thread interrupted inside the gate code (where a
 *      register may hold a PKRU) does not acknowledge; it says so, and is
 *      asked again.  Nothing else sends the signal twice, nor while it is
 *      still pending on the thread (when /proc says so): a thread that
 *      blocks it does not pile up queued real-time signals (they count
 *      against the user's RLIMIT_SIGPENDING).  Only the thread being asked
 *      answers, so a late signal taken by another cannot overwrite it.
 *   3. io_uring's kernel threads (io-wq workers "iou-wrk-<tid>", SQPOLL
 *      threads "iou-sqp-<tid>") are threads of the process too, but they
 *      block every signal and never run user code: they cannot be
 *      revoked.  Each has a PKRU of its own, copied from the thread whose
 *      request created it (in that thread's system call, so inside a gate
 *      when the compartment submitted the request) and never changed
 *      after, and the kernel uses it for the user memory the worker
 *      reads and writes.  So a worker may hold rights on exactly the keys
 *      that were live when it was created.  Each key records when it was
 *      last handed out (CLOCK_BOOTTIME, before any thread can get rights
 *      on it); a worker whose start time (/proc .../stat, in clock ticks,
 *      rounded down) plus one tick is not after that moment was created
 *      before the key's current life and holds nothing on it.  Any other
 *      key stays quarantined while the worker lives (it goes with its
 *      thread).  A worker is recognised by PF_IO_WORKER in the task flags
 *      (set by the kernel, not by the program) and its "iou-" name.  The
 *      hardening mode's Landlock rule closes /proc/self/task/.../stat:
 *      there a worker is not recognised and, asked like any thread, never
 *      answers (that mode refuses io_uring: only a ring made before init
 *      has workers).
 *   4. The keys are reusable only when every other thread acknowledged,
 *      and only those no io_uring worker may hold; a thread that blocks
 *      the signal, or does not answer in time, leaves them all in
 *      quarantine (aoki_domain_create() then says -ENOSPC): the failure
 *      is safe.
 *   5. A key that every thread but io_uring workers gave up is an heir
 *      key: it stays in quarantine, but goes to a successor
 *      (AOKI_DOMAIN_SUCCESSOR) of the compartment that had it last, by
 *      name, when no clean key is left.  Those workers got their rights
 *      by running that compartment's I/O, and an io-wq worker lives as
 *      long as its thread (the last one of each kind never times out), so
 *      a recovered server that makes workers would otherwise use up the
 *      keys: a worker made by its n-th incarnation holds every key handed
 *      out before it.  Given to the successor, the key keeps the reach
 *      the workers had, the memory of that server, and nothing else's.
 *      Its birth time is not renewed: the workers of its earlier lives
 *      are still counted as holding it.
 * The runtime's other signal handlers block DOM_REVOKE_SIG, so it never
 * runs on top of a handler whose frame would bring an old PKRU back.
 * Read-modify-writes of PKRU outside the gates (grant, revoke_all, the
 * frame-stack setup) go through dom_pkru_update(), which notices a
 * revocation that ran between its read and its write and applies it.
 * A key fresh from pkey_alloc() is taken to be held by no thread (the
 * program does not free keys it gave rights on).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#define REVOKE_TIMEOUT_NS (200 * 1000 * 1000L)	/* per thread */
#define MAX_PASSES 16				/* re-listings of the threads */
#define PF_IO_WORKER 0x10	/* task flag of io_uring's threads (linux/sched.h) */

static _Atomic uint64_t revoke_req;	/* round << 32 | PKRU bits to set */
static _Atomic pid_t asking;		/* the thread ask() waits for */
static _Atomic uint64_t revoke_ack;	/* round << 32 | tid: done */
static _Atomic uint64_t revoke_nack;	/* round << 32 | tid: taken mid-gate */
static _Atomic uint32_t rev_epoch;	/* rounds started */
static _Atomic uint32_t key_epoch[16];	/* round that last revoked key k */
static uint32_t quarantine;		/* keys held back (dom_rt.lock) */
static uint32_t clean;			/* keys proven clean, unused (dom_rt.lock) */
static uint32_t heir;			/* quarantined, held by io_uring workers only (dom_rt.lock) */
static char last_name[16][32];		/* who had key k last (dom_rt.lock) */
static long born[16];	/* CLOCK_BOOTTIME ns: key k last handed out (dom_rt.lock) */

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
	pid_t self = (pid_t)syscall(SYS_gettid);
	uint64_t me = (req & ~0xffffffffull) | (uint32_t)self;
	/* Only the thread ask() waits for answers: a late signal taken by
	 * another thread must not overwrite that answer.  (ask() stored
	 * @asking before sending; the kernel's signal lock orders that
	 * store before this load.) */
	bool asked = atomic_load_explicit(&asking, memory_order_acquire) == self;
	uint64_t *bv;

	(void)sig, (void)si;
	if (rip - (uintptr_t)aoki__gate_text_start <
	    (uintptr_t)(aoki__gate_text_end - aoki__gate_text_start)) {
		if (asked)
			atomic_store_explicit(&revoke_nack, me, memory_order_relaxed);
		return;		/* a register may hold a PKRU: asked again */
	}
	pk = dom_sigframe_pkru(uc, &bv);
	if (!pk)
		return;		/* cannot edit the frame: no ack, keys stay held */
	*pk |= bits;
	*bv |= 1ull << 9;	/* XFEATURE_PKRU: restore it, not the init value */
	scrub_frames(bits);
	/* Release: the scrubbing above happens before the requester sees
	 * the ack (its acquire load in ask()). */
	if (asked)
		atomic_store_explicit(&revoke_ack, me, memory_order_release);
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

static long clock_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Read /proc/self/task/@tid/@what into @buf (NUL-terminated).  Length or -1. */
static ssize_t read_task(pid_t tid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Whether @tid has DOM_REVOKE_SIG pending (sent to it, not taken yet).
 * Unknown (not readable: the hardening mode's Landlock rule keeps
 * /proc/self/task/.../status closed): no. */
static bool pending(pid_t tid)
{
	char buf[4096], *p;
	unsigned long long set;

	if (read_task(tid, "status", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "\nSigPnd:");
	if (!p || sscanf(p + 8, "%llx", &set) != 1)
		return false;
	return set & (1ull << (DOM_REVOKE_SIG - 1));
}

/* Have thread @tid run on_revoke() for @round.  0, or -EAGAIN. */
static int ask(pid_t pid, pid_t tid, uint64_t round)
{
	uint64_t want = round << 32 | (uint32_t)tid;
	long start = clock_ns(CLOCK_MONOTONIC);
	struct timespec nap = { 0, 50 * 1000 };
	bool send = true;

	/* Before the signal (and the /proc read): see on_revoke(). */
	atomic_store(&asking, tid);
	for (;;) {
		/* Sent once, and again only when taken mid-gate: a thread
		 * that blocks the signal gets no pile of queued real-time
		 * signals.  One still pending (this round's or an earlier
		 * one's) does this round's work when taken: on_revoke()
		 * loads the request then. */
		if (send) {
			send = false;
			if (!pending(tid) && syscall(SYS_tgkill, pid, tid, DOM_REVOKE_SIG) < 0)
				return errno == ESRCH ? 0 : -EAGAIN;	/* gone: holds nothing */
		}
		/* Acquire: pairs with the release in on_revoke(). */
		if (atomic_load_explicit(&revoke_ack, memory_order_acquire) == want)
			return 0;
		if (atomic_load_explicit(&revoke_nack, memory_order_relaxed) == want) {
			atomic_store_explicit(&revoke_nack, 0, memory_order_relaxed);
			send = true;
		}
		if (clock_ns(CLOCK_MONOTONIC) - start > REVOKE_TIMEOUT_NS)
			return -EAGAIN;
		nanosleep(&nap, NULL);
	}
}

/* Of @keys, those io_uring's thread @tid may hold rights on (step 3 at
 * the top); -1 when @tid is not such a thread (or is gone). */
static int64_t worker_keys(pid_t tid, uint32_t keys)
{
	static long tick_ns;
	char buf[1024], *p, *q;
	unsigned long flags;
	unsigned long long start;
	long made_by;	/* the worker was made before this */
	uint32_t held = 0;

	if (read_task(tid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	/* "tid (name) state ...": the name may hold anything, ')' too. */
	p = strchr(buf, '(');
	q = strrchr(buf, ')');
	if (!p || !q || q - p < 5 || strncmp(p + 1, "iou-", 4) != 0)
		return -1;
	/* After the name: state (3), ... flags (9), ... starttime (22). */
	if (sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d "
		   "%*d %*d %*d %*d %llu", &flags, &start) != 2 || !(flags & PF_IO_WORKER))
		return -1;
	if (!tick_ns) {
		long hz = sysconf(_SC_CLK_TCK);	/* USER_HZ: the unit of starttime */

		tick_ns = 1000000000L / (hz > 0 ? hz : 100);
	}
	made_by = (long)(start + 1) * tick_ns;
	for (int k = 1; k < 16; k++)
		if ((keys & (1u << k)) && born[k] < made_by)
			held |= 1u << k;
	return held;
}

struct sweep {
	pid_t *v;		/* the threads dealt with */
	unsigned n, cap;
	uint32_t keys;		/* being revoked */
	uint32_t held;		/* of those, what io_uring threads may hold */
};

static bool seen(const struct sweep *s, pid_t t)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->v[i] == t)
			return true;
	return false;
}

/* One listing of the threads: deal with each one not seen yet.  Returns
 * the number newly seen, or -errno. */
static int pass(struct sweep *done, uint64_t round)
{
	pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int fresh = 0, r = 0;

	if (!d)
		return -EAGAIN;		/* cannot list the threads: not provable */
	while (r == 0 && (e = readdir(d))) {
		pid_t t = (pid_t)atol(e->d_name);
		int64_t w;

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
		w = worker_keys(t, done->keys);
		if (w >= 0)
			done->held |= (uint32_t)w;	/* takes no signal */
		else
			r = ask(pid, t, round);
		done->v[done->n++] = t;
		fresh++;
	}
	closedir(d);
	return r < 0 ? r : fresh;
}

/* Revoke @keys from every thread; returns those proven clean (0: none). */
static uint32_t reclaim(uint32_t keys)
{
	struct sweep done = { .keys = keys };
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
	atomic_store(&asking, 0);
	if (r < 0 || p == MAX_PASSES)
		return 0;
	heir |= keys & done.held;	/* step 5 */
	return keys & ~done.held;
}

void dom_revoke_quarantine(int pkey, const char *name)
{
	quarantine |= 1u << pkey;
	heir &= ~(1u << pkey);		/* proven again for this life */
	snprintf(last_name[pkey], sizeof(last_name[pkey]), "%s", name);
}

/* An heir key (step 5) whose last compartment was called @name, or -1. */
static int heir_of(const char *name)
{
	for (int k = 1; k < 16; k++)
		if ((heir & (1u << k)) && strcmp(last_name[k], name) == 0)
			return k;
	return -1;
}

int dom_revoke_take_key(const char *name, bool successor)
{
	/* Before any thread can get rights on the key (step 3). */
	long now = clock_ns(CLOCK_BOOTTIME);
	int k;

	if (!clean) {
		k = dom_pkey_alloc(PKEY_DISABLE_ACCESS);
		if (k != -ENOSPC) {
			if (k > 0 && k < 16)
				born[k] = now;
			return k;
		}
		if (quarantine) {
			clean = reclaim(quarantine);
			quarantine &= ~clean;
			heir &= ~clean;
		}
	}
	if (!clean) {
		k = successor ? heir_of(name) : -1;
		if (k < 0)
			return -ENOSPC;
		/* born[k] stays: the workers of its earlier lives hold it. */
		quarantine &= ~(1u << k);
		heir &= ~(1u << k);
		return k;
	}
	k = __builtin_ctz(clean);
	clean &= ~(1u << k);
	born[k] = now;
	return k;
}
