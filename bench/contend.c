/* SPDX-License-Identifier: MIT */
/*
 * contend.c - `--contended` of `aoki bench ipc` and `aoki bench blk`: one
 * CPU-bound process of normal priority pinned on every CPU the benchmark
 * may use, for the whole measurement (baselines and aoki alike), so that
 * every figure is taken on a machine that has other work to do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* The hog: a loop with no pause and no system call, the kind of work a
 * compiler or a number cruncher puts on a CPU. */
static void __attribute__((noreturn)) hog(int cpu, pid_t parent)
{
	cpu_set_t set;

	/* Not the benchmark's cleanup handlers: die of what kills us.  And
	 * die with the benchmark, however it ends. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		_exit(1);
	for (volatile unsigned long spin = 0;; spin++)
		;
}

int bench_contend_start(struct bench_contend *c)
{
	pid_t parent = getpid();
	cpu_set_t allowed;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	for (int cpu = 0; cpu < CPU_SETSIZE && c->n < BENCH_CONTEND_MAX; cpu++) {
		pid_t pid;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		pid = fork();
		if (pid < 0) {
			r = -errno;
			break;
		}
		if (pid == 0)
			hog(cpu, parent);
		c->pid[c->n++] = pid;
	}
	if (r < 0)
		bench_contend_stop(c);
	return r < 0 ? r : (int)c->n;
}

void bench_contend_stop(struct bench_contend *c)
{
	for (unsigned i = 0; i < c->n; i++)
		kill(c->pid[i], SIGKILL);
	for (unsigned i = 0; i < c->n; i++)
		while (waitpid(c->pid[i], NULL, 0) < 0 && errno == EINTR)
			;
	c->n = 0;
}
