/* SPDX-License-Identifier: MIT */
/*
 * arena.h - buffers in grants, for client libraries (private to libaoki).
 *
 * An arena is one grant that aoki_grant_create made on a channel: a
 * shared region mapped here and in the server.  Buffers are runs of 4 KiB
 * pages in it, handed out first-fit (aligned for any O_DIRECT device).
 * Arenas are only ever added, never moved or removed before
 * ipc_arenas_fini, so ipc_arena_find - the hot path, from an address to a
 * (grant, offset) for a message - reads the table without a lock.
 * Allocation and freeing take a mutex.
 *
 * A user embeds a struct ipc_arenas and owns the channel; closing the
 * channel unmaps the grants, ipc_arenas_fini frees the rest.
 */
#ifndef AOKI_IPC_ARENA_H
#define AOKI_IPC_ARENA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "aoki/ipc.h"

#define IPC_ARENA_MAX 64	/* grants per struct ipc_arenas */
#define IPC_ARENA_PAGE 4096u

/* One grant of buffer space. */
struct ipc_arena {
	char *base;
	size_t size;
	uint32_t grant;
	uint8_t *pages;		/* per page: 0 free, 1 first of a buffer, 2 rest */
};

struct ipc_arenas {
	struct aoki_chan *ch;
	size_t arena_size;	/* bytes of a new arena (at least) */
	unsigned rights;	/* AOKI_GRANT_* of every arena */
	pthread_mutex_t lock;	/* allocation and freeing */
	_Atomic unsigned n;	/* published arenas (append-only) */
	struct ipc_arena a[IPC_ARENA_MAX];
};

/*
 * ipc_arenas_init - set up an empty set of arenas on channel @ch: each
 * new arena is at least @arena_size bytes (rounded up to a page; 0:
 * 8 MiB) and granted with @rights.  No grant is made yet.  Never fails.
 */
void ipc_arenas_init(struct ipc_arenas *as, struct aoki_chan *ch, size_t arena_size,
		     unsigned rights);

/*
 * ipc_arenas_fini - free the page maps.  The grants themselves go with
 * the channel (aoki_close unmaps them): call it after aoki_close, or
 * before it when nothing will use the buffers any more.
 */
void ipc_arenas_fini(struct ipc_arenas *as);

/*
 * ipc_arena_alloc - @len bytes, page-aligned, in one arena; a new arena
 * (a grant of arena_size, or @len rounded up) when none has room.
 * Returns 0 with *@buf set, -EINVAL (@len 0 or huge), -ENOMEM, -ENOSPC
 * (IPC_ARENA_MAX arenas, or the channel's grant table, full), or
 * aoki_grant_create's error.  Blocking only when it creates a grant (a
 * control round trip, 5 s deadline); else a mutex and a first-fit scan.
 */
int ipc_arena_alloc(struct ipc_arenas *as, size_t len, void **buf);

/*
 * ipc_arena_free - return a buffer from ipc_arena_alloc (NULL, or an
 * address that starts no buffer: nothing).  Its memory stays mapped.
 * Never fails; a mutex.
 */
void ipc_arena_free(struct ipc_arenas *as, void *buf);

/*
 * ipc_arena_find - the grant and offset of [@buf, @buf + @len), or
 * -EFAULT if the range is not inside one arena (any part of it: buffers
 * may be sliced).  Wait-free (a bounded scan, no lock).
 */
int ipc_arena_find(struct ipc_arenas *as, const void *buf, size_t len, uint32_t *grant,
		   uint64_t *offset);

#endif
