/* SPDX-License-Identifier: MIT */
/* ctl.c - control messages with descriptor passing. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "ctl.h"

int ctl_send(int sock, uint16_t type, const struct ctl_msg *m, const int *fds,
	     unsigned nfds)
{
	struct ctl_msg out = *m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} u;
	struct iovec iov = { .iov_base = &out, .iov_len = sizeof(out) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > CTL_MAX_FDS)
		return -EINVAL;
	out.magic = CTL_MAGIC;
	out.version = AOKI_IPC_VERSION;
	out.type = type;
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
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A 40-byte message on a Unix stream socket is never split by the
	 * sender; anything short means the peer is going away. */
	return n == (ssize_t)sizeof(out) ? 0 : -EPIPE;
}

static void take_fds(struct msghdr *mh, struct ctl_in *in)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int got[CTL_RECV_FDS];

		if (cnt > CTL_RECV_FDS)
			cnt = CTL_RECV_FDS;	/* cannot be: the buffer holds no more */
		memcpy(got, CMSG_DATA(c), cnt * sizeof(int));
		for (size_t i = 0; i < cnt; i++) {
			if (in->nfds < CTL_MAX_FDS) {
				in->fds[in->nfds++] = got[i];
				continue;
			}
			in->extra++;
			if (in->discard)
				in->discard(in->discard_arg, got[i]);
			else
				close(got[i]);
		}
	}
}

int ctl_recv_some(int sock, struct ctl_in *in)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CTL_RECV_FDS)];
	} u;

	while (in->got < sizeof(in->msg)) {
		struct iovec iov = { .iov_base = (char *)&in->msg + in->got,
				     .iov_len = sizeof(in->msg) - in->got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		take_fds(&mh, in);
		if (n == 0)
			return -ECONNRESET;
		in->got += (size_t)n;
	}
	if (in->msg.magic != CTL_MAGIC)
		return -EBADMSG;
	if (in->msg.version != AOKI_IPC_VERSION)
		return -EPROTO;
	return 1;
}

int ctl_recv(int sock, struct ctl_msg *m, int *fds, unsigned *nfds, int timeout_ms)
{
	struct ctl_in in = { .got = 0 };
	int r;

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };

		r = ctl_recv_some(sock, &in);
		if (r != 0)
			break;
		r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = r < 0 ? -errno : -ETIMEDOUT;
			break;
		}
	}
	*m = in.msg;
	memcpy(fds, in.fds, sizeof(int) * in.nfds);
	*nfds = in.nfds;
	return r < 0 ? r : 0;
}
