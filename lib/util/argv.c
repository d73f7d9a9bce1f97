/* SPDX-License-Identifier: MIT */
/* argv.c - see argv.h. */
#include <stdarg.h>
#include <stdio.h>

#include "argv.h"

void util_argv_add(struct util_argv *a, const char *fmt, ...)
{
	size_t room = sizeof(a->buf) - a->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room || a->n + 2 > sizeof(a->v) / sizeof(a->v[0])) {
		a->overflow = 1;
		return;
	}
	a->v[a->n++] = a->buf + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}
