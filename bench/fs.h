/* SPDX-License-Identifier: MIT */
/*
 * fs.h - shared pieces of `aoki bench fs` (bench/fs_*.c): aoki-fsd
 * against the kernel's ext4 and fuse2fs, on the same kind of image, in
 * one run; with --fuse also aoki-fsd through its FUSE mount (aoki-fuse).
 *
 * Each run makes, for each side in turn, a fresh image file (mke2fs -q -t
 * ext4 -b 4096 -F) in the bench's private directory and serves it:
 *   kernel   a loop device (losetup --direct-io=on), mounted ext4
 *            (noinit_itable: no background table zeroing);
 *   fuse2fs  fuse2fs -f on a mount point (Debian's e2fsprogs FUSE driver,
 *            libext2fs like aoki-fsd);
 *   aoki     aoki-blkd serving the image, aoki-fsd on it, with a private
 *            AOKI_RUN_DIR on tmpfs (/dev/shm) where there is one, as
 *            /run is on most systems: aoki-fsd keeps its staging ring
 *            there (servers/fsd/stage.c);
 *   aoki-fuse (--fuse) the same servers, and aoki-fuse -f mounting aoki-fsd
 *            on the mount point: the POSIX workloads (fio, the POSIX
 *            metadata table) run there as on the kernel and fuse2fs;
 *   aoki in-process (--layout inproc or both) aoki-blkd and aoki-fsd
 *            hosted in the bench's process (fs_inproc.c), the same client:
 *            two sides, each server in a compartment (aoki_inproc) and
 *            without one (aoki_unisolated, AOKI_HOST_UNISOLATED).
 * Then every workload runs in order on that one file system, and the side
 * is torn down.  The data workloads are fio (io_uring, O_DIRECT) on the
 * mounts, and one client thread with aoki_fs_submit/reap on buffers from
 * aoki_fs_alloc for aoki; the metadata workloads are one driver written
 * over an operations table (struct bf_ops) with a POSIX and an <aoki/fs.h>
 * implementation, so both sides run the same code.
 *
 * CPU per operation: the driver thread's (or fio's usr + sys) CPU plus
 * the server processes' (fuse2fs; aoki-blkd + aoki-fsd; from
 * /proc/PID/stat) over the same span, divided by the operations.  The
 * kernel's own threads (loop workers, jbd2, writeback) are not counted.
 *
 * The files: fs_main.c (options, the run, medians, entry point), fs_side.c
 * (images, mounts, servers, cleanup on exit and on signals), fs_data.c
 * (fio and the aoki data client), fs_meta.c (the metadata driver and its
 * two operation tables), fs_output.c (table and JSON), fs_inproc.c (the
 * in-process servers).  Shared helpers of
 * the blk bench (clocks, medians, children, CPU accounting) come from
 * blk.h.  What these files share is named bf_ (bench fs).
 */
#ifndef AOKI_BENCH_FS_PRIVATE_H
#define AOKI_BENCH_FS_PRIVATE_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#define BF_PFX "aoki bench fs"
#define BF_MAX_RUNS 99

enum { BF_KERNEL, BF_FUSE, BF_AOKI, BF_AOKI_FUSE, BF_AOKI_INPROC, BF_AOKI_UNISO, BF_SIDES };

/* --layout: where aoki-blkd and aoki-fsd run (the aoki sides). */
#define BF_LAYOUT_PROCESS 0x1u	/* processes of their own (BF_AOKI) */
#define BF_LAYOUT_INPROC  0x2u	/* hosted in the bench's process (BF_AOKI_INPROC,
				 * BF_AOKI_UNISO) */

enum {
	WL_SEQWRITE, WL_SEQREAD, WL_RANDREAD, WL_RANDWRITE,	/* data: fio / aoki client */
	WL_CREATE, WL_CREATE_FSYNC, WL_STAT, WL_UNLINK, WL_READDIR,	/* the driver */
	WL_COUNT
};

struct bf_workload {
	const char *name;	/* JSON key stem */
	const char *unit;	/* of the value: "MiB/s", "IOPS", "files/s", ... */
};

extern const struct bf_workload bf_wls[WL_COUNT];
extern const char *const bf_side_names[BF_SIDES];

struct bf_cfg {
	int json, quick;
	int fuse;		/* --fuse: the aoki-fuse side too */
	unsigned layouts;	/* BF_LAYOUT_*: which aoki sides run */
	unsigned runs;
	uint64_t image;		/* bytes of each image */
	uint64_t file;		/* bytes of the data file */
	double runtime, warmup;	/* seconds of the random workloads */
	unsigned n_create, n_fsync, n_dir, n_list;
	char dir[64];		/* private directory (images, mounts, run dir) */
	char img[80], mnt[80], run[80], err[80];	/* run: AOKI_RUN_DIR */
	char srv_err[4][80];	/* the servers' stderr: fuse2fs, aoki-blkd, aoki-fsd,
				 * aoki-fuse */
	char blkd[PATH_MAX], fsd[PATH_MAX], aoki_fuse[PATH_MAX];
	char cpu[128], kernel[128], host_fs[192], fio_version[64];
	long nproc;
	int have[BF_SIDES];		/* the side can run */
	char why[BF_SIDES][160];	/* else why not */
	char fuse_note[160];		/* how fio ran on fuse2fs */
	char aoki_fuse_note[160];	/* ... and on aoki-fuse */
};

/* One measured figure: the value (in the workload's unit) and the CPU
 * microseconds per operation (NAN: not known). */
struct bf_fig {
	double v, cpu_us;
};

struct bf_results {
	struct bf_fig med[BF_SIDES][WL_COUNT];	/* medians; v NAN: not run */
};

/* A live side: what is mounted or running, for the workloads and for
 * cleanup. */
struct bf_side {
	int side;
	char root[80];			/* mount point (kernel, fuse2fs) */
	pid_t srv[3];			/* server processes whose CPU counts */
	struct aoki_fs *fs;		/* aoki: the mount */
	struct aoki_host *host[2];	/* in-process: blkd, fsd */
	int fio_direct;			/* fio may use direct=1 here */
};

/* What a signal handler must undo: single stores, read by the handler. */
struct bf_cleanup {
	char dir[64];
	char run[80];			/* the run directory, when not inside dir */
	char mnt[80];
	volatile sig_atomic_t mounted;		/* mnt is mounted */
	volatile sig_atomic_t loop_fd;		/* an attached loop device, or -1 */
	volatile sig_atomic_t pid[4];		/* fuse2fs / aoki-blkd, aoki-fsd,
						 * aoki-fuse */
};
extern struct bf_cleanup bf_cl;

/* ------------------------------------------------------ fs_main.c */

/* bf_err - "aoki bench fs: <message>" on stderr; returns -1. */
int bf_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* bf_progress - "bench fs: run i/n, <side>: <what>; last: <figure>" as
 * the progress line (lib/util/progress.h: on a terminal only, rewritten
 * in place; bf_err ends it). */
void bf_progress(const struct bf_cfg *c, int side, unsigned run, const char *what);
/* bf_progress_fig - workload @wl's figure @f, shown as "last:" from the
 * next bf_progress on. */
void bf_progress_fig(int wl, const struct bf_fig *f);
/* bf_srv_cpu_s - CPU seconds of the side's server processes so far. */
double bf_srv_cpu_s(const struct bf_side *s);

/* ------------------------------------------------------ fs_side.c */

/* bf_prepare - tools, private directory, which sides can run; 0 or -1. */
int bf_prepare(struct bf_cfg *c);
/* bf_side_up - fresh image, mounted or served, into *@s; 0 or -1
 * (reported; call bf_side_down in any case). */
int bf_side_up(const struct bf_cfg *c, int side, struct bf_side *s);
/* bf_side_down - unmount / stop, detach, remove the image. */
void bf_side_down(const struct bf_cfg *c, struct bf_side *s);
/* bf_drop_cache - make the image's data durable and drop it from the
 * host's page cache (before a read workload). */
void bf_drop_cache(const struct bf_cfg *c, const struct bf_side *s);
/* bf_cleanup_all - undo everything (normal exit). */
void bf_cleanup_all(void);
/* bf_signals - install the cleaning handlers (SIGINT, SIGTERM, SIGHUP). */
void bf_signals(void);

/* ------------------------------------------------------ fs_data.c */

/* bf_data - data workload @wl on side @s, its figure into *@f; 0 or -1. */
int bf_data(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f);

/* ------------------------------------------------------ fs_meta.c */

/* bf_meta_begin - a fresh metadata state for side @s (directories);
 * bf_meta - metadata workload @wl (in order: create, create_fsync, stat,
 * unlink, readdir), its figure into *@f; bf_meta_end - free.  0 or -1. */
int bf_meta_begin(const struct bf_cfg *c, const struct bf_side *s);
int bf_meta(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f);
void bf_meta_end(const struct bf_side *s);

/* ------------------------------------------------------ fs_inproc.c */

/* bf_inproc_up - host aoki-blkd on the image and aoki-fsd on it in this
 * process, each in a compartment (BF_AOKI_INPROC) or without one
 * (BF_AOKI_UNISO: AOKI_HOST_UNISOLATED), s->fs mounted; 0 or -1
 * (reported; call bf_inproc_down in any case).  bf_inproc_down - unmount
 * first (the caller), then stop them. */
int bf_inproc_up(const struct bf_cfg *c, struct bf_side *s);
void bf_inproc_down(struct bf_side *s);
/* bf_inproc_isolated - whether the compartments are PKU-enforced. */
int bf_inproc_isolated(void);

/* bf_aoki_client - whether side @s is driven through <aoki/fs.h>. */
static inline int bf_aoki_client(const struct bf_side *s)
{
	return s->side == BF_AOKI || s->side == BF_AOKI_INPROC || s->side == BF_AOKI_UNISO;
}

/* ------------------------------------------------------ fs_output.c */

void bf_print_table(FILE *f, const struct bf_cfg *c, const struct bf_results *r);
void bf_print_json(FILE *f, const struct bf_cfg *c, const struct bf_results *r);

#endif
