/* SPDX-License-Identifier: MIT */
/*
 * split.c - command lines to argv.  aoki-init execs the program itself
 * (no /bin/sh): what the configuration says is what runs, the pid it
 * watches is the server's, and its signals reach the server.  Whoever
 * wants a shell writes exec = /bin/sh -c "...".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

int init_split(const char *line, char ***argv, const char **why)
{
	size_t len = strlen(line), maxw = len / 2 + 2;
	char **v, *out;
	const char *p = line;
	int n = 0;

	/* One block: the pointer array, then the words.  Words are never
	 * longer than the line, and there are at most len/2 + 1 of them. */
	v = malloc(maxw * sizeof(*v) + len + 1);
	if (!v)
		return -ENOMEM;
	out = (char *)(v + maxw);
	for (;;) {
		int quoted = 0;

		while (blank(*p))
			p++;
		if (!*p)
			break;
		v[n++] = out;
		for (; *p && (quoted || !blank(*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
				*out++ = *++p;
			else
				*out++ = *p;
		}
		*out++ = 0;
		if (quoted) {
			*why = "unterminated double quote";
			goto fail;
		}
	}
	if (!n) {
		*why = "empty command";
		goto fail;
	}
	v[n] = NULL;
	*argv = v;
	return n;
fail:
	free(v);
	return -EINVAL;
}
