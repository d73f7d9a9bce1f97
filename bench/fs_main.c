/* SPDX-License-Identifier: MIT */
/*
 * fs_main.c - `aoki bench fs`: the workloads, the options, the runs (each
 * side in turn on a fresh image, every workload in order), the medians,
 * and the entry point.  The method is described in fs.h.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blk.h"
#include "fs.h"
#include "progress.h"

const struct bf_workload bf_wls[WL_COUNT] = {
	[WL_SEQWRITE] = { "seqwrite_1m", "MiB/s" },
	[WL_SEQREAD] = { "seqread_1m", "MiB/s" },
	[WL_RANDREAD] = { "randread_4k_qd32", "IOPS" },
	[WL_RANDWRITE] = { "randwrite_4k_qd32", "IOPS" },
	[WL_CREATE] = { "create", "files/s" },
	[WL_CREATE_FSYNC] = { "create_fsync", "files/s" },
	[WL_STAT] = { "stat", "stats/s" },
	[WL_UNLINK] = { "unlink", "files/s" },
	[WL_READDIR] = { "readdir_10k", "entries/s" },
};

const char *const bf_side_names[BF_SIDES] = { "kernel", "fuse2fs", "aoki", "aoki_fuse",
					       "aoki_inproc", "aoki_unisolated" };

/* ------------------------------------------------------------ messages */

int bf_err(const char *fmt, ...)
{
	va_list ap;

	util_progress_end();
	fprintf(stderr, BF_PFX ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static char last_fig[96];	/* the figure measured last, for the progress line */

void bf_progress(const struct bf_cfg *c, int side, unsigned run, const char *what)
{
	util_progress("bench fs: run %u/%u, %s: %s%s%s", run + 1, c->runs, bf_side_names[side],
		      what, last_fig[0] ? "; last: " : "", last_fig);
}

void bf_progress_fig(int wl, const struct bf_fig *f)
{
	snprintf(last_fig, sizeof(last_fig), "%s %.1f %s, %.2f us CPU/op", bf_wls[wl].name, f->v,
		 bf_wls[wl].unit, f->cpu_us);
}

double bf_srv_cpu_s(const struct bf_side *s)
{
	double t = 0;

	for (int i = 0; i < 3; i++)
		if (s->srv[i] > 0)
			t += bb_proc_cpu_s(s->srv[i]);
	return t;
}

/* ------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki bench fs [--json] [--quick] [--size MiB] [--runs N] [--fuse]\n"
		"                     [--layout process|inproc|both]\n"
		"Measures aoki-fsd (on aoki-blkd) against the kernel's ext4 (a loop device\n"
		"with direct I/O) and fuse2fs, each on a fresh ext4 image (mke2fs -t ext4\n"
		"-b 4096) in a private directory under $TMPDIR (else /var/tmp):\n"
		"  seqwrite_1m seqread_1m (MiB/s, 1 MiB, QD8), randread_4k_qd32\n"
		"  randwrite_4k_qd32 (IOPS): fio io_uring O_DIRECT on the mounts, one\n"
		"  aoki_fs_submit/reap client thread on aoki;\n"
		"  create create_fsync stat unlink readdir_10k: one metadata driver, POSIX\n"
		"  calls on the mounts, <aoki/fs.h> calls on aoki.\n"
		"Ratios are aoki / kernel and aoki / fuse2fs; CPU per operation counts the\n"
		"client (fio, the driver thread) and the servers (fuse2fs; aoki-blkd and\n"
		"aoki-fsd).  Needs root for the kernel row (losetup, mount) and /dev/fuse\n"
		"for fuse2fs; a row that cannot run is skipped (null in JSON).\n"
		"  --json       one JSON object on stdout (the table goes to stderr)\n"
		"  --quick      512 MiB images, shorter windows, fewer files\n"
		"  --size MiB   bytes of each image (default 2048; the data file is half)\n"
		"  --runs N     runs of everything, medians reported (default 3)\n"
		"  --fuse       also aoki-fsd through aoki-fuse (its FUSE mount): the fio\n"
		"               and POSIX metadata workloads there, as on the kernel and\n"
		"               fuse2fs, with its ratios and targets (CPU adds aoki-fuse)\n"
		"  --layout L   where aoki-blkd and aoki-fsd run, a table per layout:\n"
		"               process  their own processes (default);\n"
		"               inproc   hosted in this process (<aoki/host.h>), their turns\n"
		"                        run by the client thread: two tables, each\n"
		"                        server in a compartment (\"unprotected\" without\n"
		"                        PKU) and without one (AOKI_HOST_UNISOLATED);\n"
		"               both     all three, the in-process ones with their ratios\n"
		"                        to the process layout\n");
}

static int parse_args(int argc, char **argv, struct bf_cfg *c)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "fuse", no_argument, NULL, 'f' },
		{ "layout", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long size = 0, runs = 3;
	char *end;
	int o;

	optind = 1;
	c->layouts = BF_LAYOUT_PROCESS;
	while ((o = getopt_long(argc, argv, "jqs:r:fl:h", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			c->layouts = !strcmp(optarg, "process") ? BF_LAYOUT_PROCESS :
				     !strcmp(optarg, "inproc") ? BF_LAYOUT_INPROC :
				     !strcmp(optarg, "both") ? BF_LAYOUT_PROCESS | BF_LAYOUT_INPROC : 0;
			if (!c->layouts)
				return bf_err("--layout: process, inproc or both, not '%s'", optarg);
			break;
		case 'f':
			c->fuse = 1;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'q':
			c->quick = 1;
			break;
		case 's':
			size = strtoul(optarg, &end, 10);
			if (*end || size < 256 || size > (1ul << 20))
				return bf_err("--size: MiB from 256 to 1048576, not '%s'", optarg);
			break;
		case 'r':
			runs = strtoul(optarg, &end, 10);
			if (*end || runs < 1 || runs > BF_MAX_RUNS)
				return bf_err("--runs: 1 to %d, not '%s'", BF_MAX_RUNS, optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	c->runs = (unsigned)runs;
	c->image = (uint64_t)(size ? size : c->quick ? 512 : 2048) << 20;
	c->file = c->image / 2;
	c->runtime = c->quick ? 2 : 5;
	c->warmup = c->quick ? 0.5 : 1;
	c->n_create = c->quick ? 2000 : 5000;
	c->n_fsync = c->quick ? 50 : 200;
	c->n_dir = 10000;
	c->n_list = c->quick ? 3 : 5;
	return 0;
}

/* ---------------------------------------------------------------- runs */

/* run_side - one run of every workload on a fresh file system of @side,
 * figures into @fig (left NAN where one fails).  0, or -1 if any failed. */
static int run_side(struct bf_cfg *c, int side, unsigned run, struct bf_fig fig[WL_COUNT])
{
	struct bf_side s;
	int ret = 0, meta = 0;
	char what[64];

	snprintf(what, sizeof(what), "fresh %llu MiB image", (unsigned long long)(c->image >> 20));
	bf_progress(c, side, run, what);
	if (bf_side_up(c, side, &s) < 0) {
		bf_side_down(c, &s);
		return -1;
	}
	if (side == BF_FUSE && !s.fio_direct)
		snprintf(c->fuse_note, sizeof(c->fuse_note),
			 "O_DIRECT refused on the fuse2fs mount: its fio rows are buffered (direct=0)");
	if (side == BF_AOKI_FUSE && !s.fio_direct)
		snprintf(c->aoki_fuse_note, sizeof(c->aoki_fuse_note),
			 "O_DIRECT refused on the aoki-fuse mount: its fio rows are buffered "
			 "(direct=0)");
	for (int wl = WL_SEQWRITE; wl <= WL_RANDWRITE; wl++) {
		bf_progress(c, side, run, bf_wls[wl].name);
		if (bf_data(c, &s, wl, &fig[wl]) < 0)
			ret = -1;
		else
			bf_progress_fig(wl, &fig[wl]);
	}
	if (bf_meta_begin(c, &s) < 0) {
		ret = -1;
		goto out;
	}
	meta = 1;
	for (int wl = WL_CREATE; wl < WL_COUNT; wl++) {
		bf_progress(c, side, run, bf_wls[wl].name);
		if (bf_meta(c, &s, wl, &fig[wl]) < 0)
			ret = -1;
		else
			bf_progress_fig(wl, &fig[wl]);
	}
out:
	if (meta)
		bf_meta_end(&s);
	bf_side_down(c, &s);
	return ret;
}

/* median_of - the median of the finite values among @n; NAN if none. */
static double median_of(const double *v, unsigned n)
{
	double tmp[BF_MAX_RUNS];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		if (isfinite(v[i]))
			tmp[k++] = v[i];
	return k ? bb_median(tmp, k) : NAN;
}

int bench_fs_main(int argc, char **argv)
{
	static struct bf_fig figs[BF_MAX_RUNS][BF_SIDES][WL_COUNT];
	struct bf_cfg c = { 0 };
	struct bf_results res;
	int failed = 0;

	if (parse_args(argc, argv, &c) < 0)
		return 2;
	bf_signals();
	if (bf_prepare(&c) < 0) {
		bf_cleanup_all();
		return 1;
	}
	for (unsigned r = 0; r < c.runs; r++)
		for (int s = 0; s < BF_SIDES; s++) {
			for (int w = 0; w < WL_COUNT; w++)
				figs[r][s][w] = (struct bf_fig){ NAN, NAN };
			if (c.have[s] && run_side(&c, s, r, figs[r][s]) < 0)
				failed = 1;
		}
	util_progress_end();
	bf_cleanup_all();
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	for (int s = 0; s < BF_SIDES; s++)
		for (int w = 0; w < WL_COUNT; w++) {
			double v[BF_MAX_RUNS], u[BF_MAX_RUNS];

			for (unsigned r = 0; r < c.runs; r++) {
				v[r] = figs[r][s][w].v;
				u[r] = figs[r][s][w].cpu_us;
			}
			res.med[s][w].v = median_of(v, c.runs);
			res.med[s][w].cpu_us = median_of(u, c.runs);
		}
	bf_print_table(c.json ? stderr : stdout, &c, &res);
	if (c.json)
		bf_print_json(stdout, &c, &res);
	if (failed)
		bf_err("some figures could not be measured (see above)");
	return failed;
}
