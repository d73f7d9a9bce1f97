/* SPDX-License-Identifier: MIT */
/*
 * harness.h - helpers for the test binaries.  One binary per test; exit
 * 0 = pass, 1 = fail, 77 = skip (liburing / automake convention).
 */
#ifndef AOKI_TEST_HARNESS_H
#define AOKI_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "stats.h"

#include "check.h"

/* Inside a thread function: on failure report, set the atomic int @flag
 * and return NULL (the main thread checks @flag after joining). */
#define T_THREAD_CHECK(flag, cond)                                             \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: thread check failed: %s\n",    \
				__FILE__, __LINE__, #cond);                    \
			atomic_store(&(flag), 1);                              \
			return NULL;                                           \
		}                                                              \
	} while (0)

/* Print why and exit 77. */
void t_skip(const char *why) __attribute__((noreturn));

/*
 * t_run_dir - make a private run directory for this test, point
 * AOKI_RUN_DIR at it, and remove it at exit.  Returns its path; a failure
 * fails the test.
 */
const char *t_run_dir(void);

/* Monotonic nanoseconds (lib/util/clock.h). */
static inline int64_t t_now_ns(void)
{
	return util_now_ns();
}

/* Sort @n int64 values in place and return the @pct percentile
 * (lib/util/stats.h). */
static inline int64_t t_percentile(int64_t *v, size_t n, double pct)
{
	return util_percentile(v, n, pct);
}

#endif
