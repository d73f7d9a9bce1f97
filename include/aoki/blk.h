/* SPDX-License-Identifier: MIT */
/*
 * aoki/blk.h - client library of aoki-blkd, the Aoki storage server.
 *
 * A struct aoki_blk is one open volume of a blkd server: an Aoki IPC
 * channel plus the volume's handle.  Data moves between the volume and
 * buffers that the caller allocates with aoki_blk_alloc(): they live in
 * grants (shared memory the server maps), and blkd hands them to the
 * kernel as io_uring fixed buffers, so the device reads and writes them
 * directly.  No byte of data passes through the server or the channel.
 *
 * A server that crashes and is restarted (aoki-init) is reconnected
 * transparently: requests it had taken are issued again, so a call only
 * returns once its I/O is done, and nothing acknowledged is lost.
 *
 * Conventions (liburing style): functions return 0 or a non-negative
 * count, and -errno on failure; errno is never set.  Thread-safe unless
 * stated.  I/O errors:
 *   -EINVAL    bad arguments; on an O_DIRECT volume (AOKI_BLK_INFO_DIRECT)
 *              also an offset, length or buffer address that is not a
 *              multiple of block_size (mem_align for addresses)
 *   -ERANGE    the range runs past the end of the volume
 *   -EFAULT    the buffer is not (entirely) inside one aoki_blk_alloc()
 *              buffer area
 *   -EBADF     (raw protocol clients) an unknown volume handle or grant
 *   -EROFS     a write, discard or write-zeroes to a volume opened or
 *              configured read-only
 *   -EOPNOTSUPP discard or write-zeroes the volume cannot do
 *   -ESTALE    the server was restarted with a configuration in which the
 *              volume moved: open it again
 *   -EIO etc.  what the kernel reported for the device
 *   and the channel errors of aoki_call(3) (-ETIMEDOUT, -ECONNRESET, ...).
 */
#ifndef AOKI_BLK_H
#define AOKI_BLK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The port aoki-blkd listens on by default. */
#define AOKI_BLK_PORT "blk"

struct aoki_blk;		/* one open volume (opaque) */

/* aoki_blk_open flags. */
#define AOKI_BLK_RDWR 0x1u	/* open for writing too (else read-only) */
#define AOKI_BLK_FENCE 0x2u	/* return only once every I/O the server had
				 * in flight has completed, whoever's: a
				 * restarted client's writes then cannot be
				 * overtaken by late ones of the process it
				 * replaces */

/* aoki_blk_pwrite / struct aoki_blk_io flags. */
#define AOKI_BLK_FUA 0x1u	/* the write is durable when it completes */

/* struct aoki_blk_info flags. */
#define AOKI_BLK_INFO_READONLY 0x1u	/* no writes through this handle */
#define AOKI_BLK_INFO_DIRECT   0x2u	/* O_DIRECT: alignment rules apply */
#define AOKI_BLK_INFO_BLOCKDEV 0x4u	/* a block device, not a file */

struct aoki_blk_info {
	uint64_t size;		/* bytes */
	uint32_t block_size;	/* offsets and lengths: multiples of it */
	uint32_t mem_align;	/* buffer addresses: multiples of it */
	uint32_t max_io;	/* most bytes in one read or write */
	uint32_t flags;		/* AOKI_BLK_INFO_* */
};

/* Default polling time of a waiting call: long enough to cover a fast
 * device's I/O, so that a completion costs no kernel wake-up. */
#define AOKI_BLK_SPIN_NS 200000

/* Open options; zero-initialise and set what you need. */
struct aoki_blk_opts {
	unsigned queue_depth;	/* requests in flight at once, a power of
				 * two in [2, 4096]; 0: 64 */
	size_t arena_size;	/* bytes of each buffer area (grant); 0: 8 MiB */
	int64_t timeout_ns;	/* per-request deadline; 0: none */
	int64_t spin_ns;	/* how long a waiting call polls before it
				 * sleeps; <0: never; 0: AOKI_BLK_SPIN_NS */
	int64_t reconnect_ns;	/* as struct aoki_chan_opts; 0: 30 s */
};

/*
 * aoki_blk_open - connect to the blkd server on @port (a name or socket
 * path, see aoki_port_path(3); NULL: AOKI_BLK_PORT) and open volume
 * @volume, read-only or with AOKI_BLK_RDWR read-write.  @opts may be NULL.
 * Returns 0 with *@out set, or -ECONNREFUSED (no server: no socket at
 * the port, or nobody listening on it), -ENOENT (the server has no such
 * volume), -EACCES (the server's configuration does not let this user
 * open it so; a user that no volume admits is refused at connect),
 * -EROFS (AOKI_BLK_RDWR on a read-only volume), -ENAMETOOLONG (a name
 * over 27 bytes), -EINVAL, -ENOMEM, or another connect error
 * (aoki_connect(3): -EPROTO, -ETIMEDOUT, ...).  Blocking (connect, with
 * aoki_connect's 5 s deadline, and one round trip).
 */
int aoki_blk_open(const char *port, const char *volume, unsigned flags,
		  const struct aoki_blk_opts *opts, struct aoki_blk **out);

/*
 * aoki_blk_close - close the volume and free every buffer of @b.  I/O
 * still in flight is abandoned.  No other thread may use @b during or
 * after the call.  Never fails.
 */
void aoki_blk_close(struct aoki_blk *b);

/*
 * aoki_blk_get_info - the volume's geometry as the server reported it at
 * open.  Wait-free (no round trip).
 */
void aoki_blk_get_info(const struct aoki_blk *b, struct aoki_blk_info *out);

/*
 * aoki_blk_alloc - allocate @len bytes of I/O buffer, aligned to 4096
 * bytes, from a grant shared with the server.  Grows by a new grant of
 * arena_size (or @len rounded up, if larger) when the areas are full.
 * Returns 0 with *@buf set, -EINVAL (@len 0), -ENOMEM, -ENOSPC (the
 * channel's grant table is full), or a channel error.  Blocking only
 * when it creates a grant (one control round trip); else a short lock.
 */
int aoki_blk_alloc(struct aoki_blk *b, size_t len, void **buf);

/*
 * aoki_blk_free - return a buffer from aoki_blk_alloc (NULL: nothing).
 * Its memory stays mapped until aoki_blk_close.  Never fails.
 */
void aoki_blk_free(struct aoki_blk *b, void *buf);

/*
 * aoki_blk_pread / aoki_blk_pwrite - move @len bytes between the volume
 * at byte @offset and @buf, which must lie inside one aoki_blk_alloc()
 * area (any part of it: buffers may be sliced).  @flags for pwrite: 0 or
 * AOKI_BLK_FUA.  Return @len, or -errno (see the top of this file).
 * Blocking until the I/O completes, as aoki_call(3); when other threads'
 * calls hold every slot of the ring it waits for one, within the open's
 * timeout_ns if set; -EAGAIN only when asynchronous requests
 * (aoki_blk_submit) hold every slot (reap first).
 */
ssize_t aoki_blk_pread(struct aoki_blk *b, void *buf, size_t len, uint64_t offset);
ssize_t aoki_blk_pwrite(struct aoki_blk *b, const void *buf, size_t len, uint64_t offset,
			unsigned flags);

/*
 * aoki_blk_flush - make every write completed before the call durable
 * (fdatasync(2) of the volume: the device's write cache is flushed).
 * Returns 0 or -errno.  Blocking.
 */
int aoki_blk_flush(struct aoki_blk *b);

/*
 * aoki_blk_discard - tell the volume that [@offset, @offset + @len) is
 * unused: later reads return zeroes on files (hole punched) and
 * unspecified data on devices.  aoki_blk_write_zeroes - make the range
 * read back as zeroes.  Both return 0, -EINVAL (@len 0 or misaligned on
 * an O_DIRECT volume), -ERANGE, -EROFS, -EOPNOTSUPP (the file system or
 * device cannot), or another -errno.  Blocking.
 */
int aoki_blk_discard(struct aoki_blk *b, uint64_t offset, uint64_t len);
int aoki_blk_write_zeroes(struct aoki_blk *b, uint64_t offset, uint64_t len);

/* Asynchronous I/O: one request. */
enum aoki_blk_opcode {
	AOKI_BLK_OP_READ = 1,
	AOKI_BLK_OP_WRITE,
	AOKI_BLK_OP_FLUSH,
	AOKI_BLK_OP_DISCARD,
	AOKI_BLK_OP_WRITE_ZEROES,
};
struct aoki_blk_io {
	uint16_t op;		/* enum aoki_blk_opcode */
	uint16_t flags;		/* AOKI_BLK_FUA (writes), AOKI_BLK_IMPORTED
				 * (reads and writes), else 0 */
	uint32_t len;		/* bytes; ignored by FLUSH */
	uint64_t offset;	/* ignored by FLUSH */
	void *buf;		/* READ/WRITE: inside an aoki_blk_alloc area
				 * (ignored with AOKI_BLK_IMPORTED) */
	uint64_t tag;		/* returned in the completion */
	uint32_t import;	/* AOKI_BLK_IMPORTED: an aoki_blk_import id */
	uint32_t reserved;	/* 0 */
	uint64_t import_offset;	/* AOKI_BLK_IMPORTED: where the buffer
				 * starts in the imported region */
};

/* struct aoki_blk_io flag: the buffer is in a region of another process
 * that this one passed on with aoki_blk_import(), not in an
 * aoki_blk_alloc() area. */
#define AOKI_BLK_IMPORTED 0x2u

/*
 * aoki_blk_import - register a shared region that this process received
 * from one of its own clients (aoki_req_grant_dup(3)) with the storage
 * server, so that I/O moves data straight between the device and that
 * client's memory: a server passing its client's buffer on (aoki-fsd).
 * @memfd must be sealed against shrinking; @rights (AOKI_GRANT_READ:
 * blkd may read it, for writes; AOKI_GRANT_WRITE: blkd may write it, for
 * reads) must not exceed what the region's owner granted.  The caller
 * keeps @memfd.  *@id names the region in struct aoki_blk_io.import.
 * Returns 0, -EINVAL, -ENOSPC (the channel's grant table is full: 1024
 * grants with the arenas), or a channel error.  Blocking (one control
 * round trip).  A server restart keeps imports (the IPC library hands
 * them to the new server).
 */
int aoki_blk_import(struct aoki_blk *b, int memfd, unsigned rights, uint32_t *id);

/*
 * aoki_blk_unimport - withdraw an imported region: when it returns 0 the
 * storage server has unmapped it and no I/O of this volume touches it
 * any more (requests submitted before the call are ordered before it).
 * Returns 0, -ENOENT, or a channel error.  Blocking (aoki_grant_revoke).
 */
int aoki_blk_unimport(struct aoki_blk *b, uint32_t id);

/* One completion: @res is as the synchronous call would return. */
struct aoki_blk_cqe {
	uint64_t tag;
	int64_t res;
};

/*
 * aoki_blk_submit - queue up to @n requests, in order.  Returns how many
 * were queued: fewer when every slot of the ring holds a request not yet
 * reaped (queue_depth of them; completions may come in any order, and a
 * reaped one frees its slot at once): reap and submit the rest.  A bad request (-EINVAL,
 * -EFAULT, -EROFS) is not queued and ends the batch: the count before it
 * is returned, or its error if it was the first.  Or a lost channel's
 * error.  Lock-free per request
 * (aoki_submit(3)); wakes the server at most once.
 */
int aoki_blk_submit(struct aoki_blk *b, const struct aoki_blk_io *ios, unsigned n);

/*
 * aoki_blk_reap - collect up to @max completions, waiting until at least
 * @min_complete are there or @timeout_ns passes (0: do not wait; <0: the
 * open's timeout, or forever).  Returns the number collected, or a lost
 * channel's error.  As aoki_reap(3).
 */
int aoki_blk_reap(struct aoki_blk *b, struct aoki_blk_cqe *cqes, unsigned max,
		  unsigned min_complete, int64_t timeout_ns);

/*
 * aoki_blk_eventfd / aoki_blk_arm - for event loops: a descriptor that
 * becomes readable when completions may be waiting, and the call that
 * arms it before sleeping (1: completions already wait, do not sleep).
 * As aoki_chan_eventfd(3) and aoki_chan_arm(3).
 */
int aoki_blk_eventfd(struct aoki_blk *b);
int aoki_blk_arm(struct aoki_blk *b);

#ifdef __cplusplus
}
#endif
#endif /* AOKI_BLK_H */
