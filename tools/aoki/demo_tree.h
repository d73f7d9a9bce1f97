/* SPDX-License-Identifier: MIT */
/* demo_tree.h - copying a source tree and checksumming a tree
 * (demo_tree.c), for the stack job of `aoki demo`. */
#ifndef AOKI_DEMO_TREE_H
#define AOKI_DEMO_TREE_H

#include <stddef.h>
#include <stdint.h>

struct demo_copy {
	uint64_t files;		/* regular files and symbolic links */
	uint64_t bytes;
};

/*
 * demo_copy_tree - copy the files `git -C @src ls-files --cached --others
 * --exclude-standard` lists (tracked, and untracked but not ignored:
 * what a build of the working tree sees) from @src into @dst, with their
 * modes, making directories as needed.  Returns 0, or -errno with why in
 * @why.
 */
int demo_copy_tree(const char *src, const char *dst, struct demo_copy *st, char *why,
		   size_t cap);

/*
 * demo_tree_sum - one sha256 (hex, into @sum) over the tree at @dir:
 * every entry's kind, mode, name and link target, and every file's
 * content, sorted byte-wise; lost+found, .aoki-replies and .aoki-orphans
 * left out.  *@entries gets the number of lines hashed.  Returns 0 or
 * -errno (-EIO: a step of the pipeline failed).
 */
int demo_tree_sum(const char *dir, char sum[65], uint64_t *entries);

#endif
