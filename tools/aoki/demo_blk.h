/* SPDX-License-Identifier: MIT */
/* demo_blk.h - the storage part of `aoki demo` (demo_blk.c). */
#ifndef AOKI_DEMO_BLK_H
#define AOKI_DEMO_BLK_H

/*
 * demo_blk - run aoki-blkd under aoki-init on a new 64 MiB volume, show
 * sequential and random I/O through aoki_blk(3) and a crash of the
 * server with writes in flight, and print a few lines about it on stdout.
 * Skips (one SKIP line, success) when aoki-blkd or aoki-init is not next
 * to this program.  Returns 0, or 1 after saying why on stderr (the work
 * directory is then kept and named).
 */
int demo_blk(void);

#endif
