/* SPDX-License-Identifier: MIT */
/*
 * aoki/dedup.h - exactly-once request handling across server crashes.
 *
 * A resumed channel runs again every request that a dead server had taken
 * but not completed (aoki_req_rerun() == 1), so a plain handler gets
 * AT-LEAST-ONCE semantics: its side effect may happen twice.  A handler
 * whose operation must not run twice (append, counter increment, file
 * create) brackets it with aoki_dedup_begin() and aoki_dedup_commit():
 *
 *	r = aoki_dedup_begin(dd, req);
 *	if (r < 0)  return r;                  // -E2BIG, -ENOSPC, ...
 *	if (r == AOKI_DEDUP_DONE) return 0;    // recorded reply already set
 *	if (r == AOKI_DEDUP_INTERRUPTED && my_state_shows_it_done(req))
 *		reply = what it gave;          // reconcile, do not redo
 *	else
 *		do_it(req), reply = ...;       // side effect, made durable
 *	aoki_req_reply(req, status, reply, len);
 *	return aoki_dedup_commit(dd, req);
 *
 * THE GUARANTEE.  Requests are named by (peer uid, channel identity
 * aoki_req_client(), ring position aoki_req_seq()), which a resumed
 * channel keeps.  The table records, per request, "begun" and "result
 * recorded", each with one aligned 8-byte store in a MAP_SHARED file
 * mapping, so a server killed at any instruction (SIGKILL included)
 * leaves each request in exactly one of three states, which the next
 * server's aoki_dedup_begin() reports:
 *   NEW          never begun: run it;
 *   INTERRUPTED  begun, result not recorded: the side effect may or may
 *                not have happened; the handler must find out from its
 *                own state (the table cannot know);
 *   DONE         the result was recorded: the reply is replayed, the
 *                side effect is not repeated.
 * A handler gets EXACTLY-ONCE when it calls begin/commit and either makes
 * its side effect and the commit atomic, or reconciles on INTERRUPTED (its
 * state must say whether request (client, seq) was applied, e.g. a log
 * that stores the seq with each entry).  A handler that does neither
 * and treats INTERRUPTED as NEW stays at-least-once, but only a crash
 * between its side effect and its commit can repeat an operation.
 *
 * The table does not consult aoki_req_rerun(): its records are the only
 * truth, so a wrong or missing rerun flag cannot cause a duplicate.
 *
 * LIMITS of the guarantee (all documented in aoki_dedup(3)):
 *   - The table lives as long as its file.  Under the run directory
 *     (tmpfs) that is until reboot, the same lifetime as channels.
 *   - Each client (channel) owns one slot of @max_clients.  A channel
 *     that finds no slot takes the least recently used unpinned one and
 *     its records are lost.  A slot is pinned from a request's begin
 *     until the IPC library has published its reply in the channel (not
 *     merely until commit), across server crashes too: until then a
 *     crash makes the request run again, and its record must be there.
 *     So a request that can still be rerun never loses its record; a
 *     channel whose replies are all delivered can.  The price: a request
 *     cut off by a crash keeps its slot pinned until its channel resumes
 *     and the rerun's reply is published; a client that never comes back
 *     holds that slot (and the probe range sees one slot fewer) until the
 *     table file is removed.  Make max_clients larger than the number
 *     of channels connected at once (the default 256), and remember that
 *     channels of clients that have exited keep their slot until evicted.
 *   - Positions are below 2^64 - 1: begin refuses seq UINT64_MAX
 *     (-ERANGE; no channel reaches it, only a forged position can).
 *   - @window must be >= the ring size (aoki_req_window()) of every
 *     channel: a client's requests in flight are distinct modulo it.
 *   - One process at a time may open a table (an flock; -EBUSY).
 *   - A client can only hurt itself: its records are keyed by its uid and
 *     an identity it chose; forging another channel's identity of the
 *     same uid garbles that uid's replies, never the server's memory.
 */
#ifndef AOKI_DEDUP_H
#define AOKI_DEDUP_H

#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct aoki_dedup;		/* an open table (opaque) */

/* Table geometry; zero-initialise and set what you need. */
struct aoki_dedup_opts {
	unsigned max_clients;	/* client slots, [1, 65536]; 0: 256, or the file's */
	unsigned window;	/* records per client, a power of two in
				 * [2, 65536], >= the ring size of every
				 * channel; 0: 256, or the file's */
};

/*
 * aoki_dedup_open - open the table in file @path, creating it if absent
 * (mode 0600; atomically: a crash while creating leaves no file).  An
 * existing file is validated before use from a private copy of its
 * header (magic, version, every offset recomputed from the geometry, file
 * size) and never trusted afterwards: a corrupt file gives -EBADMSG, never
 * a crash.  A field of @opts (may be NULL) that is non-zero must equal the
 * existing table's (-EINVAL otherwise); a zero field adopts the file's.
 * Opening takes an exclusive flock(2) on the file, held until
 * aoki_dedup_close() or the process's death (the descriptor is
 * close-on-exec, but a fork()ed child that does not exec holds it too).
 * Returns 0 with *@out set, or -EINVAL (bad opts or path, geometry over
 * 1 GiB), -EBADMSG (not a valid table), -EBUSY (another process has it
 * open), -ENOMEM, or an open/ftruncate/mmap error.  Blocking (file I/O);
 * O(max_clients x window) to sweep the client slots left by a dead
 * server (each live slot stays pinned once per request whose reply was
 * not published).
 */
int aoki_dedup_open(const char *path, const struct aoki_dedup_opts *opts,
		    struct aoki_dedup **out);

/* aoki_dedup_close - unmap and close; no call may be running.  NULL is ok. */
void aoki_dedup_close(struct aoki_dedup *dd);

/* The table's geometry (what aoki_dedup_open adopted). */
void aoki_dedup_geometry(const struct aoki_dedup *dd, struct aoki_dedup_opts *out);

/* Results of aoki_dedup_begin(). */
enum {
	AOKI_DEDUP_NEW = 0,		/* run the operation */
	AOKI_DEDUP_DONE = 1,		/* recorded reply set; return 0 */
	AOKI_DEDUP_INTERRUPTED = 2,	/* begun before, no result: reconcile */
};

/*
 * aoki_dedup_begin - look up @req (uid, client identity, seq) and mark
 * it begun.  Returns:
 *   AOKI_DEDUP_DONE: the recorded status and reply are set on @req with
 *     aoki_req_reply(); the handler returns 0 and must not commit;
 *   AOKI_DEDUP_NEW or AOKI_DEDUP_INTERRUPTED: the request is now begun;
 *     the handler must call aoki_dedup_commit() exactly once for it,
 *     error replies included (until then a rerun reports INTERRUPTED);
 *   with all three the client slot is pinned until the library has
 *   published @req's reply (the slot cannot be evicted meanwhile);
 *   -E2BIG (the table's window < aoki_req_window(req)), -ENOSPC (every
 *   slot this client may use is pinned or being claimed), -EAGAIN (lost
 *   a race too often; retry), -EBADMSG (the record is corrupt), -ERANGE
 *   (aoki_req_seq(req) is UINT64_MAX, a forged position).  After an
 *   error nothing is pinned or recorded.
 * Thread-safe for requests of different channels (one channel is served
 * by one worker at a time).  Lock-free: one CAS on the client's slot
 * word, retried only when another thread changed that word; a new
 * client's first request also clears its @window records.
 */
int aoki_dedup_begin(struct aoki_dedup *dd, struct aoki_req *req);

/*
 * aoki_dedup_commit - record the reply set on @req with aoki_req_reply()
 * as its result.  Call at the handler's commit point, after its side
 * effect is durable: the result is recorded with one release store, so a
 * crash before it leaves the request INTERRUPTED and a crash after it
 * leaves it DONE.  The slot stays pinned until the reply is published
 * (a crash before that reruns the request, which must find it DONE).
 * Returns 0, -EINVAL (@req was not begun by aoki_dedup_begin, or its
 * slot was forgotten), -EALREADY (its result is already recorded: begin
 * said DONE, or a second commit).  Thread-safe as aoki_dedup_begin;
 * wait-free (no loop).
 */
int aoki_dedup_commit(struct aoki_dedup *dd, struct aoki_req *req);

/*
 * aoki_dedup_forget - drop the records of client @id of @uid, e.g. when
 * a server knows the client is gone for good.  Returns 0, -ENOENT (no
 * such client), -EBUSY (a request of it is between begin and the
 * publication of its reply, in this server or, cut off by a crash, in a
 * dead one).  Lock-free.
 */
int aoki_dedup_forget(struct aoki_dedup *dd, uid_t uid,
		      const uint8_t id[AOKI_CLIENT_ID_LEN]);

#ifdef __cplusplus
}
#endif
#endif /* AOKI_DEDUP_H */
