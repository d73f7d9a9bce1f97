/* SPDX-License-Identifier: MIT */
/*
 * socket.c - the run directory and the listening sockets aoki-init holds
 * for its servers.  Holding them here is what lets a client connect while
 * a server restarts: the connection waits in the backlog until the new
 * server accepts it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "init.h"
#include "path.h"

int init_run_dir_default(char *buf, size_t cap)
{
	/* Ask the library for a port's path and keep its directory: the rule
	 * lives in one place, aoki_port_path(). */
	int n = aoki_port_path("x", buf, cap);

	if (n < 0)
		return n;
	n -= (int)strlen("/x.sock");
	buf[n] = 0;
	return n;
}

/* The one mkdir -p of the tree is lib/util's. */
int init_mkdir_p(const char *dir)
{
	return util_mkdir_p(dir);
}

int init_socket_open(const char *run_dir, const char *port, struct init_socket *s)
{
	char path[sizeof(s->path)];
	struct stat st;
	int n, fd, r;

	s->fd = -1;
	n = snprintf(path, sizeof(path), "%s/%s.sock", run_dir, port);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = aoki_port_listen(path);	/* replaces a stale socket file */
	if (fd < 0)
		return fd;
	if (stat(path, &st) < 0) {
		r = -errno;
		unlink(path);
		close(fd);
		return r;
	}
	memcpy(s->path, path, sizeof(s->path));
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->fd = fd;
	return 0;
}

void init_socket_close(struct init_socket *s)
{
	struct stat st;

	if (s->fd < 0)
		return;
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	close(s->fd);
	s->fd = -1;
}
