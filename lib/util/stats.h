/* SPDX-License-Identifier: MIT */
/*
 * stats.h - statistics over measured samples (latencies, stalls) for the
 * tools, benchmarks and tests.  Internal: not installed.
 */
#ifndef AOKI_UTIL_STATS_H
#define AOKI_UTIL_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * util_percentile - sort the @n values @v in place (ascending) and return
 * the @pct percentile (0..100; nearest rank, rounded), or 0 when @n is 0.
 * Takes O(n log n); allocates nothing.
 */
int64_t util_percentile(int64_t *v, size_t n, double pct);

/* util_percentile_sorted - the same over values already sorted. */
int64_t util_percentile_sorted(const int64_t *v, size_t n, double pct);

/* util_percentile_double - util_percentile() of doubles (sorted in
 * place too); 0 when @n is 0. */
double util_percentile_double(double *v, size_t n, double pct);

#endif
