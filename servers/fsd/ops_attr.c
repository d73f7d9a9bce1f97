/* SPDX-License-Identifier: MIT */
/*
 * ops_attr.c - operations on one inode's attributes, and the whole-file-
 * system ones: STATFS, LOOKUP, GETATTR, SETATTR, READLINK, FSYNC,
 * SYNCFS, FALLOCATE, STATS, ACCESS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "fsd.h"

/* Write @len bytes of @src to the op's output window (-ERANGE if it
 * does not fit). */
static int put_out(struct fsd_op *o, const void *src, size_t len)
{
	if (len > o->out_len)
		return -ERANGE;
	memcpy(o->out, src, len);
	return 0;
}

/* Output the attributes of @ino and set the handle reply. */
int op_reply_attr(struct fsd_op *o, ext2_ino_t ino, const struct ext2_inode_large *in)
{
	struct fs_attr a;

	attr_fill(o->d, ino, in, &a);
	o->hrep = (struct fs_handle_rep){ a.fh, a.size, a.mode, 0 };
	o->has_hrep = 1;
	if (o->out_len >= sizeof(a))
		memcpy(o->out, &a, sizeof(a));
	return 0;
}

int op_statfs(struct fsd_op *o)
{
	struct ext2_super_block *s = o->d->fs->super;
	uint64_t free = ext2fs_free_blocks_count(s), resv = ext2fs_r_blocks_count(s);
	struct fs_statfs st = {
		.blocks = ext2fs_blocks_count(s),
		.bfree = free,
		.bavail = free > resv ? free - resv : 0,
		.files = s->s_inodes_count,
		.ffree = s->s_free_inodes_count,
		.bsize = o->d->bsize,
		.namemax = FS_NAME_MAX,
	};

	return put_out(o, &st, sizeof(st));
}

int op_lookup(struct fsd_op *o)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r = namei(o->d, &o->cred, FS_FH_INO(o->a.dir), o->name, o->a.name_len,
		      o->a.flags & FS_LOOKUP_NOFOLLOW, &ino);

	if (r == 0)
		r = inode_read(o->d, ino, &in);
	return r < 0 ? r : op_reply_attr(o, ino, &in);
}

int op_getattr(struct fsd_op *o)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r = inode_of_fh(o->d, o->a.fh, &ino, &in);

	return r < 0 ? r : op_reply_attr(o, ino, &in);
}

static int in_group(const struct fsd_cred *c, gid_t gid)
{
	return c->gid == gid;
}

int op_setattr(struct fsd_op *o)
{
	const struct fs_attr *want = &o->a.attr;
	unsigned set = o->a.set;
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int owner, r;

	if (set & ~0xffu)
		return -EINVAL;
	r = inode_of_fh(o->d, o->a.fh, &ino, &in);
	if (r < 0)
		return r;
	owner = perm_owner(&o->cred, &in) == 0;
	if ((set & FS_SET_MODE) && !owner)
		return -EPERM;
	if ((set & FS_SET_UID) && o->cred.uid && want->uid != inode_uid(*(struct ext2_inode *)&in))
		return -EPERM;
	if ((set & FS_SET_GID) && o->cred.uid &&
	    (!owner || (want->gid != inode_gid(*(struct ext2_inode *)&in) &&
			!in_group(&o->cred, want->gid))))
		return -EPERM;
	/* Explicit times need the owner; so does "now" for one time only
	 * (utimensat with UTIME_NOW and UTIME_OMIT: Linux's ATTR_TIMES_SET);
	 * both "now" needs write permission (ATTR_TOUCH). */
	if ((set & (FS_SET_ATIME | FS_SET_MTIME)) && !owner)
		return -EPERM;
	if ((set & (FS_SET_ATIME_NOW | FS_SET_MTIME_NOW)) &&
	    (set & (FS_SET_ATIME_NOW | FS_SET_MTIME_NOW)) != (FS_SET_ATIME_NOW | FS_SET_MTIME_NOW) &&
	    !owner)
		return -EPERM;
	if ((set & (FS_SET_ATIME_NOW | FS_SET_MTIME_NOW)) && !owner &&
	    perm_check(&o->cred, &in, MAY_WRITE) < 0)
		return -EACCES;
	if (set & FS_SET_SIZE) {
		if (LINUX_S_ISDIR(in.i_mode))
			return -EISDIR;
		if (!LINUX_S_ISREG(in.i_mode))
			return -EINVAL;
		r = perm_check(&o->cred, &in, MAY_WRITE);
		if (r < 0 && !owner)
			return r;
		if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
			return -EPERM;
		if (want->size > ((uint64_t)1 << 32) * o->d->bsize - o->d->bsize)
			return -EFBIG;
		if (want->size != EXT2_I_SIZE(&in)) {
			r = file_set_size(o->d, ino, &in, want->size);
			if (r < 0)
				return r;
		}
	}
	if (set & FS_SET_MODE) {
		in.i_mode = (uint16_t)((in.i_mode & LINUX_S_IFMT) | (want->mode & 07777));
		if (o->cred.uid && !in_group(&o->cred, inode_gid(*(struct ext2_inode *)&in)))
			in.i_mode &= ~LINUX_S_ISGID;
	}
	if (set & (FS_SET_UID | FS_SET_GID)) {
		if (set & FS_SET_UID)
			inode_uid_set(*(struct ext2_inode *)&in, want->uid);
		if (set & FS_SET_GID)
			inode_gid_set(*(struct ext2_inode *)&in, want->gid);
		if (LINUX_S_ISREG(in.i_mode))
			in.i_mode &= ~(LINUX_S_ISUID | (in.i_mode & 0010 ? LINUX_S_ISGID : 0));
	}
	if (set & FS_SET_ATIME)
		inode_set_time(&in, T_ATIME, want->atime_ns);
	if (set & FS_SET_ATIME_NOW)
		inode_set_time(&in, T_ATIME, now_real_ns());
	if (set & FS_SET_MTIME)
		inode_set_time(&in, T_MTIME, want->mtime_ns);
	if (set & FS_SET_MTIME_NOW)
		inode_set_time(&in, T_MTIME, now_real_ns());
	inode_touch(&in, 0);
	r = inode_write(o->d, ino, &in);
	return r < 0 ? r : op_reply_attr(o, ino, &in);
}

int op_readlink(struct fsd_op *o)
{
	char target[FS_PATH_MAX];
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r = inode_of_fh(o->d, o->a.fh, &ino, &in);

	if (r == 0)
		r = fsd_readlink(o->d, ino, &in, target, sizeof(target));
	if (r < 0)
		return r;
	if ((size_t)r > o->out_len)
		r = (int)o->out_len;	/* truncated, as readlink(2) */
	memcpy(o->out, target, (size_t)r);
	return r;
}

int op_fsync(struct fsd_op *o)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r = inode_of_fh(o->d, o->a.fh, &ino, &in);

	return r < 0 ? r : txn_sync(o->d);
}

int op_syncfs(struct fsd_op *o)
{
	return txn_sync(o->d);
}

int op_fallocate(struct fsd_op *o)
{
	unsigned mode = o->a.flags;
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	if (mode & ~(FS_FALLOC_KEEP_SIZE | FS_FALLOC_PUNCH_HOLE | FS_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FS_FALLOC_PUNCH_HOLE) &&
	    (!(mode & FS_FALLOC_KEEP_SIZE) || (mode & FS_FALLOC_ZERO_RANGE)))
		return -EOPNOTSUPP;
	if (!o->a.length || o->a.offset + o->a.length < o->a.offset)
		return -EINVAL;
	r = inode_of_fh(o->d, o->a.fh, &ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(in.i_mode))
		return -ENODEV;
	r = perm_check(&o->cred, &in, MAY_WRITE);
	if (r < 0 && perm_owner(&o->cred, &in) < 0)
		return r;
	if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return -EPERM;
	if (o->a.offset + o->a.length > ((uint64_t)1 << 32) * o->d->bsize - o->d->bsize)
		return -EFBIG;
	return file_fallocate(o->d, ino, &in, mode, o->a.offset, o->a.length);
}

int op_stats(struct fsd_op *o)
{
	struct fsd *d = o->d;
	struct journal_info ji = { 0 };
	struct fs_server_stats s;

	if (d->journal)
		journal_get_info(d->journal, &ji);
	s = (struct fs_server_stats){
		.ops = d->st.ops, .data_read = d->st.data_read,
		.data_written = d->st.data_written, .bytes_copied = d->st.bytes_copied,
		.bytes_zeroed = d->st.bytes_zeroed, .commits = d->st.commits,
		.journal_blocks = d->st.journal_blocks, .checkpoints = d->st.checkpoints,
		.dedup_hits = d->st.dedup_hits, .replayed = d->st.replayed,
		.sequence = ji.next_tid,
	};
	return put_out(o, &s, sizeof(s));
}

/* access(2) for the op's credentials: @flags R_OK, W_OK, X_OK (F_OK: 0);
 * -EACCES as perm_check, -EROFS for W_OK on a read-only server. */
int op_access(struct fsd_op *o)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	if (o->a.flags & ~(unsigned)(MAY_READ | MAY_WRITE | MAY_EXEC))
		return -EINVAL;
	r = inode_of_fh(o->d, o->a.fh, &ino, &in);
	if (r == 0 && o->a.flags)
		r = perm_check(&o->cred, &in, (int)o->a.flags);
	if (r == 0 && (o->a.flags & MAY_WRITE) && (o->d->cfg.read_only || o->d->io_error))
		r = -EROFS;
	return r;
}
