/* SPDX-License-Identifier: MIT */
/*
 * spin.h - how long a waiter spins before it sleeps: the one policy of a
 * client's waits (wait.c) and of a server's idle workers (worker.c).
 *
 * Spinning buys latency with CPU time.  It pays while the awaited event
 * comes within the spin.  It stops paying
 *   - when the event comes later than the budget: the spin was wasted;
 *   - when the machine is oversubscribed.  A spinner then takes its time
 *     from other work (or from its own peer, on a shared CPU), and, worse
 *     for itself, it uses up its share of the CPU: the scheduler lets
 *     the other work finish its time slice (milliseconds) before it runs
 *     the spinner again, where a task that slept is run at once when its
 *     event comes.  A waiter notices this when it loses its CPU in the
 *     middle of a spin: the clock jumps between two of its reads.
 * So a budget, between 0 and the ceiling (spin_ns):
 *   - goes back to the ceiling after a wait that ended within it, by
 *     spinning or soon after falling asleep (a longer spin would have
 *     caught the event);
 *   - halves after a wait that lasted longer than the ceiling;
 *   - is 0, and a same-CPU waiter does not yield, for SPIN_CALM_NS after
 *     a spin lost its CPU.
 * A zero budget still polls for a microsecond or two (the callers' first
 * round of polls) before sleeping, and never yields.
 */
#ifndef AOKI_SPIN_H
#define AOKI_SPIN_H

#include <stdint.h>

/* Two clock reads of a spin are a few microseconds apart (a round of
 * polls, or one sched_yield); a gap this long means the waiter was not
 * running in between. */
#define SPIN_LOST_CPU_NS 200000

/* After a spin lost its CPU: sleep at once for this long.  Long against
 * a time slice (a few ms), so that the waiter stays a sleeper that the
 * scheduler runs as soon as its event comes; short enough that spinning
 * comes back soon after the other work has gone. */
#define SPIN_CALM_NS 100000000

/* spin_lost_cpu - was the waiter off its CPU between the clock reads
 * @prev and @now of one spin?  Wait-free. */
static inline int spin_lost_cpu(int64_t prev, int64_t now)
{
	return now - prev > SPIN_LOST_CPU_NS;
}

/*
 * spin_next_budget - the budget after a wait of @waited_ns that ended in
 * sleep (@slept) or not, given the budget @cur it had and the ceiling
 * @max.  Wait-free.
 */
static inline int64_t spin_next_budget(int64_t cur, int64_t max, int64_t waited_ns, int slept)
{
	if (!slept || waited_ns <= max)
		return max;
	return cur / 2;
}

#endif
