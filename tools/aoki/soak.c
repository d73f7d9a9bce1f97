/* SPDX-License-Identifier: MIT */
/* soak.c - `aoki soak <what>`: fault soaks that kill servers under load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "subcmd.h"
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

/* The soaks, as `aoki soak NAME ...`.  Each checks that killing a server
 * under load again and again loses or corrupts nothing. */
static const struct subcmd soaks[] = {
	{ "ipc", soak_ipc_main, "aoki-soakd: no request lost, duplicated or answered wrongly" },
	{ "blk", soak_blk_main, "aoki-blkd: no block write lost or corrupted" },
	{ "fs", soak_fs_main, "aoki-fsd on aoki-blkd: no file acknowledged as durable lost" },
};

int cmd_soak(int argc, char **argv)
{
	return subcmd_run("aoki soak", soaks, SUBCMD_N(soaks), argc, argv);
}
