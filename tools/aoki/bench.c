/* SPDX-License-Identifier: MIT */
/* bench.c - `aoki bench <what>`: dispatch to the benchmarks in bench/. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "../../bench/bench.h"

int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("Usage: aoki bench ipc|domain|blk|fs [--json] [--quick]\n"
		       "Runs a benchmark with its baselines in the same run; see docs/benchmarks.md.\n"
		       "ipc and blk also take --contended (a CPU hog on every CPU throughout);\n"
		       "`aoki bench WHAT --help` lists each one's options.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "ipc"))
		return bench_ipc_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "domain"))
		return bench_domain_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "blk"))
		return bench_blk_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fs"))
		return bench_fs_main(argc - 1, argv + 1);
	fprintf(stderr, "aoki bench: unknown benchmark '%s'\n", argv[1]);
	return 2;
}
