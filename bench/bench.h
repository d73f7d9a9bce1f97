/* SPDX-License-Identifier: MIT */
/* bench.h - entry points of the benchmarks, called by aoki(1). */
#ifndef AOKI_BENCH_H
#define AOKI_BENCH_H

#include <sys/types.h>

int bench_ipc_main(int argc, char **argv);
int bench_domain_main(int argc, char **argv);

/*
 * bench_blk_main - `aoki bench blk` (also `aoki blk bench`): aoki-blkd
 * against fio's io_uring engine on the same file, in one run (blk_*.c).
 * @argv[0] names the command ("blk" or "bench"), options follow (see
 * `aoki bench blk --help`).  Returns the exit code: 0 every figure
 * measured, 1 a failure (reported on stderr), 2 a usage error.
 */
int bench_blk_main(int argc, char **argv);

/*
 * bench_fs_main - `aoki bench fs`: aoki-fsd against the kernel's ext4 (a
 * loop device) and fuse2fs, each on a fresh image, in one run (fs_*.c).
 * @argv[0] is "fs", options follow (see `aoki bench fs --help`).  Returns
 * the exit code: 0 every figure of the sides that can run measured, 1 a
 * failure (reported on stderr), 2 a usage error.
 */
int bench_fs_main(int argc, char **argv);

/*
 * `--contended` (contend.c): one CPU-bound process of normal priority
 * pinned on each CPU this process may run on, from bench_contend_start
 * to bench_contend_stop, so that the baselines and aoki are measured on a
 * machine with other work to do.  The processes die with the benchmark
 * (parent-death signal).  start returns how many it started, or -errno
 * (none left running).
 */
#define BENCH_CONTEND_MAX 256
struct bench_contend {
	pid_t pid[BENCH_CONTEND_MAX];
	unsigned n;
};
int bench_contend_start(struct bench_contend *c);
void bench_contend_stop(struct bench_contend *c);

#endif
