/* SPDX-License-Identifier: MIT */
/*
 * init-config: aoki-init's configuration parser, command-line splitter
 * and restart backoff, called directly.  Good files parse to the expected
 * values; every bad file in a table is rejected with -EINVAL and a
 * message "FILE:LINE: ..." naming the right line and the problem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../servers/init/init.h"
#include "harness.h"

static int parse(const char *text, struct init_config *cfg, char *err, size_t cap)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	CHECK(f != NULL);
	r = init_config_parse(f, "t.conf", cfg, err, cap);
	fclose(f);
	return r;
}

/* The numeric keys of @s, in the order of struct init_server_conf. */
static void check_numbers(const struct init_server_conf *s, const unsigned want[6])
{
	const unsigned got[6] = { s->backoff_min_ms, s->backoff_max_ms, s->backoff_reset_ms,
				  s->crash_limit, s->crash_window_s, s->stop_timeout_ms };

	for (int i = 0; i < 6; i++)
		CHECK_EQ(got[i], want[i]);
}

static void good(void)
{
	struct init_config cfg;
	char err[512];
	const struct init_server_conf *a, *b;

	CHECK_EQ(parse("# servers\n"
		       "; also a comment\n"
		       "[server echo]\n"
		       "exec = /bin/true --workers 2 \"a b\" x#y   # trailing comment\n"
		       "port = echo echo2\n"
		       "port=third\n"
		       "  restart = always  \r\n"
		       "backoff-min-ms = 5\n"
		       "backoff-max-ms = 300\n"
		       "backoff-reset-ms = 0\n"
		       "crash-limit = 0\n"
		       "crash-window-s = 1\n"
		       "stop-timeout-ms = 250\n"
		       "\n"
		       "[ server   blk.1 ]\n"
		       "exec=blkd\n",
		       &cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.nservers, 2);
	a = &cfg.servers[0];
	b = &cfg.servers[1];
	CHECK(!strcmp(a->name, "echo"));
	CHECK(!strcmp(a->argv[0], "/bin/true") && !strcmp(a->argv[1], "--workers") &&
	      !strcmp(a->argv[2], "2") && !strcmp(a->argv[3], "a b") &&
	      !strcmp(a->argv[4], "x#y") && a->argv[5] == NULL);
	CHECK_EQ(a->nports, 3);
	CHECK(!strcmp(a->ports[0], "echo") && !strcmp(a->ports[1], "echo2") &&
	      !strcmp(a->ports[2], "third"));
	CHECK_EQ(a->restart, INIT_RESTART_ALWAYS);
	check_numbers(a, (unsigned[]){ 5, 300, 0, 0, 1, 250 });
	CHECK_EQ(a->line, 3);
	CHECK_EQ(a->exec_line, 4);
	/* Defaults. */
	CHECK(!strcmp(b->name, "blk.1"));
	CHECK(!strcmp(b->argv[0], "blkd") && b->argv[1] == NULL);
	CHECK_EQ(b->nports, 0);
	CHECK_EQ(b->restart, INIT_RESTART_ON_FAILURE);
	check_numbers(b, (unsigned[]){ 0, 5000, 10000, 10, 60, 5000 });
	CHECK_EQ(init_config_check_exec(&cfg, err, sizeof(err)), 0);	/* blkd: $PATH */
	init_config_free(&cfg);
	init_config_free(&cfg);	/* idempotent */

	/* The program must exist when it is named by path. */
	CHECK_EQ(parse("[server s]\nexec = /nonexistent/prog\n", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(init_config_check_exec(&cfg, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "t.conf:2: exec: /nonexistent/prog: ") == err);
	init_config_free(&cfg);
}

static const struct bad {
	const char *text;
	size_t len;		/* of text: it may hold a NUL */
	const char *want;	/* the message starts with this */
} bads[] = {
#define B(text, want) { text, sizeof(text) - 1, want }
	B("", "t.conf:1: no [server NAME] section"),
	B("# only a comment\n", "t.conf:1: no [server NAME] section"),
	B("exec = /bin/true\n", "t.conf:1: 'exec' outside a [server NAME] section"),
	B("[server a]\nexec = /bin/true\n[service b]\n",
	  "t.conf:3: unknown section '[service b]'"),
	B("[server]\n", "t.conf:1: unknown section '[server]'"),
	B("[server a\n", "t.conf:1: section header without ']'"),
	B("[server a/b]\n", "t.conf:1: bad server name 'a/b'"),
	B("[server .x]\n", "t.conf:1: bad server name '.x'"),
	B("[server a]\nport = a\n", "t.conf:1: server 'a' has no exec"),
	B("[server a]\nport = a\n[server b]\nexec = x\n",
	  "t.conf:1: server 'a' has no exec"),
	B("[server a]\nexec = x\n[server a]\n",
	  "t.conf:3: server 'a' already defined at line 1"),
	B("[server a]\nexec\n", "t.conf:2: expected 'key = value'"),
	B("[server a]\nexec =\n", "t.conf:2: exec: empty value"),
	B("[server a]\nexec = \"unterminated\n",
	  "t.conf:2: exec: unterminated double quote"),
	B("[server a]\nexec = \"\n", "t.conf:2: exec: unterminated double quote"),
	B("[server a]\nexec = x\nexec = y\n",
	  "t.conf:3: exec given twice in server 'a'"),
	B("[server a]\nexec = x\nfoo = 1\n", "t.conf:3: unknown key 'foo'"),
	B("[server a]\nexec = x\nport = ok bad:name\n",
	  "t.conf:3: bad port name 'bad:name'"),
	B("[server a]\nexec = x\nport = p q p\n",
	  "t.conf:3: port 'p' already belongs to server 'a'"),
	B("[server a]\nexec = x\nport = p\n[server b]\nexec = y\nport = p\n",
	  "t.conf:6: port 'p' already belongs to server 'a'"),
	B("[server a]\nexec = x\nport = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
	  "t.conf:3: server 'a' has more than 16 ports"),
	B("[server a]\nexec = x\nrestart = sometimes\n",
	  "t.conf:3: restart: 'sometimes' is not always, on-failure or never"),
	B("[server a]\nexec = x\nrestart = always\nrestart = never\n",
	  "t.conf:4: restart given twice in server 'a'"),
	B("[server a]\nexec = x\nbackoff-min-ms = 12x\n",
	  "t.conf:3: backoff-min-ms: '12x' is not a whole number in 0..3600000"),
	B("[server a]\nexec = x\nbackoff-max-ms = -1\n",
	  "t.conf:3: backoff-max-ms: '-1' is not a whole number"),
	B("[server a]\nexec = x\nbackoff-max-ms = 3600001\n",
	  "t.conf:3: backoff-max-ms: '3600001' is not"),
	B("[server a]\nexec = x\ncrash-limit = 99999999999999999999999\n",
	  "t.conf:3: crash-limit: '99999999999999999999999' is not"),
	B("[server a]\nexec = x\ncrash-window-s = 0\n",
	  "t.conf:3: crash-window-s: '0' is not a whole number in 1..86400"),
	B("[server a]\nexec = x\nstop-timeout-ms = 1\nstop-timeout-ms = 2\n",
	  "t.conf:4: stop-timeout-ms given twice"),
	B("[server a]\nexec = x\nbackoff-min-ms = 500\nbackoff-max-ms = 100\n",
	  "t.conf:1: server 'a': backoff-min-ms (500) exceeds backoff-max-ms (100)"),
	B("[server a]\nexec = x\nport = a\0b\n", "t.conf:3: NUL byte in line"),
#undef B
};

static void bad(void)
{
	struct init_config cfg;
	char err[512], big[INIT_LINE_MAX + 64];

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		/* fmemopen wants a size: the empty file is /dev/null. */
		FILE *f = b->len ? fmemopen((void *)b->text, b->len, "r") : fopen("/dev/null", "r");
		int r;

		CHECK(f != NULL);
		r = init_config_parse(f, "t.conf", &cfg, err, sizeof(err));
		fclose(f);
		if (r != -EINVAL || strncmp(err, b->want, strlen(b->want))) {
			fprintf(stderr, "bad config %zu: %d \"%s\", want -EINVAL \"%s...\"\n", i, r,
				err, b->want);
			exit(T_EXIT_FAIL);
		}
		printf("ok: %s\n", err);
		init_config_free(&cfg);
	}
	/* A line too long. */
	snprintf(big, sizeof(big), "[server a]\nexec = %0*d\n", INIT_LINE_MAX, 0);
	CHECK_EQ(parse(big, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.conf:2: line longer than") == err);
	init_config_free(&cfg);
	/* A tiny error buffer is not overrun. */
	CHECK_EQ(parse("[server a]\nfoo = 1\n", &cfg, err, 8), -EINVAL);
	CHECK_EQ(strlen(err), 7);
	init_config_free(&cfg);
	/* A missing file. */
	CHECK_EQ(init_config_load("/nonexistent/init.conf", &cfg, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/init.conf: ") == err);
	init_config_free(&cfg);
}

static void split(void)
{
	const char *why = NULL;
	char **v;

	CHECK_EQ(init_split("  a\tb  \"c d\"e \"\" \"q\\\"\\\\\" x\\y", &v, &why), 6);
	CHECK(!strcmp(v[0], "a") && !strcmp(v[1], "b") && !strcmp(v[2], "c de") &&
	      !strcmp(v[3], "") && !strcmp(v[4], "q\"\\") && !strcmp(v[5], "x\\y") && !v[6]);
	free(v);
	CHECK_EQ(init_split("x", &v, &why), 1);
	free(v);
	CHECK_EQ(init_split(" \t ", &v, &why), -EINVAL);
	CHECK(!strcmp(why, "empty command"));
	CHECK_EQ(init_split("a \"b", &v, &why), -EINVAL);
	CHECK(!strcmp(why, "unterminated double quote"));
}

static void backoff(void)
{
	struct init_server_conf c = { .backoff_min_ms = 0, .backoff_max_ms = 100,
				      .backoff_reset_ms = 1000, .crash_limit = 5,
				      .crash_window_s = 10 };
	static const long want[] = { 0, 10, 20, 40, -1 };
	struct init_backoff b;
	int64_t s = 1000000000, t = 0;

	/* Delays double from 0 (via 10 ms); the 5th crash in 10 s gives up. */
	CHECK_EQ(init_backoff_init(&b, &c), 0);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(init_backoff_crash(&b, t += s / 10, 0), want[i]);
	init_backoff_free(&b);
	/* Crashes spread wider than the window never give up; the delay is
	 * capped at the maximum; an uptime of backoff_reset_ms starts over. */
	c.backoff_min_ms = 30;
	CHECK_EQ(init_backoff_init(&b, &c), 0);
	CHECK_EQ(init_backoff_crash(&b, t += 3 * s, 0), 30);
	CHECK_EQ(init_backoff_crash(&b, t += 3 * s, 0), 60);
	CHECK_EQ(init_backoff_crash(&b, t += 3 * s, 0), 100);
	for (unsigned i = 0; i < 20; i++)
		CHECK_EQ(init_backoff_crash(&b, t += 3 * s, 0), 100);
	CHECK_EQ(init_backoff_crash(&b, t += 3 * s, s), 30);
	CHECK_EQ(init_backoff_crash(&b, t += 3 * s, 0), 60);
	init_backoff_free(&b);
	/* crash-limit 1: the first crash gives up; 0: never. */
	c.crash_limit = 1;
	CHECK_EQ(init_backoff_init(&b, &c), 0);
	CHECK_EQ(init_backoff_crash(&b, t, 0), -1);
	init_backoff_free(&b);
	c.crash_limit = 0;
	CHECK_EQ(init_backoff_init(&b, &c), 0);
	for (unsigned i = 0; i < 1000; i++)
		CHECK(init_backoff_crash(&b, t, 0) >= 0);
	init_backoff_free(&b);
}

int main(void)
{
	good();
	bad();
	split();
	backoff();
	return T_EXIT_PASS;
}
