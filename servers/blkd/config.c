/* SPDX-License-Identifier: MIT */
/*
 * config.c - aoki-blkd's configuration: an INI-style file of volumes,
 *
 *	# comment
 *	[volume NAME]              NAME: [A-Za-z0-9._-], at most 27 bytes
 *	path = /dev/nvme0n1        a block device or a regular file
 *	read-only = yes            yes|no (default no)
 *	allow = 1000 alice:ro *:ro users (names or uids, * for anyone), each
 *	                           :rw (default) or :ro; without any allow
 *	                           line: the server's own user and root, rw
 *
 * or --volume NAME=PATH[:ro] options.  The syntax (comments, also at the
 * end of a line after a blank; sections; keys) is lib/util/ini.h's, the
 * same as aoki-init's.  Errors name the file and line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkd.h"
#include "ini.h"

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > BLK_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return 0;
	return 1;
}

int blkd_volume_add(struct blkd *d, const char *name, const char *path, int read_only,
		    struct blkd_volume **out)
{
	struct blkd_volume *v;

	if (!name_ok(name) || !*path)
		return -EINVAL;
	for (unsigned i = 0; i < d->nvol; i++)
		if (!strcmp(d->vol[i].name, name))
			return -EEXIST;
	if (d->nvol == BLKD_MAX_VOLUMES)
		return -ENOSPC;
	v = &d->vol[d->nvol];
	memset(v, 0, sizeof(*v));
	v->path = blkd_strdup(d, path);
	if (!v->path)
		return -ENOMEM;
	strcpy(v->name, name);
	v->handle_name = blk_handle_name(name);
	v->read_only = read_only;
	v->fd = -1;
	d->nvol++;
	if (out)
		*out = v;
	return 0;
}

void blkd_config_free(struct blkd *d)
{
	for (unsigned i = 0; i < d->nvol; i++) {
		blkd_free(d, d->vol[i].path);
		d->vol[i].path = NULL;
	}
	d->nvol = 0;
}

static int add_error(int r, const char *name, char *err, size_t cap)
{
	snprintf(err, cap, "volume \"%s\": %s", name,
		 r == -EINVAL ? "bad name (letters, digits, . _ -; at most 27) or empty path" :
		 r == -EEXIST ? "defined twice" :
		 r == -ENOSPC ? "too many volumes (64 at most)" : strerror(-r));
	return r == -ENOMEM ? r : -EINVAL;
}

int blkd_config_volume_arg(struct blkd *d, const char *arg, char *err, size_t cap)
{
	char name[BLK_NAME_MAX + 2], *path;
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;
	int ro = 0, r;

	if (!eq || n > BLK_NAME_MAX) {
		snprintf(err, cap, "--volume %s: expected NAME=PATH[:ro]", arg);
		return -EINVAL;
	}
	memcpy(name, arg, n);
	name[n] = 0;
	path = strdup(eq + 1);
	if (!path)
		return -ENOMEM;
	n = strlen(path);
	if (n > 3 && !strcmp(path + n - 3, ":ro")) {
		path[n - 3] = 0;
		ro = 1;
	}
	r = blkd_volume_add(d, name, path, ro, NULL);
	free(path);
	return r < 0 ? add_error(r, name, err, cap) : 0;
}

struct parser {
	struct blkd *d;
	const char *file;
	unsigned line;
	struct blkd_volume *cur;
	char *err;
	size_t cap;
};

/* "FILE:LINE: what" in p->err; returns -EINVAL. */
#define fail(p, ...) ini_error((p)->err, (p)->cap, (p)->file, (p)->line, __VA_ARGS__)

/* One allow-list word: USER[:ro|:rw], USER a name, a uid or '*'. */
static int allow_word(struct parser *p, char *w)
{
	struct blkd_allow *a;
	char *colon = strchr(w, ':'), *end;
	struct passwd *pw;

	if (p->cur->nallow == BLKD_MAX_ALLOW)
		return fail(p, "more than %d allow entries", BLKD_MAX_ALLOW);
	a = &p->cur->allow[p->cur->nallow];
	a->write = 1;
	if (colon) {
		*colon = 0;
		if (strcmp(colon + 1, "ro") && strcmp(colon + 1, "rw"))
			return fail(p, "allow: \"%s\": expected :ro or :rw", colon + 1);
		a->write = !strcmp(colon + 1, "rw");
	}
	a->any = !strcmp(w, "*");
	if (!a->any) {
		unsigned long u = strtoul(w, &end, 10);

		if (isdigit((unsigned char)*w) && !*end && u < (uid_t)-1) {
			a->uid = (uid_t)u;
		} else if ((pw = getpwnam(w))) {
			a->uid = pw->pw_uid;
		} else {
			return fail(p, "allow: no such user \"%s\"", w);
		}
	}
	p->cur->nallow++;
	return 0;
}

static int yes_no(struct parser *p, const char *key, const char *val, int *out)
{
	int v = ini_yes_no(val);

	if (v < 0)
		return fail(p, "%s: expected yes or no, not \"%s\"", key, val);
	*out = v;
	return 0;
}

static int assignment(struct parser *p, const char *key, const char *value)
{
	char val[INI_LINE_MAX], *save, *w;
	int r;

	snprintf(val, sizeof(val), "%s", value);	/* fits: it was a line */
	if (!p->cur)
		return fail(p, "\"%s\" outside a [volume NAME] section", key);
	if (!strcmp(key, "path")) {
		if (!*val)
			return fail(p, "path: empty");
		blkd_free(p->d, p->cur->path);
		p->cur->path = blkd_strdup(p->d, val);
		return p->cur->path ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "read-only"))
		return yes_no(p, key, val, &p->cur->read_only);
	if (!strcmp(key, "allow")) {
		for (w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
			if ((r = allow_word(p, w)) < 0)
				return r;
		return 0;
	}
	return fail(p, "unknown key \"%s\" (path, read-only, allow)", key);
}

/* "[volume NAME]": @s is "volume NAME", trimmed. */
static int section(struct parser *p, const char *s)
{
	const char *name;
	int r;

	if (strncmp(s, "volume", 6) || (s[6] != ' ' && s[6] != '\t'))
		return fail(p, "unknown section [%s] (expected [volume NAME])", s);
	name = s + 6 + strspn(s + 6, " \t");
	/* The path comes later in the section; a placeholder until then. */
	r = blkd_volume_add(p->d, name, "-", 0, &p->cur);
	if (r < 0) {
		char why[128];

		add_error(r, name, why, sizeof(why));
		return fail(p, "%s", why);
	}
	blkd_free(p->d, p->cur->path);
	p->cur->path = NULL;
	return 0;
}

/* The section that just ended must have had a path. */
static int end_section(struct parser *p)
{
	if (p->cur && !p->cur->path)
		return fail(p, "volume \"%s\" has no path", p->cur->name);
	return 0;
}

/* One item of the file (ini_fn); fail() writes the errors. */
static int item(void *ctx, const struct ini_item *it)
{
	struct parser *p = ctx;

	p->line = it->line;
	if (it->key)
		return assignment(p, it->key, it->value);
	return end_section(p) ?: section(p, it->section);
}

int blkd_config_load(struct blkd *d, const char *path, char *err, size_t cap)
{
	struct parser p = { .d = d, .file = path, .err = err, .cap = cap };
	int r = ini_load(path, item, &p, err, cap);

	return r ?: end_section(&p);
}
