/* SPDX-License-Identifier: MIT */
/*
 * aoki - the Aoki command.  A small command table in the style of
 * wireguard-tools' wg(8): `aoki <command> [args]`.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "subcmd.h"

static const struct subcmd commands[] = {
	{ "demo", cmd_demo, "the whole stack under make -j2, with crashes (make run); "
			    "aoki demo pieces: the parts" },
	{ "bench", cmd_bench, "run a benchmark: aoki bench ipc [--json]" },
	{ "soak", cmd_soak, "kill a server under load, check every request: aoki soak ipc|blk" },
	{ "blk", cmd_blk, "storage volumes: aoki blk create|info|bench|soak" },
	{ "fs", cmd_fs, "files on aoki-fsd: aoki fs mkfs|fsck|ls|cat|put|get|stat|mkdir|rm|df" },
	{ "up", cmd_up, "start a stack (image, blkd, fsd, FUSE mount): aoki up [-c FILE]" },
	{ "status", cmd_status, "show a stack's servers: aoki status [-c FILE] [--json]" },
	{ "down", cmd_down, "stop a stack cleanly: aoki down [-c FILE]" },
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s <command> [<args>]\n\nCommands:\n", prog);
	subcmd_usage(f, commands, SUBCMD_N(commands));
	fprintf(f, "\n`%s <command> --help` describes each command.  See aoki(1).\n", prog);
}

int main(int argc, char **argv)
{
	const struct subcmd *c;

	if (argc < 2) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout, argv[0]);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("aoki %s\n", AOKI_VERSION);
		return 0;
	}
	c = subcmd_find(commands, SUBCMD_N(commands), argv[1]);
	if (c)
		return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n\n", argv[0], argv[1]);
	usage(stderr, argv[0]);
	return 2;
}
