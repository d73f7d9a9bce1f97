/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl_recv - decoding control messages from a peer (ctl_recv):
 * arbitrary bytes, split at arbitrary points, with or without
 * descriptors attached.  Properties: no crash; an accepted message has
 * the right magic and version; every descriptor received is either
 * returned (at most CTL_MAX_FDS) or closed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/ipc/ctl.h"
#include "aoki/ipc.h"

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg m;
	int sv[2], fds[CTL_MAX_FDS], before;
	unsigned nfds = 0, split;
	int r;

	if (size < 2)
		return 0;
	split = data[0] % 48;
	before = open_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	data++;
	size--;
	if (size > 4096)
		size = 4096;
	/* First piece with up to three descriptors attached (dup'ed
	 * stdin), the rest as a plain write, then EOF. */
	if (split > size)
		split = (unsigned)size;
	if (split) {
		int extra[3] = { dup(0), dup(0), dup(0) };
		unsigned cnt = (data[0] & 3);
		union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * 3)]; } u;
		struct iovec iov = { .iov_base = (void *)data, .iov_len = split };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (cnt) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * cnt);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * cnt);
			memcpy(CMSG_DATA(c), extra, sizeof(int) * cnt);
		}
		if (sendmsg(sv[1], &mh, 0) < 0)
			abort();
		for (int i = 0; i < 3; i++)
			close(extra[i]);
	}
	if (size > split && write(sv[1], data + split, size - split) < 0)
		abort();
	close(sv[1]);
	for (int i = 0; i < 4; i++) {
		r = ctl_recv(sv[0], &m, fds, &nfds, 0);
		if (nfds > CTL_MAX_FDS)
			abort();
		for (unsigned k = 0; k < nfds; k++)
			close(fds[k]);
		if (r == 0 && (m.magic != CTL_MAGIC || m.version != AOKI_IPC_VERSION))
			abort();
		if (r < 0)
			break;
	}
	close(sv[0]);
	if (open_fds() != before)
		abort();	/* a descriptor leaked */
	return 0;
}
