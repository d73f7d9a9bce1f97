/* SPDX-License-Identifier: MIT */
/* soak.c - `aoki soak <what>`: fault soaks that kill servers under load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "soak.h"

int soak_parse_number(const char *who, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-') {
		fprintf(stderr, "%s: bad number '%s'\n", who, s);
		return -1;
	}
	return 0;
}

/* The soaks, as `aoki soak NAME ...`. */
static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} soaks[] = {
	{ "ipc", soak_ipc_main },
	{ "blk", soak_blk_main },
	{ "fs", soak_fs_main },
};

int cmd_soak(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("Usage: aoki soak ipc [--kills N] [--clients C] [--threads T] [--json]\n"
		       "       aoki soak blk [--kills N] [--clients C] [--qd Q] [--size MiB] [--json]\n"
		       "       aoki soak fs [--kills N] [--clients C] [--blkd-kills] [--json]\n"
		       "Kills a server under load again and again and checks that no request is\n"
		       "lost, duplicated or answered wrongly (ipc: aoki-soakd), that no block\n"
		       "write is lost or corrupted (blk: aoki-blkd), or that no file acknowledged\n"
		       "as durable is lost or corrupted (fs: aoki-fsd on aoki-blkd).\n"
		       "`aoki soak ipc --help`, `aoki soak blk --help`, `aoki soak fs --help`.\n");
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(soaks) / sizeof(soaks[0]); i++)
		if (!strcmp(argv[1], soaks[i].name))
			return soaks[i].main(argc - 1, argv + 1);
	fprintf(stderr, "aoki soak: unknown soak '%s'\n", argv[1]);
	return 2;
}
