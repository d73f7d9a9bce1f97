/* SPDX-License-Identifier: MIT */
/*
 * ipc-server-death: the server process dies (SIGKILL) or exits while
 * clients wait on it.  A blocked aoki_call, a blocked aoki_reap, and a
 * reap with async requests in flight all return -ECONNRESET promptly
 * (< 1 s after the kill), and so does every later use of the channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "ipc_util.h"

struct killer {
	pid_t pid;
	int sig;
	unsigned delay_ms;
	_Atomic int64_t at;	/* when the signal was sent */
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	t_sleep_ms(k->delay_ms);
	atomic_store(&k->at, t_now_ns());
	CHECK_EQ(kill(k->pid, k->sig), 0);
	return NULL;
}

/* Start a thread that sends @sig to @pid after @ms. */
static void kill_later(struct killer *k, pthread_t *th, pid_t pid, int sig, unsigned ms)
{
	k->pid = pid;
	k->sig = sig;
	k->delay_ms = ms;
	atomic_store(&k->at, 0);
	CHECK_EQ(pthread_create(th, NULL, killer_main, k), 0);
}

/* Time from the kill to now, checked below a second. */
static void prompt(struct killer *k, const char *what)
{
	int64_t at = atomic_load(&k->at), dt = t_now_ns() - at;

	CHECK(at != 0);
	printf("note: %s noticed the server's death after %.1f ms\n", what, dt / 1e6);
	CHECK(dt < 1000000000);
}

/* This test is about a channel that does not outlive its server: with
 * reconnection off, the server's death is -ECONNRESET at once.  (The
 * reconnecting default is tests/ipc-resume.c.) */
static const struct aoki_chan_opts no_reconnect = { .reconnect_ns = -1 };

/* Every call fails with @err: -ECONNRESET after a crash, -ESHUTDOWN after
 * a clean stop (the server said goodbye). */
static void everything_fails(struct aoki_chan *ch, int err)
{
	struct aoki_cqe cqe;
	uint32_t id;
	void *mem;
	int64_t t0 = t_now_ns();

	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "x", 1, NULL, 0, NULL), err);
	CHECK_EQ(aoki_submit(ch, &(struct aoki_sqe){ .op = ECHO_OP_ECHO }, 1), err);
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, -1), err);
	CHECK_EQ(aoki_grant_create(ch, 64, AOKI_GRANT_READ, &id, &mem), err);
	CHECK(t_now_ns() - t0 < 500000000);
	aoki_close(ch);
}

int main(void)
{
	struct killer k;
	struct aoki_chan *ch, *ch2;
	struct aoki_cqe cqes[16];
	pthread_t th;
	pid_t srv;
	int status, r;
	uint32_t us = 5000000;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();

	/* 1. SIGKILL during a 5 s ECHO_OP_SLEEP call. */
	srv = t_echo_spawn("death1");
	CHECK_EQ(aoki_connect("death1", &no_reconnect, &ch), 0);
	CHECK_EQ(aoki_connect("death1", &no_reconnect, &ch2), 0);
	CHECK(t_echo_ok(ch, 1));
	kill_later(&k, &th, srv, SIGKILL, 100);
	CHECK_EQ(aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL), -ECONNRESET);
	prompt(&k, "a blocked aoki_call");
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(waitpid(srv, &status, 0), srv);
	CHECK(WIFSIGNALED(status));
	everything_fails(ch, -ECONNRESET);
	/* 2. A channel that was idle: a waiting reap notices too. */
	{
		int64_t t0 = t_now_ns();

		CHECK_EQ(aoki_reap(ch2, cqes, 16, 1, -1), -ECONNRESET);
		CHECK(t_now_ns() - t0 < 1000000000);
	}
	everything_fails(ch2, -ECONNRESET);

	/* 3. Async requests in flight: those completed before the kill are
	 * reaped intact, then -ECONNRESET. */
	srv = t_echo_spawn("death2");
	CHECK_EQ(aoki_connect("death2", &no_reconnect, &ch), 0);
	{
		uint32_t step = 40000;
		struct aoki_sqe s[16];
		int got = 0;

		for (unsigned i = 0; i < 16; i++)
			s[i] = (struct aoki_sqe){ .op = ECHO_OP_SLEEP, .tag = 100 + i,
						  .len = sizeof(step), .data = &step };
		CHECK_EQ(aoki_submit(ch, s, 16), 16);
		kill_later(&k, &th, srv, SIGKILL, 150);
		for (;;) {
			r = aoki_reap(ch, cqes, 16, 16, -1);
			if (r < 0)
				break;
			for (int i = 0; i < r; i++) {
				CHECK_EQ(cqes[i].tag, 100 + (unsigned)got + (unsigned)i);
				CHECK_EQ(cqes[i].status, 0);
			}
			got += r;
			CHECK(got < 16);	/* 16 x 40 ms cannot end in 150 ms */
		}
		CHECK_EQ(r, -ECONNRESET);
		prompt(&k, "a blocked aoki_reap");
		CHECK_EQ(pthread_join(th, NULL), 0);
		printf("note: %d of 16 async sleeps completed before the kill\n", got);
	}
	CHECK_EQ(waitpid(srv, &status, 0), srv);
	everything_fails(ch, -ECONNRESET);

	/* 4. A clean stop (SIGTERM: aoki_server_destroy) during a call. */
	srv = t_echo_spawn("death3");
	CHECK_EQ(aoki_connect("death3", &no_reconnect, &ch), 0);
	us = 300000;
	kill_later(&k, &th, srv, SIGTERM, 50);
	r = aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
	/* The sleep may finish before the worker stops; either way the
	 * call returns, and the channel is then dead. */
	CHECK(r == 0 || r == -ESHUTDOWN);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(waitpid(srv, &status, 0), srv);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	everything_fails(ch, -ESHUTDOWN);

	/* 5. The port is free again: a new server, a new channel. */
	srv = t_echo_spawn("death1");
	CHECK_EQ(aoki_connect("death1", &no_reconnect, &ch), 0);
	CHECK(t_echo_ok(ch, 7));
	aoki_close(ch);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
