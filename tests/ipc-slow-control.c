/* SPDX-License-Identifier: MIT */
/*
 * ipc-slow-control: a client that sends its HELLO one byte at a time
 * (descriptors on the first byte, 60 ms between bytes, about 2.4 s in all)
 * must not hold up anybody else: meanwhile other clients connect, call,
 * and register grants.  The trickled HELLO itself is then accepted: its
 * pieces are reassembled with the descriptors that came on the first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/ctl.h"
#include "../lib/ipc/layout.h"

#define PORT "slow"
#define GAP_MS 60

static _Atomic int trickle_done;

/* A valid channel memfd, as aoki_connect makes it. */
static int make_channel(void)
{
	struct chan_geom g;
	struct chan_hdr *h;
	int fd = memfd_create("slow-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK_EQ(chan_geometry_init(&g, 8, 1), 0);
	CHECK_EQ(ftruncate(fd, (off_t)g.total_size), 0);
	h = mmap(NULL, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(h != MAP_FAILED);
	chan_header_write(h, &g);
	munmap(h, g.total_size);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

static void *trickle_main(void *arg)
{
	int sock = *(int *)arg, memfd = make_channel(), pair[2];
	struct ctl_msg m = { .magic = CTL_MAGIC, .version = AOKI_IPC_VERSION, .type = CTL_HELLO };
	const char *bytes = (const char *)&m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} u;
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * 2) };
	struct cmsghdr *c;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	memcpy(CMSG_DATA(c), (int[]){ memfd, pair[1] }, sizeof(int) * 2);
	CHECK_EQ(sendmsg(sock, &mh, 0), 1);	/* first byte + descriptors */
	for (size_t i = 1; i < sizeof(m); i++) {
		t_sleep_ms(GAP_MS);
		CHECK_EQ(write(sock, bytes + i, 1), 1);
	}
	close(memfd);
	close(pair[0]);
	close(pair[1]);
	atomic_store(&trickle_done, 1);
	return NULL;
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct echo_state st;
	struct aoki_server *srv;
	struct ctl_msg ack;
	int sock, rfds[CTL_MAX_FDS];
	unsigned nr, rounds = 0;
	pthread_t th;
	int64_t t0, worst = 0;

	t_run_dir();
	srv = t_echo_inproc(PORT, 1, &st, NULL, NULL);
	CHECK(aoki_port_path(PORT, sa.sun_path, sizeof(sa.sun_path)) > 0);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(sock >= 0);
	CHECK_EQ(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(pthread_create(&th, NULL, trickle_main, &sock), 0);

	/* While the trickle goes on, fresh clients connect, call and grant.
	 * A blocked acceptor would make each wait for the whole trickle. */
	while (!atomic_load(&trickle_done)) {
		struct aoki_chan *ch;
		uint32_t gid;
		void *mem;
		int64_t dt;

		t0 = t_now_ns();
		CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
		CHECK(t_echo_ok(ch, rounds));
		CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &gid, &mem), 0);
		aoki_close(ch);
		dt = t_now_ns() - t0;
		if (dt > worst)
			worst = dt;
		rounds++;
		t_sleep_ms(20);
	}
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* The trickle takes ~2.4 s; a connect that waited for it fails this
	 * by a wide margin, and no normal connect comes near it. */
	CHECK(worst < 1000000000);
	CHECK(rounds >= 10);
	printf("note: %u connect+call+grant rounds during a %zu-byte trickle, worst %lld us\n",
	       rounds, sizeof(struct ctl_msg), (long long)(worst / 1000));

	/* The trickled HELLO was reassembled, descriptors included. */
	CHECK_EQ(ctl_recv(sock, &ack, rfds, &nr, 2000), 0);
	CHECK_EQ(ack.type, CTL_HELLO_ACK);
	CHECK_EQ(ack.status, 0);
	CHECK_EQ(nr, 0);
	close(sock);
	aoki_server_destroy(srv);
	return T_EXIT_PASS;
}
