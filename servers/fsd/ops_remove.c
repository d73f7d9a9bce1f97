/* SPDX-License-Identifier: MIT */
/*
 * ops_remove.c - operations that remove or move a name: UNLINK, RMDIR,
 * RENAME (with RENAME_NOREPLACE and RENAME_EXCHANGE).  The checks and
 * their order follow the kernel's (may_delete): search and write
 * permission on the directory, the sticky bit, then the type rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "fsd.h"

struct dir_count {
	unsigned n;
};

static int count_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		       int blocksize, char *buf, void *priv)
{
	struct dir_count *c = priv;

	if (entry != DIRENT_DOT_FILE && entry != DIRENT_DOT_DOT_FILE && de->inode) {
		c->n++;
		return DIRENT_ABORT;
	}
	return 0;
}

static int dir_empty(struct fsd *d, ext2_ino_t dir)
{
	struct dir_count c = { 0 };
	errcode_t e = ext2fs_dir_iterate2(d->fs, dir, 0, NULL, count_entry, &c);

	return e ? fsd_errno(e) : c.n == 0;
}

/* Point entry @name of @dir at @ino (type from @mode). */
struct set_entry {
	const char *name;
	size_t len;
	ext2_ino_t ino;
	int ft, done;
};

static int set_entry_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
			int blocksize, char *buf, void *priv)
{
	struct set_entry *s = priv;

	if (!de->inode || (size_t)ext2fs_dirent_name_len(de) != s->len ||
	    memcmp(de->name, s->name, s->len))
		return 0;
	de->inode = s->ino;
	ext2fs_dirent_set_file_type(de, s->ft);
	s->done = 1;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

static int dir_set(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t ino, unsigned mode)
{
	struct set_entry s = { name, strlen(name), ino, ext2_file_type(mode), 0 };
	errcode_t e = ext2fs_dir_iterate2(d->fs, dir, 0, NULL, set_entry_cb, &s);

	if (e)
		return fsd_errno(e);
	if (s.done)
		dcache_add(d, dir, name, ino);
	return s.done ? 0 : -ENOENT;
}

static int adjust_links(struct fsd *d, ext2_ino_t ino, int delta)
{
	struct ext2_inode_large in;
	int r = inode_read(d, ino, &in);

	if (r < 0)
		return r;
	if (delta < 0 && in.i_links_count > 1)
		in.i_links_count--;
	else if (delta > 0 && in.i_links_count < EXT2_LINK_MAX)
		in.i_links_count++;	/* past the limit: dir_nlink's "many" */
	inode_touch(&in, 1);
	return inode_write(d, ino, &in);
}

/* Drop one link of @ino (a directory: its only one); free it at zero. */
static int drop_link(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in)
{
	if (LINUX_S_ISDIR(in->i_mode) || in->i_links_count <= 1)
		return inode_release(d, ino, in);
	in->i_links_count--;
	inode_touch(in, 0);
	return inode_write(d, ino, in);
}

/* The directory and entry an UNLINK/RMDIR/RENAME names, with the
 * permission to remove it. */
struct victim {
	ext2_ino_t dir, ino;
	struct ext2_inode_large din, in;
	char last[FS_NAME_MAX + 1];
};

static int find_victim(struct fsd_op *o, uint64_t dirfh, const char *name, size_t len,
		       struct victim *v)
{
	int r = namei_parent(o->d, &o->cred, FS_FH_INO(dirfh), name, len, &v->dir, v->last);

	if (r == 0)
		r = inode_read(o->d, v->dir, &v->din);
	if (r < 0)
		return r;
	if (!strcmp(v->last, "."))
		return -EINVAL;
	if (!strcmp(v->last, ".."))
		return -ENOTEMPTY;
	r = perm_check(&o->cred, &v->din, MAY_WRITE | MAY_EXEC);
	if (r < 0)
		return r;
	r = dir_lookup(o->d, v->dir, v->last, &v->ino);
	if (r == 0)
		r = inode_read(o->d, v->ino, &v->in);
	if (r == 0 && len && name[len - 1] == '/' && !LINUX_S_ISDIR(v->in.i_mode))
		r = -ENOTDIR;	/* "file/" */
	if (r == 0)
		r = perm_sticky(&o->cred, &v->din, &v->in);
	if (r == 0 && (v->in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL)))
		r = -EPERM;
	return r;
}

static int remove_entry(struct fsd *d, struct victim *v)
{
	errcode_t e = ext2fs_unlink(d->fs, v->dir, v->last, v->ino, 0);
	int r;

	if (e)
		return fsd_errno(e);
	dcache_del(d, v->dir, v->last);
	r = drop_link(d, v->ino, &v->in);
	if (r == 0 && LINUX_S_ISDIR(v->in.i_mode))
		return adjust_links(d, v->dir, -1);	/* its ".." */
	if (r == 0) {
		r = inode_read(d, v->dir, &v->din);
		if (r == 0) {
			inode_touch(&v->din, 1);
			r = inode_write(d, v->dir, &v->din);
		}
	}
	return r;
}

int op_unlink(struct fsd_op *o)
{
	struct victim v;
	int r = find_victim(o, o->a.dir, o->name, o->a.name_len, &v);

	if (r < 0)
		return r == -ENOTEMPTY || r == -EINVAL ? -EISDIR : r;
	if (LINUX_S_ISDIR(v.in.i_mode))
		return -EISDIR;
	return remove_entry(o->d, &v);
}

int op_rmdir(struct fsd_op *o)
{
	struct victim v;
	int r = find_victim(o, o->a.dir, o->name, o->a.name_len, &v);

	if (r == -EINVAL && o->a.name_len && strspn(o->name, "/") == o->a.name_len)
		return -EBUSY;	/* "/" itself */
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(v.in.i_mode))
		return -ENOTDIR;
	if (v.ino == EXT2_ROOT_INO)
		return -EBUSY;
	r = dir_empty(o->d, v.ino);
	if (r < 0)
		return r;
	if (!r)
		return -ENOTEMPTY;
	return remove_entry(o->d, &v);
}

/* Is @dir @ancestor or below it?  (Walks ".." up to the root.) */
static int is_below(struct fsd *d, ext2_ino_t dir, ext2_ino_t ancestor)
{
	for (unsigned n = 0; n < 4096; n++) {
		ext2_ino_t up;

		if (dir == ancestor)
			return 1;
		if (dir == EXT2_ROOT_INO)
			return 0;
		if (dir_lookup(d, dir, "..", &up) < 0)
			return 0;
		dir = up;
	}
	return 1;	/* too deep to tell: refuse */
}

/* A directory moved from @from to @to: its ".." and the link counts. */
static int reparent(struct fsd *d, ext2_ino_t ino, ext2_ino_t from, ext2_ino_t to)
{
	int r;

	if (from == to)
		return 0;
	r = dir_set(d, ino, "..", to, LINUX_S_IFDIR);
	if (r == 0)
		r = adjust_links(d, from, -1);
	if (r == 0)
		r = adjust_links(d, to, +1);
	return r;
}

static int rename_exchange(struct fsd_op *o, struct victim *s, struct victim *t)
{
	struct fsd *d = o->d;
	int r;

	if (LINUX_S_ISDIR(s->in.i_mode) && is_below(d, t->dir, s->ino))
		return -EINVAL;
	if (LINUX_S_ISDIR(t->in.i_mode) && is_below(d, s->dir, t->ino))
		return -EINVAL;
	r = dir_set(d, s->dir, s->last, t->ino, t->in.i_mode);
	if (r == 0)
		r = dir_set(d, t->dir, t->last, s->ino, s->in.i_mode);
	if (r == 0 && LINUX_S_ISDIR(s->in.i_mode))
		r = reparent(d, s->ino, s->dir, t->dir);
	if (r == 0 && LINUX_S_ISDIR(t->in.i_mode))
		r = reparent(d, t->ino, t->dir, s->dir);
	return r;
}

static int is_dot(const char *last)
{
	return !strcmp(last, ".") || !strcmp(last, "..");
}

int op_rename(struct fsd_op *o)
{
	struct fsd *d = o->d;
	unsigned flags = o->a.flags;
	struct victim s = { 0 }, t = { 0 };
	int exists, r;

	if (flags & ~(FS_RENAME_NOREPLACE | FS_RENAME_EXCHANGE) ||
	    flags == (FS_RENAME_NOREPLACE | FS_RENAME_EXCHANGE))
		return -EINVAL;
	r = find_victim(o, o->a.dir, o->name, o->a.name_len, &s);
	if (r < 0)
		return is_dot(s.last) ? -EBUSY : r;	/* "." or "..": -EBUSY (Linux) */
	r = find_victim(o, o->a.dir2, o->name2, o->a.name2_len, &t);
	if (r < 0 && is_dot(t.last))
		return -EBUSY;
	if (r < 0 && r != -ENOENT)
		return r;
	exists = r == 0;
	if (!exists) {
		/* namei_parent succeeded; the permission was checked before
		 * the lookup failed. */
		if (t.dir == 0)
			return -ENOENT;
		/* "name/" names a directory: only one can move there. */
		if (o->name2[o->a.name2_len - 1] == '/' && !LINUX_S_ISDIR(s.in.i_mode))
			return -ENOTDIR;
	}
	if (flags & FS_RENAME_EXCHANGE)
		return exists ? rename_exchange(o, &s, &t) : -ENOENT;
	if (exists && t.ino == s.ino)
		return 0;	/* two links of one inode: nothing to do */
	if (exists && (flags & FS_RENAME_NOREPLACE))
		return -EEXIST;
	if (LINUX_S_ISDIR(s.in.i_mode) && is_below(d, t.dir, s.ino))
		return -EINVAL;
	if (exists) {
		if (LINUX_S_ISDIR(s.in.i_mode) && !LINUX_S_ISDIR(t.in.i_mode))
			return -ENOTDIR;
		if (!LINUX_S_ISDIR(s.in.i_mode) && LINUX_S_ISDIR(t.in.i_mode))
			return -EISDIR;
		if (LINUX_S_ISDIR(t.in.i_mode)) {
			r = dir_empty(d, t.ino);
			if (r <= 0)
				return r < 0 ? r : -ENOTEMPTY;
		}
		/* Replace in place: the name never disappears. */
		r = dir_set(d, t.dir, t.last, s.ino, s.in.i_mode);
		if (r == 0)
			r = drop_link(d, t.ino, &t.in);
		if (r == 0 && LINUX_S_ISDIR(t.in.i_mode))
			r = adjust_links(d, t.dir, -1);
	} else {
		r = dir_add(d, t.dir, t.last, s.ino, s.in.i_mode);
	}
	if (r == 0) {
		errcode_t e = ext2fs_unlink(d->fs, s.dir, s.last, s.ino, 0);

		if (!e)
			dcache_del(d, s.dir, s.last);

		r = fsd_errno(e);
	}
	if (r == 0 && LINUX_S_ISDIR(s.in.i_mode))
		r = reparent(d, s.ino, s.dir, t.dir);
	if (r == 0) {
		r = inode_read(d, s.ino, &s.in);
		if (r == 0) {
			inode_touch(&s.in, 0);
			r = inode_write(d, s.ino, &s.in);
		}
	}
	if (r == 0)
		r = adjust_links(d, s.dir, 0);
	if (r == 0 && t.dir != s.dir)
		r = adjust_links(d, t.dir, 0);
	return r;
}
