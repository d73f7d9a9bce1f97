/* SPDX-License-Identifier: MIT */
/*
 * replies.c - the reply record of operations that must not run twice
 * (create, mkdir, rename, unlink, link, symlink, append, ...).  After a
 * crash the IPC library hands the restarted fsd every request the dead
 * one had taken; for these ops a second run would give another result
 * (-EEXIST for a create that succeeded, a second append).  So each
 * successful run records (channel identity, sequence, status, reply) in
 * a table that lives in a file of the file system itself, written through
 * the journal like any metadata: the op's changes and its record commit
 * in the same transaction, so after a crash both are there or neither
 * is.  The file is "/.aoki-replies" (root, 0600), hidden from clients.
 *
 * The table has FSD_REPLY_SLOTS entries of 64 bytes, hashed by (identity,
 * sequence) to a block and searched within it.  A record may be
 * overwritten once its request's ring slot has been reused (same channel,
 * sequence a multiple of the window later: the client has reaped it) or,
 * failing a free entry, by any other (a rerun older than 64 collisions
 * in one block then runs again).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd.h"
#include "hash.h"

struct reply_rec {
	uint8_t client[AOKI_CLIENT_ID_LEN];
	uint64_t seq_plus1;	/* 0: empty */
	int32_t status;
	uint16_t len;
	uint16_t slot_plus1;	/* 1 + its channel slot (aoki_req_slot); 0 in
				 * records written before slots were kept */
	uint8_t payload[AOKI_MSG_PAYLOAD];
};
_Static_assert(sizeof(struct reply_rec) == 64, "a record is 64 bytes");

#define TABLE_BYTES ((uint64_t)FSD_REPLY_SLOTS * sizeof(struct reply_rec))

/*
 * A record's key: the channel identity, which the client drew itself and
 * which lives in memory it controls, mixed with its uid, which the kernel
 * gives (SO_PEERCRED): a client that copies another user's identity into
 * its channel still never reaches that user's records.
 */
static void record_key(struct aoki_req *req, uint8_t id[AOKI_CLIENT_ID_LEN])
{
	uint32_t uid = (uint32_t)aoki_req_peer(req)->uid;

	aoki_req_client(req, id);
	for (int i = 0; i < 4; i++)
		id[i] ^= (uint8_t)(uid >> (8 * i));
}

static unsigned block_of(const struct fsd *d, const uint8_t id[AOKI_CLIENT_ID_LEN],
			 uint64_t seq)
{
	/* The seed is not FNV's offset basis (a digit short), but it is
	 * where records live on existing images: keep it. */
	uint64_t h = util_fnv1a64_add(1469598103934665603ull, id, AOKI_CLIENT_ID_LEN);

	h = (h ^ seq) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 33) % d->replies_blocks;
}

/* Create the table file: regular, root's, 0600, zeroed (through the
 * journal, like the metadata it is). */
static int create_table(struct fsd *d, ext2_ino_t *out)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t e;
	int r;
	void *zero;

	e = ext2fs_new_inode(d->fs, EXT2_ROOT_INO, LINUX_S_IFREG | 0600, NULL, &ino);
	if (!e)
		e = ext2fs_link(d->fs, EXT2_ROOT_INO, FSD_REPLIES_NAME, ino, EXT2_FT_REG_FILE);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(d->fs, EXT2_ROOT_INO);
		if (!e)
			e = ext2fs_link(d->fs, EXT2_ROOT_INO, FSD_REPLIES_NAME, ino,
					EXT2_FT_REG_FILE);
	}
	if (e)
		return fsd_errno(e);
	ext2fs_inode_alloc_stats2(d->fs, ino, +1, 0);
	memset(&in, 0, sizeof(in));
	in.i_mode = LINUX_S_IFREG | 0600;
	in.i_links_count = 1;
	in.i_extra_isize = sizeof(in) - EXT2_GOOD_OLD_INODE_SIZE;
	inode_touch(&in, 1);
	inode_set_time(&in, T_ATIME, now_real_ns());
	inode_set_time(&in, T_CRTIME, now_real_ns());
	if (ext2fs_has_feature_extents(d->fs->super)) {
		ext2_extent_handle_t h;

		e = ext2fs_extent_open2(d->fs, ino, (struct ext2_inode *)&in, &h);
		if (e)
			return fsd_errno(e);
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(d->fs, ino, (struct ext2_inode *)&in);
	if (e)
		return fsd_errno(e);
	r = file_alloc_range(d, ino, &in, 0, TABLE_BYTES / d->bsize, NULL);
	if (r < 0)
		return r;
	ext2fs_inode_size_set(d->fs, (struct ext2_inode *)&in, TABLE_BYTES);
	r = inode_write(d, ino, &in);
	if (r < 0)
		return r;
	zero = fsd_zalloc(d->host, d->bsize);
	if (!zero)
		return -ENOMEM;
	for (uint64_t b = 0; b < TABLE_BYTES / d->bsize && !e; b++) {
		blk64_t p = 0;

		e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)&in, NULL, 0, b, NULL, &p);
		if (!e)
			e = io_channel_write_blk64(d->fs->io, p, 1, zero);
	}
	fsd_free(d->host, zero);
	*out = ino;
	return fsd_errno(e);
}

int replies_open(struct fsd *d)
{
	struct ext2_inode_large in;
	uint64_t *map;
	ext2_ino_t ino = 0;
	errcode_t e;
	int r;

	e = ext2fs_lookup(d->fs, EXT2_ROOT_INO, FSD_REPLIES_NAME, sizeof(FSD_REPLIES_NAME) - 1,
			  NULL, &ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		r = create_table(d, &ino);
	else
		r = fsd_errno(e);
	if (r == 0)
		r = inode_read(d, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.i_mode) || EXT2_I_SIZE(&in) != TABLE_BYTES)
		return -EUCLEAN;
	replies_close(d);
	map = fsd_zalloc_array(d->host, TABLE_BYTES / d->bsize, sizeof(*map));
	if (!map)
		return -ENOMEM;
	d->replies_map = map;
	if (file_map(d, ino, &in, map, TABLE_BYTES / d->bsize) < 0)
		return -EUCLEAN;
	for (unsigned b = 0; b < TABLE_BYTES / d->bsize; b++)
		if (!map[b] || map[b] >= ext2fs_blocks_count(d->fs->super))
			return -EUCLEAN;
	/* Usable (replies_find, replies_record) only once it checks. */
	d->replies_blocks = (unsigned)(TABLE_BYTES / d->bsize);
	d->replies_ino = ino;
	return 0;
}

void replies_close(struct fsd *d)
{
	fsd_free(d->host, d->replies_map);
	d->replies_map = NULL;
	d->replies_blocks = 0;
}

/* Block @b of the table into a new buffer (fsd_free it). */
static int load(struct fsd *d, unsigned b, struct reply_rec **blk)
{
	errcode_t e;

	*blk = fsd_alloc(d->host, d->bsize);
	if (!*blk)
		return -ENOMEM;
	e = io_channel_read_blk64(d->fs->io, d->replies_map[b], 1, *blk);
	if (e) {
		fsd_free(d->host, *blk);
		*blk = NULL;
	}
	return fsd_errno(e);
}

int replies_find(struct fsd *d, struct aoki_req *req, int32_t *status, void *rep, size_t *len)
{
	uint8_t id[AOKI_CLIENT_ID_LEN];
	uint64_t seq = aoki_req_seq(req);
	struct reply_rec *blk;
	unsigned b, n = d->bsize / sizeof(*blk);
	int found = 0;

	if (!d->replies_blocks)
		return 0;
	record_key(req, id);
	b = block_of(d, id, seq);
	if (load(d, b, &blk) < 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (blk[i].seq_plus1 == seq + 1 && !memcmp(blk[i].client, id, sizeof(id)) &&
		    blk[i].len <= AOKI_MSG_PAYLOAD) {
			*status = blk[i].status;
			*len = blk[i].len;
			memcpy(rep, blk[i].payload, blk[i].len);
			found = 1;
			break;
		}
	}
	fsd_free(d->host, blk);
	return found;
}

int replies_record(struct fsd *d, struct aoki_req *req, int32_t status, const void *rep,
		   size_t len)
{
	uint8_t id[AOKI_CLIENT_ID_LEN];
	uint64_t seq = aoki_req_seq(req);
	uint16_t slot_plus1 = (uint16_t)(aoki_req_slot(req) + 1);
	struct reply_rec *blk, rec = { .seq_plus1 = seq + 1, .status = status,
				       .slot_plus1 = slot_plus1 };
	unsigned b, n = d->bsize / sizeof(*blk), pick = n;
	errcode_t e;
	int r;

	if (!d->replies_blocks || len > AOKI_MSG_PAYLOAD)
		return -EINVAL;
	record_key(req, id);
	memcpy(rec.client, id, sizeof(id));
	rec.len = (uint16_t)len;
	if (len)
		memcpy(rec.payload, rep, len);
	b = block_of(d, id, seq);
	r = load(d, b, &blk);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		int mine = !memcmp(blk[i].client, id, sizeof(id));

		/* This request's, or an older one of the same channel slot:
		 * a slot carries a new request only after the client
		 * consumed the reply of the last, so that record is done
		 * with. */
		if (mine && blk[i].seq_plus1 &&
		    (blk[i].seq_plus1 - 1 == seq || blk[i].slot_plus1 == slot_plus1)) {
			pick = i;
			break;
		}
		if (!blk[i].seq_plus1 && pick == n)
			pick = i;
	}
	if (pick == n)
		pick = (unsigned)(seq % n);	/* full: evict one */
	blk[pick] = rec;
	e = io_channel_write_blk64(d->fs->io, d->replies_map[b], 1, blk);
	fsd_free(d->host, blk);
	return fsd_errno(e);
}
