/* SPDX-License-Identifier: MIT */
/*
 * record.h - `aoki-blkd --record FILE`: a log of every completed write,
 * for crash tests (tests/fs-crashprefix.c) and diagnosis.  Each completed
 * WRITE, WRITE_ZEROES, DISCARD and FLUSH is appended to FILE before its
 * reply is sent, as one record: a struct blkd_record header followed, for
 * WRITE only, by its @length bytes of data.  The file is fdatasync'd when
 * a FLUSH is recorded.  All fields are little-endian (the host's: the log
 * is read on the machine that wrote it).  A record cut short (the server
 * was killed while appending) ends the log.  Format version 1.
 */
#ifndef AOKI_BLKD_RECORD_H
#define AOKI_BLKD_RECORD_H

#include <stdint.h>

#define BLKD_RECORD_MAGIC 0x52494b41u	/* "AKIR" */

/* Record types (stable: readers depend on them, not on BLK_OP_*). */
enum blkd_record_type {
	BLKD_REC_WRITE = 1,		/* data follows */
	BLKD_REC_FLUSH = 2,
	BLKD_REC_DISCARD = 3,		/* the range reads as zeroes */
	BLKD_REC_WRITE_ZEROES = 4,
};

#define BLKD_REC_FUA 0x1u		/* WRITE: it was durable on completion */

struct blkd_record {
	uint32_t magic;		/* BLKD_RECORD_MAGIC */
	uint16_t type;		/* enum blkd_record_type */
	uint16_t flags;		/* BLKD_REC_FUA */
	uint32_t volume;	/* index of the volume in the server's order */
	uint32_t length;	/* bytes (FLUSH: 0) */
	uint64_t offset;	/* byte offset in the volume (FLUSH: 0) */
	uint64_t seq;		/* 0, 1, 2, ... in log order */
};
_Static_assert(sizeof(struct blkd_record) == 32, "a record header is 32 bytes");

/* blkd_record_open - start the log at @path (created, or appended to).
 * Returns 0 or -errno. */
int blkd_record_open(const char *path);

/* blkd_record_io - log a completed I/O (@op: BLK_OP_*; reads are not
 * logged) on volume @volume; @buf holds a WRITE's data.  A failure to log
 * is reported once on stderr; the I/O's reply is not changed.
 * Thread-safe (one mutex): records are whole and in completion order. */
void blkd_record_io(unsigned volume, uint16_t op, uint32_t flags, uint64_t offset,
		    uint32_t length, const void *buf);

/* blkd_record_enabled - whether --record was given. */
int blkd_record_enabled(void);

#endif
