/* SPDX-License-Identifier: MIT */
/*
 * hash.h - FNV-1a, the one non-cryptographic hash of the programs in this
 * tree (checksums of test data, hash tables keyed by names or client
 * ids).  Never for anything a hostile peer may choose to collide where
 * that matters.  Internal: not installed.  (lib/blk/proto.h keeps its own
 * 32-bit copy: it is wire protocol, and the library depends on nothing
 * here.)
 */
#ifndef AOKI_UTIL_HASH_H
#define AOKI_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define UTIL_FNV64_OFFSET 0xcbf29ce484222325ull
#define UTIL_FNV64_PRIME 0x100000001b3ull
#define UTIL_FNV32_OFFSET 2166136261u
#define UTIL_FNV32_PRIME 16777619u

/* util_fnv1a64_add - continue a 64-bit FNV-1a hash @h over @len bytes at
 * @p (start with UTIL_FNV64_OFFSET, or a seed).  Returns the new hash. */
static inline uint64_t util_fnv1a64_add(uint64_t h, const void *p, size_t len)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * UTIL_FNV64_PRIME;
	return h;
}

/* util_fnv1a64 - the 64-bit FNV-1a hash of @len bytes at @p. */
static inline uint64_t util_fnv1a64(const void *p, size_t len)
{
	return util_fnv1a64_add(UTIL_FNV64_OFFSET, p, len);
}

/* util_fnv1a32 - the 32-bit FNV-1a hash of @len bytes at @p. */
static inline uint32_t util_fnv1a32(const void *p, size_t len)
{
	const uint8_t *c = p;
	uint32_t h = UTIL_FNV32_OFFSET;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * UTIL_FNV32_PRIME;
	return h;
}

#endif
