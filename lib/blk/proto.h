/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the wire protocol of aoki-blkd, shared by the server
 * (servers/blkd) and the client library (lib/blk).  Private: clients use
 * include/aoki/blk.h.  Every message is one Aoki IPC request with an
 * inline payload of at most 32 bytes; data travels through grants.
 * Integers are native (little-endian on every supported target).
 *
 *   op                 request               reply payload (status)
 *   BLK_OP_OPEN        struct blk_open_req   struct blk_info_rep    (0)
 *   BLK_OP_INFO        u32 volume handle     struct blk_info_rep    (0)
 *   BLK_OP_READ        struct blk_io_req     empty    (bytes moved)
 *   BLK_OP_WRITE       struct blk_io_req     empty    (bytes moved)
 *   BLK_OP_FLUSH       struct blk_io_req     empty    (0)
 *   BLK_OP_DISCARD     struct blk_io_req     empty    (0)
 *   BLK_OP_WRITE_ZEROES struct blk_io_req    empty    (0)
 *
 * A volume handle is the volume's index in the server's configuration
 * (bits 0-7), a hash of its name (bits 8-30) and BLK_HANDLE_RDONLY when
 * it was opened read-only.  So handles survive a server restart (the
 * client library needs no state re-established after a crash), and a
 * handle whose index now names another volume (the configuration was
 * reordered) gets -ESTALE instead of another volume's data.  The server
 * refuses writes through a read-only handle (-EROFS); what a user may do
 * at all is checked on every request, whatever the handle says.  FLUSH,
 * DISCARD and WRITE_ZEROES ignore the grant fields; FLUSH ignores the
 * range too.  Errors are -errno statuses with an empty reply (see blk.h).
 */
#ifndef AOKI_BLK_PROTO_H
#define AOKI_BLK_PROTO_H

#include <stdint.h>

#include "aoki/ipc.h"

enum blk_op {
	BLK_OP_OPEN = 0x100,
	BLK_OP_INFO,
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,
};

#define BLK_NAME_MAX 27		/* volume name bytes, without a NUL */

/* OPEN: a volume by name, for reading or for reading and writing. */
struct blk_open_req {
	uint32_t flags;		/* BLK_OPEN_WRITE */
	char name[BLK_NAME_MAX + 1];	/* NUL-padded */
};
#define BLK_OPEN_WRITE 0x1u
/* Answer only once every I/O the server had in flight when the OPEN
 * arrived has completed: a restarted client's fence against the late
 * writes of its dead predecessor (aoki-fsd). */
#define BLK_OPEN_FENCE 0x2u
#define BLK_HANDLE_RDONLY 0x80000000u	/* handle bit: opened read-only */
#define BLK_HANDLE_INDEX 0xffu		/* handle bits: the volume's index */
#define BLK_HANDLE_NAME 0x7fffff00u	/* handle bits: its name's hash */

/* The name bits of a handle for volume @name (FNV-1a). */
static inline uint32_t blk_handle_name(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return (h << 8) & BLK_HANDLE_NAME;
}

/* What OPEN and INFO return. */
struct blk_info_rep {
	uint64_t size;		/* bytes */
	uint32_t block_size;	/* offsets and lengths are multiples of it */
	uint32_t mem_align;	/* buffer addresses are multiples of it */
	uint32_t max_io;	/* most bytes in one READ or WRITE */
	uint32_t flags;		/* AOKI_BLK_INFO_* (blk.h) */
	uint32_t handle;
	uint32_t reserved;
};

/* READ, WRITE, FLUSH, DISCARD, WRITE_ZEROES. */
struct blk_io_req {
	uint32_t handle;
	uint32_t grant;		/* READ/WRITE: the grant holding the buffer */
	uint64_t grant_offset;	/* where the buffer starts in it */
	uint64_t offset;	/* byte offset in the volume */
	uint32_t length;	/* bytes */
	uint32_t flags;		/* WRITE: AOKI_BLK_FUA (blk.h); else 0 */
};

_Static_assert(sizeof(struct blk_open_req) <= AOKI_MSG_PAYLOAD, "open fits a slot");
_Static_assert(sizeof(struct blk_info_rep) <= AOKI_MSG_PAYLOAD, "info fits a slot");
_Static_assert(sizeof(struct blk_io_req) <= AOKI_MSG_PAYLOAD, "io fits a slot");

#endif
