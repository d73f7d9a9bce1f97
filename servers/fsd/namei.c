/* SPDX-License-Identifier: MIT */
/*
 * namei.c - inodes, handles and path resolution.  Every component is
 * looked up with the caller's search permission on its directory, as the
 * kernel does; symbolic links are followed (40 at most: -ELOOP).  A
 * name with a trailing slash must be a directory (a final link is then
 * followed, even with nofollow), as path_resolution(7) says.  A
 * handle is (inode, generation): a handle whose inode was freed, or
 * freed and reused, gets -ESTALE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fsd.h"

int fsd_errno(errcode_t e)
{
	switch (e) {
	case 0:
		return 0;
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
		return -ENOSPC;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_DIR_EXISTS:
	case EXT2_ET_FILE_EXISTS:
		return -EEXIST;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	case EXT2_ET_FILE_TOO_BIG:
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return -EFBIG;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
		return -EIO;
	case EXT2_ET_INVALID_ARGUMENT:
		return -EINVAL;
	default:
		/* Corrupt metadata and everything else libext2fs reports. */
		return -EUCLEAN;
	}
}

int inode_read(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in)
{
	if (ino < 1 || ino > d->fs->super->s_inodes_count)
		return -ESTALE;
	memset(in, 0, sizeof(*in));
	return fsd_errno(ext2fs_read_inode_full(d->fs, ino, (struct ext2_inode *)in,
						sizeof(*in)));
}

int inode_write(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in)
{
	return fsd_errno(ext2fs_write_inode_full(d->fs, ino, (struct ext2_inode *)in,
						 sizeof(*in)));
}

int inode_of_fh(struct fsd *d, uint64_t fh, ext2_ino_t *ino, struct ext2_inode_large *in)
{
	ext2_ino_t i = FS_FH_INO(fh);
	int r;

	if ((i != EXT2_ROOT_INO && i < EXT2_FIRST_INODE(d->fs->super)) || i == d->replies_ino)
		return -ESTALE;	/* reserved inodes and fsd's own are not for clients */
	r = inode_read(d, i, in);
	if (r < 0)
		return r;
	if (!in->i_links_count || !in->i_mode ||
	    (i != EXT2_ROOT_INO && in->i_generation != FS_FH_GEN(fh)))
		return -ESTALE;
	*ino = i;
	return 0;
}

uint64_t fh_of(ext2_ino_t ino, const struct ext2_inode_large *in)
{
	return FS_FH(ino, ino == EXT2_ROOT_INO ? 0 : in->i_generation);
}

int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The extra field of a time: the epoch bits (seconds >> 32) and ns. */
static int has_extra(const struct ext2_inode_large *in, size_t field_end)
{
	return (size_t)EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize >= field_end;
}

#define XOFF(f) (offsetof(struct ext2_inode_large, f) + sizeof(uint32_t))

void inode_set_time(struct ext2_inode_large *in, int which, int64_t ns)
{
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	uint32_t extra;

	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	extra = (uint32_t)((sec - (int32_t)sec) >> 32) & 3;
	extra |= (uint32_t)nsec << 2;
	switch (which) {
	case T_ATIME:
		in->i_atime = (uint32_t)sec;
		if (has_extra(in, XOFF(i_atime_extra)))
			in->i_atime_extra = extra;
		break;
	case T_MTIME:
		in->i_mtime = (uint32_t)sec;
		if (has_extra(in, XOFF(i_mtime_extra)))
			in->i_mtime_extra = extra;
		break;
	case T_CTIME:
		in->i_ctime = (uint32_t)sec;
		if (has_extra(in, XOFF(i_ctime_extra)))
			in->i_ctime_extra = extra;
		break;
	default:
		if (has_extra(in, XOFF(i_crtime_extra))) {
			in->i_crtime = (uint32_t)sec;
			in->i_crtime_extra = extra;
		}
	}
}

int64_t inode_get_time(const struct ext2_inode_large *in, int which)
{
	uint32_t sec, extra = 0;
	int64_t s;

	switch (which) {
	case T_ATIME:
		sec = in->i_atime;
		if (has_extra(in, XOFF(i_atime_extra)))
			extra = in->i_atime_extra;
		break;
	case T_MTIME:
		sec = in->i_mtime;
		if (has_extra(in, XOFF(i_mtime_extra)))
			extra = in->i_mtime_extra;
		break;
	case T_CTIME:
		sec = in->i_ctime;
		if (has_extra(in, XOFF(i_ctime_extra)))
			extra = in->i_ctime_extra;
		break;
	default:
		if (!has_extra(in, XOFF(i_crtime_extra)))
			return 0;
		sec = in->i_crtime;
		extra = in->i_crtime_extra;
	}
	s = (int64_t)(int32_t)sec + ((int64_t)(extra & 3) << 32);
	if (s >= INT64_MAX / 1000000000)
		return INT64_MAX;	/* past 2262 (ext4 goes to 2446) */
	return s * 1000000000 + (extra >> 2);
}

/* File times come from the coarse clock, as the kernel's do (a tick of a
 * few ms): a stream of writes changes the inode once per tick, not once
 * per write. */
static int64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void inode_touch(struct ext2_inode_large *in, int mtime)
{
	int64_t now = now_coarse_ns();

	inode_set_time(in, T_CTIME, now);
	if (mtime)
		inode_set_time(in, T_MTIME, now);
}

void attr_fill(struct fsd *d, ext2_ino_t ino, const struct ext2_inode_large *in,
	       struct fs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->fh = fh_of(ino, in);
	a->ino = ino;
	a->size = EXT2_I_SIZE(in);
	a->blocks = ext2fs_get_stat_i_blocks(d->fs, (struct ext2_inode *)in);
	a->mode = in->i_mode;
	a->nlink = in->i_links_count;
	a->uid = inode_uid(*(const struct ext2_inode *)in);
	a->gid = inode_gid(*(const struct ext2_inode *)in);
	if (LINUX_S_ISCHR(in->i_mode) || LINUX_S_ISBLK(in->i_mode))
		a->rdev = in->i_block[0] ? in->i_block[0] : in->i_block[1];
	a->blksize = d->bsize;
	a->atime_ns = inode_get_time(in, T_ATIME);
	a->mtime_ns = inode_get_time(in, T_MTIME);
	a->ctime_ns = inode_get_time(in, T_CTIME);
	a->btime_ns = inode_get_time(in, T_CRTIME);
}

int dir_lookup(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t *ino)
{
	return dcache_lookup(d, dir, name, ino);
}

/* The target of symlink @ino into @buf (NUL-terminated); its length. */
static int link_target(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, char *buf,
		       size_t cap)
{
	uint64_t size = EXT2_I_SIZE(in);
	blk64_t pblk = 0;
	char *blk;
	errcode_t e;

	if (size >= cap || size >= d->bsize)
		return -EUCLEAN;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
		memcpy(buf, in->i_block, size);
		buf[size] = 0;
		return (int)size;
	}
	e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)in, NULL, 0, 0, NULL, &pblk);
	if (e || !pblk)
		return e ? fsd_errno(e) : -EUCLEAN;
	blk = fsd_alloc(d->host, d->bsize);
	if (!blk)
		return -ENOMEM;
	e = io_channel_read_blk64(d->fs->io, pblk, 1, blk);
	if (!e) {
		memcpy(buf, blk, size);
		buf[size] = 0;
	}
	fsd_free(d->host, blk);
	return e ? fsd_errno(e) : (int)size;
}

int fsd_readlink(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, char *buf,
		 size_t cap)
{
	if (!LINUX_S_ISLNK(in->i_mode))
		return -EINVAL;
	return link_target(d, ino, in, buf, cap);
}

/*
 * The walk.  @path is copied into a work buffer; a followed link's
 * target is put in front of what is left of the path.
 */
static int walk(struct fsd *d, const struct fsd_cred *c, ext2_ino_t dir, const char *path,
		size_t len, int nofollow, int parent, ext2_ino_t *out, char *last)
{
	char buf[2 * FS_PATH_MAX + 2], comp[FS_NAME_MAX + 1];
	size_t pos = 0, end;
	ext2_ino_t cur = dir, next;
	struct ext2_inode_large in;
	unsigned links = 0;
	int r;

	if (!len)
		return -ENOENT;
	if (len >= FS_PATH_MAX)
		return -ENAMETOOLONG;
	/* A relative path starts at the client's directory handle: not a
	 * reserved inode nor fsd's own (as inode_of_fh). */
	if (path[0] != '/' && ((dir != EXT2_ROOT_INO && dir < EXT2_FIRST_INODE(d->fs->super)) ||
			       dir == d->replies_ino))
		return -ESTALE;
	memcpy(buf, path, len);
	buf[len] = 0;
	end = len;
	for (;;) {
		size_t n = 0;
		int is_last, must_dir;

		if (buf[pos] == '/') {
			cur = EXT2_ROOT_INO;
			while (buf[pos] == '/')
				pos++;
		}
		if (pos >= end) {
			/* "/" or a path ending in a link to a directory. */
			if (parent)
				strcpy(last, ".");
			*out = cur;
			return 0;
		}
		while (pos + n < end && buf[pos + n] != '/')
			n++;
		if (n > FS_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, buf + pos, n);
		comp[n] = 0;
		pos += n;
		must_dir = pos < end;	/* a slash follows: a directory */
		while (pos < end && buf[pos] == '/')
			pos++;
		is_last = pos >= end;
		must_dir &= is_last;	/* (only the last one needs checking) */
		r = inode_read(d, cur, &in);
		if (r < 0)
			return r;
		if (!LINUX_S_ISDIR(in.i_mode))
			return -ENOTDIR;
		if (cur == EXT2_ROOT_INO && !strcmp(comp, FSD_REPLIES_NAME))
			return parent && is_last ? -EPERM : -ENOENT;	/* fsd's own */
		if (is_last && parent) {
			strcpy(last, comp);
			*out = cur;
			return 0;
		}
		r = perm_check(c, &in, MAY_EXEC);
		if (r < 0)
			return r;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..") && cur == EXT2_ROOT_INO)
			continue;
		r = dir_lookup(d, cur, comp, &next);
		if (r < 0)
			return r;
		r = inode_read(d, next, &in);
		if (r < 0)
			return r;
		if (LINUX_S_ISLNK(in.i_mode) && (!is_last || !nofollow || must_dir)) {
			char target[FS_PATH_MAX];
			size_t rest = end - pos;
			int tl;

			if (++links > 40)
				return -ELOOP;
			tl = link_target(d, next, &in, target, sizeof(target));
			if (tl < 0)
				return tl;
			if (tl == 0)
				return -ENOENT;
			if ((size_t)tl + 1 + rest >= sizeof(buf))
				return -ENAMETOOLONG;
			/* target + "/" + rest of the path */
			memmove(buf + tl + 1, buf + pos, rest);
			memcpy(buf, target, (size_t)tl);
			buf[tl] = '/';
			end = (size_t)tl + 1 + rest;
			buf[end] = 0;
			pos = 0;
			if (!rest && !must_dir) {
				end--;	/* no trailing slash of our own */
				buf[end] = 0;
			}
			continue;	/* relative targets resolve from cur */
		}
		cur = next;
		if (is_last) {
			if (must_dir && !LINUX_S_ISDIR(in.i_mode))
				return -ENOTDIR;	/* "file/" */
			*out = cur;
			return 0;
		}
	}
}

int namei(struct fsd *d, const struct fsd_cred *c, ext2_ino_t dir, const char *path,
	  size_t len, int nofollow, ext2_ino_t *ino)
{
	return walk(d, c, dir, path, len, nofollow, 0, ino, NULL);
}

int namei_parent(struct fsd *d, const struct fsd_cred *c, ext2_ino_t dir, const char *path,
		 size_t len, ext2_ino_t *parent, char last[FS_NAME_MAX + 1])
{
	return walk(d, c, dir, path, len, 0, 1, parent, last);
}
