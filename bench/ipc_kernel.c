/* SPDX-License-Identifier: MIT */
/*
 * ipc_kernel.c - the baselines of `aoki bench ipc`: a raw shared-memory
 * cache-line ping-pong (the physical limit of any shared-memory IPC),
 * the kernel's pipe, Unix socket, futex and eventfd round trips, and
 * Concurrency Kit's SPSC ring streaming between two processes.
 *
 * The client runs in the benchmark process (already pinned to the
 * client CPU); each server is a forked peer pinned to its own CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ck_ring.h>

#include "ipc_bench.h"

/* ---------------------------------------------- cache-line ping-pong */

/*
 * One cache line, one counter.  The client stores an odd value (the
 * request), the server answers with the next even value (the reply):
 * every round trip moves the line to the server and back, nothing more.
 */
struct pp_line {
	alignas(64) _Atomic uint64_t turn;
	uint8_t pad[56];
};

struct pp_ctx {
	struct pp_line *line;
	uint64_t last;		/* last reply value seen by the client */
};

static void pp_server(void *arg)
{
	struct pp_line *line = arg;

	/* No time limit here: the peer is parked (SIGSTOP) between its
	 * batches and killed at the end. */
	for (uint64_t want = 1;; want += 2) {
		/* Acquire pairs with the client's release store of the
		 * request: anything the client wrote before it would be
		 * visible here. */
		while (atomic_load_explicit(&line->turn, memory_order_acquire) != want)
			bench_relax();
		/* Release pairs with the client's acquire spin: our reads of
		 * the request happen before it sees the reply. */
		atomic_store_explicit(&line->turn, want + 1, memory_order_release);
	}
}

static int pp_batch(void *arg, uint64_t n)
{
	struct pp_ctx *c = arg;

	for (uint64_t i = 0; i < n; i++) {
		/* Release pairs with the server's acquire spin: a payload
		 * written before this store would travel with it. */
		atomic_store_explicit(&c->line->turn, c->last + 1, memory_order_release);
		/* Acquire pairs with the server's release store of the
		 * reply. */
		if (bench_spin_until(&c->line->turn, c->last + 2) < 0)
			return -ETIMEDOUT;
		c->last += 2;
	}
	return 0;
}

int fig_pingpong(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	struct pp_ctx *c = calloc(1, sizeof(*c));

	f->heap = c;
	f->shm_size = sizeof(struct pp_line);
	f->shm = bench_shared_alloc(f->shm_size);
	if (!c || !f->shm)
		return -ENOMEM;
	c->line = f->shm;
	f->batch = pp_batch;
	f->ctx = c;
	f->iters = cfg->iters_fast;
	f->park = 1;
	return bench_peer_spawn(cfg->srv_cpu, pp_server, c->line, &f->peer);
}

/* ------------------------------------- byte streams: pipe, socketpair */

struct fd_ends {
	int rx, tx;		/* the peer reads requests on rx, answers on tx */
	size_t len;		/* message bytes */
};

static void fd_echo_server(void *arg)
{
	const struct fd_ends *e = arg;
	uint8_t buf[BENCH_MSG_BYTES];

	while (bench_read_full(e->rx, buf, e->len) == 0 &&
	       bench_write_full(e->tx, buf, e->len) == 0)
		;
}

static int fd_batch(void *arg, uint64_t n)
{
	const struct fd_ends *e = arg;
	uint8_t buf[BENCH_MSG_BYTES] = { 1 };
	int r = 0;

	for (uint64_t i = 0; i < n && r == 0; i++) {
		r = bench_write_full(e->tx, buf, e->len);
		if (r == 0)
			r = bench_read_full(e->rx, buf, e->len);
	}
	return r;
}

/*
 * A descriptor round-trip figure: the peer echoes what it reads on
 * srv->rx to srv->tx; the client writes cli->tx and reads cli->rx.  The
 * two fd_ends live in f->heap; the descriptors in f->fds.
 */
static int fd_fig(const struct ipc_bench_cfg *cfg, int srv_cpu, struct bench_fig *f,
		  struct fd_ends cli, struct fd_ends srv)
{
	struct fd_ends *e = calloc(2, sizeof(*e));

	f->heap = e;
	if (!e)
		return -ENOMEM;
	e[0] = cli;
	e[1] = srv;
	f->batch = fd_batch;
	f->ctx = &e[0];
	f->iters = cfg->iters_slow;
	return bench_peer_spawn(srv_cpu, fd_echo_server, &e[1], &f->peer);
}

int fig_pipe(const struct ipc_bench_cfg *cfg, int srv_cpu, struct bench_fig *f)
{
	int *fds = f->fds;	/* request pipe, reply pipe */

	if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(fds + 2, O_CLOEXEC) < 0)
		return -errno;
	return fd_fig(cfg, srv_cpu, f,
		      (struct fd_ends){ .rx = fds[2], .tx = fds[1], .len = BENCH_MSG_BYTES },
		      (struct fd_ends){ .rx = fds[0], .tx = fds[3], .len = BENCH_MSG_BYTES });
}

int fig_uds(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	int *sv = f->fds;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return fd_fig(cfg, cfg->srv_cpu, f,
		      (struct fd_ends){ .rx = sv[0], .tx = sv[0], .len = BENCH_MSG_BYTES },
		      (struct fd_ends){ .rx = sv[1], .tx = sv[1], .len = BENCH_MSG_BYTES });
}

/* eventfd carries an 8-byte counter, not a payload: its messages are 8 bytes. */
int fig_eventfd(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	int *efd = f->fds;	/* requests, replies */

	efd[0] = eventfd(0, EFD_CLOEXEC);
	efd[1] = eventfd(0, EFD_CLOEXEC);
	if (efd[0] < 0 || efd[1] < 0)
		return -errno;
	return fd_fig(cfg, cfg->srv_cpu, f,
		      (struct fd_ends){ .rx = efd[1], .tx = efd[0], .len = sizeof(uint64_t) },
		      (struct fd_ends){ .rx = efd[0], .tx = efd[1], .len = sizeof(uint64_t) });
}

/* ------------------------------------------------------------- futex */

/*
 * Two words on their own lines.  Each side stores the new value and
 * always calls FUTEX_WAKE; the waiter sleeps in FUTEX_WAIT whenever the
 * value is not there yet.  No spinning: this is the kernel wake path.
 */
struct fx_words {
	alignas(64) _Atomic uint32_t req;
	alignas(64) _Atomic uint32_t rep;
};

static int fx_await(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;
	int r;

	/* Acquire pairs with the peer's release store of @want. */
	while ((v = atomic_load_explicit(w, memory_order_acquire)) != want)
		if ((r = bench_futex_wait(w, v)) < 0)
			return r;
	return 0;
}

static void fx_server(void *arg)
{
	struct fx_words *fx = arg;

	for (uint32_t want = 1;; want++) {
		if (fx_await(&fx->req, want) < 0)
			return;
		/* Release pairs with the client's acquire in fx_await. */
		atomic_store_explicit(&fx->rep, want, memory_order_release);
		bench_futex_wake(&fx->rep);
	}
}

static int fx_batch(void *arg, uint64_t n)
{
	struct fx_words *fx = arg;
	int r = 0;

	for (uint64_t i = 0; i < n && r == 0; i++) {
		uint32_t next = atomic_load_explicit(&fx->req, memory_order_relaxed) + 1;

		/* Release pairs with the server's acquire in fx_await. */
		atomic_store_explicit(&fx->req, next, memory_order_release);
		r = bench_futex_wake(&fx->req);
		if (r == 0)
			r = fx_await(&fx->rep, next);
	}
	return r;
}

int fig_futex(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	f->shm_size = sizeof(struct fx_words);
	f->shm = bench_shared_alloc(f->shm_size);
	if (!f->shm)
		return -ENOMEM;
	f->batch = fx_batch;
	f->ctx = f->shm;
	f->iters = cfg->iters_slow;
	return bench_peer_spawn(cfg->srv_cpu, fx_server, f->shm, &f->peer);
}

/* ----------------------------------------------------- ck_ring (SPSC) */

/* One message: the same 64 bytes as an aoki slot, 32 of them payload. */
struct ck_msg {
	uint64_t seq;
	uint8_t payload[BENCH_MSG_BYTES];
	uint8_t pad[64 - sizeof(uint64_t) - BENCH_MSG_BYTES];
};
_Static_assert(sizeof(struct ck_msg) == 64, "a ck_ring message is one slot");

CK_RING_PROTOTYPE(bench_msg, ck_msg)

struct ck_shared {
	struct ck_ring ring;
	alignas(64) _Atomic uint64_t errors;	/* out-of-order messages seen */
	alignas(64) struct ck_msg buf[];
};

struct ck_ctx {
	struct ck_shared *sh;
	uint64_t seq;
};

static void ck_consumer(void *arg)
{
	struct ck_shared *sh = arg;
	uint8_t sink[BENCH_MSG_BYTES];
	struct ck_msg m;

	for (uint64_t want = 0;; ) {
		/* ck_ring's dequeue orders its load of the producer's tail
		 * before its copy of the entry (ck_pr_fence_load inside). */
		if (!ck_ring_dequeue_spsc_bench_msg(&sh->ring, sh->buf, &m)) {
			bench_relax();
			continue;
		}
		/* Copy the payload out, as a server copies a request. */
		memcpy(sink, m.payload, sizeof(sink));
		__asm__ __volatile__("" : : "r"(sink) : "memory");
		if (m.seq != want++)
			atomic_fetch_add_explicit(&sh->errors, 1, memory_order_relaxed);
	}
}

static int ck_batch(void *arg, uint64_t n)
{
	struct ck_ctx *c = arg;
	struct ck_msg m = { .payload = { 1 } };

	for (uint64_t i = 0; i < n; i++) {
		int64_t start = 0;

		m.seq = c->seq;
		/* The enqueue orders the entry's copy before its store of
		 * the producer tail (ck_pr_fence_store inside). */
		for (uint32_t k = 1; !ck_ring_enqueue_spsc_bench_msg(&c->sh->ring, c->sh->buf, &m); k++) {
			bench_relax();
			if (!(k & 0xffff)) {
				if (!start)
					start = util_now_ns();
				else if (util_now_ns() - start > BENCH_SPIN_LIMIT_NS)
					return -ETIMEDOUT;
			}
		}
		c->seq++;
	}
	return atomic_load_explicit(&c->sh->errors, memory_order_relaxed) ? -EBADMSG : 0;
}

/* ns per message; the consumer spins forever, so it is parked between batches. */
int fig_ck_ring(const struct ipc_bench_cfg *cfg, struct bench_fig *f)
{
	struct ck_ctx *c = calloc(1, sizeof(*c));

	f->heap = c;
	f->shm_size = sizeof(struct ck_shared) + cfg->async_slots * sizeof(struct ck_msg);
	f->shm = bench_shared_alloc(f->shm_size);
	if (!c || !f->shm)
		return -ENOMEM;
	c->sh = f->shm;
	ck_ring_init(&c->sh->ring, cfg->async_slots);
	f->batch = ck_batch;
	f->ctx = c;
	f->iters = cfg->stream_msgs;
	f->park = 1;
	return bench_peer_spawn(cfg->srv_cpu, ck_consumer, c->sh, &f->peer);
}
