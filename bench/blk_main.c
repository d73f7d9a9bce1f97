/* SPDX-License-Identifier: MIT */
/*
 * blk_main.c - `aoki bench blk`: the workloads, the options, the
 * alternations of each workload, and the entry point, which runs every
 * measurement asked for and prints the results.  The method is
 * described in blk.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aoki/domain.h"
#include "bench.h"
#include "blk.h"
#include "progress.h"
#include "size.h"

const struct workload bb_wls[W_COUNT] = {
	{ "randread_qd1", "randread", 0, 0, 4096, 1 },
	{ "randread_qd32", "randread", 0, 0, 4096, 32 },
	{ "randwrite_qd32", "randwrite", 1, 0, 4096, 32 },
	{ "seqread_qd8", "read", 0, 1, 131072, 8 },
	{ "seqwrite_qd8", "write", 1, 1, 131072, 8 },
};

/* ------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki bench blk [--json] [--file PATH] [--size SIZE] [--runtime SECONDS]\n"
		"                      [--workloads LIST] [--repeat N] [--fairness] [--no-nbd]\n"
		"                      [--poll-us N] [--contended] [--layout process|inproc|both]\n"
		"Measures aoki-blkd against fio's io_uring engine (O_DIRECT, fixed buffers)\n"
		"on the same file, the two alternating per workload:\n"
		"  randread_qd1 randread_qd32 randwrite_qd32 (4 KiB), seqread_qd8 seqwrite_qd8\n"
		"  (128 KiB); the ratio is aoki IOPS / direct IOPS.\n"
		"Beside them, the CPU each side used in its timed window, in percent of one\n"
		"CPU: direct, fio's usr_cpu + sys_cpu of its job; aoki, this process\n"
		"(getrusage RUSAGE_SELF: the client thread, and in-process the server it\n"
		"runs) plus the aoki-blkd process (utime + stime from /proc/PID/stat).\n"
		"The aoki client and server poll up to 200 us, while polling pays, before\n"
		"they sleep (see --poll-us); fio sleeps in io_uring_enter: hence also CPU\n"
		"microseconds per I/O and the CPU/IO ratio, aoki / direct.\n"
		"A compatibility row (not in the ratios): fio's nbd engine through nbdkit and\n"
		"the aoki-blk plugin, randread_qd32.\n"
		"  --json             one JSON object on stdout (the table goes to stderr)\n"
		"  --file PATH        backing file, kept afterwards; created and filled if\n"
		"                     shorter than SIZE; the write workloads overwrite it.\n"
		"                     Default: a temporary file in $TMPDIR (/var/tmp if that\n"
		"                     is tmpfs), removed at the end\n"
		"  --size SIZE        bytes of the file used, K/M/G/T suffixes (default 1G)\n"
		"  --runtime SECONDS  timed window of each side of each workload (default 5),\n"
		"                     after a warm-up of min(1, SECONDS/5) s\n"
		"  --workloads LIST   comma-separated names from the list above, or all\n"
		"  --repeat N         N alternations per workload, medians reported (default 1)\n"
		"  --fairness         a QD1 random reader alone, then beside a QD32 reader on\n"
		"                     another channel: IOPS and p50/p99 latency, against two\n"
		"                     fio jobs.  Without --workloads, only this is run\n"
		"  --no-nbd           skip the nbd row\n"
		"  --poll-us N        how long at most the aoki client and aoki-blkd poll before\n"
		"                     they sleep, in microseconds (aoki_blk_opts.spin_ns and\n"
		"                     aoki-blkd --spin-us; default: theirs, 200).\n"
		"                     --poll-us 0: neither side polls: least CPU, a kernel\n"
		"                     wake-up per completion\n"
		"  --contended        a CPU-bound process of normal priority on every CPU while\n"
		"                     fio and aoki run (target: every ratio >= 0.8; without\n"
		"                     it: aoki CPU per I/O <= 2x fio's at QD32)\n"
		"  --layout L         where aoki-blkd runs, a row per layout:\n"
		"                     process  a process of its own (default);\n"
		"                     inproc   hosted in this process (aoki_host_start), on\n"
		"                              the client's thread: two rows, in a compartment\n"
		"                              (\"unprotected: no PKU\" without PKU) and\n"
		"                              without one (AOKI_HOST_UNISOLATED);\n"
		"                     both     all three (targets in-process: every ratio\n"
		"                              >= 0.95, CPU per I/O <= 1.2x fio's; isolation\n"
		"                              overhead <= 1%%)\n"
		"Needs fio and nbdkit (scripts/deps.sh installs them) and aoki-blkd beside aoki.\n");
}

/* parse_workloads - "all" or comma-separated names into a bit mask. */
static int parse_workloads(const char *s, unsigned *mask)
{
	char buf[256], *tok, *save = NULL;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		if (!strcmp(tok, "all")) {
			*mask |= (1u << W_COUNT) - 1;
			continue;
		}
		for (i = 0; i < W_COUNT && strcmp(tok, bb_wls[i].name); i++)
			;
		if (i == W_COUNT)
			return bb_err("unknown workload '%s'", tok);
		*mask |= 1u << i;
	}
	return *mask ? 0 : -1;
}

/* opt_value - if @argv[*@i] is option @name, as "--name VALUE" or
 * "--name=VALUE", set *@val (NULL when the value is missing), step *@i
 * past it and return 1; else return 0. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

/* Check one option's value; returns 0 or -1 (reported). */
static int opt_check(const char *name, const char *val, int ok)
{
	if (!val)
		return bb_err("%s needs a value (see --help)", name);
	if (!ok)
		return bb_err("%s: bad value '%s' (see --help)", name, val);
	return 0;
}

/* Parse one option with a value at argv[*i]; 0, -1 (bad), 1 (not one). */
static int parse_value_opt(int argc, char **argv, int *i, struct cfg *c)
{
	const char *v;
	char *end;

	if (opt_value(argc, argv, i, "--file", &v)) {
		c->user_file = 1;
		return opt_check("--file", v, v && *v && strlen(v) < sizeof(c->file) &&
				 snprintf(c->file, sizeof(c->file), "%s", v) > 0);
	}
	if (opt_value(argc, argv, i, "--size", &v))
		return opt_check("--size", v, v && !util_parse_size(v, &c->size) &&
				 c->size >= (1u << 20) && c->size % (128u << 10) == 0);
	if (opt_value(argc, argv, i, "--runtime", &v)) {
		c->runtime = v ? strtod(v, &end) : 0;
		return opt_check("--runtime", v, v && !*end && c->runtime >= 0.1 &&
				 c->runtime <= 3600);
	}
	if (opt_value(argc, argv, i, "--repeat", &v)) {
		long n = v ? strtol(v, &end, 10) : 0;

		c->repeat = (unsigned)n;
		return opt_check("--repeat", v, v && !*end && n >= 1 && n <= MAX_REPEAT);
	}
	if (opt_value(argc, argv, i, "--poll-us", &v)) {
		c->poll_us = v ? strtol(v, &end, 10) : 0;
		return opt_check("--poll-us", v, v && isdigit((unsigned char)*v) && !*end &&
				 c->poll_us <= 1000000);
	}
	if (opt_value(argc, argv, i, "--layout", &v)) {
		c->layouts = !v ? 0 : !strcmp(v, "process") ? 1u << L_PROCESS :
			     !strcmp(v, "inproc") ? LAYOUT_INPROC : !strcmp(v, "both") ? LAYOUT_ALL : 0;
		return opt_check("--layout", v, c->layouts != 0);
	}
	if (opt_value(argc, argv, i, "--workloads", &v)) {
		c->run_wl = 1;
		return opt_check("--workloads", v, v && !parse_workloads(v, &c->wl_mask));
	}
	return 1;
}

/* Returns 0 to run, 1 to exit 0 (--help), -1 to exit 2 (bad usage). */
static int parse_args(int argc, char **argv, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->repeat = 1;
	c->runtime = 5;
	c->size = 1ull << 30;
	c->wl_mask = (1u << W_COUNT) - 1;
	c->poll_us = -1;
	c->layouts = 1u << L_PROCESS;
	for (int i = 1; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "--json")) {
			c->json = 1;
		} else if (!strcmp(argv[i], "--fairness")) {
			c->fairness = 1;
		} else if (!strcmp(argv[i], "--no-nbd")) {
			c->no_nbd = 1;
		} else if (!strcmp(argv[i], "--contended")) {
			c->contended = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		} else if ((r = parse_value_opt(argc, argv, &i, c)) < 0) {
			return -1;
		} else if (r > 0) {
			bb_err("unknown option '%s'", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	c->run_wl |= !c->fairness;
	c->warmup = c->runtime / 5 < 1 ? c->runtime / 5 : 1;
	return 0;
}

/* ------------------------------------------------------------ workloads */

/* progress - the progress line: @side of workload @w is measured. */
static void progress(const struct workload *w, const char *side, const struct cfg *c,
		     unsigned rep)
{
	char what[96];

	if (c->repeat > 1)
		snprintf(what, sizeof(what), "%s %s (%u/%u)", w->name, side, rep + 1, c->repeat);
	else
		snprintf(what, sizeof(what), "%s %s", w->name, side);
	bb_progress(what);
}

/* The short names of the layouts on the progress line. */
static const char *const layout_short[L_COUNT] = { "process", "inproc", "inproc-unisolated" };

/* median_of - the median of the figure at byte @off of @n rates @v. */
static double median_of(const struct rate *v, unsigned n, size_t off)
{
	double col[MAX_REPEAT];

	for (unsigned k = 0; k < n; k++)
		memcpy(&col[k], (const char *)&v[k] + off, sizeof(col[k]));
	return bb_median(col, n);
}

/* median_rate - each figure of @n rates @v, the median of its own. */
static struct rate median_rate(const struct rate *v, unsigned n)
{
	return (struct rate){
		.iops = median_of(v, n, offsetof(struct rate, iops)),
		.mbps = median_of(v, n, offsetof(struct rate, mbps)),
		.cpu_pct = median_of(v, n, offsetof(struct rate, cpu_pct)),
		.cli_pct = median_of(v, n, offsetof(struct rate, cli_pct)),
		.srv_pct = median_of(v, n, offsetof(struct rate, srv_pct)),
		.cpu_us_io = median_of(v, n, offsetof(struct rate, cpu_us_io)),
	};
}

/* measure_workload - @c->repeat alternations of direct and aoki in each
 * layout asked for, for workload @wi; medians into @res.  0 or -1. */
static int measure_workload(const struct cfg *c, unsigned wi, struct results *res)
{
	const struct workload *w = &bb_wls[wi];
	struct rate (*v)[MAX_REPEAT] = calloc(1 + L_COUNT, sizeof(*v));
	int r = v ? 0 : bb_err("out of memory");

	/* v[0]: direct; v[1 + L_*]: aoki in that layout */
	for (unsigned k = 0; r == 0 && k < c->repeat; k++) {
		progress(w, "direct", c, k);
		if ((r = bb_run_fio(c, w, NULL, &v[0][k])) < 0)
			break;
		bb_progress_done("direct", &v[0][k]);
		/* the layouts in turn, the order reversed every other round so
		 * that none always runs right after fio */
		for (int n = 0; r == 0 && n < L_COUNT; n++) {
			int l = k % 2 ? L_COUNT - 1 - n : n;

			if (!(c->layouts & (1u << l)))
				continue;
			progress(w, layout_short[l], c, k);
			r = bb_aoki_once(c, w, l, &v[1 + l][k], res);
			if (r == 0)
				bb_progress_done(layout_short[l], &v[1 + l][k]);
		}
	}
	if (r == 0) {
		res->direct[wi] = median_rate(v[0], c->repeat);
		for (int l = 0; l < L_COUNT; l++)
			if (c->layouts & (1u << l))
				res->aoki[l][wi] = median_rate(v[1 + l], c->repeat);
	}
	free(v);
	return r;
}

/* ----------------------------------------------------------------- main */

/* measure_all - every measurement asked for. */
static int measure_all(const struct cfg *c, struct results *res)
{
	for (unsigned i = 0; c->run_wl && i < W_COUNT; i++)
		if ((c->wl_mask & (1u << i)) && measure_workload(c, i, res) < 0)
			return -1;
	if (c->run_wl && !c->no_nbd)
		bb_nbd_run(c, res);
	if (c->fairness && bb_fairness_run(c, res) < 0)
		return -1;
	return 0;
}

/* run_all - prepare the file, then (with --contended, beside the CPU
 * hogs) every measurement asked for. */
static int run_all(struct cfg *c, struct results *res)
{
	struct bench_contend *hogs;
	int r;

	if (bb_file_prepare(c) < 0)
		return -1;
	bb_machine_describe(c);
	bb_fio_version(c, c->fio_version, sizeof(c->fio_version));
	res->aoki_direct = 1;
	if (c->layouts & LAYOUT_INPROC) {
		/* a hosted server's configuration is split at white space, with
		 * no quoting (aoki/host.h) */
		if (strpbrk(c->file, " \t\n"))
			return bb_err("--layout %s: the path %s holds a blank, which a hosted "
				      "server's configuration cannot carry",
				      c->layouts == LAYOUT_ALL ? "both" : "inproc", c->file);
		/* what aoki_host_start would do first: here, so that its notice
		 * (no PKU) comes before the progress line, and the rows know */
		r = aoki_domain_init(0);
		if (r < 0)
			return bb_err("aoki_domain_init: %s", strerror(-r));
		res->isolated = aoki_domain_isolated();
	}
	if (!c->contended)
		return measure_all(c, res);
	hogs = malloc(sizeof(*hogs));
	r = hogs ? bench_contend_start(hogs) : -ENOMEM;
	if (r < 0) {
		free(hogs);
		return bb_err("--contended: cannot start the CPU hogs: %s", strerror(-r));
	}
	c->hogs = (unsigned)r;
	r = measure_all(c, res);
	bench_contend_stop(hogs);
	free(hogs);
	return r;
}

int bench_blk_main(int argc, char **argv)
{
	struct sigaction old[3];
	struct results *res;
	struct cfg *c = malloc(sizeof(*c));
	int r = c ? parse_args(argc, argv, c) : -1;

	if (r) {
		free(c);
		return r > 0 ? 0 : 2;
	}
	res = calloc(1, sizeof(*res));
	if (!res || bb_find_tools(c) < 0 || bb_setup_dir(c) < 0) {
		free(res);
		free(c);
		return 1;
	}
	bb_signals_set(old, 0);
	r = run_all(c, res);
	util_progress_end();
	bb_stop_child(PID_NBDKIT);
	bb_stop_child(PID_BLKD);
	bb_cleanup_files();
	memset(&bb_cl, 0, sizeof(bb_cl));
	bb_signals_set(old, 1);
	if (r == 0) {
		bb_print_table(c->json ? stderr : stdout, c, res);
		if (c->json)
			bb_print_json(stdout, c, res);
	}
	r = r < 0 || res->nbd_state == NBD_FAILED;
	free(res);
	free(c);
	return r;
}
