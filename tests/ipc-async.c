/* SPDX-License-Identifier: MIT */
/*
 * ipc-async: aoki_submit/aoki_reap against an echo server process.
 *   - thousands of batches of mixed ops (ECHO, ADD, unknown), batch sizes
 *     past the ring size: every tag completes exactly once, with its own
 *     payload and status;
 *   - a full ring gives a partial count, then 0; reaping makes room;
 *   - bad sqes give -EINVAL (and stop the batch there);
 *   - aoki_chan_eventfd + aoki_chan_arm with epoll;
 *   - deferred completion (ECHO_OP_DEFER completes on the next request).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "ipc_util.h"

#define NTAGS 60000
#define RING 32

static uint8_t seen[NTAGS];

/* The op of tag @t: mostly ECHO, some ADD, a few unknown opcodes. */
static uint16_t tag_op(uint64_t t)
{
	return t % 7 == 3 ? ECHO_OP_ADD : t % 101 == 5 ? 999 : ECHO_OP_ECHO;
}

static void check_cqe(const struct aoki_cqe *c, uint64_t next)
{
	uint64_t t = c->tag;

	if (t >= next || seen[t]) {
		fprintf(stderr, "completion tag %llu: never submitted or seen %u times\n",
			(unsigned long long)t, t < NTAGS ? seen[t] : 0);
		CHECK(0);
	}
	seen[t]++;
	switch (tag_op(t)) {
	case ECHO_OP_ECHO:
		CHECK_EQ(c->status, (int32_t)t_tag_len(t));
		CHECK(t_tag_check(t, c->payload, c->len));
		break;
	case ECHO_OP_ADD: {
		uint64_t sum;

		CHECK_EQ(c->status, 0);
		CHECK_EQ(c->len, sizeof(sum));
		memcpy(&sum, c->payload, sizeof(sum));
		CHECK_EQ(sum, t * 4);
		break;
	}
	default:
		CHECK_EQ(c->status, -ENOSYS);
		CHECK_EQ(c->len, 0);
	}
}

static void many_batches(struct aoki_chan *ch)
{
	static uint8_t bufs[NTAGS][AOKI_MSG_PAYLOAD];
	struct aoki_sqe sqes[48];
	struct aoki_cqe cqes[48];
	uint64_t next = 0, reaped = 0, partial = 0;
	unsigned batch = 0;

	while (reaped < NTAGS) {
		unsigned want = 1 + (batch * 7) % 48, k = 0;
		int n;

		for (; k < want && next + k < NTAGS; k++) {
			uint64_t t = next + k;

			sqes[k] = (struct aoki_sqe){ .op = tag_op(t), .tag = t, .data = bufs[t] };
			if (sqes[k].op == ECHO_OP_ADD) {
				uint64_t ab[2] = { t, t * 3 };

				memcpy(bufs[t], ab, sizeof(ab));
				sqes[k].len = sizeof(ab);
			} else {
				sqes[k].len = (uint16_t)t_tag_fill(t, bufs[t]);
			}
		}
		n = aoki_submit(ch, sqes, k);
		CHECK(n >= 0 && n <= (int)k);
		if (n < (int)k)
			partial++;
		/* A submit never queues more than the ring has free slots. */
		CHECK(next + (uint64_t)n - reaped <= RING);
		next += (uint64_t)n;
		/* Reap in different styles: non-blocking, at least one,
		 * everything in flight. */
		switch (batch % 3) {
		case 0:
			n = aoki_reap(ch, cqes, 48, 0, 0);
			break;
		case 1:
			n = aoki_reap(ch, cqes, 48, next > reaped ? 1 : 0, 2000000000);
			break;
		default: {
			unsigned inflight = (unsigned)(next - reaped);

			n = aoki_reap(ch, cqes, 48, inflight < 48 ? inflight : 48, 2000000000);
			CHECK(n >= (int)(inflight < 48 ? inflight : 48));
		}
		}
		CHECK(n >= 0);
		for (int i = 0; i < n; i++)
			check_cqe(&cqes[i], next);
		reaped += (uint64_t)n;
		batch++;
	}
	CHECK_EQ(next, NTAGS);
	for (uint64_t t = 0; t < NTAGS; t++)
		CHECK_EQ(seen[t], 1);
	/* Nothing is left: a non-blocking reap finds nothing, a timed one
	 * times out with 0. */
	CHECK_EQ(aoki_reap(ch, cqes, 48, 0, 0), 0);
	int64_t t0 = t_now_ns();
	CHECK_EQ(aoki_reap(ch, cqes, 48, 1, 20000000), 0);
	CHECK(t_now_ns() - t0 >= 19000000);
	CHECK(partial > 0);	/* batches of up to 48 on a ring of 32 */
	printf("note: %u batches, %d tags, %llu partial submits\n", batch, NTAGS,
	       (unsigned long long)partial);
}

static void full_ring(void)
{
	struct aoki_chan_opts o = { .slots = 8 };
	struct aoki_chan *ch;
	struct aoki_sqe sqes[20];
	struct aoki_cqe cqes[20];
	uint64_t bit = 0;
	int got = 0;

	CHECK_EQ(aoki_connect("async", &o, &ch), 0);
	for (unsigned i = 0; i < 20; i++)
		sqes[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .tag = i };
	CHECK_EQ(aoki_submit(ch, sqes, 20), 8);
	CHECK_EQ(aoki_submit(ch, sqes + 8, 12), 0);
	/* The ring is full of unreaped completions: a call cannot start. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -EAGAIN);
	while (got < 8) {
		int n = aoki_reap(ch, cqes, 20, 1, 2000000000);

		CHECK(n > 0);
		for (int i = 0; i < n; i++) {
			CHECK(cqes[i].tag < 8 && !(bit & (1ull << cqes[i].tag)));
			bit |= 1ull << cqes[i].tag;
			CHECK_EQ(cqes[i].status, 0);
		}
		got += n;
	}
	CHECK_EQ(got, 8);
	CHECK_EQ(aoki_submit(ch, sqes + 8, 12), 8);
	CHECK_EQ(aoki_reap(ch, cqes, 20, 8, 2000000000), 8);
	for (int i = 0; i < 8; i++)
		CHECK(cqes[i].tag >= 8 && cqes[i].tag < 16);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "ok", 2, NULL, 0, NULL), 2);
	aoki_close(ch);
}

static void bad_sqes(struct aoki_chan *ch)
{
	uint8_t big[AOKI_MSG_PAYLOAD + 1] = { 0 };
	struct aoki_sqe good = { .op = ECHO_OP_ECHO, .tag = 1, .len = 3, .data = "abc" };
	struct aoki_sqe bad[] = {
		{ .op = ECHO_OP_ECHO, .tag = 2, .reserved = 1 },
		{ .op = ECHO_OP_ECHO, .tag = 3, .len = sizeof(big), .data = big },
		{ .op = ECHO_OP_ECHO, .tag = 4, .len = 4, .data = NULL },
		{ .op = AOKI_OP_RESERVED, .tag = 5 },
		{ .op = 0xffff, .tag = 6 },
	};
	struct aoki_sqe mixed[3];
	struct aoki_cqe cqe[4];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(aoki_submit(ch, &bad[i], 1), -EINVAL);
	CHECK_EQ(aoki_submit(ch, &good, 0), 0);
	/* A bad sqe stops the batch: the good one before it is queued,
	 * the one after is not. */
	mixed[0] = good;
	mixed[1] = bad[0];
	mixed[2] = good;
	mixed[2].tag = 9;
	CHECK_EQ(aoki_submit(ch, mixed, 3), 1);
	CHECK_EQ(aoki_reap(ch, cqe, 4, 1, 2000000000), 1);
	CHECK_EQ(cqe[0].tag, 1);
	CHECK_EQ(cqe[0].status, 3);
	CHECK(cqe[0].len == 3 && memcmp(cqe[0].payload, "abc", 3) == 0);
	CHECK_EQ(aoki_reap(ch, cqe, 4, 0, 10000000), 0);
	CHECK_EQ(aoki_reap(ch, cqe, 1, 2, 0), -EINVAL);
}

static void epoll_wakeups(struct aoki_chan *ch)
{
	int fd = aoki_chan_eventfd(ch), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct aoki_cqe cqe;
	uint32_t us = 30000;
	unsigned slept = 0, spurious = 0;

	CHECK(fd >= 0 && ep >= 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	/* Armed with nothing in flight: no readiness appears. */
	CHECK_EQ(aoki_chan_arm(ch), 0);
	CHECK_EQ(epoll_wait(ep, &out, 1, 30), 0);

	for (uint64_t i = 0; i < 200; i++) {
		struct aoki_sqe s = { .op = i % 20 ? ECHO_OP_ECHO : ECHO_OP_SLEEP, .tag = 1000 + i };
		uint8_t buf[AOKI_MSG_PAYLOAD];
		int armed, n;

		if (s.op == ECHO_OP_SLEEP) {
			s.len = sizeof(us);
			s.data = &us;
		} else {
			s.len = (uint16_t)t_tag_fill(s.tag, buf);
			s.data = buf;
		}
		CHECK_EQ(aoki_submit(ch, &s, 1), 1);
		/* The documented loop: arm; sleep only if armed (0); reap.
		 * A wake-up may be spurious (a notification of an earlier
		 * completion arriving late), so re-arm when the reap is
		 * empty; a lost wake-up shows as an epoll timeout. */
		for (int tries = 0;; tries++) {
			CHECK(tries < 50);
			armed = aoki_chan_arm(ch);
			CHECK(armed == 0 || armed == 1);
			if (armed == 0) {
				CHECK_EQ(epoll_wait(ep, &out, 1, 1000), 1);
				CHECK(out.events & EPOLLIN);
				slept++;
			}
			n = aoki_reap(ch, &cqe, 1, 0, 0);
			CHECK(n == 0 || n == 1);
			if (n == 1)
				break;
			/* arm said completions wait, so the reap finds one */
			CHECK(armed == 0);
			spurious++;
		}
		CHECK_EQ(cqe.tag, s.tag);
		if (s.op == ECHO_OP_ECHO)
			CHECK(t_tag_check(s.tag, cqe.payload, cqe.len));
	}
	/* The 30 ms sleeps are long enough that arming beat them. */
	CHECK(slept >= 5);
	printf("note: epoll: 200 completions, %u sleeps, %u spurious wake-ups\n", slept,
	       spurious);
	/* Everything reaped: arming again shows nothing pending and the
	 * readiness left over from the last wake-up is cleared.  (Wait a
	 * moment first: the server sends its notification just after it
	 * publishes the completion we may already have reaped.) */
	t_sleep_ms(10);
	CHECK_EQ(aoki_chan_arm(ch), 0);
	CHECK_EQ(epoll_wait(ep, &out, 1, 20), 0);
	close(ep);
}

static void deferred(struct aoki_chan *ch)
{
	struct aoki_sqe s = { .op = ECHO_OP_DEFER, .tag = 77, .len = 8, .data = "deferred" };
	struct aoki_cqe cqe[2];
	char rep[8];
	size_t n;

	CHECK_EQ(aoki_submit(ch, &s, 1), 1);
	/* Parked in the server: no completion until another request. */
	CHECK_EQ(aoki_reap(ch, cqe, 2, 1, 50000000), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "x", 1, rep, sizeof(rep), &n), 1);
	CHECK(n == 1 && rep[0] == 'x');
	CHECK_EQ(aoki_reap(ch, cqe, 2, 1, 2000000000), 1);
	CHECK_EQ(cqe[0].tag, 77);
	CHECK_EQ(cqe[0].status, 8);
	CHECK(cqe[0].len == 8 && memcmp(cqe[0].payload, "deferred", 8) == 0);

	/* A second DEFER completes the first; a call completes the second. */
	CHECK_EQ(aoki_submit(ch, &s, 1), 1);
	s.tag = 78;
	s.data = "DEFERRED";
	CHECK_EQ(aoki_submit(ch, &s, 1), 1);
	CHECK_EQ(aoki_reap(ch, cqe, 2, 1, 2000000000), 1);
	CHECK_EQ(cqe[0].tag, 77);
	CHECK_EQ(aoki_reap(ch, cqe, 2, 1, 30000000), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_PID, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(aoki_reap(ch, cqe, 2, 1, 2000000000), 1);
	CHECK_EQ(cqe[0].tag, 78);
	CHECK(memcmp(cqe[0].payload, "DEFERRED", 8) == 0);
}

int main(void)
{
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	struct aoki_chan_opts o = { .slots = RING };
	struct aoki_chan *ch;
	pid_t srv;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();
	CHECK_EQ(echo_server_spawn("async", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("async", &o, &ch), 0);
	many_batches(ch);
	bad_sqes(ch);
	epoll_wakeups(ch);
	deferred(ch);
	full_ring();
	/* The channel still works after all of that. */
	for (uint64_t i = 0; i < 100; i++)
		CHECK(t_echo_ok(ch, i));
	aoki_close(ch);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
