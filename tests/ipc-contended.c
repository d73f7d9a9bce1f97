/* SPDX-License-Identifier: MIT */
/*
 * ipc-contended - calls on a CPU that has other work to do.
 *
 * Client and echo server share one CPU, and a CPU-bound process of normal
 * priority runs there too.  On a free CPU both sides yield to each other
 * (a same-core round trip of two sched_yield calls); with other work on
 * the CPU each yield handed the CPU to that work for the rest of its time
 * slice, and a call took 1.5-3.6 ms (`aoki bench ipc --contended`, before
 * lib/ipc/spin.h).  A waiter that loses its CPU while it spins now stops
 * spinning and yielding for a while and sleeps instead, like a pipe's
 * reader: the median call must stay under 500 us (a pipe round trip on
 * this CPU takes 15-30 us).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "echo.h"
#include "harness.h"

#define CALLS 201
#define MEDIAN_LIMIT_NS 500000

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static pid_t hog(int cpu)
{
	pid_t parent = getpid(), pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || pin(cpu) < 0)
			_exit(1);
		for (volatile unsigned long spin = 0;; spin++)
			;
	}
	return pid;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct echo_opts eo = { .quiet = 1, .workers = 1 };
	uint8_t req[AOKI_MSG_PAYLOAD] = { 1 }, rep[AOKI_MSG_PAYLOAD];
	static int64_t t[CALLS];
	struct aoki_chan *ch;
	cpu_set_t allowed;
	pid_t srv, h;
	int cpu = 0;

	t_run_dir();
	CHECK_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed))
		cpu++;
	CHECK(cpu < CPU_SETSIZE);
	eo.cpu = cpu;
	CHECK_EQ(pin(cpu), 0);
	CHECK_EQ(echo_server_spawn("contended", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("contended", NULL, &ch), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, req, sizeof(req), rep, sizeof(rep), NULL),
		 (int)sizeof(req));
	h = hog(cpu);
	for (int i = 0; i < CALLS; i++) {
		int64_t t0 = t_now_ns();

		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, req, sizeof(req), rep, sizeof(rep), NULL),
			 (int)sizeof(req));
		t[i] = t_now_ns() - t0;
	}
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	qsort(t, CALLS, sizeof(t[0]), cmp_i64);
	printf("note: %d same-CPU calls beside a CPU hog: median %lld ns, p90 %lld ns\n", CALLS,
	       (long long)t[CALLS / 2], (long long)t[CALLS * 9 / 10]);
	CHECK(t[CALLS / 2] < MEDIAN_LIMIT_NS);
	aoki_close(ch);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
