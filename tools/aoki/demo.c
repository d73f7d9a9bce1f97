/* SPDX-License-Identifier: MIT */
/*
 * demo.c - `aoki demo [stack|pieces]`.  The stack job (demo_stack.c) is
 * the default and what `make run` runs.  `pieces` is the demo of the
 * parts: start the example server, run a few clients doing synchronous
 * calls, async batches and a grant, then crash the server during a call
 * and restart it, and print what happened; then the same for the storage
 * server (demo_blk.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "commands.h"
#include "demo_blk.h"
#include "demo_stack.h"
#include "echo.h"
#include "clock.h"
#include "stats.h"
#include "tmpdir.h"

static int demo_client(int id, unsigned calls)
{
	struct aoki_chan *ch;
	int64_t *lat = malloc(sizeof(*lat) * calls), t0;
	struct aoki_cqe cqe[64];
	struct aoki_sqe sqe[64];
	uint64_t done = 0, v;
	uint32_t gid;
	uint8_t *g;
	int r;

	if (!lat || (r = aoki_connect("demo", NULL, &ch)) < 0) {
		fprintf(stderr, "client %d: connect: %s\n", id, strerror(lat ? -r : ENOMEM));
		return 1;
	}
	for (unsigned i = 0; i < calls; i++) {
		uint64_t ab[2] = { i, (uint64_t)id }, sum;

		t0 = util_now_ns();
		r = aoki_call(ch, ECHO_OP_ADD, ab, sizeof(ab), &sum, sizeof(sum), NULL);
		lat[i] = util_now_ns() - t0;
		if (r < 0 || sum != i + (uint64_t)id) {
			fprintf(stderr, "client %d: call %u: %s\n", id, i, strerror(-r));
			return 1;
		}
	}
	t0 = util_now_ns();
	for (unsigned round = 0; round < 2000; round++) {
		for (unsigned i = 0; i < 32; i++)
			sqe[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .len = 8,
						    .tag = round * 32 + i, .data = &sqe[i].tag };
		r = aoki_submit(ch, sqe, 32);
		if (r != 32) {
			fprintf(stderr, "client %d: submit: %d\n", id, r);
			return 1;
		}
		for (unsigned got = 0; got < 32;) {
			r = aoki_reap(ch, cqe, 64, 1, -1);
			if (r < 0) {
				fprintf(stderr, "client %d: reap: %s\n", id, strerror(-r));
				return 1;
			}
			for (int k = 0; k < r; k++) {
				memcpy(&v, cqe[k].payload, sizeof(v));
				if (cqe[k].status != 8 || v != cqe[k].tag)
					return 1;
			}
			got += (unsigned)r;
			done += (unsigned)r;
		}
	}
	double async_s = (double)(util_now_ns() - t0) / 1e9;

	r = aoki_grant_create(ch, 1 << 20, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &gid, (void **)&g);
	if (r == 0) {
		struct { struct aoki_grant_ref ref; uint8_t val; } fill = {
			{ .grant = gid, .offset = 0, .length = 1 << 20 }, 3 };
		uint64_t sum = 0;

		r = aoki_call(ch, ECHO_OP_GRANT_FILL, &fill, sizeof(fill), NULL, 0, NULL);
		if (r == 0)
			r = aoki_call(ch, ECHO_OP_GRANT_SUM, &fill.ref, sizeof(fill.ref), &sum,
				      sizeof(sum), NULL);
		if (r == 0 && (sum != 3u << 20 || g[12345] != 3))
			r = -EIO;
	}
	if (r < 0) {
		fprintf(stderr, "client %d: grant: %s\n", id, strerror(-r));
		return 1;
	}
	printf("client %d: %u calls, median %lld ns, p99 %lld ns; async %.2f M msgs/s; "
	       "1 MiB grant filled and summed by the server\n",
	       id, calls, (long long)util_percentile(lat, calls, 50),
	       (long long)util_percentile(lat, calls, 99), (double)done / async_s / 1e6);
	fflush(stdout);
	aoki_close(ch);
	free(lat);
	return 0;
}

struct restart {
	pid_t old, new;
};

/* Kill the server 100 ms from now with SIGKILL and start a new one. */
static void *crash_and_restart(void *arg)
{
	struct restart *r = arg;
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	struct timespec ts = { 0, 100000000 };

	nanosleep(&ts, NULL);
	kill(r->old, SIGKILL);
	waitpid(r->old, NULL, 0);
	if (echo_server_spawn("demo", &eo, &r->new) < 0)
		r->new = -1;
	return NULL;
}

/*
 * Crash recovery: a call that takes the server 300 ms is in progress when
 * the server is killed; a new server resumes the channel, runs the call
 * again and replies.  Returns 0, or 1 with a message; *@srv is the server
 * left running.
 */
static int demo_recovery(pid_t *srv)
{
	struct restart r = { .old = *srv, .new = -1 };
	struct aoki_chan *ch;
	uint32_t us = 300000, pid = 0;
	pthread_t th;
	int64_t t0;
	int rc;

	if (aoki_connect("demo", NULL, &ch) < 0)
		return 1;
	if (pthread_create(&th, NULL, crash_and_restart, &r)) {
		aoki_close(ch);
		return 1;
	}
	t0 = util_now_ns();
	rc = aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
	t0 = util_now_ns() - t0;
	pthread_join(th, NULL);
	if (rc == 0)
		rc = aoki_call(ch, ECHO_OP_PID, NULL, 0, &pid, sizeof(pid), NULL);
	aoki_close(ch);
	*srv = r.new;
	if (rc < 0 || r.new < 0 || pid != (uint32_t)r.new) {
		fprintf(stderr, "aoki demo: crash recovery failed: %s\n",
			rc < 0 ? strerror(-rc) : "no new server");
		return 1;
	}
	printf("crash recovery: server %d killed (SIGKILL) 100 ms into a 300 ms call; "
	       "server %d resumed the channel, ran the call again, and it returned "
	       "its reply after %.0f ms\n", (int)r.old, (int)r.new, (double)t0 / 1e6);
	return 0;
}

int demo_pieces(int argc, char **argv)
{
	unsigned clients = 2, calls = 20000;
	struct echo_opts eo = { .cpu = -1 };
	pid_t srv, kids[64];
	int opt, fails = 0;

	static const struct option longopts[] = {
		{ "clients", required_argument, NULL, 'c' },
		{ "calls", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	while ((opt = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			clients = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			calls = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			printf("Usage: aoki demo pieces [--clients N (1..64, default 2)] "
			       "[--calls N (default 20000)]\n"
			       "Starts the example echo server in its own process and N client\n"
			       "processes; each does synchronous calls, async batches and a grant.\n"
			       "Then kills the server during a call and shows a new one resume it.\n"
			       "Last, aoki-init runs the storage server aoki-blkd on a new 64 MiB\n"
			       "volume: 16 MiB written and read back, 4 KiB random reads for 1 s, and\n"
			       "the server killed with writes in flight, which complete after its\n"
			       "restart.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (clients < 1 || clients > 64 || calls < 1) {
		fprintf(stderr, "aoki demo: --clients must be 1..64 and --calls >= 1\n");
		return 2;
	}
	if (!util_private_run_dir("demo")) {
		perror("aoki demo: a private run directory in /tmp");
		return 1;
	}
	printf("aoki demo: example server + %u client processes (run dir %s)\n", clients,
	       getenv("AOKI_RUN_DIR"));
	if (echo_server_spawn("demo", &eo, &srv) < 0) {
		fprintf(stderr, "aoki demo: cannot start the server\n");
		return 1;
	}
	fflush(stdout);
	for (unsigned i = 0; i < clients; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(demo_client((int)i, calls));
	}
	for (unsigned i = 0; i < clients; i++) {
		int st;

		waitpid(kids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fails++;
	}
	fails += demo_recovery(&srv);
	if (srv > 0)
		echo_server_stop(srv);
	fflush(stdout);
	fails += demo_blk();
	printf("aoki demo: %s\n", fails ? "FAILED" : "all clients completed every request");
	return fails ? 1 : 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} demos[] = {
	{ "stack", demo_stack },
	{ "pieces", demo_pieces },
};

int cmd_demo(int argc, char **argv)
{
	/* `aoki demo [OPTIONS]` is the stack job. */
	if (argc < 2 || argv[1][0] == '-')
		return demo_stack(argc, argv);
	for (size_t i = 0; i < sizeof(demos) / sizeof(demos[0]); i++)
		if (!strcmp(argv[1], demos[i].name))
			return demos[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "aoki demo: unknown demo '%s' (stack, pieces)\n", argv[1]);
	return 2;
}
