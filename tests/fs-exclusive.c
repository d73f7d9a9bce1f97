/* SPDX-License-Identifier: MIT */
/*
 * fs-exclusive: one aoki-fsd per volume (servers/fsd/claim.c).  aoki-blkd
 * serves a volume to any number of clients, so a second file server on
 * the same volume (a daemon with another port, or a program hosting fsd
 * under AOKI_HOST against the same blkd) used to mount it too, and the
 * two lost each other's fsync'd files without a word (a review).  Now,
 * with an fsd serving volume "disk" of a blkd daemon:
 *   - a second fsd hosted in this process (another port): -EBUSY;
 *   - a second fsd daemon (another port): exits non-zero, saying "in use";
 * and, the controls: a read-only fsd beside it mounts; once the first
 * stopped, another one mounts read-write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "aoki/host.h"
#include "check.h"
#include "fs_util.h"
#include "harness.h"

static const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };

/* Host fsd on volume "disk" of blkd "blk" at port @port; @extra words. */
static int host_fsd(const char *port, const char *extra, struct aoki_host **h)
{
	char words[PATH_MAX + 128];

	snprintf(words, sizeof(words), "--volume disk --blk-port blk --port %s --quiet %s", port,
		 extra);
	return aoki_host_start("fsd", words, &quiet, h);
}

int main(void)
{
	char img[PATH_MAX], vol[PATH_MAX + 8];
	const char *bargs[] = { "--volume", vol, NULL };
	struct aoki_host *one, *two;
	pid_t blkd;

	snprintf(img, sizeof(img), "%s/fs.img", t_run_dir());
	snprintf(vol, sizeof(vol), "disk=%s", img);
	t_fs_mkfs(img, 16);
	blkd = t_blkd_start("blk", bargs);
	CHECK_EQ(host_fsd("fs1", "", &one), 0);

	/* A second writer, in this process. */
	CHECK_EQ(host_fsd("fs2", "", &two), -EBUSY);

	/* A second writer, a daemon. */
	t_run_fails_saying((const char *const[]){ t_fsd_path(), "--volume", "disk", "--blk-port",
						  "blk", "--port", "fs3", NULL },
			   "in use by another aoki-fsd");

	/* Controls: a reader beside it; a writer once it stopped. */
	CHECK_EQ(host_fsd("fs4", "--read-only", &two), 0);
	aoki_host_stop(two);
	aoki_host_stop(one);
	CHECK_EQ(host_fsd("fs2", "", &two), 0);
	aoki_host_stop(two);
	t_blkd_stop(blkd);
	return 0;
}
