/* SPDX-License-Identifier: MIT */
/* blk.h - the client side of aoki-blkd (private to lib/blk). */
#ifndef AOKI_LIB_BLK_H
#define AOKI_LIB_BLK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aoki/blk.h"
#include "aoki/ipc.h"

#define BLK_MAX_ARENAS 64	/* grants of buffer space per volume */
#define BLK_MAX_GRANTS 1024	/* arenas and imported regions (the most
				 * a channel may have) */
#define BLK_PAGE 4096u

/* One grant of buffer space; pages handed out first-fit. */
struct blk_arena {
	char *base;
	size_t size;
	uint32_t grant;
	uint8_t *pages;		/* per page: 0 free, 1 first of a buffer, 2 rest */
};

struct aoki_blk {
	struct aoki_chan *ch;
	uint32_t handle;
	int writable;
	struct aoki_blk_info info;
	size_t arena_size;
	int64_t timeout_ns;	/* from the open's options */
	int64_t spin_ns;	/* how long a reap polls (<= 0: not at all) */
	pthread_mutex_t lock;	/* allocation only */
	_Atomic unsigned narenas;	/* published arenas (append-only) */
	struct blk_arena arenas[BLK_MAX_ARENAS];
};

/* arena.c: the grant and offset of [@buf, @buf + @len), or -EFAULT if it
 * is not inside one arena.  Wait-free. */
int blk_arena_find(struct aoki_blk *b, const void *buf, size_t len, uint32_t *grant,
		   uint64_t *offset);
/* arena.c: free every arena's page map (the grants go with the channel). */
void blk_arenas_free(struct aoki_blk *b);

#endif
