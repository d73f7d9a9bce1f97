/* SPDX-License-Identifier: MIT */
/*
 * ipc-resume: a server killed with SIGKILL and started again resumes its
 * clients' channels, and the clients see a delay, not an error:
 *   1. a blocked aoki_call, whose request the dead server had taken, gets
 *      its reply from the new server (run again);
 *   2. async requests in flight are all reaped once, with the right tags,
 *      including those completed before the kill;
 *   3. grants are handed over again under the same ids;
 *   4. an epoll user is woken by the crash, and aoki_chan_arm reconnects;
 *   5. a thread calling without pause survives ten kills, every reply
 *      checked;
 *   6. a server that never comes back: -ETIMEDOUT after reconnect_ns, and
 *      from then on;
 *   7. a server that comes back speaking another protocol version:
 *      -EPROTO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ipc_util.h"

struct restarter {
	const char *port;
	pid_t victim;
	unsigned kill_after_ms, down_ms;
	pid_t next;		/* the server started after the kill */
};

/* Kill the server after a while, keep it down for a while, start anew. */
static void *restarter_main(void *arg)
{
	struct restarter *r = arg;

	t_sleep_ms(r->kill_after_ms);
	t_kill9(r->victim);
	t_sleep_ms(r->down_ms);
	r->next = t_echo_spawn(r->port);
	return NULL;
}

static pid_t crash_during(const char *port, pid_t victim, unsigned kill_after_ms,
			  unsigned down_ms, pthread_t *th, struct restarter *r)
{
	*r = (struct restarter){ .port = port, .victim = victim,
				 .kill_after_ms = kill_after_ms, .down_ms = down_ms };
	CHECK_EQ(pthread_create(th, NULL, restarter_main, r), 0);
	return 0;
}

static void blocked_call(void)
{
	struct restarter r;
	struct aoki_chan *ch;
	pthread_t th;
	uint32_t us = 300000;
	int64_t t0;

	pid_t srv = t_echo_spawn("res1");
	CHECK_EQ(aoki_connect("res1", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	/* The 300 ms sleep is taken by the server, which dies 100 ms in. */
	crash_during("res1", srv, 100, 20, &th, &r);
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* It ran again in full on the new server: 100 + 20 + 300 ms. */
	CHECK(t_now_ns() - t0 >= 400000000);
	printf("note: a call taken by the dead server returned after %.0f ms\n",
	       (t_now_ns() - t0) / 1e6);
	CHECK(t_echo_ok(ch, 2));
	{
		uint32_t pid = 0;

		CHECK_EQ(aoki_call(ch, ECHO_OP_PID, NULL, 0, &pid, sizeof(pid), NULL), 0);
		CHECK_EQ(pid, (uint32_t)r.next);
	}
	aoki_close(ch);
	t_kill9(r.next);
}

static void async_in_flight(void)
{
	enum { N = 24 };
	struct restarter r;
	struct aoki_chan *ch;
	struct aoki_cqe cqes[N];
	struct aoki_sqe s[N];
	uint32_t step = 20000;
	int seen[N] = { 0 }, got = 0;
	pthread_t th;

	pid_t srv = t_echo_spawn("res2");
	CHECK_EQ(aoki_connect("res2", &(struct aoki_chan_opts){ .slots = 32 }, &ch), 0);
	for (unsigned i = 0; i < N; i++)
		s[i] = (struct aoki_sqe){ .op = ECHO_OP_SLEEP, .tag = 1000 + i,
					  .len = sizeof(step), .data = &step };
	CHECK_EQ(aoki_submit(ch, s, N), N);
	/* 24 x 20 ms in order: about 7 done when it dies. */
	crash_during("res2", srv, 150, 10, &th, &r);
	while (got < N) {
		int n = aoki_reap(ch, cqes, N, 1, 5000000000ll);

		CHECK(n > 0);
		for (int i = 0; i < n; i++) {
			uint64_t k = cqes[i].tag - 1000;

			CHECK(k < N);
			CHECK_EQ(cqes[i].status, 0);
			CHECK_EQ(seen[k], 0);	/* exactly once */
			seen[k] = 1;
		}
		got += n;
	}
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(aoki_reap(ch, cqes, N, 0, 0), 0);
	aoki_close(ch);
	t_kill9(r.next);
}

static void grants_restored(void)
{
	struct aoki_chan *ch;
	struct aoki_grant_ref ref;
	uint32_t id, id2;
	uint8_t *mem, *mem2;
	uint64_t sum = 0, rep = 0;
	size_t len;

	pid_t srv = t_echo_spawn("res3");
	CHECK_EQ(aoki_connect("res3", NULL, &ch), 0);
	CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &id, (void **)&mem), 0);
	CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &id2, (void **)&mem2), 0);
	CHECK_EQ(aoki_grant_revoke(ch, id), 0);	/* a hole below id2 */
	for (unsigned i = 0; i < 4096; i++) {
		mem2[i] = (uint8_t)(i * 7);
		sum += mem2[i];
	}
	t_kill9(srv);
	srv = t_echo_spawn("res3");
	ref = (struct aoki_grant_ref){ .grant = id2, .offset = 0, .length = 4096 };
	CHECK_EQ(aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), &rep, sizeof(rep), &len), 0);
	CHECK_EQ(rep, sum);
	ref.grant = id;	/* revoked before the crash: still unknown */
	CHECK_EQ(aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), &rep, sizeof(rep), &len),
		 -ENOENT);
	CHECK_EQ(aoki_grant_revoke(ch, id2), 0);
	aoki_close(ch);
	t_kill9(srv);
}

static void epoll_user(void)
{
	struct aoki_chan *ch;
	struct aoki_cqe cqe;
	uint32_t us = 200000;
	struct aoki_sqe s = { .op = ECHO_OP_SLEEP, .tag = 5, .len = sizeof(us), .data = &us };
	struct pollfd p;
	int fd, n = 0;

	pid_t srv = t_echo_spawn("res4");
	CHECK_EQ(aoki_connect("res4", NULL, &ch), 0);
	fd = aoki_chan_eventfd(ch);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_submit(ch, &s, 1), 1);
	CHECK_EQ(aoki_chan_arm(ch), 0);
	t_kill9(srv);
	/* The crash alone makes the descriptor readable. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 2000), 1);
	srv = t_echo_spawn("res4");
	/* An event loop: arm (which reconnects), sleep, reap. */
	while (n == 0) {
		if (aoki_chan_arm(ch) == 0)
			CHECK_EQ(poll(&p, 1, 5000), 1);
		n = aoki_reap(ch, &cqe, 1, 0, 0);
		CHECK(n >= 0);
	}
	CHECK_EQ(cqe.tag, 5);
	CHECK_EQ(cqe.status, 0);
	CHECK_EQ(aoki_chan_eventfd(ch), fd);	/* the same descriptor throughout */
	aoki_close(ch);
	t_kill9(srv);
}

struct caller {
	struct aoki_chan *ch;
	_Atomic int stop, failed;
	uint64_t calls;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;

	while (!atomic_load(&c->stop)) {
		T_THREAD_CHECK(c->failed, t_echo_ok(c->ch, c->calls));
		c->calls++;
	}
	return NULL;
}

static void many_kills(void)
{
	struct caller c = { 0 };
	pthread_t th;
	pid_t srv = t_echo_spawn("res5");

	CHECK_EQ(aoki_connect("res5", NULL, &c.ch), 0);
	CHECK_EQ(pthread_create(&th, NULL, caller_main, &c), 0);
	for (int k = 0; k < 10; k++) {
		t_sleep_ms(30);
		t_kill9(srv);
		srv = t_echo_spawn("res5");
	}
	t_sleep_ms(30);
	atomic_store(&c.stop, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(atomic_load(&c.failed), 0);
	printf("note: %llu calls across 10 kills, every reply checked\n",
	       (unsigned long long)c.calls);
	CHECK(c.calls > 10);
	aoki_close(c.ch);
	t_kill9(srv);
}

static void never_back(void)
{
	struct aoki_chan *ch;
	int64_t t0;

	pid_t srv = t_echo_spawn("res6");
	CHECK_EQ(aoki_connect("res6", &(struct aoki_chan_opts){ .reconnect_ns = 200000000 }, &ch),
		 0);
	CHECK(t_echo_ok(ch, 1));
	t_kill9(srv);
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ETIMEDOUT);
	CHECK(t_now_ns() - t0 >= 200000000);
	CHECK(t_now_ns() - t0 < 2000000000);
	/* Lost for good, at once. */
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ETIMEDOUT);
	CHECK_EQ(aoki_submit(ch, &(struct aoki_sqe){ .op = ECHO_OP_ECHO }, 1), -ETIMEDOUT);
	CHECK(t_now_ns() - t0 < 100000000);
	aoki_close(ch);
}

/* Accept one connection on @path and answer in protocol version 99. */
static void *future_server(void *arg)
{
	const char *path = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t msg[32];	/* struct ctl_msg */
	int l, c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(l >= 0);
	CHECK_EQ(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(l, 4), 0);
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	CHECK_EQ(recv(c, msg, sizeof(msg), MSG_WAITALL), (ssize_t)sizeof(msg));
	msg[4] = 99;	/* the version field */
	msg[6] = 2;	/* CTL_HELLO_ACK */
	CHECK_EQ(send(c, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t)sizeof(msg));
	t_sleep_ms(200);
	close(c);
	close(l);
	return NULL;
}

static void other_version(void)
{
	struct aoki_chan *ch;
	char path[108];
	pthread_t th;

	pid_t srv = t_echo_spawn("res7");
	CHECK_EQ(aoki_connect("res7", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	t_kill9(srv);
	CHECK(aoki_port_path("res7", path, sizeof(path)) > 0);
	CHECK_EQ(pthread_create(&th, NULL, future_server, path), 0);
	t_sleep_ms(50);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -EPROTO);
	CHECK_EQ(pthread_join(th, NULL), 0);
	aoki_close(ch);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	signal(SIGPIPE, SIG_IGN);
	t_run_dir();
	blocked_call();
	async_in_flight();
	grants_restored();
	epoll_user();
	many_kills();
	never_back();
	other_version();
	return 0;
}
