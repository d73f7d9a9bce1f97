/* SPDX-License-Identifier: MIT */
/* echo.c - the example server (see echo.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"

static int grant_op(struct aoki_req *req, const void *data, size_t len, int fill)
{
	struct aoki_grant_ref ref;
	uint8_t *p;
	uint64_t sum = 0;
	int r;

	if (len < sizeof(ref) + (fill ? 1 : 0))
		return -EINVAL;
	memcpy(&ref, data, sizeof(ref));
	r = aoki_req_grant(req, &ref, fill ? AOKI_GRANT_WRITE : AOKI_GRANT_READ, (void **)&p);
	if (r < 0)
		return r;
	if (fill) {
		memset(p, ((const uint8_t *)data)[sizeof(ref)], ref.length);
		return aoki_req_reply(req, 0, NULL, 0);
	}
	for (uint32_t i = 0; i < ref.length; i++)
		sum += p[i];
	return aoki_req_reply(req, 0, &sum, sizeof(sum));
}

/* The deferred request waiting for this worker's next request. */
static __thread struct aoki_req *parked;

void echo_flush_deferred(void)
{
	if (parked) {
		aoki_req_complete(parked);
		parked = NULL;
	}
}

int echo_handler(struct aoki_req *req, void *arg)
{
	struct echo_state *st = arg;
	size_t len;
	const uint8_t *data = aoki_req_data(req, &len);
	uint64_t ab[2];
	uint32_t us, pid;
	int32_t ret;

	/* Any request first completes a parked deferred one.  Parked per
	 * worker thread: aoki_req_complete must run on the worker that took
	 * the request, and workers share @st. */
	uint32_t sleep_max = st && st->sleep_max_us ? st->sleep_max_us : 10000000;

	echo_flush_deferred();
	switch (aoki_req_opcode(req)) {
	case ECHO_OP_ECHO:
		return aoki_req_reply(req, (int32_t)len, data, len);
	case ECHO_OP_ADD:
		if (len != sizeof(ab))
			return -EINVAL;
		memcpy(ab, data, sizeof(ab));
		ab[0] += ab[1];
		return aoki_req_reply(req, 0, &ab[0], sizeof(ab[0]));
	case ECHO_OP_SLEEP:
		if (len != sizeof(us))
			return -EINVAL;
		memcpy(&us, data, sizeof(us));
		if (us > sleep_max)
			return -EINVAL;
		usleep(us);
		return aoki_req_reply(req, 0, NULL, 0);
	case ECHO_OP_GRANT_SUM:
		return grant_op(req, data, len, 0);
	case ECHO_OP_GRANT_FILL:
		return grant_op(req, data, len, 1);
	case ECHO_OP_DEFER:
		aoki_req_reply(req, (int32_t)len, data, len);
		parked = aoki_req_defer(req);
		return parked ? AOKI_DEFERRED : -ENOMEM;
	case ECHO_OP_PID:
		pid = (uint32_t)getpid();
		return aoki_req_reply(req, 0, &pid, sizeof(pid));
	case ECHO_OP_RETURN:
		if (len < sizeof(int32_t))
			return -EINVAL;
		memcpy(&ret, data, sizeof(ret));
		aoki_req_reply(req, 7, data + sizeof(ret), len - sizeof(ret));
		return ret;
	default:
		return -ENOSYS;
	}
}

static void serve_forever(const char *port, const struct echo_opts *o, int ready_fd)
{
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = port, .listen_fd = -1, .handler = echo_handler,
		.handler_arg = &st, .workers = o->workers, .spin_ns = o->spin_ns,
		.quiet = o->quiet,
	};
	struct aoki_server *srv;
	sigset_t stop_sigs;
	char ok = 1;
	int r, sig;

	if (o->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	/* Block the stop signals before any thread exists (threads inherit
	 * the mask), then wait for one synchronously: no handler, no race. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	r = aoki_server_create(&cfg, &srv);
	if (r == 0)
		r = aoki_server_start(srv);
	if (r < 0) {
		fprintf(stderr, "echo server: %s\n", strerror(-r));
		ok = 0;
	}
	if (write(ready_fd, &ok, 1) != 1 || !ok)
		_exit(1);
	close(ready_fd);
	sigwait(&stop_sigs, &sig);
	aoki_server_destroy(srv);
	_exit(0);
}

int echo_server_spawn(const char *port, const struct echo_opts *opts, pid_t *pid)
{
	struct echo_opts o = { .cpu = -1 };
	int pfd[2];
	char ok = 0;
	pid_t child;

	if (opts)
		o = *opts;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		int r = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (child == 0) {
		close(pfd[0]);
		serve_forever(port, &o, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &ok, 1) != 1 || !ok) {
		close(pfd[0]);
		waitpid(child, NULL, 0);
		return -EIO;
	}
	close(pfd[0]);
	*pid = child;
	return 0;
}

int echo_server_stop(pid_t pid)
{
	int status = 0;

	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return status;
}
