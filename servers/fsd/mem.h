/* SPDX-License-Identifier: MIT */
/*
 * mem.h - where aoki-fsd's own memory comes from (private to servers/fsd;
 * a header of its own so that journal.c, which knows nothing of
 * libext2fs or of struct fsd, can use it).
 *
 * Every function takes the memory context @h: the hosting server
 * (aoki/host.h) when fsd is hosted in an application, whose allocations
 * go to its compartment's heap, or NULL in the daemon, whose go to libc.
 * Each fsd instance keeps its own context (struct fsd.host, and copies in
 * struct cache and struct journal_dev): two fsds hosted in one process
 * never share one.
 */
#ifndef AOKI_FSD_MEM_H
#define AOKI_FSD_MEM_H

#include <stddef.h>

struct aoki_host;

/* @n bytes, 16-byte aligned, or NULL.  Not zeroed in the daemon (zeroed
 * when hosted: do not rely on either).  Never called with @n 0. */
void *fsd_alloc(struct aoki_host *h, size_t n);
/* @n zeroed bytes, 16-byte aligned, or NULL. */
void *fsd_zalloc(struct aoki_host *h, size_t n);
/* @count zeroed elements of @size bytes, or NULL (also on overflow). */
void *fsd_zalloc_array(struct aoki_host *h, size_t count, size_t size);
/*
 * A block image of @n bytes (a power of two), not zeroed, or NULL: in the
 * daemon aligned to min(@n, 4096), as the device would like it; hosted,
 * as the compartment's heap aligns blocks of that size (the same: 4096
 * from 4097 bytes up, a size class's own alignment below).  The
 * alignment only spares copies: block images reach the device through
 * blkio's bounce buffer.
 */
void *fsd_alloc_block(struct aoki_host *h, size_t n);
/*
 * Resize @p (of @old bytes; NULL with @old 0) to @n bytes, keeping the
 * first min(@old, @n).  There is no realloc in the compartment's heap:
 * hosted, this allocates, copies and frees; the daemon uses realloc.
 * NULL on failure, @p then untouched.  Bytes past @old are not zeroed.
 */
void *fsd_realloc(struct aoki_host *h, void *p, size_t old, size_t n);
/* Free what one of these returned; NULL is ignored. */
void fsd_free(struct aoki_host *h, void *p);
/* A copy of @s, or NULL. */
char *fsd_strdup(struct aoki_host *h, const char *s);

#endif
