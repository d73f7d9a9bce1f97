/* SPDX-License-Identifier: MIT */
/*
 * ops_dir.c - READDIR.  The cookie is an entry's place in the directory
 * (block index << 32 | offset in the block, plus one), which stays put
 * while other entries are added or removed, so a reader that deletes
 * what it reads (rm -r) sees every entry once.  The scan starts at the
 * beginning each time and skips what the cookie has passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "fsd.h"

struct rd {
	struct fsd *d;
	uint64_t skip;		/* return entries at positions >= this */
	uint64_t next;		/* cookie after the last entry returned */
	uint64_t block;		/* index of the block being scanned */
	int last_offset;
	uint8_t *out;
	size_t cap, used;
	int full, root;
};

static uint8_t dtype(int ft)
{
	switch (ft) {
	case EXT2_FT_REG_FILE: return DT_REG;
	case EXT2_FT_DIR: return DT_DIR;
	case EXT2_FT_CHRDEV: return DT_CHR;
	case EXT2_FT_BLKDEV: return DT_BLK;
	case EXT2_FT_FIFO: return DT_FIFO;
	case EXT2_FT_SOCK: return DT_SOCK;
	case EXT2_FT_SYMLINK: return DT_LNK;
	default: return DT_UNKNOWN;
	}
}

static int emit(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset, int blocksize,
		char *buf, void *priv)
{
	struct rd *x = priv;
	uint64_t pos;
	unsigned nl = ext2fs_dirent_name_len(de);
	size_t reclen = (offsetof(struct fs_dirent, name) + nl + 1 + 7) & ~(size_t)7;
	struct fs_dirent *fe;

	if (offset <= x->last_offset)
		x->block++;	/* a new block starts at offset 0 */
	x->last_offset = offset;
	pos = ((x->block - 1) << 32 | (uint32_t)offset) + 1;
	if (!de->inode || pos < x->skip)
		return 0;
	if (x->root && nl == sizeof(FSD_REPLIES_NAME) - 1 &&
	    !memcmp(de->name, FSD_REPLIES_NAME, nl))
		return 0;	/* fsd's own file */
	if (x->used + reclen > x->cap) {
		x->full = 1;
		return DIRENT_ABORT;
	}
	fe = (struct fs_dirent *)(x->out + x->used);
	fe->ino = de->inode;
	fe->cookie = pos + 1;
	fe->reclen = (uint16_t)reclen;
	fe->type = dtype(ext2fs_dirent_file_type(de));
	fe->name_len = (uint8_t)nl;
	memcpy(fe->name, de->name, nl);
	fe->name[nl] = 0;
	x->used += reclen;
	x->next = pos + 1;
	return 0;
}

int op_readdir(struct fsd_op *o)
{
	struct ext2_inode_large in;
	struct rd x = { .d = o->d, .skip = o->a.offset, .out = o->out, .cap = o->out_len,
			.last_offset = 1 << 30 };
	ext2_ino_t ino;
	errcode_t e;
	uint64_t next;
	int r = inode_of_fh(o->d, o->a.fh, &ino, &in);

	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.i_mode))
		return -ENOTDIR;
	r = perm_check(&o->cred, &in, MAY_READ);
	if (r < 0)
		return r;
	x.root = ino == EXT2_ROOT_INO;
	e = ext2fs_dir_iterate2(o->d->fs, ino, DIRENT_FLAG_INCLUDE_EMPTY, NULL, emit, &x);
	if (e)
		return fsd_errno(e);
	if (x.full && !x.used)
		return -EINVAL;	/* the buffer cannot hold one entry */
	next = x.full ? x.next : 0;
	memcpy((uint8_t *)o->area + offsetof(struct fs_args, offset), &next, sizeof(next));
	return (int)x.used;
}
