/* SPDX-License-Identifier: MIT */
/*
 * blk.h - shared pieces of `aoki bench blk` (bench/blk_*.c): aoki-blkd
 * against the kernel's own io_uring path on the same file, in one run.
 *
 * For each workload, alternately:
 *   direct  fio, ioengine=io_uring, direct=1, fixedbufs, registerfiles,
 *           on the backing file itself: the path blkd is built on, with
 *           nothing in between;
 *   aoki    the same workload through aoki-blkd: one client thread keeps
 *           QD requests in flight with aoki_blk_submit/aoki_blk_reap on
 *           buffers from aoki_blk_alloc (the server's fixed buffers).
 * Both sides: offsets uniformly random over the file (no random map) or
 * sequential, a warm-up whose I/O is not counted, then a timed window.
 * With --repeat N a figure is the median of N alternations.  The ratio
 * is aoki IOPS over direct IOPS.
 *
 * Beside each rate, the CPU it took over the timed window, in percent of
 * one CPU: for direct, fio's usr_cpu + sys_cpu of its job; for aoki, this
 * process (getrusage RUSAGE_SELF: the client thread; in-process also the
 * server) plus the aoki-blkd process in the process layout (utime +
 * stime in /proc/PID/stat).  Both aoki sides poll before they
 * sleep (while polling pays, lib/ipc/spin.h), fio sleeps in
 * io_uring_enter, so the CPU time per I/O and its ratio (aoki over
 * direct) stand beside the IOPS ratio.  --poll-us N sets how long at most
 * both aoki sides poll (aoki-blkd --spin-us N, the client's
 * aoki_blk_opts.spin_ns); 0: neither polls.
 *
 * With --contended, a CPU-bound process of normal priority runs on every
 * CPU from after the backing file is ready to the end (bench/contend.c),
 * during the fio and the aoki measurements alike.
 *
 * Also a compatibility row, not in the ratios: fio's nbd engine through
 * nbdkit and the aoki-blk plugin; and with --fairness, a QD1 reader's
 * IOPS and latency alone and beside a QD32 reader on another channel,
 * with two fio jobs (one alone, then both at once) as the baseline.
 *
 * --layout says where aoki-blkd runs (the layouts of docs/layouts.md),
 * each layout a row of its own beside fio's, alternating with it:
 *   process     aoki-blkd, the daemon, a process of its own (the default);
 *   inproc      aoki-blkd hosted in this process (aoki_host_start, in a
 *               compartment; without PKU it runs unprotected, and the row
 *               says so), served on the client thread through a gate;
 *   unisolated  the same without the compartment (AOKI_HOST_UNISOLATED):
 *               the cost of the isolation is the difference.
 * --layout inproc measures both in-process rows, both all three; each
 * round runs fio, then the layouts in turn, in reverse order every other
 * round (--repeat), so that none always runs right after fio.  The
 * client is the same code in each: it opens the volume by the same port
 * name, and aoki_blk_open finds the hosted server first.  The CPU of an
 * aoki row is measured the same way in each layout: this process
 * (getrusage RUSAGE_SELF: the client thread, and in-process the server
 * it runs) plus, in the process layout, the aoki-blkd process.
 *
 * aoki-blkd is started (or hosted) for each aoki measurement and stopped
 * after it, so the direct side runs with no server at all.  Children get
 * SIGTERM if the bench dies; SIGINT, SIGTERM and SIGHUP also remove the
 * temporary files.
 *
 * The nbd row and --fairness run in the process layout, whatever
 * --layout says.
 *
 * The files: blk_main.c (workloads, options, the run), blk_util.c (CPU
 * clocks, random, medians, messages, progress), blk_proc.c (children,
 * signals, cleanup), blk_files.c (tools, directory, backing file, machine),
 * blk_fio.c (the fio side), blk_client.c (the aoki side), blk_nbd.c (the
 * nbd row), blk_fair.c (--fairness), blk_output.c (table and JSON).
 * What they share is named bb_ (bench blk), clear of the rest of aoki.
 */
#ifndef AOKI_BENCH_BLK_PRIVATE_H
#define AOKI_BENCH_BLK_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define PFX "aoki bench blk"
#define VOLUME "bench"
#define QD_MAX 32		/* deepest queue of any workload */
#define MAX_REPEAT 99
#define START_NS 10000000000ll	/* a server must serve within this */

enum { W_RR1, W_RR32, W_RW32, W_SR8, W_SW8, W_COUNT };

/* Where aoki-blkd runs (--layout): a process of its own, hosted in this
 * process in a compartment, hosted without one. */
enum { L_PROCESS, L_INPROC, L_UNISOLATED, L_COUNT };
#define LAYOUT_INPROC ((1u << L_INPROC) | (1u << L_UNISOLATED))	/* --layout inproc */
#define LAYOUT_ALL ((1u << L_COUNT) - 1)			/* --layout both */

struct workload {
	const char *name;	/* --workloads name and JSON key stem */
	const char *fio_rw;	/* fio --rw */
	int write, seq;
	unsigned bs, qd;
};

/* The workloads, by W_* (blk_main.c). */
extern const struct workload bb_wls[W_COUNT];

struct cfg {
	int json, fairness, no_nbd, user_file, run_wl;
	int contended;			/* --contended: a CPU hog on every CPU */
	unsigned hogs;			/* how many run (bench.h) */
	long poll_us;			/* --poll-us; <0: not given (both defaults) */
	unsigned repeat, wl_mask;
	unsigned layouts;		/* --layout: bits 1 << L_* */
	double runtime, warmup;		/* seconds */
	uint64_t size;			/* bytes of the file used */
	char file[PATH_MAX];
	char dir[64];			/* sockets, children's stderr */
	char sock[96], nbd_sock[96], fio_err[96], nbd_err[96];
	char blkd[PATH_MAX], plugin[PATH_MAX];
	char cpu[128], kernel[128], fs[192], fio_version[64];
	long nproc;
};

/* A measured rate and the CPU it took over the timed window (percent of
 * one CPU; NAN: not known). */
struct rate {
	double iops, mbps;
	double cpu_pct;			/* all: cli_pct + srv_pct */
	double cli_pct, srv_pct;	/* fio's job or this process; the aoki-blkd process
					 * (direct and in-process: 0) */
	double cpu_us_io;		/* microseconds of CPU per I/O */
};

enum { NBD_OFF, NBD_OK, NBD_SKIPPED, NBD_FAILED };

/* The --fairness figures: a QD1 random reader alone, then beside a QD32
 * one (IOPS; latencies in us, from submission to completion). */
enum { F_ALONE_IOPS, F_ALONE_P50, F_ALONE_P99, F_SHARED_IOPS, F_SHARED_P50, F_SHARED_P99,
       F_QD32_IOPS, F_COUNT };

enum { SIDE_DIRECT, SIDE_AOKI };

struct results {
	struct rate direct[W_COUNT], aoki[L_COUNT][W_COUNT];
	struct rate nbd;
	int nbd_state;
	char nbd_why[256];
	double fair[2][F_COUNT];	/* [SIDE_DIRECT]: two fio jobs; [SIDE_AOKI] */
	int aoki_direct;	/* 1: blkd opened the file O_DIRECT */
	int isolated;		/* 1: the inproc layout's compartment is enforced (PKU):
				 * aoki_domain_isolated() */
	uint64_t recoveries;	/* faults a hosted server recovered from (a bug) */
};

/* What a signal handler must undo; written before handlers are installed
 * (paths) or as single stores (pids). */
struct cleanup {
	char file[PATH_MAX];		/* a temporary backing file, or "" */
	char dir[64];
	char paths[4][96];
	volatile sig_atomic_t pid[2];	/* aoki-blkd, nbdkit; 0: none */
};

/* The one instance (blk_proc.c). */
extern struct cleanup bb_cl;

enum { PID_BLKD, PID_NBDKIT };

/* Log-linear buckets: 32 per power of two (3 % wide), exact below 32 ns. */
#define HIST_SUB 32
#define HIST_BUCKETS (60 * HIST_SUB)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
};

/* The CPU used so far, at a moment of a job's run. */
struct cpu_mark {
	int64_t ns;			/* CLOCK_MONOTONIC */
	double client_s, server_s;	/* this process, aoki-blkd: CPU seconds */
};

/* One client thread: one channel, QD requests kept in flight. */
struct job {
	const struct cfg *c;
	const struct workload *w;
	pthread_barrier_t *start;
	pthread_t th;
	struct hist *lat;		/* NULL: latencies not kept */
	uint64_t rng, pos;		/* next random / sequential offset */
	uint64_t ios, bytes;		/* completed in the timed window */
	int direct;			/* the server's volume is O_DIRECT */
	int cpu;			/* take mark[] (the only job, aoki-blkd runs) */
	int layout;			/* L_*: where aoki-blkd runs */
	unsigned marks;			/* of mark[] taken */
	struct cpu_mark mark[2];	/* at the timed window's start, its end */
	int err;
	char msg[256];
	void *buf[QD_MAX];
	int64_t sent[QD_MAX];		/* submission time, ns */
	uint64_t off[QD_MAX];
	unsigned char busy[QD_MAX];
	unsigned freel[QD_MAX], nfree;	/* slots not in flight */
};

/* ------------------------------------------------------ blk_util.c */

/* bb_xorshift - the next pseudo-random number of state *@s (never 0). */
uint64_t bb_xorshift(uint64_t *s);
/* bb_median - the median of @n values (sorted in place). */
double bb_median(double *v, unsigned n);
/* bb_err - "aoki bench blk: <message>" on stderr, on a line of its own
 * (a progress line is ended first); returns -1. */
int bb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* bb_dump_file - the first 4 KiB of file @path on stderr, indented. */
void bb_dump_file(const char *path);
/* bb_progress - "bench blk: <@what>" and the last figure as the progress
 * line (util_progress: on a terminal only). */
void bb_progress(const char *what);
/* bb_progress_done - @r (of what @what measured) as the progress line's
 * last figure from the next bb_progress on: IOPS and MB/s, and CPU use
 * where known. */
void bb_progress_done(const char *what, const struct rate *r);
/* bb_thread_cpu_s - the CPU seconds (user + system) this thread has used. */
double bb_thread_cpu_s(void);
/* bb_self_cpu_s - the CPU seconds (user + system) this process has used,
 * all its threads (getrusage RUSAGE_SELF). */
double bb_self_cpu_s(void);

/* ------------------------------------------------------ blk_proc.c */

/* bb_spawn - start @argv, stdout into a pipe read at *@out_fd (NULL: our
 * stderr), stderr into file @errpath (NULL: ours); the pid or -errno. */
pid_t bb_spawn(char *const argv[], int *out_fd, const char *errpath);
/* bb_run_capture - run @argv to its end, stdout into *@out (malloc'd);
 * the exit code (128+N for signal N) or -errno. */
int bb_run_capture(char *const argv[], const char *errpath, char **out);
/* bb_stop_child - SIGTERM child bb_cl.pid[@which] (PID_*) and reap it,
 * warning if it exits badly; nothing when none runs. */
void bb_stop_child(int which);
/* bb_child_gone - 1 (reported) if child @which has exited, else 0. */
int bb_child_gone(int which);
/* bb_cleanup_files - remove the files and directory named in bb_cl. */
void bb_cleanup_files(void);
/* bb_signals_set - install the cleaning SIGINT/SIGTERM/SIGHUP handlers,
 * the old ones into @old[3], or (@restore) put those back. */
void bb_signals_set(struct sigaction *old, int restore);
/* bb_in_path - is @name an executable in $PATH? */
int bb_in_path(const char *name);
/* bb_proc_cpu_s - the CPU seconds (utime + stime, all threads) process
 * @pid has used, from /proc/PID/stat; NAN if unreadable. */
double bb_proc_cpu_s(pid_t pid);

/* ------------------------------------------------------ blk_files.c */

/* bb_find_tools - fio in PATH, aoki-blkd and the plugin's path into @c;
 * 0 or -1 (reported). */
int bb_find_tools(struct cfg *c);
/* bb_setup_dir - @c's private directory, registered for cleanup; 0 or
 * -1 (reported). */
int bb_setup_dir(struct cfg *c);
/* bb_file_prepare - the backing file, filled as needed, its file system
 * into c->fs; 0 or -1 (reported). */
int bb_file_prepare(struct cfg *c);
/* bb_machine_describe - CPU model, CPUs online, kernel release into @c. */
void bb_machine_describe(struct cfg *c);

/* ------------------------------------------------------ blk_fio.c */

/* bb_run_fio - workload @w with fio (@nbd_sock: through nbd), its rate
 * and CPU use into *@r; 0 or -1 (reported). */
int bb_run_fio(const struct cfg *c, const struct workload *w, const char *nbd_sock,
	       struct rate *r);
/* bb_fio_fair - the --fairness baseline, alone or (@shared) beside QD32,
 * its figures into @v; 0 or -1 (reported). */
int bb_fio_fair(const struct cfg *c, int shared, double v[F_COUNT]);
/* bb_fio_version - "fio-3.33" from `fio --version` into @out. */
void bb_fio_version(const struct cfg *c, char *out, size_t cap);

/* ------------------------------------------------------ blk_client.c */

/* bb_hist_pct - the @p quantile of @h in microseconds; NAN when empty. */
double bb_hist_pct(const struct hist *h, double p);
/* bb_job_init - a client job of workload @w, latencies into @lat (NULL:
 * none kept). */
void bb_job_init(struct job *j, const struct cfg *c, const struct workload *w,
		 struct hist *lat);
/* bb_run_jobs - @n jobs at once, timed windows together; 0 or -1
 * (reported). */
int bb_run_jobs(struct job *jobs, unsigned n);
/* bb_blkd_start - aoki-blkd serving the file on c->sock (with --poll-us:
 * --spin-us), ready; 0 or -1 (reported; the caller stops it in any case). */
int bb_blkd_start(const struct cfg *c);
/* bb_aoki_once - workload @w through a fresh aoki-blkd in layout @layout
 * (L_*), its rate and CPU use (client + server) into *@out;
 * res->aoki_direct cleared if it is not O_DIRECT, faults a hosted server
 * recovered from added to res->recoveries; 0 or -1 (reported). */
int bb_aoki_once(const struct cfg *c, const struct workload *w, int layout, struct rate *out,
		 struct results *res);
/* bb_layout_name - the row label of layout @l: "process", "inproc
 * (isolated)" or "inproc (unprotected: no PKU)" as @isolated says,
 * "inproc unisolated". */
const char *bb_layout_name(int l, int isolated);

/* ------------------------------------------------------ the rest */

/* bb_nbd_run - the nbd row into @res; skipped or failed is noted there
 * (blk_nbd.c). */
void bb_nbd_run(const struct cfg *c, struct results *res);
/* bb_fairness_run - --fairness, medians into @res; 0 or -1 (reported)
 * (blk_fair.c). */
int bb_fairness_run(const struct cfg *c, struct results *res);
/* bb_print_table - the results as a table on @f (blk_output.c). */
void bb_print_table(FILE *f, const struct cfg *c, const struct results *r);
/* bb_print_json - the results as one JSON object on @f (blk_output.c). */
void bb_print_json(FILE *f, const struct cfg *c, const struct results *r);

#endif
