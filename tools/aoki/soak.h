/* SPDX-License-Identifier: MIT */
/*
 * soak.h - fault soaks (`aoki soak`): a supervisor (aoki-init) runs the
 * server under test, the soak loads it and kills it with SIGKILL at random
 * moments, then checks every request.
 */
#ifndef AOKI_SOAK_H
#define AOKI_SOAK_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

int soak_ipc_main(int argc, char **argv);
int soak_blk_main(int argc, char **argv);

/* soak_parse_number - an option's value @s (decimal, 0x hex or 0 octal,
 * no sign) into *@out: 0, or -1 after "WHO: bad number" on stderr. */
int soak_parse_number(const char *who, const char *s, uint64_t *out);

int soak_fs_main(int argc, char **argv);

/* An aoki-init running a soak's servers in a private run directory. */
struct soak_init {
	pid_t pid;			/* aoki-init */
	char dir[PATH_MAX];		/* run dir: sockets, pid files, state */
	char server[64];		/* the (first) server's name in the config */
	int keep;			/* keep the directory at the end */
};

/*
 * soak_init_start - write a configuration for server @name (command line
 * @exec, in which each %s stands for the run directory; one port @port,
 * immediate first restart, no crash limit below
 * @max_crashes) into a new directory under $TMPDIR, start aoki-init on it
 * and wait until it reports ready (5 s).  The server's binary is looked up
 * next to this program's own.  Returns 0 or -errno (with a message on
 * stderr).
 */
int soak_init_start(struct soak_init *si, const char *name, const char *exec,
		    const char *port, unsigned max_crashes);

/* One server of soak_init_start_servers: its name in the configuration,
 * its command line (every %s stands for the run directory) and its one
 * port. */
struct soak_server {
	const char *name, *exec, *port;
};

/*
 * soak_init_start_servers - as soak_init_start, for the @n servers @srv,
 * started (and restarted) by aoki-init in that order and stopped in the
 * reverse order: a server that uses another comes after it.  si->server
 * is srv[0]'s name.  Returns 0 or -errno (with a message on stderr).
 */
int soak_init_start_servers(struct soak_init *si, const struct soak_server *srv, unsigned n,
			    unsigned max_crashes);

/* soak_init_bindir - the directory of this program's binary, where
 * aoki-init and the servers live.  Returns 0 or -errno. */
int soak_init_bindir(char *buf, size_t cap);

/* soak_init_server_pid - the current pid of the server (its pid file),
 * or -errno (-ENOENT while it is being restarted). */
pid_t soak_init_server_pid(const struct soak_init *si);

/* soak_init_pid_of - the same for the server named @name. */
pid_t soak_init_pid_of(const struct soak_init *si, const char *name);

/* soak_init_stop - SIGTERM aoki-init, wait for it, remove the directory
 * (unless si->keep or $AOKI_SOAK_KEEP: then say where it is; its
 * init.log has aoki-init's and the server's log lines).  Returns
 * aoki-init's wait status, or -errno. */
int soak_init_stop(struct soak_init *si);

#endif
