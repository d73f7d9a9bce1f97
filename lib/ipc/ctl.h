/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - the control protocol on a port's stream socket.  Fixed-size
 * messages; descriptors ride along with SCM_RIGHTS.  Only set-up and
 * grant registration use it: requests never do.
 */
#ifndef AOKI_CTL_H
#define AOKI_CTL_H

#include <stdint.h>

#define CTL_MAGIC 0x4c54434bu	/* "KCTL" */

enum ctl_type {
	CTL_HELLO = 1,		/* client: fds = { channel memfd, notify socket },
				 * arg = HELLO_F_*, id = grants that follow (resume) */
	CTL_HELLO_ACK = 2,	/* server: status, arg = epoch */
	CTL_GRANT_ADD = 3,	/* client: fds = { memfd }, rights; while resuming,
				 * id = the grant's id, and no ACK is sent */
	CTL_GRANT_ACK = 4,	/* server: status, id */
	CTL_BYE = 5,		/* server: status = why the channel was dropped;
				 * the client must not resume it */
};

/* CTL_HELLO flags (ctl_msg.arg). */
#define HELLO_F_RESUME 0x1u	/* the channel has lived before: resume it */

struct ctl_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	int32_t status;
	uint32_t id;
	uint32_t rights;
	uint32_t reserved;
	uint64_t arg;
};

#define CTL_MAX_FDS 2

/* Deadline for one control round trip. */
#define CTL_TIMEOUT_MS 5000

/*
 * ctl_send - send one message with @nfds descriptors.  Returns 0 or
 * -errno (-EPIPE when the peer is gone).  Never raises SIGPIPE.
 */
int ctl_send(int sock, uint16_t type, const struct ctl_msg *m, const int *fds,
	     unsigned nfds);

/* The most descriptors one SCM_RIGHTS message can carry (the kernel's
 * SCM_MAX_FD).  The receive buffer holds that many, so that the kernel
 * never drops descriptors of a truncated message itself: it would do so
 * on the receiving thread, and a dropped descriptor may be slow to close
 * (closer.h). */
#define CTL_RECV_FDS 253

/* A control message being received without blocking, a piece at a time. */
struct ctl_in {
	struct ctl_msg msg;
	size_t got;		/* bytes of msg received so far */
	int fds[CTL_MAX_FDS];	/* descriptors received so far */
	unsigned nfds;
	unsigned extra;		/* descriptors beyond CTL_MAX_FDS (discarded) */
	/* Where those extra descriptors go; NULL: close(2) them at once. */
	void (*discard)(void *arg, int fd);
	void *discard_arg;
};

/*
 * ctl_recv_some - receive what the socket has of the message in @in,
 * without blocking.  Returns 1 when the message is complete (valid magic
 * and version), 0 when more bytes are needed, -ECONNRESET (peer closed),
 * -EBADMSG, -EPROTO, or another -errno.  The descriptors in @in->fds are
 * the caller's to close, whatever the result; those beyond CTL_MAX_FDS
 * are counted in @in->extra and handed to @in->discard.  Reset @in (zero
 * it, keeping discard) to receive the next message.
 */
int ctl_recv_some(int sock, struct ctl_in *in);

/*
 * ctl_recv - receive one message, waiting at most @timeout_ms between
 * pieces (-1: no limit).  Received descriptors are
 * stored in @fds (up to CTL_MAX_FDS; the rest are closed) and counted in
 * *@nfds; the caller closes them.  Returns 0, -ECONNRESET (peer closed),
 * -ETIMEDOUT, -EBADMSG (bad magic, truncated message), -EPROTO (other
 * version).
 */
int ctl_recv(int sock, struct ctl_msg *m, int *fds, unsigned *nfds, int timeout_ms);

#endif
