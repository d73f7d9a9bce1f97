/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ini - the configuration reader every program uses (lib/util/ini.c)
 * over arbitrary bytes.  Properties: no crash or leak; items come in
 * line order with a non-empty key or a header; an error names "f:LINE: ".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

static int check_item(void *ctx, const struct ini_item *it)
{
	unsigned *last = ctx;

	if (it->line <= *last && *last)
		abort();
	if (it->key && (!*it->key || !it->value))
		abort();
	*last = it->line;
	return it->key && !strcmp(it->key, "stop") ? -ECANCELED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	unsigned last = 0;
	char err[256];
	int r;

	if (!f)
		return 0;
	r = ini_read(f, "f", check_item, &last, err, sizeof(err));
	if (r < 0 && strncmp(err, "f:", 2))
		abort();	/* an error must say where */
	fclose(f);
	return 0;
}
