/* SPDX-License-Identifier: MIT */
/*
 * blk_work.h - a private aoki-blkd for a tool run (`aoki soak blk`, the
 * storage part of `aoki demo`): a directory under $TMPDIR with a volume
 * image and the run's own copy of aoki-blkd, served under aoki-init.
 */
#ifndef AOKI_BLK_WORK_H
#define AOKI_BLK_WORK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "soak.h"

/* Where the volume image and the server's binary live for one run. */
struct blk_work {
	const char *who;		/* message prefix, e.g. "aoki soak blk" */
	const char *volume;		/* the volume's name */
	char dir[PATH_MAX];		/* "" until created */
	char img[PATH_MAX + 16];	/* <dir>/<volume>.img */
	char server[PATH_MAX + 16];	/* <dir>/aoki-blkd */
};

/*
 * blk_work_create - a new directory under $TMPDIR, named after @who
 * ("aoki soak blk": aoki-soak-blk.XXXXXX), holding the image of volume
 * @volume (@bytes, allocated) and a copy of aoki-blkd from @bindir: the
 * run keeps its own server binary, so a rebuild of the tree while it runs
 * (the restarted server would be another program) does not change what it
 * tests.  On a noexec file system w->server is @bindir's aoki-blkd itself.
 * @who and @volume must outlive @w.  Returns 0 or -1 with a message on
 * stderr (blk_work_remove cleans up either way).
 */
int blk_work_create(struct blk_work *w, const char *who, const char *volume,
		    const char *bindir, uint64_t bytes);

/*
 * blk_work_start - start aoki-init (soak_init_start, server "blkd", port
 * "blk", at most @max_crashes crashes) running w->server with 2 workers on
 * w->img as volume w->volume, and put the server's socket path into @port
 * (@cap bytes) for aoki_blk_open.  Returns 0 or -1 with a message; on
 * failure nothing is left running, but @si's directory may remain.
 */
int blk_work_start(const struct blk_work *w, unsigned max_crashes, struct soak_init *si,
		   char *port, size_t cap);

/*
 * blk_work_remove - remove what blk_work_create made, unless @keep or
 * $AOKI_SOAK_KEEP: then say on stderr where the image is.  Does nothing
 * for a @w whose directory was never created.
 */
void blk_work_remove(const struct blk_work *w, int keep);

#endif
