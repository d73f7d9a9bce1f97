/* SPDX-License-Identifier: MIT */
/* tmpdir.c - see tmpdir.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"

static char run_dir[96];
static pid_t owner;

/* The directory holds plain files and sockets only: no recursion. */
static void cleanup(void)
{
	char path[512];
	struct dirent *e;
	DIR *d;

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

const char *util_private_run_dir(const char *prefix)
{
	if (run_dir[0])
		return run_dir;
	if (strlen(prefix) > 32) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	snprintf(run_dir, sizeof(run_dir), "/tmp/aoki-%s-XXXXXX", prefix);
	if (!mkdtemp(run_dir)) {
		run_dir[0] = 0;
		return NULL;
	}
	owner = getpid();
	if (setenv("AOKI_RUN_DIR", run_dir, 1) < 0 || atexit(cleanup)) {
		int e = errno ? errno : ENOMEM;

		rmdir(run_dir);
		run_dir[0] = 0;
		errno = e;
		return NULL;
	}
	return run_dir;
}
