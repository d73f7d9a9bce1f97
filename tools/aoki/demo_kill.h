/* SPDX-License-Identifier: MIT */
/* demo_kill.h - crashing the stack's servers on a schedule while the
 * stack job builds (demo_kill.c). */
#ifndef AOKI_DEMO_KILL_H
#define AOKI_DEMO_KILL_H

#include <stdint.h>
#include <sys/types.h>

#include "stack.h"

#define DEMO_MAX_KILLS 64

/* One SIGKILL and what followed. */
struct demo_kill {
	enum stack_srv srv;	/* STACK_FSD or STACK_BLKD */
	pid_t old_pid, new_pid;
	int64_t at_ns;		/* when, from the killer's start */
	int64_t started_ns;	/* kill -> aoki-init started the new process; -1 not yet */
	int64_t answered_ns;	/* kill -> it answered the stats request; -1 not yet */
};

struct demo_killer {
	const struct stack_conf *c;
	int64_t t0;		/* start (monotonic ns) */
	int64_t next_ns;	/* the next kill, from t0 */
	int64_t every_ns;	/* between a restart and the next kill */
	unsigned max;		/* kills to make */
	unsigned n;		/* kills made */
	int waiting;		/* kills[n - 1] has not answered yet */
	struct demo_kill kills[DEMO_MAX_KILLS];
};

/*
 * demo_killer_init - kill @max (<= DEMO_MAX_KILLS) times, the first
 * after @first_ms and then @every_ms after the previous victim answers
 * again, in the order fsd, blkd, fsd, fsd, blkd, fsd, fsd, blkd, ...
 * (so 5 kills are 3 of fsd and 2 of blkd).
 */
void demo_killer_init(struct demo_killer *k, const struct stack_conf *c, unsigned max,
		      unsigned first_ms, unsigned every_ms);

/*
 * demo_killer_step - call often (every few ms): make the kill that is
 * due, or follow the last one until its server answers, printing a line
 * for each kill and each restart.  Blocks at most about a second (a stats
 * request to a server that is coming back).  Returns -1 when a victim
 * did not come back within 30 s (the line says so), else 0.
 */
int demo_killer_step(struct demo_killer *k);

/* demo_killer_count - kills made of @srv, and of those how many answered
 * again. */
unsigned demo_killer_count(const struct demo_killer *k, enum stack_srv srv, unsigned *answered);

#endif
