/* SPDX-License-Identifier: MIT */
/* commands.h - the subcommands of aoki(1).  Each returns an exit code:
 * 0 success, 1 failure, 2 usage error. */
#ifndef AOKI_COMMANDS_H
#define AOKI_COMMANDS_H

#include "version.h"	/* AOKI_VERSION */

int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_soak(int argc, char **argv);
int cmd_blk(int argc, char **argv);
int cmd_fs(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_down(int argc, char **argv);

#endif
