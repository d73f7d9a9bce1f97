/* SPDX-License-Identifier: MIT */
/*
 * ipc-disconnect: hostile and dying clients against an in-process echo
 * server (so its counters can be read), while a well-behaved client on
 * another channel keeps calling and checking its replies.
 *   - a client SIGKILLed in the middle of a call, and one with async
 *     requests in flight: the server releases their channels and goes on;
 *   - hand-crafted HELLOs: bad magic, other version (-EPROTO), every kind
 *     of inconsistent geometry, unsealed memfd, too-small file, wrong
 *     descriptors, wrong message, garbage control bytes: all refused;
 *   - a client that writes garbage slot states at the server's head: its
 *     channel is dropped (stats.dropped, -ECONNRESET), nobody else's;
 *     a submission entry of another lap there is "not yet" (requests in
 *     their own slot write none): no drop, the channel goes on;
 *   - a client that scribbles over its header after attaching hurts
 *     nobody: the server uses its private copy of the geometry;
 *   - hand-written messages (length past the payload, unknown flags,
 *     reserved opcodes, malformed revokes) get error replies, no drop;
 *   - a client ringing the doorbell with nothing queued gets dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/client.h"
#include "../lib/ipc/ctl.h"
#include "../lib/ipc/layout.h"
#include "../lib/ipc/sys.h"

#define PORT "disc"

/* ------------------------------------------------- the bystander thread */

static struct aoki_chan *bystander;
static _Atomic int stop_bystander, bystander_failed;
static _Atomic uint64_t bystander_calls;

static void *bystander_main(void *arg)
{
	uint64_t i = 0;

	(void)arg;
	while (!atomic_load(&stop_bystander)) {
		if (!t_echo_ok(bystander, i++)) {
			atomic_store(&bystander_failed, 1);
			break;
		}
		atomic_fetch_add(&bystander_calls, 1);
		if (i % 64 == 0)
			t_sleep_ms(1);	/* leave CPU to the others on 2 cores */
	}
	return NULL;
}

/* Has the bystander made progress since @since?  Wait up to 2 s. */
static void bystander_progress(void)
{
	uint64_t since = atomic_load(&bystander_calls);
	int64_t end = t_now_ns() + 2000000000;

	while (atomic_load(&bystander_calls) < since + 10 && t_now_ns() < end)
		t_sleep_ms(1);
	CHECK(!atomic_load(&bystander_failed));
	CHECK(atomic_load(&bystander_calls) >= since + 10);
}

/* ------------------------------------------------------- dying clients */

struct child {
	pid_t pid;
	int go;		/* parent writes: connect now */
	int ready;	/* child writes: about to block */
};

/* Forked before any thread exists.  @mode 0: one long call; 1: a deep
 * queue of async sleeps.  Either way, block until killed. */
static void child_fork(struct child *c, int mode)
{
	int go[2], ready[2];

	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(ready), 0);
	c->pid = fork();
	CHECK(c->pid >= 0);
	if (c->pid == 0) {
		struct aoki_chan *ch;
		uint32_t us = 400000, short_us = 20000;
		char b;

		close(go[1]);
		close(ready[0]);
		if (read(go[0], &b, 1) != 1 || aoki_connect(PORT, NULL, &ch) < 0)
			_exit(2);
		if (mode == 1) {
			struct aoki_sqe s[40];

			for (unsigned i = 0; i < 40; i++)
				s[i] = (struct aoki_sqe){ .op = ECHO_OP_SLEEP, .tag = i,
							  .len = sizeof(short_us),
							  .data = &short_us };
			if (aoki_submit(ch, s, 40) != 40)
				_exit(3);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		if (mode == 0)
			aoki_call(ch, ECHO_OP_SLEEP, &us, sizeof(us), NULL, 0, NULL);
		pause();
		_exit(5);
	}
	close(go[0]);
	close(ready[1]);
	c->go = go[1];
	c->ready = ready[0];
}

static void child_kill_mid_call(struct aoki_server *srv, struct child *c)
{
	uint64_t ch0 = t_stat(srv, T_CHANNELS), acc0 = t_stat(srv, T_ACCEPTED);
	int status;
	char b;

	CHECK_EQ(write(c->go, "g", 1), 1);
	CHECK_EQ(read(c->ready, &b, 1), 1);
	CHECK(t_wait_stat(srv, T_ACCEPTED, acc0 + 1, 2000));
	CHECK_EQ(t_stat(srv, T_CHANNELS), ch0 + 1);
	t_sleep_ms(30);	/* the call is in the server's handler or queued */
	CHECK_EQ(kill(c->pid, SIGKILL), 0);
	CHECK_EQ(waitpid(c->pid, &status, 0), c->pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Its channel is released (a hang-up is not a violation). */
	CHECK(t_wait_stat(srv, T_CHANNELS, ch0, 2000));
	CHECK_EQ(t_stat(srv, T_DROPPED), 0);
	bystander_progress();
	close(c->go);
	close(c->ready);
}

/* ------------------------------------------------------ hand-made HELLOs */

enum bad_hello {
	HELLO_GOOD, BAD_MAGIC, BAD_VERSION, BAD_HDR_SIZE, BAD_SLOT_SIZE, BAD_FLAGS,
	BAD_NSLOTS_POW2, BAD_NSLOTS_BIG, BAD_NSLOTS_ZERO, BAD_GRANTS, BAD_SLOTS_OFF,
	BAD_CQ_OFF, BAD_TOTAL, BIG_RING_SMALL_FILE, TINY_FILE, UNSEALED, GROW_SEAL_ONLY,
	NOTIFY_NOT_SOCKET, ONE_FD, NO_FD, CHAN_IS_PIPE, WRONG_TYPE, NBAD
};

static const char *const bad_name[NBAD] = {
	"good", "magic", "version", "hdr_size", "slot_size", "flags", "nslots 3",
	"nslots 8192", "nslots 0", "max_grants", "slots_off", "cq_off", "total_size",
	"4096 slots in a small file", "tiny file", "unsealed", "grow seal only",
	"notify not a socket", "one fd", "no fd", "channel is a pipe", "wrong type",
};

static const int bad_want[NBAD] = {
	[HELLO_GOOD] = 0, [BAD_MAGIC] = -EBADMSG, [BAD_VERSION] = -EPROTO,
	[BAD_HDR_SIZE] = -EBADMSG, [BAD_SLOT_SIZE] = -EBADMSG, [BAD_FLAGS] = -EBADMSG,
	[BAD_NSLOTS_POW2] = -EBADMSG, [BAD_NSLOTS_BIG] = -EBADMSG,
	[BAD_NSLOTS_ZERO] = -EBADMSG, [BAD_GRANTS] = -EBADMSG, [BAD_SLOTS_OFF] = -EBADMSG,
	[BAD_CQ_OFF] = -EBADMSG, [BAD_TOTAL] = -EBADMSG, [BIG_RING_SMALL_FILE] = -ENOSPC,
	[TINY_FILE] = -ENOSPC, [UNSEALED] = -EPERM, [GROW_SEAL_ONLY] = -EPERM,
	[NOTIFY_NOT_SOCKET] = -ENOTSOCK, [ONE_FD] = -EBADMSG, [NO_FD] = -EBADMSG,
	[CHAN_IS_PIPE] = -EBADF, [WRONG_TYPE] = -EBADMSG,
};

static int port_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	CHECK(aoki_port_path(PORT, sa.sun_path, sizeof(sa.sun_path)) > 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* After a refusal the server hangs up: a read sees EOF within 2 s. */
static void expect_hangup(int sock)
{
	struct timeval tv = { .tv_sec = 2 };
	char b[64];
	ssize_t n;

	CHECK_EQ(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	do
		n = read(sock, b, sizeof(b));
	while (n > 0);
	CHECK(n == 0 || errno == ECONNRESET);
}

/* Send the HELLO variant @kind; return the server's status. */
static int send_hello(enum bad_hello kind, int *sock_out)
{
	struct chan_geom g;
	struct chan_hdr *h;
	struct ctl_msg m = { 0 };
	int sock = port_socket(), memfd, pair[2], fds[2], rfds[CTL_MAX_FDS], p[2] = { -1, -1 };
	unsigned nfds = 2, nr;
	uint64_t size;
	uint16_t type = CTL_HELLO;
	int r;

	CHECK_EQ(chan_geometry_init(&g, 64, 16), 0);
	size = g.total_size;
	if (kind == BIG_RING_SMALL_FILE)
		CHECK_EQ(chan_geometry_init(&g, 4096, 16), 0);
	if (kind == TINY_FILE)
		size = 100;
	memfd = memfd_create("bad-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(memfd >= 0);
	CHECK_EQ(ftruncate(memfd, (off_t)(size > 4096 ? size : 4096)), 0);
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(h != MAP_FAILED);
	chan_header_write(h, &g);
	switch (kind) {
	case BAD_MAGIC: h->magic ^= 1; break;
	case BAD_VERSION: h->version = AOKI_IPC_VERSION + 1; break;
	case BAD_HDR_SIZE: h->hdr_size = 128; break;
	case BAD_SLOT_SIZE: h->slot_size = 128; break;
	case BAD_FLAGS: h->flags = 1; break;
	case BAD_NSLOTS_POW2: h->nslots = 3; break;
	case BAD_NSLOTS_BIG: h->nslots = 8192; break;
	case BAD_NSLOTS_ZERO: h->nslots = 0; break;
	case BAD_GRANTS: h->max_grants = 5000; break;
	case BAD_SLOTS_OFF: h->slots_off += 64; break;
	case BAD_CQ_OFF: h->cq_off = 64; break;
	case BAD_TOTAL: h->total_size = 1ull << 40; break;
	default: break;
	}
	munmap(h, 4096);
	if (kind == TINY_FILE)
		CHECK_EQ(ftruncate(memfd, 100), 0);
	if (kind != UNSEALED)
		CHECK_EQ(fcntl(memfd, F_ADD_SEALS, kind == GROW_SEAL_ONLY ? F_SEAL_GROW
									   : F_SEAL_SHRINK), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	fds[0] = memfd;
	fds[1] = pair[1];
	if (kind == NOTIFY_NOT_SOCKET || kind == CHAN_IS_PIPE) {
		CHECK_EQ(pipe(p), 0);
		fds[kind == CHAN_IS_PIPE ? 0 : 1] = p[0];
	}
	if (kind == ONE_FD)
		nfds = 1;
	if (kind == NO_FD)
		nfds = 0;
	if (kind == WRONG_TYPE)
		type = CTL_GRANT_ADD;
	CHECK_EQ(ctl_send(sock, type, &m, fds, nfds), 0);
	memset(&m, 0, sizeof(m));
	r = ctl_recv(sock, &m, rfds, &nr, 2000);
	CHECK_EQ(r, 0);
	CHECK_EQ(m.type, CTL_HELLO_ACK);
	CHECK_EQ(nr, 0);
	close(memfd);
	close(pair[0]);
	close(pair[1]);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	if (sock_out)
		*sock_out = sock;
	else
		close(sock);
	return m.status;
}

/* Raw bytes on a fresh control socket: the server must hang up. */
static void raw_garbage(const void *buf, size_t len)
{
	int sock = port_socket();

	CHECK_EQ(write(sock, buf, len), (ssize_t)len);
	if (len < sizeof(struct ctl_msg))
		shutdown(sock, SHUT_WR);	/* a truncated message, then EOF */
	expect_hangup(sock);
	close(sock);
}

static void bad_hellos(struct aoki_server *srv)
{
	uint64_t refused = t_stat(srv, T_REFUSED), chans = t_stat(srv, T_CHANNELS);
	struct ctl_msg m = { .magic = CTL_MAGIC, .version = AOKI_IPC_VERSION,
			     .type = CTL_HELLO };
	int sock;

	/* The hand-made HELLO is right when nothing is corrupted. */
	CHECK_EQ(send_hello(HELLO_GOOD, &sock), 0);
	CHECK(t_wait_stat(srv, T_CHANNELS, chans + 1, 2000));
	close(sock);
	CHECK(t_wait_stat(srv, T_CHANNELS, chans, 2000));

	for (int k = HELLO_GOOD + 1; k < NBAD; k++) {
		int r = send_hello(k, &sock);

		if (r != bad_want[k]) {
			fprintf(stderr, "HELLO with bad %s: status %d, want %d\n", bad_name[k],
				r, bad_want[k]);
			CHECK(0);
		}
		expect_hangup(sock);
		close(sock);
		CHECK_EQ(t_stat(srv, T_REFUSED), refused + (uint64_t)k);
	}
	/* Control messages that are not even well-formed. */
	m.magic = 0x12345678;
	raw_garbage(&m, sizeof(m));
	m.magic = CTL_MAGIC;
	m.version = AOKI_IPC_VERSION + 1;
	raw_garbage(&m, sizeof(m));
	raw_garbage("\x4b\x43\x54", 3);
	CHECK_EQ(t_stat(srv, T_CHANNELS), chans);
	CHECK_EQ(t_stat(srv, T_DROPPED), 0);
	bystander_progress();
}

/* ----------------------------------------------------- garbage in slots */

static void garbage_slots(struct aoki_server *srv)
{
	const uint32_t head = 5, nslots = 64;
	/* Submission entries at the server's next position, and the state
	 * of the slot each names: nothing a correct client writes.  (An
	 * entry for the right position naming a slot not yet QUEUED is a
	 * client between its two stores, and an entry of another lap at the
	 * place is one written laps ago - requests in their own slot write
	 * none: the server waits, and at most that channel stalls; see
	 * other_lap_entries.) */
	const struct {
		uint32_t entry, state;
	} garbage[] = {
		{ sq_entry(head, 4095), 0 },			/* no such slot */
		{ sq_entry(head + 1, head), 0 },		/* another place */
		{ 0xffffffffu, 0 },
		{ 0xdeadbeefu, 0 },
	};
	const unsigned n = sizeof(garbage) / sizeof(garbage[0]);
	uint64_t dropped0 = t_stat(srv, T_DROPPED);

	for (unsigned i = 0; i < n; i++) {
		struct aoki_chan *ch;
		struct aoki_cqe cqe;
		_Atomic uint32_t *sq;
		int64_t t0;

		CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
		CHECK_EQ(ch->geom.nslots, nslots);
		sq = chan_sq(ch->hdr, &ch->geom);
		for (uint64_t k = 0; k < head; k++)
			CHECK(t_echo_ok(ch, k));
		/* The server's next position is 5: put garbage there. */
		uint32_t saved = atomic_load(&sq[head]);

		if (garbage[i].state)
			atomic_store(&ch->slots[7].state, garbage[i].state);
		atomic_store(&sq[head], garbage[i].entry);
		chan_kick(ch);
		if (!t_wait_stat(srv, T_DROPPED, dropped0 + i + 1, 2000)) {
			fprintf(stderr, "garbage entry %#x (slot state %#x) at the head not dropped\n",
				garbage[i].entry, garbage[i].state);
			CHECK(0);
		}
		/* Even with the entry put right, the channel is gone. */
		atomic_store(&sq[head], saved);
		t0 = t_now_ns();
		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "x", 1, NULL, 0, NULL), -ECONNRESET);
		CHECK(t_now_ns() - t0 < 1000000000);
		CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "x", 1, NULL, 0, NULL), -ECONNRESET);
		CHECK_EQ(aoki_submit(ch, &(struct aoki_sqe){ .op = ECHO_OP_ECHO }, 1),
			 -ECONNRESET);
		CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, -1), -ECONNRESET);
		aoki_close(ch);
	}
	CHECK_EQ(t_stat(srv, T_DROPPED), dropped0 + n);
	bystander_progress();
}

/*
 * An entry of another lap at the server's next place (a future lap's, or
 * one two laps old) reads as "nothing new yet": requests in their own slot
 * write no entry, so old ones stay.  The channel is not dropped, and its
 * next request (in its own slot) is served.
 */
static void other_lap_entries(struct aoki_server *srv)
{
	const uint32_t head = 5, nslots = 64;
	const uint32_t entries[] = { sq_entry(head + nslots, head),
				     sq_entry(head - 2 * nslots, head) };
	uint64_t dropped0 = t_stat(srv, T_DROPPED);

	for (unsigned i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		struct aoki_chan *ch;

		CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
		CHECK_EQ(ch->geom.nslots, nslots);
		for (uint64_t k = 0; k < head; k++)
			CHECK(t_echo_ok(ch, k));
		atomic_store(&chan_sq(ch->hdr, &ch->geom)[head], entries[i]);
		chan_kick(ch);
		for (uint64_t k = 0; k < 2 * nslots; k++)
			CHECK(t_echo_ok(ch, k));
		aoki_close(ch);
	}
	CHECK_EQ(t_stat(srv, T_DROPPED), dropped0);
}

/*
 * A message no library call would write: fields set by hand at the next
 * position, published QUEUED, and the reply consumed.  The server must
 * answer (status returned), not drop the channel or crash.
 */
static int raw_call(struct aoki_chan *ch, uint16_t op, uint16_t len, uint16_t flags,
		    const void *payload, size_t plen)
{
	struct ring_msg m = { .op = op, .len = len, .flags = flags };
	int64_t end = t_now_ns() + 2000000000;
	int idx = ring_claim(&ch->ring, &ch->geom, ch->hdr, 0);
	uint64_t pos;
	int status;

	CHECK(idx >= 0);
	if (plen)
		memcpy(m.payload, payload, plen);
	pos = ring_publish(&ch->ring, &ch->geom, ch->hdr, (uint32_t)idx, &m);
	chan_kick(ch);
	while (!ring_reply_ready(&ch->geom, ch->hdr, (uint32_t)idx, pos)) {
		CHECK(t_now_ns() < end);
		sched_yield();
	}
	status = ch->slots[idx].status;
	CHECK(ch->slots[idx].len <= AOKI_MSG_PAYLOAD);
	ring_release(&ch->ring, (uint32_t)idx, slot_state(pos, SLOT_DONE));
	return status;
}

static void odd_messages(struct aoki_server *srv)
{
	uint64_t dropped0 = t_stat(srv, T_DROPPED);
	uint32_t id = 3;
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	/* An inline length past the payload, unknown flags: refused. */
	CHECK_EQ(raw_call(ch, ECHO_OP_ECHO, 0xffff, 0, NULL, 0), -EINVAL);
	CHECK_EQ(raw_call(ch, ECHO_OP_ECHO, AOKI_MSG_PAYLOAD + 1, 0, NULL, 0), -EINVAL);
	CHECK_EQ(raw_call(ch, ECHO_OP_ECHO, 4, 0x8000, "abcd", 4), -EINVAL);
	/* Library opcodes the library never sends, a malformed revoke. */
	CHECK_EQ(raw_call(ch, AOKI_OP_RESERVED + 7, 0, 0, NULL, 0), -ENOSYS);
	CHECK_EQ(raw_call(ch, 0xffff, 0, 0, NULL, 0), -ENOSYS);
	CHECK_EQ(raw_call(ch, AOKI_OP_RESERVED + 1, 2, 0, &id, 2), -EINVAL);
	CHECK_EQ(raw_call(ch, AOKI_OP_RESERVED + 1, 4, 0, &id, 4), -ENOENT);
	id = 0xffffffffu;
	CHECK_EQ(raw_call(ch, AOKI_OP_RESERVED + 1, 4, 0, &id, 4), -ENOENT);
	/* The full payload is fine. */
	CHECK_EQ(raw_call(ch, ECHO_OP_ECHO, AOKI_MSG_PAYLOAD, 0, "0123456789abcdef0123456789abcdef",
			  AOKI_MSG_PAYLOAD), AOKI_MSG_PAYLOAD);
	for (uint64_t k = 0; k < 100; k++)
		CHECK(t_echo_ok(ch, k));
	CHECK_EQ(t_stat(srv, T_DROPPED), dropped0);
	aoki_close(ch);
}

/* Ring the doorbell with nothing behind it, as fast as possible; with
 * @sneaky, a real request after every 1000 rings (which once reset the
 * server's count of empty wake-ups, so the abuse went on for ever). */
struct abuser {
	struct aoki_chan *ch;
	int sneaky;
};

static void *doorbell_abuser(void *arg)
{
	struct abuser *a = arg;
	struct aoki_chan *ch = a->ch;
	int64_t end = t_now_ns() + 12000000000ll;
	unsigned rings = 0;

	while (chan_check_alive(ch) && t_now_ns() < end) {
		for (int i = 0; i < 64; i++) {
			atomic_store(&ch->hdr->srv_sleeping, 0);
			futex_wake_shared(&ch->hdr->srv_sleeping, 1);
		}
		rings += 64;
		if (a->sneaky && rings >= 1000) {
			rings = 0;
			aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL);
		}
	}
	return NULL;
}

/*
 * On a server of its own that never spins (so that each empty wake-up
 * costs the worker one sleep, not a spin first), next to a bystander
 * channel on the same worker.
 */
static void doorbell_abuse(int sneaky)
{
	struct abuser a;
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = "bell", .listen_fd = -1, .handler = echo_handler, .handler_arg = &st,
		.spin_ns = -1, .quiet = 1,
	};
	struct aoki_server *srv;
	struct aoki_chan *ch, *good;
	pthread_t th;
	int64_t t0;

	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	CHECK_EQ(aoki_connect("bell", NULL, &good), 0);
	CHECK_EQ(aoki_connect("bell", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1) && t_echo_ok(good, 1));
	t0 = t_now_ns();
	a = (struct abuser){ .ch = ch, .sneaky = sneaky };
	CHECK_EQ(pthread_create(&th, NULL, doorbell_abuser, &a), 0);
	/* The server notices a client keeping it awake for nothing
	 * (over 2000 empty wake-ups in a second); the neighbour is served. */
	for (uint64_t k = 0; k < 50; k++)
		CHECK(t_echo_ok(good, k));
	CHECK(t_wait_stat(srv, T_DROPPED, 1, 10000));
	CHECK_EQ(pthread_join(th, NULL), 0);
	printf("note: doorbell abuser%s dropped after %.0f ms\n",
	       sneaky ? " (a request every 1000 rings)" : "", (t_now_ns() - t0) / 1e6);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ECONNRESET);
	for (uint64_t k = 0; k < 50; k++)
		CHECK(t_echo_ok(good, k));
	CHECK_EQ(t_stat(srv, T_DROPPED), 1);
	aoki_close(ch);
	aoki_close(good);
	aoki_server_destroy(srv);
}

static void scribbled_header(struct aoki_server *srv)
{
	uint64_t dropped0 = t_stat(srv, T_DROPPED);
	struct aoki_chan *ch;

	CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	/* Everything the client may write in its header, after attaching. */
	ch->hdr->magic = 0;
	ch->hdr->nslots = 1u << 31;
	ch->hdr->slots_off = ~0ull;
	ch->hdr->cq_off = 1ull << 40;
	ch->hdr->total_size = 1;
	ch->hdr->max_grants = ~0u;
	atomic_store(&ch->hdr->srv_head, ~0ull);
	atomic_store(&ch->hdr->cq_tail, 12345);
	for (uint64_t k = 0; k < 500; k++)
		CHECK(t_echo_ok(ch, k));
	CHECK_EQ(t_stat(srv, T_DROPPED), dropped0);
	aoki_close(ch);
}

int main(void)
{
	struct child mid_call, async_q;
	struct echo_state st;
	struct aoki_server *srv;
	pthread_t th;
	int status;
	char b;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();
	/* Fork the victims while this process has one thread. */
	child_fork(&mid_call, 0);
	child_fork(&async_q, 1);

	srv = t_echo_inproc(PORT, 2, &st, NULL, NULL);
	CHECK_EQ(aoki_connect(PORT, NULL, &bystander), 0);
	/* The server counts a channel just after acknowledging it. */
	CHECK(t_wait_stat(srv, T_ACCEPTED, 1, 2000));
	CHECK_EQ(pthread_create(&th, NULL, bystander_main, NULL), 0);

	child_kill_mid_call(srv, &mid_call);
	/* The same with 40 async sleeps queued. */
	CHECK_EQ(write(async_q.go, "g", 1), 1);
	CHECK_EQ(read(async_q.ready, &b, 1), 1);
	CHECK(t_wait_stat(srv, T_CHANNELS, 2, 2000));
	CHECK_EQ(kill(async_q.pid, SIGKILL), 0);
	CHECK_EQ(waitpid(async_q.pid, &status, 0), async_q.pid);
	CHECK(t_wait_stat(srv, T_CHANNELS, 1, 2000));
	bystander_progress();

	bad_hellos(srv);
	garbage_slots(srv);
	other_lap_entries(srv);
	scribbled_header(srv);
	odd_messages(srv);

	/* A fresh client is served as if nothing happened. */
	struct aoki_chan *ch;
	CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
	for (uint64_t k = 0; k < 100; k++)
		CHECK(t_echo_ok(ch, k << 8));
	aoki_close(ch);

	atomic_store(&stop_bystander, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK(!atomic_load(&bystander_failed));
	aoki_close(bystander);
	CHECK(t_wait_stat(srv, T_CHANNELS, 0, 2000));
	aoki_server_destroy(srv);
	doorbell_abuse(0);
	doorbell_abuse(1);
	printf("note: bystander made %llu calls meanwhile\n",
	       (unsigned long long)atomic_load(&bystander_calls));
	return T_EXIT_PASS;
}
