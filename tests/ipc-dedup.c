/* SPDX-License-Identifier: MIT */
/*
 * ipc-dedup: the exactly-once table (aoki/dedup.h).
 *   - NEW -> commit -> the same (client, seq) is DONE with the same reply;
 *     misuse (commit without begin, twice) is refused; geometry adoption,
 *     mismatch (-EINVAL), a second opener (-EBUSY);
 *   - a process that begins and dies: INTERRUPTED in the next one;
 *   - a process SIGKILLed after committing: DONE in the next one;
 *   - SIGKILL at random instructions of a begin/commit loop: every record
 *     left is whole (its result is the one its tag names);
 *   - -E2BIG, LRU eviction, pinned slots never evicted (-ENOSPC), forget;
 *   - corrupt files (truncated, bad magic/version/geometry, garbage):
 *     -EBADMSG, never a crash; garbage slot words are swept at open; a
 *     corrupt record gives -EBADMSG;
 *   - pins last until the reply is published, not only until commit: a
 *     committed request whose reply is not out yet (in this process, or
 *     after a SIGKILL) survives 1000 other clients passing through its
 *     slots, and its rerun is DONE (INTERRUPTED if it was only begun);
 *     once published, the slot is evictable again;
 *   - positions: seq UINT64_MAX (whose tag would be a cleared record's)
 *     is refused, and a claimed slot keeps no byte of its previous
 *     owner's records, so another uid's forged position reads nothing;
 *   - a real server with 2 workers and more channels than client slots:
 *     every handler call begins, commits, and finds its reply DONE, and
 *     no slot stays pinned once the replies are out.
 * Requests are faked (struct aoki_req from the private server.h) except in
 * the last part; "publishing" a fake request's reply is calling
 * dedup_req_published(), as req_publish does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aoki/dedup.h"
#include "ipc_util.h"
#include "../lib/ipc/dedup_hook.h"
#include "../lib/ipc/dedup_layout.h"
#include "../lib/ipc/server.h"

static char path[256];

/* A fake channel: client @n of uid 1000 with a ring of @nslots. */
static void fake_chan(struct srv_chan *ch, unsigned n, unsigned nslots)
{
	memset(ch, 0, sizeof(*ch));
	ch->peer.uid = 1000;
	memset(ch->client_id, 0xa5, sizeof(ch->client_id));
	memcpy(ch->client_id, &n, sizeof(n));
	ch->geom.nslots = nslots;
}

static void fake_req(struct aoki_req *req, struct srv_chan *ch, uint64_t seq)
{
	memset(req, 0, sizeof(*req));
	req->ch = ch;
	req->pos = seq;
	/* The slot a single-threaded client with free slots uses. */
	req->idx = ch->geom.nslots ? (uint32_t)(seq & (ch->geom.nslots - 1)) : 0;
}

static struct aoki_dedup *open_ok(unsigned clients, unsigned window)
{
	struct aoki_dedup_opts o = { .max_clients = clients, .window = window };
	struct aoki_dedup *dd = NULL;

	CHECK_EQ(aoki_dedup_open(path, &o, &dd), 0);
	return dd;
}

/* The reply a test records for @seq. */
static void reply_for(struct aoki_req *req, uint64_t seq)
{
	uint8_t buf[AOKI_MSG_PAYLOAD];
	size_t n = t_tag_fill(seq, buf);

	CHECK_EQ(aoki_req_reply(req, (int32_t)(seq % 1000), buf, n), 0);
}

/* begin, and if NEW or INTERRUPTED, reply and commit; unless @publish
 * is 0, then publish the reply; returns begin's result. */
static int run_req(struct aoki_dedup *dd, struct srv_chan *ch, uint64_t seq, int publish)
{
	struct aoki_req req;
	int r;

	fake_req(&req, ch, seq);
	r = aoki_dedup_begin(dd, &req);
	if (r == AOKI_DEDUP_NEW || r == AOKI_DEDUP_INTERRUPTED) {
		reply_for(&req, seq);
		CHECK_EQ(aoki_dedup_commit(dd, &req), 0);
	} else if (r == AOKI_DEDUP_DONE) {
		CHECK_EQ(req.status, seq % 1000);
		CHECK(t_tag_check(seq, req.rep, req.rep_len));
	}
	if (publish)
		dedup_req_published(&req);
	return r;
}

static int run_once(struct aoki_dedup *dd, struct srv_chan *ch, uint64_t seq)
{
	return run_req(dd, ch, seq, 1);
}

static int begin_only(struct aoki_dedup *dd, struct srv_chan *ch, uint64_t seq)
{
	struct aoki_req req;

	fake_req(&req, ch, seq);
	return aoki_dedup_begin(dd, &req);
}

static void test_basic(void)
{
	struct aoki_dedup_opts o = { 0 }, g;
	struct aoki_dedup *dd = open_ok(8, 4), *dd2;
	struct srv_chan ch;
	struct aoki_req req;

	fake_chan(&ch, 1, 4);
	CHECK_EQ(run_once(dd, &ch, 0), AOKI_DEDUP_NEW);
	CHECK_EQ(run_once(dd, &ch, 0), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch, 1), AOKI_DEDUP_NEW);
	/* Commit twice, after DONE, without begin. */
	fake_req(&req, &ch, 1);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EALREADY);
	CHECK_EQ(aoki_dedup_begin(dd, &req), AOKI_DEDUP_DONE);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EALREADY);
	fake_req(&req, &ch, 2);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EINVAL);
	/* Begun twice without commit: the second sees the first. */
	CHECK_EQ(begin_only(dd, &ch, 2), AOKI_DEDUP_NEW);
	fake_req(&req, &ch, 2);
	CHECK_EQ(aoki_dedup_begin(dd, &req), AOKI_DEDUP_INTERRUPTED);
	reply_for(&req, 2);
	CHECK_EQ(aoki_dedup_commit(dd, &req), 0);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EALREADY);
	fake_req(&req, &ch, 2);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EALREADY);
	/* seq 4 reuses seq 0's record: the stale one reads as NEW. */
	CHECK_EQ(run_once(dd, &ch, 4), AOKI_DEDUP_NEW);
	CHECK_EQ(run_once(dd, &ch, 4), AOKI_DEDUP_DONE);
	/* One opener at a time. */
	CHECK_EQ(aoki_dedup_open(path, NULL, &dd2), -EBUSY);
	aoki_dedup_close(dd);

	/* Zero options adopt the file's geometry; others must match. */
	CHECK_EQ(aoki_dedup_open(path, NULL, &dd), 0);
	aoki_dedup_geometry(dd, &g);
	CHECK_EQ(g.max_clients, 8);
	CHECK_EQ(g.window, 4);
	CHECK_EQ(run_once(dd, &ch, 4), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch, 1), AOKI_DEDUP_DONE);
	aoki_dedup_close(dd);
	o.window = 8;
	CHECK_EQ(aoki_dedup_open(path, &o, &dd), -EINVAL);
	o = (struct aoki_dedup_opts){ .max_clients = 8 };
	CHECK_EQ(aoki_dedup_open(path, &o, &dd), 0);
	aoki_dedup_close(dd);
	o = (struct aoki_dedup_opts){ .window = 3 };
	CHECK_EQ(aoki_dedup_open(path, &o, &dd), -EINVAL);
	o = (struct aoki_dedup_opts){ .max_clients = 65536, .window = 65536 };
	CHECK_EQ(aoki_dedup_open(path, &o, &dd), -EINVAL);	/* over 1 GiB */
	CHECK_EQ(aoki_dedup_open("", NULL, &dd), -EINVAL);
	aoki_dedup_close(NULL);

	/* -E2BIG: a ring larger than the window. */
	dd = open_ok(8, 4);
	fake_chan(&ch, 2, 8);
	CHECK_EQ(begin_only(dd, &ch, 0), -E2BIG);
	aoki_dedup_close(dd);
	unlink(path);
}

/* A child that opens the table, runs @fn, and dies as @fn says. */
static pid_t child(void (*fn)(int fd), int *rfd)
{
	int p[2];
	pid_t pid;

	CHECK_EQ(pipe(p), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		fn(p[1]);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* The child's work: commit child_seq, begin child_seq + 1, then exit
 * without closing, or with child_waits, wait to be SIGKILLed. */
static uint64_t child_seq;
static int child_waits;

static void child_commit_begin(int fd)
{
	struct aoki_dedup *dd = open_ok(8, 4);
	struct srv_chan ch;

	fake_chan(&ch, 3, 4);
	if (run_once(dd, &ch, child_seq) != AOKI_DEDUP_NEW ||
	    begin_only(dd, &ch, child_seq + 1) != AOKI_DEDUP_NEW)
		_exit(1);
	if (!child_waits)
		_exit(0);
	if (write(fd, "k", 1) != 1)
		_exit(1);
	pause();
}

static void test_death(void)
{
	struct aoki_dedup *dd;
	struct srv_chan ch;
	int status, rfd;
	char c;
	pid_t pid;

	fake_chan(&ch, 3, 4);
	/* Begins seq 3 and exits: INTERRUPTED; its committed seq 2: DONE. */
	child_seq = 2;
	pid = child(child_commit_begin, &rfd);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(rfd);
	dd = open_ok(0, 0);
	CHECK_EQ(run_once(dd, &ch, 3), AOKI_DEDUP_INTERRUPTED);
	CHECK_EQ(run_once(dd, &ch, 3), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch, 2), AOKI_DEDUP_DONE);
	aoki_dedup_close(dd);

	/* Commits seq 5, begins seq 6, is SIGKILLed. */
	child_seq = 5;
	child_waits = 1;
	pid = child(child_commit_begin, &rfd);
	CHECK_EQ(read(rfd, &c, 1), 1);
	close(rfd);
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	dd = open_ok(0, 0);
	CHECK_EQ(run_once(dd, &ch, 5), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch, 6), AOKI_DEDUP_INTERRUPTED);
	CHECK_EQ(run_once(dd, &ch, 7), AOKI_DEDUP_NEW);
	aoki_dedup_close(dd);
	unlink(path);
}

static unsigned loop_client;

static void child_loops(int fd)
{
	struct aoki_dedup *dd = open_ok(4, 8);
	struct srv_chan ch;

	fake_chan(&ch, loop_client, 8);
	if (write(fd, "k", 1) != 1)
		_exit(1);
	for (uint64_t seq = 0;; seq++)
		run_once(dd, &ch, seq);
}

/*
 * SIGKILL a begin/commit loop at random points, many times, a new client
 * each time (so claims and evictions get killed too): every record of a
 * live slot with a done tag holds that tag's result, begun is never
 * behind done, and the table reopens.
 */
static void test_kill_loop(void)
{
	for (int round = 0; round < 20; round++) {
		struct aoki_dedup *dd;
		int status, rfd;
		char c;
		pid_t pid;

		loop_client = 100 + (unsigned)round;
		pid = child(child_loops, &rfd);

		CHECK_EQ(read(rfd, &c, 1), 1);
		close(rfd);
		usleep(200 + (unsigned)round * 137 % 3000);
		kill(pid, SIGKILL);
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		dd = open_ok(4, 8);
		for (unsigned i = 0; i < 4 * 8; i++) {
			struct dd_rec *rec = &dd->recs[i];
			uint64_t done = atomic_load(&rec->done);

			if (dd_kind_of(atomic_load(&dd->slots[i / 8].state)) != DD_LIVE || !done)
				continue;
			CHECK(atomic_load(&rec->begun) >= done);
			CHECK_EQ(rec->status, (done - 1) % 1000);
			CHECK(t_tag_check(done - 1, rec->rep, rec->rep_len));
		}
		aoki_dedup_close(dd);
	}
	unlink(path);
}

static void test_eviction(void)
{
	struct aoki_dedup *dd = open_ok(4, 4);
	struct srv_chan ch[6];
	struct aoki_req req[5];

	for (unsigned i = 0; i < 6; i++)
		fake_chan(&ch[i], 10 + i, 4);
	for (unsigned i = 0; i < 4; i++)	/* 0 is the least recently used */
		CHECK_EQ(run_once(dd, &ch[i], 0), AOKI_DEDUP_NEW);
	CHECK_EQ(run_once(dd, &ch[1], 0), AOKI_DEDUP_DONE);	/* now 0, 2, 3, 1 */
	CHECK_EQ(run_once(dd, &ch[4], 0), AOKI_DEDUP_NEW);	/* evicts 0 */
	CHECK_EQ(run_once(dd, &ch[0], 0), AOKI_DEDUP_NEW);	/* lost; evicts 2 */
	CHECK_EQ(run_once(dd, &ch[1], 0), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch[3], 0), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch[2], 0), AOKI_DEDUP_NEW);	/* lost; evicts 4 */

	/* Pinned slots (begun, not committed) are never evicted. */
	for (unsigned i = 0; i < 4; i++) {
		fake_req(&req[i], &ch[i], 1);
		CHECK_EQ(aoki_dedup_begin(dd, &req[i]), AOKI_DEDUP_NEW);
	}
	CHECK_EQ(begin_only(dd, &ch[5], 0), -ENOSPC);
	CHECK_EQ(aoki_dedup_forget(dd, 1000, ch[1].client_id), -EBUSY);
	for (unsigned i = 0; i < 4; i++) {
		reply_for(&req[i], 1);
		CHECK_EQ(aoki_dedup_commit(dd, &req[i]), 0);
		CHECK_EQ(run_once(dd, &ch[i], 1), AOKI_DEDUP_DONE);
	}
	CHECK_EQ(aoki_dedup_forget(dd, 1000, ch[1].client_id), 0);
	CHECK_EQ(aoki_dedup_forget(dd, 1000, ch[1].client_id), -ENOENT);
	CHECK_EQ(aoki_dedup_forget(dd, 1001, ch[2].client_id), -ENOENT);
	CHECK_EQ(run_once(dd, &ch[5], 0), AOKI_DEDUP_NEW);	/* takes 1's slot */
	CHECK_EQ(run_once(dd, &ch[0], 1), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &ch[1], 1), AOKI_DEDUP_NEW);	/* forgotten */
	aoki_dedup_close(dd);
	unlink(path);
}

/* ------------------------------------- pinned until the reply is out */

#define PASSERS 1000

/* @n clients other than those of test_pins, each running one request to
 * the end (published): they claim and evict every slot they can. */
static void pass_through(struct aoki_dedup *dd, unsigned first, unsigned n)
{
	struct srv_chan other;

	for (unsigned i = 0; i < n; i++) {
		fake_chan(&other, first + i, 4);
		CHECK_EQ(run_once(dd, &other, 0), AOKI_DEDUP_NEW);
	}
}

/* The child: commit seq 0 of client 50 without publishing (and begin
 * seq 1 of client 51 without committing), then wait for SIGKILL. */
static void child_commit_unpublished(int fd)
{
	struct aoki_dedup *dd = open_ok(16, 4);
	struct srv_chan a, b;

	fake_chan(&a, 50, 4);
	fake_chan(&b, 51, 4);
	if (run_req(dd, &a, 0, 0) != AOKI_DEDUP_NEW || begin_only(dd, &b, 1) != AOKI_DEDUP_NEW)
		_exit(1);
	if (write(fd, "k", 1) != 1)
		_exit(1);
	pause();
}

/*
 * Hole (a): commit used to unpin the slot, so between the commit and the
 * reply's publication (in this process, or after a crash in that window)
 * other clients could evict it, and the rerun found no record: NEW, a
 * duplicate.  Now the record pins its slot until published.
 */
static void test_pins(void)
{
	struct aoki_dedup *dd = open_ok(16, 4);
	struct srv_chan a, b;
	struct aoki_req req;
	int status, rfd;
	char c;
	pid_t pid;

	/* In one process: committed, not yet published. */
	fake_chan(&a, 40, 4);
	fake_req(&req, &a, 0);
	CHECK_EQ(aoki_dedup_begin(dd, &req), AOKI_DEDUP_NEW);
	reply_for(&req, 0);
	CHECK_EQ(aoki_dedup_commit(dd, &req), 0);
	pass_through(dd, 1000, PASSERS);
	CHECK_EQ(run_req(dd, &a, 0, 0), AOKI_DEDUP_DONE);	/* the rerun: not again */
	/* Begun, not committed: the rerun is INTERRUPTED, never NEW. */
	fake_req(&req, &a, 1);
	CHECK_EQ(aoki_dedup_begin(dd, &req), AOKI_DEDUP_NEW);
	pass_through(dd, 3000, PASSERS);
	CHECK_EQ(run_req(dd, &a, 1, 1), AOKI_DEDUP_INTERRUPTED);
	/* Published (seq 0 now too): evictable again, no pin is left. */
	fake_req(&req, &a, 0);
	dedup_req_published(&req);	/* req.dedup is NULL: a no-op */
	CHECK_EQ(run_once(dd, &a, 0), AOKI_DEDUP_DONE);
	pass_through(dd, 5000, PASSERS);
	CHECK_EQ(run_once(dd, &a, 0), AOKI_DEDUP_NEW);	/* records lost: it was delivered */
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(dd_busy_of(atomic_load(&dd->slots[i].state)), 0);
	aoki_dedup_close(dd);
	unlink(path);

	/* Across a crash: the dead process's pins are counted again at open. */
	pid = child(child_commit_unpublished, &rfd);
	CHECK_EQ(read(rfd, &c, 1), 1);
	close(rfd);
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	dd = open_ok(16, 4);
	fake_chan(&a, 50, 4);
	fake_chan(&b, 51, 4);
	pass_through(dd, 7000, PASSERS);
	CHECK_EQ(run_once(dd, &a, 0), AOKI_DEDUP_DONE);
	CHECK_EQ(run_once(dd, &b, 1), AOKI_DEDUP_INTERRUPTED);
	pass_through(dd, 9000, PASSERS);
	CHECK_EQ(run_once(dd, &a, 0), AOKI_DEDUP_NEW);
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(dd_busy_of(atomic_load(&dd->slots[i].state)), 0);
	aoki_dedup_close(dd);
	unlink(path);
}

/*
 * Hole (b): the tag of position 2^64 - 1 was 0, a cleared record's, and
 * a claim cleared only the tags: another uid's client that took over the
 * slot and forged that position got the previous owner's reply as DONE.
 */
static void test_forged_position(void)
{
	static const uint8_t zero[AOKI_MSG_PAYLOAD];
	struct aoki_dedup *dd = open_ok(1, 4);
	struct srv_chan victim, thief;
	struct aoki_req req;
	struct dd_rec *rec = &dd->recs[3];	/* slot 0, seq 3 mod 4 */
	uint64_t seq = 3;

	fake_chan(&victim, 60, 4);
	while (t_tag_len(seq) < 8)	/* a reply with bytes to steal */
		seq += 4;
	CHECK_EQ(run_once(dd, &victim, seq), AOKI_DEDUP_NEW);
	fake_chan(&thief, 61, 4);
	thief.peer.uid = 2000;
	/* The only slot goes to the thief (the victim's reply is out). */
	fake_req(&req, &thief, UINT64_MAX);
	CHECK_EQ(aoki_dedup_begin(dd, &req), -ERANGE);
	CHECK_EQ(aoki_dedup_commit(dd, &req), -EINVAL);
	CHECK_EQ(run_once(dd, &thief, 0), AOKI_DEDUP_NEW);	/* claims slot 0 */
	CHECK_EQ(atomic_load(&rec->done), 0);
	CHECK_EQ(rec->status, 0);
	CHECK_EQ(rec->rep_len, 0);
	CHECK(memcmp(rec->rep, zero, sizeof(zero)) == 0);
	fake_req(&req, &thief, UINT64_MAX);
	CHECK_EQ(aoki_dedup_begin(dd, &req), -ERANGE);
	CHECK(req.rep_len == 0 && req.status == 0);
	/* One below: an ordinary (if forged) position, NEW. */
	CHECK_EQ(run_once(dd, &thief, UINT64_MAX - 1), AOKI_DEDUP_NEW);
	CHECK_EQ(run_once(dd, &thief, UINT64_MAX - 1), AOKI_DEDUP_DONE);
	aoki_dedup_close(dd);
	unlink(path);
}

/* Write @len bytes of @data as the table file. */
static void put_file(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void expect_bad(const void *data, size_t len, const char *what)
{
	struct aoki_dedup *dd = NULL;
	int r;

	put_file(data, len);
	r = aoki_dedup_open(path, NULL, &dd);
	if (r != -EBADMSG) {
		fprintf(stderr, "corrupt table (%s): open gave %d\n", what, r);
		exit(T_EXIT_FAIL);
	}
}

static uint64_t rnd_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_corrupt(void)
{
	struct dd_hdr g, h;
	static uint8_t img[64 + 8 * 64 + 8 * 4 * 64 + 64], bad[sizeof(img)];
	struct aoki_dedup *dd;
	struct srv_chan ch;
	size_t size;
	struct stat st;

	/* A valid table with one committed record, as bytes. */
	dd = open_ok(8, 4);
	fake_chan(&ch, 20, 4);
	CHECK_EQ(run_once(dd, &ch, 1), AOKI_DEDUP_NEW);
	aoki_dedup_close(dd);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(dd_geometry(8, 4, &g), 0);
	size = (size_t)g.total_size;
	CHECK_EQ(st.st_size, (off_t)size);
	CHECK(size + 64 <= sizeof(img));
	{
		int fd = open(path, O_RDONLY);

		CHECK_EQ(read(fd, img, size), (ssize_t)size);
		close(fd);
	}
	memcpy(&h, img, sizeof(h));

	expect_bad(img, 0, "empty");
	expect_bad(img, 32, "half a header");
	expect_bad(img, size - 1, "truncated by one byte");
	expect_bad(img, size - 64, "truncated by a record");
	expect_bad(img, size + 64, "extended");
#define BAD_FIELD(field, value)                                  \
	do {                                                     \
		struct dd_hdr b = h;                             \
		b.field = value;                                 \
		memcpy(bad, img, size);                          \
		memcpy(bad, &b, sizeof(b));                      \
		expect_bad(bad, size, #field " = " #value);      \
	} while (0)
	BAD_FIELD(magic, h.magic ^ 1);
	BAD_FIELD(version, 2);
	BAD_FIELD(hdr_size, 128);
	BAD_FIELD(slot_size, 32);
	BAD_FIELD(rec_size, 128);
	BAD_FIELD(max_clients, 0);
	BAD_FIELD(max_clients, 9);
	BAD_FIELD(max_clients, 0xffffffffu);
	BAD_FIELD(window, 3);
	BAD_FIELD(window, 0);
	BAD_FIELD(window, 8);
	BAD_FIELD(window, 1u << 31);
	BAD_FIELD(slots_off, 0);
	BAD_FIELD(recs_off, h.recs_off - 64);
	BAD_FIELD(total_size, h.total_size - 64);
	BAD_FIELD(total_size, 0);
#undef BAD_FIELD
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(rnd() % sizeof(bad));

		for (size_t j = 0; j < n; j++)
			bad[j] = (uint8_t)rnd();
		expect_bad(bad, n, "random garbage");
	}
	/* Not a regular file. */
	unlink(path);
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK(aoki_dedup_open(path, NULL, &dd) < 0);
	rmdir(path);

	/* Garbage slot words are swept: busy counts dropped, half-claimed
	 * slots freed, unknown kinds freed; keys and records kept. */
	memcpy(bad, img, size);
	{
		struct dd_slot *sl = (struct dd_slot *)(bad + g.slots_off);
		int live = -1;

		for (int i = 0; i < 8; i++) {
			uint64_t s = atomic_load(&sl[i].state);

			if (dd_kind_of(s) == DD_LIVE)
				live = i;
			else
				atomic_store(&sl[i].state, i & 1 ? dd_state(7, 3, DD_CLAIMING)
								  : ~0ull);
		}
		CHECK(live >= 0);
		atomic_store(&sl[live].state, dd_state(1, 99, DD_LIVE));
		put_file(bad, size);
		dd = open_ok(0, 0);
		for (int i = 0; i < 8; i++) {
			uint64_t s = atomic_load(&dd->slots[i].state);

			CHECK_EQ(dd_busy_of(s), 0);
			CHECK_EQ(dd_kind_of(s), i == live ? DD_LIVE : DD_FREE);
		}
		CHECK_EQ(run_once(dd, &ch, 1), AOKI_DEDUP_DONE);
		aoki_dedup_close(dd);
	}
	/* A record whose reply length is impossible. */
	dd = open_ok(0, 0);
	for (unsigned i = 0; i < 8 * 4; i++)
		if (atomic_load(&dd->recs[i].done) == 2)
			dd->recs[i].rep_len = 200;
	CHECK_EQ(begin_only(dd, &ch, 1), -EBADMSG);
	CHECK_EQ(run_once(dd, &ch, 2), AOKI_DEDUP_NEW);	/* the slot is not stuck */
	/* Random records and slots under a valid header: any answer, no crash. */
	for (size_t j = g.slots_off; j < size; j++)
		((uint8_t *)dd->map)[j] = (uint8_t)rnd();
	for (uint64_t seq = 0; seq < 64; seq++) {
		int r = run_once(dd, &ch, seq);

		CHECK(r == AOKI_DEDUP_NEW || r == AOKI_DEDUP_DONE || r == AOKI_DEDUP_INTERRUPTED ||
		      r == -EBADMSG || r == -ENOSPC || r == -EAGAIN);
	}
	aoki_dedup_close(dd);
	unlink(path);
}

/* ----------------------------------------------- through a real server */

#define OP_INCR 1
#define NCHAN 6
#define CALLS 2000

static struct aoki_dedup *srv_dd;
static _Atomic uint64_t counter;
static _Atomic int handler_failed;

/* A non-idempotent increment; after committing, the same request must
 * read back as DONE with the same reply. */
static int incr_handler(struct aoki_req *req, void *arg)
{
	struct aoki_req again;
	uint64_t v;
	int r = aoki_dedup_begin(srv_dd, req);

	if (r < 0 || r == AOKI_DEDUP_DONE)
		return r < 0 ? r : 0;
	if (aoki_req_rerun(req) == 0 && r != AOKI_DEDUP_NEW)
		atomic_store(&handler_failed, 1);
	v = atomic_fetch_add(&counter, 1) + 1;
	aoki_req_reply(req, 0, &v, sizeof(v));
	r = aoki_dedup_commit(srv_dd, req);
	if (r < 0)
		return r;
	again = *req;
	again.status = -1;
	again.rep_len = 0;
	if (aoki_dedup_begin(srv_dd, &again) != AOKI_DEDUP_DONE || again.status != 0 ||
	    again.rep_len != sizeof(v) || memcmp(again.rep, &v, sizeof(v)) != 0)
		atomic_store(&handler_failed, 1);
	return 0;
}

static _Atomic int client_failed;

static void *client_main(void *arg)
{
	struct aoki_chan_opts o = { .slots = 4 };
	struct aoki_chan *ch;
	uint64_t prev = 0;

	(void)arg;
	T_THREAD_CHECK(client_failed, aoki_connect("dd", &o, &ch) == 0);
	for (int i = 0; i < CALLS; i++) {
		uint64_t v = 0;
		size_t n = 0;
		int r = aoki_call(ch, OP_INCR, NULL, 0, &v, sizeof(v), &n);

		if (r != 0 || n != sizeof(v) || v <= prev) {
			fprintf(stderr, "call %d: status %d, %zu bytes, %llu after %llu\n", i, r,
				n, (unsigned long long)v, (unsigned long long)prev);
			atomic_store(&client_failed, 1);
			break;
		}
		prev = v;
	}
	aoki_close(ch);
	return NULL;
}

static void test_server(void)
{
	struct aoki_server_config cfg = {
		.port = "dd", .listen_fd = -1, .handler = incr_handler, .workers = 2,
		.quiet = 1,
	};
	struct aoki_server *srv;
	pthread_t th[NCHAN];

	/* Fewer slots than channels: claims and evictions race between the
	 * two workers. */
	srv_dd = open_ok(4, 4);
	CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
	CHECK_EQ(aoki_server_start(srv), 0);
	for (int i = 0; i < NCHAN; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, client_main, NULL), 0);
	for (int i = 0; i < NCHAN; i++)
		pthread_join(th[i], NULL);
	aoki_server_destroy(srv);
	/* Every reply was published, so every pin was released. */
	for (unsigned i = 0; i < 4; i++)
		if (dd_busy_of(atomic_load(&srv_dd->slots[i].state))) {
			fprintf(stderr, "slot %u still pinned after every reply went out: "
				"req_publish does not call dedup_req_published "
				"(lib/ipc/dedup_hook.h)\n", i);
			exit(T_EXIT_FAIL);
		}
	CHECK(!atomic_load(&client_failed));
	CHECK(!atomic_load(&handler_failed));
	CHECK_EQ(atomic_load(&counter), NCHAN * CALLS);
	aoki_dedup_close(srv_dd);
	unlink(path);
}

int main(void)
{
	snprintf(path, sizeof(path), "%s/dedup", t_run_dir());
	test_basic();
	test_death();
	test_kill_loop();
	test_eviction();
	test_pins();
	test_forged_position();
	test_corrupt();
	test_server();
	return T_EXIT_PASS;
}
