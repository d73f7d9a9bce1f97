/* SPDX-License-Identifier: MIT */
/*
 * util-ini: the one configuration reader (lib/util/ini.h) and the four
 * programs that use it.
 *   1. The tokenizer: comments (first on a line, or '#' after a blank
 *      outside quotes), section headers, keys with empty values, CRLF,
 *      and each syntax error with FILE:LINE; a refusal of the caller's
 *      function stops the reading, with its message or strerror.
 *   2. The same broken file makes aoki-init, aoki-blkd, aoki-fsd and
 *      `aoki up` print the same "FILE:1: ..." message and exit 2 (before:
 *      three different messages).
 *   3. aoki-blkd takes a comment at the end of a line, as aoki-init does
 *      (before: it was part of the volume's path, and --check failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "ini.h"

struct seen {
	char text[2048];	/* what the reader handed over, one item a line */
	int refuse_at;		/* refuse the item of this line (0: none) */
	int refuse_with;	/* with this -errno */
	char *err;
	size_t errcap;
};

static int collect(void *ctx, const struct ini_item *it)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	if (it->key)
		snprintf(s->text + n, sizeof(s->text) - n, "%u [%s] <%s>=<%s>\n", it->line,
			 it->section, it->key, it->value);
	else
		snprintf(s->text + n, sizeof(s->text) - n, "%u [%s]\n", it->line, it->section);
	if ((int)it->line != s->refuse_at)
		return 0;
	if (s->refuse_with == -EINVAL)	/* explained, at another line */
		return ini_error(s->err, s->errcap, "f", 1, "the section lacks a key");
	return s->refuse_with;
}

/* Read @text; returns the result, the items in @s, the error in @err. */
static int read_text(const char *text, size_t len, struct seen *s, char *err, size_t cap)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int r;

	CHECK(f != NULL);
	s->text[0] = 0;
	s->err = err;
	s->errcap = cap;
	r = ini_read(f, "f", collect, s, err, cap);
	fclose(f);
	return r;
}

static void expect_items(const char *text, const char *items)
{
	struct seen s = { .refuse_at = 0 };
	char err[256];
	int r = read_text(text, strlen(text), &s, err, sizeof(err));

	if (r != 0 || strcmp(s.text, items)) {
		fprintf(stderr, "input:\n%s\nr = %d (%s)\nitems:\n%s\nwanted:\n%s\n", text, r,
			err, s.text, items);
		exit(T_EXIT_FAIL);
	}
}

static void expect_error(const char *text, size_t len, int want_r, const char *want_err)
{
	struct seen s = { .refuse_at = 0 };
	char err[256];
	int r = read_text(text, len, &s, err, sizeof(err));

	if (r != want_r || strcmp(err, want_err)) {
		fprintf(stderr, "input:\n%s\nr = %d, err \"%s\"; wanted %d, \"%s\"\n", text, r,
			err, want_r, want_err);
		exit(T_EXIT_FAIL);
	}
}

static void tokenizer(void)
{
	struct seen s = { .refuse_at = 2, .refuse_with = -ENOENT };
	char big[INI_LINE_MAX + 64], err[256];

	expect_items("# a comment\n"
		     "  ; another\n"
		     "\n"
		     "[server a]   # comment after a header\n"
		     "exec = /bin/x \"a #b\" # quoted # kept, the last cut\n"
		     "k=v#not-a-comment\n"
		     "empty =\n"
		     "  spaced key  =  spaced value  \t\n"
		     "q = \"x\\\" #still quoted\" # gone\n"
		     "[ volume d ]\r\n"
		     "path = /p\r\n",
		     "4 [server a]\n"
		     "5 [server a] <exec>=</bin/x \"a #b\">\n"
		     "6 [server a] <k>=<v#not-a-comment>\n"
		     "7 [server a] <empty>=<>\n"
		     "8 [server a] <spaced key>=<spaced value>\n"
		     "9 [server a] <q>=<\"x\\\" #still quoted\">\n"
		     "10 [volume d]\n"
		     "11 [volume d] <path>=</p>\n");
	expect_items("k = before any section\n", "1 [] <k>=<before any section>\n");
	expect_items("", "");
	expect_items("[s]\nlast = no newline", "1 [s]\n2 [s] <last>=<no newline>\n");

	expect_error("[s]\n[oops\n", 10, -EINVAL, "f:2: section header without ']'");
	expect_error("[s] x\n", 6, -EINVAL, "f:1: text after the section header: ' x'");
	expect_error("[s]\n\njunk\n", 10, -EINVAL, "f:3: expected 'key = value' or '[section]'");
	expect_error("= v\n", 4, -EINVAL, "f:1: no key before '='");
	expect_error("[s]\nk = a\0b\n", 10, -EINVAL, "f:2: NUL byte in line");
	snprintf(big, sizeof(big), "[s]\nk = %0*d\n", INI_LINE_MAX, 0);
	expect_error(big, strlen(big), -EINVAL, "f:2: line longer than 4096 bytes");
	/* Exactly the longest line is fine. */
	snprintf(big, sizeof(big), "k = %0*d\n", INI_LINE_MAX - 5, 0);
	CHECK_EQ(strlen(big), INI_LINE_MAX);
	CHECK_EQ(read_text(big, strlen(big), &s, err, sizeof(err)), 0);

	/* A refusal stops the reading: strerror when unexplained ... */
	CHECK_EQ(read_text("[s]\na = 1\nb = 2\n", 16, &s, err, sizeof(err)), -ENOENT);
	CHECK(!strcmp(err, "f:2: No such file or directory"));
	CHECK(!strcmp(s.text, "1 [s]\n2 [s] <a>=<1>\n"));
	/* ... else the caller's own message, at the line it chose. */
	s.refuse_with = -EINVAL;
	CHECK_EQ(read_text("[s]\na = 1\nb = 2\n", 16, &s, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "f:1: the section lacks a key"));

	CHECK_EQ(ini_yes_no("yes"), 1);
	CHECK_EQ(ini_yes_no("0"), 0);
	CHECK_EQ(ini_yes_no("Yes"), -EINVAL);
	CHECK_EQ(ini_load("/nonexistent/x.conf", collect, &s, err, sizeof(err)), -ENOENT);
	CHECK(!strcmp(err, "/nonexistent/x.conf: No such file or directory"));
}

static char bin_dir[PATH_MAX];
static const char *run_dir;

/* Run "@prog ARGS" (a program of ../bin) with stderr to a file; returns
 * its exit status and its stderr in @out. */
static int run(const char *args, char *out, size_t cap)
{
	char cmd[3 * PATH_MAX], path[PATH_MAX];
	FILE *f;
	size_t n;
	int st;

	snprintf(path, sizeof(path), "%s/stderr", run_dir);
	snprintf(cmd, sizeof(cmd), "cd %s && %s/%s >/dev/null 2>%s", run_dir, bin_dir, args, path);
	st = system(cmd);
	CHECK(st != -1 && WIFEXITED(st));
	f = fopen(path, "r");
	CHECK(f != NULL);
	n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	fclose(f);
	return WEXITSTATUS(st);
}

static void write_conf(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", run_dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK_EQ(fclose(f), 0);
}

static void programs(const char *argv0)
{
	static const char *const progs[] = {
		"aoki-init --check -c bad.conf", "aoki-blkd --check -c bad.conf",
		"aoki-fsd -c bad.conf", "aoki up -c bad.conf",
	};
	char self[PATH_MAX], out[1024], conf[PATH_MAX + 64];
	FILE *img;

	snprintf(self, sizeof(self), "%s", argv0);
	snprintf(bin_dir, sizeof(bin_dir), "%s/../bin", dirname(self));
	if (access(bin_dir, X_OK) < 0) {
		printf("note: no ../bin next to the test binary: programs not checked\n");
		return;
	}
	CHECK(realpath(bin_dir, self) != NULL);
	snprintf(bin_dir, sizeof(bin_dir), "%s", self);
	run_dir = t_run_dir();

	/* 2. */
	write_conf("bad.conf", "# one error on line 2\n[oops\n");
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		int st = run(progs[i], out, sizeof(out));

		if (st != 2 || !strstr(out, "bad.conf:2: section header without ']'")) {
			fprintf(stderr, "%s: exit %d, said: %s\n", progs[i], st, out);
			exit(T_EXIT_FAIL);
		}
	}

	/* 3. */
	snprintf(conf, sizeof(conf), "%s/disk.img", run_dir);
	img = fopen(conf, "w");
	CHECK(img != NULL);
	CHECK_EQ(ftruncate(fileno(img), 16 << 20), 0);
	fclose(img);
	snprintf(conf, sizeof(conf), "[volume d]   # a volume\npath = %s/disk.img   # its image\n",
		 run_dir);
	write_conf("blkd.conf", conf);
	if (run("aoki-blkd --check -c blkd.conf", out, sizeof(out)) != 0) {
		fprintf(stderr, "aoki-blkd --check: %s\n", out);
		exit(T_EXIT_FAIL);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	tokenizer();
	programs(argv[0]);
	return T_EXIT_PASS;
}
