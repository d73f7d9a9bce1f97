/* SPDX-License-Identifier: MIT */
/* domain.c - placeholder replaced by the compartment benchmark (being written). */
#include <stdio.h>
#include "bench.h"
int bench_domain_main(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "aoki bench domain: not built yet\n");
	return 1;
}
