/* SPDX-License-Identifier: MIT */
/*
 * blkd.h - aoki-blkd, the Aoki storage server (private to servers/blkd).
 *
 *   config.c   the configuration file and --volume options
 *   volume.c   opening volumes: O_DIRECT where possible, geometry
 *   access.c   who may connect (the IPC policy) and open what (per-volume
 *              allow lists)
 *   handler.c  requests: decode, check, hand to the worker's ring
 *   io.c       one io_uring per worker: submission and completion (io.h)
 *   io_fixed.c client grants as io_uring registered (fixed) buffers
 *   io_sleep.c sleeping in the ring until a completion or a doorbell
 *   record.c   the --record write log, a test aid (record.h)
 *   stats.c    the figures of the stats request
 *   mem.c      the server's memory: the heap, or its compartment's when
 *              hosted in an application
 *   options.c  the command-line options (the daemon's and a hosted one's)
 *   hosted.c   aoki-blkd as a server hosted in an application (aoki/host.h)
 *   main.c     the daemon: options, serving
 */
#ifndef AOKI_BLKD_H
#define AOKI_BLKD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"
#include "proto.h"	/* lib/blk: the wire protocol (mk/blkd.mk) */

#define BLKD_MAX_VOLUMES 64	/* fits BLK_HANDLE_INDEX */
#define BLKD_MAX_ALLOW 16
#define BLKD_MAX_IO (8u << 20)	/* most bytes in one READ or WRITE */
/* An idle worker polls this long before sleeping: about a fast device's
 * I/O time, so that its completions are found without a wake-up. */
#define BLKD_SPIN_NS 200000
/* Requests taken from one channel per turn.  One: each request reaches
 * the kernel at once (requests of all channels served in a turn still go
 * in one io_uring_enter), and completions are published between them; a
 * deeper batch held completions back while a long submission ran, so a
 * polling client ran out of polling and slept (docs/benchmarks.md). */
#define BLKD_BATCH 1

/* One allow-list entry: a uid (or any uid) and what it may do. */
struct blkd_allow {
	uid_t uid;
	int any;		/* "*": every uid */
	int write;		/* may open read-write */
};

struct blkd_volume {
	char name[BLK_NAME_MAX + 1];
	uint32_t handle_name;	/* blk_handle_name(name) */
	char *path;
	int read_only;		/* configured read-only */
	int fd;
	int direct;		/* opened O_DIRECT */
	int blockdev;
	uint64_t size;
	uint32_t block_size;
	uint32_t mem_align;
	struct blkd_allow allow[BLKD_MAX_ALLOW];
	unsigned nallow;	/* 0: the server's uid and root, read-write */
};

#define BLKD_MAX_WORKERS 64	/* --workers 1..64 */

/* What one worker's I/O did, for the stats request (stats.c).  Written
 * by that worker only, with a relaxed load and store (no locked
 * instruction on the I/O path); read, relaxed, from any worker.  A cache
 * line of its own: workers do not share one. */
struct blkd_io_count {
	_Alignas(64) _Atomic uint64_t reads, writes, flushes, discards, errors;
	_Atomic uint64_t read_bytes, write_bytes;
};

struct aoki_host;

struct blkd {
	struct blkd_volume vol[BLKD_MAX_VOLUMES];
	unsigned nvol;
	uid_t uid;		/* the server's */
	struct blkd_io_count count[BLKD_MAX_WORKERS];	/* by worker index */
	struct aoki_host *host;	/* hosted in an application; NULL: a daemon */
};

/* The options that only the daemon acts on (options.c). */
struct blkd_options {
	const char *config;
	const char *record;
	int check;
};

/* options.c: parse aoki-blkd's command line into @d, @cfg and @o.
 * Returns -1 to go on, or the exit status (0 after --help/--version, 2
 * after a usage or configuration error, said on stderr). */
int blkd_parse_options(int argc, char **argv, struct blkd *d, struct aoki_server_config *cfg,
		       struct blkd_options *o);

/* mem.c: @n zeroed bytes of the server's memory (the heap, or its
 * compartment's heap when hosted), NULL if out of memory; blkd_free
 * returns them (NULL ignored); blkd_strdup copies a string there. */
void *blkd_zalloc(const struct blkd *d, size_t n);
void blkd_free(const struct blkd *d, void *p);
char *blkd_strdup(const struct blkd *d, const char *s);

/* config.c: parse configuration file @path into @d.  On error writes
 * "FILE:LINE: what" into @err and returns -EINVAL (or -errno of fopen). */
int blkd_config_load(struct blkd *d, const char *path, char *err, size_t errcap);
/* config.c: forget every volume (free their paths). */
void blkd_config_free(struct blkd *d);
/* config.c: add the volume of a --volume NAME=PATH[:ro] option. */
int blkd_config_volume_arg(struct blkd *d, const char *arg, char *err, size_t errcap);
/* config.c: add a volume; -EEXIST (name taken), -ENOSPC, -EINVAL (name). */
int blkd_volume_add(struct blkd *d, const char *name, const char *path, int read_only,
		    struct blkd_volume **out);

/* volume.c: open every volume and learn its geometry; logs a notice for
 * each that falls back to buffered I/O.  With @claim, take each file
 * served read-write for this server alone (-EBUSY while another server
 * holds it, after waiting out a server that is going away); without
 * (--check), only look.  Returns 0 or -errno, with a message naming the
 * volume on stderr. */
int blkd_volumes_open(struct blkd *d, int quiet, int claim);
void blkd_volumes_close(struct blkd *d);

/* access.c: may the peer open @v (@write: read-write)?  0, -EACCES, or
 * -EROFS (write to a read-only volume). */
int blkd_access(const struct blkd *d, const struct blkd_volume *v, uid_t uid, int write);
/* access.c: the IPC policy (@arg: the struct blkd): admit root, the
 * server's user, and every uid that some volume lets open it at least
 * read-only; -EACCES for the rest, at connect.  Which volume and how is
 * blkd_access's decision, at each request. */
int blkd_policy(const struct aoki_peer *peer, void *arg);
/* access.c: does some allow list admit a uid other than root and the
 * server's ('*' included)?  Then other users must reach the socket. */
int blkd_admits_others(const struct blkd *d);

/* handler.c: the aoki_handler_fn of the server; @arg is the struct blkd. */
int blkd_handle(struct aoki_req *req, void *arg);

/* stats.c: the server's figures for the stats request (cfg.stats_fn;
 * @arg is the struct blkd): I/Os and bytes since it started. */
int blkd_stats(void *arg, void *buf, size_t cap);

/* io.c: the worker extension (one io_uring per worker). */
extern const struct aoki_worker_ops blkd_io_ops;

/* io.c: an I/O the handler has checked, for the worker's ring. */
struct blkd_io_args {
	const struct blkd_volume *vol;
	unsigned vol_index;	/* fixed-file index */
	uint16_t op;		/* BLK_OP_READ ... BLK_OP_WRITE_ZEROES */
	uint32_t flags;		/* AOKI_BLK_FUA */
	uint64_t offset;
	uint32_t length;
	void *buf;		/* READ/WRITE: in a grant */
	struct aoki_grant_info grant;	/* READ/WRITE: the grant it is in */
};

/* io.c: defer @req and queue its I/O on the worker's ring; the reply is
 * sent when it completes.  Returns AOKI_DEFERRED, or -errno to reply now. */
int blkd_io_start(struct aoki_req *req, const struct blkd_io_args *a);
/* io.c: reply @rep (@len bytes, status 0) once every I/O this worker had
 * in flight has completed (BLK_OPEN_FENCE); at once if none.  Returns 0
 * (replied) or AOKI_DEFERRED, or -ENOMEM. */
int blkd_io_fence(struct aoki_req *req, const void *rep, size_t len);

#endif
