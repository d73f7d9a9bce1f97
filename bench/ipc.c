/* SPDX-License-Identifier: MIT */
/*
 * ipc.c - `aoki bench ipc`: Aoki IPC against its physical limit and the
 * kernel's IPC primitives, all in one run on pinned cores.
 *
 * Figures (each a median over many timed batches; see ipc_bench.h):
 *   pingpong_rtt_ns       raw cache-line ping-pong between two processes
 *   call_rtt_ns           aoki_call, server polling on another core
 *   call_sleep_rtt_ns     aoki_call that must wake a sleeping server
 *   pipe/uds/futex/eventfd_rtt_ns   kernel round trips, cross-core
 *   call/pipe_samecore_rtt_ns       client and server on one core
 *   async_msgs_per_s      aoki_submit/aoki_reap streaming, one client
 *   ck_ring_msgs_per_s    ck_ring SPSC streaming, same message size
 *   syscalls_per_call     counted with ptrace under load (ipc_sys.c)
 *   idle_cpu_pct          server CPU with idle clients, over 1 s
 * The targets are reported, never asserted: the exit status says only
 * whether every figure could be measured.  See docs/benchmarks.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "ipc_bench.h"
#include "progress.h"

struct results {
	double pingpong, call, call_sleep, pipe, uds, futex, eventfd;
	double call_same, pipe_same, async, ck_ring, idle_pct;
	struct bench_sys_result sys;
};

struct target {
	const char *name;	/* JSON key of the ratio or figure */
	double value;
	int at_most;		/* 1: value <= goal; 0: value >= goal */
	double goal;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki bench ipc [--json] [--quick] [--contended] [--client-cpu N]\n"
		"                      [--server-cpu N]\n"
		"Measures Aoki IPC against a raw cache-line ping-pong and the kernel's\n"
		"pipe, Unix socket, futex and eventfd round trips, and ck_ring streaming.\n"
		"  --json          print one JSON object on stdout (the table goes to stderr)\n"
		"  --quick         a few thousand iterations per figure (a smoke test, < 5 s)\n"
		"  --contended     a CPU-bound process of normal priority on every CPU for the\n"
		"                  whole run (baselines and aoki alike); figures sized as with\n"
		"                  --quick, 11 batches; target: call RTT <= pipe RTT\n"
		"  --client-cpu N  CPU of the client (default 0)\n"
		"  --server-cpu N  CPU of the server for cross-core figures (default 1)\n");
}

static void config_defaults(struct ipc_bench_cfg *c, int quick, int contended)
{
	c->quick = quick;
	c->contended = contended;
	/* A contended run is sized like a quick one: a spinning baseline
	 * (the ping-pong, ck_ring) then waits for whole time slices. */
	quick |= contended;
	c->batches = contended ? 11 : quick ? 7 : 31;
	c->iters_fast = quick ? 2000 : 20000;
	c->iters_slow = quick ? 100 : 500;
	c->sleep_samples = quick ? 30 : 401;
	c->sleep_gap_us = 2000;
	c->sys_window = quick ? 20000 : 200000;
	c->async_slots = 256;
	c->async_batch = 32;
	c->stream_msgs = quick ? 50000 : 1000000;
	c->idle_clients = 4;
}

static int parse_cpu(const char *s, int *cpu)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;

	if (!s || *end || v < 0 || v >= CPU_SETSIZE)
		return -1;
	*cpu = (int)v;
	return 0;
}

/* Returns 0 to run, 1 to exit 0 (--help), -1 to exit 2 (bad usage). */
static int parse_args(int argc, char **argv, struct ipc_bench_cfg *cfg, int *json)
{
	int quick = 0, contended = 0, cli = 0, srv = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = 1;
		} else if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (!strcmp(argv[i], "--contended")) {
			contended = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(argv[i], "--client-cpu") || !strcmp(argv[i], "--server-cpu")) {
			if (parse_cpu(i + 1 < argc ? argv[i + 1] : NULL,
				      argv[i][2] == 'c' ? &cli : &srv) < 0) {
				fprintf(stderr, "aoki bench ipc: %s needs a CPU number\n", argv[i]);
				return -1;
			}
			i++;
		} else {
			fprintf(stderr, "aoki bench ipc: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	config_defaults(cfg, quick, contended);
	cfg->cli_cpu = cli;
	cfg->srv_cpu = srv;
	return 0;
}

static int check_cpus(const struct ipc_bench_cfg *cfg, const cpu_set_t *allowed)
{
	if (cfg->cli_cpu == cfg->srv_cpu) {
		fprintf(stderr, "aoki bench ipc: client and server CPUs must differ\n");
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		int cpu = i ? cfg->srv_cpu : cfg->cli_cpu;

		if (!CPU_ISSET(cpu, allowed)) {
			fprintf(stderr, "aoki bench ipc: CPU %d is not available to this process "
				"(see --client-cpu/--server-cpu; cross-core figures need two CPUs)\n", cpu);
			return -1;
		}
	}
	return 0;
}

static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[sizeof(((struct ipc_bench_cfg *)0)->dir) + sizeof(e->d_name) + 1];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Say which figure failed and why. */
static int fail(const char *what, int r)
{
	if (r < 0) {
		util_progress_end();
		fprintf(stderr, "aoki bench ipc: %s failed: %s\n", what, strerror(-r));
	}
	return r;
}

/* The steps of a run, for the progress line (on a terminal only). */
enum { S_CROSS, S_SAME, S_STREAM, S_SLEEP, S_SYSCALLS, S_IDLE, S_COUNT };

static const char *const step_names[S_COUNT] = {
	"cross-core round trips", "same-core round trips", "streaming",
	"call waking a sleeping server", "syscalls per call (ptrace)", "idle server CPU (1 s)",
};

static char step_label[96];	/* the step shown: "bench ipc: 1/6 ..." */

/* step - show step @s on the progress line (and keep its label for the
 * rounds of bench_run_figs).  Returns 0, to chain with fail(). */
static int step(unsigned s)
{
	snprintf(step_label, sizeof(step_label), "bench ipc: %u/%u %s", s + 1, S_COUNT,
		 step_names[s]);
	util_progress("%s", step_label);
	return 0;
}

enum { F_PINGPONG, F_CALL, F_PIPE, F_UDS, F_FUTEX, F_EVENTFD,	/* cross-core */
       F_CALL_SAME, F_PIPE_SAME,				/* one core */
       F_ASYNC, F_CK_RING,					/* streaming */
       F_COUNT };

static int setup_fig(const struct ipc_bench_cfg *cfg, unsigned i, struct bench_fig *f)
{
	switch (i) {
	case F_PINGPONG: return fig_pingpong(cfg, f);
	case F_CALL: return fig_call(cfg, cfg->srv_cpu, f);
	case F_PIPE: return fig_pipe(cfg, cfg->srv_cpu, f);
	case F_UDS: return fig_uds(cfg, f);
	case F_FUTEX: return fig_futex(cfg, f);
	case F_EVENTFD: return fig_eventfd(cfg, f);
	case F_CALL_SAME: return fig_call(cfg, cfg->cli_cpu, f);
	case F_PIPE_SAME: return fig_pipe(cfg, cfg->cli_cpu, f);
	case F_ASYNC: return fig_async(cfg, f);
	default: return fig_ck_ring(cfg, f);
	}
}

/*
 * Set up the figures [first, end), measure them with interleaved batches
 * (so a ratio inside the group compares like with like), tear down.
 */
static int run_group(const struct ipc_bench_cfg *cfg, unsigned s, struct bench_fig *figs,
		     unsigned first, unsigned end)
{
	static const char *const names[F_COUNT] = {
		"pingpong_rtt_ns", "call_rtt_ns", "pipe_rtt_ns", "uds_rtt_ns", "futex_rtt_ns",
		"eventfd_rtt_ns", "call_samecore_rtt_ns", "pipe_samecore_rtt_ns",
		"async_msgs_per_s", "ck_ring_msgs_per_s",
	};
	int r = step(s);

	for (unsigned i = first; i < end; i++)
		bench_fig_init(&figs[i], names[i]);
	for (unsigned i = first; r == 0 && i < end; i++)
		r = fail(names[i], setup_fig(cfg, i, &figs[i]));
	if (r == 0)
		r = bench_run_figs(cfg, step_label, figs + first, end - first);
	for (unsigned i = first; i < end; i++)
		bench_fig_teardown(&figs[i]);
	return r;
}

static int measure_all(const struct ipc_bench_cfg *cfg, struct results *res)
{
	struct bench_fig f[F_COUNT];

	if (run_group(cfg, S_CROSS, f, F_PINGPONG, F_CALL_SAME) ||
	    run_group(cfg, S_SAME, f, F_CALL_SAME, F_ASYNC) ||
	    run_group(cfg, S_STREAM, f, F_ASYNC, F_COUNT) ||
	    step(S_SLEEP) ||
	    fail("call_sleep_rtt_ns", bench_call_sleep(cfg, &res->call_sleep)) ||
	    step(S_SYSCALLS) ||
	    fail("syscalls_per_call (ptrace)", bench_syscalls(cfg, &res->sys)) ||
	    step(S_IDLE) || fail("idle_cpu_pct", bench_idle_cpu(cfg, &res->idle_pct)))
		return -1;
	res->pingpong = f[F_PINGPONG].value;
	res->call = f[F_CALL].value;
	res->pipe = f[F_PIPE].value;
	res->uds = f[F_UDS].value;
	res->futex = f[F_FUTEX].value;
	res->eventfd = f[F_EVENTFD].value;
	res->call_same = f[F_CALL_SAME].value;
	res->pipe_same = f[F_PIPE_SAME].value;
	res->async = 1e9 / f[F_ASYNC].value;
	res->ck_ring = 1e9 / f[F_CK_RING].value;
	return 0;
}

/*
 * The targets of the run.  Contended, a round trip has to wait for the
 * peer's CPU whatever the mechanism, so the goal there is not to be worse
 * than the kernel's own round trip (call <= pipe, also for a call that
 * wakes the server); the spinning baselines and the syscall count are
 * reported, not targets.
 */
static unsigned make_targets(const struct ipc_bench_cfg *cfg, const struct results *r,
			     struct target *t)
{
	unsigned n = 0;

	if (cfg->contended) {
		t[n++] = (struct target){ "call_vs_pipe", r->call / r->pipe, 1, 1 };
		/* The same for a call that must wake a sleeping server. */
		t[n++] = (struct target){ "call_sleep_vs_pipe", r->call_sleep / r->pipe, 1, 1 };
	} else {
		t[n++] = (struct target){ "call_vs_pingpong", r->call / r->pingpong, 1, 1.5 };
		t[n++] = (struct target){ "pipe_vs_call", r->pipe / r->call, 0, 20 };
	}
	t[n++] = (struct target){ "call_samecore_vs_pipe_samecore",
				  r->call_same / r->pipe_same, 1, 1 };
	if (!cfg->contended)
		t[n++] = (struct target){ "syscalls_per_call", r->sys.per_call, 1, 0.01 };
	t[n++] = (struct target){ "idle_cpu_pct", r->idle_pct, 1, 1 };
	if (!cfg->contended)
		t[n++] = (struct target){ "async_vs_ck_ring", r->async / r->ck_ring, 0, 1 };
	return n;
}

static int target_met(const struct target *t)
{
	return t->at_most ? t->value <= t->goal : t->value >= t->goal;
}

static void print_table(FILE *f, const struct ipc_bench_cfg *cfg, const struct results *r,
			const struct target *t, unsigned nt)
{
	const struct { const char *name; double v; const char *unit, *what; } rows[] = {
		{ "pingpong_rtt_ns", r->pingpong, "ns", "raw cache-line ping-pong, 2 processes" },
		{ "call_rtt_ns", r->call, "ns", "aoki_call, server polling" },
		{ "call_sleep_rtt_ns", r->call_sleep, "ns", "aoki_call, server asleep (wake)" },
		{ "pipe_rtt_ns", r->pipe, "ns", "two pipes, 32 B" },
		{ "uds_rtt_ns", r->uds, "ns", "AF_UNIX stream socketpair, 32 B" },
		{ "futex_rtt_ns", r->futex, "ns", "futex wait/wake, no spinning" },
		{ "eventfd_rtt_ns", r->eventfd, "ns", "two eventfds, 8 B" },
		{ "call_samecore_rtt_ns", r->call_same, "ns", "aoki_call, one core" },
		{ "pipe_samecore_rtt_ns", r->pipe_same, "ns", "two pipes, one core" },
		{ "async_msgs_per_s", r->async, "msg/s", "submit/reap, batches of 32" },
		{ "ck_ring_msgs_per_s", r->ck_ring, "msg/s", "ck_ring SPSC, 64 B messages" },
		{ "syscalls_per_call", r->sys.per_call, "", "ptrace-counted, both processes" },
		{ "idle_cpu_pct", r->idle_pct, "%", "server, 4 idle clients, 1 s" },
	};

	fprintf(f, "aoki bench ipc%s%s: client CPU %d, server CPU %d (same-core: both on %d); "
		"median of %u batches\n", cfg->quick ? " --quick" : "",
		cfg->contended ? " --contended" : "", cfg->cli_cpu, cfg->srv_cpu,
		cfg->cli_cpu, cfg->batches);
	if (cfg->contended)
		fprintf(f, "contended: a CPU-bound process of normal priority on each of %u CPUs "
			"throughout\n", cfg->hogs);
	fprintf(f, "%-24s %14s  %-6s %s\n", "figure", "median", "unit", "what");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "%-24s %14.*f  %-6s %s\n", rows[i].name,
			rows[i].v >= 1000 ? 0 : (rows[i].v >= 10 ? 1 : 4), rows[i].v,
			rows[i].unit, rows[i].what);
	fprintf(f, "syscalls in the window (client/server): %s; %llu calls\n",
		r->sys.detail[0] ? r->sys.detail : "none", (unsigned long long)r->sys.calls);
	fprintf(f, "\n%-32s %10s  %-8s %s\n", "target", "value", "goal", "result");
	for (unsigned i = 0; i < nt; i++) {
		char goal[16];

		snprintf(goal, sizeof(goal), "%s %g", t[i].at_most ? "<=" : ">=", t[i].goal);
		fprintf(f, "%-32s %10.4f  %-8s %s\n", t[i].name, t[i].value, goal,
			target_met(&t[i]) ? "met" : "MISSED");
	}
}

static void json_num(FILE *f, const char *key, double v, int *first)
{
	fprintf(f, "%s\n  \"%s\": ", *first ? "" : ",", key);
	if (isfinite(v) && fabs(v) >= 1000)
		fprintf(f, "%.1f", v);
	else if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fprintf(f, "null");
	*first = 0;
}

static void print_json(FILE *f, const struct ipc_bench_cfg *cfg, const struct results *r,
		       const struct target *t, unsigned nt)
{
	int first = 1;
	unsigned met = 0;

	fprintf(f, "{");
	json_num(f, "pingpong_rtt_ns", r->pingpong, &first);
	json_num(f, "call_rtt_ns", r->call, &first);
	json_num(f, "call_sleep_rtt_ns", r->call_sleep, &first);
	json_num(f, "pipe_rtt_ns", r->pipe, &first);
	json_num(f, "uds_rtt_ns", r->uds, &first);
	json_num(f, "futex_rtt_ns", r->futex, &first);
	json_num(f, "eventfd_rtt_ns", r->eventfd, &first);
	json_num(f, "call_samecore_rtt_ns", r->call_same, &first);
	json_num(f, "pipe_samecore_rtt_ns", r->pipe_same, &first);
	json_num(f, "async_msgs_per_s", r->async, &first);
	json_num(f, "ck_ring_msgs_per_s", r->ck_ring, &first);
	json_num(f, "syscalls_per_call", r->sys.per_call, &first);
	json_num(f, "idle_cpu_pct", r->idle_pct, &first);
	for (unsigned i = 0; i < nt; i++) {
		if (strcmp(t[i].name, "syscalls_per_call") && strcmp(t[i].name, "idle_cpu_pct"))
			json_num(f, t[i].name, t[i].value, &first);
		met += (unsigned)target_met(&t[i]);
	}
	json_num(f, "targets_met", met, &first);
	json_num(f, "targets_total", nt, &first);
	json_num(f, "syscalls_client", (double)r->sys.client, &first);
	json_num(f, "syscalls_server", (double)r->sys.server, &first);
	json_num(f, "syscall_window_calls", (double)r->sys.calls, &first);
	json_num(f, "client_cpu", cfg->cli_cpu, &first);
	json_num(f, "server_cpu", cfg->srv_cpu, &first);
	json_num(f, "batches", cfg->batches, &first);
	json_num(f, "async_slots", cfg->async_slots, &first);
	json_num(f, "async_batch", cfg->async_batch, &first);
	json_num(f, "message_bytes", BENCH_MSG_BYTES, &first);
	json_num(f, "quick", cfg->quick, &first);
	json_num(f, "contended", cfg->contended, &first);
	json_num(f, "contended_procs", cfg->hogs, &first);
	fprintf(f, "\n}\n");
}

int bench_ipc_main(int argc, char **argv)
{
	struct ipc_bench_cfg cfg = { 0 };
	struct bench_contend hogs = { .n = 0 };
	struct results res = { 0 };
	struct target t[8];
	cpu_set_t saved;
	int json = 0, r;
	unsigned nt;

	r = parse_args(argc, argv, &cfg, &json);
	if (r)
		return r > 0 ? 0 : 2;
	if (sched_getaffinity(0, sizeof(saved), &saved) < 0) {
		perror("aoki bench ipc: sched_getaffinity");
		return 1;
	}
	if (check_cpus(&cfg, &saved) < 0)
		return 1;
	snprintf(cfg.dir, sizeof(cfg.dir), "/tmp/aoki-bench-XXXXXX");
	if (!mkdtemp(cfg.dir)) {
		perror("aoki bench ipc: mkdtemp");
		return 1;
	}
	/* The hogs first, while this process may still run on every CPU. */
	r = cfg.contended ? bench_contend_start(&hogs) : 0;
	if (r < 0)
		fprintf(stderr, "aoki bench ipc: cannot start the CPU hogs: %s\n", strerror(-r));
	else if ((cfg.hogs = (unsigned)r, r = bench_pin(cfg.cli_cpu)) < 0)
		fprintf(stderr, "aoki bench ipc: cannot pin to CPU %d: %s\n", cfg.cli_cpu, strerror(-r));
	else
		r = measure_all(&cfg, &res);
	util_progress_end();
	bench_contend_stop(&hogs);
	sched_setaffinity(0, sizeof(saved), &saved);
	remove_dir(cfg.dir);
	if (r < 0)
		return 1;
	nt = make_targets(&cfg, &res, t);
	print_table(json ? stderr : stdout, &cfg, &res, t, nt);
	if (json)
		print_json(stdout, &cfg, &res, t, nt);
	return 0;
}
