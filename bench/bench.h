/* SPDX-License-Identifier: MIT */
/* bench.h - entry points of the benchmarks, called by aoki(1). */
#ifndef AOKI_BENCH_H
#define AOKI_BENCH_H

int bench_ipc_main(int argc, char **argv);
int bench_domain_main(int argc, char **argv);

#endif
