/* SPDX-License-Identifier: MIT */
/*
 * stack.h - `aoki up`, `aoki status`, `aoki down`: one configuration
 * file describes a whole stack (an image file, aoki-blkd serving it,
 * aoki-fsd on it, aoki-fuse mounting it), which runs under aoki-init.
 * See docs/stack.md and aoki(1).
 *
 *   stack_conf.c    the configuration file (aoki-init's syntax)
 *   stack_files.c   what lives in the run directory: pid, status and
 *                   key=value files, aoki-init's pid, the mount table,
 *                   the image's superblock
 *   stack_up.c      aoki up: image, aoki-init, waiting until all answer
 *   stack_status.c  aoki status: the figures of each server, table, JSON
 *   stack_down.c    aoki down: stop, unmount, check the image is clean
 *
 * Files in the run directory: stack.pid (aoki-init), stack-init.conf
 * (what aoki up gave it), stack.log (its and the servers' stderr), and
 * aoki-init's own <server>.pid and <server>.status for the servers
 * "blkd", "fsd" and "fuse".
 */
#ifndef AOKI_STACK_H
#define AOKI_STACK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"

#define STACK_CONF_DEFAULT "/etc/aoki/stack.conf"
#define STACK_NAME_MAX 64
#define STACK_ARGS_MAX 1024

/* The servers of a stack, as aoki-init knows them. */
enum stack_srv { STACK_BLKD, STACK_FSD, STACK_FUSE, STACK_NSRV };
extern const char *const stack_srv_names[STACK_NSRV];	/* "blkd", "fsd", "fuse" */

struct stack_conf {
	char file[PATH_MAX];		/* the configuration, as given */
	char run_dir[PATH_MAX];		/* [stack] run-dir */
	unsigned timeout_s;		/* [stack] timeout-s: aoki up's deadline */
	char image[PATH_MAX];		/* [volume] image */
	uint64_t size;			/* [volume] size: of a new image */
	char volume[STACK_NAME_MAX];	/* [volume] name */
	char port[2][STACK_NAME_MAX];	/* [blkd] port, [fsd] port */
	char args[STACK_NSRV][STACK_ARGS_MAX];	/* [blkd|fsd|mount] args */
	char mount[PATH_MAX];		/* [mount] path; "": no FUSE mount */
	char restart[16];		/* [restart] policy */
	unsigned backoff_min_ms, backoff_max_ms, crash_limit, crash_window_s,
		 stop_timeout_ms;	/* [restart], aoki-init's keys */
};

/* ---------------------------------------------------------- stack_conf.c */

/*
 * stack_conf_load - read the configuration at @path into @c (defaults
 * first; relative paths are taken from the file's directory).  Returns 0,
 * or -errno with "FILE:LINE: what" (or "FILE: why") in @err.
 */
int stack_conf_load(const char *path, struct stack_conf *c, char *err, size_t cap);

/*
 * stack_cli - the command line `aoki up` and `aoki down` share: -c FILE
 * (default STACK_CONF_DEFAULT), -q, -h.  Loads the configuration into @c
 * and sets *@quiet.  Returns -1 to go on, or the exit status to return
 * (from @usage, or 2 for a configuration @cmd reports on stderr).
 */
int stack_cli(int argc, char **argv, const char *cmd, int (*usage)(FILE *f),
	      struct stack_conf *c, int *quiet);

/* stack_conf_defaults - @c as a file without keys would leave it (no
 * image yet), named @file. */
void stack_conf_defaults(struct stack_conf *c, const char *file);

/* --------------------------------------------------------- stack_files.c */

/* stack_path - "<run dir>/<@name>" into @buf; -ENAMETOOLONG or 0. */
int stack_path(const struct stack_conf *c, const char *name, char *buf, size_t cap);

/* stack_mkdir_p - make @dir and missing parents (0755); 0 or -errno. */
int stack_mkdir_p(const char *dir);

/* stack_init_pid - aoki-init's pid from stack.pid if that process is
 * alive and is aoki-init; else 0. */
pid_t stack_init_pid(const struct stack_conf *c);

/* stack_srv_pid - the pid aoki-init wrote for @srv; 0 if none. */
pid_t stack_srv_pid(const struct stack_conf *c, enum stack_srv srv);

/* A "key=value" file or text, split: at most STACK_KV_MAX entries. */
#define STACK_KV_MAX 64
struct stack_kv {
	unsigned n;
	char key[STACK_KV_MAX][48];
	char val[STACK_KV_MAX][128];
};

/* stack_kv_parse - split @len bytes of @text into @kv; lines that are not
 * key=value are skipped.  Returns the number of entries. */
unsigned stack_kv_parse(const char *text, size_t len, struct stack_kv *kv);

/* stack_kv_get - the value of @key, or NULL; stack_kv_num - as a number,
 * or @dflt when missing or not a number. */
const char *stack_kv_get(const struct stack_kv *kv, const char *key);
int64_t stack_kv_num(const struct stack_kv *kv, const char *key, int64_t dflt);

/* stack_srv_status - aoki-init's <srv>.status file into @kv; 0 or -errno
 * (-ENOENT: none, aoki-init has not started it or has stopped). */
int stack_srv_status(const struct stack_conf *c, enum stack_srv srv, struct stack_kv *kv);

/* stack_mounted - 1 if @path is a mount point now (/proc/self/mountinfo),
 * with its file system type in @fstype; 0 if not; -errno. */
int stack_mounted(const char *path, char *fstype, size_t cap);

/* stack_image_needs_recovery - read the ext4 superblock of @image: 1 if
 * needs_recovery is set, 0 if clear, -EINVAL (not ext2/3/4), -errno. */
int stack_image_needs_recovery(const char *image);

/* stack_query - connect to @port, ask the stats request, close: *@st and
 * up to @cap bytes of the server's figures into @kv.  Gives up after
 * about @timeout_ms.  Returns 0 or -errno. */
int stack_query(const char *port, int64_t timeout_ms, struct aoki_server_stats *st,
		struct stack_kv *kv);

/* stack_log_tail - print the last @lines lines of the run directory's
 * stack.log to stderr, indented. */
void stack_log_tail(const struct stack_conf *c, unsigned lines);

/* ----------------------------------------------- stack_up/status/down.c */

/* stack_up - start @c's stack and wait until every part answers; on
 * failure nothing is left running.  Messages on stdout (@quiet: errors
 * only).  Returns an exit status: 0, 1 (failed, with why on stderr). */
int stack_up(const struct stack_conf *c, int quiet);

/* What aoki status shows of one server. */
struct stack_srv_view {
	int known;			/* a status file was there */
	char state[32];
	pid_t pid;
	int64_t uptime_ns;		/* -1: unknown */
	int64_t started_ns;		/* aoki-init's start time (wall clock); 0 unknown */
	unsigned restarts;
	char last_exit[128];		/* "" none */
	int64_t last_exit_ns;		/* wall clock; 0 none */
	int answered;			/* the stats request was answered */
	int err;			/* else why not (-errno) */
	struct aoki_server_stats st;	/* the second sample */
	struct stack_kv figures;	/* the server's own, second sample */
	uint64_t clients;		/* channels less the query's own */
	double req_per_s, bytes_per_s;	/* NAN: one sample only */
};

struct stack_view {
	pid_t init_pid;			/* 0: the stack is not up */
	int64_t interval_ms;
	struct stack_srv_view srv[STACK_NSRV];
	int mounted;			/* the mount point is mounted */
	int mount_err;			/* -errno of statfs(2) on it (a dead FUSE
					 * mount: -ENOTCONN); 0: it answers */
	char fstype[64];
};

/* stack_view_collect - sample the stack twice, @interval_ms apart (0:
 * once, no rates).  Returns 0, or -ESRCH when the stack is not up. */
int stack_view_collect(const struct stack_conf *c, int64_t interval_ms, struct stack_view *v);

/* stack_view_print - as a table, or as one JSON object. */
void stack_view_print(const struct stack_conf *c, const struct stack_view *v, int json);

/* stack_down - stop @c's stack (aoki-fuse unmounts, aoki-fsd checkpoints
 * and marks the image clean, aoki-blkd last) and check the image.
 * Returns an exit status: 0, 1 (with why on stderr). */
int stack_down(const struct stack_conf *c, int quiet);

#endif
