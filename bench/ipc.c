/* SPDX-License-Identifier: MIT */
/* ipc.c - placeholder replaced by the IPC benchmark (being written). */
#include <stdio.h>
#include "bench.h"
int bench_ipc_main(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "aoki bench ipc: not built yet\n");
	return 1;
}
