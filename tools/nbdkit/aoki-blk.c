/* SPDX-License-Identifier: MIT */
/*
 * aoki-blk.c - nbdkit plugin serving one volume of aoki-blkd over NBD.
 *
 *   nbdkit aoki-blk [port=NAME|PATH] volume=NAME
 *
 * Each NBD connection opens its own struct aoki_blk (its own channel), so
 * nbdkit's worker threads of different connections never share a queue;
 * the threads of one connection share it (the library is thread-safe).
 *
 * The one copy: NBD data arrives in (and must leave from) buffers that
 * nbdkit owns, not in grants the server can map, so every read and write
 * goes through a bounce buffer from aoki_blk_alloc().  This is the only
 * place in Aoki where a data copy is unavoidable; the server itself still
 * moves the bytes between the device and the bounce buffer without one.
 *
 * On an O_DIRECT volume (AOKI_BLK_INFO_DIRECT) every request the server
 * sees is aligned to block_size: the .block_size callback tells clients,
 * and requests that ignore it are served anyway, reads through the
 * covering blocks and writes by read-modify-write of the edge blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "aoki/blk.h"
#include "version.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* Largest bounce buffer: one per request in flight, so bound the memory. */
#define BOUNCE_MAX (4u << 20)
/*
 * Ring slots of each connection's channel.  Few requests are in flight (one
 * per nbdkit thread), but the ring is a FIFO: a slot is reused only once the
 * request that held it a lap earlier has been answered and consumed, so in
 * a small ring the other threads' synchronous calls wait behind one slow
 * request (the library waits for the slot).  1024 slots cost about 64 KiB
 * and make that rare.
 */
#define QUEUE_DEPTH 1024
/* Largest alignment the NBD protocol can advertise (minimum block size). */
#define ALIGN_MAX (64u << 10)

static const char *cfg_port = AOKI_BLK_PORT;
static const char *cfg_volume;

/*
 * Serialises read-modify-write cycles, across all connections of this
 * process.  Only two writes that each cover part of the same block can
 * lose an update (an aligned write covers whole blocks, so it overlaps any
 * RMW of them byte-wise, and overlapping writes have no defined order in
 * NBD); aligned writes therefore never take it.
 */
static pthread_mutex_t rmw_lock = PTHREAD_MUTEX_INITIALIZER;

/* Zeroes for the unaligned edges of a zero request (under two blocks). */
static const char zero_block[2 * ALIGN_MAX];

/* One bounce buffer of a connection's pool. */
struct bounce {
	struct bounce *next;
	char *buf;		/* chunk bytes from aoki_blk_alloc */
};

/* One NBD connection: its volume handle and its bounce-buffer pool. */
struct conn {
	struct aoki_blk *blk;
	struct aoki_blk_info info;
	uint64_t size;		/* exported size: a multiple of align */
	uint32_t align;		/* block_size on an O_DIRECT volume, else 1 */
	uint32_t chunk;		/* bounce buffer bytes: a multiple of align */
	bool readonly;
	pthread_mutex_t lock;	/* guards free */
	struct bounce *free;	/* idle bounce buffers */
};

/* round_down / round_up - @x to a multiple of @a (> 0). */
static uint64_t round_down(uint64_t x, uint32_t a)
{
	return x - x % a;
}

static uint64_t round_up(uint64_t x, uint32_t a)
{
	return round_down(x + a - 1, a);
}

/* is_pow2 - is @x a power of two? */
static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

/*
 * fail - report the failure of @op on [@off, @off + @len) with -errno
 * @res to nbdkit (log message and the errno sent to the client).  Returns
 * -1, what nbdkit's data callbacks return on error.
 */
static int fail(const char *op, int res, uint64_t off, uint64_t len)
{
	nbdkit_error("%s: %s of %" PRIu64 " bytes at %" PRIu64 ": %s",
		     cfg_volume, op, len, off, strerror(-res));
	nbdkit_set_error(-res);
	return -1;
}

/* ------------------------------------------------------------ config */

/*
 * ab_config - accept port=NAME|PATH and volume=NAME.  A port path is made
 * absolute, since nbdkit changes directory when it starts.  Returns 0, or
 * -1 after nbdkit_error for an unknown key or a bad value.
 */
static int ab_config(const char *key, const char *value)
{
	if (strcmp(key, "port") == 0) {
		if (!*value) {
			nbdkit_error("port: empty name");
			return -1;
		}
		cfg_port = strchr(value, '/') ? nbdkit_absolute_path(value) : value;
		return cfg_port ? 0 : -1;
	}
	if (strcmp(key, "volume") == 0) {
		cfg_volume = value;
		return 0;
	}
	nbdkit_error("unknown parameter '%s'", key);
	return -1;
}

/* ab_config_complete - volume= is required.  Returns 0 or -1. */
static int ab_config_complete(void)
{
	if (!cfg_volume || !*cfg_volume) {
		nbdkit_error("the volume=NAME parameter is required");
		return -1;
	}
	return 0;
}

/*
 * ab_get_ready - check once, before serving, that the server answers and
 * has the volume, so that a wrong port or volume name stops nbdkit at
 * start rather than failing every connection.  Opens read-only (what
 * every configuration allows) and closes again: the library keeps no
 * thread, so nothing is lost when nbdkit forks afterwards.  Returns 0 or
 * -1 after nbdkit_error.
 */
static int ab_get_ready(void)
{
	struct aoki_blk *b;
	int r = aoki_blk_open(cfg_port, cfg_volume, 0, NULL, &b);

	if (r < 0) {
		nbdkit_error("cannot open volume '%s' on port '%s': %s",
			     cfg_volume, cfg_port, strerror(-r));
		return -1;
	}
	aoki_blk_close(b);
	return 0;
}

/* -------------------------------------------------------- connection */

/* bounce_get - an idle bounce buffer of @c, or a new one.  NULL: *@err. */
static struct bounce *bounce_get(struct conn *c, int *err)
{
	struct bounce *bb;
	void *buf;

	pthread_mutex_lock(&c->lock);
	bb = c->free;
	if (bb)
		c->free = bb->next;
	pthread_mutex_unlock(&c->lock);
	if (bb)
		return bb;
	bb = malloc(sizeof(*bb));
	if (!bb) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = aoki_blk_alloc(c->blk, c->chunk, &buf);
	if (*err < 0) {
		free(bb);
		return NULL;
	}
	bb->buf = buf;
	return bb;
}

/* bounce_put - return @bb to @c's pool.  Never fails. */
static void bounce_put(struct conn *c, struct bounce *bb)
{
	pthread_mutex_lock(&c->lock);
	bb->next = c->free;
	c->free = bb;
	pthread_mutex_unlock(&c->lock);
}

/*
 * conn_geometry - derive align, chunk and the exported size from @c->info.
 * The size is rounded down to the alignment (an O_DIRECT tail that is not
 * a whole block cannot be read).  Returns 0, or -1 after nbdkit_error for a
 * geometry this plugin cannot serve.
 */
static int conn_geometry(struct conn *c)
{
	const struct aoki_blk_info *in = &c->info;

	c->align = in->flags & AOKI_BLK_INFO_DIRECT ? in->block_size : 1;
	c->chunk = in->max_io < BOUNCE_MAX ? in->max_io : BOUNCE_MAX;
	c->chunk = (uint32_t)round_down(c->chunk, c->align);
	if (!is_pow2(in->block_size) || in->block_size > ALIGN_MAX ||
	    in->mem_align > 4096 || c->chunk == 0) {
		nbdkit_error("%s: unsupported geometry: block_size %" PRIu32
			     ", mem_align %" PRIu32 ", max_io %" PRIu32,
			     cfg_volume, in->block_size, in->mem_align, in->max_io);
		return -1;
	}
	c->size = round_down(in->size, c->align);
	if (c->size != in->size)
		nbdkit_debug("%s: size %" PRIu64 " rounded down to %" PRIu64,
			     cfg_volume, in->size, c->size);
	return 0;
}

/*
 * conn_open_volume - open the volume for @c, read-write unless @readonly.
 * A volume the server only allows read-only (-EROFS) is served read-only
 * (.can_write false) rather than refused.  Returns 0 or -errno.
 */
static int conn_open_volume(struct conn *c, int readonly)
{
	const struct aoki_blk_opts opts = { .queue_depth = QUEUE_DEPTH };
	int r = -EROFS;

	if (!readonly)
		r = aoki_blk_open(cfg_port, cfg_volume, AOKI_BLK_RDWR, &opts, &c->blk);
	if (r == -EROFS) {
		if (!readonly)
			nbdkit_debug("%s: read-only volume, serving it read-only",
				     cfg_volume);
		c->readonly = true;
		r = aoki_blk_open(cfg_port, cfg_volume, 0, &opts, &c->blk);
	}
	return r;
}

/* ab_close - close the connection's volume and free its pool. */
static void ab_close(void *handle)
{
	struct conn *c = handle;
	struct bounce *bb;

	while ((bb = c->free)) {
		c->free = bb->next;
		free(bb);	/* the buffer goes with aoki_blk_close */
	}
	if (c->blk)
		aoki_blk_close(c->blk);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * ab_open - a new NBD connection: open the volume (read-only under
 * nbdkit -r), read its geometry and allocate a first bounce buffer, so
 * that a server short of grants fails the connection, not a request.
 * Returns the handle, or NULL after nbdkit_error.
 */
static void *ab_open(int readonly)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct bounce *bb;
	int r;

	if (!c) {
		nbdkit_error("calloc: %m");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	r = conn_open_volume(c, readonly);
	if (r < 0) {
		nbdkit_error("cannot open volume '%s' on port '%s': %s",
			     cfg_volume, cfg_port, strerror(-r));
		goto fail;
	}
	aoki_blk_get_info(c->blk, &c->info);
	if (c->info.flags & AOKI_BLK_INFO_READONLY)
		c->readonly = true;
	if (conn_geometry(c) < 0)
		goto fail;
	bb = bounce_get(c, &r);
	if (!bb) {
		nbdkit_error("%s: bounce buffer: %s", cfg_volume, strerror(-r));
		goto fail;
	}
	bounce_put(c, bb);
	return c;
fail:
	ab_close(c);
	return NULL;
}

/* ---------------------------------------------------- negotiation */

/* ab_get_size - the exported size (the volume's, see conn_geometry). */
static int64_t ab_get_size(void *handle)
{
	struct conn *c = handle;

	return (int64_t)c->size;
}

/*
 * ab_block_size - minimum: the volume's block size; preferred: 4096 (or
 * the block size if larger); maximum: max_io, rounded down to a multiple
 * of the minimum.  All zero ("no constraints") if these do not make a
 * triple NBD accepts; the plugin serves any request either way.
 */
static int ab_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
			 uint32_t *maximum)
{
	struct conn *c = handle;
	uint32_t min = c->info.block_size;

	*minimum = min;
	*preferred = min > 4096 ? min : 4096;
	*maximum = (uint32_t)round_down(c->info.max_io, min);
	if (*preferred > *maximum)
		*minimum = *preferred = *maximum = 0;
	return 0;
}

/* ab_can_write - false under nbdkit -r and on read-only volumes. */
static int ab_can_write(void *handle)
{
	struct conn *c = handle;

	return !c->readonly;
}

/* ab_can_true - flush, trim, zero and multi-conn: always available. */
static int ab_can_true(void *handle)
{
	return 1;
}

/* ab_can_fua - FUA is native: writes pass AOKI_BLK_FUA to the server. */
static int ab_can_fua(void *handle)
{
	return NBDKIT_FUA_NATIVE;
}

/* ------------------------------------------------------------- data */

/*
 * blk_sync - run @io (buf, len, offset, flags as struct aoki_blk_io) with
 * the synchronous call of its op.  Returns what the call returns.
 */
static int64_t blk_sync(struct conn *c, const struct aoki_blk_io *io)
{
	switch (io->op) {
	case AOKI_BLK_OP_READ:
		return aoki_blk_pread(c->blk, io->buf, io->len, io->offset);
	case AOKI_BLK_OP_WRITE:
		return aoki_blk_pwrite(c->blk, io->buf, io->len, io->offset, io->flags);
	case AOKI_BLK_OP_FLUSH:
		return aoki_blk_flush(c->blk);
	case AOKI_BLK_OP_DISCARD:
		return aoki_blk_discard(c->blk, io->offset, io->len);
	default:
		return aoki_blk_write_zeroes(c->blk, io->offset, io->len);
	}
}

/* blk_range - flush, discard or write-zeroes [@off, @off + @len).  0 or -errno. */
static int blk_range(struct conn *c, uint16_t op, uint64_t off, uint32_t len)
{
	struct aoki_blk_io io = { .op = op, .len = len, .offset = off };

	return blk_sync(c, &io);
}

/* read_exact - read @len bytes at @off into the bounce slice @buf. */
static int read_exact(struct conn *c, char *buf, uint64_t len, uint64_t off)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_READ, .len = len, .offset = off,
				  .buf = buf };
	int64_t n = blk_sync(c, &io);

	if (n < 0)
		return n;
	return (uint64_t)n == len ? 0 : -EIO;
}

/* write_exact - write @len bytes of the bounce slice @buf at @off. */
static int write_exact(struct conn *c, const char *buf, uint64_t len, uint64_t off,
		       unsigned flags)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_WRITE, .flags = flags, .len = len,
				  .offset = off, .buf = (char *)buf };
	int64_t n = blk_sync(c, &io);

	if (n < 0)
		return n;
	return (uint64_t)n == len ? 0 : -EIO;
}

/* window_end - end of the aligned window from @start covering up to @end. */
static uint64_t window_end(const struct conn *c, uint64_t start, uint64_t end)
{
	uint64_t stop = round_up(end, c->align);

	return stop - start > c->chunk ? start + c->chunk : stop;
}

/*
 * do_read - copy [@off, @off + @len) of the volume into @dst, through @bb,
 * one aligned window of at most chunk bytes at a time.  Returns 0 or
 * -errno.
 */
static int do_read(struct conn *c, struct bounce *bb, char *dst, uint64_t len,
		   uint64_t off)
{
	uint64_t end = off + len;

	while (off < end) {
		uint64_t start = round_down(off, c->align);
		uint64_t stop = window_end(c, start, end);
		uint64_t n = (stop < end ? stop : end) - off;
		int r = read_exact(c, bb->buf, stop - start, start);

		if (r < 0)
			return r;
		memcpy(dst, bb->buf + (off - start), n);
		dst += n;
		off += n;
	}
	return 0;
}

/*
 * rmw_edges - before the window [@start, @stop) is written with the bytes
 * [@off, @end), read the blocks it covers only in part into @buf: the
 * first when @off is past @start, the last when @end is short of @stop
 * (once, if it is the same block).  Returns 0 or -errno.
 */
static int rmw_edges(struct conn *c, char *buf, uint64_t start, uint64_t stop,
		     uint64_t off, uint64_t end)
{
	uint64_t last = stop - c->align;
	int r = 0;

	if (off > start)
		r = read_exact(c, buf, c->align, start);
	if (r == 0 && end < stop && (last > start || off == start))
		r = read_exact(c, buf + (last - start), c->align, last);
	return r;
}

/*
 * do_write - write @src to [@off, @off + @len) of the volume through @bb,
 * one aligned window of at most chunk bytes at a time, reading partly
 * covered edge blocks first.  @flags: AOKI_BLK_FUA or 0.  The caller holds
 * rmw_lock when the range is not aligned.  Returns 0 or -errno.
 */
static int do_write(struct conn *c, struct bounce *bb, const char *src, uint64_t len,
		    uint64_t off, unsigned flags)
{
	uint64_t end = off + len;

	while (off < end) {
		uint64_t start = round_down(off, c->align);
		uint64_t stop = window_end(c, start, end);
		uint64_t n = (stop < end ? stop : end) - off;
		int r = rmw_edges(c, bb->buf, start, stop, off, end);

		if (r < 0)
			return r;
		memcpy(bb->buf + (off - start), src, n);
		r = write_exact(c, bb->buf, stop - start, start, flags);
		if (r < 0)
			return r;
		src += n;
		off += n;
	}
	return 0;
}

/* is_aligned - does [@off, @off + @len) start and end on block bounds? */
static bool is_aligned(const struct conn *c, uint64_t off, uint64_t len)
{
	return off % c->align == 0 && len % c->align == 0;
}

/*
 * write_locked - do_write with a bounce buffer of @c's pool, under
 * rmw_lock when the range needs a read-modify-write.  Returns 0 or -errno.
 */
static int write_locked(struct conn *c, const char *src, uint64_t len, uint64_t off,
			unsigned flags)
{
	bool rmw = !is_aligned(c, off, len);
	struct bounce *bb;
	int r;

	bb = bounce_get(c, &r);
	if (!bb)
		return r;
	if (rmw)
		pthread_mutex_lock(&rmw_lock);
	r = do_write(c, bb, src, len, off, flags);
	if (rmw)
		pthread_mutex_unlock(&rmw_lock);
	bounce_put(c, bb);
	return r;
}

/* ab_pread - serve an NBD read.  Returns 0, or -1 with the error set. */
static int ab_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct conn *c = handle;
	struct bounce *bb;
	int r;

	bb = bounce_get(c, &r);
	if (!bb)
		return fail("pread (bounce buffer)", r, offset, count);
	r = do_read(c, bb, buf, count, offset);
	bounce_put(c, bb);
	return r < 0 ? fail("pread", r, offset, count) : 0;
}

/* ab_pwrite - serve an NBD write (FUA native).  0, or -1 with the error. */
static int ab_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct conn *c = handle;
	unsigned fua = flags & NBDKIT_FLAG_FUA ? AOKI_BLK_FUA : 0;
	int r = write_locked(c, buf, count, offset, fua);

	return r < 0 ? fail("pwrite", r, offset, count) : 0;
}

/* ab_flush - aoki_blk_flush.  Returns 0, or -1 with the error set. */
static int ab_flush(void *handle, uint32_t flags)
{
	struct conn *c = handle;
	int r = blk_range(c, AOKI_BLK_OP_FLUSH, 0, 0);

	return r < 0 ? fail("flush", r, 0, 0) : 0;
}

/* fua_flush - after a trim or zero with NBDKIT_FLAG_FUA: flush.  0 or -1. */
static int fua_flush(struct conn *c, uint32_t flags, const char *op, uint64_t off,
		     uint64_t len)
{
	int r;

	if (!(flags & NBDKIT_FLAG_FUA))
		return 0;
	r = blk_range(c, AOKI_BLK_OP_FLUSH, 0, 0);
	return r < 0 ? fail(op, r, off, len) : 0;
}

/*
 * ab_trim - discard the whole blocks inside the range (a trim is advisory:
 * partial blocks are left alone, and a volume that cannot discard,
 * -EOPNOTSUPP, succeeds without effect, as nbdkit's file plugin does).
 * Returns 0, or -1 with the error set.
 */
static int ab_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct conn *c = handle;
	uint64_t start = round_up(offset, c->align);
	uint64_t stop = round_down(offset + count, c->align);
	int r = 0;

	if (start < stop)
		r = blk_range(c, AOKI_BLK_OP_DISCARD, start, stop - start);
	if (r == -EOPNOTSUPP || r == -ENOTSUP)
		nbdkit_debug("%s: discard not supported, trim ignored", cfg_volume);
	else if (r < 0)
		return fail("trim", r, offset, count);
	return fua_flush(c, flags, "trim (flush)", offset, count);
}

/*
 * zero_edges - write zeroes to the parts of [@off, @end) outside its whole
 * blocks [@start, @stop) (read-modify-write, under rmw_lock; no FUA: the
 * caller flushes).  Returns 0 or -errno.
 */
static int zero_edges(struct conn *c, uint64_t off, uint64_t end, uint64_t start,
		      uint64_t stop)
{
	int r = 0;

	if (start >= stop) /* no whole block: all in (at most) two blocks */
		return write_locked(c, zero_block, end - off, off, 0);
	if (off < start)
		r = write_locked(c, zero_block, start - off, off, 0);
	if (r == 0 && stop < end)
		r = write_locked(c, zero_block, end - stop, stop, 0);
	return r;
}

/*
 * ab_zero - write zeroes: aoki_blk_write_zeroes on the whole blocks, a
 * read-modify-write of the partial edge blocks.  A volume that cannot
 * write zeroes (-EOPNOTSUPP) makes it fail with ENOTSUP before anything is
 * written, which tells nbdkit to fall back to .pwrite of a zero buffer
 * (and a fast-zero request to fail, as it must).  NBDKIT_FLAG_MAY_TRIM is
 * ignored: write-zeroes is at least as good as a discard here.  Returns
 * 0, or -1 with the error set.
 */
static int ab_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct conn *c = handle;
	uint64_t end = offset + count;
	uint64_t start = round_up(offset, c->align);
	uint64_t stop = round_down(end, c->align);
	int r = 0;

	if (start < stop)
		r = blk_range(c, AOKI_BLK_OP_WRITE_ZEROES, start, stop - start);
	if (r == -EOPNOTSUPP || r == -ENOTSUP) {
		nbdkit_debug("%s: write-zeroes not supported, nbdkit falls back to pwrite",
			     cfg_volume);
		nbdkit_set_error(ENOTSUP);
		return -1;
	}
	if (r == 0)
		r = zero_edges(c, offset, end, start, stop);
	if (r < 0)
		return fail("zero", r, offset, count);
	return fua_flush(c, flags, "zero (flush)", offset, count);
}

static struct nbdkit_plugin plugin = {
	.name = "aoki-blk",
	.longname = "Aoki block server (aoki-blkd) plugin",
	.version = AOKI_VERSION,
	.config = ab_config,
	.config_complete = ab_config_complete,
	.config_help =
		"port=<NAME|PATH>     aoki-blkd port (default \"" AOKI_BLK_PORT "\")\n"
		"[volume=]<NAME>      (required) the volume to serve",
	.magic_config_key = "volume",
	.get_ready = ab_get_ready,
	.open = ab_open,
	.close = ab_close,
	.get_size = ab_get_size,
	.block_size = ab_block_size,
	.can_write = ab_can_write,
	.can_flush = ab_can_true,
	.can_trim = ab_can_true,
	.can_zero = ab_can_true,
	.can_multi_conn = ab_can_true,
	.can_fua = ab_can_fua,
	.pread = ab_pread,
	.pwrite = ab_pwrite,
	.flush = ab_flush,
	.trim = ab_trim,
	.zero = ab_zero,
};

NBDKIT_REGISTER_PLUGIN(plugin)
