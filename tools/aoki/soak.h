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

/* ------------------------------------------------------------ soak_util.c
 * What every soak does the same way: its common options, the pauses
 * between kills, killing a server and waiting for its successor, the
 * progress line, the stall figures. */

#define SOAK_MAX_KILLS 100000u

/* The options every soak takes. */
struct soak_common {
	unsigned kills, clients;	/* --kills N, --clients C */
	unsigned min_gap_ms, max_gap_ms;	/* pause before each kill */
	uint64_t seed;			/* --seed S (default: the clock) */
	int json, verbose, keep;	/* --json, --verbose, --keep */
};

/* The common long options (their short codes are SOAK_COMMON_SHORT), to
 * put first in a soak's getopt_long table. */
#define SOAK_COMMON_LONGOPTS                                                   \
	{ "kills", required_argument, NULL, 'k' },                             \
	{ "clients", required_argument, NULL, 'c' },                           \
	{ "seed", required_argument, NULL, 's' },                              \
	{ "json", no_argument, NULL, 'j' },                                    \
	{ "verbose", no_argument, NULL, 'v' },                                 \
	{ "keep", no_argument, NULL, 'K' },                                    \
	{ "help", no_argument, NULL, 'h' }
#define SOAK_COMMON_SHORT "k:c:s:jvKh"

/* soak_common_defaults - @kills and @clients as given, the gaps, and a
 * seed from the clock. */
void soak_common_defaults(struct soak_common *o, unsigned kills, unsigned clients,
			  unsigned min_gap_ms, unsigned max_gap_ms);

/* soak_common_option - apply option @c (value @v, parsed) if it is a
 * common one but -h.  Returns 1 if it was, else 0. */
int soak_common_option(struct soak_common *o, int c, uint64_t v);

/* soak_common_check - 0 if kills <= SOAK_MAX_KILLS and clients is in
 * 1..@max_clients, else -1 after a message naming @who. */
int soak_common_check(const struct soak_common *o, unsigned max_clients, const char *who);

/* soak_sleep_ms - sleep @ms, across signals. */
void soak_sleep_ms(unsigned ms);

/* soak_gap_ms - a pause in [min_gap_ms, max_gap_ms] drawn from @rng. */
unsigned soak_gap_ms(const struct soak_common *o, uint64_t *rng);

/* soak_new_pid - the pid of server @name (NULL: the first) once it runs
 * and is not @last, waiting up to @limit_ns.  Returns it, or -1 after a
 * message naming @who. */
pid_t soak_new_pid(const struct soak_init *si, const char *name, pid_t last,
		   int64_t limit_ns, const char *who);

/* soak_kill_wait - SIGKILL @pid and wait up to @limit_ms until it has
 * exited (a pidfd).  Returns 0, or -1 after a message naming @who. */
int soak_kill_wait(pid_t pid, unsigned limit_ms, const char *who);

/*
 * soak_progress - after kill @k (1-based) of @o->kills: with --verbose a
 * line per kill on stderr; else, on a terminal, one line that updates in
 * place (lib/util/progress.h; util_progress_end() clears it); else
 * nothing.  @what names the victim (or NULL), @count the work done so far
 * in @unit.
 */
void soak_progress(const struct soak_common *o, const char *who, unsigned k, const char *what,
		   double stall_ms, unsigned long long count, const char *unit);

/* Stall figures of the kills made. */
struct soak_stalls {
	unsigned n;
	double p50, p99, max;	/* ms */
	const double *ms;	/* the @n stalls, ascending (the caller's array) */
};

/* soak_stalls - the figures of the @n stalls (ms) at @ms, which it sorts
 * in place (ascending) and keeps a pointer to for soak_stalls_json. */
struct soak_stalls soak_stalls(double *ms, unsigned n);

/* soak_stalls_text / soak_stalls_json - "stall: p50 A ms, p99 B ms, max C
 * ms" and "\"stall_p50_ms\": A, \"stall_p99_ms\": B, \"stall_max_ms\": C,
 * \"stall_ms\": [every stall, ascending]" (no newline) on stdout; the
 * list is what `make plots` draws the stall distribution from. */
void soak_stalls_text(const struct soak_stalls *s);
void soak_stalls_json(const struct soak_stalls *s);

#endif
