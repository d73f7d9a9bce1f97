/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the clocks of the programs in this tree (servers, tools,
 * benchmarks, tests): one definition instead of one per file.  Internal:
 * not installed, not part of libaoki (lib/ipc keeps its own in sys.h, so
 * the library depends on nothing here).
 */
#ifndef AOKI_UTIL_CLOCK_H
#define AOKI_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* util_now_ns - CLOCK_MONOTONIC in nanoseconds: for intervals and
 * deadlines.  Cannot fail (the clock always exists on Linux). */
static inline int64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* util_wall_ns - CLOCK_REALTIME in nanoseconds since 1970: for
 * timestamps that people read, never for intervals. */
static inline int64_t util_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
