/* SPDX-License-Identifier: MIT */
/*
 * ipc-admit-flood: connections that take a server's places without
 * becoming channels (issue 12, item 4).
 *   1. EMFILE: a server in a child process whose descriptors are all in
 *      use (RLIMIT_NOFILE lowered, the rest filled), with 20 connections
 *      waiting in its backlog: over 1 s it uses little CPU (the old
 *      acceptor spun on a failing accept4 at 100%), and once descriptors
 *      are free again it serves a new client.
 *   2. The access policy is asked at accept time: a refused peer is
 *      answered (-EACCES) without sending anything, and nothing it sends
 *      is looked at.
 *   3. A connection that does not complete its HELLO within
 *      cfg.hello_timeout_ms (300 ms here) is answered -ETIMEDOUT and
 *      closed: silent, or stuck half-way through its message.
 *   4. Per-uid cap (as root: a child that switches to uid 65534): with
 *      max_channels 8 the default cap is 2 for a uid other than root and
 *      the server's own.  The third channel, and a bare connection past
 *      the cap, are refused (-EUSERS); root still gets the rest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/ctl.h"

#define NOBODY 65534

static int raw_connect(const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * What the server says on @sock within @ms without our sending anything
 * more: the status of its HELLO_ACK, 1 if it only hung up, 0 if nothing
 * came.  *@after_ms: when.
 */
static int answer(int sock, unsigned ms, long *after_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int64_t t0 = t_now_ns();
	struct ctl_msg m;
	int fds[CTL_MAX_FDS];
	unsigned nfds = 0;
	int r;

	r = poll(&p, 1, (int)ms);
	if (after_ms)
		*after_ms = (long)((t_now_ns() - t0) / 1000000);
	if (r == 0)
		return 0;
	r = ctl_recv(sock, &m, fds, &nfds, 100);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == -ECONNRESET)
		return 1;
	CHECK_EQ(r, 0);
	CHECK_EQ(m.type, CTL_HELLO_ACK);
	return m.status;
}

/* ---------------------------------------------------------------- EMFILE */

/* utime + stime of @pid, in ms. */
static long cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	p = strrchr(buf, ')');
	CHECK(p != NULL);
	/* After the name: state, then fields 4..13, then utime, stime. */
	CHECK_EQ(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
		 2);
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static void emfile_child(int cmd, int ready)
{
	struct rlimit rl = { 64, 64 };
	struct echo_state st;
	int filler[64], n = 0;
	char c;

	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	t_echo_inproc("emfile", 1, &st, NULL, NULL);
	while (n < 64 && (filler[n] = dup(0)) >= 0)
		n++;
	CHECK(n > 0 && n < 64);
	CHECK_EQ(write(ready, "r", 1), 1);
	CHECK_EQ(read(cmd, &c, 1), 1);	/* "free some descriptors" */
	for (int i = 0; i < n; i++)
		close(filler[i]);
	CHECK_EQ(write(ready, "f", 1), 1);
	CHECK_EQ(read(cmd, &c, 1), 1);	/* "exit" */
	_exit(0);
}

static void emfile(void)
{
	int cmd[2], ready[2], raw[20], status;
	long cpu0, cpu, ms;
	struct aoki_chan *ch;
	int64_t end;
	pid_t pid;
	char c;
	int r;

	CHECK_EQ(pipe(cmd), 0);
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(cmd[1]);
		close(ready[0]);
		emfile_child(cmd[0], ready[1]);
	}
	t_child_track(pid, 0);
	close(cmd[0]);
	close(ready[1]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	for (int i = 0; i < 20; i++)
		raw[i] = raw_connect("emfile");
	t_sleep_ms(100);	/* the server has tried and failed to accept */
	cpu0 = cpu_ms(pid);
	t_sleep_ms(1000);
	cpu = cpu_ms(pid) - cpu0;
	printf("note: EMFILE with 20 connections waiting: the server used %ld ms of CPU in 1 s\n",
	       cpu);
	CHECK(cpu < 200);
	/* Descriptors free again: a new client is served. */
	CHECK_EQ(write(cmd[1], "f", 1), 1);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	for (int i = 0; i < 20; i++)
		close(raw[i]);
	end = t_now_ns() + 3000000000ll;
	while ((r = aoki_connect("emfile", NULL, &ch)) != 0 && t_now_ns() < end)
		t_sleep_ms(20);
	CHECK_EQ(r, 0);
	ms = (long)((t_now_ns() - (end - 3000000000ll)) / 1000000);
	CHECK(t_echo_ok(ch, 1));
	printf("note: descriptors freed: a new client was served after %ld ms\n", ms);
	aoki_close(ch);
	CHECK_EQ(write(cmd[1], "x", 1), 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	t_child_track(0, pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(cmd[1]);
	close(ready[0]);
}

/* -------------------------------------------------------------- policy */

static _Atomic int policy_calls;

static int refuse_all(const struct aoki_peer *peer, void *arg)
{
	(void)peer;
	(void)arg;
	atomic_fetch_add(&policy_calls, 1);
	return -EACCES;
}

static void policy_at_accept(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("policy", 1, &st, refuse_all, NULL);
	struct aoki_chan *ch;
	long ms;
	int sock = raw_connect("policy");

	/* Nothing sent: the answer comes anyway. */
	CHECK_EQ(answer(sock, 1000, &ms), -EACCES);
	printf("note: a refused peer that sent nothing was answered after %ld ms\n", ms);
	CHECK_EQ(atomic_load(&policy_calls), 1);
	close(sock);
	/* The library's client gets the same. */
	CHECK_EQ(aoki_connect("policy", NULL, &ch), -EACCES);
	CHECK_EQ(atomic_load(&policy_calls), 2);
	CHECK_EQ(t_stat(srv, T_ACCEPTED), 0);
	aoki_server_destroy(srv);
}

/* ------------------------------------------------------------- deadline */

static void hello_deadline(void)
{
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = "deadline", .handler = echo_handler, .handler_arg = &st, .quiet = 1,
		.hello_timeout_ms = 300,
	};
	struct ctl_msg m = { .magic = CTL_MAGIC, .version = AOKI_IPC_VERSION, .type = CTL_HELLO };
	struct aoki_server *srv;
	struct aoki_chan *ch;
	int silent, partial;
	long ms;

	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	silent = raw_connect("deadline");
	partial = raw_connect("deadline");
	CHECK_EQ(write(partial, &m, 10), 10);
	/* Meanwhile a real client gets in, and keeps its channel. */
	CHECK_EQ(aoki_connect("deadline", NULL, &ch), 0);
	CHECK_EQ(answer(silent, 2000, &ms), -ETIMEDOUT);
	printf("note: a connection without HELLO was closed after %ld ms (deadline 300)\n", ms);
	CHECK(ms >= 200 && ms < 1500);
	CHECK_EQ(answer(partial, 1000, NULL), -ETIMEDOUT);
	CHECK_EQ(answer(silent, 1000, NULL), 1);	/* then the hang-up */
	t_sleep_ms(400);
	CHECK(t_echo_ok(ch, 1));	/* an attached channel has no deadline */
	CHECK(t_stat(srv, T_REFUSED) >= 2);
	close(silent);
	close(partial);
	aoki_close(ch);
	aoki_server_destroy(srv);
}

/* -------------------------------------------------------------- per uid */

static int accept_all(const struct aoki_peer *peer, void *arg)
{
	(void)peer;
	(void)arg;
	return 0;
}

/* As uid 65534: three channels, then a bare connection; report. */
static void foreign_child(int report)
{
	struct aoki_chan *ch[3];
	int r[4];

	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(3);
	for (int i = 0; i < 3; i++)
		r[i] = aoki_connect("peruid", NULL, &ch[i]);
	r[3] = answer(raw_connect("peruid"), 1000, NULL);
	CHECK_EQ(write(report, r, sizeof(r)), (ssize_t)sizeof(r));
	pause();	/* keep the channels until killed */
	_exit(0);
}

static void per_uid(void)
{
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = "peruid", .handler = echo_handler, .handler_arg = &st, .quiet = 1,
		.max_channels = 8, .policy = accept_all,
	};
	struct aoki_server *srv;
	struct aoki_chan *mine[6];
	char path[108];
	int p[2], r[4];
	pid_t pid;

	if (geteuid() != 0) {
		printf("note: per-uid cap not checked: needs root to play another uid\n");
		return;
	}
	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	/* Let uid 65534 reach the socket. */
	CHECK(aoki_port_path("peruid", path, sizeof(path)) > 0);
	CHECK_EQ(chmod(getenv("AOKI_RUN_DIR"), 0755), 0);
	CHECK_EQ(chmod(path, 0666), 0);
	CHECK_EQ(pipe(p), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		foreign_child(p[1]);
	}
	t_child_track(pid, 0);
	close(p[1]);
	CHECK_EQ(read(p[0], r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	printf("note: uid %d, cap 2 of 8: channels %d %d %d, a bare connection %d\n", NOBODY,
	       r[0], r[1], r[2], r[3]);
	CHECK_EQ(r[0], 0);
	CHECK_EQ(r[1], 0);
	/* Refused at accept; -ECONNRESET if the close won over the HELLO. */
	CHECK(r[2] == -EUSERS || r[2] == -ECONNRESET);
	CHECK(r[3] == -EUSERS || r[3] == 1);
	/* Root (and the server's own uid) is not capped: the other 6. */
	for (int i = 0; i < 6; i++)
		CHECK_EQ(aoki_connect("peruid", NULL, &mine[i]), 0);
	CHECK(t_wait_stat(srv, T_CHANNELS, 8, 2000));
	t_kill9(pid);
	t_child_track(0, pid);
	for (int i = 0; i < 6; i++)
		aoki_close(mine[i]);
	aoki_server_destroy(srv);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();
	emfile();	/* first: forks while this process has one thread */
	per_uid();
	policy_at_accept();
	hello_deadline();
	return T_EXIT_PASS;
}
