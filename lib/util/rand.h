/* SPDX-License-Identifier: MIT */
/*
 * rand.h - splitmix64, the one pseudo-random stream of the tools, tests
 * and benchmarks: fast, seedable, reproducible from a printed seed.  Not
 * for secrets.  Internal: not installed.
 */
#ifndef AOKI_UTIL_RAND_H
#define AOKI_UTIL_RAND_H

#include <stdint.h>

/* util_rnd - the next value of the stream whose state is *@s. */
static inline uint64_t util_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
