/* SPDX-License-Identifier: MIT */
/*
 * ipc-slots - slots are not tied to ring positions (ring.h):
 *
 *   unreaped   an async request completed but not reaped holds its own
 *              slot only: synchronous calls go on through the others
 *              (before: the call whose position came round to that slot
 *              got -EAGAIN with three of four slots free);
 *   all_async  async requests holding every slot: a call gets -EAGAIN at
 *              once, and aoki_submit queues nothing;
 *   threads    8 threads of synchronous calls on a 2-slot channel and 4
 *              threads on a 64-slot one never see -EAGAIN: a call waits
 *              for a slot (before: 25-39 k -EAGAIN per 100 k calls with 4
 *              threads on 64 slots);
 *   orphan     a call that timed out leaves its slot until the late reply
 *              comes; then the slot is used again.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "ipc_util.h"
#include "../lib/ipc/client.h"

#define PORT "slots"

static void unreaped(void)
{
	struct aoki_sqe sqe = { .op = ECHO_OP_ECHO, .len = 3, .tag = 42, .data = "abc" };
	struct aoki_chan *ch;
	struct aoki_cqe cqe;

	CHECK_EQ(aoki_connect(PORT, &(struct aoki_chan_opts){ .slots = 4 }, &ch), 0);
	CHECK_EQ(aoki_submit(ch, &sqe, 1), 1);
	/* Let it complete, and do not reap it. */
	CHECK(t_echo_ok(ch, 1));
	for (uint64_t k = 0; k < 1000; k++) {
		uint8_t req[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
		size_t len = t_tag_fill(k, req), got;

		/* No retry: a single -EAGAIN is the old bug. */
		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, req, len, rep, sizeof(rep), &got), (int)len);
		CHECK(t_tag_check(k, rep, got));
	}
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, 2000000000ll), 1);
	CHECK_EQ(cqe.tag, 42);
	CHECK_EQ(cqe.status, 3);
	CHECK(cqe.len == 3 && memcmp(cqe.payload, "abc", 3) == 0);
	aoki_close(ch);
}

static void all_async(void)
{
	struct aoki_sqe sqe[5];
	struct aoki_chan *ch;
	struct aoki_cqe cqe[5];
	int n = 0;

	for (int i = 0; i < 5; i++)
		sqe[i] = (struct aoki_sqe){ .op = ECHO_OP_ECHO, .tag = (uint64_t)i };
	CHECK_EQ(aoki_connect(PORT, &(struct aoki_chan_opts){ .slots = 4 }, &ch), 0);
	CHECK_EQ(aoki_submit(ch, sqe, 5), 4);
	CHECK_EQ(aoki_submit(ch, sqe, 1), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -EAGAIN);
	while (n < 4) {
		int r = aoki_reap(ch, cqe, 5, 1, 2000000000ll);

		CHECK(r > 0);
		n += r;
	}
	CHECK(t_echo_ok(ch, 7));
	aoki_close(ch);
}

struct caller {
	struct aoki_chan *ch;
	unsigned id, calls;
	unsigned eagain, bad;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;

	for (unsigned i = 0; i < c->calls; i++) {
		uint64_t tag = ((uint64_t)c->id << 32) | i;
		uint8_t req[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
		size_t len = t_tag_fill(tag, req), got = 0;
		int r = aoki_call(c->ch, ECHO_OP_ECHO, req, len, rep, sizeof(rep), &got);

		if (r == -EAGAIN)
			c->eagain++;
		else if (r != (int)len || !t_tag_check(tag, rep, got)) {
			if (!c->bad++)
				fprintf(stderr, "thread %u call %u: status %d, %zu bytes, want %zu\n",
					c->id, i, r, got, len);
		}
	}
	return NULL;
}

static void threads(unsigned nthreads, unsigned nslots, unsigned calls)
{
	struct aoki_chan *ch;
	struct caller c[8];
	pthread_t th[8];
	unsigned eagain = 0, bad = 0;

	CHECK(nthreads <= 8);
	CHECK_EQ(aoki_connect(PORT, &(struct aoki_chan_opts){ .slots = nslots }, &ch), 0);
	for (unsigned i = 0; i < nthreads; i++) {
		c[i] = (struct caller){ .ch = ch, .id = i, .calls = calls };
		CHECK_EQ(pthread_create(&th[i], NULL, caller_main, &c[i]), 0);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		eagain += c[i].eagain;
		bad += c[i].bad;
	}
	printf("note: %u threads on %u slots: %u calls, %u -EAGAIN, %u bad replies\n",
	       nthreads, nslots, nthreads * calls, eagain, bad);
	CHECK_EQ(eagain, 0);
	CHECK_EQ(bad, 0);
	aoki_close(ch);
}

/* A call that times out orphans its slot; the slot comes back. */
static void orphan(void)
{
	struct aoki_chan_opts o = { .slots = 2, .timeout_ns = 20000000 };
	uint32_t us = 200000;
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect(PORT, &o, &ch), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL), -ETIMEDOUT);
	/* The server is still asleep in the handler: one slot is orphaned,
	 * the other free; once the sleep ends, both serve again. */
	t_sleep_ms(300);
	for (uint64_t k = 0; k < 100; k++)
		CHECK(t_echo_ok(ch, k));
	/* Two at once need the orphaned slot back. */
	struct aoki_sqe sqe[2] = { { .op = ECHO_OP_ECHO, .tag = 1 }, { .op = ECHO_OP_ECHO, .tag = 2 } };
	struct aoki_cqe cqe[2];
	int n = 0;

	CHECK_EQ(aoki_submit(ch, sqe, 2), 2);
	CHECK_EQ(atomic_load(&ch->ring.norphans), 0);
	while (n < 2) {
		int r = aoki_reap(ch, cqe, 2, 1, 2000000000ll);

		CHECK(r > 0);
		n += r;
	}
	aoki_close(ch);
}

int main(void)
{
	struct echo_state st;
	struct aoki_server *srv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srv = t_echo_inproc(PORT, 1, &st, NULL, NULL);
	unreaped();
	all_async();
	threads(4, 64, 20000);
	threads(8, 2, 5000);
	orphan();
	aoki_server_destroy(srv);
	return 0;
}
