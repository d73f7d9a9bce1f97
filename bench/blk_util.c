/* SPDX-License-Identifier: MIT */
/* blk_util.c - `aoki bench blk`: CPU clocks, random numbers, medians and
 * the messages on stderr (errors, a child's error output, the progress
 * line). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "blk.h"
#include "progress.h"

/* ---------------------------------------------------------------- utils */

/* rusage_cpu_s - user + system CPU seconds of getrusage(@who). */
static double rusage_cpu_s(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return NAN;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* bb_thread_cpu_s - user + system CPU seconds of the calling thread. */
double bb_thread_cpu_s(void)
{
	return rusage_cpu_s(RUSAGE_THREAD);
}

/* bb_self_cpu_s - user + system CPU seconds of this process, all threads. */
double bb_self_cpu_s(void)
{
	return rusage_cpu_s(RUSAGE_SELF);
}

uint64_t bb_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* bb_median - of @n values (sorted in place). */
double bb_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Print "aoki bench blk: <message>" on stderr (on a line of its own, the
 * progress line erased first); returns -1. */
int bb_err(const char *fmt, ...)
{
	va_list ap;

	util_progress_end();
	fprintf(stderr, PFX ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Copy the first 4 KiB of file @path to stderr, indented (a child's
 * error output). */
void bb_dump_file(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	char *line, *save = NULL;

	if (f)
		fclose(f);
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "  | %s\n", line);
}

static char last_fig[160];	/* the figure measured last, for the progress line */

/* bb_progress - the progress line: what runs now, and the last figure. */
void bb_progress(const char *what)
{
	util_progress("bench blk: %s%s%s", what, last_fig[0] ? "; last: " : "", last_fig);
}

/* bb_progress_done - @r's IOPS and MB/s, and its CPU use where known, as
 * the last figure (of @what), shown by the next bb_progress. */
void bb_progress_done(const char *what, const struct rate *r)
{
	int n = snprintf(last_fig, sizeof(last_fig), "%s %.0f IOPS, %.1f MB/s", what, r->iops,
			 r->mbps);

	if (n > 0 && (size_t)n < sizeof(last_fig) && isfinite(r->cpu_pct))
		snprintf(last_fig + n, sizeof(last_fig) - (size_t)n, ", %.1f%% CPU (%.2f us/IO)",
			 r->cpu_pct, r->cpu_us_io);
}
