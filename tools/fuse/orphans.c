/* SPDX-License-Identifier: MIT */
/*
 * orphans.c - unlink while open.  fsd frees an inode with its last name,
 * so before the last name of a file open here goes, the file gets a
 * second one in the hidden directory /.aoki-orphans ("%016llx" of its
 * handle): a link, made by aoki-fuse itself before the caller's removal,
 * so that the removal stays one atomic operation of fsd's.  The hidden
 * name goes at the last release; what a crash leaves is removed at the
 * next mount.  Clients of fsd other than this mount see the directory;
 * through the mount it does not exist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"

static void orphan_name(aoki_fs_handle fh, char name[17])
{
	snprintf(name, 17, "%016llx", (unsigned long long)fh);
}

/* Remove every entry of the hidden directory (a crashed mount's; or at
 * unmount, of files still open when the session ended: @quiet). */
static int orphans_clean(struct bridge *b, int quiet)
{
	struct aoki_fs_dirent ent;
	struct aoki_fs_dir *d;
	unsigned removed = 0;
	int r = aoki_fs_hopendir(b->fs, NULL, b->orphans, &d);

	if (r < 0)
		return r;
	while ((r = aoki_fs_readdir(d, &ent)) == 1) {
		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		r = aoki_fs_hunlink(b->fs, NULL, b->orphans, ent.name);
		if (r == -EISDIR)
			r = aoki_fs_hrmdir(b->fs, NULL, b->orphans, ent.name);
		if (r < 0 && r != -ENOENT)
			break;
		removed++;
	}
	aoki_fs_closedir(d);
	if (removed && !quiet)
		fprintf(stderr, "aoki-fuse: removed %u file%s left open by an earlier mount\n",
			removed, removed == 1 ? "" : "s");
	return r < 0 ? r : 0;
}

int orphans_setup(struct bridge *b)
{
	struct stat st;
	aoki_fs_handle fh;
	int r = aoki_fs_hlookup(b->fs, NULL, AOKI_FS_ROOT_HANDLE, ORPHAN_DIR, &fh, &st);

	if (r == -ENOENT)
		r = aoki_fs_hmkdir(b->fs, NULL, AOKI_FS_ROOT_HANDLE, ORPHAN_DIR, 0700, &fh, &st);
	if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r == 0) {
		b->orphans = fh;
		r = orphans_clean(b, 0);
	}
	if (r < 0) {
		b->orphans = 0;
		fprintf(stderr, "aoki-fuse: warning: no /%s (%s): a file unlinked while open "
				"is gone at once (-ESTALE)\n", ORPHAN_DIR, strerror(-r));
	}
	return r;
}

void orphans_teardown(struct bridge *b)
{
	if (b->orphans)
		orphans_clean(b, 1);
}

int orphan_keep(struct bridge *b, aoki_fs_handle fh)
{
	char name[17];
	int r;

	orphan_name(fh, name);
	r = aoki_fs_hlink(b->fs, NULL, fh, b->orphans, name, NULL);
	return r == -EEXIST ? 0 : r;
}

int orphan_drop(struct bridge *b, aoki_fs_handle fh)
{
	char name[17];
	int r;

	orphan_name(fh, name);
	r = aoki_fs_hunlink(b->fs, NULL, b->orphans, name);
	if (r < 0 && r != -ENOENT)
		fprintf(stderr, "aoki-fuse: cannot remove /%s/%s: %s\n", ORPHAN_DIR, name,
			strerror(-r));
	return r;
}

struct node *orphan_guard(struct bridge *b, const struct aoki_fs_cred *as, aoki_fs_handle dir,
			  const char *name, aoki_fs_handle *fh)
{
	struct stat st;
	struct node *n;

	if (!b->orphans || !nodes_any_open())
		return NULL;
	if (aoki_fs_hlookup(b->fs, as, dir, name, fh, &st) < 0 || S_ISDIR(st.st_mode) ||
	    st.st_nlink != 1)
		return NULL;
	n = node_find(*fh);
	if (!n)
		return NULL;
	node_lock(n);
	if (!node_opens(n) || node_orphaned(n) || orphan_keep(b, *fh) < 0) {
		node_unlock(n);
		node_put(n);
		return NULL;
	}
	return n;
}

void orphan_settle(struct bridge *b, struct node *n, aoki_fs_handle fh, int r)
{
	if (!n)
		return;
	if (r == 0)
		node_set_orphaned(n, 1);
	else
		orphan_drop(b, fh);
	node_unlock(n);
	node_put(n);
}
