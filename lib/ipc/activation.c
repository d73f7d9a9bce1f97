/* SPDX-License-Identifier: MIT */
/*
 * activation.c - adopt a listening socket passed by a supervisor (systemd
 * or aoki-init) through the socket-activation environment:
 *   LISTEN_PID      the pid the descriptors are meant for (ours, or they
 *                   were inherited by mistake from a parent)
 *   LISTEN_FDS      how many descriptors, numbered from 3
 *   LISTEN_FDNAMES  their names, colon-separated, in the same order
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aoki/ipc.h"

#define LISTEN_FDS_START 3

/* Parse a whole decimal number in [0, INT_MAX]; -1 if it is not one. */
static long parse_count(const char *s)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -1;
	return v;
}

/* Index of @name in the colon-separated @names, or -1. */
static long name_index(const char *names, const char *name)
{
	size_t len = strlen(name);
	long i = 0;

	for (const char *p = names;; i++) {
		const char *colon = strchrnul(p, ':');

		if ((size_t)(colon - p) == len && !memcmp(p, name, len))
			return i;
		if (!*colon)
			return -1;
		p = colon + 1;
	}
}

/* 0 if @fd is a listening Unix stream socket, else -ENOTSOCK. */
static int check_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, acc = 0;
	socklen_t tl = sizeof(type), al = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -ENOTSOCK;
	if (type != SOCK_STREAM || !acc || ss.ss_family != AF_UNIX)
		return -ENOTSOCK;
	return 0;
}

static int listen_fd(const char *name)
{
	const char *names = getenv("LISTEN_FDNAMES");
	long pid = parse_count(getenv("LISTEN_PID"));
	long nfds = parse_count(getenv("LISTEN_FDS"));
	long idx;
	int fd, fl, fdfl, r;

	if (!name || pid != (long)getpid() || nfds <= 0 || nfds > INT_MAX - LISTEN_FDS_START)
		return -ENOENT;
	if (names)
		idx = name_index(names, name);
	else
		idx = nfds == 1 ? 0 : -1;	/* one unnamed socket serves any port */
	if (idx < 0 || idx >= nfds)
		return -ENOENT;
	fd = LISTEN_FDS_START + (int)idx;
	r = check_listener(fd);
	if (r < 0)
		return r;
	/* Ours now: children we start must not inherit it, and the server's
	 * acceptor polls it. */
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
		return -ENOTSOCK;
	return fd;
}

int aoki_listen_fd(const char *name)
{
	int saved = errno;	/* the contract: errno is never set */
	int r = listen_fd(name);

	errno = saved;
	return r;
}
