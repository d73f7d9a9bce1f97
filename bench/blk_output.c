/* SPDX-License-Identifier: MIT */
/* blk_output.c - `aoki bench blk`: the results as a table and as one
 * JSON object. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "blk.h"

/* --------------------------------------------------------------- output */

/* The JSON names of the --fairness figures, by F_*. */
static const char *const fair_keys[F_COUNT] = {
	"qd1_alone_iops", "qd1_alone_p50_us", "qd1_alone_p99_us", "qd1_shared_iops",
	"qd1_shared_p50_us", "qd1_shared_p99_us", "qd32_shared_iops",
};

static void size_str(uint64_t size, char *out, size_t cap)
{
	if (size % (1ull << 30) == 0)
		snprintf(out, cap, "%llu GiB", (unsigned long long)(size >> 30));
	else
		snprintf(out, cap, "%llu MiB", (unsigned long long)(size >> 20));
}

static void print_header(FILE *f, const struct cfg *c, const struct results *r)
{
	char sz[32];

	size_str(c->size, sz, sizeof(sz));
	fprintf(f, "aoki bench blk: %s, %ld CPUs, Linux %s, %s\n", c->cpu, c->nproc, c->kernel,
		c->fio_version);
	fprintf(f, "file %s (%s), %s used; %g s per side after %g s warm-up", c->file, c->fs, sz,
		c->runtime, c->warmup);
	if (c->repeat > 1)
		fprintf(f, "; median of %u", c->repeat);
	if (c->poll_us < 0)
		fprintf(f, "; aoki polls up to 200 us (default)");
	else if (c->poll_us == 0)
		fprintf(f, "; aoki does not poll (--poll-us 0)");
	else
		fprintf(f, "; aoki polls %ld us (--poll-us %ld)", c->poll_us, c->poll_us);
	fprintf(f, "\n");
	if (c->layouts != 1u << L_PROCESS) {
		fprintf(f, "layouts:");
		for (int l = 0; l < L_COUNT; l++)
			if (c->layouts & (1u << l))
				fprintf(f, "%s %s", l && (c->layouts & ((1u << l) - 1)) ? "," : "",
					bb_layout_name(l, r->isolated));
		fprintf(f, " (in-process: hosted by aoki_host_start, served on the client's "
			"thread)\n");
	}
	if (c->contended)
		fprintf(f, "contended: a CPU-bound process of normal priority on each of %u CPUs "
			"during fio and aoki alike\n", c->hogs);
}

/* cpu_cell - the CPU use of aoki rate @a in layout @l into @out: "client +
 * server = all" (process), "all (one process)" (in-process), or "-". */
static const char *cpu_cell(int l, const struct rate *a, char *out, size_t cap)
{
	if (!isfinite(a->cpu_pct))
		return "-";
	if (l == L_PROCESS)
		snprintf(out, cap, "%.1f + %.1f = %.1f", a->cli_pct, a->srv_pct, a->cpu_pct);
	else
		snprintf(out, cap, "%.1f (one process)", a->cpu_pct);
	return out;
}

/* print_rows - per workload, fio's row, then one per layout measured:
 * IOPS, MB/s, ratio to fio's IOPS, CPU and CPU per I/O, ratio to fio's. */
static void print_rows(FILE *f, const struct cfg *c, const struct results *r)
{
	char cell[64], fcell[32];

	fprintf(f, "%-15s %-28s %9s %8s %6s %22s %7s %6s\n", "workload", "side", "IOPS", "MB/s",
		"ratio", "CPU% (client+server)", "us/IO", "CPU/IO");
	for (unsigned i = 0; i < W_COUNT; i++) {
		const struct rate *d = &r->direct[i];

		if (!(c->wl_mask & (1u << i)))
			continue;
		snprintf(fcell, sizeof(fcell), "%.1f", d->cpu_pct);
		fprintf(f, "%-15s %-28s %9.0f %8.1f %6s %22s %7.2f %6s\n", bb_wls[i].name,
			"fio (direct)", d->iops, d->mbps, "1", fcell, d->cpu_us_io, "1");
		for (int l = 0; l < L_COUNT; l++) {
			const struct rate *a = &r->aoki[l][i];

			if (!(c->layouts & (1u << l)))
				continue;
			fprintf(f, "%-15s %-28s %9.0f %8.1f %6.3f %22s %7.2f %6.3f\n", "",
				bb_layout_name(l, r->isolated), a->iops, a->mbps,
				a->iops / d->iops, cpu_cell(l, a, cell, sizeof(cell)),
				a->cpu_us_io, a->cpu_us_io / d->cpu_us_io);
		}
	}
	fprintf(f, "fio: io_uring, O_DIRECT, fixed buffers; aoki-blkd rows: one client thread, "
		"aoki_blk_submit/reap; ratio = IOPS / fio's IOPS\n"
		"CPU%%: of one CPU over the timed window; fio: its usr_cpu + sys_cpu; aoki: this "
		"process (getrusage\nRUSAGE_SELF: client thread, and in-process the server it runs) "
		"+ the aoki-blkd process (utime + stime,\n/proc/PID/stat); us/IO: CPU time per I/O; "
		"CPU/IO = us/IO / fio's us/IO (aoki %s, fio sleeps\nin io_uring_enter)\n",
		c->poll_us ? "polls" : "sleeps at once");
	if (!r->aoki_direct)
		fprintf(f, "warning: aoki-blkd opened the file without O_DIRECT (buffered I/O): "
			"the ratios compare different paths\n");
	if (r->recoveries)
		fprintf(f, "warning: the hosted aoki-blkd recovered from %llu fault(s): the "
			"in-process rows include rebuilds\n", (unsigned long long)r->recoveries);
}

static void print_fairness(FILE *f, const struct results *r)
{
	static const char *const rows[] = { "QD1 alone", "QD1 beside QD32" };
	const double *d = r->fair[SIDE_DIRECT], *a = r->fair[SIDE_AOKI];

	fprintf(f, "fairness, randread 4 KiB (direct: two fio jobs; aoki: two channels):\n"
		"%-18s %11s %8s %8s %11s %8s %8s\n", "", "direct IOPS", "p50 us", "p99 us",
		"aoki IOPS", "p50 us", "p99 us");
	for (unsigned i = 0; i < 2; i++) {
		unsigned k = i ? F_SHARED_IOPS : F_ALONE_IOPS;

		fprintf(f, "%-18s %11.0f %8.1f %8.1f %11.0f %8.1f %8.1f\n", rows[i], d[k],
			d[k + 1], d[k + 2], a[k], a[k + 1], a[k + 2]);
	}
	fprintf(f, "%-18s %11.0f %8s %8s %11.0f\n", "QD32 neighbour", d[F_QD32_IOPS], "", "",
		a[F_QD32_IOPS]);
}

/* is_qd32 - does workload @i keep 32 requests in flight? */
static int is_qd32(unsigned i)
{
	return bb_wls[i].qd == 32;
}

/* target_row - one target: @name (workload @wi's name, then @suffix),
 * value @v, goal @goal, met or MISSED, and a note. */
static void target_row(FILE *f, unsigned wi, const char *suffix, double v, const char *goal,
		       int met, const char *note)
{
	char name[96];

	snprintf(name, sizeof(name), "%s%s", bb_wls[wi].name, suffix);
	fprintf(f, "%-42s %10.3f  %-8s %s%s\n", name, v, goal, met ? "met" : "MISSED", note);
}

/* process_targets - the process layout's goals: contended, every IOPS
 * ratio >= 0.8; not contended, CPU per I/O at most twice fio's at QD32. */
static void process_targets(FILE *f, const struct cfg *c, const struct results *r, unsigned i)
{
	const struct rate *a = &r->aoki[L_PROCESS][i], *d = &r->direct[i];
	double v;

	if (c->contended) {
		v = a->iops / d->iops;
		target_row(f, i, "_ratio", v, ">= 0.8", v >= 0.8, "");
	} else if (is_qd32(i)) {
		v = a->cpu_us_io / d->cpu_us_io;
		target_row(f, i, "_cpu_per_io_ratio", v, "<= 2", v <= 2, "");
	}
}

/* inproc_targets - issue 14's goals for the in-process layout: IOPS >=
 * 0.95x fio's and CPU per I/O <= 1.2x fio's on every workload; with both
 * in-process rows, the isolation's cost (1 - isolated / unisolated IOPS)
 * <= 1 %, which only a PKU machine measures. */
static void inproc_targets(FILE *f, const struct cfg *c, const struct results *r, unsigned i)
{
	const struct rate *a = &r->aoki[L_INPROC][i], *u = &r->aoki[L_UNISOLATED][i];
	const struct rate *d = &r->direct[i];
	double v;

	if (c->layouts & (1u << L_INPROC)) {
		v = a->iops / d->iops;
		target_row(f, i, "_inproc_ratio", v, ">= 0.95", v >= 0.95, "");
		v = a->cpu_us_io / d->cpu_us_io;
		target_row(f, i, "_inproc_cpu_per_io_ratio", v, "<= 1.2", v <= 1.2, "");
	}
	if ((c->layouts & LAYOUT_INPROC) == LAYOUT_INPROC) {
		v = 1 - a->iops / u->iops;
		target_row(f, i, "_isolation_overhead", v, "<= 0.01", v <= 0.01,
			   r->isolated ? "" : " (no PKU: unprotected, not the target's measure)");
	}
}

/* print_targets - the goals, met or MISSED (reported, never asserted). */
static void print_targets(FILE *f, const struct cfg *c, const struct results *r)
{
	fprintf(f, "%-42s %10s  %-8s %s\n", "target", "value", "goal", "result");
	for (unsigned i = 0; i < W_COUNT; i++) {
		if (!(c->wl_mask & (1u << i)))
			continue;
		if (c->layouts & (1u << L_PROCESS))
			process_targets(f, c, r, i);
		inproc_targets(f, c, r, i);
	}
}

void bb_print_table(FILE *f, const struct cfg *c, const struct results *r)
{
	print_header(f, c, r);
	if (c->run_wl) {
		print_rows(f, c, r);
		print_targets(f, c, r);
	}
	if (r->nbd_state == NBD_OK)
		fprintf(f, "nbd (compatibility, not in the ratios): fio nbd engine -> nbdkit -> "
			"aoki-blk plugin, randread_qd32: %.0f IOPS, %.1f MB/s\n",
			r->nbd.iops, r->nbd.mbps);
	else if (r->nbd_state != NBD_OFF)
		fprintf(f, "nbd: %s (%s)\n", r->nbd_state == NBD_SKIPPED ? "skipped" : "failed",
			r->nbd_why);
	if (c->fairness)
		print_fairness(f, r);
}

static void json_sep(FILE *f, const char *key, int *first)
{
	fprintf(f, "%s\n  \"%s\": ", *first ? "" : ",", key);
	*first = 0;
}

static void json_num(FILE *f, const char *key, double v, int *first)
{
	json_sep(f, key, first);
	if (!isfinite(v))
		fprintf(f, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else if (fabs(v) >= 1000)
		fprintf(f, "%.1f", v);
	else
		fprintf(f, "%.6g", v);
}

static void json_str(FILE *f, const char *key, const char *s, int *first)
{
	json_sep(f, key, first);
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* json_num3 - member "<a><b><c>": @v. */
static void json_num3(FILE *f, const char *a, const char *b, const char *c, double v,
		      int *first)
{
	char key[96];

	snprintf(key, sizeof(key), "%s%s%s", a, b, c);
	json_num(f, key, v, first);
}

/* The JSON prefixes of each layout's figures: of its IOPS, MB/s and CPU
 * ("aoki_randread_qd1_iops"), and of its ratios to fio's
 * ("randread_qd1_ratio"): the process layout keeps the names it had
 * before there were layouts. */
static const char *const fig_pfx[L_COUNT] = { "aoki_", "inproc_", "inproc_unisolated_" };
static const char *const ratio_pfx[L_COUNT] = { "", "inproc_", "inproc_unisolated_" };

/* json_layout - workload @i's figures in layout @l: IOPS, MB/s, CPU
 * (percent of one CPU; the process layout also client and server),
 * microseconds per I/O, and the ratios of IOPS and CPU per I/O to fio's. */
static void json_layout(FILE *f, unsigned i, int l, const struct results *r, int *first)
{
	const struct rate *d = &r->direct[i], *a = &r->aoki[l][i];
	const char *name = bb_wls[i].name;

	json_num3(f, fig_pfx[l], name, "_iops", a->iops, first);
	json_num3(f, fig_pfx[l], name, "_mbps", a->mbps, first);
	json_num3(f, ratio_pfx[l], name, "_ratio", a->iops / d->iops, first);
	json_num3(f, fig_pfx[l], name, "_cpu_pct", a->cpu_pct, first);
	if (l == L_PROCESS) {
		json_num3(f, fig_pfx[l], name, "_client_cpu_pct", a->cli_pct, first);
		json_num3(f, fig_pfx[l], name, "_server_cpu_pct", a->srv_pct, first);
	}
	json_num3(f, fig_pfx[l], name, "_cpu_us_per_io", a->cpu_us_io, first);
	json_num3(f, ratio_pfx[l], name, "_cpu_per_io_ratio", a->cpu_us_io / d->cpu_us_io,
		  first);
}

static void json_workloads(FILE *f, const struct cfg *c, const struct results *r, int *first)
{
	for (unsigned i = 0; i < W_COUNT; i++) {
		const struct rate *d = &r->direct[i];

		if (!(c->wl_mask & (1u << i)))
			continue;
		json_num3(f, "direct_", bb_wls[i].name, "_iops", d->iops, first);
		json_num3(f, "direct_", bb_wls[i].name, "_mbps", d->mbps, first);
		json_num3(f, "direct_", bb_wls[i].name, "_cpu_pct", d->cpu_pct, first);
		json_num3(f, "direct_", bb_wls[i].name, "_cpu_us_per_io", d->cpu_us_io, first);
		for (int l = 0; l < L_COUNT; l++)
			if (c->layouts & (1u << l))
				json_layout(f, i, l, r, first);
		if ((c->layouts & LAYOUT_INPROC) == LAYOUT_INPROC)
			json_num3(f, "", bb_wls[i].name, "_isolation_overhead",
				  1 - r->aoki[L_INPROC][i].iops / r->aoki[L_UNISOLATED][i].iops,
				  first);
	}
	json_num(f, "aoki_o_direct", r->aoki_direct, first);
	if (c->layouts & LAYOUT_INPROC) {
		json_num(f, "inproc_isolated", r->isolated, first);
		json_num(f, "inproc_recoveries", (double)r->recoveries, first);
	}
}

/* "fairness_<key>" for aoki (the headline figures) and
 * "fairness_direct_<key>" for the fio baseline. */
static void json_fairness(FILE *f, const struct results *r, int *first)
{
	for (unsigned side = 0; side < 2; side++)
		for (unsigned i = 0; i < F_COUNT; i++)
			json_num3(f, side == SIDE_AOKI ? "fairness_" : "fairness_direct_",
				  fair_keys[i], "", r->fair[side][i], first);
}

void bb_print_json(FILE *f, const struct cfg *c, const struct results *r)
{
	int first = 1;

	fprintf(f, "{");
	if (c->run_wl)
		json_workloads(f, c, r, &first);
	if (r->nbd_state != NBD_OFF) {
		json_num(f, "nbd_randread_qd32_iops", r->nbd_state == NBD_OK ? r->nbd.iops : NAN,
			 &first);
		json_num(f, "nbd_randread_qd32_mbps", r->nbd_state == NBD_OK ? r->nbd.mbps : NAN,
			 &first);
		if (r->nbd_state != NBD_OK)
			json_str(f, r->nbd_state == NBD_SKIPPED ? "nbd_skipped" : "nbd_failed",
				 r->nbd_why, &first);
	}
	if (c->fairness)
		json_fairness(f, r, &first);
	json_num(f, "runtime_s", c->runtime, &first);
	json_num(f, "warmup_s", c->warmup, &first);
	json_num(f, "repeat", c->repeat, &first);
	json_num(f, "poll_us", c->poll_us < 0 ? NAN : (double)c->poll_us, &first);
	json_num(f, "contended", c->contended, &first);
	json_str(f, "layout", c->layouts == LAYOUT_ALL ? "both" :
		 c->layouts == LAYOUT_INPROC ? "inproc" : "process", &first);
	json_num(f, "contended_procs", c->hogs, &first);
	json_str(f, "file", c->file, &first);
	json_str(f, "fs", c->fs, &first);
	json_num(f, "size", (double)c->size, &first);
	json_str(f, "cpu", c->cpu, &first);
	json_num(f, "nproc", (double)c->nproc, &first);
	json_str(f, "kernel", c->kernel, &first);
	json_str(f, "fio_version", c->fio_version, &first);
	fprintf(f, "\n}\n");
}
