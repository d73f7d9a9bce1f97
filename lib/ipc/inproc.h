/* SPDX-License-Identifier: MIT */
/*
 * inproc.h - servers hosted inside this process (private to libaoki).
 *
 * A hosted server (lib/host) is an ordinary aoki_server listening on a
 * private socket, whose workers are *passive*: no thread of their own;
 * the client threads that wait for its replies run its serving loop, on
 * their own CPU, through the host's drive function (which enters the
 * server's compartment by a gate).  Control traffic (HELLO, grants,
 * goodbye) goes over the private socket exactly as across processes, so
 * admission, grant checks and resume are the same code.
 *
 * The registry maps a public port path ($AOKI_RUN_DIR/blk, ...) to the
 * hosted server answering for it: aoki_connect (chan_open_port) looks
 * here first and falls back to the socket at that path.
 */
#ifndef AOKI_INPROC_H
#define AOKI_INPROC_H

#include <stdatomic.h>
#include <stdint.h>

struct aoki_server;

struct inproc_port {
	char path[108];		/* the public port path it answers for */
	char sock[108];		/* its private socket */
	/*
	 * Serve the hosted server once on the calling thread: what its
	 * channels queued, what its I/O completed.  @block: when nothing
	 * was there, wait (at most about a millisecond) for the server's
	 * own work to finish.  Returns how much was done (> 0), 0 (nothing,
	 * or another thread is serving it: poll your reply and call again),
	 * or -ESHUTDOWN (the server is stopping: wait on the channel as
	 * for a remote server).
	 */
	int (*drive)(struct inproc_port *p, int block);
	/* Called when the last reference is dropped (after unregister). */
	void (*release)(struct inproc_port *p);
	_Atomic int refs;	/* the registry's, and each channel's */
	struct inproc_port *next;	/* registry list (under its lock) */
};

/*
 * inproc_register - make @p answer for @p->path in this process; the
 * registry takes a reference.  Returns 0 or -EEXIST (a server is already
 * hosted for that path).  Blocking (registry lock).
 */
int inproc_register(struct inproc_port *p);

/*
 * inproc_unregister - stop answering for @p->path; new connections go to
 * the socket at the path again.  Drops the registry's reference.
 * Blocking (registry lock).
 */
void inproc_unregister(struct inproc_port *p);

/*
 * inproc_lookup - the hosted server answering for @path, with a
 * reference for the caller (inproc_put), or NULL.  Lock-free when none
 * was ever registered; else blocking (registry lock).
 */
struct inproc_port *inproc_lookup(const char *path);

/* inproc_put - drop a reference; the last one calls p->release.  NULL is
 * ignored.  Lock-free. */
void inproc_put(struct inproc_port *p);

/*
 * Passive servers (server.c, worker.c), for lib/host.
 *
 * srv_start_passive - start @srv without worker threads: the acceptor and
 * the closer only.  The workers' extensions (cfg.worker_ops) start on
 * the first srv_drive_worker, on the driving thread.  Returns 0 or -errno.
 */
int srv_start_passive(struct aoki_server *srv);

/* srv_nworkers - how many workers @srv has (cfg.workers). */
unsigned srv_nworkers(const struct aoki_server *srv);

/*
 * srv_drive_worker - one turn of worker @i's serving loop on the calling
 * thread: adopt new channels (running what a dead incarnation left
 * undone), serve each channel, poll the extension; with @block and no
 * work, sleep in the extension (its I/O) for at most @sleep_ns.  The
 * caller guarantees that no other thread drives worker @i meanwhile.
 * Returns the work done (requests taken plus completions), or -errno
 * from the extension's start.
 */
int srv_drive_worker(struct aoki_server *srv, unsigned i, int block, int64_t sleep_ns);

/*
 * srv_stop_worker_ops - stop worker @i's extension (its stop hook: wait
 * for its I/O, free it), on the calling thread, if it was started.  The
 * caller guarantees exclusive use of the worker.
 */
void srv_stop_worker_ops(struct aoki_server *srv, unsigned i);

/*
 * srv_forget_worker_ops - forget worker @i's extension without calling
 * its stop hook (its state is not to be trusted: a fault); the next turn
 * starts it again.  The caller guarantees exclusive use of the worker.
 */
void srv_forget_worker_ops(struct aoki_server *srv, unsigned i);

/*
 * In-process recovery of a passive server whose handler code faulted
 * (lib/host), with every worker held by the caller:
 *
 * srv_abandon - from now until srv_resume_all, deferred requests that
 * complete are dropped, not answered (their I/O is being drained out of
 * an incarnation that can no longer be trusted); they are run again.
 *
 * srv_resume_all - forget every deferred request of the old incarnation,
 * mark every worker's extension as not started, and have each worker run
 * again, on its next turn, every request taken but not answered (the
 * resume protocol of a restarted server process, resume.c).  Ends the
 * abandon period.
 */
void srv_abandon(struct aoki_server *srv);
void srv_resume_all(struct aoki_server *srv);

/* srv_set_args - point the handler, its statistics and the workers'
 * extension at a new server state (a rebuilt compartment). */
void srv_set_args(struct aoki_server *srv, void *handler_arg, void *worker_arg);

#endif
