/* SPDX-License-Identifier: MIT */
/* ipc_util.c - timing, medians, pinning and peer processes for bench/ipc*.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo.h"
#include "ipc_bench.h"
#include "progress.h"

int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

void *bench_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void bench_shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *v, unsigned n)
{
	double *s, m;

	if (!n)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return v[0];
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

int bench_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

int bench_write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;

	while (put < len) {
		ssize_t r = write(fd, (const char *)buf + put, len - put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		put += (size_t)r;
	}
	return 0;
}

/* Process-shared futexes (no FUTEX_PRIVATE_FLAG): the word is MAP_SHARED. */
int bench_futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	if (syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0) == 0)
		return 0;
	return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

int bench_futex_wake(_Atomic uint32_t *word)
{
	return syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0) < 0 ? -errno : 0;
}

void bench_port(const struct ipc_bench_cfg *cfg, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s.sock", cfg->dir, name);
}

int bench_peer_spawn(int cpu, void (*fn)(void *), void *arg, pid_t *pid)
{
	pid_t child = fork();

	if (child < 0)
		return -errno;
	if (child == 0) {
		/* Die with the benchmark, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (bench_pin(cpu) < 0)
			_exit(111);
		fn(arg);
		_exit(0);
	}
	*pid = child;
	return 0;
}

void bench_peer_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void bench_fig_init(struct bench_fig *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	for (int i = 0; i < 4; i++)
		f->fds[i] = -1;
}

void bench_fig_teardown(struct bench_fig *f)
{
	double value = f->value;

	if (f->ch)
		aoki_close(f->ch);
	if (f->peer > 0 && f->echo) {
		kill(f->peer, SIGCONT);
		echo_server_stop(f->peer);
	} else if (f->peer > 0) {
		bench_peer_kill(f->peer);
	}
	for (int i = 0; i < 4; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	bench_shared_free(f->shm, f->shm_size);
	free(f->heap);
	bench_fig_init(f, f->name);
	f->value = value;	/* the result outlives the resources */
}

/* One batch: resume a parked peer, warm up untimed, time, park again. */
static int timed_batch(struct bench_fig *f, double *ns_per_iter)
{
	int64_t t0;
	int r;

	if (f->park)
		kill(f->peer, SIGCONT);
	r = f->batch(f->ctx, f->iters / 16 + 1);
	if (r == 0) {
		t0 = util_now_ns();
		r = f->batch(f->ctx, f->iters);
		*ns_per_iter = (double)(util_now_ns() - t0) / (double)f->iters;
	}
	if (f->park)
		kill(f->peer, SIGSTOP);
	return r;
}

int bench_run_figs(const struct ipc_bench_cfg *cfg, const char *step, struct bench_fig *figs,
		   unsigned n)
{
	double *per = calloc((size_t)n * cfg->batches, sizeof(*per));
	double ignored;
	int r = per ? 0 : -ENOMEM;
	unsigned i = 0;

	/* Round 0 warms caches, page faults and clocks; it is not kept. */
	for (i = 0; r == 0 && i < n; i++)
		r = timed_batch(&figs[i], &ignored);
	for (unsigned b = 0; r == 0 && b < cfg->batches; b++) {
		/* Between rounds, outside every timed batch. */
		util_progress("%s: round %u/%u", step, b + 1, cfg->batches);
		for (i = 0; r == 0 && i < n; i++)
			r = timed_batch(&figs[i], &per[(size_t)i * cfg->batches + b]);
	}
	if (r < 0 && per) {	/* figs[i - 1] failed */
		util_progress_end();
		fprintf(stderr, "aoki bench ipc: %s: %s\n", figs[i - 1].name, strerror(-r));
	}
	for (i = 0; r == 0 && i < n; i++)
		figs[i].value = bench_median(per + (size_t)i * cfg->batches, cfg->batches);
	free(per);
	return r;
}
