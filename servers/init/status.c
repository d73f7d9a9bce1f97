/* SPDX-License-Identifier: MIT */
/*
 * status.c - files in the run directory that tell others what aoki-init
 * knows: <name>.pid (the running process) and <name>.status (state,
 * starts, how the last process ended), each replaced atomically so that
 * a reader sees the old or the new file, never part of one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

int init_runfile_write(const char *run_dir, const char *name, const char *ext,
		       const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	ssize_t n;
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/%s.%s", run_dir, name, ext) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	errno = 0;
	n = write(fd, text, len);
	if (n != (ssize_t)len)
		r = n < 0 && errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

void init_runfile_remove(const char *run_dir, const char *name, const char *ext)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s.%s", run_dir, name, ext) < (int)sizeof(path))
		unlink(path);
}

int init_status_write(const char *run_dir, const char *name, const struct init_status *st)
{
	char text[512];
	int n;

	/* The cause is aoki-init's own text (init_wait_status): no newline. */
	n = snprintf(text, sizeof(text),
		     "state=%s\npid=%d\nstarts=%u\nrestarts=%u\nstarted_ns=%lld\n"
		     "last_exit=%s\nlast_exit_ns=%lld\n",
		     st->state, (int)st->pid, st->starts, st->starts ? st->starts - 1 : 0,
		     (long long)st->started_ns, st->last_exit ? st->last_exit : "",
		     (long long)st->last_exit_ns);
	if (n < 0 || n >= (int)sizeof(text))
		return -EOVERFLOW;
	return init_runfile_write(run_dir, name, "status", text, (size_t)n);
}
