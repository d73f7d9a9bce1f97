/* SPDX-License-Identifier: MIT */
/*
 * check.h - the exit codes and CHECK macros of every test binary: the
 * harness (harness.h) and the static compartment tests that run in the
 * PKU guest (tests/domain/dtest.h), which may use libc only.
 */
#ifndef AOKI_TEST_CHECK_H
#define AOKI_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			exit(T_EXIT_FAIL);                                     \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s == %s "       \
				"(%lld != %lld)\n", __FILE__, __LINE__, #a, #b, \
				_a, _b);                                       \
			exit(T_EXIT_FAIL);                                     \
		}                                                              \
	} while (0)

#endif
