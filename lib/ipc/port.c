/* SPDX-License-Identifier: MIT */
/* port.c - port names to socket paths, and binding them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "aoki/ipc.h"

int aoki_port_path(const char *name, char *buf, size_t cap)
{
	const char *dir, *xdg;
	int n;

	if (!name || !*name)
		return -EINVAL;
	if (strchr(name, '/')) {
		n = snprintf(buf, cap, "%s", name);
	} else if ((dir = getenv("AOKI_RUN_DIR")) && *dir) {
		n = snprintf(buf, cap, "%s/%s.sock", dir, name);
	} else if ((xdg = getenv("XDG_RUNTIME_DIR")) && *xdg) {
		n = snprintf(buf, cap, "%s/aoki/%s.sock", xdg, name);
	} else {
		n = snprintf(buf, cap, "/run/aoki/%s.sock", name);
	}
	if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return n;
}

/*
 * Binding a port without disturbing a rival.
 *
 * The socket is bound under a temporary name in the same directory and
 * listens before it appears under the port's path, by link(2) (which
 * never replaces anything) or, when a stale socket file is in the way, by
 * rename(2) over it (atomic).  So the path never names a socket that is
 * bound but not yet listening - the window in which a rival probing it
 * would take a live server for a dead one and replace it.  Replacing a
 * stale file is done under a lock file ("<path>.lock"), so that two
 * servers that both found it stale do not both replace it, the second
 * over the first's live socket.
 */

#define LOCK_WAIT_MS 2000

/* Bits that differ between processes and calls, for temporary names. */
static uint64_t now_salt(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_sec * 1000000000u ^
	       (uint64_t)ts.tv_nsec;
}

enum path_state { PATH_ABSENT, PATH_STALE, PATH_LIVE };

/* What is at @sa: nothing, a socket file nobody accepts on (or another
 * kind of file), or a listener.  Never blocks: a listener whose backlog
 * is full is live too. */
static enum path_state path_state(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r, err;

	if (fd < 0)
		return PATH_LIVE;	/* cannot tell: leave it alone */
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	err = errno;
	close(fd);
	if (r == 0)
		return PATH_LIVE;
	if (err == ENOENT)
		return PATH_ABSENT;
	return err == ECONNREFUSED ? PATH_STALE : PATH_LIVE;
}

/* Take the lock file @lock (created 0600 if missing), waiting at most
 * LOCK_WAIT_MS.  Returns its descriptor, or -errno (-EBUSY: held all
 * that time).  The lock is the file the path names when we hold it: a
 * holder that unlinked it on the way out does not share it with us. */
static int lock_take(const char *lock)
{
	for (int waited = 0;;) {
		struct stat a, b;
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino)
				return fd;
			close(fd);	/* unlinked by the last holder: again */
			continue;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited++ >= LOCK_WAIT_MS)
			return -EBUSY;
		usleep(1000);
	}
}

static void lock_drop(const char *lock, int fd)
{
	unlink(lock);	/* still ours: we hold it */
	close(fd);
}

/* A listening socket bound to a fresh name in @path's directory, written
 * into @tmp (of sizeof(sun_path)).  Returns the descriptor or -errno. */
static int listen_tmp(const char *path, char *tmp, size_t cap)
{
	static _Atomic unsigned counter;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(path, '/');
	int dir = slash ? (int)(slash - path) + 1 : 0;
	/* ".<hex digits>": up to 16, at least 4, as the length allows. */
	int digits = (int)cap - 2 - dir;
	int fd, r;

	if (digits < 4)
		return -ENAMETOOLONG;
	if (digits > 16)
		digits = 16;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		char hex[17];

		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)now_salt() ^
				 (unsigned long long)atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull);
		snprintf(tmp, cap, "%.*s.%.*s", dir, path, digits, hex + 16 - digits);
		strcpy(sa.sun_path, tmp);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (errno == EADDRINUSE)
				continue;	/* a name in use: another */
			break;
		}
		if (listen(fd, 128) == 0)
			return fd;
		r = -errno;
		unlink(tmp);
		close(fd);
		return r;
	}
	r = errno == EADDRINUSE ? -EEXIST : -errno;
	close(fd);
	return r;
}

int aoki_port_listen(const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)], lock[sizeof(sa.sun_path) + 8];
	int fd, lfd = -1, r;

	r = aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return r;
	fd = listen_tmp(sa.sun_path, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	snprintf(lock, sizeof(lock), "%s.lock", sa.sun_path);
	for (;;) {
		/* Nothing there: appear at once (link never replaces). */
		if (link(tmp, sa.sun_path) == 0) {
			r = 0;
			break;
		}
		if (errno != EEXIST) {
			r = -errno;
			break;
		}
		/* Something is there: decide and act under the lock, so that
		 * no other replacer acts between our probe and our rename. */
		if (lfd < 0) {
			lfd = lock_take(lock);
			if (lfd < 0) {
				r = lfd;
				break;
			}
			continue;	/* look again, now holding it */
		}
		switch (path_state(&sa)) {
		case PATH_LIVE:
			r = -EADDRINUSE;
			break;
		case PATH_STALE:
			/* Only lock holders replace a file, so it is still
			 * the stale one we probed. */
			r = rename(tmp, sa.sun_path) == 0 ? 1 : -errno;
			break;
		case PATH_ABSENT:
			continue;	/* gone meanwhile: link again */
		}
		break;
	}
	if (r <= 0)
		unlink(tmp);	/* linked (r == 0): the port's name stays */
	if (lfd >= 0)
		lock_drop(lock, lfd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
