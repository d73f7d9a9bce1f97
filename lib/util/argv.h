/* SPDX-License-Identifier: MIT */
/*
 * argv.h - an argument vector for execvp(3), built one printf-style
 * argument at a time (the benchmarks' fio command lines).  Internal: not
 * installed.
 */
#ifndef AOKI_UTIL_ARGV_H
#define AOKI_UTIL_ARGV_H

#include <limits.h>
#include <stddef.h>

/* Zero it (or = { 0 }) before the first util_argv_add. */
struct util_argv {
	char *v[64];		/* the arguments, NULL-terminated */
	unsigned n;		/* how many */
	int overflow;		/* one did not fit: v is cut short; do not run it */
	size_t used;		/* bytes of buf taken */
	char buf[8192 + 2 * PATH_MAX];
};

/*
 * util_argv_add - append the argument @fmt (printf-style) to @a, keeping
 * a->v NULL-terminated.  If it does not fit (more than 63 arguments, or
 * their text beyond buf), it is left out and a->overflow set: check it
 * before running a->v.  Cannot fail otherwise; allocates nothing.
 */
void util_argv_add(struct util_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
