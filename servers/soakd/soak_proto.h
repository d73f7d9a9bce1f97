/* SPDX-License-Identifier: MIT */
/*
 * soak_proto.h - the protocol of aoki-soakd, the server that soak tests
 * kill and restart under load.  Shared by the server and its clients.
 * All integers little-endian (native); every reply status is >= 0 on
 * success, -errno on failure (with an empty reply).
 *
 *   op               request payload         reply payload (status)
 *   SOAK_OP_ECHO     n <= 24 bytes of data   the n bytes, then u64
 *                                            soak_fnv1a64(data, n)  (n)
 *   SOAK_OP_APPEND   u64 value               u64 index           (0)
 *                    appends (seq, value) to the caller's durable log
 *                    exactly once, even across server crashes; indices
 *                    are 0, 1, 2, ... per client (channel)
 *   SOAK_OP_COUNT    empty                   u64 entries in the
 *                                            caller's log           (0)
 *   SOAK_OP_SLEEP    u32 microseconds        empty                  (0)
 *                    (<= SOAK_SLEEP_MAX_US; keeps requests in flight)
 *   SOAK_OP_PID      empty                   u32 the server's pid   (0)
 *
 * Errors: -EINVAL (bad payload length or value), -ENOSYS (unknown op);
 * APPEND: -E2BIG (the channel's ring is larger than the server's dedup
 * window, 256), -ENOSPC (no dedup slot, or more than 4096 clients' logs
 * open), state file errors (-EBADMSG: a log of the wrong size).
 */
#ifndef AOKI_SOAK_PROTO_H
#define AOKI_SOAK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"	/* util_fnv1a64: lib/util, which both sides see */

#define SOAK_PORT "soak"

enum soak_op {
	SOAK_OP_ECHO = 1,
	SOAK_OP_APPEND = 2,
	SOAK_OP_COUNT = 3,
	SOAK_OP_SLEEP = 4,
	SOAK_OP_PID = 5,
};

#define SOAK_ECHO_MAX 24		/* data bytes in an ECHO request */
#define SOAK_SLEEP_MAX_US 1000000u	/* longest SLEEP */

/* 64-bit FNV-1a, the ECHO checksum. */
static inline uint64_t soak_fnv1a64(const void *data, size_t len)
{
	return util_fnv1a64(data, len);
}

#endif
