/* SPDX-License-Identifier: MIT */
/*
 * soak_fs.c - `aoki soak fs`: C client threads work on files through
 * <aoki/fs.h> while the soak kills aoki-fsd (and, with --blkd-kills,
 * aoki-blkd under it) with SIGKILL N times.  aoki-init runs both servers
 * on a fresh ext4 image (mke2fs -t ext4 -b 4096).
 *
 * Each client has its own mount, its own directory /cI and NAMES names in
 * it, and a model of them: every byte of every file.  It works in epochs:
 * 1 to 8 random operations (create, write - aligned or not, copy-free or
 * copied -, append, truncate, rename over another name, unlink, fsync,
 * read), then aoki_fs_syncfs.
 *
 * The durability rule: when aoki_fs_syncfs returns, everything the client
 * had acknowledged before it is durable.  Until then a crash of aoki-fsd
 * may lose operations it acknowledged (its open transaction), so:
 *   - an epoch during which no kill was made must end with the model
 *     exact: every read checked byte for byte (corrupt), every call
 *     successful (errors);
 *   - an epoch during which a kill was made (the soak counts a kill before
 *     sending the signal, so a client that reads the same count after its
 *     syncfs returned knows no server it used died in between) ends in
 *     recovery: the client reads all its names back; a name no operation
 *     of the epoch touched must be exactly as at the last durable point
 *     (gone or shorter: lost; anything else: corrupt); touched names may
 *     hold any state, which becomes the model; then syncfs again, until
 *     one round passes without a kill.
 * A call that spans a kill is a delay, never an error.  A kill's stall is
 * the longest call that spanned it.  At the end every name and byte is
 * checked through <aoki/fs.h> (and each directory's listing), the stack
 * is stopped (SIGTERM), `e2fsck -fn` runs on the image (fsck_errors: its
 * exit status), and as root a read-only loop mount of the image is
 * compared with the model (mount_diffs; null if it cannot mount).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/fs.h"
#include "blk_work.h"
#include "clock.h"
#include "progress.h"
#include "rand.h"
#include "soak.h"

#define PFX "aoki soak fs"
#define VOLUME "disk"
#define NAMES 8			/* names per client */
#define MAXF (192u << 10)	/* largest file a client makes */
#define NS 1000000000ll
#define RECOVERY_LIMIT_NS (30 * NS)	/* every client called after a kill */
#define DEATH_LIMIT_MS 5000
#define PID_LIMIT_NS (10 * NS)
#define MAX_MESSAGES 20

struct soak_opts {
	struct soak_common c;
	uint64_t size_mib;
	int blkd_kills;
};

struct file {
	int exists;
	size_t size;
	uint8_t *data;		/* MAXF bytes */
};

struct client {
	unsigned id;
	pthread_t th;
	int started;
	struct aoki_fs *fs;
	uint8_t *gbuf;		/* MAXF + 1 bytes from aoki_fs_alloc: copy-free */
	uint8_t *mbuf;		/* MAXF + 1 bytes of plain memory: copied */
	uint8_t *rbuf;		/* MAXF + 1: reads */
	struct file cur[NAMES];	/* what the files hold now */
	struct file dur[NAMES];	/* ... at the last durable point */
	unsigned touched;	/* names changed since then (bits) */
	uint64_t rng;
	unsigned epoch_kills;	/* g.kills_started when the epoch began */
	_Atomic int64_t call_start;	/* start of its latest finished call */
	int failed;
};

static struct {
	_Atomic int stop, abort;
	_Atomic unsigned kills_started;	/* counted before the signal */
	_Atomic int64_t *stall_ns;	/* per kill: longest call spanning it */
	_Atomic uint64_t ops, lost, corrupt, errors;
	_Atomic unsigned messages;
} g;

static void fail(_Atomic uint64_t *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Count one failure in @what and, for the first MAX_MESSAGES, say what. */
static void fail(_Atomic uint64_t *what, const char *fmt, ...)
{
	unsigned m = atomic_fetch_add(&g.messages, 1);
	char line[512];
	va_list ap;

	atomic_fetch_add(what, 1);
	if (m > MAX_MESSAGES)
		return;
	if (m == MAX_MESSAGES) {
		fprintf(stderr, PFX ": further failures not shown\n");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PFX ": %s\n", line);
}

/* ----------------------------------------------------------- calls */

/* A client call: counted, timed, and charged to every kill it spanned. */
struct span {
	int64_t t0;
	unsigned k0;
};

static struct span span_begin(void)
{
	return (struct span){ util_now_ns(), atomic_load(&g.kills_started) };
}

static void span_end(struct client *cl, struct span s)
{
	int64_t t1 = util_now_ns(), d = t1 - s.t0;
	unsigned k1 = atomic_load(&g.kills_started);

	atomic_fetch_add_explicit(&g.ops, 1, memory_order_relaxed);
	for (unsigned k = s.k0; k < k1; k++) {
		int64_t old = atomic_load(&g.stall_ns[k]);

		while (d > old && !atomic_compare_exchange_weak(&g.stall_ns[k], &old, d))
			;
	}
	atomic_store(&cl->call_start, s.t0);
}

#define CALL(cl, expr)                                                         \
	({                                                                     \
		struct span s_ = span_begin();                                 \
		__typeof__(expr) r_ = (expr);                                  \
		span_end((cl), s_);                                            \
		r_;                                                            \
	})

/* Whether a kill was made since the client's epoch began. */
static int killed_since(const struct client *cl)
{
	return atomic_load(&g.kills_started) != cl->epoch_kills;
}

static void name_of(const struct client *cl, unsigned n, char *buf, size_t cap)
{
	snprintf(buf, cap, "/c%u/f%u", cl->id, n);
}

static void fill(uint8_t *p, size_t n, uint64_t *rng)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = util_rnd(rng);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* read_name - name @n's content into cl->rbuf.  Returns its size, -ENOENT
 * (absent), or another -errno. */
static ssize_t read_name(struct client *cl, unsigned n)
{
	char path[64];
	ssize_t r;
	int fd;

	name_of(cl, n, path, sizeof(path));
	fd = CALL(cl, aoki_fs_open(cl->fs, path, O_RDONLY, 0));
	if (fd < 0)
		return fd;
	r = CALL(cl, aoki_fs_pread(cl->fs, fd, cl->rbuf, MAXF + 1, 0));
	aoki_fs_close(cl->fs, fd);
	return r;
}

/* --------------------------------------------------------- operations */

/* One operation's failure: an error unless a kill explains it (then the
 * epoch ends in recovery).  Returns -1 (end the epoch). */
static int op_failed(struct client *cl, const char *what, const char *path, long r)
{
	if (!killed_since(cl))
		fail(&g.errors, "client %u: %s %s: %s", cl->id, what, path, strerror((int)-r));
	return -1;
}

/* write_at - open @path with @flags and write @len bytes of @buf at @off
 * (O_APPEND: at the end).  Returns 0 or -errno. */
static long write_at(struct client *cl, const char *path, int flags, const uint8_t *buf,
		     size_t len, size_t off)
{
	int fd = CALL(cl, aoki_fs_open(cl->fs, path, flags, 0644));
	ssize_t w;

	if (fd < 0)
		return fd;
	w = CALL(cl, aoki_fs_pwrite(cl->fs, fd, buf, len, off));
	aoki_fs_close(cl->fs, fd);
	return w == (ssize_t)len ? 0 : w < 0 ? w : -EIO;
}

/* one_op - a random operation on the client's names, the model updated.
 * Returns 0, or -1 when the epoch must end (a failure, or a kill). */
static int one_op(struct client *cl)
{
	unsigned n = (unsigned)(util_rnd(&cl->rng) % NAMES), kind = (unsigned)(util_rnd(&cl->rng) % 100);
	struct file *f = &cl->cur[n];
	uint8_t *buf = util_rnd(&cl->rng) & 1 ? cl->gbuf : cl->mbuf;
	char path[64], path2[64];
	size_t off, len;
	long r;

	name_of(cl, n, path, sizeof(path));
	if (!f->exists) {
		len = util_rnd(&cl->rng) % 65536;
		fill(buf, len, &cl->rng);
		cl->touched |= 1u << n;
		r = write_at(cl, path, O_CREAT | O_EXCL | O_RDWR, buf, len, 0);
		if (r < 0)
			return op_failed(cl, "create", path, r);
		f->exists = 1;
		f->size = len;
		memcpy(f->data, buf, len);
	} else if (kind < 30) {				/* write */
		off = f->size ? util_rnd(&cl->rng) % (f->size + 1) : 0;
		len = 1 + util_rnd(&cl->rng) % 32768;
		if (util_rnd(&cl->rng) % 3 == 0) {
			off &= ~(size_t)4095;
			len = (len + 4095) & ~(size_t)4095;
		}
		if (off + len > MAXF)
			len = MAXF - off;
		if (!len)
			return 0;
		fill(buf, len, &cl->rng);
		cl->touched |= 1u << n;
		r = write_at(cl, path, O_RDWR, buf, len, off);
		if (r < 0)
			return op_failed(cl, "write", path, r);
		if (off > f->size)
			memset(f->data + f->size, 0, off - f->size);
		memcpy(f->data + off, buf, len);
		f->size = off + len > f->size ? off + len : f->size;
	} else if (kind < 45) {				/* append */
		len = 1 + util_rnd(&cl->rng) % 16384;
		if (f->size + len > MAXF)
			return 0;
		fill(buf, len, &cl->rng);
		cl->touched |= 1u << n;
		r = write_at(cl, path, O_WRONLY | O_APPEND, buf, len, 0);
		if (r < 0)
			return op_failed(cl, "append", path, r);
		memcpy(f->data + f->size, buf, len);
		f->size += len;
	} else if (kind < 55) {				/* truncate */
		len = util_rnd(&cl->rng) % (f->size + 16384 + 1);
		len = len > MAXF ? MAXF : len;
		cl->touched |= 1u << n;
		r = CALL(cl, aoki_fs_truncate(cl->fs, path, (int64_t)len));
		if (r < 0)
			return op_failed(cl, "truncate", path, r);
		if (len > f->size)
			memset(f->data + f->size, 0, len - f->size);
		f->size = len;
	} else if (kind < 67) {				/* rename, maybe over a file */
		unsigned m = (unsigned)(util_rnd(&cl->rng) % NAMES);
		struct file *t = &cl->cur[m];

		if (m == n)
			return 0;
		name_of(cl, m, path2, sizeof(path2));
		cl->touched |= 1u << n | 1u << m;
		r = CALL(cl, aoki_fs_rename(cl->fs, path, path2));
		if (r < 0)
			return op_failed(cl, "rename", path, r);
		memcpy(t->data, f->data, f->size);
		t->size = f->size;
		t->exists = 1;
		f->exists = 0;
		f->size = 0;
	} else if (kind < 75) {				/* unlink */
		cl->touched |= 1u << n;
		r = CALL(cl, aoki_fs_unlink(cl->fs, path));
		if (r < 0)
			return op_failed(cl, "unlink", path, r);
		f->exists = 0;
		f->size = 0;
	} else if (kind < 82) {				/* fsync */
		int fd = CALL(cl, aoki_fs_open(cl->fs, path, O_RDWR, 0));

		if (fd < 0)
			return op_failed(cl, "open for fsync", path, fd);
		r = CALL(cl, aoki_fs_fsync(cl->fs, fd));
		aoki_fs_close(cl->fs, fd);
		if (r < 0)
			return op_failed(cl, "fsync", path, r);
	} else {					/* read and check */
		ssize_t got = read_name(cl, n);

		if (killed_since(cl))
			return -1;	/* what it read may be before or after the crash */
		if (got < 0)
			return op_failed(cl, "read", path, got);
		if ((size_t)got != f->size || memcmp(cl->rbuf, f->data, f->size))
			fail(&g.corrupt, "client %u: read %s: %zd bytes, model has %zu%s", cl->id,
			     path, got, f->size, (size_t)got == f->size ? " (other content)" : "");
	}
	return killed_since(cl) ? -1 : 0;
}

/* ---------------------------------------------------------- recovery */

static void adopt(struct file *dst, const uint8_t *data, ssize_t size)
{
	dst->exists = size >= 0;
	dst->size = size > 0 ? (size_t)size : 0;
	if (size > 0)
		memcpy(dst->data, data, (size_t)size);
}

/* check_untouched - name @n, which no operation since the last durable
 * point changed, read as @got bytes in cl->rbuf (-ENOENT: absent), must
 * be as it was then.  A difference is counted once (the name then counts
 * as touched until the next durable point). */
static void check_untouched(struct client *cl, unsigned n, ssize_t got, const char *when)
{
	const struct file *d = &cl->dur[n];
	int same = got < 0 ? !d->exists
			   : d->exists && (size_t)got == d->size && !memcmp(cl->rbuf, d->data, d->size);
	char path[64];

	if (same)
		return;
	name_of(cl, n, path, sizeof(path));
	cl->touched |= 1u << n;
	if (d->exists && (got < 0 || ((size_t)got < d->size && !memcmp(cl->rbuf, d->data, (size_t)got))))
		fail(&g.lost, "client %u: %s: %s is %s, durable with %zu bytes", cl->id, when, path,
		     got < 0 ? "gone" : "shorter", d->size);
	else
		fail(&g.corrupt, "client %u: %s: %s has %zd bytes, durable: %s %zu bytes", cl->id,
		     when, path, got, d->exists ? "" : "absent,", d->size);
}

/* recover - after an epoch a kill may have cut short: read every name
 * back (untouched ones checked), take what is there as the model, make
 * it durable; again until a round sees no kill.  Returns 0, or -1 if the
 * client failed. */
static int recover(struct client *cl)
{
	for (int round = 0; round < 1000 && !atomic_load(&g.abort); round++) {
		int again = 0;
		long r;

		cl->epoch_kills = atomic_load(&g.kills_started);
		for (unsigned n = 0; n < NAMES && !again; n++) {
			ssize_t got = read_name(cl, n);
			char path[64];

			if (got < 0 && got != -ENOENT) {
				name_of(cl, n, path, sizeof(path));
				again = op_failed(cl, "read back", path, got) < 0;
				continue;
			}
			if (!(cl->touched & (1u << n)))
				check_untouched(cl, n, got, "after a kill");
			adopt(&cl->cur[n], cl->rbuf, got == -ENOENT ? -1 : got);
		}
		if (again && !killed_since(cl))
			return -1;	/* a real error, counted */
		if (again)
			continue;
		r = CALL(cl, aoki_fs_syncfs(cl->fs));
		if (r < 0 && !killed_since(cl)) {
			fail(&g.errors, "client %u: syncfs: %s", cl->id, strerror((int)-r));
			return -1;
		}
		if (r == 0 && !killed_since(cl)) {
			for (unsigned n = 0; n < NAMES; n++)
				adopt(&cl->dur[n], cl->cur[n].data,
				      cl->cur[n].exists ? (ssize_t)cl->cur[n].size : -1);
			cl->touched = 0;
			return 0;
		}
	}
	fail(&g.errors, "client %u: no recovery round without a kill", cl->id);
	return -1;
}

/* epoch - 1 to 8 operations and a syncfs; recovery if a kill came
 * between.  Returns 0 or -1 (the client failed). */
static int epoch(struct client *cl)
{
	unsigned n = 1 + (unsigned)(util_rnd(&cl->rng) % 8);
	long r = 0;

	cl->epoch_kills = atomic_load(&g.kills_started);
	for (unsigned i = 0; i < n && r == 0; i++)
		r = one_op(cl);
	if (r == 0) {
		r = CALL(cl, aoki_fs_syncfs(cl->fs));
		if (r < 0)
			op_failed(cl, "syncfs", "", r);
	}
	if (r == 0 && !killed_since(cl)) {
		for (unsigned i = 0; i < NAMES; i++)
			if (cl->touched & (1u << i))
				adopt(&cl->dur[i], cl->cur[i].data,
				      cl->cur[i].exists ? (ssize_t)cl->cur[i].size : -1);
		cl->touched = 0;
		return 0;
	}
	if (!killed_since(cl))
		return -1;	/* an error, counted */
	return recover(cl);
}

/* final_check - every name and byte, and the directory's listing, against
 * the model (no kills any more: it is exact). */
static void final_check(struct client *cl)
{
	struct aoki_fs_dirent ent;
	struct aoki_fs_dir *dir;
	char path[64];
	int r;

	for (unsigned n = 0; n < NAMES; n++) {
		ssize_t got = read_name(cl, n);

		if (got < 0 && got != -ENOENT) {
			name_of(cl, n, path, sizeof(path));
			fail(&g.errors, "client %u: final read %s: %s", cl->id, path,
			     strerror((int)-got));
			continue;
		}
		cl->touched = 0;	/* every name: compare with the durable model */
		check_untouched(cl, n, got, "final check");
	}
	snprintf(path, sizeof(path), "/c%u", cl->id);
	r = aoki_fs_opendir(cl->fs, path, &dir);
	if (r < 0) {
		fail(&g.errors, "client %u: opendir %s: %s", cl->id, path, strerror(-r));
		return;
	}
	while ((r = aoki_fs_readdir(dir, &ent)) == 1) {
		unsigned n;
		char extra;

		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		if (sscanf(ent.name, "f%u%c", &n, &extra) != 1 || n >= NAMES || !cl->dur[n].exists)
			fail(&g.corrupt, "client %u: final check: unexpected name %s/%s", cl->id,
			     path, ent.name);
	}
	if (r < 0)
		fail(&g.errors, "client %u: readdir %s: %s", cl->id, path, strerror(-r));
	aoki_fs_closedir(dir);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;

	while (!atomic_load(&g.stop) && !atomic_load(&g.abort) && !cl->failed)
		cl->failed = epoch(cl) < 0;
	if (cl->failed) {
		atomic_store(&g.abort, 1);
		return NULL;
	}
	final_check(cl);
	return NULL;
}

/* ------------------------------------------------------------- killer */

/* wait_recovered - until every client has finished a call it started
 * after @kill_ns.  Returns 0, or -1 (timeout, counted, or abort). */
static int wait_recovered(struct client *cl, unsigned n, unsigned k, int64_t kill_ns)
{
	while (util_now_ns() - kill_ns < RECOVERY_LIMIT_NS && !atomic_load(&g.abort)) {
		unsigned i;

		for (i = 0; i < n && atomic_load(&cl[i].call_start) > kill_ns; i++)
			;
		if (i == n)
			return 0;
		soak_sleep_ms(1);
	}
	if (!atomic_load(&g.abort))
		fail(&g.errors, "kill %u: not every client finished a call within %lld s", k + 1,
		     RECOVERY_LIMIT_NS / NS);
	return -1;
}

/* kill_loop - o->c.kills kills, each 50-150 ms after the previous recovery:
 * aoki-fsd, or with --blkd-kills sometimes aoki-blkd or both.  Returns the
 * kills made and recovered from. */
static unsigned kill_loop(const struct soak_init *si, const struct soak_opts *o,
			  struct client *cl)
{
	uint64_t rng = o->c.seed ^ 0x5eed;
	pid_t last_fsd = 0, last_blkd = 0;
	unsigned k;

	for (k = 0; k < o->c.kills && !atomic_load(&g.abort); k++) {
		unsigned gap = soak_gap_ms(&o->c, &rng);
		unsigned what = o->blkd_kills ? (unsigned)(util_rnd(&rng) % 5) : 0;
		int fsd = what <= 2 || what == 4, blkd = what >= 3;
		pid_t pf = 0, pb = 0;
		int64_t kill_ns;

		soak_sleep_ms(gap);
		if ((fsd && (pf = soak_new_pid(si, "fsd", last_fsd, PID_LIMIT_NS, PFX)) < 0) ||
		    (blkd && (pb = soak_new_pid(si, "blkd", last_blkd, PID_LIMIT_NS, PFX)) < 0))
			break;
		kill_ns = util_now_ns();
		/* Counted before the signal: a client that sees the same count
		 * after its syncfs returned knows no server died in between. */
		atomic_fetch_add(&g.kills_started, 1);
		if ((blkd && soak_kill_wait(pb, DEATH_LIMIT_MS, PFX) < 0) ||
		    (fsd && soak_kill_wait(pf, DEATH_LIMIT_MS, PFX) < 0))
			break;
		last_fsd = fsd ? pf : last_fsd;
		last_blkd = blkd ? pb : last_blkd;
		if (wait_recovered(cl, o->c.clients, k, kill_ns) < 0)
			break;
		soak_progress(&o->c, PFX, k + 1, fsd && blkd ? "both" : fsd ? "fsd" : "blkd",
			      atomic_load(&g.stall_ns[k]) / 1e6,
			      (unsigned long long)atomic_load(&g.ops), "calls");
	}
	util_progress_end();
	return k;
}

/* ------------------------------------------------------------ the end */

/* run - run @argv (NULL-terminated), its output to /dev/null unless
 * @show.  Returns its exit status, or -1. */
static int run(char *const *argv, int show)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0 && !show) {
			dup2(fd, 1);
			dup2(fd, 2);
		} else if (fd >= 0) {
			dup2(2, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* compare_mounted - the model of every client against the image mounted
 * at @mnt.  Returns the names that differ. */
static unsigned compare_mounted(struct client *cl, unsigned nclients, const char *mnt)
{
	uint8_t *buf = malloc(MAXF + 1);
	unsigned diffs = 0;

	if (!buf)
		return 1;
	for (unsigned c = 0; c < nclients; c++) {
		char path[PATH_MAX + 64];
		struct dirent *e;
		DIR *d;

		for (unsigned n = 0; n < NAMES; n++) {
			const struct file *f = &cl[c].dur[n];
			int fd;
			ssize_t got = 0, r;

			snprintf(path, sizeof(path), "%s/c%u/f%u", mnt, c, n);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				got = -1;
			} else {
				while ((r = read(fd, buf + got, MAXF + 1 - (size_t)got)) > 0)
					got += r;
				close(fd);
			}
			if (got < 0 ? f->exists
				    : !f->exists || (size_t)got != f->size ||
				      memcmp(buf, f->data, f->size)) {
				diffs++;
				fprintf(stderr, PFX ": loop mount: %s: %zd bytes, model: %s%zu\n",
					path, got, f->exists ? "" : "absent, ", f->size);
			}
		}
		snprintf(path, sizeof(path), "%s/c%u", mnt, c);
		d = opendir(path);
		if (!d) {
			diffs++;
			continue;
		}
		while ((e = readdir(d))) {
			unsigned n;
			char extra;

			if (e->d_name[0] == '.')
				continue;
			if (sscanf(e->d_name, "f%u%c", &n, &extra) != 1 || n >= NAMES ||
			    !cl[c].dur[n].exists) {
				diffs++;
				fprintf(stderr, PFX ": loop mount: unexpected %s/%s\n", path,
					e->d_name);
			}
		}
		closedir(d);
	}
	free(buf);
	return diffs;
}

/* mount_check - mount @img read-only through a loop device and compare.
 * Returns the differences, or -1 (not root, or no loop mount here). */
static long mount_check(struct client *cl, unsigned nclients, const char *img, const char *dir)
{
	char mnt[PATH_MAX + 16], opts[] = "ro,loop";
	char *argv[] = { "mount", "-t", "ext4", "-o", opts, (char *)img, mnt, NULL };
	long diffs;

	if (geteuid() != 0 || access("/dev/loop-control", F_OK) != 0) {
		fprintf(stderr, PFX ": note: not root or no loop devices: mount_diffs is null\n");
		return -1;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	if (mkdir(mnt, 0700) < 0 || run(argv, 0) != 0) {
		fprintf(stderr, PFX ": note: cannot loop-mount the image here: mount_diffs is "
			"null\n");
		rmdir(mnt);
		return -1;
	}
	diffs = compare_mounted(cl, nclients, mnt);
	if (umount(mnt) < 0)
		fprintf(stderr, PFX ": umount %s: %s\n", mnt, strerror(errno));
	rmdir(mnt);
	return diffs;
}

/* ------------------------------------------------------------- setup */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki soak fs [--kills N] [--clients C] [--blkd-kills] [--size MiB]\n"
		"                    [--seed S] [--json] [--verbose] [--keep]\n"
		"\n"
		"Starts aoki-init with aoki-blkd serving a fresh ext4 image and aoki-fsd on\n"
		"it, lets C client threads (a mount and a directory each) create, write,\n"
		"append, truncate, rename, unlink, fsync, read and syncfs, each against a\n"
		"model of its files, and kills aoki-fsd with SIGKILL N times, each 50-150 ms\n"
		"after the last recovery (--blkd-kills: sometimes aoki-blkd, or both).\n"
		"Durability rule: when aoki_fs_syncfs returns, everything acknowledged\n"
		"before it is durable; a kill may lose what was not.  Every read between\n"
		"kills must match the model; after a kill, every name not changed since the\n"
		"last syncfs must be as then.  At the end every byte is checked, the stack\n"
		"stopped, e2fsck -fn run on the image and, as root, a read-only loop mount\n"
		"compared with the model.\n"
		"\n"
		"  --kills N      kills (default 100)\n"
		"  --clients C    client threads (default 4)\n"
		"  --blkd-kills   also kill aoki-blkd (1 kill in 5), or both (1 in 5)\n"
		"  --size MiB     image size (default 256)\n"
		"  --seed S       random seed (default: from the clock; printed)\n"
		"  --json         one JSON object on stdout: kills, blkd_kills, clients,\n"
		"                 seed, ops, lost, corrupt, errors, fsck_errors,\n"
		"                 mount_diffs, stall_p50_ms, stall_p99_ms, stall_max_ms,\n"
		"                 stall_ms (every stall, ascending)\n"
		"  --verbose      a line for every kill (on stderr; else, on a terminal,\n"
		"                 one line that updates)\n"
		"  --keep         keep the run directory (init.log) and the image\n"
		"\n"
		"Exit status 0 when every kill was recovered from and lost, corrupt, errors,\n"
		"fsck_errors and mount_diffs are 0 (or mount_diffs null); 1 otherwise; 2 for\n"
		"bad usage.\n");
}

static int parse(int argc, char **argv, struct soak_opts *o)
{
	static const struct option lo[] = {
		SOAK_COMMON_LONGOPTS,
		{ "size", required_argument, NULL, 'S' },
		{ "blkd-kills", no_argument, NULL, 'B' },
		{ 0 },
	};
	int c;

	soak_common_defaults(&o->c, 100, 4, 50, 150);
	o->size_mib = 256;
	optind = 1;
	while ((c = getopt_long(argc, argv, SOAK_COMMON_SHORT "S:B", lo, NULL)) != -1) {
		uint64_t v = 0;

		if (optarg && soak_parse_number(PFX, optarg, &v) < 0)
			return 2;
		if (soak_common_option(&o->c, c, v))
			continue;
		switch (c) {
		case 'S': o->size_mib = v; break;
		case 'B': o->blkd_kills = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (soak_common_check(&o->c, 64, PFX) < 0)
		return 2;
	if (o->size_mib < 32 || o->size_mib > (1u << 20)) {
		fprintf(stderr, PFX ": --size 32..1048576 MiB\n");
		return 2;
	}
	return -1;
}

/* start_stack - the image, aoki-init with aoki-blkd and aoki-fsd; the
 * root's client directories.  Returns 0 or -1 with a message. */
static int start_stack(struct blk_work *w, struct soak_init *si, const struct soak_opts *o,
		       const char *bindir, char *port, size_t cap)
{
	char blkd[3 * PATH_MAX], fsd[2 * PATH_MAX + 64];
	char *mkfs[] = { "mke2fs", "-q", "-t", "ext4", "-b", "4096", "-F", w->img, NULL };
	struct soak_server srv[2] = {
		{ .name = "blkd", .exec = blkd, .port = "blk" },
		{ .name = "fsd", .exec = fsd, .port = "fs" },
	};
	struct aoki_fs *fs;
	int r;

	if (blk_work_create(w, PFX, VOLUME, bindir, o->size_mib << 20) < 0)
		return -1;
	if (run(mkfs, 1) != 0) {
		fprintf(stderr, PFX ": mke2fs -t ext4 on %s failed (e2fsprogs installed?)\n",
			w->img);
		return -1;
	}
	/* Each "%%s" below is the run directory, filled in by soak_init. */
	snprintf(blkd, sizeof(blkd), "%s --port blk --volume %s=%s --workers 2 --quiet",
		 w->server, VOLUME, w->img);
	snprintf(fsd, sizeof(fsd), "%s/aoki-fsd --port fs --volume %s --blk-port %%s/blk.sock "
		 "--quiet", bindir, VOLUME);
	if (soak_init_start_servers(si, srv, 2, o->c.kills + 10) < 0)
		return -1;
	snprintf(port, cap, "%s/fs.sock", si->dir);
	r = aoki_fs_mount(port, NULL, &fs);
	for (unsigned i = 0; r == 0 && i < o->c.clients; i++) {
		char dir[32];

		snprintf(dir, sizeof(dir), "/c%u", i);
		r = aoki_fs_mkdir(fs, dir, 0755);
	}
	if (r == 0)
		r = aoki_fs_syncfs(fs);
	aoki_fs_unmount(fs);
	if (r < 0)
		fprintf(stderr, PFX ": setting up %s: %s\n", port, strerror(-r));
	return r < 0 ? -1 : 0;
}

static int client_init(struct client *cl, unsigned id, const char *port, uint64_t seed)
{
	struct aoki_fs_opts fo = { .arena_size = 4u << 20 };
	int r;

	cl->id = id;
	cl->rng = seed * 1000003 + id;
	r = aoki_fs_mount(port, &fo, &cl->fs);
	if (r == 0)
		r = aoki_fs_alloc(cl->fs, MAXF + 1, (void **)&cl->gbuf);
	cl->mbuf = malloc(MAXF + 1);
	cl->rbuf = malloc(MAXF + 1);
	for (unsigned n = 0; n < NAMES; n++) {
		cl->cur[n].data = malloc(MAXF);
		cl->dur[n].data = malloc(MAXF);
		if (!cl->cur[n].data || !cl->dur[n].data)
			r = r ?: -ENOMEM;
	}
	if (r == 0 && (!cl->mbuf || !cl->rbuf))
		r = -ENOMEM;
	if (r < 0)
		fprintf(stderr, PFX ": client %u: %s\n", id, strerror(-r));
	return r;
}

static void client_free(struct client *cl)
{
	aoki_fs_unmount(cl->fs);
	free(cl->mbuf);
	free(cl->rbuf);
	for (unsigned n = 0; n < NAMES; n++) {
		free(cl->cur[n].data);
		free(cl->dur[n].data);
	}
}

int soak_fs_main(int argc, char **argv)
{
	char bindir[PATH_MAX], port[PATH_MAX + 16];
	static struct blk_work w;
	struct soak_init si = { .pid = -1 };
	struct soak_opts o;
	struct client *cl;
	unsigned done = 0;
	long mount_diffs = -1;
	int r, ok, fsck = -1, stopped;
	struct soak_stalls st;
	double *stall;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (soak_init_bindir(bindir, sizeof(bindir)) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	cl = calloc(o.c.clients, sizeof(*cl));
	g.stall_ns = calloc(o.c.kills + 1, sizeof(*g.stall_ns));
	stall = calloc(o.c.kills + 1, sizeof(*stall));
	if (!cl || !g.stall_ns || !stall)
		return 1;
	fprintf(stderr, PFX ": seed %llu\n", (unsigned long long)o.c.seed);
	r = start_stack(&w, &si, &o, bindir, port, sizeof(port));
	for (unsigned i = 0; r == 0 && i < o.c.clients; i++)
		r = client_init(&cl[i], i, port, o.c.seed);
	for (unsigned i = 0; r == 0 && i < o.c.clients; i++) {
		if (pthread_create(&cl[i].th, NULL, client_main, &cl[i])) {
			r = -1;
			break;
		}
		cl[i].started = 1;
	}
	if (r == 0)
		done = kill_loop(&si, &o, cl);
	else
		atomic_store(&g.abort, 1);
	soak_sleep_ms(100);
	atomic_store(&g.stop, 1);
	for (unsigned i = 0; i < o.c.clients; i++)
		if (cl[i].started)
			pthread_join(cl[i].th, NULL);
	/* Keep the logs of a failed run (init.log: both servers' lines). */
	si.keep = o.c.keep || r != 0 || done != o.c.kills || atomic_load(&g.abort) || g.lost ||
		  g.corrupt || g.errors;
	stopped = si.pid > 0 ? soak_init_stop(&si) : -1;
	if (r == 0) {
		char *fsck_argv[] = { "e2fsck", "-fn", w.img, NULL };

		if (stopped != 0)
			fprintf(stderr, PFX ": note: aoki-init exited with status %d\n", stopped);
		fsck = run(fsck_argv, 0);
		if (fsck != 0) {
			fprintf(stderr, PFX ": e2fsck -fn %s: exit %d\n", w.img, fsck);
			run(fsck_argv, 1);
		}
		mount_diffs = mount_check(cl, o.c.clients, w.img, w.dir);
	}
	for (unsigned i = 0; i < o.c.clients; i++)
		client_free(&cl[i]);	/* the models, compared until here */
	ok = r == 0 && done == o.c.kills && !atomic_load(&g.abort) && !g.lost && !g.corrupt &&
	     !g.errors && fsck == 0 && mount_diffs <= 0;
	blk_work_remove(&w, o.c.keep || !ok);
	for (unsigned k = 0; k < done; k++)
		stall[k] = atomic_load(&g.stall_ns[k]) / 1e6;
	st = soak_stalls(stall, done);
	if (o.c.json) {
		printf("{\"kills\": %u, \"blkd_kills\": %d, \"clients\": %u, \"seed\": %llu, "
		       "\"ops\": %llu, \"lost\": %llu, \"corrupt\": %llu, \"errors\": %llu, "
		       "\"fsck_errors\": %d, \"mount_diffs\": ",
		       done, o.blkd_kills, o.c.clients, (unsigned long long)o.c.seed,
		       (unsigned long long)g.ops, (unsigned long long)g.lost,
		       (unsigned long long)g.corrupt, (unsigned long long)g.errors, fsck);
		if (mount_diffs < 0)
			printf("null");
		else
			printf("%ld", mount_diffs);
		printf(", ");
		soak_stalls_json(&st);
		printf("}\n");
	} else {
		printf("%u kills (%u clients, seed %llu), %llu calls\n"
		       "lost %llu, corrupt %llu, errors %llu, e2fsck -fn exit %d, mount diffs %s%ld\n",
		       done, o.c.clients, (unsigned long long)o.c.seed, (unsigned long long)g.ops,
		       (unsigned long long)g.lost, (unsigned long long)g.corrupt,
		       (unsigned long long)g.errors, fsck, mount_diffs < 0 ? "n/a " : "",
		       mount_diffs);
		soak_stalls_text(&st);
	}
	free(cl);
	free(stall);
	free((void *)g.stall_ns);
	return ok ? 0 : 1;
}
