/* SPDX-License-Identifier: MIT */
/*
 * soak_log.h - aoki-soakd's durable per-client append logs.
 *
 * One file per client (channel) in the state directory:
 *   <state>/log-<uid>-<32 hex digits of the channel identity>
 * exactly SOAK_LOG_FILE_SIZE bytes, mapped MAP_SHARED:
 *   offset 0   struct soak_log_hdr: the entry count (the commit word)
 *   offset 64  a ring of SOAK_LOG_RING x struct soak_log_entry: entry i
 *              (0, 1, 2, ... per client) at i % SOAK_LOG_RING
 * The count is unbounded; the ring keeps the last SOAK_LOG_RING entries,
 * far more than the reconciliation of an interrupted append looks at (a
 * window, at most 4096).  An append writes entry[count % RING], then
 * stores count + 1 (release): a server killed at any instruction leaves
 * the log with or without the entry, never half of it (a half-written
 * slot belongs to an entry that left the ring long ago).  An all-zero
 * file is an empty log, so a file whose creation was cut short (size 0)
 * is simply sized again.
 */
#ifndef AOKI_SOAK_LOG_H
#define AOKI_SOAK_LOG_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"

#define SOAK_LOG_RING 65536u	/* entries kept per client */

struct soak_log_hdr {
	_Atomic uint64_t count;
	uint8_t pad[56];
};

struct soak_log_entry {
	uint64_t seq;		/* aoki_req_seq() of the APPEND */
	uint64_t value;
};

#define SOAK_LOG_FILE_SIZE (sizeof(struct soak_log_hdr) + \
			    (uint64_t)SOAK_LOG_RING * sizeof(struct soak_log_entry))

/* The most clients whose logs one server keeps open. */
#define SOAK_LOGS_MAX 4096u

struct soak_logs;	/* the open logs of one state directory */
struct soak_log;	/* one client's log */

/* Logs in directory @dir (kept by reference).  0 or -ENOMEM. */
int soak_logs_open(const char *dir, struct soak_logs **out);
void soak_logs_close(struct soak_logs *logs);

/*
 * soak_log_get - the log of client @id of @uid, opened (and with @create,
 * created) on first use and kept open.  Returns 0, -ENOENT (absent and
 * !@create), -ENOSPC (SOAK_LOGS_MAX logs open), -EBADMSG (wrong size:
 * not a log), or an open/mmap error.  Thread-safe (a mutex).
 */
int soak_log_get(struct soak_logs *logs, uid_t uid, const uint8_t id[AOKI_CLIENT_ID_LEN],
		 int create, struct soak_log **out);

/* Entries ever appended to the log. */
uint64_t soak_log_count(const struct soak_log *log);

/*
 * soak_log_append - append (@seq, @value); returns its index.  One
 * writer per log (the worker serving the client's channel).  Wait-free.
 */
uint64_t soak_log_append(struct soak_log *log, uint64_t seq, uint64_t value);

/*
 * soak_log_find - look for the entry of @seq among the last @tail entries
 * (a request still in flight has at most window - 1 younger ones; @tail
 * is capped at SOAK_LOG_RING).  Returns 0 with *@index set, or -ENOENT.
 * Wait-free, O(@tail).
 */
int soak_log_find(const struct soak_log *log, uint64_t seq, uint64_t tail, uint64_t *index);

#endif
