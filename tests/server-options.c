/* SPDX-License-Identifier: MIT */
/*
 * server-options: the stand-alone servers read their common options the
 * same way (servers/common/daemon.h).
 *   1. --workers takes 1..64 in aoki-echod, aoki-soakd and aoki-blkd
 *      (before: 1..1024, 1..1024 and 1..64), and a value out of range is
 *      a usage error (exit 2, which aoki-init does not restart).
 *   2. Every program prints "NAME VERSION" for --version, the one version
 *      of lib/util/version.h.
 *   3. aoki-echod --help points to its manual page, not to a header that
 *      is not installed.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "version.h"

static char bin_dir[PATH_MAX];

/* Run "@args" (a program of ../bin; 5 s at most) with its stdout and
 * stderr in @out; returns its exit status. */
static int run(const char *args, char *out, size_t cap)
{
	char cmd[4 * PATH_MAX], path[PATH_MAX];
	FILE *f;
	size_t n;
	int st;

	snprintf(path, sizeof(path), "%s/out", t_run_dir());
	snprintf(cmd, sizeof(cmd), "cd %s && timeout 5 %s/%s >%s 2>&1 </dev/null", t_run_dir(),
		 bin_dir, args, path);
	st = system(cmd);
	CHECK(st != -1 && WIFEXITED(st));
	f = fopen(path, "r");
	CHECK(f != NULL);
	n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	fclose(f);
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	static const char *const workers[] = {
		"aoki-echod --quiet", "aoki-soakd --state st --quiet",
		"aoki-blkd --volume v=img --quiet",
	};
	static const char *const progs[] = {
		"aoki-echod", "aoki-soakd", "aoki-blkd", "aoki-fsd", "aoki-init", "aoki",
	};
	char self[PATH_MAX], args[256], out[4096], want[128];

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(bin_dir, sizeof(bin_dir), "%s/../bin", dirname(self));
	if (access(bin_dir, X_OK) < 0)
		t_skip("no ../bin next to the test binary");
	CHECK(realpath(bin_dir, self) != NULL);
	snprintf(bin_dir, sizeof(bin_dir), "%s", self);

	/* 1. */
	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		const char *bad[] = { "0", "65", "x" };

		for (size_t j = 0; j < 3; j++) {
			int st;

			snprintf(args, sizeof(args), "%s --workers %s", workers[i], bad[j]);
			st = run(args, out, sizeof(out));
			if (st != 2 || !strstr(out, "not a number in 1..64")) {
				fprintf(stderr, "%s: exit %d, said: %s\n", args, st, out);
				return T_EXIT_FAIL;
			}
		}
	}

	/* 2. */
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		int st;

		snprintf(args, sizeof(args), "%s --version", progs[i]);
		snprintf(want, sizeof(want), "%s %s\n", progs[i], AOKI_VERSION);
		st = run(args, out, sizeof(out));
		if (st != 0 || strncmp(out, want, strlen(want))) {
			fprintf(stderr, "%s: exit %d, said: %s\n", args, st, out);
			return T_EXIT_FAIL;
		}
	}

	/* 3. */
	CHECK_EQ(run("aoki-echod --help", out, sizeof(out)), 0);
	CHECK(strstr(out, "aoki-echod(8)") && !strstr(out, ".h)"));
	return T_EXIT_PASS;
}
