/* SPDX-License-Identifier: MIT */
/*
 * domain.c - `aoki bench domain [--json] [--quick]`: the cost of a
 * compartment gate round trip, protected (aoki_domain_call) and light
 * (aoki_domain_call_light), next to its baselines, in the same run:
 *   - a plain indirect call (the floor),
 *   - a getppid() system call (the cheapest kernel entry),
 *   - an aoki IPC call to the echo server in another process.
 * Each is measured in TSC cycles (rdtsc) and in ns (CLOCK_MONOTONIC);
 * the best of several rounds is reported.  Where the numbers come from
 * (PKU hardware, an emulator, or the unprotected mode) is printed with
 * them: emulated PKU (QEMU TCG) is meaningless for speed, and in the
 * unprotected mode a gate is only a stack switch.  The target (a gate
 * round trip of at most 120 cycles) is reported, never asserted, and
 * only on PKU hardware.
 *
 * `--calls gate|light|indirect N` only makes N calls, untimed: for
 * counting instructions with valgrind --tool=callgrind (the difference
 * between two N, divided by their difference, is one round trip).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "aoki/domain.h"
#include "aoki/ipc.h"
#include "bench.h"
#include "echo.h"

struct cost {
	double cycles;
	double ns;
};

static long noop(void *arg)
{
	return (long)arg;
}

static long (*volatile indirect)(void *) = noop;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t tsc(void)
{
	unsigned aux;

	/* rdtscp waits for the work before it; lfence keeps later work from
	 * starting before the read. */
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}

enum what { W_GATE, W_GATE_LIGHT, W_INDIRECT, W_GETPPID, W_IPC, W_COUNT };

struct ctx {
	struct aoki_domain *d;
	struct aoki_chan *ch;
};

static int run(enum what w, struct ctx *c, long n)
{
	long sink = 0;
	uint64_t v = 42, rep;

	for (long i = 0; i < n; i++) {
		switch (w) {
		case W_GATE:
			sink += aoki_domain_call(c->d, noop, (void *)i);
			break;
		case W_GATE_LIGHT:
			sink += aoki_domain_call_light(c->d, noop, (void *)i);
			break;
		case W_INDIRECT:
			sink += indirect((void *)i);
			break;
		case W_GETPPID:
			sink += getppid();
			break;
		case W_COUNT:
			break;
		case W_IPC:
			if (aoki_call(c->ch, ECHO_OP_ECHO, &v, sizeof(v), &rep, sizeof(rep), NULL) < 0)
				return -1;
			break;
		}
	}
	__asm__ volatile("" :: "r"(sink));
	return 0;
}

/* Best of @rounds rounds of @n operations. */
static int measure(enum what w, struct ctx *c, long n, int rounds, struct cost *out)
{
	out->cycles = out->ns = 1e300;
	if (run(w, c, n / 10 + 1) < 0)	/* warm up */
		return -1;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();
		uint64_t c0 = tsc();

		if (run(w, c, n) < 0)
			return -1;
		uint64_t c1 = tsc();
		double t1 = now_ns();

		if ((double)(c1 - c0) / n < out->cycles)
			out->cycles = (double)(c1 - c0) / n;
		if ((t1 - t0) / n < out->ns)
			out->ns = (t1 - t0) / n;
	}
	return 0;
}

/* QEMU's TCG announces itself as hypervisor "TCGTCGTCGTCG". */
static int emulated(void)
{
	unsigned a, b, c, d;
	char sig[13];

	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31)))
		return 0;
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	return !strcmp(sig, "TCGTCGTCGTCG");
}

static int start_echo(struct ctx *c, char *dir, size_t cap, pid_t *pid)
{
	struct echo_opts eo = { .workers = 1, .cpu = -1, .quiet = 1 };
	char port[128];
	int r;

	snprintf(dir, cap, "/tmp/aoki-bench-domain-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(port, sizeof(port), "%s/echo.sock", dir);
	r = echo_server_spawn(port, &eo, pid);
	if (r < 0)
		return r;
	r = aoki_connect(port, NULL, &c->ch);
	if (r < 0) {
		echo_server_stop(*pid);
		return r;
	}
	return 0;
}

/* --calls KIND N: N untimed calls, for an instruction counter. */
static int calls_only(struct ctx *c, const char *kind, const char *count)
{
	static const struct { const char *name; enum what w; } kinds[] = {
		{ "gate", W_GATE }, { "light", W_GATE_LIGHT }, { "indirect", W_INDIRECT },
	};
	long n = atol(count);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i].name) && n > 0)
			return run(kinds[i].w, c, n) < 0 ? 1 : 0;
	fprintf(stderr, "aoki bench domain: --calls gate|light|indirect N\n");
	return 2;
}

int bench_domain_main(int argc, char **argv)
{
	static const char *names[W_COUNT] = { "gate round trip", "light gate round trip",
					      "indirect call", "getppid syscall",
					      "aoki IPC call (echo)" };
	static const char *keys[W_COUNT] = { "gate", "gate_light", "indirect_call", "getppid",
					     "ipc_call" };
	struct cost cost[W_COUNT];
	int have[W_COUNT] = { 1, 1, 1, 1, 0 };
	int json = 0, quick = 0, r, emu;
	const char *calls_kind = NULL, *calls_n = NULL;
	struct ctx c = { 0 };
	const char *mode;
	char dir[64] = "";
	pid_t pid = -1;
	long n;
	FILE *tbl;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (!strcmp(argv[i], "--calls") && i + 2 < argc) {
			calls_kind = argv[++i];
			calls_n = argv[++i];
		} else {
			printf("Usage: aoki bench domain [--json] [--quick]\n"
			       "  gate round trip vs indirect call vs getppid vs aoki IPC call\n"
			       "  --json   one JSON object on stdout (the table goes to stderr)\n"
			       "  --quick  fewer iterations\n"
			       "  --calls gate|light|indirect N\n"
			       "           only N calls, untimed (count instructions with callgrind)\n");
			return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
		}
	}
	tbl = json ? stderr : stdout;
	r = aoki_domain_init(AOKI_DOMAIN_QUIET);
	if (r == 0)
		r = aoki_domain_create("bench", NULL, &c.d);
	if (r < 0) {
		fprintf(stderr, "aoki bench domain: %s\n", strerror(-r));
		return 1;
	}
	if (calls_kind) {
		/* The thread's first gate allocates: not part of the count. */
		aoki_domain_call(c.d, noop, NULL);
		r = calls_only(&c, calls_kind, calls_n);
		aoki_domain_destroy(c.d);
		return r;
	}
	emu = emulated();
	mode = !aoki_domain_isolated() ? "unprotected" : emu ? "pku-emulated" : "pku-hardware";
	n = quick ? 20000 : 1000000;

	if (measure(W_GATE, &c, n, 5, &cost[W_GATE]) < 0 ||
	    measure(W_GATE_LIGHT, &c, n, 5, &cost[W_GATE_LIGHT]) < 0 ||
	    measure(W_INDIRECT, &c, n, 5, &cost[W_INDIRECT]) < 0 ||
	    measure(W_GETPPID, &c, n, 5, &cost[W_GETPPID]) < 0) {
		fprintf(stderr, "aoki bench domain: measurement failed\n");
		return 1;
	}
	r = start_echo(&c, dir, sizeof(dir), &pid);
	if (r == 0 && measure(W_IPC, &c, quick ? 2000 : 100000, 3, &cost[W_IPC]) == 0)
		have[W_IPC] = 1;
	else
		fprintf(stderr, "aoki bench domain: IPC baseline not measured (%s)\n",
			r < 0 ? strerror(-r) : "call failed");
	if (c.ch)
		aoki_close(c.ch);
	if (pid > 0)
		echo_server_stop(pid);
	if (dir[0])
		rmdir(dir);

	fprintf(tbl, "aoki bench domain: mode %s\n", mode);
	if (!strcmp(mode, "unprotected"))
		fprintf(tbl, "  NOTE: no PKU here: compartments are NOT isolated; both gates are the same\n"
			     "  stack switch, without the wrpkru writes (four protected, two light)\n"
			     "  they cost on PKU hardware.\n");
	else if (emu)
		fprintf(tbl, "  NOTE: EMULATED PKU (QEMU TCG): these numbers are meaningless for speed.\n");
	fprintf(tbl, "  %-24s %12s %12s\n", "operation", "cycles", "ns");
	for (int i = 0; i < W_COUNT; i++) {
		if (have[i])
			fprintf(tbl, "  %-24s %12.1f %12.1f\n", names[i], cost[i].cycles, cost[i].ns);
		else
			fprintf(tbl, "  %-24s %12s %12s\n", names[i], "-", "-");
	}
	if (!strcmp(mode, "pku-hardware"))
		fprintf(tbl, "  target: gate round trip <= 120 cycles: protected %s (%.1f), light %s (%.1f)\n",
			cost[W_GATE].cycles <= 120 ? "met" : "NOT met", cost[W_GATE].cycles,
			cost[W_GATE_LIGHT].cycles <= 120 ? "met" : "NOT met", cost[W_GATE_LIGHT].cycles);
	else
		fprintf(tbl, "  target: gate round trip <= 120 cycles: not applicable (%s)\n", mode);

	if (json) {
		printf("{\"bench\":\"domain\",\"mode\":\"%s\",\"emulated\":%s,\"isolated\":%s",
		       mode, emu ? "true" : "false", aoki_domain_isolated() ? "true" : "false");
		for (int i = 0; i < W_COUNT; i++) {
			if (!have[i])
				continue;
			printf(",\"%s_cycles\":%.1f,\"%s_ns\":%.1f", keys[i], cost[i].cycles, keys[i], cost[i].ns);
		}
		if (!strcmp(mode, "pku-hardware"))
			printf(",\"gate_target_cycles\":120,\"gate_target_met\":%s"
			       ",\"gate_light_target_met\":%s",
			       cost[W_GATE].cycles <= 120 ? "true" : "false",
			       cost[W_GATE_LIGHT].cycles <= 120 ? "true" : "false");
		printf("}\n");
	}
	aoki_domain_destroy(c.d);
	return 0;
}
