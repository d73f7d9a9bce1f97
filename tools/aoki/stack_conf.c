/* SPDX-License-Identifier: MIT */
/*
 * stack_conf.c - the stack's configuration file.  The syntax is
 * aoki-init's (aoki-init(8)): [section] headers, "key = value" lines,
 * comments from a '#' or ';' that starts a line or a '#' after a blank
 * outside double quotes.  The keys are a table: section, name, kind and
 * where the value goes.  See docs/stack.md for the keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"
#include "../../bench/bench.h"

#define LINE_MAX_BYTES 4096

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

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	int n = snprintf(p->err, p->errcap, "%s:%u: ", p->file, p->line);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errcap)
		vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

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

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = 0;
	return s;
}

/* As aoki-init: '#' or ';' first on the line, or '#' after a blank,
 * outside double quotes (args may hold " #"). */
static void strip_comment(char *s)
{
	char *t = s + strspn(s, " \t");
	int quoted = 0;

	if (*t == '#' || *t == ';') {
		*t = 0;
		return;
	}
	for (char *c = s; *c; c++) {
		if (*c == '"')
			quoted = !quoted;
		else if (quoted && *c == '\\' && c[1])
			c++;
		else if (!quoted && *c == '#' && c > s && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = 0;
			return;
		}
	}
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
		if (bench_parse_size(val, &u) < 0 || u < (16u << 20) || u % 4096)
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

static int assignment(struct parser *p, char *s)
{
	char *eq = strchr(s, '='), *key, *val;

	if (!eq)
		return fail(p, "expected 'key = value' or '[section]'");
	*eq = 0;
	key = trim(s);
	val = trim(eq + 1);
	if (!p->section[0])
		return fail(p, "'%s' outside a section", key);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, p->section) && !strcmp(keys[i].name, key))
			return set_value(p, &keys[i], val);
	return fail(p, "unknown key '%s' in [%s]", key, p->section);
}

static int section(struct parser *p, char *s)
{
	size_t n = strlen(s);

	if (s[n - 1] != ']')
		return fail(p, "section header without ']'");
	s[n - 1] = 0;
	s = trim(s + 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, s)) {
			snprintf(p->section, sizeof(p->section), "%s", s);
			return 0;
		}
	return fail(p, "unknown section [%s] (stack, volume, blkd, fsd, mount, restart)", s);
}

static int parse_line(struct parser *p, char *raw, size_t len)
{
	char *s;

	if (len > LINE_MAX_BYTES)
		return fail(p, "line longer than %d bytes", LINE_MAX_BYTES);
	if (strlen(raw) != len)
		return fail(p, "NUL byte in line");
	strip_comment(raw);
	s = trim(raw);
	if (!*s)
		return 0;
	return *s == '[' ? section(p, s) : assignment(p, s);
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
	char *buf = NULL, *slash;
	size_t bufcap = 0;
	ssize_t n;
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
	while (r == 0 && (n = getline(&buf, &bufcap, f)) >= 0) {
		p.line++;
		r = parse_line(&p, buf, (size_t)n);
	}
	if (r == 0 && ferror(f))
		r = fail(&p, "read error");
	if (r == 0)
		r = check(&p);
	free(buf);
	fclose(f);
	return r;
}
