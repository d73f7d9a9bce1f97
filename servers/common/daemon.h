/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - what every stand-alone Aoki server's main() does: read the
 * options all servers share (--port, --workers, --quiet, --version) and
 * number options, and serve until SIGTERM or SIGINT.
 */
#ifndef AOKI_SERVERS_DAEMON_H
#define AOKI_SERVERS_DAEMON_H

#include "aoki/ipc.h"

/* Parse decimal @s in [@min, @max] into *@out: 0, or -EINVAL. */
int daemon_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* --workers N takes 1..DAEMON_WORKERS_MAX in every server. */
#define DAEMON_WORKERS_MAX 64

/* The options every server takes, the same way: to put first in its
 * getopt_long table, with DAEMON_SHORT first in its short options. */
#define DAEMON_LONGOPTS                                                        \
	{ "port", required_argument, NULL, 'p' },                              \
	{ "workers", required_argument, NULL, 'w' },                           \
	{ "quiet", no_argument, NULL, 'q' },                                   \
	{ "help", no_argument, NULL, 'h' },                                    \
	{ "version", no_argument, NULL, 'V' }
#define DAEMON_SHORT "p:w:qhV"

/*
 * daemon_option - apply option @c with argument @arg to @cfg if it is
 * --port, --workers or --quiet (returns 1), or print "NAME VERSION" for
 * --version (returns 2: exit 0).  Returns 0 if it is not one of them
 * (--help included: the caller prints its own usage), -1 after "NAME:
 * --workers X: not a number in 1..64" on stderr.
 */
int daemon_option(const char *name, int c, const char *arg, struct aoki_server_config *cfg);

/*
 * daemon_serve - block SIGTERM and SIGINT (before any thread exists, so
 * every thread inherits the mask), adopt the socket passed for cfg->port
 * by socket activation if there is one (aoki_server_create would adopt
 * it too; asking here lets the log say so, and name a bad one), create
 * and start
 * the server, log "NAME: serving port P (pid, workers, @what)" unless
 * cfg->quiet, wait synchronously for a stop signal, and destroy it.
 * Returns the exit status: 0 after a stop signal, 1 after printing
 * "NAME: ..." with why it could not serve.
 */
int daemon_serve(const char *name, struct aoki_server_config *cfg, const char *what);

/*
 * daemon_lock_exclusive - an exclusive lock on the whole of @fd's file,
 * not waiting: an open file description lock, so two servers conflict
 * whether they are processes or hosted in one process, and it goes with
 * the last reference to the open file.  Returns 0, -EBUSY (held by
 * another), or -errno.
 */
int daemon_lock_exclusive(int fd);

#endif
