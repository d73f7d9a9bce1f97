/* SPDX-License-Identifier: MIT */
/* bench.c - `aoki bench <what>`: dispatch to the benchmarks in bench/. */
#include "bench.h"	/* bench/ (mk/bench.mk) */
#include "commands.h"
#include "progress.h"
#include "subcmd.h"

/* The benchmarks, as `aoki bench NAME ...`: each runs its baselines in
 * the same run (docs/benchmarks.md); `aoki bench NAME --help` lists its
 * options, --json among them. */
static const struct subcmd benches[] = {
	{ "ipc", bench_ipc_main, "aoki IPC against the kernel's round trips (--contended)" },
	{ "domain", bench_domain_main, "a compartment gate against a call, a syscall, IPC" },
	{ "blk", bench_blk_main, "aoki-blkd against fio's io_uring engine (--contended)" },
	{ "fs", bench_fs_main, "aoki-fsd against ext4 and fuse2fs (--quick, --fuse)" },
};

int cmd_bench(int argc, char **argv)
{
	int r = subcmd_run("aoki bench", benches, SUBCMD_N(benches), argc, argv);

	util_progress_end();	/* a benchmark that returned with its line shown */
	return r;
}
