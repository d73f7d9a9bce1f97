/* SPDX-License-Identifier: MIT */
/* blk_fair.c - `aoki bench blk --fairness`: a QD1 reader alone, then
 * beside a QD32 one, on aoki-blkd and with fio. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "blk.h"
#include "progress.h"

/* ------------------------------------------------------------- fairness */

/* aoki_fair - on the running server: the QD1 reader alone, or (@shared)
 * beside a QD32 reader on another channel; its figures into @v (as
 * bb_fio_fair).  Returns 0 or -1 (reported). */
static int aoki_fair(const struct cfg *c, int shared, double v[F_COUNT])
{
	unsigned at = shared ? F_SHARED_IOPS : F_ALONE_IOPS;
	struct hist *h = calloc(1, sizeof(*h));
	struct job *j = calloc(2, sizeof(*j));
	int r = h && j ? 0 : bb_err("out of memory");

	if (r == 0) {
		bb_job_init(&j[0], c, &bb_wls[W_RR1], h);
		bb_job_init(&j[1], c, &bb_wls[W_RR32], NULL);
		r = bb_run_jobs(j, shared ? 2 : 1);
	}
	if (r == 0) {
		v[at] = (double)j[0].ios / c->runtime;
		v[at + 1] = bb_hist_pct(h, 0.5);
		v[at + 2] = bb_hist_pct(h, 0.99);
		if (shared)
			v[F_QD32_IOPS] = (double)j[1].ios / c->runtime;
	}
	free(h);
	free(j);
	return r;
}

/* fairness_once - one round: fio alone and shared, then on a fresh
 * aoki-blkd the same; the figures into @v[SIDE_*].  0 or -1. */
static int fairness_once(const struct cfg *c, double v[2][F_COUNT])
{
	int r;

	if (bb_fio_fair(c, 0, v[SIDE_DIRECT]) < 0 || bb_fio_fair(c, 1, v[SIDE_DIRECT]) < 0)
		return -1;
	r = bb_blkd_start(c);
	if (r == 0)
		r = aoki_fair(c, 0, v[SIDE_AOKI]);
	if (r == 0)
		r = aoki_fair(c, 1, v[SIDE_AOKI]);
	bb_stop_child(PID_BLKD);
	return r;
}

/* fairness_progress - the progress line: round @k of @c->repeat runs,
 * and (@prev: both sides of round k - 1) what the last one measured. */
static void fairness_progress(const struct cfg *c, unsigned k, const double (*prev)[F_COUNT])
{
	char what[256];
	int n = snprintf(what, sizeof(what), "fairness %u/%u: randread 4 KiB, QD1 alone, then "
			 "beside QD32 (fio, then aoki)", k + 1, c->repeat);

	if (prev && n > 0 && (size_t)n < sizeof(what))
		snprintf(what + n, sizeof(what) - (size_t)n, "; last: QD1 beside QD32 direct "
			 "%.0f IOPS (p99 %.1f us), aoki %.0f IOPS (p99 %.1f us)",
			 prev[SIDE_DIRECT][F_SHARED_IOPS], prev[SIDE_DIRECT][F_SHARED_P99],
			 prev[SIDE_AOKI][F_SHARED_IOPS], prev[SIDE_AOKI][F_SHARED_P99]);
	util_progress("bench blk: %s", what);
}

/* bb_fairness_run - --fairness, @c->repeat rounds; medians into @res. */
int bb_fairness_run(const struct cfg *c, struct results *res)
{
	double (*v)[2][F_COUNT] = calloc(c->repeat, sizeof(*v)), col[MAX_REPEAT];
	int r = v ? 0 : bb_err("out of memory");

	for (unsigned k = 0; r == 0 && k < c->repeat; k++) {
		fairness_progress(c, k, k ? (const double (*)[F_COUNT])v[k - 1] : NULL);
		r = fairness_once(c, v[k]);
	}
	for (unsigned side = 0; r == 0 && side < 2; side++)
		for (unsigned i = 0; i < F_COUNT; i++) {
			for (unsigned k = 0; k < c->repeat; k++)
				col[k] = v[k][side][i];
			res->fair[side][i] = bb_median(col, c->repeat);
		}
	free(v);
	return r;
}
