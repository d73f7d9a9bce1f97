/* SPDX-License-Identifier: MIT */
/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78),
 * slicing by 8, without pre- or post-inversion: journal_crc32c(~0, ...)
 * starts a fresh crc, and jbd2 keeps the result uninverted, as the
 * kernel's crc32c() does.  The tables are built once, on first use.
 */
#include <pthread.h>
#include <stdint.h>

#include "journal.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
		table[0][i] = c;
	}
	/* table[k][i]: the crc of byte i followed by k zero bytes. */
	for (unsigned i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
}

#if defined(__x86_64__)
/*
 * The SSE4.2 crc32 instruction computes the same CRC (reflected
 * Castagnoli, no inversion of its own), 8 bytes per instruction: about
 * ten times the tables' speed, which matters because every journaled and
 * every staged block is checksummed on the metadata thread.
 */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							     unsigned long len)
{
	uint64_t c = crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

static int have_hw;

static void hw_init(void)
{
	__builtin_cpu_init();
	have_hw = __builtin_cpu_supports("sse4.2");
}
#endif

uint32_t journal_crc32c(uint32_t crc, const void *buf, unsigned long len)
{
	const uint8_t *p = buf;

#if defined(__x86_64__)
	static pthread_once_t hw_once = PTHREAD_ONCE_INIT;

	pthread_once(&hw_once, hw_init);
	if (have_hw)
		return crc32c_hw(crc, p, len);
#endif
	pthread_once(&table_once, table_init);
	for (; len && ((uintptr_t)p & 7); len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo, hi;

		/* Little-endian loads: the reflected crc eats the low byte first. */
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		     (uint32_t)p[7] << 24;
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		      table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][hi & 0xff] ^
		      table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}
