/* SPDX-License-Identifier: MIT */
/*
 * config.c - aoki-fsd's configuration file, INI style (options.h):
 *
 *	# comment
 *	[fsd]
 *	volume = disk              the aoki-blkd volume holding the image
 *	blk-port = blk             where aoki-blkd listens (name or path)
 *	port = fs                  where to serve
 *	read-only = no             yes|no
 *	commit-ms = 50             most time a transaction stays open
 *
 * Options on the command line override the file.  The syntax (comments,
 * also at the end of a line after a blank; sections; keys) is
 * lib/util/ini.h's, the same as aoki-init's.  Errors name the file and
 * line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "options.h"
#include "ini.h"

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
		fsd_free(o->host, *slot);
		*slot = fsd_strdup(o->host, val);
		return *slot ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "read-only")) {
		int v = ini_yes_no(val);

		if (v >= 0) {
			o->read_only = v;
			return 0;
		}
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

struct loader {
	struct fsd_options *o;
	const char *path;
	char *err;
	size_t cap;
};

/* One item of the file (ini_fn): keys only in [fsd]. */
static int item(void *ctx, const struct ini_item *it)
{
	struct loader *l = ctx;
	char msg[256];
	int r;

	if (!it->key) {
		if (strcmp(it->section, "fsd"))
			return ini_error(l->err, l->cap, l->path, it->line,
					 "unknown section [%s] (only [fsd])", it->section);
		return 0;
	}
	if (strcmp(it->section, "fsd"))
		return ini_error(l->err, l->cap, l->path, it->line, "a key before [fsd]");
	r = fsd_config_set(l->o, it->key, it->value, msg, sizeof(msg));
	if (r == -EINVAL)
		ini_error(l->err, l->cap, l->path, it->line, "%s", msg);
	return r;
}

int fsd_config_load(struct fsd_options *o, const char *path, char *err, size_t cap)
{
	struct loader l = { .o = o, .path = path, .err = err, .cap = cap };

	return ini_load(path, item, &l, err, cap);
}
