/* SPDX-License-Identifier: MIT */
/*
 * ipc_aoki.c - the Aoki IPC figures of `aoki bench ipc`: synchronous
 * call latency (polling, wake path, same core), batched async
 * throughput, and the CPU an idle server burns.
 *
 * The server is servers/echo (ECHO_OP_ECHO with a 32-byte payload), a
 * forked process pinned with echo_opts.cpu; the client is the benchmark
 * process itself, pinned to the client CPU.  Both use the library's
 * default spin times (client up to 50 us, adaptive; server 50 us) unless said otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "echo.h"
#include "ipc_bench.h"

static int start_echo(const struct ipc_bench_cfg *cfg, const char *name, int cpu,
		      char *port, size_t cap, pid_t *pid)
{
	struct echo_opts o = { .cpu = cpu, .quiet = 1 };

	bench_port(cfg, name, port, cap);
	return echo_server_spawn(port, &o, pid);
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One echo call with a full inline payload; checks the reply. */
static int echo_call(struct aoki_chan *ch)
{
	uint8_t req[BENCH_MSG_BYTES], rep[BENCH_MSG_BYTES];
	size_t len = 0;
	int r;

	memset(req, 0x5a, sizeof(req));
	r = aoki_call(ch, ECHO_OP_ECHO, req, sizeof(req), rep, sizeof(rep), &len);
	if (r < 0)
		return r;
	return r == (int)sizeof(req) && len == sizeof(req) ? 0 : -EBADMSG;
}

static int call_batch(void *arg, uint64_t n)
{
	struct aoki_chan *ch = arg;
	int r = 0;

	for (uint64_t i = 0; i < n && r == 0; i++)
		r = echo_call(ch);
	return r;
}

/* aoki_call round trip, server pinned to @srv_cpu (cross-core or same core). */
int fig_call(const struct ipc_bench_cfg *cfg, int srv_cpu, struct bench_fig *f)
{
	int same = srv_cpu == cfg->cli_cpu;
	char port[128];
	int r = start_echo(cfg, same ? "call-same" : "call", srv_cpu, port, sizeof(port), &f->peer);

	if (r < 0)
		return r;
	f->echo = 1;
	r = aoki_connect(port, NULL, &f->ch);
	f->batch = call_batch;
	f->ctx = f->ch;
	/* Same core: every round trip is two context switches, so batches
	 * are sized like the kernel figures. */
	f->iters = same ? cfg->iters_slow : cfg->iters_fast;
	return r;
}

/*
 * The wake path: before each call the client pauses for sleep_gap_us
 * (2 ms), far past the server's 50 us spin, so the server worker is
 * asleep in futex_waitv and the call must wake it.  Each call is timed
 * on its own; the figure is the median.
 */
int bench_call_sleep(const struct ipc_bench_cfg *cfg, double *rtt_ns)
{
	unsigned n = cfg->sleep_samples;
	double *v = calloc(n, sizeof(*v));
	struct aoki_chan *ch = NULL;
	char port[128];
	pid_t pid;
	int r;

	if (!v)
		return -ENOMEM;
	r = start_echo(cfg, "call-sleep", cfg->srv_cpu, port, sizeof(port), &pid);
	if (r < 0) {
		free(v);
		return r;
	}
	r = aoki_connect(port, NULL, &ch);
	for (unsigned i = 0; r == 0 && i <= n; i++) {
		int64_t t0;

		sleep_ns((int64_t)cfg->sleep_gap_us * 1000);
		t0 = util_now_ns();
		r = echo_call(ch);
		if (i)		/* the first call is a warm-up */
			v[i - 1] = (double)(util_now_ns() - t0);
	}
	if (r == 0)
		*rtt_ns = bench_median(v, n);
	aoki_close(ch);
	echo_server_stop(pid);
	free(v);
	return r;
}

/* ------------------------------------------------------------- async */

struct async_ctx {
	struct aoki_chan *ch;
	unsigned slots, batch, inflight;
	uint64_t tag;
	struct aoki_sqe *sqes;
	struct aoki_cqe *cqes;
};

/*
 * Keep the ring full: submit a batch whenever a batch fits, reap what is
 * there, and block in aoki_reap (spin, then futex) only when the ring has
 * no room for another batch.  Counts @n completions.
 */
static int async_batch(void *arg, uint64_t n)
{
	struct async_ctx *a = arg;

	for (uint64_t done = 0; done < n; ) {
		unsigned room = a->slots - a->inflight;
		int r;

		if (room >= a->batch) {
			for (unsigned i = 0; i < a->batch; i++)
				a->sqes[i].tag = a->tag++;
			r = aoki_submit(a->ch, a->sqes, a->batch);
			if (r < 0)
				return r;
			a->inflight += (unsigned)r;
			room -= (unsigned)r;
		}
		r = aoki_reap(a->ch, a->cqes, a->slots, room < a->batch ? 1 : 0, -1);
		if (r < 0)
			return r;
		for (int i = 0; i < r; i++)
			if (a->cqes[i].status != BENCH_MSG_BYTES)
				return a->cqes[i].status < 0 ? a->cqes[i].status : -EBADMSG;
		a->inflight -= (unsigned)r;
		done += (unsigned)r;
	}
	return 0;
}

/* ns per message; the ring has cfg->async_slots slots (256), batches of 32. */
int fig_async(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	static const uint8_t payload[BENCH_MSG_BYTES] = { 0x5a };
	struct aoki_chan_opts o = { .slots = cfg->async_slots };
	size_t size = sizeof(struct async_ctx) + cfg->async_batch * sizeof(struct aoki_sqe) +
		      cfg->async_slots * sizeof(struct aoki_cqe);
	struct async_ctx *a = calloc(1, size);
	char port[128];
	int r;

	f->heap = a;
	if (!a)
		return -ENOMEM;
	a->slots = cfg->async_slots;
	a->batch = cfg->async_batch;
	a->sqes = (struct aoki_sqe *)(a + 1);
	a->cqes = (struct aoki_cqe *)(a->sqes + a->batch);
	for (unsigned i = 0; i < a->batch; i++)
		a->sqes[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .len = BENCH_MSG_BYTES,
						.data = payload };
	r = start_echo(cfg, "async", cfg->srv_cpu, port, sizeof(port), &f->peer);
	if (r < 0)
		return r;
	f->echo = 1;
	r = aoki_connect(port, &o, &f->ch);
	a->ch = f->ch;
	f->batch = async_batch;
	f->ctx = a;
	f->iters = cfg->stream_msgs;
	return r;
}

/* -------------------------------------------------------------- idle */

/*
 * idle_cpu_pct: connect idle_clients channels, make one call on each,
 * let the server be idle for 10 ms, then read the server process's CPU
 * clock (all threads: clock_getcpuclockid) across exactly one second of
 * wall time.  Percent of one CPU.
 */
int bench_idle_cpu(const struct ipc_bench_cfg *cfg, double *pct)
{
	struct aoki_chan *ch[16] = { 0 };
	unsigned n = cfg->idle_clients < 16 ? cfg->idle_clients : 16;
	struct timespec c0, c1;
	clockid_t clk;
	char port[128];
	int64_t w0, w1;
	pid_t pid;
	int r = start_echo(cfg, "idle", cfg->srv_cpu, port, sizeof(port), &pid);

	if (r < 0)
		return r;
	for (unsigned i = 0; r == 0 && i < n; i++) {
		r = aoki_connect(port, NULL, &ch[i]);
		if (r == 0)
			r = echo_call(ch[i]);
	}
	if (r == 0) {
		r = -clock_getcpuclockid(pid, &clk);
		if (r == 0) {
			sleep_ns(10000000);
			w0 = util_now_ns();
			clock_gettime(clk, &c0);
			sleep_ns(1000000000);
			clock_gettime(clk, &c1);
			w1 = util_now_ns();
			*pct = 100.0 * ((double)(c1.tv_sec - c0.tv_sec) * 1e9 +
					(double)(c1.tv_nsec - c0.tv_nsec)) / (double)(w1 - w0);
		}
	}
	for (unsigned i = 0; i < n; i++)
		aoki_close(ch[i]);
	echo_server_stop(pid);
	return r;
}
