/* SPDX-License-Identifier: MIT */
/* harness.c - see harness.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char run_dir[64];
static pid_t owner;

void t_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(T_EXIT_SKIP);
}

static void cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char path[512];

	if (!run_dir[0] || getpid() != owner)
		return;
	d = opendir(run_dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(run_dir);
}

const char *t_run_dir(void)
{
	if (run_dir[0])
		return run_dir;
	strcpy(run_dir, "/tmp/aoki-test-XXXXXX");
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		exit(T_EXIT_FAIL);
	}
	owner = getpid();
	setenv("AOKI_RUN_DIR", run_dir, 1);
	atexit(cleanup);
	return run_dir;
}

int64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t t_percentile(int64_t *v, size_t n, double pct)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp64);
	i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}
