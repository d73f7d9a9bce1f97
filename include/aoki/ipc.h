/* SPDX-License-Identifier: MIT */
/*
 * aoki/ipc.h - Aoki IPC: non-blocking shared-memory channels between a
 * client process and a server process.
 *
 * Model (see docs/ipc.md for the full protocol):
 *   - A server listens on a *port*, a Unix-domain stream socket.
 *   - A client connects and hands the server a *channel*: a sealed memfd
 *     it created, holding a ring of fixed-size message slots and a
 *     completion ring.  The control socket stays open for the channel's
 *     life; its hang-up tells each side that the other is gone.
 *   - Requests and replies travel through the channel memory only.  The
 *     kernel is entered only to wake a peer that published "I sleep".
 *   - Larger data travels through *grants*: memfd regions the client
 *     registers with the server and refers to as (grant, offset, length).
 *
 * Conventions (liburing style): the caller allocates what it passes in;
 * functions return 0 or a non-negative count on success and -errno on
 * failure; errno is never set.  Each function states its progress
 * guarantee: wait-free (bounded steps), lock-free (some thread always
 * makes progress), or blocking (may sleep in the kernel, always with a
 * deadline).
 */
#ifndef AOKI_IPC_H
#define AOKI_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol version carried in every channel header and control message. */
#define AOKI_IPC_VERSION 3

/* Bytes of inline payload in one message slot (request or reply). */
#define AOKI_MSG_PAYLOAD 32

/* Opcodes at or above this value are reserved for the library itself. */
#define AOKI_OP_RESERVED 0xff00

/* Grant rights, as seen by the server. */
#define AOKI_GRANT_READ  0x1u	/* server may read the region */
#define AOKI_GRANT_WRITE 0x2u	/* server may write the region */

/* A reference to grant data, carried inside a message payload. */
struct aoki_grant_ref {
	uint32_t grant;		/* grant id returned by aoki_grant_*() */
	uint32_t length;	/* bytes */
	uint64_t offset;	/* bytes from the start of the grant */
};

struct aoki_chan;		/* client side of one channel (opaque) */
struct aoki_server;		/* a server: port, acceptor, workers (opaque) */
struct aoki_req;		/* one request, valid inside a handler (opaque) */

/* ---------------------------------------------------------------- ports */

/*
 * aoki_port_path - resolve a port name to a socket path.
 * A name containing '/' is used as is.  Otherwise the path is
 * "<run dir>/<name>.sock", the run directory being $AOKI_RUN_DIR, else
 * $XDG_RUNTIME_DIR/aoki, else /run/aoki.
 * Returns the path length, -ENAMETOOLONG if it does not fit in @cap
 * (or in a sockaddr_un), -EINVAL for an empty name.  Wait-free.
 */
int aoki_port_path(const char *name, char *buf, size_t cap);

/*
 * aoki_port_listen - bind and listen (backlog 128) on the socket of port
 * @port (a name or path, as for aoki_port_path).  A stale socket file,
 * one nobody accepts on any more, is replaced; a live one is left alone.
 * Race-free against other callers: the socket listens under a temporary
 * name before it appears at the path (link(2), or rename(2) over a stale
 * file under the lock file "<path>.lock", removed again), so a rival
 * never sees it bound but not listening and two callers never both win.
 * The directory must exist and be writable.  Returns the descriptor
 * (close-on-exec, blocking), -EADDRINUSE (a live listener has the path),
 * -EBUSY (the lock file stayed locked for 2 s), -ENAMETOOLONG (also when
 * no temporary name fits beside the path), -EINVAL, or -errno of
 * socket/bind/listen/link.  Blocking: up to 2 s waiting for the lock
 * (polled); the probe of a stale socket does not block.  For servers
 * (aoki_server_create uses it) and supervisors that hold sockets
 * (aoki-init).
 */
int aoki_port_listen(const char *port);

/* ------------------------------------------------------------- client */

/* Channel options; zero-initialise and set what you need. */
struct aoki_chan_opts {
	unsigned slots;		/* ring size, a power of two in [2, 4096]; 0: 64 */
	unsigned max_grants;	/* grant table size in [0, 1024]; 0: 16 */
	int64_t spin_ns;	/* most spin before sleeping; <0: never; 0: 50 us */
	int64_t timeout_ns;	/* per-call deadline; 0: none (peer death still noticed) */
	int64_t reconnect_ns;	/* how long to wait for a crashed server to come
				 * back; 0: 30 s; <0: never (server death gives
				 * -ECONNRESET at once) */
};

/*
 * aoki_connect - create a channel and hand it to the server on @port.
 * @port is a name or path as for aoki_port_path(); @opts may be NULL.
 * On success *@out owns a new channel.  Returns 0, or -ENOENT /
 * -ECONNREFUSED (no server), -EACCES (refused by the server's policy),
 * -EPROTO (the server speaks another protocol version), -EBADMSG (the
 * server answered with something other than the handshake's reply: not
 * an Aoki server, or a broken one), -EUSERS (the server is at its channel
 * limit), -EINVAL (bad options), -ENOMEM, -ETIMEDOUT (server did not
 * answer within 5 s), -ENAMETOOLONG (the port path).  A client that
 * starts its own server retries -ENOENT/-ECONNREFUSED until the server
 * has bound its port (or runs it under aoki-init, whose socket exists
 * before the server does).  A channel belongs
 * to this process: see fork() under aoki_call.  Blocking, with that 5 s
 * deadline.
 */
int aoki_connect(const char *port, const struct aoki_chan_opts *opts,
		 struct aoki_chan **out);

/*
 * aoki_close - tear down a channel.  Any requests still in flight are
 * abandoned (the server notices the hang-up and releases the channel
 * and its grants).  No other thread may use @ch during or after the
 * call.  Blocking only for close(2); never fails.
 */
void aoki_close(struct aoki_chan *ch);

/*
 * aoki_call - synchronous request/reply, the fast path.
 * Sends opcode @op with @len bytes of inline payload (at most
 * AOKI_MSG_PAYLOAD), waits for the reply, copies up to @rep_cap reply
 * bytes into @rep and the reply's length into *@rep_len (may be NULL).
 * Returns the server's status (>= 0 success, < 0 an -errno of the
 * handler), or a library error:
 *   -EMSGSIZE    the payload is too large; or the reply was longer than
 *                @rep_cap: the request ran, its first @rep_cap bytes were
 *                copied, *@rep_len holds its full length, and its status
 *                is lost (size @rep for the longest reply; AOKI_MSG_PAYLOAD
 *                always fits).  @rep NULL (with @rep_cap 0) discards the
 *                reply's payload without this error.
 *   -EAGAIN      async requests (aoki_submit) hold every slot: only a reap
 *                frees one.  When synchronous calls or timed-out requests
 *                hold some, the call waits for a slot instead.
 *   -ETIMEDOUT   the channel's deadline passed (waiting for a slot or the
 *                reply: the request may still run), or the server died and
 *                did not come back within reconnect_ns (the channel is lost)
 *   -ESHUTDOWN   the server stopped for good (it said so on the way out)
 *   -ECONNRESET  the server dropped the channel, or died with
 *                reconnection off
 *   -EPROTO      the server came back speaking another protocol version
 *   -EBADFD      called in a child of fork(): a channel belongs to the
 *                process that connected it (see below)
 *   -EDEADLK     the handler of a server hosted in this process
 *                (aoki/host.h) called its own server: it would wait for
 *                itself (the request may still run later, as after
 *                -ETIMEDOUT)
 *   -EINVAL      bad arguments.
 * A hosted server whose rebuild after a fault kept failing for 5 s
 * answers every call with the rebuild's error (aoki_host(3)).
 * Once a channel is lost every call returns the same error; the channel
 * still needs aoki_close() to free it.
 * A server that dies is reconnected transparently: the call waits for the
 * restarted server, which runs the request again if the dead one had
 * taken it (see docs/ipc.md, "Recovery").
 * fork(): the child inherits the channel's memory but not the right to
 * use it (its replies would be consumed by whichever process looks
 * first, and both would reconnect it).  Every call in the child returns
 * -EBADFD; the child may aoki_close() it (the parent's channel is not
 * affected) and aoki_connect() its own.
 * Thread-safe.  Lock-free to submit (a free slot from a client-local
 * bitmap and a fetch-and-add of the position: two locked instructions,
 * neither retried unless other threads of this channel race), then
 * blocking for the reply: it spins for up to spin_ns (adaptive), then
 * sleeps on a futex in slices (1 ms doubling to 10 ms), checking between
 * them that the server is alive.
 */
int aoki_call(struct aoki_chan *ch, uint16_t op, const void *req, size_t len,
	      void *rep, size_t rep_cap, size_t *rep_len);

/* One asynchronous request. */
struct aoki_sqe {
	uint16_t op;
	uint16_t len;		/* inline payload bytes, <= AOKI_MSG_PAYLOAD */
	uint32_t reserved;	/* must be 0 */
	uint64_t tag;		/* returned in the completion */
	const void *data;	/* payload, may be NULL when len == 0 */
};

/* One completion. */
struct aoki_cqe {
	uint64_t tag;
	int32_t status;
	uint32_t len;		/* reply payload bytes */
	uint8_t payload[AOKI_MSG_PAYLOAD];
};

/*
 * aoki_submit - queue up to @n asynchronous requests, in order.
 * Returns how many were queued (0..n; fewer when every slot is in use:
 * async submissions never wait), or -EINVAL (a bad sqe: nothing after it
 * is queued), or a lost channel's error (as for aoki_call).  Requests queued while the server is dead
 * are served by the restarted one.  The
 * server is woken at most once per call, and only if it sleeps.
 * Lock-free per request (as aoki_call).
 */
int aoki_submit(struct aoki_chan *ch, const struct aoki_sqe *sqes, unsigned n);

/*
 * aoki_reap - collect up to @max completions into @cqes.
 * Waits until at least @min_complete (<= max) are available or
 * @timeout_ns passes (0: do not wait; <0: the channel's deadline, or
 * forever while the server lives).  A server that dies meanwhile is
 * reconnected and its completions reaped as if nothing happened.
 * Returns the number collected (may be fewer than min_complete on
 * timeout), or, when nothing is left to reap on a lost channel, its error
 * (as for aoki_call).  Lock-free when not waiting (two locked
 * instructions per call keep a reconnect's ring repair out).
 */
int aoki_reap(struct aoki_chan *ch, struct aoki_cqe *cqes, unsigned max,
	      unsigned min_complete, int64_t timeout_ns);

/*
 * aoki_chan_eventfd - a descriptor that becomes readable when
 * completions may be available or the server has died, for epoll users.
 * (An epoll set over a datagram socket the server signals - not an
 * eventfd: the server must never block on a descriptor a client controls,
 * and send(MSG_DONTWAIT) on a socket cannot block - and over the control
 * socket, whose hang-up reports a crash.)  Before sleeping on it call
 * aoki_chan_arm(); after waking, reap.  The same descriptor for the
 * channel's whole life, reconnects included.  Returns the fd, owned by
 * the channel, or -errno (creating it the first time: -EMFILE, -ENOMEM).
 */
int aoki_chan_eventfd(struct aoki_chan *ch);

/*
 * aoki_chan_arm - drain old notifications from the descriptor and ask the
 * server to signal it on the next completion.  Returns 1 if completions
 * are already waiting or the channel is lost (do not sleep: reap), 0 if
 * armed.  Non-blocking while the server lives (recv calls bounded by what
 * is queued, one poll); if the server has died it reconnects first,
 * which blocks until the restarted server has resumed the channel (at
 * most reconnect_ns).  With a server hosted in this process (aoki/host.h),
 * which has no thread of its own to signal the descriptor, it gives the
 * server turns on the calling thread until one of the channel's async
 * requests completes, and returns 1 (blocking up to the channel timeout
 * while requests are in flight; 0 at once when none is).
 */
int aoki_chan_arm(struct aoki_chan *ch);

/* -------------------------------------------------------------- grants */

/*
 * aoki_grant_create - allocate a @size-byte shared region, map it here,
 * and register it with the server with @rights (AOKI_GRANT_*).
 * On success *@id is the grant id to put in struct aoki_grant_ref and
 * *@mem its address here (valid until aoki_grant_revoke or close).
 * Returns 0, -EINVAL, -ENOMEM, -ECONNRESET, or the server's refusal:
 *   -ENOSPC  full for now: the channel's grant table, its grant byte
 *            budget, or the server's totals (grants, bytes) across all
 *            channels; revoking grants (here or elsewhere) makes room
 *   -E2BIG   this grant alone is larger than the server's per-channel
 *            budget (cfg.grant_bytes_per_channel): it never fits.
 * The server's budgets count the whole size of each grant, sparse or not
 * (see struct aoki_server_config).  Blocking (a control-socket round
 * trip, 5 s deadline).  Thread-safe.
 */
int aoki_grant_create(struct aoki_chan *ch, size_t size, unsigned rights,
		      uint32_t *id, void **mem);

/*
 * aoki_grant_register_fd - register an existing memfd with the server.
 * The memfd must be sealed with F_SEAL_SHRINK (aoki_grant_create does
 * this for you).  The whole file is granted.  Returns as above.
 */
int aoki_grant_register_fd(struct aoki_chan *ch, int memfd, unsigned rights,
			   uint32_t *id);

/*
 * aoki_grant_revoke - withdraw grant @id.  When it returns 0 the server
 * has unmapped the region and will never touch it again; a later
 * reference to @id fails with -ENOENT.  A region from aoki_grant_create
 * is unmapped here too.  Returns 0, -ENOENT, -EBUSY (a revoke of @id
 * that timed out is still in flight), or a wait error as for aoki_call
 * (-ETIMEDOUT: the revoke may still happen; call again to learn).
 * Blocking (an in-band request, ordered after every request submitted
 * before it).
 */
int aoki_grant_revoke(struct aoki_chan *ch, uint32_t id);

/* -------------------------------------------------------------- server */

/*
 * aoki_listen_fd - the listening socket handed to this process for port
 * @name by socket activation: the systemd convention (LISTEN_PID equal to
 * our pid, LISTEN_FDS descriptors from 3, LISTEN_FDNAMES colon-separated),
 * which aoki-init follows too.  @name matches an entry of LISTEN_FDNAMES
 * exactly; without LISTEN_FDNAMES a single passed descriptor matches any
 * name.  The descriptor must be a listening Unix stream socket.
 * Returns the descriptor (close-on-exec, non-blocking), -ENOENT (none
 * passed for @name), -ENOTSOCK (the passed descriptor is not a listening
 * Unix stream socket).  aoki_server_create() calls it for cfg.port, so
 * servers need not.  Wait-free.
 */
int aoki_listen_fd(const char *name);

/*
 * A request handler.  It reads the request with aoki_req_*() and returns
 *   0              the reply is what aoki_req_reply() set (status 0 and no
 *                  payload if it was not called);
 *   -errno         (-4095..-1) sent as the status, with an empty reply
 *                  (whatever aoki_req_reply() set is discarded);
 *   AOKI_DEFERRED  after aoki_req_defer(): it completes later, from the
 *                  same worker thread, with aoki_req_complete().
 * Any other value (AOKI_DEFERRED without aoki_req_defer, other positive
 * numbers) is a bug in the handler: the client gets -EIO and the server
 * logs the value.  The request payload is a private copy: a client
 * changing its memory meanwhile cannot change it under the handler.
 */
#define AOKI_DEFERRED 1
typedef int (*aoki_handler_fn)(struct aoki_req *req, void *arg);

/* Client credentials as seen by the access policy. */
struct aoki_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* Access policy: return 0 to accept, -EACCES (or any -errno) to refuse. */
typedef int (*aoki_policy_fn)(const struct aoki_peer *peer, void *arg);

/*
 * Worker extensions, for servers whose handlers start work that finishes
 * later (aoki-blkd: io_uring).  Each worker thread owns one context; its
 * handlers reach it with aoki_req_worker_data() and complete deferred
 * requests from the hooks below, which run on that worker's thread.
 * Every hook may be NULL.
 */
struct aoki_wait_word {		/* one futex word a sleeping worker waits on */
	uint32_t *word;		/* shared (not private) futex, 32 bits */
	uint32_t expected;	/* sleep while *word == expected */
};
struct aoki_worker_ops {
	/* In aoki_server_start, once per worker, before any thread runs:
	 * set *wctx; return 0 or -errno (the start fails). */
	int (*start)(void *arg, unsigned worker, void **wctx);
	/* On each turn of the worker and while it spins idle: complete what
	 * has finished (aoki_req_complete) without blocking; return how many
	 * requests were completed.  Must be cheap when nothing finished. */
	unsigned (*poll)(void *wctx);
	/* Instead of the worker's own futex_waitv(2): sleep until one of the
	 * @n words leaves its expected value, until own work finishes, or at
	 * most @timeout_ns.  Return the index of a word that woke it, 0 for
	 * own work (word 0 is the worker's own wake word: neither is a
	 * client's doorbell), -EAGAIN (a word already differed),
	 * -ETIMEDOUT, or -ENOSYS to let the worker sleep as usual (nothing
	 * in flight).  Indices > 0 and -EAGAIN let the worker spot a client
	 * that rings its doorbell with nothing queued. */
	int (*sleep)(void *wctx, const struct aoki_wait_word *words, unsigned n,
		     int64_t timeout_ns);
	/* A grant the worker's requests could reach is going away (revoked,
	 * or its channel gone); @serial is as in aoki_req_grant_info.  For
	 * caches keyed by grant (io_uring fixed buffers). */
	void (*grant_gone)(void *wctx, uint64_t serial);
	/* On the worker's thread as it exits (server stopping), before its
	 * channels are dropped: finish or abandon all deferred requests. */
	void (*stop)(void *wctx);
};

/* Server configuration; zero-initialise and set what you need. */
struct aoki_server_config {
	const char *port;	/* name or path; ignored if listen_fd > 0.  A
				 * socket passed for this name by socket
				 * activation (aoki_listen_fd) is used if there
				 * is one; else the server binds the path */
	int listen_fd;		/* an already listening socket (> 0); 0 or
				 * -1: none, so a zeroed config binds port.
				 * (To serve a socket on descriptor 0, inetd
				 * style, dup(2) it to another number.) */
	aoki_handler_fn handler;
	void *handler_arg;
	aoki_policy_fn policy;	/* NULL: same uid as the server, or root */
	void *policy_arg;
	unsigned workers;	/* worker threads; 0: 1 */
	unsigned batch;		/* max requests per channel per turn; 0: 16 */
	int64_t spin_ns;	/* idle spin before sleeping; <0: none; 0: 50 us */
	unsigned max_channels;	/* channels attached at once, and also
				 * connections waiting for their HELLO at
				 * once; 0: 1024.  Past it: -EUSERS */
	/* Admission limits and grant budgets: see docs/ipc.md, "Admission
	 * and limits".  0 means the default for each. */
	unsigned max_channels_per_uid;	/* connections (attached or still in
				 * their HELLO) of one uid other than root
				 * and the server's own; 0: max_channels / 4,
				 * at least 1.  Past it: -EUSERS at connect */
	unsigned hello_timeout_ms;	/* a connection must complete its HELLO
				 * (resuming: and its grants) within this,
				 * else it is closed (-ETIMEDOUT); 0: 5000 */
	uint64_t grant_bytes_per_channel;	/* most bytes one channel may
				 * grant, summed over its grants: the most
				 * server memory its grants can make the
				 * server touch; 0: 1 GiB */
	uint64_t grant_bytes_total;	/* the same over all channels; 0: half
				 * the physical memory, at least 256 MiB */
	unsigned grants_total;	/* grants of all channels at once (each is a
				 * mapping in the server); 0: 16384 */
	int quiet;		/* do not log to stderr (dropped channels,
				 * refusals, accept failures, handler bugs;
				 * successful accepts are never logged) */
	const struct aoki_worker_ops *worker_ops;	/* NULL: none */
	void *worker_arg;	/* passed to worker_ops->start */
	int keep_grant_fds;	/* keep each grant's memfd open, so that
				 * handlers can pass grants on to a server
				 * they call (aoki_req_grant_dup); costs one
				 * descriptor per grant */
	/* The server's own figures for the stats request (aoki_query_stats):
	 * write at most @cap bytes of text into @buf, one "key=value\n" per
	 * figure (keys of [a-z0-9_], values decimal integers), and return
	 * how many bytes, or -errno (the reply then carries none).  Called
	 * with handler_arg on a worker thread, concurrently with handlers
	 * on other workers: read shared counters atomically; never block.
	 * NULL: counters only. */
	int (*stats_fn)(void *arg, void *buf, size_t cap);
};

/*
 * aoki_server_create - set up a server: bind (or adopt) the listening
 * socket and allocate the workers.  Nothing runs until
 * aoki_server_start().  Binding never disturbs a live server on the path
 * (aoki_port_listen).  Returns 0, -EINVAL, -EADDRINUSE (another server
 * listens on the path), -ENOTSOCK (socket activation passed something
 * other than a listening Unix stream socket for cfg.port), -ENOMEM, or a
 * bind/listen error.  Blocking only as aoki_port_listen.
 */
int aoki_server_create(const struct aoki_server_config *cfg,
		       struct aoki_server **out);

/*
 * aoki_server_start - start the acceptor and worker threads (and a
 * thread that closes descriptors clients handed over: a client can make
 * a close block, so no serving thread does it).  Returns 0 or -errno from
 * pthread_create.  Blocking only for thread creation.
 */
int aoki_server_start(struct aoki_server *srv);

/*
 * aoki_server_stop - stop for good: first tell every client so (a
 * goodbye with -ESHUTDOWN on each control socket, never waiting for a
 * client to read it; a connection still in its HELLO is answered
 * -ESHUTDOWN), so that clients fail at once instead of waiting to
 * reconnect as after a crash; then stop all threads and drop every
 * channel.  Idempotent; async-signal-unsafe.  Blocking until the threads
 * have exited (a handler running then is waited for).
 */
void aoki_server_stop(struct aoki_server *srv);

/*
 * aoki_server_destroy - stop if needed, then unlink the socket file if
 * the server bound it and it is still the same socket (a path another
 * server took over meanwhile is left alone), close the socket, free.
 * Descriptors that clients handed over may still be closing in the
 * background when it returns.  Blocking as aoki_server_stop.
 */
void aoki_server_destroy(struct aoki_server *srv);

/* Counters, for tools and tests.  Each a relaxed snapshot. */
struct aoki_server_stats {
	uint64_t requests;	/* requests completed */
	uint64_t channels;	/* channels currently attached */
	uint64_t accepted;	/* channels ever attached */
	uint64_t dropped;	/* channels dropped for a protocol violation */
	uint64_t refused;	/* connections refused (policy, bad header) */
	uint64_t sleeps;	/* times a worker went to sleep */
	uint64_t resumed;	/* channels resumed after a server restart */
	uint64_t rerun;		/* requests run again on resume */
	uint64_t pid;		/* the server process */
	uint64_t epoch;		/* this incarnation's epoch (changes at restart) */
	uint64_t workers;	/* worker threads */
	int64_t start_ns;	/* when the process started, ns since the Unix
				 * epoch (10 ms resolution); 0: unknown */
	int64_t uptime_ns;	/* how long it has run; 0: unknown */
};
void aoki_server_get_stats(struct aoki_server *srv,
			   struct aoki_server_stats *out);

/*
 * aoki_query_stats - ask the server behind @ch for its counters: the
 * library answers (no handler runs), so every Aoki server supports it.
 * Fills *@out; copies up to @ext_cap bytes of the server's own figures
 * (cfg.stats_fn: "key=value" lines, not NUL-terminated) into @ext and
 * their full length into *@ext_len (may be NULL; 0 without stats_fn;
 * larger than @ext_cap when cut short).  channels counts this channel too.
 * The reply travels through a 4 KiB grant that the call creates and
 * revokes, so it needs a free grant slot.
 * Returns 0, -EINVAL, -ENOSPC (grant table full), -ENOSYS (a server
 * built before the stats request), -EPROTO (a malformed reply), or an
 * error of aoki_call / aoki_grant_create.  A server that dies meanwhile
 * is waited for as in aoki_call, and the restarted one answers.
 * Blocking: two control-socket round trips (5 s deadline each) and one
 * call.  Thread-safe.
 */
int aoki_query_stats(struct aoki_chan *ch, struct aoki_server_stats *out, void *ext,
		     size_t ext_cap, size_t *ext_len);

/* ----------------------------------------------- inside a handler only */

/* The request's opcode. */
uint16_t aoki_req_opcode(const struct aoki_req *req);

/* The request's inline payload (a private copy) and its length. */
const void *aoki_req_data(const struct aoki_req *req, size_t *len);

/* Credentials of the client that owns the channel. */
const struct aoki_peer *aoki_req_peer(const struct aoki_req *req);

/* Bytes in a channel identity. */
#define AOKI_CLIENT_ID_LEN 16

/*
 * aoki_req_client - the identity of the request's channel: random bytes
 * the client library drew (getrandom) when it created the channel.  The
 * same after a server restart (the channel is resumed, not recreated);
 * different for every channel.  With aoki_req_peer()->uid, a key for
 * state that must outlive a server crash.  Wait-free.
 */
void aoki_req_client(const struct aoki_req *req, uint8_t id[AOKI_CLIENT_ID_LEN]);

/*
 * aoki_req_seq - the request's sequence number in its channel: its ring
 * position, 0, 1, 2, ... in submission order.  A request run again after
 * a server crash keeps its number, so (client, seq) names one request for
 * the channel's whole life.  Wait-free.
 */
uint64_t aoki_req_seq(const struct aoki_req *req);

/*
 * aoki_req_rerun - 1 if a previous server incarnation had taken this
 * request and died before completing it (its side effects may have
 * happened), 0 for a request seen for the first time.  See aoki_dedup(3)
 * for handlers that must not run twice.  Wait-free.
 */
int aoki_req_rerun(const struct aoki_req *req);

/*
 * aoki_req_window - how many requests of this channel can be in flight at
 * once (its ring size, the number of its slots).  Wait-free.
 */
unsigned aoki_req_window(const struct aoki_req *req);

/*
 * aoki_req_slot - the slot the request occupies, in [0, aoki_req_window):
 * unique among the channel's requests in flight, and the same when a
 * request is run again after a server crash.  A request's slot is free
 * again only after its reply was consumed, so a record kept per
 * (client, slot) - with the seq to tell requests apart - is never needed
 * by two requests at once.  (Positions are not: a long-deferred request
 * may be overtaken by any number of others.)  Wait-free.
 */
unsigned aoki_req_slot(const struct aoki_req *req);

/*
 * aoki_req_grant - resolve a grant reference for access with @rights.
 * On success *@ptr points at @ref->length bytes of client memory that
 * stay mapped until the handler completes the request.  The client may
 * change that memory at any time: copy before validating.
 * Returns 0, -ENOENT (no such grant), -EACCES (the grant lacks @rights),
 * -EFAULT (offset/length outside the grant).  Wait-free.
 */
int aoki_req_grant(struct aoki_req *req, const struct aoki_grant_ref *ref,
		   unsigned rights, void **ptr);

/* What aoki_req_grant_info tells about a grant. */
struct aoki_grant_info {
	void *base;		/* the whole region, mapped in the server */
	size_t size;
	unsigned rights;	/* AOKI_GRANT_* */
	uint64_t serial;	/* unique to this mapping for the server's life:
				 * never reused, unlike grant ids */
};

/*
 * aoki_req_grant_info - describe grant @grant of the request's channel.
 * The mapping stays valid until the handler completes the request.
 * Returns 0 or -ENOENT.  Wait-free.
 */
int aoki_req_grant_info(const struct aoki_req *req, uint32_t grant,
			struct aoki_grant_info *out);

/*
 * aoki_req_grant_dup - pass a grant on: a new descriptor (close-on-exec)
 * of the memfd behind grant @grant of the request's channel, for a server
 * that calls another one on its client's behalf (aoki-fsd hands a
 * client's buffer to aoki-blkd with aoki_grant_register_fd(), so that the
 * device moves the data straight to or from the client's memory).
 * @rights must be held by the grant; register the descriptor with at
 * most those rights (the next server maps it with what the registration
 * says: equal or fewer rights than the client gave).  The caller owns the
 * descriptor.  Needs cfg.keep_grant_fds.  Returns the descriptor, or
 * -ENOENT (no such grant), -EACCES (@rights not held, or 0),
 * -EOPNOTSUPP (keep_grant_fds is off), -EMFILE.  Wait-free (one fcntl).
 */
int aoki_req_grant_dup(const struct aoki_req *req, uint32_t grant, unsigned rights);

/*
 * aoki_req_worker_data - the context worker_ops->start gave the worker
 * running this request (NULL without worker_ops).  Wait-free.
 */
void *aoki_req_worker_data(const struct aoki_req *req);

/*
 * aoki_req_reply - set the reply: @status and @len (<= AOKI_MSG_PAYLOAD)
 * bytes of payload.  Returns 0 or -EMSGSIZE.  Wait-free.
 */
int aoki_req_reply(struct aoki_req *req, int32_t status, const void *data,
		   size_t len);

/*
 * aoki_req_defer - keep a request past the handler's return: returns a
 * heap copy of @req that the handler hands to aoki_req_complete() later,
 * from the same worker thread.  NULL on -ENOMEM.
 */
struct aoki_req *aoki_req_defer(struct aoki_req *req);

/*
 * aoki_req_complete - publish the reply of a deferred request and free
 * it.  If the channel went away meanwhile, only frees.  Wait-free.
 */
void aoki_req_complete(struct aoki_req *req);

#ifdef __cplusplus
}
#endif
#endif /* AOKI_IPC_H */
