/* SPDX-License-Identifier: MIT */
/* ini.c - see ini.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

struct reader {
	const char *fname;
	unsigned line;
	char section[INI_LINE_MAX];
	char *err;
	size_t errcap;
};

int ini_error(char *err, size_t errcap, const char *fname, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!errcap)
		return -EINVAL;
	n = snprintf(err, errcap, "%s:%u: ", fname, line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errcap)
		vsnprintf(err + n, errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int ini_yes_no(const char *v)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		return 0;
	return -EINVAL;
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

/* Cut the comment off @s (see ini.h). */
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

/* Hand @it to @fn; a refusal it did not explain gets strerror. */
static int call(struct reader *r, ini_fn fn, void *ctx, const struct ini_item *it)
{
	int e = fn(ctx, it);

	if (e < 0 && r->errcap && !r->err[0])
		ini_error(r->err, r->errcap, r->fname, r->line, "%s", strerror(-e));
	return e;
}

static int one_line(struct reader *r, char *raw, size_t len, ini_fn fn, void *ctx)
{
	struct ini_item it = { .line = r->line, .section = r->section };
	char *s, *eq;

	if (len > INI_LINE_MAX)
		return ini_error(r->err, r->errcap, r->fname, r->line,
				 "line longer than %d bytes", INI_LINE_MAX);
	if (strlen(raw) != len)
		return ini_error(r->err, r->errcap, r->fname, r->line, "NUL byte in line");
	strip_comment(raw);
	s = trim(raw);
	if (!*s)
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close)
			return ini_error(r->err, r->errcap, r->fname, r->line,
					 "section header without ']'");
		if (close[1])
			return ini_error(r->err, r->errcap, r->fname, r->line,
					 "text after the section header: '%s'", close + 1);
		*close = 0;
		strcpy(r->section, trim(s + 1));	/* fits: shorter than the line */
		return call(r, fn, ctx, &it);
	}
	eq = strchr(s, '=');
	if (!eq)
		return ini_error(r->err, r->errcap, r->fname, r->line,
				 "expected 'key = value' or '[section]'");
	*eq = 0;
	it.key = trim(s);
	it.value = trim(eq + 1);
	if (!*it.key)
		return ini_error(r->err, r->errcap, r->fname, r->line, "no key before '='");
	return call(r, fn, ctx, &it);
}

int ini_read(FILE *f, const char *fname, ini_fn fn, void *ctx, char *err, size_t errcap)
{
	struct reader *r = calloc(1, sizeof(*r));
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int e = 0;

	if (errcap)
		err[0] = 0;
	if (!r) {
		snprintf(err, errcap, "%s: out of memory", fname);
		return -ENOMEM;
	}
	r->fname = fname;
	r->err = err;
	r->errcap = errcap;
	for (;;) {
		errno = 0;
		n = getline(&buf, &cap, f);
		if (n < 0)
			break;
		r->line++;
		e = one_line(r, buf, (size_t)n, fn, ctx);
		if (e < 0)
			break;
	}
	if (e == 0 && n < 0 && errno == ENOMEM) {
		snprintf(err, errcap, "%s: out of memory", fname);
		e = -ENOMEM;
	} else if (e == 0 && ferror(f)) {
		ini_error(err, errcap, fname, r->line, "read error");
		e = -EIO;
	}
	free(buf);
	free(r);
	return e;
}

int ini_load(const char *path, ini_fn fn, void *ctx, char *err, size_t errcap)
{
	FILE *f = fopen(path, "re");
	int e;

	if (!f) {
		e = -errno;
		snprintf(err, errcap, "%s: %s", path, strerror(-e));
		return e;
	}
	e = ini_read(f, path, fn, ctx, err, errcap);
	fclose(f);
	return e;
}
