/* SPDX-License-Identifier: MIT */
/*
 * host-poison: a request that makes a hosted server fault each time it
 * runs.  A fault is recovered by running the requests in flight again on
 * the rebuilt server, so such a request used to fault it for ever: the
 * caller hung until its deadline with a core busy rebuilding.  Now after
 * 16 faults with no turn completed between them the host gives up (as on
 * a rebuild that keeps failing): the call returns -EIO at once, and so
 * does every later one.  Control: requests before the poisonous one
 * succeed, and a single injected fault is recovered (no give-up).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "aoki/host.h"
#include "check.h"
#include "harness.h"

enum { OP_ECHO = 1, OP_POISON = 2 };

struct state {
	struct aoki_host *h;
};

/* An address that is never mapped, out of the compiler's sight. */
static volatile uintptr_t nowhere = 16;

static int handle(struct aoki_req *req, void *arg)
{
	struct state *s = arg;

	aoki_host_check_fault(s->h);
	if (aoki_req_opcode(req) == OP_POISON)
		*(volatile int *)nowhere = 1;	/* faults, every time */
	return 0;
}

static int create(struct aoki_host *h, int argc, char **argv, struct aoki_server_config *cfg,
		  char *err, size_t errcap)
{
	struct state *s = aoki_host_alloc(h, sizeof(*s));

	if (!s || argc != 2) {
		snprintf(err, errcap, "want one word, the port");
		return -EINVAL;
	}
	s->h = h;
	*cfg = (struct aoki_server_config){ .port = argv[1], .handler = handle,
					    .handler_arg = s, .workers = 1 };
	return 0;
}

static const struct aoki_host_service poison_svc = { .name = "poisonsvc", .create = create };

int main(void)
{
	const struct aoki_host_opts quiet = { .flags = AOKI_HOST_QUIET };
	const struct aoki_chan_opts opts = { .timeout_ns = 20000000000 };
	struct aoki_host_stats st;
	char port[PATH_MAX];
	struct aoki_chan *ch;
	struct aoki_host *h;
	int64_t t0;
	double ms;
	int r;

	snprintf(port, sizeof(port), "%s/poison.sock", t_run_dir());
	CHECK_EQ(aoki_host_start_service(&poison_svc, port, &quiet, &h), 0);
	CHECK_EQ(aoki_connect(port, &opts, &ch), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	CHECK_EQ(st.recoveries, 1);

	t0 = t_now_ns();
	r = aoki_call(ch, OP_POISON, NULL, 0, NULL, 0, NULL);
	ms = (double)(t_now_ns() - t0) / 1e6;
	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	printf("note: the poisonous call returned %d after %.1f ms, %llu recoveries\n", r, ms,
	       (unsigned long long)st.recoveries);
	CHECK_EQ(r, -EIO);
	CHECK(ms < 10000);
	CHECK(st.recoveries >= 10 && st.recoveries <= 20);
	CHECK_EQ(aoki_call(ch, OP_ECHO, NULL, 0, NULL, 0, NULL), -EIO);
	aoki_close(ch);
	aoki_host_stop(h);
	return 0;
}
