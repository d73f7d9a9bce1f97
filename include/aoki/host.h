/* SPDX-License-Identifier: MIT */
/*
 * aoki/host.h - the in-process layout: Aoki servers hosted inside the
 * application, each in a compartment of its own (aoki/domain.h), served
 * on the threads of their clients.  docs/layouts.md compares the layouts.
 *
 * A hosted server is the same server code with the same protocol: the
 * client API does not change.  aoki_connect() (and aoki_blk_open() and
 * aoki_fs_mount(), which call it) looks for a server hosted in this process under the port
 * name first and falls back to the socket port.  A request is queued in
 * the channel memory as across processes; then, instead of waking a
 * server thread on another CPU, the client thread enters the server's
 * compartment by a gate and runs the server's serving loop itself: it
 * takes the request, the handler runs (its I/O submitted to the server's
 * io_uring), and the reply is published in the channel, all on the
 * caller's CPU.  Control traffic (connect, grants) goes over a private
 * socket exactly as across processes, so the server reaches the
 * caller's buffers only through grants, with the same checks.
 *
 * Faults: a fault in the server's code (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * abort(), a pkey violation) does not kill the application.  The gate
 * returns, the compartment is torn down (its I/O in flight drained, its
 * files closed, its heap freed) and rebuilt from the configuration, and
 * every request the old one had taken and not answered is run again
 * from the channel memory, which the application owns: the resume
 * protocol of a restarted server process.  Clients see a delay, never an
 * error.
 *
 * Choosing the layout without changing a program: the environment
 * variable AOKI_HOST, read at the first aoki_connect(), hosts servers
 * before the connection is made:
 *
 *     AOKI_HOST='blkd: --volume data=/srv/data.img'
 *     AOKI_HOST='blkd: -c /etc/aoki/blkd.conf; blkd: --port blk2 -v x=/x.img'
 *
 * Each entry is a service name, a colon, and the words of its
 * configuration (the options of the daemon, aoki-blkd(8); split at white
 * space, no quoting).  Entries are separated by ';'.
 *
 * Isolation (PKU; docs/layouts.md has the table): the application cannot
 * read or write the server's heap, stacks and io_uring memory; the
 * server cannot read or write any other compartment (another hosted
 * server's, or one the application keeps its own data in).  Ordinary
 * memory (protection key 0: libc, the ordinary heap, channel memory,
 * grants) is reachable from every compartment, as for any compartment.
 * Without PKU the same code runs unprotected (aoki_domain_isolated()
 * false): faults are still recovered, stray writes are not stopped.
 *
 * Conventions: functions return 0 or -errno; errno is never set.
 */
#ifndef AOKI_HOST_H
#define AOKI_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "aoki/ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct aoki_host;	/* opaque: one hosted server */

/*
 * A hostable server.  Its callbacks run inside the server's compartment
 * (through a gate), on the thread that starts or rebuilds it.
 */
struct aoki_host_service {
	const char *name;	/* "blkd" */
	/*
	 * Set the server up from the words of its configuration
	 * (@argc/@argv, as the daemon's command line without the program
	 * name): allocate its state with aoki_host_alloc(), open what it
	 * serves, and fill @cfg (handler, handler_arg, worker_ops,
	 * worker_arg, stats_fn, batch, port: the port name it answers for).
	 * Return 0, or -errno with a message in @err.
	 */
	int (*create)(struct aoki_host *h, int argc, char **argv,
		      struct aoki_server_config *cfg, char *err, size_t errcap);
	/* Release what create() holds that is not compartment memory (file
	 * descriptors): the compartment's heap is freed after it.  @state
	 * is cfg.handler_arg.  At aoki_host_stop(), after the workers'
	 * extensions stopped: a clean shutdown. */
	void (*destroy)(struct aoki_host *h, void *state);
	/* After a fault in the server's code (its state may be damaged),
	 * instead of destroy(): release the descriptors and the memory
	 * outside the compartment's heap that create() holds, writing
	 * nothing to what the server serves (the next incarnation recovers
	 * it, as a restarted daemon would).  The workers' extensions are
	 * not stopped first (their stop hook would trust damaged state):
	 * discard() must see that no I/O of the faulted incarnation lands
	 * after the next one starts (fsd: blkd's fence at its next open).
	 * A fault here keeps the old compartment (counted in
	 * drain_failures).  NULL: destroy(), after the stop hooks. */
	void (*discard)(struct aoki_host *h, void *state);
	size_t heap_size;	/* its compartment's heap when the options
				 * give none; 0: 64 MiB */
	size_t stack_size;	/* stack per thread in the compartment;
				 * 0: 128 KiB */
};

/* aoki_host_opts.flags */
#define AOKI_HOST_UNISOLATED 0x1u	/* no compartment: call the server's
					 * code directly (measurements of the
					 * isolation's cost); faults kill */
#define AOKI_HOST_QUIET      0x2u	/* no log lines on stderr */

struct aoki_host_opts {
	unsigned flags;		/* AOKI_HOST_* */
	size_t heap_size;	/* compartment heap; 0: the service's default
				 * (blkd 64 MiB, fsd 256 MiB) */
};

/*
 * aoki_host_start - host the built-in service @name ("blkd" or "fsd") in
 * this process, configured by @config (the daemon's options, aoki-blkd(8)
 * or aoki-fsd(8), as one string split at white space, no quoting; NULL is
 * the same as "", which blkd refuses: it needs a volume).  The server
 * answers for the port its options name (--port), else the service's
 * default (blkd: "blk", AOKI_BLK_PORT; fsd: "fs", AOKI_FS_PORT).  A file
 * blkd serves read-write, and a volume fsd mounts read-write, is one
 * server's at a time (-EBUSY while another, in this process or another,
 * has it).  AOKI_HOST_QUIET silences the hosting layer's
 * lines (and the unprotected-mode notice, when this call initialises
 * compartments); the server's own (volumes opened) follow its --quiet
 * option.  Initialises compartments
 * (aoki_domain_init) if nobody has.  From then on aoki_connect() to the
 * service's port reaches it.  Returns 0 with *@out set, -ENOENT (no such
 * service), -EINVAL (bad configuration: the reason on stderr; unknown
 * flags in @opts), -EEXIST
 * (a server is already hosted for that port), -EBUSY (its volume is
 * another server's), -ENOSPC (no protection key
 * left), or another -errno of the service (a volume that will not open:
 * its open(2) error, -ENOENT included) or of the server.  Blocking.
 */
int aoki_host_start(const char *name, const char *config, const struct aoki_host_opts *opts,
		    struct aoki_host **out);

/* aoki_host_start_service - the same for a service of the application's
 * own (@svc must outlive the hosted server). */
int aoki_host_start_service(const struct aoki_host_service *svc, const char *config,
			    const struct aoki_host_opts *opts, struct aoki_host **out);

/*
 * aoki_host_stop - stop hosting @h: new connections go to the socket
 * port again; connected clients get -ESHUTDOWN (or reconnect to a server
 * at the port, as after a server's clean stop); the server's I/O is
 * drained and answered, and its compartment destroyed.  Client threads
 * waiting on @h meanwhile are fine (they are told); @h itself must not be
 * used after the call.  NULL is ignored.  Blocking (until turns in
 * progress end).
 */
void aoki_host_stop(struct aoki_host *h);

/*
 * aoki_host_from_env - host what AOKI_HOST names (see above), once per
 * process; aoki_connect() calls it.  Returns 0 (nothing to do, or done),
 * or -EINVAL when an entry cannot be hosted (malformed, no such service,
 * bad options, a volume that will not open: the reason on stderr), which
 * every later call returns too, so every aoki_connect() fails with it.
 * Blocking (once).
 */
int aoki_host_from_env(void);

/*
 * aoki_host_alloc - @size zeroed bytes of the hosted server's heap (its
 * compartment's); for services, inside create() and later.  Returns NULL
 * when out of memory.  aoki_host_free() returns them; NULL is ignored.
 * With @h NULL (the server runs as a daemon) both use libc's heap.
 * Blocking (the heap's lock).
 */
void *aoki_host_alloc(struct aoki_host *h, size_t size);
void aoki_host_free(struct aoki_host *h, void *p);

/*
 * aoki_host_place - put memory the service mapped itself (its io_uring
 * rings: [@addr, @addr + @len), page multiples) under its compartment's
 * key, out of the application's reach like its heap; for services,
 * inside their callbacks.  aoki_host_unplace() gives it back to key 0,
 * and must come before the unmapping.  A server hosted unisolated, or @h
 * NULL: 0,
 * nothing done.  Return 0 or -errno of aoki_domain_place(3) /
 * aoki_domain_unplace(3).  Blocking.
 */
int aoki_host_place(struct aoki_host *h, void *addr, size_t len);
int aoki_host_unplace(struct aoki_host *h, void *addr, size_t len);

/* Figures of a hosted server. */
struct aoki_host_stats {
	uint64_t recoveries;	/* faults recovered (compartment rebuilt) */
	uint64_t drain_failures;	/* rebuilds whose old I/O could not be
				 * drained (its memory was kept) */
	int isolated;		/* its compartment is enforced by PKU */
};

/* aoki_host_get_stats - @h's figures into *@out.  Returns 0, -EINVAL (NULL).
 * Wait-free. */
int aoki_host_get_stats(const struct aoki_host *h, struct aoki_host_stats *out);

/*
 * aoki_host_inject_fault - a test aid: the next request the server
 * handles makes its code fault with @kind (AOKI_HOST_FAULT_*) before it
 * does anything else.  One fault is pending at most: a second call before
 * that request replaces the first.  AOKI_HOST_FAULT_WRITE increments the
 * byte at @target, AOKI_HOST_FAULT_READ loads it: they fault only where
 * the compartment has no rights on @target (another compartment's memory,
 * with PKU); on ordinary memory, or without PKU, the access simply
 * happens.  With AOKI_HOST_FAULT_LATE or'd into @kind the fault comes
 * after the request was carried out, before its reply (blkd: its I/O
 * submitted; fsd: an operation that must not run twice - create, mkdir,
 * rename, link, symlink, unlink... - done, recorded and staged; fsd's
 * other requests leave the fault pending), so that its rerun must cope
 * with work already done.  Returns 0, -EINVAL (unknown kind, @h NULL).
 * Lock-free.
 */
#define AOKI_HOST_FAULT_NULL  1	/* dereference a garbage pointer */
#define AOKI_HOST_FAULT_WRITE 2	/* write to @target */
#define AOKI_HOST_FAULT_READ  3	/* read @target */
#define AOKI_HOST_FAULT_ABORT 4	/* abort() */
#define AOKI_HOST_FAULT_LATE  0x100	/* flag: after the work, before the reply */
int aoki_host_inject_fault(struct aoki_host *h, int kind, void *target);

/*
 * aoki_host_check_fault - for services' handlers: carry out a fault
 * injected with aoki_host_inject_fault() without AOKI_HOST_FAULT_LATE, if
 * one is pending for @h's server (a relaxed load when none); call it
 * first thing.  aoki_host_check_fault_late() does the same for one with
 * AOKI_HOST_FAULT_LATE; call it when the request's work is done, before
 * its reply.  Both return only when no such fault was pending.  NULL @h
 * is ignored.
 */
void aoki_host_check_fault(struct aoki_host *h);
void aoki_host_check_fault_late(struct aoki_host *h);

#ifdef __cplusplus
}
#endif
#endif
