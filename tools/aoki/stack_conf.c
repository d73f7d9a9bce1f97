/* SPDX-License-Identifier: MIT */
/*
 * stack_conf.c - the stack's configuration file.  The syntax is
 * lib/util/ini.h's, shared with aoki-init, aoki-blkd and aoki-fsd:
 * [section] headers, "key = value" lines, comments from a '#' or ';' that
 * starts a line or a '#' after a blank outside double quotes.  The keys
 * are a table: section, name, kind and
 * where the value goes.  See docs/stack.md for the keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "stack.h"
#include "size.h"

enum kind { K_PATH, K_TEXT, K_NAME, K_UINT, K_SIZE, K_POLICY };

static const struct key {
	const char *section, *name;
	enum kind kind;
	size_t off, cap;	/* where in struct stack_conf, and its size */
	unsigned max;		/* K_UINT: the largest value */
} keys[] = {
#define AT(f) offsetof(struct stack_conf, f), sizeof(((struct stack_conf *)0)->f)
	{ "stack", "run-dir", K_PATH, AT(run_dir), 0 },
	{ "stack", "timeout-s", K_UINT, AT(timeout_s), 3600 },
	{ "volume", "image", K_PATH, AT(image), 0 },
	{ "volume", "size", K_SIZE, AT(size), 0 },
	{ "volume", "name", K_NAME, AT(volume), 0 },
	{ "blkd", "port", K_NAME, AT(port[0]), 0 },
	{ "blkd", "args", K_TEXT, AT(args[STACK_BLKD]), 0 },
	{ "fsd", "port", K_NAME, AT(port[1]), 0 },
	{ "fsd", "args", K_TEXT, AT(args[STACK_FSD]), 0 },
	{ "mount", "path", K_PATH, AT(mount), 0 },
	{ "mount", "args", K_TEXT, AT(args[STACK_FUSE]), 0 },
	{ "restart", "policy", K_POLICY, AT(restart), 0 },
	{ "restart", "backoff-min-ms", K_UINT, AT(backoff_min_ms), 3600000 },
	{ "restart", "backoff-max-ms", K_UINT, AT(backoff_max_ms), 3600000 },
	{ "restart", "crash-limit", K_UINT, AT(crash_limit), 1000 },
	{ "restart", "crash-window-s", K_UINT, AT(crash_window_s), 86400 },
	{ "restart", "stop-timeout-ms", K_UINT, AT(stop_timeout_ms), 600000 },
#undef AT
};

struct parser {
	struct stack_conf *c;
	const char *file;
	char dir[PATH_MAX];	/* relative paths start here */
	char section[16];	/* "" before the first header */
	unsigned line;
	char *err;
	size_t errcap;
};

/* "FILE:LINE: what" in p->err; returns -EINVAL. */
#define fail(p, ...) ini_error((p)->err, (p)->errcap, (p)->file, (p)->line, __VA_ARGS__)

void stack_conf_defaults(struct stack_conf *c, const char *file)
{
	const char *env = getenv("AOKI_RUN_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", file);
	/* The run directory clients find ports in (aoki_port_path). */
	if (env && *env)
		snprintf(c->run_dir, sizeof(c->run_dir), "%s", env);
	else if (xdg && *xdg)
		snprintf(c->run_dir, sizeof(c->run_dir), "%s/aoki", xdg);
	else
		snprintf(c->run_dir, sizeof(c->run_dir), "/run/aoki");
	c->timeout_s = 30;
	c->size = 1ull << 30;
	snprintf(c->volume, sizeof(c->volume), "disk");
	snprintf(c->port[0], sizeof(c->port[0]), "blk");
	snprintf(c->port[1], sizeof(c->port[1]), "fs");
	snprintf(c->restart, sizeof(c->restart), "on-failure");
	c->backoff_min_ms = 0;
	c->backoff_max_ms = 5000;
	c->crash_limit = 10;
	c->crash_window_s = 60;
	c->stop_timeout_ms = 10000;
}

/* A port or volume name: 1 to 63 of [A-Za-z0-9_.-], not starting with '.'. */
static int name_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

	return n > 0 && n < STACK_NAME_MAX && !s[n] && s[0] != '.';
}

static int set_value(struct parser *p, const struct key *k, const char *val)
{
	char *dst = (char *)p->c + k->off;
	uint64_t u;
	char *end;
	int n;

	switch (k->kind) {
	case K_PATH:
		if (!strcmp(k->name, "path") && !strcmp(val, "none"))
			val = "";	/* [mount] path = none: no mount */
		if (!*val && strcmp(k->name, "path"))	/* an empty mount path: no mount */
			return fail(p, "%s: empty path", k->name);
		if (*val == '/' || !*val)
			n = snprintf(dst, k->cap, "%s", val);
		else
			n = snprintf(dst, k->cap, "%s/%s", p->dir, val);
		if (n < 0 || (size_t)n >= k->cap)
			return fail(p, "%s: path too long", k->name);
		return 0;
	case K_TEXT:
		if (strchr(val, '\n') || strlen(val) >= k->cap)
			return fail(p, "%s: longer than %zu bytes", k->name, k->cap - 1);
		snprintf(dst, k->cap, "%s", val);
		return 0;
	case K_NAME:
		if (!name_ok(val))
			return fail(p, "%s: '%s' is not a name (1 to 63 of A-Z a-z 0-9 _ . -)",
				    k->name, val);
		snprintf(dst, k->cap, "%s", val);
		return 0;
	case K_UINT:
		errno = 0;
		u = (uint64_t)strtoull(val, &end, 10);
		if (!*val || *end || errno || *val == '-' || u > k->max)
			return fail(p, "%s: '%s' is not a number from 0 to %u", k->name, val,
				    k->max);
		*(unsigned *)(void *)dst = (unsigned)u;
		return 0;
	case K_SIZE:
		if (util_parse_size(val, &u) < 0 || u < (16u << 20) || u % 4096)
			return fail(p, "%s: '%s' is not a size of at least 16M in whole 4 KiB "
				    "blocks (e.g. 512M, 4G)", k->name, val);
		*(uint64_t *)(void *)dst = u;
		return 0;
	case K_POLICY:
		if (strcmp(val, "on-failure") && strcmp(val, "always") && strcmp(val, "never"))
			return fail(p, "policy: '%s' is not on-failure, always or never", val);
		snprintf(dst, k->cap, "%s", val);
		return 0;
	}
	return fail(p, "internal: key kind");
}

static int assignment(struct parser *p, const char *key, const char *val)
{
	if (!p->section[0])
		return fail(p, "'%s' outside a section", key);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, p->section) && !strcmp(keys[i].name, key))
			return set_value(p, &keys[i], val);
	return fail(p, "unknown key '%s' in [%s]", key, p->section);
}

static int section(struct parser *p, const char *s)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, s)) {
			snprintf(p->section, sizeof(p->section), "%s", s);
			return 0;
		}
	return fail(p, "unknown section [%s] (stack, volume, blkd, fsd, mount, restart)", s);
}

/* One item of the file (ini_fn); fail() writes the errors. */
static int item(void *ctx, const struct ini_item *it)
{
	struct parser *p = ctx;

	p->line = it->line;
	return it->key ? assignment(p, it->key, it->value) : section(p, it->section);
}

/* What needs the whole file. */
static int check(struct parser *p)
{
	struct stack_conf *c = p->c;
	char sock[PATH_MAX];

	if (!c->image[0])
		return fail(p, "[volume] image is required");
	if (c->backoff_min_ms > c->backoff_max_ms)
		return fail(p, "[restart] backoff-min-ms (%u) exceeds backoff-max-ms (%u)",
			    c->backoff_min_ms, c->backoff_max_ms);
	if (!strcmp(c->port[0], c->port[1]))
		return fail(p, "[blkd] and [fsd] have the same port '%s'", c->port[0]);
	/* A socket path must fit a sockaddr_un (108 bytes with its NUL). */
	for (int i = 0; i < 2; i++)
		if (snprintf(sock, sizeof(sock), "%s/%s.sock", c->run_dir, c->port[i]) >= 108)
			return fail(p, "run-dir: %s is too long for a socket path (at most 107 "
				    "bytes)", sock);
	return 0;
}

int stack_conf_load(const char *path, struct stack_conf *c, char *err, size_t cap)
{
	struct parser p = { .c = c, .file = path, .err = err, .errcap = cap };
	char *slash;
	FILE *f;
	int r = 0;

	if (cap)
		err[0] = 0;
	stack_conf_defaults(c, path);
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, cap, "%s: %s", path, strerror(-r));
		return r;
	}
	/* Relative paths start at the file's directory, made absolute: the
	 * servers run elsewhere. */
	if (!realpath(path, p.dir)) {
		r = -errno;
		fclose(f);
		snprintf(err, cap, "%s: %s", path, strerror(-r));
		return r;
	}
	slash = strrchr(p.dir, '/');
	if (slash)
		*(slash == p.dir ? slash + 1 : slash) = 0;
	r = ini_read(f, path, item, &p, err, cap);
	if (r == 0)
		r = check(&p);
	fclose(f);
	return r;
}

int stack_cli(int argc, char **argv, const char *cmd, int (*usage)(FILE *f),
	      struct stack_conf *c, int *quiet)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *file = STACK_CONF_DEFAULT;
	char err[PATH_MAX + 256];
	int opt;

	*quiet = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:qh", longopts, NULL)) != -1) {
		if (opt == 'c')
			file = optarg;
		else if (opt == 'q')
			*quiet = 1;
		else
			return usage(opt == 'h' ? stdout : stderr);
	}
	if (optind < argc)
		return usage(stderr);
	if (stack_conf_load(file, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "aoki %s: %s\n", cmd, err);
		return 2;
	}
	return -1;
}
