/* SPDX-License-Identifier: MIT */
/*
 * ipc_bench.h - shared pieces of `aoki bench ipc` (bench/ipc*.c): the
 * run configuration, timing and median helpers, pinned peer processes,
 * and the entry points of each group of figures.
 *
 * Every figure is a median: a figure's loop is cut into timed batches of
 * many round trips (or messages), each batch gives one per-round-trip
 * value, and the figure is the median of those values over the batches.
 */
#ifndef AOKI_IPC_BENCH_H
#define AOKI_IPC_BENCH_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"
#include "clock.h"	/* util_now_ns: lib/util */

/* Payload of every message: the inline payload of one aoki slot. */
#define BENCH_MSG_BYTES AOKI_MSG_PAYLOAD

struct ipc_bench_cfg {
	int quick;		/* --quick: a smoke run of a few seconds */
	int contended;		/* --contended: a CPU hog on every CPU (bench.h) */
	unsigned hogs;		/* how many were started */
	int cli_cpu;		/* client CPU (default 0) */
	int srv_cpu;		/* server CPU for cross-core figures (default 1) */
	unsigned batches;	/* timed batches per figure (odd) */
	unsigned iters_fast;	/* round trips per batch, sub-microsecond figures */
	unsigned iters_slow;	/* round trips per batch, kernel-path figures */
	unsigned sleep_samples;	/* calls timed one by one for call_sleep_rtt_ns */
	unsigned sleep_gap_us;	/* pause before each of those calls */
	unsigned sys_window;	/* calls in the syscall-counting window */
	unsigned async_slots;	/* channel ring size for the async figure */
	unsigned async_batch;	/* sqes per aoki_submit */
	uint64_t stream_msgs;	/* messages per batch, throughput figures */
	unsigned idle_clients;	/* connected idle channels for idle_cpu_pct */
	char dir[64];		/* private directory for the ports */
};

/* ------------------------------------------------------------ helpers */

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Give up a spin after this long: the peer died or never started. */
#define BENCH_SPIN_LIMIT_NS 5000000000ll

/*
 * Spin until *@word == @want.  Acquire: pairs with the peer's release
 * store of @want, so what the peer wrote before it is visible after.
 * Returns 0, or -ETIMEDOUT after BENCH_SPIN_LIMIT_NS (checked every
 * 64 Ki polls, off the fast path).
 */
static inline int bench_spin_until(_Atomic uint64_t *word, uint64_t want)
{
	int64_t start = 0;

	for (uint32_t i = 1;; i++) {
		if (atomic_load_explicit(word, memory_order_acquire) == want)
			return 0;
		bench_relax();
		if (!(i & 0xffff)) {
			if (!start)
				start = util_now_ns();
			else if (util_now_ns() - start > BENCH_SPIN_LIMIT_NS)
				return -ETIMEDOUT;
		}
	}
}

int bench_pin(int cpu);
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);
double bench_median(const double *v, unsigned n);
int bench_read_full(int fd, void *buf, size_t len);
int bench_write_full(int fd, const void *buf, size_t len);
int bench_futex_wait(_Atomic uint32_t *word, uint32_t expected);
int bench_futex_wake(_Atomic uint32_t *word);
void bench_port(const struct ipc_bench_cfg *cfg, const char *name, char *buf, size_t cap);

/* Fork a process pinned to @cpu that runs @fn(@arg) and exits. */
int bench_peer_spawn(int cpu, void (*fn)(void *), void *arg, pid_t *pid);
/* SIGKILL and reap a peer (or an echo server). */
void bench_peer_kill(pid_t pid);

/* A batch runs @iters round trips (or messages); 0 or -errno. */
typedef int (*bench_batch_fn)(void *ctx, uint64_t iters);

/*
 * One figure measured by timed batches, and what it holds until
 * bench_fig_teardown: a server process, descriptors, shared memory, a
 * channel.  Set up by the fig_*() functions below.
 */
struct bench_fig {
	const char *name;
	bench_batch_fn batch;
	void *ctx;		/* the batch's argument */
	uint64_t iters;		/* iterations per timed batch */
	pid_t peer;		/* the server process, or 0 */
	int park;		/* the peer spins forever: SIGSTOP it between its batches */
	int echo;		/* the peer is an echo server (echo_server_stop) */
	int fds[4];		/* closed at teardown; -1: none */
	void *shm;		/* MAP_SHARED memory unmapped at teardown */
	size_t shm_size;
	struct aoki_chan *ch;	/* closed at teardown */
	void *heap;		/* freed at teardown */
	double value;		/* result: median ns per iteration */
};

void bench_fig_init(struct bench_fig *f, const char *name);
void bench_fig_teardown(struct bench_fig *f);

/*
 * bench_run_figs - measure @n set-up figures with interleaved batches:
 * one warm-up round, then cfg->batches rounds in which each figure runs
 * a short untimed warm-up and one timed batch.  Interleaving exposes
 * every figure of a group to the same moments of a noisy machine, so
 * that their ratios hold even when the absolute numbers drift.  Stores
 * each figure's median in f->value.  Between rounds, the progress line
 * (on a terminal only) shows "@step: round i/n".  Returns 0 or the first
 * -errno.
 */
int bench_run_figs(const struct ipc_bench_cfg *cfg, const char *step, struct bench_fig *figs,
		   unsigned n);

/* -------------------------------------------- the groups of figures */

/* Raw cache-line ping-pong; kernel baselines (ipc_kernel.c). */
int fig_pingpong(const struct ipc_bench_cfg *cfg, struct bench_fig *f);
int fig_pipe(const struct ipc_bench_cfg *cfg, int srv_cpu, struct bench_fig *f);
int fig_uds(const struct ipc_bench_cfg *cfg, struct bench_fig *f);
int fig_futex(const struct ipc_bench_cfg *cfg, struct bench_fig *f);
int fig_eventfd(const struct ipc_bench_cfg *cfg, struct bench_fig *f);
int fig_ck_ring(const struct ipc_bench_cfg *cfg, struct bench_fig *f);	/* ns per message */

/* Aoki IPC (ipc_aoki.c). */
int fig_call(const struct ipc_bench_cfg *cfg, int srv_cpu, struct bench_fig *f);
int fig_async(const struct ipc_bench_cfg *cfg, struct bench_fig *f);	/* ns per message */
int bench_call_sleep(const struct ipc_bench_cfg *cfg, double *rtt_ns);
int bench_idle_cpu(const struct ipc_bench_cfg *cfg, double *pct);

/* System calls per request under load, counted with ptrace (ipc_sys.c). */
struct bench_sys_result {
	double per_call;	/* total syscalls / requests in the window */
	uint64_t calls;		/* requests in the window */
	uint64_t client;	/* syscall entries by the client's threads */
	uint64_t server;	/* syscall entries by the server's threads */
	char detail[160];	/* the syscalls seen, by name, for the table */
};
int bench_syscalls(const struct ipc_bench_cfg *cfg, struct bench_sys_result *out);

#endif
