/* SPDX-License-Identifier: MIT */
/*
 * ipc-admit-fds: what a server does with the descriptors a client hands
 * it (issue 12, items 1 and 2).  The server runs in this process.
 *
 *   - linger: a TCP socket whose last close blocks (send queue full, the
 *     peer never reads, SO_LINGER 10 s) is handed to the server, and our
 *     copy closed, so the server's close is the last one:
 *       (a) with a malformed HELLO (one descriptor),
 *       (b) as the notify socket of an otherwise valid HELLO: refused
 *           with -ENOTSOCK (a notify socket is an AF_UNIX datagram one),
 *       (c) as the 12th of 12 descriptors riding on a HELLO (beyond what
 *           the server's receive buffer held, the kernel used to drop
 *           them in the acceptor's recvmsg): refused with -EBADMSG;
 *       (d) queued (SCM_RIGHTS) in an AF_UNIX datagram socket that is
 *           the notify socket: a valid HELLO, attached; then the client
 *           hangs up, and the notify socket's close releases it.
 *     The server reads the HELLO only after our copies are closed (an
 *     access policy holds the acceptor until then).  Each time a fresh
 *     client must connect and get an echo within 1 s.  The old server
 *     closed these on its acceptor (a, c) or, when the channel went, on
 *     a worker or the acceptor (b, d), and stalled 10 s.
 *   - control: closing such a socket here does block (1 s linger), so
 *     the descriptor is the hazard the test claims it is.
 *   - leak: 200 rounds of a server that stops while a connection has sent
 *     part of a HELLO with two descriptors attached; this process's
 *     descriptor count must come back to where it was (the old server
 *     never closed a pending control message's descriptors).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/ctl.h"
#include "../lib/ipc/layout.h"

#define PORT "fds"
#define LEAK_ROUNDS 200

static long fd_count(void)
{
	return t_proc_usage(getpid()).fds;
}

/* A connection to @port that has sent nothing. */
static int raw_connect(const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send the first @len bytes of control message @m with @nfds descriptors. */
static void send_ctl(int sock, const struct ctl_msg *m, size_t len, const int *fds,
		     unsigned nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	CHECK(nfds <= 16);
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	CHECK_EQ(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static struct ctl_msg hello_msg(uint64_t flags)
{
	return (struct ctl_msg){ .magic = CTL_MAGIC, .version = AOKI_IPC_VERSION,
				 .type = CTL_HELLO, .arg = flags };
}

/* The status of the HELLO_ACK on @sock, waiting at most 2 s. */
static int hello_status(int sock)
{
	struct ctl_msg m;
	int fds[CTL_MAX_FDS];
	unsigned nfds = 0;

	CHECK_EQ(ctl_recv(sock, &m, fds, &nfds, 2000), 0);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	CHECK_EQ(m.type, CTL_HELLO_ACK);
	return m.status;
}

/* A valid channel memfd, as the client library would make it. */
static int channel_memfd(void)
{
	struct chan_geom g;
	void *mem;
	int fd;

	CHECK_EQ(chan_geometry_init(&g, 8, 4), 0);
	fd = memfd_create("admit-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)g.total_size), 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
	mem = mmap(NULL, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mem != MAP_FAILED);
	chan_header_write(mem, &g);
	munmap(mem, g.total_size);
	return fd;
}

/*
 * A TCP socket whose last close blocks for @secs: its send queue is full
 * and *@peer, which the caller keeps open, never reads.  Closing *@peer
 * (a reset) ends the wait.
 */
static int linger_socket(int secs, int *peer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct linger lg = { .l_onoff = 1, .l_linger = secs };
	int small = 4096, lst, c, p;
	char junk[4096] = { 0 };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lst < 0)
		t_skip("no TCP sockets here");
	CHECK_EQ(setsockopt(lst, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	if (bind(lst, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		t_skip("cannot bind a TCP socket on the loopback");
	CHECK_EQ(listen(lst, 1), 0);
	CHECK_EQ(getsockname(lst, (struct sockaddr *)&sa, &sl), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	CHECK_EQ(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	p = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
	CHECK(p >= 0);
	close(lst);
	CHECK_EQ(fcntl(c, F_SETFL, O_NONBLOCK), 0);
	while (send(c, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
	/* Let the last segments settle in the peer's (full) buffer. */
	t_sleep_ms(20);
	while (send(c, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	CHECK_EQ(fcntl(c, F_SETFL, 0), 0);
	CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	*peer = p;
	return c;
}

/* The hazard is real: the last close of such a socket blocks. */
static void control(void)
{
	int peer, s = linger_socket(1, &peer);
	int64_t t0 = t_now_ns(), ms;

	close(s);
	ms = (t_now_ns() - t0) / 1000000;
	close(peer);
	printf("note: control: closing a lingering TCP socket here took %lld ms\n",
	       (long long)ms);
	CHECK(ms >= 800);
}

/* How long a fresh client takes to connect and get an echo (at most
 * about 3 s: its deadlines; 99999 if it fails). */
static long fresh_client_ms(const char *port)
{
	struct aoki_chan_opts o = { .timeout_ns = 3000000000ll, .reconnect_ns = -1 };
	struct aoki_chan *ch;
	int64_t t0 = t_now_ns();
	int r = aoki_connect(port, &o, &ch);

	if (r == 0) {
		r = t_echo_ok(ch, 42) ? 0 : -1;
		aoki_close(ch);
	}
	if (r < 0)
		fprintf(stderr, "fresh client on %s: %d\n", port, r);
	return r < 0 ? 99999 : (long)((t_now_ns() - t0) / 1000000);
}

/*
 * While closed, the gate holds the acceptor in the access policy (asked
 * at accept time): what a test sends meanwhile is read only after the
 * test has closed its own copies of the descriptors, so the server's
 * close is the last one.
 */
static _Atomic int gate_closed;

static int gate_policy(const struct aoki_peer *peer, void *arg)
{
	(void)peer;
	(void)arg;
	while (atomic_load(&gate_closed))
		t_sleep_ms(1);
	return 0;
}

/* A datagram socket with @fd queued in it (in flight, SCM_RIGHTS): its
 * last close releases @fd. */
static int socket_holding(int fd)
{
	struct ctl_msg m = { 0 };
	int pair[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	send_ctl(pair[0], &m, sizeof(m), &fd, 1);
	close(pair[0]);
	return pair[1];
}

enum { MALFORMED, NOTIFY, MANY_FDS, HOLDING };

/* Hand the server a lingering socket the @how way; check its answer. */
static void linger_case(int how, const char *port)
{
	static const char *const what[] = {
		[MALFORMED] = "(a) malformed HELLO with it",
		[NOTIFY] = "(b) it as the notify socket",
		[MANY_FDS] = "(c) it as the 12th descriptor of a HELLO",
		[HOLDING] = "(d) a notify socket holding it",
	};
	static const int want[] = {
		[MALFORMED] = -EBADMSG, [NOTIFY] = -ENOTSOCK, [MANY_FDS] = -EBADMSG,
		[HOLDING] = 0,
	};
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc(port, 1, &st, gate_policy, NULL);
	struct ctl_msg m = hello_msg(0);
	int peer, ls, sock, fds[12], pair[2];
	unsigned nfds = 2;
	long ms;

	ls = linger_socket(10, &peer);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	fds[0] = channel_memfd();
	fds[1] = pair[1];
	for (int i = 2; i < 11; i++)
		fds[i] = pair[0];
	fds[11] = ls;
	if (how == MALFORMED) {
		fds[0] = ls;
		nfds = 1;
	} else if (how == NOTIFY) {
		fds[1] = ls;
	} else if (how == MANY_FDS) {
		nfds = 12;
	} else {
		fds[1] = socket_holding(ls);
		close(ls);
		ls = fds[1];
	}
	atomic_store(&gate_closed, 1);
	sock = raw_connect(port);
	send_ctl(sock, &m, sizeof(m), fds, nfds);
	if (fds[0] != ls)
		close(fds[0]);
	close(pair[0]);
	close(pair[1]);
	close(ls);
	atomic_store(&gate_closed, 0);
	CHECK_EQ(hello_status(sock), want[how]);
	close(sock);	/* an attached channel (d) goes: its sockets close */
	t_sleep_ms(50);
	ms = fresh_client_ms(port);
	printf("note: lingering TCP socket, %s: next client served in %ld ms\n", what[how], ms);
	CHECK(ms < 1000);
	/* Resetting the peer ends the lingering close wherever it is. */
	close(peer);
	aoki_server_destroy(srv);
}

/* Wait up to @ms for this process to hold at most @want descriptors. */
static long settle_fds(long want, unsigned ms)
{
	int64_t end = t_now_ns() + (int64_t)ms * 1000000;
	long n;

	while ((n = fd_count()) > want && t_now_ns() < end)
		t_sleep_ms(5);
	return n;
}

static void leak(void)
{
	struct ctl_msg m = hello_msg(0);
	long before, after;
	int fds[2], p[2];

	before = fd_count();
	for (int round = 0; round < LEAK_ROUNDS; round++) {
		struct echo_state st;
		struct aoki_server *srv = t_echo_inproc(PORT, 1, &st, NULL, NULL);
		int sock = raw_connect(PORT), queued = 1;
		int64_t end = t_now_ns() + 2000000000ll;

		fds[0] = channel_memfd();
		CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
		fds[1] = p[0];
		send_ctl(sock, &m, 8, fds, 2);	/* 8 of the 40 bytes */
		close(fds[0]);
		close(p[0]);
		close(p[1]);
		/* Until the server has read them (our send queue is empty). */
		while (ioctl(sock, SIOCOUTQ, &queued) == 0 && queued && t_now_ns() < end)
			t_sleep_ms(1);
		CHECK_EQ(queued, 0);
		aoki_server_destroy(srv);
		close(sock);
	}
	after = settle_fds(before, 3000);
	printf("note: leak: descriptors before %ld, after %d rounds %ld\n", before,
	       LEAK_ROUNDS, after);
	CHECK_EQ(after, before);
}

int main(void)
{
	t_run_dir();
	control();
	leak();
	linger_case(MALFORMED, "fds-a");
	linger_case(NOTIFY, "fds-b");
	linger_case(MANY_FDS, "fds-c");
	linger_case(HOLDING, "fds-d");
	return T_EXIT_PASS;
}
