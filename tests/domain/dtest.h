/* SPDX-License-Identifier: MIT */
/*
 * dtest.h - helpers for the compartment tests (static binaries that also
 * run inside the QEMU guest, so no dependency beyond libc and libaoki).
 */
#ifndef AOKI_DTEST_H
#define AOKI_DTEST_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aoki/domain.h"
#include "../util/check.h"

#define OK(what) printf("ok: %s\n", what)

/* The outcome of running something in a child process. */
struct child_result {
	int exited;		/* 1: exited with code, 0: killed by signal */
	int code;		/* exit code or signal number */
	char err[1024];		/* its stderr */
};

/* Run @fn(@arg) in a forked child with stderr captured; the child exits 0
 * when @fn returns.  Fills *@res; returns 0 or -1 if fork failed. */
static inline int in_child(void (*fn)(void *), void *arg, struct child_result *res)
{
	int p[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], res->err + got, sizeof(res->err) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	waitpid(pid, &st, 0);
	res->exited = WIFEXITED(st);
	res->code = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
	return 0;
}

/* Expect the child to die of the default pkey-fault policy (SIGABRT after
 * the report line); returns the report. */
#define CHECK_PKEY_ABORT(fn, arg, res)                                        \
	do {                                                                  \
		CHECK(in_child(fn, arg, res) == 0);                           \
		if ((res)->exited || (res)->code != SIGABRT ||                \
		    !strstr((res)->err, "aoki: pkey fault")) {                \
			fprintf(stderr, "%s:%d: expected a pkey fault abort, got %s %d: %s\n", \
				__FILE__, __LINE__, (res)->exited ? "exit" : "signal", \
				(res)->code, (res)->err);                     \
			exit(1);                                              \
		}                                                             \
	} while (0)

#define CHECK_CHILD_OK(fn, arg, res)                                          \
	do {                                                                  \
		CHECK(in_child(fn, arg, res) == 0);                           \
		if (!(res)->exited || (res)->code != 0) {                     \
			fprintf(stderr, "%s:%d: expected the child to succeed, got %s %d: %s\n", \
				__FILE__, __LINE__, (res)->exited ? "exit" : "signal", \
				(res)->code, (res)->err);                     \
			exit(1);                                              \
		}                                                             \
	} while (0)

/* Run @fn in a child twice, without and with AOKI_DOMAIN_HARDEN (passed
 * as its argument: hardening cannot be undone), its stderr passed on.
 * Returns 77 when the first run skips, 1 when one fails, else 0. */
static inline int in_child_both_modes(void (*fn)(void *))
{
	static const unsigned modes[2] = { 0, AOKI_DOMAIN_HARDEN };
	struct child_result res;

	for (int m = 0; m < 2; m++) {
		if (in_child(fn, (void *)(uintptr_t)modes[m], &res) < 0)
			return 1;
		fputs(res.err, stderr);
		if (m == 0 && res.exited && res.code == 77)
			return 77;
		if (!res.exited || res.code != 0)
			return 1;
	}
	return 0;
}

/* Initialise with PKU or skip (the PKU tests). */
static inline void init_pku_or_skip(unsigned flags)
{
	int r = aoki_domain_init(flags | AOKI_DOMAIN_QUIET);

	CHECK_EQ(r, 0);
	if (!aoki_domain_isolated()) {
		printf("SKIP: no PKU here (CPUID PKU/OSPKE or pkey_alloc)\n");
		exit(77);
	}
}

/* Volatile accesses so the compiler keeps every probe.  Not checked by
 * UBSan: probes of NULL and of wild addresses are the point (the fault
 * is what the tests wait for). */
__attribute__((no_sanitize("undefined")))
static inline long peek(const void *p) { return *(const volatile long *)p; }
__attribute__((no_sanitize("undefined")))
static inline void poke(void *p, long v) { *(volatile long *)p = v; }

#endif
