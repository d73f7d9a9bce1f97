/* SPDX-License-Identifier: MIT */
/* fs_output.c - `aoki bench fs`: the medians as a table (with the ratios
 * and the team's targets, met or MISSED; with --fuse a second table for
 * aoki-fuse and its own targets, with --layout inproc or both two for the
 * in-process layout, in compartments and unisolated) and as one JSON
 * object. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>

#include "fs.h"

/* The targets, aoki / kernel and aoki / fuse2fs, by WL_* (0: none). */
static const double target[WL_COUNT][2] = {
	[WL_SEQWRITE] = { 0.9, 5 },	[WL_SEQREAD] = { 0.9, 5 },
	[WL_RANDREAD] = { 0.9, 5 },	[WL_RANDWRITE] = { 0.9, 5 },
	[WL_CREATE] = { 0.5, 10 },	[WL_CREATE_FSYNC] = { 0.5, 0 },
	[WL_STAT] = { 0.5, 10 },	[WL_UNLINK] = { 0.5, 10 },
	[WL_READDIR] = { 0.5, 10 },
};

/* Through FUSE (issue 11): data >= 5x fuse2fs, metadata >= 10x fuse2fs,
 * sequential data within 0.7x of the kernel. */
static const double fuse_target[WL_COUNT][2] = {
	[WL_SEQWRITE] = { 0.7, 5 },	[WL_SEQREAD] = { 0.7, 5 },
	[WL_RANDREAD] = { 0, 5 },	[WL_RANDWRITE] = { 0, 5 },
	[WL_CREATE] = { 0, 10 },	[WL_CREATE_FSYNC] = { 0, 0 },
	[WL_STAT] = { 0, 10 },		[WL_UNLINK] = { 0, 10 },
	[WL_READDIR] = { 0, 10 },
};

static double ratio_of(const struct bf_results *r, int side, int wl, int base)
{
	return r->med[side][wl].v / r->med[base][wl].v;
}

static double ratio(const struct bf_results *r, int wl, int base)
{
	return ratio_of(r, BF_AOKI, wl, base);
}

/* verdict - "met", "MISSED" or "-" (no target, or not measured). */
static const char *verdict(double ratio_v, double goal)
{
	if (goal == 0 || !isfinite(ratio_v))
		return "-";
	return ratio_v >= goal ? "met" : "MISSED";
}

/* inproc_side - whether @side hosts the servers in the bench's process. */
static int inproc_side(int side)
{
	return side == BF_AOKI_INPROC || side == BF_AOKI_UNISO;
}

/* isolation_cost - the throughput the compartments cost: 1 - in
 * compartments / unisolated (negative: within the noise). */
static double isolation_cost(const struct bf_results *r, int wl)
{
	return 1 - ratio_of(r, BF_AOKI_INPROC, wl, BF_AOKI_UNISO);
}

/*
 * The rows of another aoki side (@side: aoki-fuse, or an in-process side)
 * against the kernel and fuse2fs, with its targets @goal; for the
 * in-process sides also against the process layout, and for the
 * unisolated one the isolation's cost.
 */
static void print_side_table(FILE *f, const struct bf_cfg *c, const struct bf_results *r,
			     int side, const char *title, const char *col,
			     const double (*goal)[2])
{
	int vs_proc = inproc_side(side) && c->have[BF_AOKI];
	int iso = side == BF_AOKI_UNISO && c->have[BF_AOKI_INPROC];
	unsigned met = 0, total = 0;

	fprintf(f, "%s\n", title);
	fprintf(f, "%-18s %-9s %10s %10s %11s %9s %-12s %9s %-12s%s%s\n", "workload", "unit",
		"kernel", "fuse2fs", col, "vs kernel", "(target)", "vs fuse", "(target)",
		vs_proc ? " vs process" : "", iso ? " isolation cost" : "");
	for (int w = 0; w < WL_COUNT; w++) {
		double rk = ratio_of(r, side, w, BF_KERNEL);
		double rf = ratio_of(r, side, w, BF_FUSE);
		char tk[24], tf[24];

		snprintf(tk, sizeof(tk), goal[w][0] ? ">=%g %s" : "-", goal[w][0],
			 verdict(rk, goal[w][0]));
		snprintf(tf, sizeof(tf), goal[w][1] ? ">=%g %s" : "-", goal[w][1],
			 verdict(rf, goal[w][1]));
		fprintf(f, "%-18s %-9s %10.0f %10.0f %11.0f %9.3f %-12s %9.2f %-12s",
			bf_wls[w].name, bf_wls[w].unit, r->med[BF_KERNEL][w].v,
			r->med[BF_FUSE][w].v, r->med[side][w].v, rk, tk, rf, tf);
		if (vs_proc)
			fprintf(f, " %10.2f", ratio_of(r, side, w, BF_AOKI));
		if (iso)
			fprintf(f, " %14.1f%%", 100 * isolation_cost(r, w));
		fputc('\n', f);
		for (int b = 0; b < 2; b++) {
			double rv = b ? rf : rk;

			if (goal[w][b] && isfinite(rv)) {
				total++;
				met += rv >= goal[w][b];
			}
		}
	}
	fprintf(f, "targets met (%s): %u of %u\n", col, met, total);
	if (iso)
		fprintf(f, "isolation cost: 1 - %s / %s throughput%s\n", "aoki-inproc", col,
			bf_inproc_isolated() ? "" : " (no PKU: the gates without the protection "
			"key switches, not what PKU costs)");
}

/* print_inproc_tables - the in-process sides' tables (--layout inproc or
 * both). */
static void print_inproc_tables(FILE *f, const struct bf_cfg *c, const struct bf_results *r)
{
	if (c->have[BF_AOKI_INPROC])
		print_side_table(f, c, r, BF_AOKI_INPROC, bf_inproc_isolated() ?
				 "in-process layout: aoki-blkd and aoki-fsd hosted in the bench's "
				 "process, each in its compartment (PKU-isolated), same client" :
				 "in-process layout: aoki-blkd and aoki-fsd hosted in the bench's "
				 "process (unprotected: no PKU, compartments not enforced), same "
				 "client", "aoki-inproc", target);
	if (c->have[BF_AOKI_UNISO])
		print_side_table(f, c, r, BF_AOKI_UNISO, "in-process, unisolated: the same "
				 "without compartments (AOKI_HOST_UNISOLATED: the servers' code "
				 "called directly), same client", "aoki-uniso", target);
}

/* print_cpu_table - CPU per operation, a column per side that ran. */
static void print_cpu_table(FILE *f, const struct bf_cfg *c, const struct bf_results *r)
{
	static const char *const head[BF_SIDES] = {
		[BF_KERNEL] = "kernel", [BF_FUSE] = "fuse2fs", [BF_AOKI] = "aoki",
		[BF_AOKI_FUSE] = "aoki-fuse", [BF_AOKI_INPROC] = "aoki-inproc",
		[BF_AOKI_UNISO] = "aoki-uniso",
	};

	fprintf(f, "%-18s", "CPU us/op");
	for (int s = 0; s < BF_SIDES; s++)
		if (c->have[s] || s <= BF_FUSE)	/* kernel, fuse2fs: as the tables */
			fprintf(f, " %14s", head[s]);
	fputc('\n', f);
	for (int w = 0; w < WL_COUNT; w++) {
		fprintf(f, "%-18s", bf_wls[w].name);
		for (int s = 0; s < BF_SIDES; s++)
			if (c->have[s] || s <= BF_FUSE)
				fprintf(f, " %14.2f", r->med[s][w].cpu_us);
		fputc('\n', f);
	}
}

/* print_process_table - the process layout's rows, with the targets. */
static void print_process_table(FILE *f, const struct bf_results *r)
{
	unsigned met = 0, total = 0;

	fprintf(f, "%-18s %-9s %10s %10s %10s %9s %-12s %9s %-12s\n", "workload", "unit",
		"kernel", "fuse2fs", "aoki", "vs kernel", "(target)", "vs fuse", "(target)");
	for (int w = 0; w < WL_COUNT; w++) {
		double rk = ratio(r, w, BF_KERNEL), rf = ratio(r, w, BF_FUSE);
		char tk[24], tf[24];

		snprintf(tk, sizeof(tk), ">=%g %s", target[w][0], verdict(rk, target[w][0]));
		snprintf(tf, sizeof(tf), target[w][1] ? ">=%g %s" : "-", target[w][1],
			 verdict(rf, target[w][1]));
		fprintf(f, "%-18s %-9s %10.0f %10.0f %10.0f %9.3f %-12s %9.2f %-12s\n",
			bf_wls[w].name, bf_wls[w].unit, r->med[BF_KERNEL][w].v,
			r->med[BF_FUSE][w].v, r->med[BF_AOKI][w].v, rk, tk, rf, tf);
		for (int b = 0; b < 2; b++) {
			double rv = b ? rf : rk;

			if (target[w][b] && isfinite(rv)) {
				total++;
				met += rv >= target[w][b];
			}
		}
	}
	fprintf(f, "targets met: %u of %u\n", met, total);
}

void bf_print_table(FILE *f, const struct bf_cfg *c, const struct bf_results *r)
{
	fprintf(f, "aoki bench fs: %s, %ld CPUs, Linux %s, %s\n", c->cpu, c->nproc, c->kernel,
		c->fio_version);
	fprintf(f, "images %llu MiB on %s, data file %llu MiB, random windows %g s after "
		"%g s; %u create, %u create_fsync, %u-entry readdir x %u; median of %u\n",
		(unsigned long long)(c->image >> 20), c->host_fs,
		(unsigned long long)(c->file >> 20), c->runtime, c->warmup, c->n_create,
		c->n_fsync, c->n_dir, c->n_list, c->runs);
	if (c->have[BF_AOKI])	/* not with --layout inproc */
		print_process_table(f, r);
	if (c->fuse)
		print_side_table(f, c, r, BF_AOKI_FUSE, "through FUSE: aoki-fuse on aoki-fsd, the "
				 "same fio and POSIX workloads, same run, same device",
				 "aoki-fuse", fuse_target);
	print_inproc_tables(f, c, r);
	print_cpu_table(f, c, r);
	fprintf(f, "CPU: fio usr+sys or the driver thread, plus fuse2fs or aoki-blkd + aoki-fsd "
		"(+ aoki-fuse) (/proc/PID/stat); in-process, the driver thread runs the servers "
		"too; the kernel's own threads (loop, jbd2, FUSE request handling) are not "
		"counted; a seq op is 1 MiB, a readdir op one entry\n");
	for (int s = 0; s < BF_SIDES; s++)
		if (!c->have[s] && c->why[s][0])	/* not aoki_fuse without --fuse */
			fprintf(f, "%s: skipped (%s)\n", bf_side_names[s], c->why[s]);
	if (c->fuse_note[0])
		fprintf(f, "note: %s\n", c->fuse_note);
	if (c->aoki_fuse_note[0])
		fprintf(f, "note: %s\n", c->aoki_fuse_note);
}

static void json_num(FILE *f, const char *key, double v, int *first)
{
	fprintf(f, "%s\n  \"%s\": ", *first ? "" : ",", key);
	*first = 0;
	if (!isfinite(v))
		fprintf(f, "null");
	else if (fabs(v) >= 1000)
		fprintf(f, "%.1f", v);
	else
		fprintf(f, "%.6g", v);
}

/* json_str - member @key: @s (our own strings: no quotes or controls to
 * escape but the few a CPU name or path could hold, replaced by '?'). */
static void json_str(FILE *f, const char *key, const char *s, int *first)
{
	fprintf(f, "%s\n  \"%s\": \"", *first ? "" : ",", key);
	*first = 0;
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '?' : *s, f);
	fputc('"', f);
}

void bf_print_json(FILE *f, const struct bf_cfg *c, const struct bf_results *r)
{
	char key[96];
	int first = 1;

	fputc('{', f);
	json_str(f, "cpu", c->cpu, &first);
	json_num(f, "cpus", (double)c->nproc, &first);
	json_str(f, "kernel", c->kernel, &first);
	json_str(f, "fio", c->fio_version, &first);
	json_str(f, "host_fs", c->host_fs, &first);
	json_num(f, "runs", c->runs, &first);
	json_num(f, "quick", c->quick, &first);
	json_num(f, "image_mib", (double)(c->image >> 20), &first);
	json_num(f, "file_mib", (double)(c->file >> 20), &first);
	json_num(f, "fuse2fs_fio_direct", c->fuse_note[0] ? 0 : 1, &first);
	json_num(f, "aoki_fuse", c->fuse, &first);
	json_str(f, "layout", c->layouts == BF_LAYOUT_PROCESS ? "process" :
		 c->layouts == BF_LAYOUT_INPROC ? "inproc" : "both", &first);
	if (c->layouts & BF_LAYOUT_INPROC)
		json_num(f, "inproc_isolated", bf_inproc_isolated(), &first);
	if (c->fuse)
		json_num(f, "aoki_fuse_fio_direct", c->aoki_fuse_note[0] ? 0 : 1, &first);
	for (int w = 0; w < WL_COUNT; w++) {
		const char *n = bf_wls[w].name;

		for (int s = 0; s < BF_SIDES; s++) {
			snprintf(key, sizeof(key), "%s_%s", n, bf_side_names[s]);
			json_num(f, key, r->med[s][w].v, &first);
		}
		snprintf(key, sizeof(key), "%s_vs_kernel", n);
		json_num(f, key, ratio(r, w, BF_KERNEL), &first);
		snprintf(key, sizeof(key), "%s_vs_fuse2fs", n);
		json_num(f, key, ratio(r, w, BF_FUSE), &first);
		if (c->fuse) {
			snprintf(key, sizeof(key), "%s_aoki_fuse_vs_kernel", n);
			json_num(f, key, ratio_of(r, BF_AOKI_FUSE, w, BF_KERNEL), &first);
			snprintf(key, sizeof(key), "%s_aoki_fuse_vs_fuse2fs", n);
			json_num(f, key, ratio_of(r, BF_AOKI_FUSE, w, BF_FUSE), &first);
		}
		for (int s = BF_AOKI_INPROC; s <= BF_AOKI_UNISO; s++) {
			if (!c->have[s])
				continue;
			snprintf(key, sizeof(key), "%s_%s_vs_kernel", n, bf_side_names[s]);
			json_num(f, key, ratio_of(r, s, w, BF_KERNEL), &first);
			snprintf(key, sizeof(key), "%s_%s_vs_aoki", n, bf_side_names[s]);
			json_num(f, key, ratio_of(r, s, w, BF_AOKI), &first);
		}
		if (c->have[BF_AOKI_INPROC] && c->have[BF_AOKI_UNISO]) {
			snprintf(key, sizeof(key), "%s_isolation_overhead", n);
			json_num(f, key, isolation_cost(r, w), &first);
		}
		for (int s = 0; s < BF_SIDES; s++) {
			snprintf(key, sizeof(key), "%s_cpu_us_%s", n, bf_side_names[s]);
			json_num(f, key, r->med[s][w].cpu_us, &first);
		}
	}
	fprintf(f, "\n}\n");
}
