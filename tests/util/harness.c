/* SPDX-License-Identifier: MIT */
/* harness.c - see harness.h. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "tmpdir.h"

void t_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(T_EXIT_SKIP);
}

const char *t_run_dir(void)
{
	const char *dir = util_private_run_dir("test");

	if (!dir) {
		perror("t_run_dir: mkdtemp");
		exit(T_EXIT_FAIL);
	}
	return dir;
}
