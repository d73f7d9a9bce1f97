/* SPDX-License-Identifier: MIT */
/*
 * data.c - file data.  READ and WRITE map the file range to device
 * blocks (libext2fs extent calls; allocation for writes) on the metadata
 * thread, then pass the client's own buffer on to blkd: whole blocks move
 * between the device and the client's memory without fsd touching them.
 * Only the partial blocks at the two ends of a request go through fsd
 * (read-modify-write in its bounce buffer), and holes and unwritten
 * extents are zero-filled; both are counted (stats: bytes_copied,
 * bytes_zeroed).  A write into newly allocated blocks, or one that
 * extends the file, is "ordered": the transaction that records the new
 * mapping or size commits only after the data has reached blkd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"

/* One mapped stretch of a file: device block @pblk (0: a hole) for
 * @len blocks from logical block @lblk; @uninit: an unwritten extent. */
struct run {
	uint64_t lblk, pblk, len;
	int uninit;
};

typedef int (*run_fn)(struct fsd *d, const struct run *r, void *arg);

/* The file bytes [a, b) of @run inside the request's [off, end), and the
 * whole blocks among them, [head, tail): what is left on either side is
 * a partial block (an edge). */
struct span {
	uint64_t a, b, head, tail;
};

static void run_span(const struct fsd *d, const struct run *run, uint64_t off, uint64_t end,
		     struct span *s)
{
	s->a = run->lblk * d->bsize;
	s->b = (run->lblk + run->len) * d->bsize;
	if (s->a < off)
		s->a = off;
	if (s->b > end)
		s->b = end;
	s->head = (s->a + d->bsize - 1) / d->bsize * d->bsize;
	s->tail = s->b / d->bsize * d->bsize;
	if (s->head > s->b)
		s->head = s->b;
	if (s->tail < s->head)
		s->tail = s->head;
}

/* The device block holding file byte @byte of @run. */
static uint64_t pblk_of(const struct fsd *d, const struct run *run, uint64_t byte)
{
	return run->pblk + byte / d->bsize - run->lblk;
}

/* Call @fn for each run of [lblk, lblk + count), in order. */
static int map_range(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t lblk,
		     uint64_t count, run_fn fn, void *arg)
{
	uint64_t end = lblk + count, p = lblk;
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t e;
	int r = 0;

	if (!(in->i_flags & EXT4_EXTENTS_FL)) {
		/* Block-mapped (ext2/3) file: one lookup per block. */
		while (p < end && r == 0) {
			blk64_t pb = 0;
			struct run run = { p, 0, 1, 0 };

			e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)in, NULL, 0, p, NULL, &pb);
			if (e)
				return fsd_errno(e);
			run.pblk = pb;
			r = fn(d, &run, arg);
			p++;
		}
		return r;
	}
	e = ext2fs_extent_open2(d->fs, ino, (struct ext2_inode *)in, &h);
	if (e)
		return fsd_errno(e);
	while (p < end && r == 0) {
		struct run run = { p, 0, 0, 0 };

		e = ext2fs_extent_goto2(h, 0, p);
		if (e == 0 && !ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex) &&
		    ex.e_lblk <= p && p < ex.e_lblk + ex.e_len) {
			run.pblk = ex.e_pblk + (p - ex.e_lblk);
			run.len = ex.e_lblk + ex.e_len - p;
			run.uninit = !!(ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT);
		} else if (e == 0 || e == EXT2_ET_EXTENT_NOT_FOUND) {
			/* A hole: up to the next extent that starts after p. */
			uint64_t next = end;
			errcode_t g = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
			unsigned guard = 0;

			while (!g && guard++ < (1u << 24)) {
				if ((ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) && ex.e_lblk > p) {
					next = ex.e_lblk < end ? ex.e_lblk : end;
					break;
				}
				g = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ex);
			}
			run.len = next - p;
		} else {
			r = fsd_errno(e);
			break;
		}
		if (run.len > end - p)
			run.len = end - p;
		if (run.pblk && run.pblk + run.len > ext2fs_blocks_count(d->fs->super)) {
			r = -EUCLEAN;
			break;
		}
		r = fn(d, &run, arg);
		p += run.len;
	}
	ext2fs_extent_free(h);
	return r;
}

struct fill_map {
	uint64_t first, *map;
};

static int fill_run(struct fsd *d, const struct run *run, void *arg)
{
	struct fill_map *f = arg;

	for (uint64_t i = 0; i < run->len; i++)
		f->map[run->lblk - f->first + i] = run->pblk && !run->uninit ? run->pblk + i : 0;
	return 0;
}

int file_map(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t *map,
	     uint64_t n)
{
	struct fill_map f = { 0, map };

	return map_range(d, ino, in, 0, n, fill_run, &f);
}

/* A data write will go to device blocks [pblk, pblk + n): forget any
 * cached metadata image of them; a committed one must reach home and
 * leave the log first, or a replay would write it over the data. */
static int claim_blocks(struct fsd *d, uint64_t pblk, uint64_t n)
{
	int need_checkpoint = 0;

	for (uint64_t b = pblk; b < pblk + n; b++) {
		struct cache_block *cb = cache_find(&d->cache, b);

		/* Dirty ones too: the staging ring holds their image. */
		if (cb && cb->state != CB_CLEAN)
			need_checkpoint = 1;
	}
	if (need_checkpoint) {
		int r = txn_commit(d);

		if (r == 0)
			r = txn_checkpoint(d);
		if (r < 0)
			return r;
	}
	for (uint64_t b = pblk; b < pblk + n; b++)
		cache_forget(&d->cache, b);
	return 0;
}

/* ---------------------------------------------------------------- read */

struct read_ctx {
	struct fs_io_req io;
	uint8_t *client;	/* the client's buffer (grant) */
	uint64_t off, end;	/* file bytes to read */
	uint32_t import;
	struct fsd_pending *p;
	int bounce;		/* the client buffer is misaligned for O_DIRECT */
};

/* Is the client's buffer, where whole blocks of the request start,
 * aligned as the device needs?  If not, everything goes through fsd. */
static int misaligned(struct fsd *d, uint64_t grant_offset, uint64_t off)
{
	uint64_t first_whole = (d->bsize - off % d->bsize) % d->bsize;

	return (grant_offset + first_whole) % d->info.mem_align != 0;
}

/* Copy whole blocks [pblk, pblk + n) between the device and @client
 * through fsd's own buffer (a misaligned client buffer). */
static int bounce_blocks(struct fsd *d, int write, uint64_t pblk, uint64_t n, uint8_t *client)
{
	uint64_t chunk = FSD_BOUNCE_BYTES / d->bsize;
	uint8_t *tmp = fsd_alloc(d->host, FSD_BOUNCE_BYTES);
	int r = 0;

	if (!tmp)
		return -ENOMEM;
	for (uint64_t i = 0; i < n && r == 0; i += chunk) {
		unsigned k = (unsigned)(n - i < chunk ? n - i : chunk);
		size_t bytes = (size_t)k * d->bsize;

		if (write) {
			memcpy(tmp, client + i * d->bsize, bytes);
			r = blkio_write(d, pblk + i, k, tmp, 0);
		} else {
			r = blkio_read(d, pblk + i, k, tmp);
			if (r == 0)
				memcpy(client + i * d->bsize, tmp, bytes);
		}
		d->st.bytes_copied += bytes;
	}
	fsd_free(d->host, tmp);
	return r;
}

/* Bytes [a, b) of the file lie in device block @pblk (partial block). */
static int read_edge(struct fsd *d, struct read_ctx *x, uint64_t pblk, uint64_t a, uint64_t b)
{
	uint8_t *blk = fsd_alloc(d->host, d->bsize);
	int r;

	if (!blk)
		return -ENOMEM;
	r = blkio_read(d, pblk, 1, blk);
	if (r == 0) {
		memcpy(x->client + (a - x->off), blk + a % d->bsize, b - a);
		d->st.bytes_copied += b - a;
	}
	fsd_free(d->host, blk);
	return r;
}

static int read_run(struct fsd *d, const struct run *run, void *arg)
{
	struct read_ctx *x = arg;
	struct span s;
	int r;

	run_span(d, run, x->off, x->end, &s);
	if (!run->pblk || run->uninit) {
		memset(x->client + (s.a - x->off), 0, s.b - s.a);
		d->st.bytes_zeroed += s.b - s.a;
		return 0;
	}
	if (s.a < s.head) {
		r = read_edge(d, x, pblk_of(d, run, s.a), s.a, s.head);
		if (r < 0)
			return r;
	}
	if (s.tail < s.b) {
		r = read_edge(d, x, pblk_of(d, run, s.tail), s.tail, s.b);
		if (r < 0)
			return r;
	}
	if (s.head == s.tail)
		return 0;
	if (x->bounce)
		return bounce_blocks(d, 0, pblk_of(d, run, s.head), (s.tail - s.head) / d->bsize,
				     x->client + (s.head - x->off));
	return blkio_submit(d, x->p, 0, x->import, x->io.grant_offset + (s.head - x->off),
			    pblk_of(d, run, s.head) * d->bsize, s.tail - s.head);
}

/*
 * The checks READ and WRITE share: the handle names a regular file, the
 * peer may read (@mask MAY_READ) or write it, the length is allowed, and
 * the grant holds the buffer with the right the server needs (to write
 * the client's memory for a READ, to read it for a WRITE).  Permission
 * is checked on every request (fsd keeps no open state); the owner may
 * always read and write, as NFS servers allow, so that a file created
 * read-only can be filled through the descriptor that created it.
 */
static int open_io(struct fsd *d, struct aoki_req *req, const struct fsd_cred *c,
		   const struct fs_io_req *io, int mask, ext2_ino_t *ino,
		   struct ext2_inode_large *in, void **ptr)
{
	struct aoki_grant_ref ref = { io->grant, io->length, io->grant_offset };
	int r = inode_of_fh(d, io->fh, ino, in);

	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in->i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(in->i_mode))
		return -EINVAL;
	r = perm_check(c, in, mask);
	if (r < 0 && perm_owner(c, in) < 0)
		return r;
	if (io->length > FS_MAX_IO)
		return -EINVAL;
	return aoki_req_grant(req, &ref, mask == MAY_READ ? AOKI_GRANT_WRITE : AOKI_GRANT_READ,
			      ptr);
}

int data_read(struct fsd *d, struct aoki_req *req, const struct fsd_cred *c,
	      const struct fs_io_req *io)
{
	struct ext2_inode_large in;
	struct read_ctx x = { .io = *io };
	struct aoki_req *dreq;
	ext2_ino_t ino;
	uint64_t size;
	void *ptr;
	int r;

	r = open_io(d, req, c, io, MAY_READ, &ino, &in, &ptr);
	if (r < 0)
		return r;
	size = EXT2_I_SIZE(&in);
	if (!io->length || io->offset >= size)
		return aoki_req_reply(req, 0, NULL, 0);
	x.client = ptr;
	x.off = io->offset;
	x.end = size - io->offset < io->length ? size : io->offset + io->length;
	x.bounce = misaligned(d, io->grant_offset, x.off);
	r = blkio_import(d, req, io->grant, &x.import);
	if (r < 0)
		return r;
	dreq = aoki_req_defer(req);
	if (!dreq)
		return -ENOMEM;
	x.p = pending_get(d);
	x.p->req = dreq;
	x.p->result = (int64_t)(x.end - x.off);
	r = map_range(d, ino, &in, x.off / d->bsize,
		      (x.end + d->bsize - 1) / d->bsize - x.off / d->bsize, read_run, &x);
	if (r < 0)
		x.p->result = r;
	d->st.data_read += x.end - x.off;
	blkio_release(d, x.p);
	return AOKI_DEFERRED;
}

/* --------------------------------------------------------------- write */

/* Turn unwritten extents in [lblk, lblk + n) into written ones (the
 * caller writes every block of them first). */
static int convert_uninit(struct fsd *d, ext2_ino_t ino, uint64_t lblk, uint64_t n)
{
	ext2_extent_handle_t h;
	errcode_t e = ext2fs_extent_open(d->fs, ino, &h);

	if (e)
		return fsd_errno(e);
	for (uint64_t b = lblk; b < lblk + n && !e; b++) {
		struct ext2fs_extent ex;

		e = ext2fs_extent_goto2(h, 0, b);
		if (e == EXT2_ET_EXTENT_NOT_FOUND) {
			e = 0;
			continue;
		}
		if (!e)
			e = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex);
		if (!e && (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT))
			e = ext2fs_extent_set_bmap(h, b, ex.e_pblk + (b - ex.e_lblk), 0);
	}
	ext2fs_extent_free(h);
	return fsd_errno(e);
}

/* The logical block just past the file's last extent (0: none). */
static uint64_t extent_end(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	uint64_t end = 0;

	if (ext2fs_extent_open2(d->fs, ino, (struct ext2_inode *)in, &h))
		return UINT64_MAX;	/* unknown: take the careful path */
	/* goto leaves the handle at the last extent below a missing block */
	ext2fs_extent_goto(h, 0xffffffffu);
	if (!ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex))
		end = ex.e_lblk + ex.e_len;
	ext2fs_extent_free(h);
	return end;
}

/*
 * Map unmapped blocks of [lblk, lblk + n) one by one (extent_set_bmap
 * merges neighbours).  For holes below existing extents, where
 * libext2fs 1.47.0's fallocate sizes its allocation by the distance to
 * the next extent (a sparse file's 1 GiB hole took all free space).
 */
static int alloc_holes(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		       uint64_t lblk, uint64_t n)
{
	ext2_extent_handle_t h;
	blk64_t goal = ext2fs_find_inode_goal(d->fs, ino, (struct ext2_inode *)in, lblk);
	errcode_t e = ext2fs_extent_open2(d->fs, ino, (struct ext2_inode *)in, &h);
	uint64_t added = 0;

	if (e)
		return fsd_errno(e);
	for (uint64_t b = lblk; b < lblk + n && !e;) {
		struct ext2fs_extent ex;
		blk64_t p, plen;
		uint64_t run = 0;

		/* The unmapped stretch starting at b. */
		while (b + run < lblk + n) {
			errcode_t g = ext2fs_extent_goto2(h, 0, b + run);

			if (g == 0 && !ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex) &&
			    ex.e_lblk <= b + run && b + run < ex.e_lblk + ex.e_len)
				break;
			run++;
		}
		if (!run) {
			b++;
			continue;
		}
		e = ext2fs_new_range(d->fs, 0, goal, run, NULL, &p, &plen);
		if (e)
			break;
		if (plen > run)
			plen = run;
		ext2fs_block_alloc_stats_range(d->fs, p, (blk_t)plen, +1);
		for (blk64_t i = 0; i < plen && !e; i++)
			e = ext2fs_extent_set_bmap(h, b + i, p + i, 0);
		added += plen;
		goal = p + plen;
		b += plen;
	}
	ext2fs_extent_free(h);
	if (!e && added)
		e = ext2fs_iblk_add_blocks(d->fs, (struct ext2_inode *)in, added);
	if (!e)
		e = ext2fs_write_inode_full(d->fs, ino, (struct ext2_inode *)in, sizeof(*in));
	return fsd_errno(e);
}

int file_alloc_range(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		     uint64_t lblk, uint64_t n, int *allocated)
{
	uint64_t before = in->i_blocks;
	errcode_t e;
	int r;

	if ((in->i_flags & EXT4_EXTENTS_FL) && extent_end(d, ino, in) > lblk) {
		r = alloc_holes(d, ino, in, lblk, n);
		if (r < 0)
			return r;
	} else {
		e = ext2fs_fallocate(d->fs,
				     EXT2_FALLOCATE_FORCE_INIT | EXT2_FALLOCATE_INIT_BEYOND_EOF,
				     ino, NULL, ~0ULL, lblk, n);
		if (e)
			return fsd_errno(e);
	}
	r = inode_read(d, ino, in);
	if (r == 0 && allocated && in->i_blocks != before)
		*allocated = 1;
	return r;
}

/* State of one block before a write: a hole, unwritten, or data. */
struct probe {
	int fresh;	/* a hole or unwritten: reads as zeroes */
	int uninit;
};

static int probe_run(struct fsd *d, const struct run *run, void *arg)
{
	struct probe *p = arg;

	p->fresh = !run->pblk || run->uninit;
	p->uninit |= run->uninit;
	return 0;
}

/* One pass over a write's range before allocation: the state of its
 * first and last blocks, and whether any of it is unwritten. */
struct write_probe {
	uint64_t first, last;	/* logical blocks */
	struct probe *pfirst, *plast;
	int uninit;
};

static int probe_range_run(struct fsd *d, const struct run *run, void *arg)
{
	struct write_probe *w = arg;
	int fresh = !run->pblk || run->uninit;

	if (run->lblk <= w->first && w->first < run->lblk + run->len)
		w->pfirst->fresh = fresh;
	if (run->lblk <= w->last && w->last < run->lblk + run->len)
		w->plast->fresh = fresh;
	w->uninit |= run->uninit;
	return 0;
}

struct write_ctx {
	struct fs_io_req io;
	const uint8_t *client;
	uint64_t off, end;
	uint32_t import;
	struct fsd_pending *p;
	struct probe first, last;	/* the two edge blocks, before allocation */
	ext2_ino_t ino;
	int any_uninit;
	int bounce;
};

/* Write bytes [a, b) of the file, inside device block @pblk. */
static int write_edge(struct fsd *d, uint64_t pblk, int fresh, uint64_t a, uint64_t b,
		      const uint8_t *src)
{
	uint8_t *blk = fsd_alloc(d->host, d->bsize);
	int r = 0;

	if (!blk)
		return -ENOMEM;
	if (fresh)
		memset(blk, 0, d->bsize);
	else
		r = blkio_read(d, pblk, 1, blk);
	if (r == 0)
		r = claim_blocks(d, pblk, 1);
	if (r == 0) {
		memcpy(blk + a % d->bsize, src, b - a);
		r = blkio_write(d, pblk, 1, blk, 0);
		d->st.bytes_copied += b - a;
	}
	fsd_free(d->host, blk);
	return r;
}

static int write_run(struct fsd *d, const struct run *run, void *arg)
{
	struct write_ctx *x = arg;
	uint64_t first_lblk = x->off / d->bsize;
	struct span s;
	int r;

	if (!run->pblk)
		return -EIO;	/* allocation left a hole: cannot happen */
	run_span(d, run, x->off, x->end, &s);
	if (run->uninit)
		x->any_uninit = 1;
	if (s.a < s.head) {
		int fresh = s.a / d->bsize == first_lblk ? x->first.fresh : x->last.fresh;

		r = write_edge(d, pblk_of(d, run, s.a), fresh || run->uninit, s.a, s.head,
			       x->client + (s.a - x->off));
		if (r < 0)
			return r;
	}
	if (s.tail < s.b) {
		int fresh = s.tail / d->bsize == first_lblk ? x->first.fresh : x->last.fresh;

		r = write_edge(d, pblk_of(d, run, s.tail), fresh || run->uninit, s.tail, s.b,
			       x->client + (s.tail - x->off));
		if (r < 0)
			return r;
	}
	if (s.head == s.tail)
		return 0;
	r = claim_blocks(d, pblk_of(d, run, s.head), (s.tail - s.head) / d->bsize);
	if (r < 0)
		return r;
	if (x->bounce)
		return bounce_blocks(d, 1, pblk_of(d, run, s.head), (s.tail - s.head) / d->bsize,
				     (uint8_t *)x->client + (s.head - x->off));
	return blkio_submit(d, x->p, 1, x->import, x->io.grant_offset + (s.head - x->off),
			    pblk_of(d, run, s.head) * d->bsize, s.tail - s.head);
}

/* The largest file size: 2^32 blocks with extents. */
static uint64_t max_size(struct fsd *d, const struct ext2_inode_large *in)
{
	return (in->i_flags & EXT4_EXTENTS_FL) ? ((uint64_t)1 << 32) * d->bsize - d->bsize
					      : ((uint64_t)1 << 31) * 512;
}

int data_write(struct fsd *d, struct aoki_req *req, const struct fsd_cred *c,
	       const struct fs_io_req *io, int append)
{
	struct write_ctx x = { .io = *io };
	struct write_probe wp;
	struct ext2_inode_large in;
	struct aoki_req *dreq;
	uint64_t lb0, lb1, size;
	int allocated = 0, r;
	void *ptr;

	r = open_io(d, req, c, io, MAY_WRITE, &x.ino, &in, &ptr);
	if (r < 0)
		return r;
	if ((in.i_flags & EXT2_IMMUTABLE_FL) || ((in.i_flags & EXT2_APPEND_FL) && !append))
		return -EPERM;
	if (d->cfg.read_only || d->io_error)
		return -EROFS;
	if (r < 0)
		return r;
	size = EXT2_I_SIZE(&in);
	x.client = ptr;
	x.off = append ? size : io->offset;
	x.end = x.off + io->length;
	x.bounce = misaligned(d, io->grant_offset, x.off);
	if (x.end < x.off || x.end > max_size(d, &in))
		return -EFBIG;
	if (!io->length) {
		int64_t at = (int64_t)x.off;

		return aoki_req_reply(req, 0, append ? &at : NULL, append ? sizeof(at) : 0);
	}
	r = blkio_import(d, req, io->grant, &x.import);
	if (r < 0)
		return r;
	lb0 = x.off / d->bsize;
	lb1 = (x.end + d->bsize - 1) / d->bsize;
	/* The edge blocks as they are now: a fresh one reads as zeroes. */
	wp = (struct write_probe){ lb0, lb1 - 1, &x.first, &x.last, 0 };
	r = map_range(d, x.ino, &in, lb0, lb1 - lb0, probe_range_run, &wp);
	if (r == 0)
		r = file_alloc_range(d, x.ino, &in, lb0, lb1 - lb0, &allocated);
	if (r < 0)
		return r;
	dreq = aoki_req_defer(req);
	if (!dreq)
		return -ENOMEM;
	x.p = pending_get(d);
	x.p->req = dreq;
	x.p->result = (int64_t)io->length;
	if (append)
		x.p->reply_off = (int64_t)x.off;
	/* Ordered: the commit that records a new mapping, a larger size or
	 * a written extent waits for this data.  A pure overwrite of
	 * written blocks needs no order (DESIGN: overwrites skip the
	 * journal); unwritten extents found on the way make it ordered. */
	x.p->ordered = allocated || x.end > size || wp.uninit;
	r = map_range(d, x.ino, &in, lb0, lb1 - lb0, write_run, &x);
	if (r == 0 && x.any_uninit)
		r = convert_uninit(d, x.ino, lb0, lb1 - lb0);
	if (r == 0)
		r = inode_read(d, x.ino, &in);
	if (r == 0) {
		struct ext2_inode_large was = in;

		if (x.end > EXT2_I_SIZE(&in))
			ext2fs_inode_size_set(d->fs, (struct ext2_inode *)&in, x.end);
		/* A write by someone else than root drops set-user-ID, and
		 * set-group-ID where the group may execute (as Linux). */
		if (c->uid) {
			in.i_mode &= ~LINUX_S_ISUID;
			if (in.i_mode & LINUX_S_IXGRP)
				in.i_mode &= ~LINUX_S_ISGID;
		}
		inode_touch(&in, 1);
		/* Same size and times (the coarse clock has not ticked):
		 * nothing to write, nothing to commit. */
		if (memcmp(&was, &in, sizeof(in)))
			r = inode_write(d, x.ino, &in);
	}
	if (r == 0 && append) {
		/* In the transaction that holds the new size: a rerun after a
		 * crash gets this offset instead of appending again. */
		int64_t at = (int64_t)x.off;

		r = replies_record(d, req, (int32_t)io->length, &at, sizeof(at));
	}
	if (r < 0)
		x.p->result = r;
	else
		d->st.data_written += io->length;
	stage_request(d);	/* before the reply can be published */
	blkio_release(d, x.p);
	return AOKI_DEFERRED;
}

int data_write_bounce(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		      uint64_t off, const void *src, size_t len)
{
	uint64_t end = off + len;

	for (uint64_t o = off; o < end;) {
		uint64_t lblk = o / d->bsize, b = (lblk + 1) * d->bsize;
		struct probe pr = { 0, 0 };
		blk64_t pblk = 0;
		errcode_t e;
		int r;

		if (b > end)
			b = end;
		r = map_range(d, ino, in, lblk, 1, probe_run, &pr);
		if (r == 0 && pr.fresh && !pr.uninit)
			r = file_alloc_range(d, ino, in, lblk, 1, NULL);
		if (r < 0)
			return r;
		e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)in, NULL, 0, lblk, NULL, &pblk);
		if (e || !pblk)
			return e ? fsd_errno(e) : -EIO;
		r = write_edge(d, pblk, pr.fresh, o, b, (const uint8_t *)src + (o - off));
		if (r == 0 && pr.uninit)
			r = convert_uninit(d, ino, lblk, 1);
		if (r == 0)
			r = inode_read(d, ino, in);
		if (r < 0)
			return r;
		o = b;
	}
	return 0;
}
