/* SPDX-License-Identifier: MIT */
/*
 * ipc-resume-edge: the edges of crash recovery that a review found broken,
 * one function each (docs/ipc.md, "Recovery"):
 *
 *   1. cut_reply: a server that dies while it publishes a reply leaves the
 *      slot QUEUED(p), p < srv_head, with the reply's len and payload
 *      already written over the request, and the record of that reply in
 *      header line 4 (reply_pos = p + 1, status, len, payload).  The next
 *      server must finish the publication from the record, not run what
 *      is left of the request.  Checked for a synchronous call (status)
 *      and an async request (completion with tag and payload).  And the
 *      other side: with no record for p (the server died inside the
 *      handler), the intact request is run again in full.
 *   2. revoke_vs_reconnect: a revoke the dead server had completed must
 *      not be undone by a reconnect that was already under way when the
 *      revoker saw its reply: after aoki_grant_revoke returns 0 the grant
 *      is unknown to the new server (-ENOENT), never readable again.
 *   3. resume_deadline: reconnect_ns holds when the resume handshake
 *      (HELLO + one GRANT_ADD per grant) does not fit in the socket
 *      buffer and nobody accepts on the port (a supervisor holds it while
 *      the server is not back yet): -ETIMEDOUT, not a blocked sendmsg.
 *   4. bye_during_grant: a CTL_BYE (the server drops the channel for a
 *      protocol violation) that arrives while aoki_grant_create waits for
 *      its GRANT_ACK: -ECONNRESET, the channel is lost and not resumed.
 *   5. unread_acks: a client that sends GRANT_ADDs and never reads the
 *      acknowledgements is dropped ("control replies not read"); the
 *      server's acceptor does not block on it, and another client still
 *      connects.
 *
 * Real events and injected state.  Server crashes are real SIGKILLs of a
 * forked echo server (SIGSTOP/SIGCONT hold one still where the test needs
 * a request or a control message to stay unanswered).  Where the state to
 * test is "the server died at instruction X" and no real crash can be
 * made to land there deterministically, the test writes that state into
 * the channel memory through the library's internal struct aoki_chan (as
 * ipc-hostile does), with the server already dead or stopped, so nothing
 * races with the writes.  Each such place says "Injected:".
 *
 * Usage: ipc-resume-edge [case...]  (no argument: all five cases).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"
#include "../lib/ipc/client.h"
#include "../lib/ipc/ctl.h"
#include "../lib/ipc/layout.h"

/* Wait up to @ms for @cond, then check it. */
#define WAIT_FOR(cond, ms)                                                     \
	do {                                                                   \
		int64_t _end = t_now_ns() + (int64_t)(ms) * 1000000;           \
		while (!(cond) && t_now_ns() < _end)                           \
			t_sleep_ms(1);                                         \
		CHECK(cond);                                                   \
	} while (0)

/* Echo servers in child processes, SIGKILLed if a failed check exits. */
static pid_t spawn(const char *port)
{
	pid_t pid = t_echo_spawn(port);

	t_child_track(pid, 0);
	return pid;
}

static void kill9(pid_t pid)
{
	t_kill9(pid);
	t_child_track(0, pid);
}

/* SIGSTOP @pid and wait until it is stopped. */
static void stop(pid_t pid)
{
	int status;

	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &status, WUNTRACED), pid);
	CHECK(WIFSTOPPED(status));
}

/* Join @th if it ends within @ms; 0 if it does not (it is left running). */
static int joined_within(pthread_t th, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

/* Bytes sent on @fd that the peer has not read yet. */
static int unread_by_peer(int fd)
{
	int n = -1;

	CHECK_EQ(ioctl(fd, SIOCOUTQ, &n), 0);
	return n;
}

/* The slot of the request at @pos: the one numbered like it, which a
 * single-threaded client with free slots always uses (ring_claim's
 * preference); checked against the submission entry once published. */
static struct chan_slot *slot_at(struct aoki_chan *ch, uint64_t pos)
{
	uint32_t e = atomic_load(&chan_sq(ch->hdr, &ch->geom)[pos & ch->geom.mask]);

	if (e >> SQ_IDX_BITS == ((uint32_t)pos << SQ_IDX_BITS) >> SQ_IDX_BITS)
		CHECK_EQ(e & SQ_IDX_MASK, pos & ch->geom.mask);
	return &ch->slots[pos & ch->geom.mask];
}

static uint32_t state_at(struct aoki_chan *ch, uint64_t pos)
{
	return atomic_load(&slot_at(ch, pos)->state);
}

/*
 * Injected: what req_publish has done for the request at @pos when its
 * server dies just before the DONE store (the instruction X of bug 1):
 * the reply record in line 4, complete and marked (reply_pos = pos + 1),
 * then the reply's status, len and whole payload buffer over the request
 * in the slot, whose state still says QUEUED(pos).
 */
static void publish_cut_short(struct aoki_chan *ch, uint64_t pos, int32_t status,
			      const void *rep, uint16_t len)
{
	struct chan_hdr *h = ch->hdr;
	struct chan_slot *s = slot_at(ch, pos);
	uint8_t buf[AOKI_MSG_PAYLOAD] = { 0 };

	CHECK(len <= AOKI_MSG_PAYLOAD);
	if (len)
		memcpy(buf, rep, len);
	h->reply_status = status;
	h->reply_len = len;
	h->reply_idx = (uint16_t)(s - ch->slots);
	memcpy(h->reply_payload, buf, sizeof(buf));
	atomic_store(&h->reply_pos, pos + 1);
	s->status = status;
	s->len = len;
	memcpy(s->payload, buf, sizeof(buf));
}

/* A synchronous call on its own thread. */
struct call {
	struct aoki_chan *ch;
	uint16_t op;
	uint32_t arg;		/* the request payload, 4 bytes */
	int r;
	size_t rep_len;
	uint8_t rep[AOKI_MSG_PAYLOAD];
	int64_t done_ns;
};

static void *call_main(void *p)
{
	struct call *c = p;

	c->r = aoki_call(c->ch, c->op, &c->arg, sizeof(c->arg), c->rep, sizeof(c->rep),
			 &c->rep_len);
	c->done_ns = t_now_ns();
	return NULL;
}

/* ------------------------------------------------------------ 1 */

/* A call the server @srv has taken (srv_head moved past it) and sleeps in;
 * the server is left stopped there. */
static uint64_t start_sleep(struct aoki_chan *ch, pid_t srv, struct call *c, uint32_t us,
			    pthread_t *th)
{
	uint64_t p = atomic_load(&ch->ring.tail);

	*c = (struct call){ .ch = ch, .op = ECHO_OP_SLEEP, .arg = us, .rep_len = 999 };
	CHECK_EQ(pthread_create(th, NULL, call_main, c), 0);
	/* Queued (an acquire of the caller's release: its writes to the slot
	 * come before ours), then taken. */
	WAIT_FOR(state_at(ch, p) == slot_state(p, SLOT_QUEUED), 5000);
	WAIT_FOR(atomic_load(&ch->hdr->srv_head) == p + 1, 5000);
	/* Frozen inside the handler: nothing published for p yet. */
	stop(srv);
	CHECK_EQ(state_at(ch, p), slot_state(p, SLOT_QUEUED));
	CHECK(atomic_load(&ch->hdr->reply_pos) != p + 1);
	return p;
}

/* Record present, synchronous: the waiting call gets the recorded reply. */
static pid_t cut_reply_sync(struct aoki_chan *ch, pid_t srv)
{
	struct call c;
	pthread_t th;
	uint64_t p = start_sleep(ch, srv, &c, 2000000, &th);
	int64_t t_kill;

	/* Real: the server dies with the request taken, inside the handler. */
	t_kill = t_now_ns();
	kill9(srv);
	/* Injected: the handler had finished with the echo server's SLEEP
	 * reply (0, empty) and the kill landed in req_publish before the
	 * DONE store.  A rerun of what is left in the slot would be SLEEP
	 * with 0 bytes: -EINVAL. */
	publish_cut_short(ch, p, 0, NULL, 0);
	CHECK_EQ(state_at(ch, p), slot_state(p, SLOT_QUEUED));
	/* The same state again, with release: the next server's DONE store
	 * comes from another process, which ThreadSanitizer cannot see, so
	 * this orders our writes before the caller's reads of the reply. */
	atomic_store_explicit(&slot_at(ch, p)->state, slot_state(p, SLOT_QUEUED),
			      memory_order_release);
	srv = spawn("edge1");
	CHECK(joined_within(th, 10000));
	CHECK_EQ(c.r, 0);
	CHECK_EQ(c.rep_len, 0);
	printf("note: cut_reply: a reply cut short by the crash delivered %.0f ms after the kill"
	       " (a full rerun sleeps 2000 ms)\n", (c.done_ns - t_kill) / 1e6);
	return srv;
}

/* Record present, async: the completion carries the recorded payload. */
static pid_t cut_reply_async(struct aoki_chan *ch, pid_t srv)
{
	uint64_t ab[2] = { 0x1234567890ull, 0x1111111111ull }, sum = ab[0] + ab[1], got;
	struct aoki_sqe sqe = { .op = ECHO_OP_ADD, .len = sizeof(ab), .tag = 77, .data = ab };
	struct aoki_cqe cqe;
	uint64_t p;

	/* Real: the server is stopped, then killed without having taken it. */
	stop(srv);
	p = atomic_load(&ch->ring.tail);
	CHECK_EQ(aoki_submit(ch, &sqe, 1), 1);
	CHECK_EQ(atomic_load(&ch->hdr->srv_head), p);
	kill9(srv);
	/* Injected: it took the ADD (srv_head), ran it (a + b, 8 bytes) and
	 * died in req_publish before the DONE store.  A rerun of what is left
	 * (ADD with 8 bytes) would be -EINVAL. */
	atomic_store(&ch->hdr->srv_head, p + 1);
	publish_cut_short(ch, p, 0, &sum, sizeof(sum));
	srv = spawn("edge1");
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, 5000000000ll), 1);
	CHECK_EQ(cqe.tag, 77);
	CHECK_EQ(cqe.status, 0);
	CHECK_EQ(cqe.len, sizeof(sum));
	memcpy(&got, cqe.payload, sizeof(got));
	CHECK(got == sum);
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 0, 0), 0);	/* exactly once */
	return srv;
}

/* Record absent: the server died inside the handler, the request is
 * intact and runs again in full. */
static pid_t cut_reply_absent(struct aoki_chan *ch, pid_t srv)
{
	const uint32_t us = 500000;
	struct call c;
	pthread_t th;
	uint64_t p = start_sleep(ch, srv, &c, us, &th);
	int64_t t_kill;

	/* Real: killed inside the handler, so there is no record for p
	 * (start_sleep checked); nothing injected but the poison below. */
	t_kill = t_now_ns();
	kill9(srv);
	/* The record names an earlier request: were it used for p anyway,
	 * the call would return this status. */
	ch->hdr->reply_status = 12345;
	srv = spawn("edge1");
	CHECK(joined_within(th, 10000));
	CHECK_EQ(c.r, 0);
	CHECK(c.done_ns - t_kill >= (int64_t)us * 1000);	/* it slept again */
	CHECK_EQ(state_at(ch, p), slot_state(p, SLOT_DONE));
	return srv;
}

static void cut_reply(void)
{
	struct aoki_chan *ch;
	pid_t srv = spawn("edge1");

	CHECK_EQ(aoki_connect("edge1", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	srv = cut_reply_sync(ch, srv);
	CHECK(t_echo_ok(ch, 2));
	srv = cut_reply_async(ch, srv);
	CHECK(t_echo_ok(ch, 3));
	srv = cut_reply_absent(ch, srv);
	CHECK(t_echo_ok(ch, 4));
	aoki_close(ch);
	kill9(srv);
}

/* ------------------------------------------------------------ 2 */

struct grant_op {
	struct aoki_chan *ch;
	uint32_t id;
	int fd;
	int r;
};

static void *revoke_main(void *p)
{
	struct grant_op *g = p;

	g->r = aoki_grant_revoke(g->ch, g->id);
	return NULL;
}

static void *register_main(void *p)
{
	struct grant_op *g = p;

	g->r = aoki_grant_register_fd(g->ch, g->fd, AOKI_GRANT_READ, &g->id);
	return NULL;
}

/*
 * The order of events that broke it: the server completes the revoke and
 * dies; the revoker sees its reply while another thread, which holds the
 * control lock for a control round trip the death cut short, reconnects
 * and hands the new server every grant it has on record - the revoked one
 * included, since the revoker has not taken it off the record yet.
 */
static void revoke_vs_reconnect(void)
{
	struct grant_op rv, reg;
	struct aoki_grant_ref ref;
	struct aoki_chan *ch;
	pthread_t t_rv, t_reg;
	uint64_t sum = 0, p;
	uint8_t *mem;
	size_t len;
	uint32_t id;
	pid_t srv = spawn("edge2");

	CHECK_EQ(aoki_connect("edge2", NULL, &ch), 0);
	CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &id, (void **)&mem), 0);
	memset(mem, 1, 4096);
	ref = (struct aoki_grant_ref){ .grant = id, .offset = 0, .length = 4096 };
	CHECK_EQ(aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), &sum, sizeof(sum), &len), 0);
	CHECK(sum == 4096);

	/* Real: the server stops; the revoke is queued and waits. */
	stop(srv);
	p = atomic_load(&ch->ring.tail);
	rv = (struct grant_op){ .ch = ch, .id = id, .r = 99 };
	CHECK_EQ(pthread_create(&t_rv, NULL, revoke_main, &rv), 0);
	WAIT_FOR(state_at(ch, p) == slot_state(p, SLOT_QUEUED), 5000);
	/* Real: another thread's control round trip (an unsealed memfd: the
	 * server will refuse it with -EPERM) holds the control lock while it
	 * waits for the stopped server's answer. */
	reg = (struct grant_op){ .ch = ch, .fd = memfd_create("edge-unsealed", MFD_CLOEXEC),
				 .r = 99 };
	CHECK(reg.fd >= 0);
	CHECK_EQ(ftruncate(reg.fd, 4096), 0);
	CHECK_EQ(pthread_create(&t_reg, NULL, register_main, &reg), 0);
	WAIT_FOR(unread_by_peer(ch->ctl_fd) > 0, 5000);
	/* Injected: the server took the revoke, revoked, published its reply
	 * (status 0) and stored DONE - which it cannot do while stopped. */
	atomic_store(&ch->hdr->srv_head, p + 1);
	publish_cut_short(ch, p, 0, NULL, 0);
	atomic_store_explicit(&slot_at(ch, p)->state, slot_state(p, SLOT_DONE),
			      memory_order_release);
	/* The revoker has its reply (it sleeps in slices of 10 ms at most)
	 * and goes on to the control lock, held by the round trip. */
	WAIT_FOR(atomic_load(&ch->ring.consumed[p & ch->geom.mask]) == slot_state(p, SLOT_DONE),
		 5000);
	t_sleep_ms(50);
	/* Real: the server dies; the round trip fails and reconnects. */
	kill9(srv);
	srv = spawn("edge2");
	CHECK(joined_within(t_reg, 10000));
	CHECK(joined_within(t_rv, 10000));
	CHECK_EQ(reg.r, -EPERM);
	CHECK_EQ(rv.r, 0);
	/* Revoked: the new server must not know the grant. */
	sum = 0;
	CHECK_EQ(aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), &sum, sizeof(sum), &len),
		 -ENOENT);
	CHECK_EQ(aoki_grant_revoke(ch, id), -ENOENT);
	CHECK(t_echo_ok(ch, 1));
	printf("note: revoke_vs_reconnect: revoke 0, then GRANT_SUM on the id -ENOENT after"
	       " %u reconnect(s)\n", ch->reconnects);
	close(reg.fd);
	aoki_close(ch);
	kill9(srv);
}

/* ------------------------------------------------------------ 3 */

/* How many GRANT_ADD messages (with a descriptor each) a Unix stream
 * socket takes before its sender would block. */
static unsigned grant_adds_that_fit(void)
{
	struct ctl_msg m = { .rights = AOKI_GRANT_READ };
	int sv[2], devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	unsigned n = 0;

	CHECK(devnull >= 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	while (n < 100000 && ctl_send(sv[0], CTL_GRANT_ADD, &m, &devnull, 1) == 0)
		n++;
	close(sv[0]);
	close(sv[1]);
	close(devnull);
	return n;
}

static void resume_deadline(void)
{
	const int64_t reconnect_ns = 300000000;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct aoki_chan *ch;
	struct call c;
	struct rlimit rl;
	unsigned fit = grant_adds_that_fit(), n = fit + 100;
	pthread_t th;
	int64_t t0;
	int l;
	pid_t srv;

	/* The handshake must not fit, or it would not block on old code. */
	CHECK(n <= CHAN_MAX_GRANTS);
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * n + 256 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	srv = spawn("edge3");
	CHECK_EQ(aoki_connect("edge3", &(struct aoki_chan_opts){ .max_grants = CHAN_MAX_GRANTS,
								 .reconnect_ns = reconnect_ns },
			      &ch), 0);
	for (unsigned i = 0; i < n; i++) {
		uint32_t id;
		void *mem;

		CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &id, &mem), 0);
	}
	CHECK(t_echo_ok(ch, 1));
	/* Real: the server dies, and a supervisor holds the port: a listening
	 * socket on which nobody accepts. */
	kill9(srv);
	CHECK(aoki_port_path("edge3", sa.sun_path, sizeof(sa.sun_path)) > 0);
	unlink(sa.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0);
	CHECK_EQ(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(l, 16), 0);
	c = (struct call){ .ch = ch, .op = ECHO_OP_ECHO };
	t0 = t_now_ns();
	CHECK_EQ(pthread_create(&th, NULL, call_main, &c), 0);
	/* reconnect_ns is 300 ms: 5 s is slack for a loaded machine, not a
	 * deadline the library may use. */
	CHECK(joined_within(th, 5000));
	CHECK_EQ(c.r, -ETIMEDOUT);
	CHECK(c.done_ns - t0 >= reconnect_ns);
	printf("note: resume_deadline: %u grants (the socket takes %u): -ETIMEDOUT after %.0f ms"
	       " (reconnect_ns 300 ms)\n", n, fit, (c.done_ns - t0) / 1e6);
	/* Lost for good, at once. */
	t0 = t_now_ns();
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ETIMEDOUT);
	CHECK(t_now_ns() - t0 < 1000000000);
	aoki_close(ch);
	close(l);
}

/* ------------------------------------------------------------ 4 */

struct create {
	struct aoki_chan *ch;
	int r;
};

static void *create_main(void *p)
{
	struct create *c = p;
	uint32_t id;
	void *mem;

	c->r = aoki_grant_create(c->ch, 4096, AOKI_GRANT_READ, &id, &mem);
	return NULL;
}

static void bye_during_grant(void)
{
	struct ctl_msg bad = { 0 };
	struct aoki_chan *ch;
	struct create c;
	pthread_t th;
	int queued;
	pid_t srv = spawn("edge4");

	CHECK_EQ(aoki_connect("edge4", NULL, &ch), 0);
	CHECK(t_echo_ok(ch, 1));
	/* Real: the server stops, so that both messages below wait for it
	 * in this order. */
	stop(srv);
	/* Injected: a protocol violation on the control socket (a message
	 * type that does not exist; the library never sends one), for which
	 * the server drops the channel with CTL_BYE. */
	CHECK_EQ(ctl_send(ch->ctl_fd, 99, &bad, NULL, 0), 0);
	queued = unread_by_peer(ch->ctl_fd);
	CHECK(queued > 0);
	c = (struct create){ .ch = ch, .r = 99 };
	CHECK_EQ(pthread_create(&th, NULL, create_main, &c), 0);
	WAIT_FOR(unread_by_peer(ch->ctl_fd) > queued, 5000);	/* GRANT_ADD sent */
	/* Real: the server reads the violation, says goodbye, hangs up. */
	CHECK_EQ(kill(srv, SIGCONT), 0);
	CHECK(joined_within(th, 10000));
	CHECK_EQ(c.r, -ECONNRESET);
	/* Dropped, so never resumed: the same error from now on. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, NULL, 0, NULL, 0, NULL), -ECONNRESET);
	CHECK_EQ(ch->reconnects, 0);
	aoki_close(ch);
	kill9(srv);
}

/* ------------------------------------------------------------ 5 */

static void unread_acks(void)
{
	struct ctl_msg m = { .rights = AOKI_GRANT_READ };
	struct aoki_chan *bad, *good;
	struct pollfd pfd;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), r = 0;
	unsigned sent = 0;
	int64_t t0;
	pid_t srv = spawn("edge5");

	CHECK(devnull >= 0);
	CHECK_EQ(aoki_connect("edge5", NULL, &bad), 0);
	/* Real (no injection into memory): the control socket used by hand,
	 * as a hostile client would.  GRANT_ADDs (the server refuses
	 * /dev/null, and says so in each GRANT_ACK) as fast as the server
	 * reads them, the acknowledgements never read, until the server hangs
	 * up or stops reading for 2 s. */
	CHECK_EQ(fcntl(bad->ctl_fd, F_SETFL, O_NONBLOCK), 0);
	while (sent < 100000) {
		r = ctl_send(bad->ctl_fd, CTL_GRANT_ADD, &m, &devnull, 1);
		if (r == 0) {
			sent++;
			continue;
		}
		if (r != -EAGAIN)
			break;
		pfd = (struct pollfd){ .fd = bad->ctl_fd, .events = POLLOUT };
		if (poll(&pfd, 1, 2000) == 0)
			break;	/* the server stopped reading */
	}
	/* A well-behaved client is served meanwhile. */
	t0 = t_now_ns();
	CHECK_EQ(aoki_connect("edge5", NULL, &good), 0);
	printf("note: unread_acks: %u GRANT_ADDs unread (%s), then a new client connected in"
	       " %.1f ms\n", sent, strerror(-r), (t_now_ns() - t0) / 1e6);
	CHECK(t_echo_ok(good, 1));
	/* The flooder was dropped: its control socket hung up. */
	pfd = (struct pollfd){ .fd = bad->ctl_fd, .events = POLLRDHUP };
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK(pfd.revents & (POLLHUP | POLLRDHUP));
	aoki_close(good);
	aoki_close(bad);
	close(devnull);
	kill9(srv);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "cut_reply", cut_reply },
	{ "revoke_vs_reconnect", revoke_vs_reconnect },
	{ "resume_deadline", resume_deadline },
	{ "bye_during_grant", bye_during_grant },
	{ "unread_acks", unread_acks },
};

int main(int argc, char **argv)
{
	int ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	signal(SIGPIPE, SIG_IGN);
	t_run_dir();
	t_child_track(0, 0);	/* registers the cleanup after t_run_dir's */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = argc < 2;
		int64_t t0 = t_now_ns();

		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], cases[i].name) == 0;
		if (!want)
			continue;
		cases[i].run();
		printf("%s: ok (%.0f ms)\n", cases[i].name, (t_now_ns() - t0) / 1e6);
		ran++;
	}
	CHECK(ran > 0);	/* a misspelt case name runs nothing */
	return 0;
}
