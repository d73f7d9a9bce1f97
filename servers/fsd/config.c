/* SPDX-License-Identifier: MIT */
/*
 * config.c - aoki-fsd's configuration file, INI style:
 *
 *	# comment
 *	[fsd]
 *	volume = disk              the aoki-blkd volume holding the image
 *	blk-port = blk             where aoki-blkd listens (name or path)
 *	port = fs                  where to serve
 *	read-only = no             yes|no
 *	commit-ms = 50             most time a transaction stays open
 *
 * Options on the command line override the file.  Errors name the file
 * and line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsd_main.h"

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int yes_no(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

int fsd_config_set(struct fsd_options *o, const char *key, const char *val, char *err,
		   size_t cap)
{
	char **slot = !strcmp(key, "volume") ? &o->volume
		      : !strcmp(key, "blk-port") ? &o->blk_port
		      : !strcmp(key, "port") ? &o->port
						 : NULL;
	unsigned long ms;
	char *end;

	if (slot) {
		if (!*val) {
			snprintf(err, cap, "%s: empty value", key);
			return -EINVAL;
		}
		free(*slot);
		*slot = strdup(val);
		return *slot ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "read-only")) {
		if (yes_no(val, &o->read_only) == 0)
			return 0;
		snprintf(err, cap, "read-only: '%s' is not yes or no", val);
		return -EINVAL;
	}
	if (!strcmp(key, "commit-ms")) {
		ms = strtoul(val, &end, 10);
		if (*val && !*end && ms >= 1 && ms <= 10000) {
			o->commit_ms = (unsigned)ms;
			return 0;
		}
		snprintf(err, cap, "commit-ms: '%s' is not a number in 1..10000", val);
		return -EINVAL;
	}
	snprintf(err, cap, "unknown key '%s'", key);
	return -EINVAL;
}

int fsd_config_load(struct fsd_options *o, const char *path, char *err, size_t cap)
{
	char line[1024], msg[256];
	unsigned lineno = 0;
	int in_fsd = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *s, *eq, *hash;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			in_fsd = !strcmp(s, "[fsd]");
			if (!in_fsd) {
				snprintf(err, cap, "%s:%u: unknown section %s (only [fsd])", path,
					 lineno, s);
				r = -EINVAL;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!in_fsd || !eq) {
			snprintf(err, cap, "%s:%u: %s", path, lineno,
				 in_fsd ? "expected key = value" : "a key before [fsd]");
			r = -EINVAL;
			break;
		}
		*eq = 0;
		r = fsd_config_set(o, trim(s), trim(eq + 1), msg, sizeof(msg));
		if (r < 0)
			snprintf(err, cap, "%s:%u: %s", path, lineno, msg);
	}
	fclose(f);
	return r;
}
