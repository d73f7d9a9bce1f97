/* SPDX-License-Identifier: MIT */
/* port.c - port names to socket paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

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
