/* SPDX-License-Identifier: MIT */
/*
 * host-service: an application's own hosted service
 * (aoki_host_start_service), for what the built-in servers cannot show:
 *   - a handler that calls its own hosted server gets -EDEADLK at once
 *     (it would wait for itself; before, it spun until the call's
 *     deadline);
 *   - a rebuild after a fault that fails is tried again: create() fails
 *     three times after the fault, the call that met the fault still
 *     succeeds, one recovery is counted; control: the failures really
 *     happened (create() ran four times, the call took >= 7 ms, the
 *     retry delays 1 + 2 + 4 ms);
 *   - discard() runs after a fault, destroy() at the stop, each once;
 *   - the private socket's directory an application killed before its
 *     aoki_host_stop() left behind is removed by the next one to host a
 *     server; one whose pid still runs is kept (control);
 *   - a request that makes the server fault each time it runs: after 16
 *     faults with no turn completed between them the host gives up, the
 *     call and every later one get -EIO at once.  Before, recovery reran
 *     it for ever (648 385 rebuilds in 20 s; the caller timed out).
 *     Control: a single injected fault first is recovered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "aoki/host.h"
#include "check.h"
#include "harness.h"

enum { OP_ECHO = 1, OP_SELF = 2, OP_POISON = 3 };

/* An address that is never mapped, out of the compiler's sight. */
static volatile uintptr_t nowhere = 16;

/* Ordinary memory: the service's code reaches it, as the test does. */
static _Atomic int fail_creates, creates, destroys, discards;
static struct aoki_chan *self_ch;	/* a channel of the test to the service */

struct svc_state {
	struct aoki_host *h;
};

static int handle(struct aoki_req *req, void *arg)
{
	struct svc_state *s = arg;

	aoki_host_check_fault(s->h);
	if (aoki_req_opcode(req) == OP_POISON)
		*(volatile int *)nowhere = 1;	/* faults, every time */
	if (aoki_req_opcode(req) == OP_SELF)
		return aoki_call(self_ch, OP_ECHO, NULL, 0, NULL, 0, NULL);
	return aoki_req_opcode(req) == OP_ECHO ? 0 : -ENOSYS;
}

static int create(struct aoki_host *h, int argc, char **argv, struct aoki_server_config *cfg,
		  char *err, size_t errcap)
{
	struct svc_state *s;

	atomic_fetch_add(&creates, 1);
	if (atomic_load(&fail_creates) > 0) {
		atomic_fetch_sub(&fail_creates, 1);
		snprintf(err, errcap, "told to fail");
		return -EAGAIN;
	}
	if (argc != 2) {
		snprintf(err, errcap, "want one word: the port");
		return -EINVAL;
	}
	s = aoki_host_alloc(h, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = h;
	*cfg = (struct aoki_server_config){ .port = argv[1], .handler = handle,
					    .handler_arg = s, .workers = 1 };
	return 0;
}

static void destroy(struct aoki_host *h, void *state)
{
	atomic_fetch_add(&destroys, 1);
	aoki_host_free(h, state);
}

static void discard(struct aoki_host *h, void *state)
{
	atomic_fetch_add(&discards, 1);
}

static const struct aoki_host_service svc = {
	.name = "testsvc", .create = create, .destroy = destroy, .discard = discard,
};

static uint64_t recoveries(struct aoki_host *h)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	return st.recoveries;
}

/* The poisonous request, on a fresh instance. */
static void poison_request(void)
{
	const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };
	const struct aoki_chan_opts opts = { .timeout_ns = 20000000000 };
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host *h;
	uint64_t before;
	int64_t t0;
	double ms;
	int r;

	snprintf(port, sizeof(port), "%s/svc3.sock", t_run_dir());
	CHECK_EQ(aoki_host_start_service(&svc, port, &quiet, &h), 0);
	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(recoveries(h), 1);
	before = recoveries(h);
	t0 = t_now_ns();
	r = aoki_call(ch, OP_POISON, NULL, 0, NULL, 0, NULL);
	ms = (double)(t_now_ns() - t0) / 1e6;
	printf("note: the poisonous call returned %d after %.1f ms, %llu recoveries\n", r, ms,
	       (unsigned long long)(recoveries(h) - before));
	CHECK_EQ(r, -EIO);
	CHECK(ms < 10000);
	CHECK(recoveries(h) - before >= 10 && recoveries(h) - before <= 20);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), -EIO);
	aoki_close(ch);
	aoki_host_stop(h);
}

/* A directory "aoki-host-<pid>-<tag>" holding a file "s", in $TMPDIR. */
static void fake_sockdir(const char *tmp, pid_t pid, const char *tag, char *path, size_t cap)
{
	char s[PATH_MAX + 8];
	FILE *f;

	snprintf(path, cap, "%s/aoki-host-%d-%s", tmp, (int)pid, tag);
	CHECK_EQ(mkdir(path, 0700), 0);
	snprintf(s, sizeof(s), "%s/s", path);
	f = fopen(s, "w");
	CHECK(f);
	fclose(f);
}

/* Stale socket directories go, live ones stay. */
static void stale_sockdirs(void)
{
	const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };
	char tmp[PATH_MAX], stale[PATH_MAX + 64], live[PATH_MAX + 64], port[PATH_MAX];
	struct aoki_host *h;
	struct stat st;
	pid_t dead = fork();

	CHECK(dead >= 0);
	if (dead == 0)
		_exit(0);
	CHECK_EQ(waitpid(dead, NULL, 0), dead);
	snprintf(tmp, sizeof(tmp), "%s/t", t_run_dir());
	CHECK_EQ(mkdir(tmp, 0700), 0);
	CHECK_EQ(setenv("TMPDIR", tmp, 1), 0);
	fake_sockdir(tmp, dead, "gone", stale, sizeof(stale));
	fake_sockdir(tmp, getpid(), "mine", live, sizeof(live));
	snprintf(port, sizeof(port), "%s/svc4.sock", t_run_dir());
	CHECK_EQ(aoki_host_start_service(&svc, port, &quiet, &h), 0);
	CHECK(stat(stale, &st) < 0 && errno == ENOENT);
	CHECK_EQ(stat(live, &st), 0);
	aoki_host_stop(h);
	unsetenv("TMPDIR");
}

int main(void)
{
	const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };
	const struct aoki_chan_opts opts = { .timeout_ns = 5000000000 };
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host *h;
	int64_t t0;
	double ms;
	int r;

	snprintf(port, sizeof(port), "%s/svc.sock", t_run_dir());
	CHECK_EQ(aoki_host_start_service(&svc, port, &quiet, &h), 0);
	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_connect(port, &opts, &self_ch), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);

	/* A handler calling its own server. */
	t0 = t_now_ns();
	r = aoki_call(ch, OP_SELF, NULL, 0, NULL, 0, NULL);
	ms = (double)(t_now_ns() - t0) / 1e6;
	if (r != -EDEADLK)
		fprintf(stderr, "a handler calling its own server: %d after %.0f ms\n", r, ms);
	CHECK_EQ(r, -EDEADLK);
	CHECK(ms < 1000);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);	/* still serving */

	/* A fault whose rebuild fails three times. */
	CHECK_EQ(atomic_load(&creates), 1);
	atomic_store(&fail_creates, 3);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	t0 = t_now_ns();
	r = aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL);
	ms = (double)(t_now_ns() - t0) / 1e6;
	printf("note: a call across a fault and three failed rebuilds took %.1f ms\n", ms);
	CHECK_EQ(r, 0);
	CHECK_EQ(atomic_load(&creates), 5);
	CHECK_EQ(atomic_load(&fail_creates), 0);
	CHECK(ms >= 7.0);
	CHECK_EQ(recoveries(h), 1);
	CHECK_EQ(atomic_load(&discards), 1);
	CHECK_EQ(atomic_load(&destroys), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);

	aoki_close(self_ch);
	aoki_close(ch);
	aoki_host_stop(h);
	CHECK_EQ(atomic_load(&destroys), 1);
	CHECK_EQ(atomic_load(&discards), 1);
	poison_request();
	stale_sockdirs();
	/* NULL handles: errors, or the daemon's libc heap, not a crash. */
	{
		struct aoki_host_stats st;
		void *p = aoki_host_alloc(NULL, 64);

		CHECK_EQ(aoki_host_inject_fault(NULL, AOKI_HOST_FAULT_NULL, NULL), -EINVAL);
		CHECK_EQ(aoki_host_get_stats(NULL, &st), -EINVAL);
		CHECK(p && !((char *)p)[63]);
		aoki_host_free(NULL, p);
		CHECK_EQ(aoki_host_place(NULL, p, 4096), 0);
		CHECK_EQ(aoki_host_unplace(NULL, p, 4096), 0);
	}
	/* Flags nobody defined: refused, not ignored. */
	{
		const struct aoki_host_opts odd = { .flags = 0x80 };

		snprintf(port, sizeof(port), "%s/svc5.sock", t_run_dir());
		CHECK_EQ(aoki_host_start_service(&svc, port, &odd, &h), -EINVAL);
	}
	return 0;
}
