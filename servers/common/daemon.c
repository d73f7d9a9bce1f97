/* SPDX-License-Identifier: MIT */
/* daemon.c - see daemon.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "version.h"

int daemon_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int daemon_option(const char *name, int c, const char *arg, struct aoki_server_config *cfg)
{
	switch (c) {
	case 'p':
		cfg->port = arg;
		return 1;
	case 'w':
		if (daemon_parse_uint(arg, 1, DAEMON_WORKERS_MAX, &cfg->workers) < 0) {
			fprintf(stderr, "%s: --workers %s: not a number in 1..%u\n", name, arg,
				DAEMON_WORKERS_MAX);
			return -1;
		}
		return 1;
	case 'q':
		cfg->quiet = 1;
		return 1;
	case 'V':
		printf("%s %s\n", name, AOKI_VERSION);
		return 2;
	}
	return 0;
}

int daemon_serve(const char *name, struct aoki_server_config *cfg, const char *what)
{
	struct aoki_server *srv;
	sigset_t stop;
	int r, sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	r = aoki_listen_fd(cfg->port);
	if (r >= 0) {
		cfg->listen_fd = r;
	} else if (r != -ENOENT) {
		fprintf(stderr, "%s: socket passed for port %s: %s\n", name, cfg->port,
			strerror(-r));
		return 1;
	}
	r = aoki_server_create(cfg, &srv);
	if (r == 0 && (r = aoki_server_start(srv)) < 0)
		aoki_server_destroy(srv);
	if (r < 0) {
		fprintf(stderr, "%s: port %s: %s\n", name, cfg->port, strerror(-r));
		return 1;
	}
	if (!cfg->quiet)
		fprintf(stderr, "%s: serving port %s (pid %d, %u workers%s%s)\n", name, cfg->port,
			(int)getpid(), cfg->workers ? cfg->workers : 1,
			cfg->listen_fd >= 0 ? ", socket activated" : "", what ? what : "");
	sigwait(&stop, &sig);
	aoki_server_destroy(srv);
	return 0;
}

int daemon_lock_exclusive(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}
