/* SPDX-License-Identifier: MIT */
/*
 * aoki - the Aoki command.  A small command table in the style of
 * wireguard-tools' wg(8): `aoki <command> [args]`.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`%s <command> --help` describes each command.  See aoki(1).\n", prog);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout, argv[0]);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("aoki %s\n", AOKI_VERSION_STRING);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n\n", argv[0], argv[1]);
	usage(stderr, argv[0]);
	return 2;
}
