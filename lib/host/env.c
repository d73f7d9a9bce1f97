/* SPDX-License-Identifier: MIT */
/*
 * env.c - AOKI_HOST: servers a program hosts without being changed
 * (aoki/host.h gives the syntax).  Read once, at the first aoki_connect;
 * stopped at exit().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int env_result;

/* What AOKI_HOST hosted, in order, and the process that hosted it. */
static struct aoki_host **env_hosts;
static unsigned env_nhosts;
static pid_t env_pid;

/*
 * At exit, stop them, the last hosted first (fsd before the blkd under
 * it): a program that returns from main() must not leave its file system
 * to crash recovery, whose staging ring is only in its run directory (a
 * run with another AOKI_RUN_DIR lost what the first had acknowledged).
 * Not in a child of fork() that calls exit(): the servers are the
 * parent's, and stopping a copy would write the parent's image.
 */
static void stop_env_hosts(void)
{
	if (getpid() != env_pid)
		return;
	/* exit() from inside a server's turn (a signal handler that exits,
	 * landing there): stopping would wait for the worker lock this
	 * thread holds.  Left as a crash leaves them. */
	for (unsigned i = 0; i < env_nhosts; i++)
		if (host_driving(env_hosts[i]))
			return;
	while (env_nhosts)
		aoki_host_stop(env_hosts[--env_nhosts]);
}

/* Remember @h for stop_env_hosts; 0 or -ENOMEM. */
static int keep(struct aoki_host *h)
{
	struct aoki_host **v = realloc(env_hosts, (env_nhosts + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	env_hosts = v;
	env_hosts[env_nhosts++] = h;
	if (env_nhosts == 1) {
		env_pid = getpid();
		atexit(stop_env_hosts);
	}
	return 0;
}

/* Host one "name: words" entry; 0 or -errno (said on stderr). */
static int host_entry(char *entry)
{
	struct aoki_host *h;
	char *colon = strchr(entry, ':');
	char *name = entry;
	int r;

	while (*name == ' ' || *name == '\t')
		name++;
	if (!*name)
		return 0;	/* an empty entry (";;", a trailing ';') */
	if (!colon) {
		/* At most 60 bytes of it: the variable may be huge. */
		fprintf(stderr, "aoki: AOKI_HOST: \"%.60s%s\": want NAME: OPTIONS\n", name,
			strlen(name) > 60 ? "..." : "");
		return -EINVAL;
	}
	*colon = 0;
	for (char *e = colon; e > name && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = 0;
	if (!host_service_find(name)) {
		fprintf(stderr, "aoki: AOKI_HOST: no hostable server \"%s\"\n", name);
		return -EINVAL;
	}
	r = aoki_host_start(name, colon + 1, NULL, &h);
	if (r < 0) {
		fprintf(stderr, "aoki: AOKI_HOST: %s: cannot host it: %s\n", name, strerror(-r));
		/* One error for every way an entry fails: an -ENOENT of a
		 * volume file would read as "no server" to aoki_blk_open. */
		return -EINVAL;
	}
	/* Hosted for the rest of the process's life, stopped at exit(). */
	if (keep(h) < 0) {
		aoki_host_stop(h);
		return -ENOMEM;
	}
	return 0;
}

static void from_env(void)
{
	const char *v = getenv("AOKI_HOST");
	char *copy, *save = NULL;

	if (!v || !*v)
		return;
	copy = strdup(v);
	if (!copy) {
		env_result = -ENOMEM;
		return;
	}
	for (char *e = strtok_r(copy, ";", &save); e && !env_result;
	     e = strtok_r(NULL, ";", &save))
		env_result = host_entry(e);
	free(copy);
}

/* Set on the thread running from_env: a hosted server that is itself a
 * client (fsd connects to blkd while it starts) calls aoki_connect, and
 * so aoki_host_from_env, from inside the pthread_once. */
static __thread int in_from_env;

static void from_env_once(void)
{
	in_from_env = 1;
	from_env();
	in_from_env = 0;
}

int aoki_host_from_env(void)
{
	if (in_from_env)
		return 0;	/* the entries before this one are hosted */
	pthread_once(&env_once, from_env_once);
	return env_result;
}
