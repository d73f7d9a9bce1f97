/* SPDX-License-Identifier: MIT */
/*
 * sockdir.c - the private socket of a hosted server lives in a directory
 * of its own, "$TMPDIR/aoki-host-<pid>-XXXXXX" (else /tmp), removed at
 * aoki_host_stop().  An application killed before that leaves it behind:
 * the first one a process makes (in each $TMPDIR) comes after removing
 * the directories of processes that are gone (same owner, the pid in the
 * name no longer running).  A pid that was reused by a live process keeps
 * its directory: nothing is removed that might be in use.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

#define PREFIX "aoki-host-"

/* The directory the sockets go in: $TMPDIR if short enough, else /tmp. */
static const char *base_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp";
}

/* Remove @name in @dirfd if it is a directory of ours left by a process
 * that is gone. */
static void reap_one(int dirfd, const char *name)
{
	char *end;
	long pid = strtol(name + strlen(PREFIX), &end, 10);
	struct stat st;
	int fd;

	if (pid <= 0 || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
		return;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid())
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	unlinkat(fd, "s", 0);	/* the socket, all it ever holds */
	close(fd);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Remove every stale directory in @base: once a process for each base
 * (a scan of a busy /tmp is not work for every server started). */
static void reap_stale(const char *base)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char reaped[64];	/* base_dir() is shorter */
	DIR *d;
	struct dirent *e;

	pthread_mutex_lock(&lock);
	if (!strcmp(reaped, base)) {
		pthread_mutex_unlock(&lock);
		return;
	}
	snprintf(reaped, sizeof(reaped), "%s", base);
	pthread_mutex_unlock(&lock);
	d = opendir(base);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, PREFIX, strlen(PREFIX)))
			reap_one(dirfd(d), e->d_name);
	closedir(d);
}

int host_sockdir_make(char *dir, size_t cap)
{
	const char *base = base_dir();

	reap_stale(base);
	if (snprintf(dir, cap, "%s/" PREFIX "%d-XXXXXX", base, (int)getpid()) >= (int)cap)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}
