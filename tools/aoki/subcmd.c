/* SPDX-License-Identifier: MIT */
/* subcmd.c - see subcmd.h. */
#include <string.h>

#include "subcmd.h"

const struct subcmd *subcmd_find(const struct subcmd *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

void subcmd_usage(FILE *f, const struct subcmd *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-8s %s\n", t[i].name, t[i].help);
}

int subcmd_run(const char *prog, const struct subcmd *t, size_t n, int argc, char **argv)
{
	const struct subcmd *c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;

		fprintf(f, "Usage: %s <command> [<args>]\n\nCommands:\n", prog);
		subcmd_usage(f, t, n);
		fprintf(f, "\n`%s <command> --help` describes each command.\n", prog);
		return argc < 2 ? 2 : 0;
	}
	c = subcmd_find(t, n, argv[1]);
	if (c)
		return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	return 2;
}
