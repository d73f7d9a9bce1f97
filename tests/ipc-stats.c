/* SPDX-License-Identifier: MIT */
/*
 * ipc-stats: the stats request (aoki_query_stats), answered by the
 * library in every server.
 *   - the counters match what the server did; pid, epoch, workers and
 *     uptime describe the serving process; the server's own figures
 *     (cfg.stats_fn) arrive, cut short at the caller's buffer with the
 *     full length reported, clamped when a buggy callback overstates;
 *     none without a callback or when it fails;
 *   - the server writes only into a grant the client lent for writing,
 *     within its bounds (a bad id, a read-only grant, a short grant, a
 *     range past the end, a wrong payload: each refused, nothing
 *     written);
 *   - across a server crash the same channel gets the new process's
 *     answer (new pid and epoch).
 * On a library without the request every query gets -ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/client.h"

/* handler_arg: the echo handler reads the first member as its own. */
struct stats_srv {
	struct echo_state es;
	_Atomic int calls;
	int mode;		/* 0: figures; 1: fail; 2: claim more than cap */
};

static int stats_fn(void *arg, void *buf, size_t cap)
{
	struct stats_srv *s = arg;
	int n = atomic_fetch_add(&s->calls, 1) + 1, len;
	char text[64];

	if (s->mode == 1)
		return -EIO;
	len = snprintf(text, sizeof(text), "calls=%d\nanswer=42\n", n);
	memcpy(buf, text, (size_t)len < cap ? (size_t)len : cap);
	return s->mode == 2 ? (int)cap + 1000 : len;
}

static struct aoki_server *start(const char *port, struct stats_srv *s, int with_fn)
{
	struct aoki_server_config cfg = {
		.port = port, .listen_fd = -1, .handler = echo_handler, .handler_arg = s,
		.workers = 2, .quiet = 1, .stats_fn = with_fn ? stats_fn : NULL,
	};
	struct aoki_server *srv = NULL;

	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	return srv;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_counters(void)
{
	struct stats_srv s = { 0 };
	struct aoki_server *srv = start("st", &s, 1);
	struct aoki_server_stats st;
	struct aoki_chan *ch;
	char ext[256];
	size_t ext_len = 0;

	CHECK_EQ(aoki_connect("st", NULL, &ch), 0);
	for (uint64_t i = 0; i < 10; i++)
		CHECK(t_echo_ok(ch, i));
	memset(&st, 0xa5, sizeof(st));
	CHECK_EQ(aoki_query_stats(ch, &st, ext, sizeof(ext), &ext_len), 0);
	CHECK(st.requests >= 10);
	CHECK_EQ(st.channels, 1);
	CHECK_EQ(st.accepted, 1);
	CHECK_EQ(st.dropped, 0);
	CHECK_EQ(st.pid, getpid());
	CHECK_EQ(st.workers, 2);
	CHECK(st.epoch != 0);
	/* This process started well under an hour ago, and not in the future. */
	CHECK(st.uptime_ns > 0 && st.uptime_ns < 3600ll * 1000000000);
	CHECK(st.start_ns <= wall_ns() && st.start_ns > wall_ns() - 3600ll * 1000000000);
	CHECK_EQ(ext_len, strlen("calls=1\nanswer=42\n"));
	CHECK(!memcmp(ext, "calls=1\nanswer=42\n", ext_len));

	/* Cut short at the caller's buffer; the full length is reported. */
	memset(ext, 0, sizeof(ext));
	CHECK_EQ(aoki_query_stats(ch, &st, ext, 5, &ext_len), 0);
	CHECK_EQ(ext_len, strlen("calls=2\nanswer=42\n"));
	CHECK(!memcmp(ext, "calls", 5) && ext[5] == 0);
	CHECK(st.requests >= 11);	/* the first query counted */

	/* A callback that fails: counters only.  One that claims more than
	 * it was given: clamped to what it was given, never past it. */
	s.mode = 1;
	CHECK_EQ(aoki_query_stats(ch, &st, ext, sizeof(ext), &ext_len), 0);
	CHECK_EQ(ext_len, 0);
	s.mode = 2;
	CHECK_EQ(aoki_query_stats(ch, &st, NULL, 0, &ext_len), 0);
	CHECK(ext_len > 0 && ext_len <= 4096);
	CHECK_EQ(aoki_query_stats(ch, &st, NULL, 0, NULL), 0);	/* ext_len optional */
	CHECK_EQ(aoki_query_stats(ch, NULL, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_query_stats(ch, &st, NULL, 8, NULL), -EINVAL);
	aoki_close(ch);
	aoki_server_destroy(srv);

	/* No callback: no figures, the counters still. */
	srv = start("st", &s, 0);
	CHECK_EQ(aoki_connect("st", NULL, &ch), 0);
	ext_len = 99;
	CHECK_EQ(aoki_query_stats(ch, &st, ext, sizeof(ext), &ext_len), 0);
	CHECK_EQ(ext_len, 0);
	CHECK_EQ(st.channels, 1);
	aoki_close(ch);
	aoki_server_destroy(srv);
}

/* The raw request with @ref (@len bytes of it) against a grant of @size
 * bytes with @rights; returns the status and checks that nothing was
 * written when it is an error. */
static int raw_query(struct aoki_chan *ch, size_t size, unsigned rights, int bad_id,
		     uint64_t offset, uint32_t length, size_t len)
{
	struct aoki_grant_ref ref = { .offset = offset, .length = length };
	uint8_t *mem;
	int r;

	CHECK_EQ(aoki_grant_create(ch, size, rights, &ref.grant, (void **)&mem), 0);
	memset(mem, 0x5a, size);
	if (bad_id)
		ref.grant += 7;
	r = chan_call(ch, OP_SERVER_STATS, &ref, len, NULL, 0, NULL);
	if (r < 0)
		for (size_t i = 0; i < size; i++)
			CHECK_EQ(mem[i], 0x5a);
	CHECK_EQ(aoki_grant_revoke(ch, bad_id ? ref.grant - 7 : ref.grant), 0);
	return r;
}

static void test_bounds(void)
{
	struct stats_srv s = { 0 };
	struct aoki_server *srv = start("sb", &s, 1);
	const size_t ref_len = sizeof(struct aoki_grant_ref);
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect("sb", NULL, &ch), 0);
	/* Control: a good request writes and says how much. */
	CHECK(raw_query(ch, 4096, AOKI_GRANT_WRITE, 0, 0, 4096, ref_len) > 0);
	CHECK_EQ(raw_query(ch, 4096, AOKI_GRANT_WRITE, 1, 0, 4096, ref_len), -ENOENT);
	CHECK_EQ(raw_query(ch, 4096, AOKI_GRANT_READ, 0, 0, 4096, ref_len), -EACCES);
	CHECK_EQ(raw_query(ch, 4096, AOKI_GRANT_WRITE, 0, 4000, 4096, ref_len), -EFAULT);
	CHECK_EQ(raw_query(ch, 4096, AOKI_GRANT_WRITE, 0, 0, 64, ref_len), -ENOBUFS);
	CHECK_EQ(raw_query(ch, 4096, AOKI_GRANT_WRITE, 0, 0, 4096, ref_len - 1), -EINVAL);
	/* A short range within a larger grant: the bytes after it untouched. */
	{
		struct aoki_grant_ref ref = { .offset = 100, .length = 300 };
		uint8_t *mem;
		int r;

		CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_WRITE, &ref.grant,
					   (void **)&mem), 0);
		memset(mem, 0x5a, 4096);
		r = chan_call(ch, OP_SERVER_STATS, &ref, sizeof(ref), NULL, 0, NULL);
		CHECK(r > 0 && r <= 300);
		for (size_t i = 0; i < 4096; i++)
			if (i < 100 || i >= 100 + (size_t)r)
				CHECK_EQ(mem[i], 0x5a);
		CHECK_EQ(aoki_grant_revoke(ch, ref.grant), 0);
	}
	/* The channel is still good. */
	CHECK(t_echo_ok(ch, 1));
	aoki_close(ch);
	aoki_server_destroy(srv);
}

static void test_restart(void)
{
	struct aoki_server_stats a, b;
	pid_t pid = t_echo_spawn("sr");
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect("sr", NULL, &ch), 0);
	CHECK_EQ(aoki_query_stats(ch, &a, NULL, 0, NULL), 0);
	CHECK_EQ(a.pid, pid);
	t_kill9(pid);
	pid = t_echo_spawn("sr");
	CHECK_EQ(aoki_query_stats(ch, &b, NULL, 0, NULL), 0);
	CHECK_EQ(b.pid, pid);
	CHECK(b.epoch != a.epoch);
	CHECK_EQ(b.resumed, 1);
	aoki_close(ch);
	echo_server_stop(pid);
}

int main(void)
{
	t_run_dir();
	test_counters();
	test_bounds();
	test_restart();
	return T_EXIT_PASS;
}
