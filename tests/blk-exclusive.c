/* SPDX-License-Identifier: MIT */
/*
 * blk-exclusive: a volume served read-write is one aoki-blkd's alone
 * (servers/blkd/volume.c takes an exclusive lock on the file).  Two
 * file systems on one image lost each other's fsync'd files without a
 * word (a review: AOKI_HOST exported to two programs, each hosting its
 * own blkd and fsd on the same image; two daemons likewise).  Now:
 *   - a second blkd hosted in this process on the same file: -EBUSY;
 *   - an aoki-blkd daemon on it: exits with an error, saying "in use";
 * and, the controls: the same file read-only beside the writer is
 * served; one server may name the file twice (two volumes, one lock);
 * once the writer stopped, a new one gets the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "aoki/host.h"
#include "blk_util.h"
#include "check.h"
#include "harness.h"

static const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };

/* Host blkd serving @img as volume "v" (read-only with @ro) at port
 * @name; returns aoki_host_start's result. */
static int host(const char *img, const char *name, int ro, struct aoki_host **h)
{
	char words[PATH_MAX * 2];

	snprintf(words, sizeof(words), "--volume v=%s%s --port %s/%s --quiet", img,
		 ro ? ":ro" : "", t_run_dir(), name);
	return aoki_host_start("blkd", words, &quiet, h);
}

int main(void)
{
	char img[PATH_MAX], vol[PATH_MAX + 8], vol2[PATH_MAX * 3], port[PATH_MAX + 8];
	struct aoki_host *a, *b, *ro;

	snprintf(img, sizeof(img), "%s/v.img", t_run_dir());
	t_blk_file(img, 1 << 20);
	CHECK_EQ(host(img, "a.sock", 0, &a), 0);

	/* Another writer in this process. */
	CHECK_EQ(host(img, "b.sock", 0, &b), -EBUSY);

	/* Another writer in another process: the daemon. */
	snprintf(vol, sizeof(vol), "v=%s", img);
	snprintf(port, sizeof(port), "%s/d.sock", t_run_dir());
	t_run_fails_saying((const char *const[]){ t_blkd_path(), "--volume", vol, "--port", port,
						  NULL }, "in use");

	/* Controls: a reader beside the writer; a writer after it, which
	 * may name the file twice. */
	CHECK_EQ(host(img, "ro.sock", 1, &ro), 0);
	aoki_host_stop(ro);
	aoki_host_stop(a);
	snprintf(vol2, sizeof(vol2), "--volume v=%s --volume w=%s --port %s/c.sock --quiet", img,
		 img, t_run_dir());
	CHECK_EQ(aoki_host_start("blkd", vol2, &quiet, &b), 0);
	/* ... and holds it. */
	CHECK_EQ(host(img, "a.sock", 0, &a), -EBUSY);
	aoki_host_stop(b);
	return 0;
}
