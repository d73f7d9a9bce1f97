/* SPDX-License-Identifier: MIT */
/*
 * ipc-limits-grants: the grant budgets of a server (issue 12, item 3).
 * An in-process echo server with a 1 MiB budget per channel, 3 MiB and
 * 5 grants in total:
 *   - a grant larger than the channel budget: -E2BIG; grants that fill
 *     it: accepted, the next byte -ENOSPC; a revoke gives the room back;
 *   - a sparse grant counts whole (the server could be made to touch
 *     every hole): a 1 MiB memfd with nothing in it fills a budget;
 *   - the server's byte total across channels: -ENOSPC past 3 MiB; a
 *     closed channel gives its bytes back; the same for the count of
 *     grants;
 *   - a resumed channel (HELLO_F_RESUME, its grants re-sent under their
 *     ids) whose grants exceed the budget is refused: -E2BIG or -ENOSPC
 *     in the HELLO_ACK, nothing attached;
 *   - with the defaults, a 64 GiB sparse grant (one of the 81 that used
 *     to fill a server's address space) is refused: -E2BIG.
 * The old server accepted every one of these.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/ctl.h"
#include "../lib/ipc/layout.h"

#define KIB 1024ull
#define MIB (1024 * KIB)

/* A sealed memfd of @size bytes, sparse (never written). */
static int sparse_memfd(uint64_t size)
{
	int fd = memfd_create("limits", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

/* Register a sparse grant of @size on @ch; returns the status. */
static int grant(struct aoki_chan *ch, uint64_t size, uint32_t *id)
{
	uint32_t dummy;
	int fd = sparse_memfd(size), r;

	r = aoki_grant_register_fd(ch, fd, AOKI_GRANT_READ | AOKI_GRANT_WRITE, id ? id : &dummy);
	close(fd);
	return r;
}

static struct aoki_server *limited_server(const char *port, struct echo_state *st)
{
	struct aoki_server_config cfg = {
		.port = port, .handler = echo_handler, .handler_arg = st, .quiet = 1,
		.grant_bytes_per_channel = MIB, .grant_bytes_total = 3 * MIB,
		.grants_total = 5,
	};
	struct aoki_server *srv;

	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	return srv;
}

static struct aoki_chan *conn(const char *port)
{
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect(port, NULL, &ch), 0);
	return ch;
}

static void per_channel(void)
{
	struct echo_state st;
	struct aoki_server *srv = limited_server("perchan", &st);
	struct aoki_chan *a = conn("perchan"), *b = conn("perchan");
	uint32_t half;

	CHECK_EQ(grant(a, 2 * MIB, NULL), -E2BIG);
	CHECK_EQ(grant(a, MIB + 1, NULL), -E2BIG);
	CHECK_EQ(grant(a, 512 * KIB, &half), 0);
	CHECK_EQ(grant(a, 512 * KIB, NULL), 0);
	CHECK_EQ(grant(a, 1, NULL), -ENOSPC);
	/* The channel still works, and a revoke gives the room back. */
	CHECK(t_echo_ok(a, 1));
	CHECK_EQ(aoki_grant_revoke(a, half), 0);
	CHECK_EQ(grant(a, 512 * KIB, NULL), 0);
	/* Sparse counts whole: nothing written, and still the budget. */
	CHECK_EQ(grant(b, MIB, NULL), 0);
	CHECK_EQ(grant(b, 4 * KIB, NULL), -ENOSPC);
	CHECK(t_echo_ok(b, 2));
	aoki_close(a);
	aoki_close(b);
	aoki_server_destroy(srv);
}

static void totals(void)
{
	struct echo_state st;
	struct aoki_server *srv = limited_server("totals", &st);
	struct aoki_chan *ch[4];
	uint32_t id;

	for (int i = 0; i < 4; i++)
		ch[i] = conn("totals");
	/* Bytes: three full channels make 3 MiB; the fourth gets nothing. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(grant(ch[i], MIB, NULL), 0);
	CHECK_EQ(grant(ch[3], 4 * KIB, NULL), -ENOSPC);
	/* A channel that goes gives its bytes back. */
	aoki_close(ch[0]);
	CHECK(t_wait_stat(srv, T_CHANNELS, 3, 2000));
	CHECK_EQ(grant(ch[3], 4 * KIB, &id), 0);
	/* Count: 3 grants now, 2 after a revoke; 3 more fit, then none. */
	CHECK_EQ(aoki_grant_revoke(ch[1], 0), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(grant(ch[3], 4 * KIB, NULL), 0);
	CHECK_EQ(grant(ch[1], 4 * KIB, NULL), -ENOSPC);
	/* A revoke on another channel is noticed, too. */
	CHECK_EQ(aoki_grant_revoke(ch[3], id), 0);
	CHECK_EQ(grant(ch[1], 4 * KIB, NULL), 0);
	for (int i = 1; i < 4; i++)
		aoki_close(ch[i]);
	aoki_server_destroy(srv);
}

/* A resume whose grants do not fit: raw HELLO_F_RESUME + GRANT_ADDs. */
static int resume_with(const char *port, const uint64_t *sizes, unsigned n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_msg m = { .arg = HELLO_F_RESUME, .id = n };
	struct chan_geom g;
	int sock, fds[CTL_MAX_FDS], pair[2], memfd;
	unsigned nfds = 0;
	void *mem;

	CHECK_EQ(chan_geometry_init(&g, 8, 4), 0);
	memfd = memfd_create("resume", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(memfd >= 0);
	CHECK_EQ(ftruncate(memfd, (off_t)g.total_size), 0);
	CHECK_EQ(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	mem = mmap(NULL, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(mem != MAP_FAILED);
	chan_header_write(mem, &g);
	munmap(mem, g.total_size);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(sock >= 0);
	CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
	CHECK_EQ(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fds[0] = memfd;
	fds[1] = pair[1];
	CHECK_EQ(ctl_send(sock, CTL_HELLO, &m, fds, 2), 0);
	for (unsigned i = 0; i < n; i++) {
		struct ctl_msg ga = { .id = i, .rights = AOKI_GRANT_READ };
		int fd = sparse_memfd(sizes[i]);

		/* The server may have refused and hung up already. */
		if (ctl_send(sock, CTL_GRANT_ADD, &ga, &fd, 1) < 0)
			n = i;
		close(fd);
	}
	CHECK_EQ(ctl_recv(sock, &m, fds, &nfds, 2000), 0);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	CHECK_EQ(m.type, CTL_HELLO_ACK);
	close(sock);
	close(memfd);
	close(pair[0]);
	close(pair[1]);
	return m.status;
}

static void resume(void)
{
	static const uint64_t fits[] = { 512 * KIB, 256 * KIB };
	static const uint64_t too_big[] = { 2 * MIB };
	static const uint64_t too_many_bytes[] = { 512 * KIB, 512 * KIB, 512 * KIB };
	struct echo_state st;
	struct aoki_server *srv = limited_server("resume", &st);
	int r;

	CHECK_EQ(resume_with("resume", fits, 2), 0);
	CHECK_EQ(resume_with("resume", too_big, 1), -E2BIG);
	r = resume_with("resume", too_many_bytes, 3);
	CHECK_EQ(r, -ENOSPC);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));
	CHECK_EQ(t_stat(srv, T_ACCEPTED), 1);
	aoki_server_destroy(srv);
}

static void defaults(void)
{
	struct echo_state st;
	struct aoki_server *srv = t_echo_inproc("defaults", 1, &st, NULL, NULL);
	struct aoki_chan *ch = conn("defaults");

	CHECK_EQ(grant(ch, 64ull << 30, NULL), -E2BIG);
	CHECK_EQ(grant(ch, 1ull << 30, NULL), 0);	/* the default: 1 GiB */
	CHECK_EQ(grant(ch, 4 * KIB, NULL), -ENOSPC);
	CHECK(t_echo_ok(ch, 3));
	aoki_close(ch);
	aoki_server_destroy(srv);
}

int main(void)
{
	t_run_dir();
	per_channel();
	totals();
	resume();
	defaults();
	return T_EXIT_PASS;
}
