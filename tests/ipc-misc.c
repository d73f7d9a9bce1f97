/* SPDX-License-Identifier: MIT */
/*
 * ipc-misc: the edges of the API.
 *   - access policy hook: refusal (-EACCES, or any -errno) reaches
 *     aoki_connect; the hook sees the right credentials;
 *   - max_channels -> -EUSERS; a closed channel frees its place; at most
 *     max_channels connections may wait without a HELLO;
 *   - ports: missing -> -ENOENT, not a listener -> -ECONNREFUSED, two
 *     servers on one port -> -EADDRINUSE, a stale socket file is taken
 *     over, an adopted listening socket outlives its server (restart);
 *   - a fake server: other protocol version -> -EPROTO, wrong reply ->
 *     -EBADMSG, hang-up -> -ECONNRESET;
 *   - argument checking everywhere -> -EINVAL / -EMSGSIZE /
 *     -ENAMETOOLONG; a short reply buffer truncates, never overflows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/ctl.h"

/* ------------------------------------------------------------- policy */

struct policy_state {
	_Atomic int verdict;
	_Atomic int calls;
	_Atomic pid_t pid;
	_Atomic uid_t uid;
};

static int policy(const struct aoki_peer *peer, void *arg)
{
	struct policy_state *p = arg;

	atomic_store(&p->pid, peer->pid);
	atomic_store(&p->uid, peer->uid);
	atomic_fetch_add(&p->calls, 1);
	return atomic_load(&p->verdict);
}

static void test_policy(void)
{
	struct policy_state ps = { 0 };
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("pol", 1, &st, policy, &ps);
	struct aoki_chan *ch = NULL;

	atomic_store(&ps.verdict, -EACCES);
	CHECK_EQ(aoki_connect("pol", NULL, &ch), -EACCES);
	CHECK_EQ(atomic_load(&ps.calls), 1);
	CHECK_EQ(atomic_load(&ps.pid), getpid());
	CHECK_EQ(atomic_load(&ps.uid), geteuid());
	CHECK_EQ(t_stat(srv, T_REFUSED), 1);
	CHECK_EQ(t_stat(srv, T_ACCEPTED), 0);
	atomic_store(&ps.verdict, -EPERM);
	CHECK_EQ(aoki_connect("pol", NULL, &ch), -EPERM);
	CHECK_EQ(t_stat(srv, T_REFUSED), 2);
	atomic_store(&ps.verdict, 0);
	CHECK_EQ(aoki_connect("pol", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	CHECK(t_wait_stat(srv, T_ACCEPTED, 1, 2000));
	/* The policy is asked at admission only. */
	atomic_store(&ps.verdict, -EACCES);
	CHECK(t_echo_ok(ch, 2));
	aoki_close(ch);
	CHECK_EQ(atomic_load(&ps.calls), 3);
	aoki_server_destroy(srv);
}

/* A bare connection to @port that sends nothing. */
static int raw_connect(const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_max_channels(void)
{
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = "maxc", .listen_fd = -1, .handler = echo_handler, .handler_arg = &st,
		.max_channels = 2, .quiet = 1,
	};
	struct aoki_server *srv;
	struct aoki_chan *a, *b, *c;

	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	CHECK_EQ(aoki_connect("maxc", NULL, &a), 0);
	CHECK_EQ(aoki_connect("maxc", NULL, &b), 0);
	CHECK_EQ(aoki_connect("maxc", NULL, &c), -EUSERS);
	CHECK(t_echo_ok(a, 1) && t_echo_ok(b, 2));
	aoki_close(a);
	CHECK(t_wait_stat(srv, T_CHANNELS, 1, 2000));
	CHECK_EQ(aoki_connect("maxc", NULL, &c), 0);
	CHECK(t_echo_ok(c, 3) && t_echo_ok(b, 4));
	aoki_close(b);
	aoki_close(c);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));

	/* Connections that never send a HELLO: at most max_channels wait;
	 * the next is closed at once, and a place frees when one hangs up. */
	int idle1 = raw_connect("maxc"), idle2 = raw_connect("maxc"), extra;
	char byte;

	extra = raw_connect("maxc");
	CHECK_EQ(read(extra, &byte, 1), 0);		/* closed by the server */
	close(extra);
	CHECK_EQ(aoki_connect("maxc", NULL, &c), -ECONNRESET);
	close(idle1);
	for (int tries = 0; tries < 200 && aoki_connect("maxc", NULL, &c) != 0; tries++)
		t_sleep_ms(10);
	CHECK(t_echo_ok(c, 5));
	aoki_close(c);
	close(idle2);
	aoki_server_destroy(srv);
}

/* -------------------------------------------------------------- ports */

static int bind_listen(const char *path, int do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		CHECK_EQ(listen(fd, 16), 0);
	return fd;
}

static void test_ports(const char *dir)
{
	struct echo_state st, st2;
	struct aoki_server_config cfg = {
		.port = "dup", .listen_fd = -1, .handler = echo_handler, .handler_arg = &st2,
		.quiet = 1,
	};
	struct aoki_server *srv, *srv2 = NULL;
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	struct aoki_chan *ch;
	char path[256];
	pid_t pid;
	int fd;

	CHECK_EQ(aoki_connect("missing", NULL, &ch), -ENOENT);
	CHECK_EQ(aoki_connect("/nonexistent-dir/x.sock", NULL, &ch), -ENOENT);
	/* A file that is not a socket, a socket nobody listens on. */
	snprintf(path, sizeof(path), "%s/file.sock", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(aoki_connect("file", NULL, &ch), -ECONNREFUSED);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	close(bind_listen(path, 0));
	CHECK_EQ(aoki_connect("stale", NULL, &ch), -ECONNREFUSED);
	/* A server takes a stale socket file over. */
	srv = t_echo_inproc("stale", 1, &st, NULL, NULL);
	CHECK_EQ(aoki_connect("stale", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	aoki_close(ch);
	aoki_server_destroy(srv);
	/* ...and removes its socket file when destroyed. */
	CHECK_EQ(aoki_connect("stale", NULL, &ch), -ENOENT);

	/* Two servers on one port: the second is refused, in this process
	 * and in another one; the first keeps serving. */
	srv = t_echo_inproc("dup", 1, &st, NULL, NULL);
	CHECK_EQ(aoki_server_create(&cfg, &srv2), -EADDRINUSE);
	CHECK_EQ(echo_server_spawn("dup", &eo, &pid), -EIO);
	CHECK_EQ(aoki_connect("dup", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 2));
	aoki_close(ch);
	aoki_server_destroy(srv);

	/* An adopted listening socket (socket activation) outlives the
	 * server: a second server adopts it and clients connect again. */
	snprintf(path, sizeof(path), "%s/adopt.sock", dir);
	fd = bind_listen(path, 1);
	for (int gen = 0; gen < 2; gen++) {
		cfg.port = NULL;
		cfg.listen_fd = fd;
		memset(&st2, 0, sizeof(st2));
		CHECK_EQ(aoki_server_create(&cfg, &srv2), 0);
		CHECK_EQ(aoki_server_start(srv2), 0);
		/* Reconnection off: the next server is another life. */
		CHECK_EQ(aoki_connect(path, &(struct aoki_chan_opts){ .reconnect_ns = -1 }, &ch), 0);
		CHECK(t_echo_ok(ch, 10 + (uint64_t)gen));
		aoki_server_destroy(srv2);
		/* The channel sees the server go, for good: it said so. */
		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ESHUTDOWN);
		aoki_close(ch);
		CHECK(fcntl(fd, F_GETFD) >= 0);	/* not ours to close */
	}
	close(fd);
}

/* --------------------------------------------------------- fake server */

enum fake_mode { FAKE_VERSION, FAKE_TYPE, FAKE_HANGUP };

struct fake {
	int listen_fd;
	enum fake_mode mode;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct ctl_msg m;
	int fds[CTL_MAX_FDS];
	unsigned nfds;
	int c = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return NULL;
	if (ctl_recv(c, &m, fds, &nfds, 2000) == 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		memset(&m, 0, sizeof(m));
		m.magic = CTL_MAGIC;
		m.version = AOKI_IPC_VERSION;
		m.type = CTL_HELLO_ACK;
		if (f->mode == FAKE_VERSION)
			m.version = AOKI_IPC_VERSION + 1;
		if (f->mode == FAKE_TYPE)
			m.type = CTL_GRANT_ACK;
		if (f->mode != FAKE_HANGUP && write(c, &m, sizeof(m)) != sizeof(m))
			fprintf(stderr, "fake server: short write\n");
	}
	close(c);
	return NULL;
}

static void test_fake_server(const char *dir)
{
	static const int want[] = { [FAKE_VERSION] = -EPROTO, [FAKE_TYPE] = -EBADMSG,
				    [FAKE_HANGUP] = -ECONNRESET };
	char path[256];
	struct aoki_chan *ch;

	snprintf(path, sizeof(path), "%s/fake.sock", dir);
	for (int mode = FAKE_VERSION; mode <= FAKE_HANGUP; mode++) {
		struct fake f = { .listen_fd = bind_listen(path, 1), .mode = mode };
		pthread_t th;

		CHECK_EQ(pthread_create(&th, NULL, fake_main, &f), 0);
		CHECK_EQ(aoki_connect("fake", NULL, &ch), want[mode]);
		CHECK_EQ(pthread_join(th, NULL), 0);
		close(f.listen_fd);
		unlink(path);
	}
}

/* ---------------------------------------------------------- arguments */

static void test_args(void)
{
	static const struct aoki_chan_opts bad[] = {
		{ .slots = 1 }, { .slots = 3 }, { .slots = 96 }, { .slots = 8192 },
		{ .slots = ~0u }, { .max_grants = 1025 }, { .timeout_ns = -1 },
	};
	static const struct aoki_chan_opts good[] = {
		{ .slots = 2 }, { .slots = 4096 }, { .max_grants = 1024 },
		{ .spin_ns = -1 }, { .spin_ns = 1 },
	};
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("args", 1, &st, NULL, NULL), *s2;
	struct aoki_server_config cfg = { .listen_fd = -1, .port = "x" };
	struct aoki_chan *ch;
	uint8_t big[AOKI_MSG_PAYLOAD + 1] = { 0 }, rep[8];
	char path[200], longname[300];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(aoki_connect("args", &bad[i], &ch), -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_EQ(aoki_connect("args", &good[i], &ch), 0);
		for (uint64_t k = 0; k < 10; k++)
			CHECK(t_echo_ok(ch, k * 77 + i));
		aoki_close(ch);
	}
	aoki_close(NULL);

	CHECK_EQ(aoki_connect("args", NULL, &ch), 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, big, sizeof(big), NULL, 0, NULL), -EMSGSIZE);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 4, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "abcd", 4, NULL, 4, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, AOKI_OP_RESERVED, NULL, 0, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, 0xffff, NULL, 0, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, 0, NULL, 0, NULL, 0, NULL), -ENOSYS);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ADD, "x", 1, NULL, 0, NULL), -EINVAL);
	/* A short reply buffer gets a prefix, nothing past it, the reply's
	 * full length, and -EMSGSIZE instead of the status: never a silent
	 * truncation. */
	memset(rep, 0xee, sizeof(rep));
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "0123456789", 10, rep, 4, &n), -EMSGSIZE);
	CHECK_EQ(n, 10);
	CHECK(memcmp(rep, "0123", 4) == 0 && rep[4] == 0xee);
	/* An exact fit is not truncated. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "01234567", sizeof(rep), rep, sizeof(rep), &n),
		 (int)sizeof(rep));
	CHECK_EQ(n, sizeof(rep));
	/* No reply buffer at all. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "0123456789", 10, NULL, 0, &n), 10);
	CHECK_EQ(n, 10);
	CHECK(t_echo_ok(ch, 99));
	aoki_close(ch);

	/* Servers. */
	CHECK_EQ(aoki_server_create(NULL, &s2), -EINVAL);
	CHECK_EQ(aoki_server_create(&cfg, &s2), -EINVAL);	/* no handler */
	cfg.handler = echo_handler;
	cfg.port = NULL;
	CHECK_EQ(aoki_server_create(&cfg, &s2), -EINVAL);	/* no port */
	cfg.port = "";
	CHECK_EQ(aoki_server_create(&cfg, &s2), -EINVAL);

	/* Port names. */
	CHECK_EQ(aoki_port_path("", path, sizeof(path)), -EINVAL);
	CHECK_EQ(aoki_port_path(NULL, path, sizeof(path)), -EINVAL);
	CHECK_EQ(aoki_port_path("/a/b.sock", path, sizeof(path)), 9);
	CHECK(strcmp(path, "/a/b.sock") == 0);
	CHECK_EQ(aoki_port_path("/a/b.sock", path, 9), -ENAMETOOLONG);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_EQ(aoki_port_path(longname, path, sizeof(path)), -ENAMETOOLONG);
	longname[0] = '/';
	CHECK_EQ(aoki_connect(longname, NULL, &ch), -ENAMETOOLONG);
	{
		char *saved = strdup(getenv("AOKI_RUN_DIR"));

		CHECK(aoki_port_path("blk", path, sizeof(path)) > 0);
		CHECK(strcmp(path + strlen(saved), "/blk.sock") == 0);
		unsetenv("AOKI_RUN_DIR");
		setenv("XDG_RUNTIME_DIR", "/x/y", 1);
		CHECK_EQ(aoki_port_path("blk", path, sizeof(path)), 18);
		CHECK(strcmp(path, "/x/y/aoki/blk.sock") == 0);
		unsetenv("XDG_RUNTIME_DIR");
		CHECK(aoki_port_path("blk", path, sizeof(path)) > 0);
		CHECK(strcmp(path, "/run/aoki/blk.sock") == 0);
		setenv("AOKI_RUN_DIR", saved, 1);
		free(saved);
	}
	aoki_server_destroy(srv);
}

int main(void)
{
	const char *dir = t_run_dir();

	test_policy();
	test_max_channels();
	test_ports(dir);
	test_fake_server(dir);
	test_args();
	return T_EXIT_PASS;
}
