/* SPDX-License-Identifier: MIT */
/*
 * sockdir.c - the private socket of a hosted server lives in a directory
 * of its own, "$TMPDIR/aoki-host-<pid>-XXXXXX" (else /tmp), removed at
 * aoki_host_stop().  An application killed before that leaves it behind:
 * each new one is made after removing the directories of processes that
 * are gone (same owner, the pid in the name no longer running).  A pid
 * that was reused by a live process keeps its directory: nothing is
 * removed that might be in use.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

int host_sockdir_make(char *dir, size_t cap)
{
	const char *base = base_dir();
	DIR *d = opendir(base);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, PREFIX, strlen(PREFIX)))
				reap_one(dirfd(d), e->d_name);
		closedir(d);
	}
	if (snprintf(dir, cap, "%s/" PREFIX "%d-XXXXXX", base, (int)getpid()) >= (int)cap)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}
