/* SPDX-License-Identifier: MIT */
/*
 * ops_create.c - operations that make a name: OPEN (with O_CREAT; by
 * name or by handle), MKDIR, SYMLINK, LINK.  New inodes belong to the peer's uid; their group is the
 * peer's gid, or the directory's when it is set-group-ID (which new
 * directories inherit), as on Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fsd.h"

/* Does the path (@len bytes) end in a slash?  Then it names a directory. */
static int trailing_slash(const char *name, size_t len)
{
	return len && name[len - 1] == '/';
}

/* The parent of @name (from directory @from), checked for adding an
 * entry. */
static int parent_for_create(struct fsd_op *o, ext2_ino_t from, const char *name, size_t len,
			     ext2_ino_t *dir, struct ext2_inode_large *din, char *last)
{
	int r = namei_parent(o->d, &o->cred, from, name, len, dir, last);

	if (r == 0)
		r = inode_read(o->d, *dir, din);
	if (r < 0)
		return r;
	if (!strcmp(last, ".") || !strcmp(last, ".."))
		return -EEXIST;
	if (!din->i_links_count)
		return -ENOENT;	/* a removed directory */
	return perm_check(&o->cred, din, MAY_WRITE | MAY_EXEC);
}

/* For a new non-directory @name (SYMLINK, LINK): a trailing slash makes
 * it a directory's name, which it cannot get (Linux: -EEXIST if the name
 * exists, else -ENOENT). */
static int nondir_slash(struct fsd_op *o, ext2_ino_t dir, const char *last, const char *name,
			size_t len)
{
	ext2_ino_t ino;

	if (!trailing_slash(name, len))
		return 0;
	return dir_lookup(o->d, dir, last, &ino) == 0 ? -EEXIST : -ENOENT;
}

/* Add entry @name -> @ino in @dir, growing the directory if full. */
int dir_add(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t ino, unsigned mode)
{
	int ft = ext2_file_type(mode);
	errcode_t e = ext2fs_link(d->fs, dir, name, ino, ft);

	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(d->fs, dir);
		if (!e)
			e = ext2fs_link(d->fs, dir, name, ino, ft);
	}
	if (!e)
		dcache_add(d, dir, name, ino);
	return fsd_errno(e);
}

/* Ownership and times of a new inode in @din. */
static void set_owner(struct fsd_op *o, struct ext2_inode_large *in,
		      const struct ext2_inode_large *din)
{
	gid_t gid = o->cred.gid;
	int64_t now = now_real_ns();

	if (din->i_mode & LINUX_S_ISGID) {
		gid = inode_gid(*(const struct ext2_inode *)din);
		if (LINUX_S_ISDIR(in->i_mode))
			in->i_mode |= LINUX_S_ISGID;
	}
	inode_uid_set(*(struct ext2_inode *)in, o->cred.uid);
	inode_gid_set(*(struct ext2_inode *)in, gid);
	inode_set_time(in, T_ATIME, now);
	inode_set_time(in, T_MTIME, now);
	inode_set_time(in, T_CTIME, now);
	inode_set_time(in, T_CRTIME, now);
}

/* The generation of a new inode @ino: one past its last occupant's, so
 * that the handles of the file that was there go stale (-ESTALE) instead
 * of naming the new one. */
static uint32_t new_generation(struct fsd *d, ext2_ino_t ino)
{
	struct ext2_inode_large old;

	return inode_read(d, ino, &old) == 0 ? old.i_generation + 1 : (uint32_t)now_real_ns();
}

/*
 * Give new directory @ino (made by ext2fs_mkdir, generation 0) generation
 * @gen, and seal its block again: with metadata_csum a directory block's
 * checksum covers its inode's generation.
 */
static int dir_set_generation(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
			      uint32_t gen)
{
	blk64_t pblk = 0;
	void *buf = NULL;
	errcode_t e;
	int r;

	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		in->i_generation = gen;	/* the entries live in the inode */
		return inode_write(d, ino, in);
	}
	e = ext2fs_bmap2(d->fs, ino, (struct ext2_inode *)in, NULL, 0, 0, NULL, &pblk);
	if (!e && !pblk)
		e = EXT2_ET_DIR_CORRUPTED;
	if (!e && !(buf = fsd_alloc(d->host, d->bsize)))
		e = EXT2_ET_NO_MEMORY;
	if (!e)
		e = ext2fs_read_dir_block4(d->fs, pblk, buf, 0, ino);	/* old seal */
	if (e) {
		fsd_free(d->host, buf);
		return fsd_errno(e);
	}
	in->i_generation = gen;
	r = inode_write(d, ino, in);
	if (r == 0)
		r = fsd_errno(ext2fs_write_dir_block4(d->fs, pblk, buf, 0, ino));	/* new one */
	fsd_free(d->host, buf);
	return r;
}

/* The directory changed: mtime and ctime. */
static int touch_dir(struct fsd *d, ext2_ino_t dir)
{
	struct ext2_inode_large din;
	int r = inode_read(d, dir, &din);

	if (r == 0) {
		inode_touch(&din, 1);
		r = inode_write(d, dir, &din);
	}
	return r;
}

static int create_file(struct fsd_op *o, ext2_ino_t dir, const struct ext2_inode_large *din,
		       const char *last, unsigned mode, ext2_ino_t *out,
		       struct ext2_inode_large *in)
{
	ext2_ino_t ino;
	uint32_t gen;
	errcode_t e;
	int r;

	e = ext2fs_new_inode(o->d->fs, dir, LINUX_S_IFREG | 0600, NULL, &ino);
	if (e)
		return fsd_errno(e);
	gen = new_generation(o->d, ino);
	memset(in, 0, sizeof(*in));
	in->i_generation = gen;
	in->i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	in->i_links_count = 1;
	in->i_extra_isize = sizeof(*in) - EXT2_GOOD_OLD_INODE_SIZE;
	set_owner(o, in, din);
	if (o->cred.uid && (in->i_mode & LINUX_S_ISGID) &&
	    inode_gid(*(struct ext2_inode *)in) != o->cred.gid)
		in->i_mode &= ~LINUX_S_ISGID;
	if (ext2fs_has_feature_extents(o->d->fs->super)) {
		ext2_extent_handle_t h;

		e = ext2fs_extent_open2(o->d->fs, ino, (struct ext2_inode *)in, &h);
		if (e)
			return fsd_errno(e);
		ext2fs_extent_free(h);
	}
	r = dir_add(o->d, dir, last, ino, in->i_mode);
	if (r < 0)
		return r;
	ext2fs_inode_alloc_stats2(o->d->fs, ino, +1, 0);
	e = ext2fs_write_new_inode(o->d->fs, ino, (struct ext2_inode *)in);
	if (e)
		return fsd_errno(e);
	*out = ino;
	return touch_dir(o->d, dir);
}

static int access_mask(unsigned flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		return MAY_READ;
	case O_WRONLY:
		return MAY_WRITE;
	default:
		return MAY_READ | MAY_WRITE;
	}
}

/*
 * O_CREAT: the name in its directory, created if missing.  A final
 * symbolic link is followed (unless O_NOFOLLOW or O_EXCL) and its target
 * created if missing, as Linux does.  Sets *@ino (0: open by name
 * instead: an existing file, resolved again with the permission checks
 * of a plain open) and *@created.
 */
static int open_create(struct fsd_op *o, ext2_ino_t *ino, struct ext2_inode_large *in,
		       int *created)
{
	unsigned flags = o->a.flags, hops = 0;
	struct ext2_inode_large din;
	char last[FS_NAME_MAX + 1], target[FS_PATH_MAX];
	const char *path = o->name;
	size_t len = o->a.name_len;
	ext2_ino_t from = FS_FH_INO(o->a.dir), dir;
	int r, w;

	*ino = 0;
	*created = 0;
	for (;;) {
		w = parent_for_create(o, from, path, len, &dir, &din, last);
		if (w == -EEXIST)	/* "." or "..": an existing directory */
			return -EISDIR;
		if (w < 0 && w != -EACCES)
			return w;
		if (trailing_slash(path, len))
			return -EISDIR;	/* O_CREAT of "name/" (Linux) */
		if (dir_lookup(o->d, dir, last, ino) < 0)
			break;
		if (flags & O_EXCL)
			return -EEXIST;
		r = inode_read(o->d, *ino, in);
		if (r < 0)
			return r;
		if (!LINUX_S_ISLNK(in->i_mode) || (flags & O_NOFOLLOW)) {
			*ino = 0;	/* exists: open it as without O_CREAT */
			return 0;
		}
		/* A link: on to its target, from the link's directory (its
		 * search permission was checked by the walk). */
		if (++hops > 40)
			return -ELOOP;
		r = fsd_readlink(o->d, *ino, in, target, sizeof(target));
		if (r < 0)
			return r;
		if (r == 0)
			return -ENOENT;
		path = target;
		len = (size_t)r;
		from = dir;
		*ino = 0;
	}
	if (w < 0)
		return w;	/* no write permission for a new name */
	r = create_file(o, dir, &din, last, o->a.mode, ino, in);
	if (r < 0)
		return r;
	*created = 1;
	return 0;
}

int op_open(struct fsd_op *o)
{
	unsigned flags = o->a.flags;
	struct ext2_inode_large in;
	ext2_ino_t ino = 0;
	int created = 0, mask, r;

	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (!o->a.name_len) {
		/* By handle: a bridge (aoki-fuse) opening a file it looked
		 * up; the same checks as an open by name. */
		if (flags & O_CREAT)
			return -EINVAL;
		r = inode_of_fh(o->d, o->a.fh, &ino, &in);
		if (r < 0)
			return r;
	} else if (flags & O_CREAT) {
		r = open_create(o, &ino, &in, &created);
		if (r < 0)
			return r;
	}
	if (!ino) {
		r = namei(o->d, &o->cred, FS_FH_INO(o->a.dir), o->name, o->a.name_len,
			  flags & O_NOFOLLOW, &ino);
		if (r < 0)
			return r;
		r = inode_read(o->d, ino, &in);
		if (r < 0)
			return r;
	}
	/* The kernel's order (do_open, may_open): O_DIRECTORY, a link,
	 * a directory opened for writing, then the permission. */
	if ((flags & O_DIRECTORY) && !LINUX_S_ISDIR(in.i_mode))
		return -ENOTDIR;
	if (LINUX_S_ISLNK(in.i_mode))
		return -ELOOP;	/* O_NOFOLLOW on a link */
	if (LINUX_S_ISDIR(in.i_mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)))
		return -EISDIR;
	if (!created) {
		/* O_TRUNC asks for write permission whatever the access mode
		 * (Linux truncates an O_RDONLY | O_TRUNC open too). */
		mask = access_mask(flags);
		if ((flags & O_TRUNC) && LINUX_S_ISREG(in.i_mode))
			mask |= MAY_WRITE;
		r = perm_check(&o->cred, &in, mask);
		if (r < 0)
			return r;
		if ((mask & MAY_WRITE) && (o->d->cfg.read_only || o->d->io_error))
			return -EROFS;
		if ((mask & MAY_WRITE) && (in.i_flags & EXT2_IMMUTABLE_FL))
			return -EPERM;
		if ((flags & O_TRUNC) && LINUX_S_ISREG(in.i_mode) && EXT2_I_SIZE(&in)) {
			if (in.i_flags & EXT2_APPEND_FL)
				return -EPERM;
			r = file_set_size(o->d, ino, &in, 0);
			if (r < 0)
				return r;
		}
	}
	return op_reply_attr(o, ino, &in);
}

int op_mkdir(struct fsd_op *o)
{
	struct ext2_inode_large in, din;
	char last[FS_NAME_MAX + 1];
	ext2_ino_t dir, ino;
	uint32_t gen;
	errcode_t e;
	int r;

	r = parent_for_create(o, FS_FH_INO(o->a.dir), o->name, o->a.name_len, &dir, &din, last);
	if (r < 0)
		return r;
	if (dir_lookup(o->d, dir, last, &ino) == 0)
		return -EEXIST;
	if (din.i_links_count >= EXT2_LINK_MAX && !ext2fs_has_feature_dir_nlink(o->d->fs->super))
		return -EMLINK;
	/* The inode is chosen here, for its generation. */
	e = ext2fs_new_inode(o->d->fs, dir, LINUX_S_IFDIR | 0755, NULL, &ino);
	if (e)
		return fsd_errno(e);
	gen = new_generation(o->d, ino);
	e = ext2fs_mkdir(o->d->fs, dir, ino, last);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(o->d->fs, dir);
		if (!e)
			e = ext2fs_mkdir(o->d->fs, dir, ino, last);
	}
	if (e)
		return fsd_errno(e);
	dcache_add(o->d, dir, last, ino);
	r = inode_read(o->d, ino, &in);
	if (r == 0)
		r = dir_set_generation(o->d, ino, &in, gen);
	if (r < 0)
		return r;
	in.i_mode = (uint16_t)(LINUX_S_IFDIR | (o->a.mode & 07777));
	set_owner(o, &in, &din);
	r = inode_write(o->d, ino, &in);
	if (r == 0)
		r = touch_dir(o->d, dir);
	return r < 0 ? r : op_reply_attr(o, ino, &in);
}

int op_symlink(struct fsd_op *o)
{
	struct ext2_inode_large in, din;
	char last[FS_NAME_MAX + 1];
	ext2_ino_t dir, ino;
	uint32_t gen;
	errcode_t e;
	int r;

	if (!o->a.name2_len)
		return -ENOENT;
	if (o->a.name2_len >= o->d->bsize)
		return -ENAMETOOLONG;
	r = parent_for_create(o, FS_FH_INO(o->a.dir), o->name, o->a.name_len, &dir, &din, last);
	if (r == 0)
		r = nondir_slash(o, dir, last, o->name, o->a.name_len);
	if (r < 0)
		return r;
	if (dir_lookup(o->d, dir, last, &ino) == 0)
		return -EEXIST;
	e = ext2fs_new_inode(o->d->fs, dir, LINUX_S_IFLNK | 0777, NULL, &ino);
	if (e)
		return fsd_errno(e);
	gen = new_generation(o->d, ino);
	e = ext2fs_symlink(o->d->fs, dir, ino, last, o->name2);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(o->d->fs, dir);
		if (!e)
			e = ext2fs_symlink(o->d->fs, dir, ino, last, o->name2);
	}
	if (e)
		return fsd_errno(e);
	dcache_add(o->d, dir, last, ino);
	r = inode_read(o->d, ino, &in);
	if (r < 0)
		return r;
	in.i_generation = gen;
	in.i_mode = LINUX_S_IFLNK | 0777;
	set_owner(o, &in, &din);
	r = inode_write(o->d, ino, &in);
	if (r == 0)
		r = touch_dir(o->d, dir);
	return r < 0 ? r : op_reply_attr(o, ino, &in);
}

int op_link(struct fsd_op *o)
{
	struct ext2_inode_large in, din;
	char last[FS_NAME_MAX + 1];
	ext2_ino_t dir, ino, other;
	int r;

	r = inode_of_fh(o->d, o->a.fh, &ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode))
		return -EPERM;
	r = parent_for_create(o, FS_FH_INO(o->a.dir2), o->name2, o->a.name2_len, &dir, &din,
			      last);
	if (r == 0)
		r = nondir_slash(o, dir, last, o->name2, o->a.name2_len);
	if (r < 0)
		return r;
	if (dir_lookup(o->d, dir, last, &other) == 0)
		return -EEXIST;
	if (in.i_links_count >= EXT2_LINK_MAX)
		return -EMLINK;
	if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return -EPERM;
	r = dir_add(o->d, dir, last, ino, in.i_mode);
	if (r < 0)
		return r;
	in.i_links_count++;
	inode_touch(&in, 0);
	r = inode_write(o->d, ino, &in);
	if (r == 0)
		r = touch_dir(o->d, dir);
	return r < 0 ? r : op_reply_attr(o, ino, &in);
}
