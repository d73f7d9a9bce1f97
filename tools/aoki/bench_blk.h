/* SPDX-License-Identifier: MIT */
/* bench_blk.h - `aoki bench blk` (also `aoki blk bench`): aoki-blkd against
 * fio's io_uring engine on the same file, in one run. */
#ifndef AOKI_BENCH_BLK_H
#define AOKI_BENCH_BLK_H

/*
 * bench_blk_main - run the storage benchmark; @argv[0] names the command
 * ("blk" or "bench"), options follow (see `aoki bench blk --help`).
 * Returns the exit code: 0 every figure measured, 1 a failure (reported
 * on stderr), 2 a usage error.
 */
int bench_blk_main(int argc, char **argv);

#endif
