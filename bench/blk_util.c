/* SPDX-License-Identifier: MIT */
/* blk_util.c - `aoki bench blk`: clocks, random numbers, medians and the
 * messages on stderr (errors, a child's error output, progress lines). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "blk.h"

/* ---------------------------------------------------------------- utils */

int64_t bb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* bb_thread_cpu_s - user + system CPU seconds of the calling thread. */
double bb_thread_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return NAN;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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

int bb_mid_line;	/* a progress line waits for its figure on stderr */

/* Print "aoki bench blk: <message>" on stderr (on a line of its own);
 * returns -1. */
int bb_err(const char *fmt, ...)
{
	va_list ap;

	if (bb_mid_line)
		fputc('\n', stderr);
	bb_mid_line = 0;
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

/* bb_progress_done - end the progress line with @r's IOPS and MB/s, and
 * its CPU use where known. */
void bb_progress_done(const struct rate *r)
{
	fprintf(stderr, "%.0f IOPS, %.1f MB/s", r->iops, r->mbps);
	if (isfinite(r->cpu_pct))
		fprintf(stderr, ", %.1f%% CPU (%.2f us/IO)", r->cpu_pct, r->cpu_us_io);
	fputc('\n', stderr);
	bb_mid_line = 0;
}
