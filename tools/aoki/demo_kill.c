/* SPDX-License-Identifier: MIT */
/*
 * demo_kill.c - the stack job's crashes: SIGKILL aoki-fsd and aoki-blkd
 * on a schedule (the pids aoki-init writes), then watch aoki-init start a
 * new process and time until it answers the stats request: what a client
 * of the stack sees as a stall, never as an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "demo_kill.h"

#define COME_BACK_NS 30000000000ll	/* a victim that is not back by then: failure */

void demo_killer_init(struct demo_killer *k, const struct stack_conf *c, unsigned max,
		      unsigned first_ms, unsigned every_ms)
{
	memset(k, 0, sizeof(*k));
	k->c = c;
	k->t0 = util_now_ns();
	k->next_ns = (int64_t)first_ms * 1000000;
	k->every_ns = (int64_t)every_ms * 1000000;
	k->max = max < DEMO_MAX_KILLS ? max : DEMO_MAX_KILLS;
}

/* fsd, blkd, fsd; fsd, blkd, fsd; ... */
static enum stack_srv victim(unsigned i)
{
	return i % 3 == 1 ? STACK_BLKD : STACK_FSD;
}

static void kill_now(struct demo_killer *k, int64_t now)
{
	struct demo_kill *d = &k->kills[k->n];
	pid_t pid;

	d->srv = victim(k->n);
	pid = stack_srv_pid(k->c, d->srv);
	if (pid <= 0 || kill(pid, SIGKILL) < 0) {
		/* Between two processes (a restart of its own): try later. */
		k->next_ns = now + 100000000;
		return;
	}
	d->old_pid = pid;
	d->at_ns = now;
	d->started_ns = d->answered_ns = -1;
	k->n++;
	k->waiting = 1;
	printf("  %6.1f s  SIGKILL aoki-%s (pid %d)\n", (double)now / 1e9,
	       stack_srv_names[d->srv], (int)pid);
	fflush(stdout);
}

/* Follow the last kill: a new pid, then an answer. */
static int follow(struct demo_killer *k, int64_t now)
{
	struct demo_kill *d = &k->kills[k->n - 1];
	struct aoki_server_stats st;
	char port[PATH_MAX + 16];
	pid_t pid;

	if (d->started_ns < 0) {
		pid = stack_srv_pid(k->c, d->srv);
		if (pid <= 0 || pid == d->old_pid)
			goto check_late;
		d->new_pid = pid;
		d->started_ns = now - d->at_ns;
	}
	snprintf(port, sizeof(port), "%s/%s.sock", k->c->run_dir, k->c->port[d->srv]);
	if (stack_query(port, 1000, &st, NULL) == 0 && st.pid == (uint64_t)d->new_pid) {
		d->answered_ns = util_now_ns() - k->t0 - d->at_ns;
		k->waiting = 0;
		k->next_ns = util_now_ns() - k->t0 + k->every_ns;
		printf("  %6.1f s  aoki-%s back: aoki-init restarted it after %.0f ms (pid %d), "
		       "answering after %.0f ms\n", (double)(d->at_ns + d->answered_ns) / 1e9,
		       stack_srv_names[d->srv], (double)d->started_ns / 1e6, (int)d->new_pid,
		       (double)d->answered_ns / 1e6);
		fflush(stdout);
		return 0;
	}
check_late:
	if (now - d->at_ns > COME_BACK_NS) {
		printf("  %6.1f s  aoki-%s did not come back within %lld s\n", (double)now / 1e9,
		       stack_srv_names[d->srv], COME_BACK_NS / 1000000000);
		k->waiting = 0;
		k->max = k->n;	/* no more kills */
		return -1;
	}
	return 0;
}

int demo_killer_step(struct demo_killer *k)
{
	int64_t now = util_now_ns() - k->t0;

	if (k->waiting)
		return follow(k, now);
	if (k->n < k->max && now >= k->next_ns)
		kill_now(k, now);
	return 0;
}

unsigned demo_killer_count(const struct demo_killer *k, enum stack_srv srv, unsigned *answered)
{
	unsigned n = 0, a = 0;

	for (unsigned i = 0; i < k->n; i++) {
		if (k->kills[i].srv != srv)
			continue;
		n++;
		a += k->kills[i].answered_ns >= 0;
	}
	if (answered)
		*answered = a;
	return n;
}
