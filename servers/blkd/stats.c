/* SPDX-License-Identifier: MIT */
/*
 * stats.c - aoki-blkd's figures for the stats request of the IPC library
 * (cfg.stats_fn, see aoki_query_stats(3)): the I/Os its workers
 * completed and their bytes, summed over the workers, and its volumes.
 */
#include <stdio.h>

#include "blkd.h"

/* A relaxed load: each counter has one writer (its worker) and we want
 * only a whole value, in no order with anything else. */
static uint64_t sum(const struct blkd *d, size_t field)
{
	uint64_t total = 0;

	for (unsigned w = 0; w < BLKD_MAX_WORKERS; w++) {
		const _Atomic uint64_t *c =
			(const _Atomic uint64_t *)((const char *)&d->count[w] + field);

		total += atomic_load_explicit(c, memory_order_relaxed);
	}
	return total;
}

/* Append "key=value\n" to @out if the whole line fits in @cap. */
static void put(char *out, size_t cap, size_t *len, const char *key, uint64_t value)
{
	int n = snprintf(out + *len, cap - *len, "%s=%llu\n", key, (unsigned long long)value);

	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
}

int blkd_stats(void *arg, void *buf, size_t cap)
{
	static const struct {
		const char *key;
		size_t field;
	} keys[] = {
		{ "reads", offsetof(struct blkd_io_count, reads) },
		{ "writes", offsetof(struct blkd_io_count, writes) },
		{ "flushes", offsetof(struct blkd_io_count, flushes) },
		{ "discards", offsetof(struct blkd_io_count, discards) },
		{ "io_errors", offsetof(struct blkd_io_count, errors) },
		{ "read_bytes", offsetof(struct blkd_io_count, read_bytes) },
		{ "write_bytes", offsetof(struct blkd_io_count, write_bytes) },
	};
	const struct blkd *d = arg;
	uint64_t ios = 0;
	size_t len = 0;

	for (size_t i = 0; i < 4; i++)	/* reads, writes, flushes, discards */
		ios += sum(d, keys[i].field);
	put(buf, cap, &len, "volumes", d->nvol);
	put(buf, cap, &len, "ios", ios);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(buf, cap, &len, keys[i].key, sum(d, keys[i].field));
	return (int)len;
}
