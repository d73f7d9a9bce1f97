/* SPDX-License-Identifier: MIT */
/*
 * perm.c - POSIX permission checks, as the kernel's generic_permission():
 * fsd is the authority; the peer's uid and gid come from the kernel
 * (SO_PEERCRED), never from the request.  Supplementary groups are not
 * known to fsd: only the peer's primary gid counts as its group.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "fsd.h"

int perm_check(const struct fsd_cred *c, const struct ext2_inode_large *in, int mask)
{
	unsigned mode = in->i_mode, bits;
	uid_t uid = inode_uid(*(const struct ext2_inode *)in);
	gid_t gid = inode_gid(*(const struct ext2_inode *)in);

	if (c->uid == 0) {
		/* root: everything, but execute needs some x bit (or a
		 * directory). */
		if ((mask & MAY_EXEC) && !LINUX_S_ISDIR(mode) && !(mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == uid)
		bits = (mode >> 6) & 7;
	else if (c->gid == gid)
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return (bits & (unsigned)mask) == (unsigned)mask ? 0 : -EACCES;
}

int perm_owner(const struct fsd_cred *c, const struct ext2_inode_large *in)
{
	return c->uid == 0 || c->uid == inode_uid(*(const struct ext2_inode *)in) ? 0 : -EPERM;
}

int perm_sticky(const struct fsd_cred *c, const struct ext2_inode_large *dir,
		const struct ext2_inode_large *victim)
{
	if (!(dir->i_mode & LINUX_S_ISVTX) || c->uid == 0)
		return 0;
	if (c->uid == inode_uid(*(const struct ext2_inode *)dir) ||
	    c->uid == inode_uid(*(const struct ext2_inode *)victim))
		return 0;
	return -EPERM;
}
