/* SPDX-License-Identifier: MIT */
/*
 * claim.c - one aoki-fsd per volume.  aoki-blkd serves a volume to any
 * number of clients, so nothing there stops a second file server on the
 * same volume (a second daemon with another port, or two programs that
 * each host fsd under AOKI_HOST against one blkd daemon), and two file
 * systems on one image lose each other's data without a word.  Each
 * read-write mount takes an exclusive lock (an open file description
 * lock) on a file beside blkd's socket, named after the volume:
 * "<blkd socket>.fsd-<volume>.lock"; every fsd of that blkd finds the same
 * file whatever its own port or run directory.  The lock goes when the
 * mount is released (fsd_release) or the process dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "aoki/ipc.h"
#include "daemon.h"
#include "fsd.h"

int fsd_claim(struct fsd *d)
{
	char sock[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 300];
	int fd, r;

	d->claim_fd = -1;
	if (d->cfg.read_only)
		return 0;
	/* A volume name is a file name here: no blkd volume has a '/'. */
	if (!d->cfg.volume || strchr(d->cfg.volume, '/'))
		return -EINVAL;
	r = aoki_port_path(d->cfg.blk_port ? d->cfg.blk_port : AOKI_BLK_PORT, sock, sizeof(sock));
	if (r < 0)
		return r;
	/* The socket itself, not a symlink to it: one name per blkd. */
	if (realpath(sock, real))
		snprintf(sock, sizeof(sock), "%s", real);
	snprintf(path, sizeof(path), "%s.fsd-%s.lock", sock, d->cfg.volume);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		/* Cannot be made (a directory not ours): not enforced. */
		fprintf(stderr, "aoki-fsd: %s: %s: another aoki-fsd on volume '%s' would not "
			"be noticed\n", path, strerror(errno), d->cfg.volume);
		return 0;
	}
	r = daemon_lock_exclusive(fd);
	if (r < 0) {
		close(fd);
		if (r == -EBUSY)
			fprintf(stderr, "aoki-fsd: volume '%s' of aoki-blkd is in use by another "
				"aoki-fsd (%s is locked)\n", d->cfg.volume, path);
		return r;
	}
	d->claim_fd = fd;
	return 0;
}

void fsd_unclaim(struct fsd *d)
{
	if (d->claim_fd >= 0)
		close(d->claim_fd);
	d->claim_fd = -1;
}
