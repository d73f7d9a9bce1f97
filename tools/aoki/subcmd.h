/* SPDX-License-Identifier: MIT */
/*
 * subcmd.h - command tables: `aoki CMD ...` (main.c) and `aoki CMD SUB
 * ...` (blk.c, soak.c) look their word up in a table of these, as wg(8)
 * does, instead of chains of strcmp.
 */
#ifndef AOKI_SUBCMD_H
#define AOKI_SUBCMD_H

#include <stddef.h>
#include <stdio.h>

struct subcmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0] is the name */
	const char *help;			/* one line for the usage */
};

/* subcmd_find - the entry of @t (@n entries) named @name, or NULL. */
const struct subcmd *subcmd_find(const struct subcmd *t, size_t n, const char *name);

/* subcmd_usage - "  NAME     HELP" for each entry, on @f. */
void subcmd_usage(FILE *f, const struct subcmd *t, size_t n);

/*
 * subcmd_run - run the entry of @t named by argv[1] with (argc - 1,
 * argv + 1).  With no word, or -h/--help, print "Usage: @prog ..." and
 * the table (stderr and exit status 2 without a word; stdout and 0 for
 * help).  An unknown word: "@prog: unknown command 'W'" and 2.
 */
int subcmd_run(const char *prog, const struct subcmd *t, size_t n, int argc, char **argv);

#define SUBCMD_N(t) (sizeof(t) / sizeof((t)[0]))

#endif
