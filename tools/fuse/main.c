/* SPDX-License-Identifier: MIT */
/*
 * main.c - aoki-fuse: mount aoki-fsd's file system through FUSE.  See
 * aoki-fuse(8).  Exit status: 0 after a clean unmount (fusermount3 -u,
 * umount, SIGTERM, SIGINT, SIGHUP), or, detached, as soon as the mount is
 * usable; 1 when it cannot mount or serve (aoki-fsd unreachable, the
 * mount refused); 2 for bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"

int main(int argc, char **argv)
{
	struct bridge b = { 0 };
	struct stat st;
	int r = bridge_parse_args(argc, argv, &b.o);

	if (r)
		return r < 0 ? 2 : 0;
	errno = 0;
	if (stat(b.o.mountpoint, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "aoki-fuse: mount point %s: %s\n", b.o.mountpoint,
			errno ? strerror(errno) : "not a directory");
		return 2;
	}
	if (b.o.allow_other && geteuid() != 0 && !b.o.default_permissions) {
		/* fsd would check every user's request as aoki-fuse's own. */
		fprintf(stderr, "aoki-fuse: -o allow_other needs root (aoki-fsd trusts a "
				"caller's uid only from root), or -o default_permissions\n");
		return 2;
	}
	return bridge_run(&b);
}
