/* SPDX-License-Identifier: MIT */
/* blk.h - the client side of aoki-blkd (private to lib/blk). */
#ifndef AOKI_LIB_BLK_H
#define AOKI_LIB_BLK_H

#include <stdint.h>

#include "aoki/blk.h"
#include "aoki/ipc.h"
#include "../ipc/arena.h"

#define BLK_MAX_GRANTS 1024	/* arenas and imported regions (the most
				 * a channel may have) */

struct aoki_blk {
	struct aoki_chan *ch;
	uint32_t handle;
	int writable;
	struct aoki_blk_info info;
	int64_t timeout_ns;	/* from the open's options */
	struct ipc_arenas arenas;	/* buffers (lib/ipc/arena.h) */
};

#endif
