/* SPDX-License-Identifier: MIT */
/* stats.c - see stats.h. */
#include <stdlib.h>

#include "stats.h"

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The index of the @pct percentile among @n sorted values (n > 0). */
static size_t rank(size_t n, double pct)
{
	size_t i;

	if (pct < 0)
		pct = 0;
	i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
	return i < n ? i : n - 1;
}

double util_percentile_double(double *v, size_t n, double pct)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[rank(n, pct)];
}

int64_t util_percentile_sorted(const int64_t *v, size_t n, double pct)
{
	return n ? v[rank(n, pct)] : 0;
}

int64_t util_percentile(int64_t *v, size_t n, double pct)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp64);
	return util_percentile_sorted(v, n, pct);
}
