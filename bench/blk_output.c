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

static void print_header(FILE *f, const struct cfg *c)
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
	if (c->contended)
		fprintf(f, "contended: a CPU-bound process of normal priority on each of %u CPUs "
			"during fio and aoki alike\n", c->hogs);
}

static void print_rows(FILE *f, const struct cfg *c, const struct results *r)
{
	fprintf(f, "%-16s %12s %12s %12s %12s %7s\n", "workload", "direct IOPS", "direct MB/s",
		"aoki IOPS", "aoki MB/s", "ratio");
	for (unsigned i = 0; i < W_COUNT; i++)
		if (c->wl_mask & (1u << i))
			fprintf(f, "%-16s %12.0f %12.1f %12.0f %12.1f %7.3f\n", bb_wls[i].name,
				r->direct[i].iops, r->direct[i].mbps, r->aoki[i].iops,
				r->aoki[i].mbps, r->aoki[i].iops / r->direct[i].iops);
	fprintf(f, "direct: fio io_uring, O_DIRECT, fixed buffers; aoki: aoki-blkd, one client "
		"thread, aoki_blk_submit/reap; ratio = aoki IOPS / direct IOPS\n");
	if (!r->aoki_direct)
		fprintf(f, "warning: aoki-blkd opened the file without O_DIRECT (buffered I/O): "
			"the ratios compare different paths\n");
}

/* cpu_cell - "client + server = all" of @a's CPU use into @out, or "-". */
static const char *cpu_cell(const struct rate *a, char *out, size_t cap)
{
	if (!isfinite(a->cpu_pct))
		return "-";
	snprintf(out, cap, "%.1f + %.1f = %.1f", a->cli_pct, a->srv_pct, a->cpu_pct);
	return out;
}

/* print_cpu_rows - the CPU each side used in the timed windows, a second
 * table (the first would pass 110 columns), with CPU time per I/O. */
static void print_cpu_rows(FILE *f, const struct cfg *c, const struct results *r)
{
	char cell[64];

	fprintf(f, "%-16s %11s  %25s  %12s  %12s  %10s\n", "workload", "direct CPU%",
		"aoki CPU% (client+server)", "CPU/IO ratio", "direct us/IO", "aoki us/IO");
	for (unsigned i = 0; i < W_COUNT; i++)
		if (c->wl_mask & (1u << i))
			fprintf(f, "%-16s %11.1f  %25s  %12.3f  %12.2f  %10.2f\n", bb_wls[i].name,
				r->direct[i].cpu_pct, cpu_cell(&r->aoki[i], cell, sizeof(cell)),
				r->aoki[i].cpu_us_io / r->direct[i].cpu_us_io,
				r->direct[i].cpu_us_io, r->aoki[i].cpu_us_io);
	fprintf(f, "CPU%%: of one CPU over the timed window; direct: fio's usr_cpu + sys_cpu; "
		"aoki: client thread\n(getrusage RUSAGE_THREAD) + aoki-blkd (utime + stime, "
		"/proc/PID/stat); us/IO: CPU time per I/O;\nCPU/IO ratio = aoki us/IO / direct "
		"us/IO (aoki client and server %s, fio sleeps in io_uring_enter)\n",
		c->poll_us ? "poll" : "sleep at once");
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

/*
 * print_targets - the team's goals, met or MISSED (reported, never
 * asserted): contended, every IOPS ratio >= 0.8; not contended, aoki's CPU
 * per I/O at most twice fio's at QD32.
 */
static void print_targets(FILE *f, const struct cfg *c, const struct results *r)
{
	fprintf(f, "%-32s %10s  %-8s %s\n", "target", "value", "goal", "result");
	for (unsigned i = 0; i < W_COUNT; i++) {
		char name[64];
		double v;
		int met;

		if (!(c->wl_mask & (1u << i)) || (!c->contended && !is_qd32(i)))
			continue;
		if (c->contended) {
			snprintf(name, sizeof(name), "%s_ratio", bb_wls[i].name);
			v = r->aoki[i].iops / r->direct[i].iops;
			met = v >= 0.8;
		} else {
			snprintf(name, sizeof(name), "%s_cpu_per_io_ratio", bb_wls[i].name);
			v = r->aoki[i].cpu_us_io / r->direct[i].cpu_us_io;
			met = v <= 2;
		}
		fprintf(f, "%-32s %10.3f  %-8s %s\n", name, v, c->contended ? ">= 0.8" : "<= 2",
			met ? "met" : "MISSED");
	}
}

void bb_print_table(FILE *f, const struct cfg *c, const struct results *r)
{
	print_header(f, c);
	if (c->run_wl) {
		print_rows(f, c, r);
		print_cpu_rows(f, c, r);
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

/* json_cpu - workload @i's CPU figures: percent of one CPU (aoki also
 * client and server), microseconds per I/O, and the ratio of those. */
static void json_cpu(FILE *f, unsigned i, const struct results *r, int *first)
{
	const struct rate *d = &r->direct[i], *a = &r->aoki[i];
	const char *name = bb_wls[i].name;

	json_num3(f, "direct_", name, "_cpu_pct", d->cpu_pct, first);
	json_num3(f, "direct_", name, "_cpu_us_per_io", d->cpu_us_io, first);
	json_num3(f, "aoki_", name, "_cpu_pct", a->cpu_pct, first);
	json_num3(f, "aoki_", name, "_client_cpu_pct", a->cli_pct, first);
	json_num3(f, "aoki_", name, "_server_cpu_pct", a->srv_pct, first);
	json_num3(f, "aoki_", name, "_cpu_us_per_io", a->cpu_us_io, first);
	json_num3(f, "", name, "_cpu_per_io_ratio", a->cpu_us_io / d->cpu_us_io, first);
}

static void json_workloads(FILE *f, const struct cfg *c, const struct results *r, int *first)
{
	for (unsigned i = 0; i < W_COUNT; i++) {
		if (!(c->wl_mask & (1u << i)))
			continue;
		json_num3(f, "direct_", bb_wls[i].name, "_iops", r->direct[i].iops, first);
		json_num3(f, "direct_", bb_wls[i].name, "_mbps", r->direct[i].mbps, first);
		json_num3(f, "aoki_", bb_wls[i].name, "_iops", r->aoki[i].iops, first);
		json_num3(f, "aoki_", bb_wls[i].name, "_mbps", r->aoki[i].mbps, first);
		json_num3(f, "", bb_wls[i].name, "_ratio", r->aoki[i].iops / r->direct[i].iops,
			  first);
		json_cpu(f, i, r, first);
	}
	json_num(f, "aoki_o_direct", r->aoki_direct, first);
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
