/* SPDX-License-Identifier: MIT */
/*
 * ipc-admit-port: the listening socket (issue 12, items 5 and 6).
 *   1. A zero-initialised struct aoki_server_config means the defaults:
 *      listen_fd 0 is "none", not stdin (here /dev/null, which the old
 *      server tried to poll and failed with -EPERM); the port is bound.
 *   2. aoki_server_destroy unlinks its socket file only if the path
 *      still names its socket: moved aside, and another server bound the
 *      path, the second server keeps its port.
 *   3. Racing binds: in 300 rounds, 4 threads call aoki_port_listen on
 *      one path at once (every other round over a stale socket file).
 *      Exactly one wins each round, the path reaches the winner's
 *      socket, and no lock or temporary file is left behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc_util.h"

#define RACERS 4
#define ROUNDS 300

static void zero_config(void)
{
	struct echo_state st = { 0 };
	struct aoki_server_config cfg;
	struct aoki_server *srv;
	struct aoki_chan *ch;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	CHECK(null >= 0);
	CHECK_EQ(dup2(null, 0), 0);
	close(null);
	memset(&cfg, 0, sizeof(cfg));
	cfg.port = "zero";
	cfg.handler = echo_handler;
	cfg.handler_arg = &st;
	cfg.quiet = 1;
	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	CHECK_EQ(aoki_connect("zero", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	aoki_close(ch);
	aoki_server_destroy(srv);
	CHECK(fcntl(0, F_GETFD) >= 0);	/* stdin untouched */
	/* Neither listen_fd nor port: nothing to serve. */
	cfg.port = NULL;
	CHECK_EQ(aoki_server_create(&cfg, &srv), -EINVAL);
}

static void destroy_leaves_others(void)
{
	struct echo_state st1, st2;
	struct aoki_server *first, *second;
	struct aoki_chan *ch;
	char path[108], aside[128];

	CHECK(aoki_port_path("moved", path, sizeof(path)) > 0);
	snprintf(aside, sizeof(aside), "%s.old", path);
	first = t_echo_inproc("moved", 1, &st1, NULL, NULL);
	CHECK_EQ(rename(path, aside), 0);
	second = t_echo_inproc("moved", 1, &st2, NULL, NULL);
	aoki_server_destroy(first);
	CHECK_EQ(access(path, F_OK), 0);
	CHECK_EQ(aoki_connect("moved", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 2));
	CHECK_EQ(t_stat(second, T_ACCEPTED), 1);
	aoki_close(ch);
	aoki_server_destroy(second);
	CHECK(access(path, F_OK) < 0);	/* its own, it does unlink */
	unlink(aside);
}

struct race {
	pthread_barrier_t go, done;
	char path[108];
	int fd[RACERS];
};

struct racer_arg {
	struct race *race;
	unsigned me;
};

static void *racer_main(void *arg)
{
	struct racer_arg *a = arg;
	struct race *r = a->race;

	for (int round = 0; round < ROUNDS; round++) {
		pthread_barrier_wait(&r->go);
		r->fd[a->me] = aoki_port_listen(r->path);
		pthread_barrier_wait(&r->done);
	}
	return NULL;
}

static void stale_file(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/* Does a connection to @path arrive on @lfd? */
static int reaches(const char *path, int lfd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c, ok;

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	/* (A connection to a socket is in its backlog when connect returns.) */
	c = poll(&p, 1, 100) == 1 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	ok = ok && c >= 0;
	if (c >= 0)
		close(c);
	close(fd);
	return ok;
}

static void racing_binds(void)
{
	static struct race r;
	struct racer_arg args[RACERS];
	pthread_t th[RACERS];
	unsigned multi = 0, none = 0, lost = 0;
	struct dirent *e;
	DIR *d;

	CHECK(aoki_port_path("race", r.path, sizeof(r.path)) > 0);
	CHECK_EQ(pthread_barrier_init(&r.go, NULL, RACERS + 1), 0);
	CHECK_EQ(pthread_barrier_init(&r.done, NULL, RACERS + 1), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		args[i] = (struct racer_arg){ &r, i };
		CHECK_EQ(pthread_create(&th[i], NULL, racer_main, &args[i]), 0);
	}
	for (int round = 0; round < ROUNDS; round++) {
		int winners = 0, winner = -1;

		if (round % 2)
			stale_file(r.path);
		pthread_barrier_wait(&r.go);
		pthread_barrier_wait(&r.done);
		for (unsigned i = 0; i < RACERS; i++) {
			if (r.fd[i] >= 0) {
				winners++;
				winner = (int)i;
			} else {
				CHECK(r.fd[i] == -EADDRINUSE);
			}
		}
		multi += winners > 1;
		none += winners == 0;
		if (winners >= 1)
			lost += !reaches(r.path, r.fd[winner]);
		for (unsigned i = 0; i < RACERS; i++)
			if (r.fd[i] >= 0)
				close(r.fd[i]);
		unlink(r.path);
	}
	for (unsigned i = 0; i < RACERS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	printf("note: %d rounds of %d racing binds: %u with several winners, %u with none, "
	       "%u where the path missed the winner\n", ROUNDS, RACERS, multi, none, lost);
	CHECK_EQ(multi, 0);
	CHECK_EQ(none, 0);
	CHECK_EQ(lost, 0);
	d = opendir(getenv("AOKI_RUN_DIR"));
	CHECK(d != NULL);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		fprintf(stderr, "left behind: %s\n", e->d_name);
		CHECK(0);
	}
	closedir(d);
}

int main(void)
{
	t_run_dir();
	zero_config();
	destroy_leaves_others();
	racing_binds();
	return T_EXIT_PASS;
}
