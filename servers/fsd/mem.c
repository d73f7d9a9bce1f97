/* SPDX-License-Identifier: MIT */
/*
 * mem.c - aoki-fsd's memory (mem.h).  The daemon uses libc's heap; a
 * server hosted in an application (hosted.c) keeps what it allocates in
 * its compartment's heap, which the application cannot reach
 * (aoki/host.h).
 *
 * A documented limit: only fsd's own objects move.  What libext2fs
 * allocates itself (the ext2_filsys, its superblock copy, group
 * descriptors, bitmaps, inode cache, extent handles, directory-iteration
 * buffers, the strings of error_message()) and what lib/blk allocates for
 * the blkd channels (their rings, the bounce buffer's arena) stay in
 * libc's heap or their own mappings, in ordinary (key 0) memory, as does
 * the staging ring (a shared file mapping, stage.c).  The application can
 * read them, and a fault leaves libext2fs's objects to be freed by
 * hosted.c's discard (ext2fs_free); the ones a request had open at the
 * fault (an extent handle, a buffer inside a libext2fs call) are lost.
 * Buffers fsd got with ext2fs_get_mem and freed with ext2fs_free_mem
 * itself are fsd's: they use these functions instead.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aoki/host.h"
#include "mem.h"

void *fsd_alloc(struct aoki_host *h, size_t n)
{
	return h ? aoki_host_alloc(h, n) : malloc(n);
}

void *fsd_zalloc(struct aoki_host *h, size_t n)
{
	return h ? aoki_host_alloc(h, n) : calloc(1, n);
}

void *fsd_zalloc_array(struct aoki_host *h, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	return h ? aoki_host_alloc(h, count * size) : calloc(count, size);
}

void *fsd_alloc_block(struct aoki_host *h, size_t n)
{
	return h ? aoki_host_alloc(h, n) : aligned_alloc(n < 4096 ? n : 4096, n);
}

void *fsd_realloc(struct aoki_host *h, void *p, size_t old, size_t n)
{
	void *q;

	if (!h)
		return realloc(p, n);
	q = aoki_host_alloc(h, n);
	if (!q)
		return NULL;
	if (p)
		memcpy(q, p, old < n ? old : n);
	aoki_host_free(h, p);
	return q;
}

void fsd_free(struct aoki_host *h, void *p)
{
	if (h)
		aoki_host_free(h, p);
	else
		free(p);
}

char *fsd_strdup(struct aoki_host *h, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fsd_alloc(h, n);

	if (p)
		memcpy(p, s, n);
	return p;
}
