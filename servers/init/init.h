/* SPDX-License-Identifier: MIT */
/*
 * init.h - aoki-init, the supervisor: it reads which servers to run, holds
 * their listening sockets, starts them with those sockets (the systemd
 * socket-activation convention), watches them with pidfds and restarts a
 * crashed one with backoff.  See aoki-init(8).
 *
 * Internal interfaces between its files:
 *   config.c    the configuration file          split.c   exec = command lines
 *   backoff.c   restart delays and crash limit  socket.c  run dir, listening sockets
 *   spawn.c     fork + exec, pid files          log.c     timestamped log lines
 *   status.c    pid and status files            main.c    options, ready fd
 *   supervise.c the event loop
 * Functions return 0 (or a count, a pid, a descriptor) or -errno.
 */
#ifndef AOKI_INIT_H
#define AOKI_INIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define INIT_NAME_MAX 64	/* server and port names, with the NUL */
#define INIT_MAX_PORTS 16	/* sockets per server: descriptors 3..18 */
#define INIT_MAX_SERVERS 256
#define INIT_LINE_MAX 4096	/* longest configuration line: INI_LINE_MAX (ini.h) */
#define INIT_CRASH_LIMIT_MAX 1000

/* ------------------------------------------------------------- config.c */

enum init_restart {
	INIT_RESTART_ON_FAILURE,	/* after a signal or a nonzero exit */
	INIT_RESTART_ALWAYS,		/* after any exit */
	INIT_RESTART_NEVER,
};

/* One [server NAME] section. */
struct init_server_conf {
	char name[INIT_NAME_MAX];
	char **argv;			/* exec, split (init_split); NULL-terminated */
	char ports[INIT_MAX_PORTS][INIT_NAME_MAX];
	unsigned nports;
	enum init_restart restart;
	unsigned backoff_min_ms;	/* first restart delay */
	unsigned backoff_max_ms;	/* the delay doubles up to this */
	unsigned backoff_reset_ms;	/* up this long: the next crash is a "first" again */
	unsigned crash_limit;		/* give up at this many crashes in the window; 0: never */
	unsigned crash_window_s;
	unsigned cool_down_s;		/* at the crash limit: retry after this; 0: give up */
	unsigned no_restart_status;	/* this exit status: never restart; 0: none */
	unsigned stop_timeout_ms;	/* SIGTERM, then SIGKILL after this */
	unsigned line;			/* of the section header */
	unsigned exec_line;		/* of the exec key */
};

/* A whole configuration file. */
struct init_config {
	char *file;			/* its name, for messages */
	struct init_server_conf *servers;	/* in file order */
	unsigned nservers;
};

/*
 * init_config_parse - parse the configuration in @f (named @fname in
 * messages) into @cfg, which the caller frees with init_config_free()
 * whatever the result.  Returns 0, -EINVAL with "FILE:LINE: what" in
 * @err (at most @errcap bytes) for bad input, -ENOMEM.
 */
int init_config_parse(FILE *f, const char *fname, struct init_config *cfg,
		      char *err, size_t errcap);

/* init_config_load - init_config_parse() of the file at @path; also
 * -errno of fopen with the reason in @err. */
int init_config_load(const char *path, struct init_config *cfg, char *err, size_t errcap);

/*
 * init_config_check_exec - check that every server's program exists and
 * is executable (programs named without '/' are looked up in $PATH when
 * started, and are not checked).  Returns 0, or -errno of the first that
 * is not with "FILE:LINE: ..." in @err.
 */
int init_config_check_exec(const struct init_config *cfg, char *err, size_t errcap);

/* init_config_free - release what the parser allocated; idempotent. */
void init_config_free(struct init_config *cfg);

/* init_name_ok - 1 if @s is a valid server or port name: 1 to 63 of
 * [A-Za-z0-9_.-], not starting with '.'; else 0. */
int init_name_ok(const char *s);

/* -------------------------------------------------------------- split.c */

/*
 * init_split - split a command line into words.  Blanks (space, tab)
 * separate words; a double-quoted part keeps blanks, and inside it \" and
 * \\ stand for " and \.  Nothing else is special (no $, no globs).
 * On success *@argv is a NULL-terminated array in one allocation (free()
 * it) and the word count is returned.  -EINVAL with a reason in *@why for
 * an empty command or an unterminated quote; -ENOMEM.
 */
int init_split(const char *line, char ***argv, const char **why);

/* ------------------------------------------------------------ backoff.c */

/* Restart delays and the crash limit of one server. */
struct init_backoff {
	const struct init_server_conf *conf;
	unsigned next_ms;		/* delay before the next restart */
	int64_t *crash_ns;		/* ring of the last crash_limit crash times */
	unsigned ncrash, head;
};

/* init_backoff_init - set @b up for @conf (kept by reference).
 * Returns 0 or -ENOMEM. */
int init_backoff_init(struct init_backoff *b, const struct init_server_conf *conf);

/* init_backoff_reset - forget @b's crashes: the next one is a first
 * crash again (after a cool-down, see cool-down-s in aoki-init(8)). */
void init_backoff_reset(struct init_backoff *b);

/* init_backoff_free - release @b; idempotent. */
void init_backoff_free(struct init_backoff *b);

/*
 * init_backoff_crash - account an unexpected exit at @now_ns (monotonic)
 * of a server that had been up @up_ns.  Returns the delay in ms before
 * restarting it: backoff_min_ms for a first crash (or one after an uptime
 * of backoff_reset_ms), then doubling (at least 10 ms) up to
 * backoff_max_ms.  Returns -1 when this is the crash_limit-th crash within
 * crash_window_s: give up.
 */
long init_backoff_crash(struct init_backoff *b, int64_t now_ns, int64_t up_ns);

/* ------------------------------------------------------------- socket.c */

/*
 * init_run_dir_default - the run directory of aoki_port_path(3):
 * $AOKI_RUN_DIR, else $XDG_RUNTIME_DIR/aoki, else /run/aoki.
 * Returns its length or -ENAMETOOLONG.
 */
int init_run_dir_default(char *buf, size_t cap);

/* init_mkdir_p - create @dir and its missing parents (mode 0755).
 * Returns 0 or -errno. */
int init_mkdir_p(const char *dir);

/* A listening socket aoki-init created, and the file it is bound to. */
struct init_socket {
	int fd;				/* -1 when closed */
	char path[108];			/* sizeof(sockaddr_un.sun_path) */
	dev_t dev;			/* the socket file as bound, so that */
	ino_t ino;			/* close never unlinks someone else's */
};

/*
 * init_socket_open - bind and listen (backlog 128) on "<@run_dir>/<@port>.sock".
 * A stale socket file (nobody accepts on it) is replaced.  The descriptor
 * is close-on-exec and blocking.  Returns 0, -EADDRINUSE (a live listener
 * has the path), -ENAMETOOLONG, or -errno of socket/bind/listen.
 */
int init_socket_open(const char *run_dir, const char *port, struct init_socket *s);

/* init_socket_close - close @s and unlink its file if it is still the one
 * we bound.  Idempotent. */
void init_socket_close(struct init_socket *s);

/* -------------------------------------------------------------- spawn.c */

/*
 * init_spawn - start @argv (execv, or execvp for a name without '/') in a
 * new session, with stdin on /dev/null, stdout and stderr inherited, the
 * @nfds descriptors @fds as 3, 4, ... and every other descriptor closed.
 * The environment gets LISTEN_PID (the child's pid), LISTEN_FDS = @nfds,
 * LISTEN_FDNAMES = @fdnames (colon-separated) - or none of the three when
 * @nfds is 0 - and AOKI_RUN_DIR = @run_dir.  The child gets SIGTERM if
 * aoki-init dies.  Signal mask and SIGPIPE are reset.  A failed exec
 * exits 127 after a message on stderr.  Returns the child's pid or -errno
 * of fork.
 */
pid_t init_spawn(char *const argv[], const int *fds, unsigned nfds,
		 const char *fdnames, const char *run_dir);

/*
 * init_pidfile_write - write "<pid>\n" to "<@run_dir>/<@name>.pid"
 * atomically (a temporary file renamed over it): readers see the old or
 * the new pid, never a partial file.  Returns 0 or -errno.
 */
int init_pidfile_write(const char *run_dir, const char *name, pid_t pid);

/* init_pidfile_remove - unlink "<@run_dir>/<@name>.pid", if present. */
void init_pidfile_remove(const char *run_dir, const char *name);

/* ------------------------------------------------------------- status.c */

/*
 * init_runfile_write - replace "<@run_dir>/<@name>.<@ext>" with @len bytes
 * of @text atomically (a temporary file renamed over it): readers see the
 * old or the new file, never part of one.  Returns 0 or -errno.
 */
int init_runfile_write(const char *run_dir, const char *name, const char *ext,
		       const char *text, size_t len);

/* init_runfile_remove - unlink "<@run_dir>/<@name>.<@ext>", if present. */
void init_runfile_remove(const char *run_dir, const char *name, const char *ext);

/* What "<run dir>/<name>.status" says about a server (aoki-init(8)). */
struct init_status {
	const char *state;	/* running, restarting, stopped, failed, finished */
	pid_t pid;		/* the running process; 0: none */
	unsigned starts;	/* processes started so far */
	int64_t started_ns;	/* wall clock of the last start, ns since the epoch */
	const char *last_exit;	/* how the last process ended; NULL: none yet */
	int64_t last_exit_ns;	/* when (wall clock, ns); 0: none yet */
};

/* init_status_write - write @st as "<@run_dir>/<@name>.status", one
 * "key=value" per line: state, pid, starts, restarts (starts - 1),
 * started_ns, last_exit, last_exit_ns.  Returns 0 or -errno. */
int init_status_write(const char *run_dir, const char *name, const struct init_status *st);

/* ---------------------------------------------------------------- log.c */

/* init_log - one line "YYYY-mm-dd HH:MM:SS.mmm aoki-init[PID]: MESSAGE"
 * on stderr, written with one write(2) so that lines of children and of
 * aoki-init do not interleave. */
void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* init_wait_status - describe a wait(2) status in @buf: "exited with
 * status N" or "killed by signal N (SIGNAME)[, core dumped]".  Returns @buf. */
const char *init_wait_status(int status, char *buf, size_t cap);

/* ---------------------------------------------------------- supervise.c */

struct init_sup;

/*
 * init_sup_open - prepare to supervise @cfg's servers (@cfg must outlive
 * the supervisor): block SIGTERM, SIGINT, SIGHUP and SIGCHLD (they are
 * read from a signalfd), ignore SIGPIPE, and create every server's
 * sockets in @run_dir.  Nothing is started.  Returns 0 with *@out set, or
 * -errno with the reason in @err (then nothing is left behind).
 */
int init_sup_open(const struct init_config *cfg, const char *run_dir,
		  struct init_sup **out, char *err, size_t errcap);

/* init_sup_start - start every server, in file order.  A server that
 * cannot be started is handled as a crash.  Returns the number started. */
unsigned init_sup_start(struct init_sup *sup);

/*
 * init_sup_run - supervise until SIGTERM or SIGINT (then stop the servers
 * in reverse order: SIGTERM, SIGKILL after stop_timeout_ms) or until no
 * server is left to run.  Returns the exit status: 1 if a server gave up
 * (crash limit) or failed under restart = never, else 0.
 */
int init_sup_run(struct init_sup *sup);

/* init_sup_close - close and unlink the sockets and pid files, free.
 * Servers still running are left alone (init_sup_run stops them). */
void init_sup_close(struct init_sup *sup);

#endif
