/* SPDX-License-Identifier: MIT */
/* port.c - port names to socket paths, and binding them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* Does a listener accept connections at @sa?  A stale socket file does not. */
static int port_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

	if (fd >= 0)
		close(fd);
	return live;
}

int aoki_port_listen(const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	r = aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && errno == EADDRINUSE) {
		if (port_live(&sa)) {
			close(fd);
			return -EADDRINUSE;
		}
		unlink(sa.sun_path);	/* stale: its listener is gone */
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (r == 0 && listen(fd, 128) < 0)
		r = -1;
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
