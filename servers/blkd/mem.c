/* SPDX-License-Identifier: MIT */
/*
 * mem.c - the server's memory.  A daemon uses the heap; a server hosted
 * in an application (hosted.c) keeps everything it allocates in its
 * compartment's heap, which the application cannot reach (aoki/host.h).
 */
#include <stdlib.h>
#include <string.h>

#include "aoki/host.h"
#include "blkd.h"

void *blkd_zalloc(const struct blkd *d, size_t n)
{
	return d->host ? aoki_host_alloc(d->host, n) : calloc(1, n);
}

void blkd_free(const struct blkd *d, void *p)
{
	if (d->host)
		aoki_host_free(d->host, p);
	else
		free(p);
}

char *blkd_strdup(const struct blkd *d, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = blkd_zalloc(d, n);

	if (p)
		memcpy(p, s, n);
	return p;
}
