/* SPDX-License-Identifier: MIT */
/*
 * wait.c - how a client thread waits for the server: a bounded spin, then
 * a futex sleep published through cli_wait so that the server makes the
 * wake system call only when somebody really sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>

#include "client.h"
#include "spin.h"
#include "sys.h"

/* Sleep in slices, checking between them that the server lives: a server
 * that dies while we sleep is noticed (and the reconnect begun) within a
 * slice.  The first slice is short, because a server often dies just as
 * a waiter gives up spinning (a process takes a while to exit, so its
 * socket still looked alive); then they double up to the longest, whose
 * 100 wake-ups a second per sleeping thread cost about 0.05 % of a CPU. */
#define SLICE_FIRST_NS 1000000
#define SLICE_MAX_NS 10000000

/* Polls of the reply before a deferred doorbell check (about 1 us). */
#define KICK_AFTER_POLLS 32

/*
 * The spin budget (spin.h): per channel (ch->spin_cur, at most
 * ch->spin_ns), shared by its waiting threads.  A spin that ends in the
 * reply restores the ceiling; a wait that ended in sleep restores it if
 * the reply came within the ceiling anyway, else halves it - except when
 * the waiter had to wake the server: that reply was late for that
 * reason alone, which says nothing about spinning.  Relaxed: a heuristic;
 * a lost update costs one imperfect guess.
 */
static int64_t spin_limit(const struct aoki_chan *ch)
{
	return atomic_load_explicit(&ch->spin_cur, memory_order_relaxed);
}

static void spin_learn(struct aoki_chan *ch, int64_t waited_ns, int slept, int woke_server)
{
	int64_t cur = spin_limit(ch), next = spin_next_budget(cur, ch->spin_ns, waited_ns, slept);

	if (next < cur && woke_server)
		return;
	atomic_store_explicit(&ch->spin_cur, next, memory_order_relaxed);
}

/*
 * Until when (monotonic ns) this process's waiters do not spin, because
 * one of them lost its CPU in the middle of a spin (spin.h); 0: they may.
 * Process-wide: oversubscription is the machine's state, not a
 * channel's.  Relaxed: a heuristic, read without the clock while 0.
 */
static _Atomic int64_t calm_until;

static int calm_now(void)
{
	int64_t until = atomic_load_explicit(&calm_until, memory_order_relaxed);

	if (!until)
		return 0;
	if (now_ns() < until)
		return 1;
	/* Over: spin again (unless another waiter just renewed it). */
	atomic_compare_exchange_strong_explicit(&calm_until, &until, 0, memory_order_relaxed,
						memory_order_relaxed);
	return 0;
}

/* What one spin found out, for chan_wait. */
struct spin_result {
	int64_t start;		/* when the spin first read the clock; 0: never */
	int woke_server;	/* it rang the doorbell of a sleeping server */
};

static int spin(struct aoki_chan *ch, int (*ready)(struct aoki_chan *, void *), void *arg,
		int *kick_pending, struct spin_result *res)
{
	int64_t last = 0, now, limit = spin_limit(ch);
	int polls = 0;
	int calm = calm_now();

	if (ch->spin_ns <= 0)
		return 0;
	/* Spinning on the CPU the server runs on only steals its time slice:
	 * yield it instead, so the server runs now and we find the reply
	 * when we are scheduled again, with no sleep or wake call on either
	 * side (the server yields back, see worker.c wait_for_work).  Not
	 * when the machine is oversubscribed: a yield then hands the CPU to
	 * other work for the rest of its time slice.  The hint is relaxed: a
	 * stale value costs one wrong guess, never correctness. */
	int same_cpu = !calm &&
		       atomic_load_explicit(&ch->hdr->srv_cpu, memory_order_relaxed) == sys_cpu();

	if (same_cpu && *kick_pending) {
		res->woke_server = chan_kick(ch);
		*kick_pending = 0;
	}
	/* The clock costs ~20 ns: read it only once the first round of
	 * polls has failed, so a fast reply never pays for it. */
	for (;;) {
		/* A yield takes a microsecond or more: look at the clock after
		 * each; a pause takes nanoseconds: after 64. */
		for (int i = 0; i < (same_cpu ? 1 : 64); i++) {
			if (ready(ch, arg)) {
				spin_learn(ch, 0, 0, 0);
				return 1;
			}
			/* A polling server answers well within the first
			 * polls; only then is the doorbell worth its fence. */
			if (*kick_pending && ++polls == KICK_AFTER_POLLS) {
				res->woke_server = chan_kick(ch);
				*kick_pending = 0;
			}
			if (same_cpu)
				sched_yield();
			else
				cpu_relax();
		}
		now = now_ns();
		if (!res->start) {
			res->start = now;
		} else if (spin_lost_cpu(last, now)) {
			/* Somebody else had our CPU: stop spinning, in every
			 * waiter of this process, for a while. */
			atomic_store_explicit(&calm_until, now + SPIN_CALM_NS, memory_order_relaxed);
			return 0;
		}
		if (calm || now - res->start >= limit)
			return 0;
		last = now;
	}
}

/* Turns of a hosted server between looks at the clock (deadline, and
 * whether the server still lives). */
#define HOSTED_CHECK_EVERY 64

/*
 * Wait for a server hosted in this process (inproc.h): there is nobody
 * to wake, so give it turns on this thread until the reply is there.  A
 * turn that finds another thread serving it returns at once: poll and
 * try again.  Returns 0, -ETIMEDOUT, the channel's loss error, or
 * -ESHUTDOWN (no hosted server anymore: wait as for a remote one).
 */
static int hosted_wait(struct aoki_chan *ch, int (*ready)(struct aoki_chan *, void *),
		       void *arg, int64_t deadline)
{
	for (unsigned turn = 1;; turn++) {
		int r;

		if (ready(ch, arg))
			return 0;
		r = chan_drive(ch, 1);
		if (r < 0)
			return r;
		if (ready(ch, arg))
			return 0;
		if (turn % HOSTED_CHECK_EVERY == 0) {
			if (deadline && now_ns() >= deadline)
				return -ETIMEDOUT;
			if (!chan_check_alive(ch))
				return chan_lost(ch);
		}
		if (r == 0)
			sched_yield();	/* another thread has the server's turn */
	}
}

int chan_wait(struct aoki_chan *ch, int (*ready)(struct aoki_chan *, void *),
	      void *arg, int64_t deadline, int kick_pending)
{
	struct spin_result sr = { 0, 0 };
	int r = 0;

	/* Relaxed: only whether the channel was ever hosted; chan_drive
	 * loads the port with acquire. */
	if (atomic_load_explicit(&ch->host, memory_order_relaxed)) {
		r = hosted_wait(ch, ready, arg, deadline);
		if (r != -ESHUTDOWN)
			return r;
		r = 0;
	}
	if (ready(ch, arg) || spin(ch, ready, arg, &kick_pending, &sr))
		return 0;
	/* Never sleep with the doorbell unchecked: the server may sleep too. */
	if (kick_pending)
		sr.woke_server |= chan_kick(ch);
	/* Before the first sleep, make sure there is a server to wake us: a
	 * dead one is noticed (and reconnected) now rather than after a
	 * slice.  One poll(2), on a path that sleeps anyway. */
	if (!chan_check_alive(ch) && !ready(ch, arg))
		return chan_lost(ch);

	/* Publish that we sleep.  The seq_cst RMW orders this store before
	 * the loads of cli_futex and of the ring below; it pairs with the
	 * server's "store DONE; fence; load cli_wait" (Dekker): either the
	 * server sees a sleeper and wakes us, or we see its reply. */
	atomic_fetch_add_explicit(&ch->hdr->cli_wait, 1, memory_order_seq_cst);
	for (int64_t next = SLICE_FIRST_NS;; next = next * 2 > SLICE_MAX_NS ? SLICE_MAX_NS : next * 2) {
		uint32_t seq = atomic_load_explicit(&ch->hdr->cli_futex, memory_order_acquire);
		int64_t slice = next;

		if (ready(ch, arg))
			break;
		if (chan_lost(ch)) {
			r = chan_lost(ch);
			break;
		}
		if (deadline) {
			int64_t left = deadline - now_ns();

			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			if (left < slice)
				slice = left;
		}
		/* A wake or a timeout without our reply may mean the server
		 * dropped the channel or died: look at the control socket.
		 * If it died, this reconnects, and we go on waiting for the
		 * reply from the restarted server. */
		if (futex_wait_shared(&ch->hdr->cli_futex, seq, slice) != -EAGAIN &&
		    !ready(ch, arg))
			chan_check_alive(ch);
	}
	atomic_fetch_sub_explicit(&ch->hdr->cli_wait, 1, memory_order_relaxed);
	/* A reply that raced with the deadline or the loss still counts. */
	if (r != 0 && ready(ch, arg))
		r = 0;
	/* Would a longer spin have caught it?  (One clock read, after a
	 * sleep: off the fast path.) */
	if (r == 0 && sr.start)
		spin_learn(ch, now_ns() - sr.start, 1, sr.woke_server);
	return r;
}
