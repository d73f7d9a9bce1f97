/* SPDX-License-Identifier: MIT */
/*
 * bench_blk.c - `aoki bench blk`: aoki-blkd against the kernel's own
 * io_uring path on the same file, in one run.
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
 * Also a compatibility row, not in the ratios: fio's nbd engine through
 * nbdkit and the aoki-blk plugin; and with --fairness, a QD1 reader's
 * IOPS and latency alone and beside a QD32 reader on another channel,
 * with two fio jobs (one alone, then both at once) as the baseline.
 *
 * aoki-blkd is started for each aoki measurement and stopped after it,
 * so the direct side runs with no server at all.  Children get SIGTERM
 * if the bench dies; SIGINT, SIGTERM and SIGHUP also remove the
 * temporary files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "bench_blk.h"

#define PFX "aoki bench blk"
#define VOLUME "bench"
#define QD_MAX 32		/* deepest queue of any workload */
#define MAX_REPEAT 99
#define STALL_NS 10000000000ll	/* no completion for this long: an error */
#define START_NS 10000000000ll	/* a server must serve within this */
#define FILL_CHUNK (1u << 20)
#define NS 1000000000.0

enum { W_RR1, W_RR32, W_RW32, W_SR8, W_SW8, W_COUNT };

struct workload {
	const char *name;	/* --workloads name and JSON key stem */
	const char *fio_rw;	/* fio --rw */
	int write, seq;
	unsigned bs, qd;
};

static const struct workload wls[W_COUNT] = {
	{ "randread_qd1", "randread", 0, 0, 4096, 1 },
	{ "randread_qd32", "randread", 0, 0, 4096, 32 },
	{ "randwrite_qd32", "randwrite", 1, 0, 4096, 32 },
	{ "seqread_qd8", "read", 0, 1, 131072, 8 },
	{ "seqwrite_qd8", "write", 1, 1, 131072, 8 },
};

struct cfg {
	int json, fairness, no_nbd, user_file, run_wl;
	unsigned repeat, wl_mask;
	double runtime, warmup;		/* seconds */
	uint64_t size;			/* bytes of the file used */
	char file[PATH_MAX];
	char dir[64];			/* sockets, children's stderr */
	char sock[96], nbd_sock[96], fio_err[96], nbd_err[96];
	char blkd[PATH_MAX], plugin[PATH_MAX];
	char cpu[128], kernel[128], fs[192], fio_version[64];
	long nproc;
};

struct rate {
	double iops, mbps;
};

enum { NBD_OFF, NBD_OK, NBD_SKIPPED, NBD_FAILED };

/* The --fairness figures: a QD1 random reader alone, then beside a QD32
 * one (IOPS; latencies in us, from submission to completion). */
enum { F_ALONE_IOPS, F_ALONE_P50, F_ALONE_P99, F_SHARED_IOPS, F_SHARED_P50, F_SHARED_P99,
       F_QD32_IOPS, F_COUNT };

static const char *const fair_keys[F_COUNT] = {
	"qd1_alone_iops", "qd1_alone_p50_us", "qd1_alone_p99_us", "qd1_shared_iops",
	"qd1_shared_p50_us", "qd1_shared_p99_us", "qd32_shared_iops",
};

enum { SIDE_DIRECT, SIDE_AOKI };

struct results {
	struct rate direct[W_COUNT], aoki[W_COUNT];
	struct rate nbd;
	int nbd_state;
	char nbd_why[256];
	double fair[2][F_COUNT];	/* [SIDE_DIRECT]: two fio jobs; [SIDE_AOKI] */
	int aoki_direct;	/* 1: blkd opened the file O_DIRECT */
};

/* What a signal handler must undo; written before handlers are installed
 * (paths) or as single stores (pids). */
static struct {
	char file[PATH_MAX];		/* a temporary backing file, or "" */
	char dir[64];
	char paths[4][96];
	volatile sig_atomic_t pid[2];	/* aoki-blkd, nbdkit; 0: none */
} cl;

enum { PID_BLKD, PID_NBDKIT };

/* ---------------------------------------------------------------- utils */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* median - of @n values (sorted in place). */
static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int mid_line;	/* a progress line waits for its figure on stderr */

/* Print "aoki bench blk: <message>" on stderr (on a line of its own);
 * returns -1. */
static int err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int err(const char *fmt, ...)
{
	va_list ap;

	if (mid_line)
		fputc('\n', stderr);
	mid_line = 0;
	fprintf(stderr, PFX ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Copy the first 4 KiB of file @path to stderr, indented (a child's
 * error output). */
static void dump_file(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	char *line, *save = NULL;

	if (f)
		fclose(f);
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "  | %s\n", line);
}

/* ------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki bench blk [--json] [--file PATH] [--size SIZE] [--runtime SECONDS]\n"
		"                      [--workloads LIST] [--repeat N] [--fairness] [--no-nbd]\n"
		"Measures aoki-blkd against fio's io_uring engine (O_DIRECT, fixed buffers)\n"
		"on the same file, the two alternating per workload:\n"
		"  randread_qd1 randread_qd32 randwrite_qd32 (4 KiB), seqread_qd8 seqwrite_qd8\n"
		"  (128 KiB); the ratio is aoki IOPS / direct IOPS.\n"
		"A compatibility row (not in the ratios): fio's nbd engine through nbdkit and\n"
		"the aoki-blk plugin, randread_qd32.\n"
		"  --json             one JSON object on stdout (the table goes to stderr)\n"
		"  --file PATH        backing file, kept afterwards; created and filled if\n"
		"                     shorter than SIZE; the write workloads overwrite it.\n"
		"                     Default: a temporary file in $TMPDIR (/var/tmp if that\n"
		"                     is tmpfs), removed at the end\n"
		"  --size SIZE        bytes of the file used, K/M/G/T suffixes (default 1G)\n"
		"  --runtime SECONDS  timed window of each side of each workload (default 5),\n"
		"                     after a warm-up of min(1, SECONDS/5) s\n"
		"  --workloads LIST   comma-separated names from the list above, or all\n"
		"  --repeat N         N alternations per workload, medians reported (default 1)\n"
		"  --fairness         a QD1 random reader alone, then beside a QD32 reader on\n"
		"                     another channel: IOPS and p50/p99 latency, against two\n"
		"                     fio jobs.  Without --workloads, only this is run\n"
		"  --no-nbd           skip the nbd row\n"
		"Needs fio and nbdkit (scripts/deps.sh installs them) and aoki-blkd beside aoki.\n");
}

/* parse_size - "1G", "512M", "4096", "2GiB" (binary K M G T) into *@out.
 * Returns 0, or -1 for anything else. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (errno || *end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* parse_workloads - "all" or comma-separated names into a bit mask. */
static int parse_workloads(const char *s, unsigned *mask)
{
	char buf[256], *tok, *save = NULL;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		if (!strcmp(tok, "all")) {
			*mask |= (1u << W_COUNT) - 1;
			continue;
		}
		for (i = 0; i < W_COUNT && strcmp(tok, wls[i].name); i++)
			;
		if (i == W_COUNT)
			return err("unknown workload '%s'", tok);
		*mask |= 1u << i;
	}
	return *mask ? 0 : -1;
}

/* opt_value - if @argv[*@i] is option @name, as "--name VALUE" or
 * "--name=VALUE", set *@val (NULL when the value is missing), step *@i
 * past it and return 1; else return 0. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

/* Check one option's value; returns 0 or -1 (reported). */
static int opt_check(const char *name, const char *val, int ok)
{
	if (!val)
		return err("%s needs a value (see --help)", name);
	if (!ok)
		return err("%s: bad value '%s' (see --help)", name, val);
	return 0;
}

/* Parse one option with a value at argv[*i]; 0, -1 (bad), 1 (not one). */
static int parse_value_opt(int argc, char **argv, int *i, struct cfg *c)
{
	const char *v;
	char *end;

	if (opt_value(argc, argv, i, "--file", &v)) {
		c->user_file = 1;
		return opt_check("--file", v, v && *v && strlen(v) < sizeof(c->file) &&
				 snprintf(c->file, sizeof(c->file), "%s", v) > 0);
	}
	if (opt_value(argc, argv, i, "--size", &v))
		return opt_check("--size", v, v && !parse_size(v, &c->size) &&
				 c->size >= (1u << 20) && c->size % (128u << 10) == 0);
	if (opt_value(argc, argv, i, "--runtime", &v)) {
		c->runtime = v ? strtod(v, &end) : 0;
		return opt_check("--runtime", v, v && !*end && c->runtime >= 0.1 &&
				 c->runtime <= 3600);
	}
	if (opt_value(argc, argv, i, "--repeat", &v)) {
		long n = v ? strtol(v, &end, 10) : 0;

		c->repeat = (unsigned)n;
		return opt_check("--repeat", v, v && !*end && n >= 1 && n <= MAX_REPEAT);
	}
	if (opt_value(argc, argv, i, "--workloads", &v)) {
		c->run_wl = 1;
		return opt_check("--workloads", v, v && !parse_workloads(v, &c->wl_mask));
	}
	return 1;
}

/* Returns 0 to run, 1 to exit 0 (--help), -1 to exit 2 (bad usage). */
static int parse_args(int argc, char **argv, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->repeat = 1;
	c->runtime = 5;
	c->size = 1ull << 30;
	c->wl_mask = (1u << W_COUNT) - 1;
	for (int i = 1; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "--json")) {
			c->json = 1;
		} else if (!strcmp(argv[i], "--fairness")) {
			c->fairness = 1;
		} else if (!strcmp(argv[i], "--no-nbd")) {
			c->no_nbd = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 1;
		} else if ((r = parse_value_opt(argc, argv, &i, c)) < 0) {
			return -1;
		} else if (r > 0) {
			err("unknown option '%s'", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	c->run_wl |= !c->fairness;
	c->warmup = c->runtime / 5 < 1 ? c->runtime / 5 : 1;
	return 0;
}

/* ------------------------------------------------------------ children */

/* In the child between fork and exec: default signal handling, stdin from
 * /dev/null, stdout to @out (<0: our stderr), stderr to file @errpath
 * (NULL: ours), SIGTERM when @parent dies; then exec @argv. */
static void __attribute__((noreturn)) child_exec(char *const argv[], int out,
						 const char *errpath, pid_t parent,
						 const sigset_t *mask)
{
	int fd;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	dup2(out >= 0 ? out : 2, 1);
	if (errpath) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
	}
	execvp(argv[0], argv);
	fprintf(stderr, PFX ": cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * spawn - start @argv (argv[0] looked up in PATH unless it holds a '/'),
 * its stdout into a new pipe whose read end is stored in *@out_fd (NULL:
 * stdout onto our stderr, so JSON on our stdout stays clean), its stderr
 * into file @errpath (NULL: ours).  Call from the main thread (the child's
 * parent-death signal follows the thread).  Returns the pid, or -errno.
 */
static pid_t spawn(char *const argv[], int *out_fd, const char *errpath)
{
	int p[2] = { -1, -1 }, e;
	pid_t parent = getpid(), pid;
	sigset_t all, old;

	if (out_fd && pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	e = errno;
	if (pid == 0)
		child_exec(argv, p[1], errpath, parent, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0) {
		if (p[0] >= 0)
			close(p[0]);
		return -e;
	}
	if (out_fd)
		*out_fd = p[0];
	return pid;
}

/* exit_code - a wait status as one number: the exit code, or 128+signal. */
static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* read_all - read @fd to its end into a malloc'd NUL-terminated string
 * (*@out; the caller frees).  Returns 0 or -errno. */
static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;

	for (;;) {
		if (cap - len < 4096) {
			nb = realloc(buf, cap = cap ? 2 * cap : 65536);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

/* run_capture - run @argv to its end, stdout into *@out (malloc'd, NUL-
 * terminated, the caller frees), stderr into file @errpath.  Returns the
 * exit code (128+N for signal N), or -errno with *@out NULL. */
static int run_capture(char *const argv[], const char *errpath, char **out)
{
	int fd, status, r;
	pid_t pid = spawn(argv, &fd, errpath);

	*out = NULL;
	if (pid < 0)
		return (int)pid;
	r = read_all(fd, out);
	close(fd);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : exit_code(status);
}

static const char *const child_names[] = { "aoki-blkd", "nbdkit" };

/* stop_child - SIGTERM child cl.pid[@which], wait for it (5 s, then
 * SIGKILL); warn if it did not exit with 0.  Nothing when none runs. */
static void stop_child(int which)
{
	pid_t pid = cl.pid[which], w;
	int status = 0;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; (w = waitpid(pid, &status, WNOHANG)) == 0 && i < 500; i++)
		usleep(10000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	cl.pid[which] = 0;
	if (w == 0 || exit_code(status))
		err("warning: %s %s (exit code %d)", child_names[which],
		    w == 0 ? "ignored SIGTERM for 5 s, killed" : "exited badly on SIGTERM",
		    exit_code(status));
}

/* child_gone - if child cl.pid[@which] has exited, reap it, report it
 * and return 1; else 0. */
static int child_gone(int which)
{
	int status;

	if (waitpid(cl.pid[which], &status, WNOHANG) != cl.pid[which])
		return 0;
	cl.pid[which] = 0;
	err("%s exited (code %d) before serving", child_names[which], exit_code(status));
	return 1;
}

/* ------------------------------------------------------ files, cleanup */

static void cleanup_files(void)
{
	for (unsigned i = 0; i < sizeof(cl.paths) / sizeof(cl.paths[0]); i++)
		if (cl.paths[i][0])
			unlink(cl.paths[i]);
	if (cl.dir[0])
		rmdir(cl.dir);
	if (cl.file[0])
		unlink(cl.file);
}

/* Async-signal-safe: stop the children, remove our files, die of @sig. */
static void on_signal(int sig)
{
	for (int i = 0; i < 2; i++)
		if (cl.pid[i] > 0)
			kill(cl.pid[i], SIGTERM);
	cleanup_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

static void signals_set(struct sigaction *old, int restore)
{
	struct sigaction sa = { .sa_handler = on_signal };

	for (unsigned i = 0; i < 3; i++)
		sigaction(sigs[i], restore ? &old[i] : &sa, restore ? NULL : &old[i]);
}

/* in_path - is @name an executable in $PATH? */
static int in_path(const char *name)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", name) <
		    (int)sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

/* find_tools - fio in PATH, aoki-blkd beside our binary (and where the
 * nbdkit plugin would be).  Returns 0 or -1 (reported). */
static int find_tools(struct cfg *c)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!in_path("fio"))
		return err("fio not found in PATH; scripts/deps.sh installs it");
	if (n <= 0)
		return err("cannot read /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	*strrchr(exe, '/') = 0;		/* build/bin */
	if (snprintf(c->blkd, sizeof(c->blkd), "%s/aoki-blkd", exe) >= (int)sizeof(c->blkd))
		return err("path of the aoki binary too long: %s", exe);
	slash = strrchr(exe, '/');	/* build/lib beside it */
	snprintf(c->plugin, sizeof(c->plugin), "%.*s/lib/nbdkit-aoki-blk-plugin.so",
		 slash ? (int)(slash - exe) : 1, slash ? exe : ".");
	if (access(c->blkd, X_OK))
		return err("aoki-blkd not found at %s (`make` builds it beside aoki)", c->blkd);
	return 0;
}

/* setup_dir - a private directory for the sockets and children's error
 * output, registered for cleanup.  Returns 0 or -1 (reported). */
static int setup_dir(struct cfg *c)
{
	snprintf(c->dir, sizeof(c->dir), "/tmp/aoki-bench-blk-XXXXXX");
	if (!mkdtemp(c->dir))
		return err("mkdtemp %s: %s", c->dir, strerror(errno));
	snprintf(c->sock, sizeof(c->sock), "%s/blk.sock", c->dir);
	snprintf(c->nbd_sock, sizeof(c->nbd_sock), "%s/nbd.sock", c->dir);
	snprintf(c->fio_err, sizeof(c->fio_err), "%s/fio.err", c->dir);
	snprintf(c->nbd_err, sizeof(c->nbd_err), "%s/nbdkit.err", c->dir);
	strcpy(cl.dir, c->dir);
	strcpy(cl.paths[0], c->sock);
	strcpy(cl.paths[1], c->nbd_sock);
	strcpy(cl.paths[2], c->fio_err);
	strcpy(cl.paths[3], c->nbd_err);
	return 0;
}

/* file_dir - where the temporary backing file goes: $TMPDIR, else /tmp,
 * unless that is tmpfs or ramfs (no real blocks), then /var/tmp. */
static const char *file_dir(void)
{
	const char *d = getenv("TMPDIR");
	struct statfs sf;

	if (!d || !*d)
		d = "/tmp";
	if (statfs(d, &sf) < 0 || sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return "/var/tmp";
	return d;
}

/* write_all - pwrite @len bytes of @buf at @off.  0 or -errno. */
static int write_all(int fd, const char *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* file_fill - give @fd @size bytes of pseudo-random data on real blocks
 * (reads of unwritten extents never reach the device): allocate, write,
 * sync, and drop it from the page cache.  Returns 0 or -errno. */
static int file_fill(int fd, uint64_t size)
{
	uint64_t *buf = malloc(FILL_CHUNK), x = 0x9e3779b97f4a7c15ull;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	if (fallocate(fd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP)
		r = -errno;
	for (uint64_t off = 0; r == 0 && off < size; off += FILL_CHUNK) {
		size_t n = size - off < FILL_CHUNK ? (size_t)(size - off) : FILL_CHUNK;

		for (size_t i = 0; i < FILL_CHUNK / sizeof(*buf); i++)
			buf[i] = xorshift(&x);
		r = write_all(fd, (const char *)buf, n, off);
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	free(buf);
	return r;
}

/* fs_describe - the file system of @fd as "TYPE on SOURCE" from
 * /proc/self/mountinfo (matched by device number), else its magic. */
static void fs_describe(int fd, char *out, size_t cap)
{
	char line[4096], type[64], src[112];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	struct statfs sf;
	struct stat st;
	unsigned ma, mi;

	snprintf(out, cap, "unknown");
	if (fstat(fd, &st) == 0)
		while (f && fgets(line, sizeof(line), f)) {
			const char *sep = strstr(line, " - ");

			if (sscanf(line, "%*s %*s %u:%u", &ma, &mi) == 2 && sep &&
			    ma == major(st.st_dev) && mi == minor(st.st_dev) &&
			    sscanf(sep + 3, "%63s %111s", type, src) == 2) {
				snprintf(out, cap, "%s on %s", type, src);
				fclose(f);
				return;
			}
		}
	if (f)
		fclose(f);
	if (fstatfs(fd, &sf) == 0)
		snprintf(out, cap, "f_type 0x%lx", (unsigned long)sf.f_type);
}

/* file_prepare - the backing file: --file (created or extended and filled
 * when shorter than the size used) or a new temporary one, filled.
 * Returns 0 or -1 (reported). */
static int file_prepare(struct cfg *c)
{
	struct stat st;
	char abs[PATH_MAX];
	int fd, fill = 1, r = 0;

	if (c->user_file) {
		fd = open(c->file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0 && realpath(c->file, abs))
			snprintf(c->file, sizeof(c->file), "%s", abs);
	} else {
		snprintf(c->file, sizeof(c->file), "%s/aoki-bench-blk-XXXXXX", file_dir());
		fd = mkostemp(c->file, O_CLOEXEC);
		if (fd >= 0)
			snprintf(cl.file, sizeof(cl.file), "%s", c->file);
	}
	if (fd < 0)
		return err("%s: %s", c->file, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = err("%s: not a regular file", c->file);
	else if ((fill = (uint64_t)st.st_size < c->size))
		fprintf(stderr, "bench blk: filling %s with %llu MiB of data ...\n", c->file,
			(unsigned long long)(c->size >> 20));
	if (r == 0 && fill && (r = file_fill(fd, c->size)) < 0)
		r = err("filling %s: %s", c->file, strerror(-r));
	if (r == 0 && !fill)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	fs_describe(fd, c->fs, sizeof(c->fs));
	close(fd);
	return r;
}

/* machine_describe - CPU model, CPUs online, kernel release. */
static void machine_describe(struct cfg *c)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512], *v;
	struct utsname u;

	snprintf(c->cpu, sizeof(c->cpu), "unknown CPU");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && (v = strchr(line, ':'))) {
			v += strspn(v + 1, " \t") + 1;
			v[strcspn(v, "\n")] = 0;
			snprintf(c->cpu, sizeof(c->cpu), "%s", v);
			break;
		}
	if (f)
		fclose(f);
	c->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(c->kernel, sizeof(c->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
}

/* ----------------------------------------------------------------- fio */

/* An argument vector built with printf-style arguments. */
struct args {
	char *v[40];
	unsigned n;
	size_t used;
	int overflow;
	char buf[4096 + 2 * PATH_MAX];
};

static void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct args *a, const char *fmt, ...)
{
	size_t room = sizeof(a->buf) - a->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room || a->n + 2 > sizeof(a->v) / sizeof(a->v[0])) {
		a->overflow = 1;
		return;
	}
	a->v[a->n++] = a->buf + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

/* fio_filename - @path for fio's --filename, where ':' separates files
 * (escaped as "\:").  Returns @out. */
static const char *fio_filename(const char *path, char *out, size_t cap)
{
	size_t j = 0;

	for (; *path && j + 3 < cap; path++) {
		if (*path == ':')
			out[j++] = '\\';
		out[j++] = *path;
	}
	out[j] = 0;
	return out;
}

/* fio_global - the options every fio run shares (before any --name, so
 * they apply to every job): JSON output, the timing, the offsets, and
 * io_uring with O_DIRECT on the backing file or (@nbd_sock set) the nbd
 * engine on that socket. */
static void fio_global(const struct cfg *c, const char *nbd_sock, struct args *a)
{
	char name[2 * PATH_MAX];

	memset(a, 0, offsetof(struct args, buf));
	arg(a, "fio");
	arg(a, "--output-format=json");
	arg(a, "--numjobs=1");
	arg(a, "--time_based");
	arg(a, "--runtime=%lldms", (long long)llround(c->runtime * 1000));
	arg(a, "--ramp_time=%lldms", (long long)llround(c->warmup * 1000));
	arg(a, "--norandommap");
	arg(a, "--randrepeat=0");
	arg(a, "--size=%llu", (unsigned long long)c->size);
	if (nbd_sock) {
		arg(a, "--ioengine=nbd");
		arg(a, "--uri=nbd+unix:///?socket=%s", nbd_sock);
		return;
	}
	arg(a, "--ioengine=io_uring");
	arg(a, "--direct=1");
	arg(a, "--fixedbufs");
	arg(a, "--registerfiles");
	arg(a, "--filename=%s", fio_filename(c->file, name, sizeof(name)));
}

/* fio_args - the fio command of workload @w (see fio_global). */
static void fio_args(const struct cfg *c, const struct workload *w, const char *nbd_sock,
		     struct args *a)
{
	fio_global(c, nbd_sock, a);
	arg(a, "--rw=%s", w->fio_rw);
	arg(a, "--bs=%u", w->bs);
	arg(a, "--iodepth=%u", w->qd);
	arg(a, "--name=%s", w->name);
}

/* fio_fair_args - the --fairness baseline: job "qd1" (4 KiB random reads,
 * QD1) alone, or (@shared) beside job "qd32" at once, with latency
 * percentiles (submission to completion). */
static void fio_fair_args(const struct cfg *c, int shared, struct args *a)
{
	fio_global(c, NULL, a);
	arg(a, "--rw=randread");
	arg(a, "--bs=4096");
	arg(a, "--lat_percentiles=1");
	arg(a, "--name=qd1");
	arg(a, "--iodepth=1");
	if (shared) {
		arg(a, "--name=qd32");
		arg(a, "--iodepth=32");
	}
}

/* json_key - in JSON text @from, the value of the first member named
 * @key: a pointer past its ':' and blanks, or NULL. */
static const char *json_key(const char *from, const char *key)
{
	char pat[64];
	size_t n = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);

	while (from && (from = strstr(from, pat))) {
		from += n;
		from += strspn(from, " \t\r\n");
		if (*from == ':')
			return from + 1 + strspn(from + 1, " \t\r\n");
	}
	return NULL;
}

/* json_number - the number at @p into *@v; 0, or -1 if there is none. */
static int json_number(const char *p, double *v)
{
	char *end;

	if (!p)
		return -1;
	*v = strtod(p, &end);
	return end == p || !isfinite(*v) ? -1 : 0;
}

/* fio_job - in fio's JSON output @out, job @name (NULL: the first), from
 * its "jobname" member on; NULL if absent. */
static const char *fio_job(const char *out, const char *name)
{
	const char *p = json_key(strchr(out, '{'), "jobs");
	char quoted[64];
	size_t n = name ? (size_t)snprintf(quoted, sizeof(quoted), "\"%s\"", name) : 0;

	while (name && (p = json_key(p, "jobname")) && strncmp(p, quoted, n))
		;
	return p;
}

/*
 * fio_parse - from fio's --output-format=json text @out, job @name (NULL:
 * the first): its "read" or "write" section's iops and bw_bytes into *@r,
 * and with @lat its submission-to-completion p50 and p99 in us (needs
 * --lat_percentiles=1).  fio may print notes before the object; the job
 * must report error 0.  Returns 0 or -1.
 */
static int fio_parse(const char *out, const char *name, int write, struct rate *r,
		     double lat[2])
{
	const char *job = fio_job(out, name), *sec = job, *pct;
	double e, iops, bw;

	if (json_number(json_key(job, "error"), &e) < 0 || e != 0)
		return -1;
	while ((sec = json_key(sec, write ? "write" : "read")) && *sec != '{')
		;
	if (json_number(json_key(sec, "iops"), &iops) < 0 ||
	    json_number(json_key(sec, "bw_bytes"), &bw) < 0)
		return -1;
	r->iops = iops;
	r->mbps = bw / 1e6;
	if (!lat)
		return 0;
	pct = json_key(json_key(sec, "lat_ns"), "percentile");
	if (json_number(json_key(pct, "50.000000"), &lat[0]) < 0 ||
	    json_number(json_key(pct, "99.000000"), &lat[1]) < 0)
		return -1;
	lat[0] /= 1000;
	lat[1] /= 1000;
	return 0;
}

/* fio_exec - run fio with @a; its JSON output into *@out (the caller
 * frees).  Returns 0, or -1 (reported as @what, with fio's stderr). */
static int fio_exec(const struct cfg *c, struct args *a, const char *what, char **out)
{
	int code;

	if (a->overflow)
		return err("fio command line too long");
	code = run_capture(a->v, c->fio_err, out);
	if (code == 0)
		return 0;
	if (code < 0)
		err("cannot run fio: %s", strerror(-code));
	else
		err("fio %s failed (exit code %d):", what, code);
	dump_file(c->fio_err);
	free(*out);
	return -1;
}

/* fio_bad_output - report output @out that fio_parse could not read. */
static int fio_bad_output(const struct cfg *c, const char *what, const char *out)
{
	err("fio %s: no iops, bw_bytes (or latency) with error 0 in its JSON output:", what);
	dump_file(c->fio_err);
	fprintf(stderr, "  | %.2000s\n", out);
	return -1;
}

/* run_fio - run workload @w with fio (@nbd_sock: through nbd) and parse
 * its rate into *@r.  Returns 0 or -1 (reported). */
static int run_fio(const struct cfg *c, const struct workload *w, const char *nbd_sock,
		   struct rate *r)
{
	struct args a;
	char *out;
	int ret;

	fio_args(c, w, nbd_sock, &a);
	if (fio_exec(c, &a, w->name, &out) < 0)
		return -1;
	ret = fio_parse(out, NULL, w->write, r, NULL);
	if (ret < 0)
		fio_bad_output(c, w->name, out);
	free(out);
	return ret;
}

/* fio_fair - the --fairness baseline with fio, alone or (@shared) beside
 * a QD32 job; its figures into @v (F_ALONE_* or F_SHARED_*, F_QD32_IOPS).
 * Returns 0 or -1 (reported). */
static int fio_fair(const struct cfg *c, int shared, double v[F_COUNT])
{
	unsigned at = shared ? F_SHARED_IOPS : F_ALONE_IOPS;
	struct rate r1, r32;
	struct args a;
	char *out;
	int ret;

	fio_fair_args(c, shared, &a);
	if (fio_exec(c, &a, "fairness", &out) < 0)
		return -1;
	ret = fio_parse(out, "qd1", 0, &r1, &v[at + 1]);
	if (ret == 0 && shared)
		ret = fio_parse(out, "qd32", 0, &r32, NULL);
	if (ret < 0)
		fio_bad_output(c, "fairness", out);
	free(out);
	v[at] = r1.iops;
	if (shared)
		v[F_QD32_IOPS] = r32.iops;
	return ret;
}

/* fio_version - "fio-3.33" from `fio --version`, into @out. */
static void fio_version(const struct cfg *c, char *out, size_t cap)
{
	char *argv[] = { "fio", "--version", NULL }, *o;

	snprintf(out, cap, "unknown");
	if (run_capture(argv, c->fio_err, &o) == 0 && o) {
		o[strcspn(o, "\n")] = 0;
		snprintf(out, cap, "%s", o);
	}
	free(o);
}

/* ------------------------------------------------------ latency buckets */

/* Log-linear buckets: 32 per power of two (3 % wide), exact below 32 ns. */
#define HIST_SUB 32
#define HIST_BUCKETS (60 * HIST_SUB)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
};

static void hist_add(struct hist *h, uint64_t v)
{
	unsigned e, i = (unsigned)v;

	if (v >= HIST_SUB) {
		e = 63 - (unsigned)__builtin_clzll(v);
		i = (e - 4) * HIST_SUB + (unsigned)((v >> (e - 5)) & (HIST_SUB - 1));
	}
	h->n[i]++;
	h->count++;
}

/* hist_pct - the @p quantile (0 < p <= 1) of @h in microseconds (the
 * middle of its bucket); NAN when empty. */
static double hist_pct(const struct hist *h, double p)
{
	uint64_t want = (uint64_t)ceil(p * (double)h->count), sum = 0;
	unsigned i;

	if (!h->count)
		return NAN;
	if (!want)
		want = 1;
	for (i = 0; i < HIST_BUCKETS && (sum += h->n[i]) < want; i++)
		;
	if (i < HIST_SUB)
		return (i + 0.5) / 1000;
	return ldexp(HIST_SUB + i % HIST_SUB + 0.5, (int)(i / HIST_SUB) - 1) / 1000;
}

/* ---------------------------------------------------------- aoki client */

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
	int err;
	char msg[256];
	void *buf[QD_MAX];
	int64_t sent[QD_MAX];		/* submission time, ns */
	uint64_t off[QD_MAX];
	unsigned char busy[QD_MAX];
	unsigned freel[QD_MAX], nfree;	/* slots not in flight */
};

static int job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void job_init(struct job *j, const struct cfg *c, const struct workload *w,
		     struct hist *lat)
{
	memset(j, 0, sizeof(*j));
	j->c = c;
	j->w = w;
	j->lat = lat;
	j->rng = ((uint64_t)now_ns() ^ (uintptr_t)j) | 1;
}

/* The smallest power of two >= @qd and >= 2 (aoki_blk_opts.queue_depth). */
static unsigned qd_pow2(unsigned qd)
{
	unsigned q = 2;

	while (q < qd)
		q <<= 1;
	return q;
}

/* job_check_info - can the volume run @j's workload as fio does? */
static int job_check_info(struct job *j, const struct aoki_blk_info *in)
{
	if (in->size < j->c->size)
		return job_fail(j, "volume has %llu bytes, fewer than --size %llu",
				(unsigned long long)in->size, (unsigned long long)j->c->size);
	if (!in->block_size || 4096 % in->block_size || in->mem_align > 4096)
		return job_fail(j, "volume block size %u / alignment %u: not 4 KiB-compatible",
				in->block_size, in->mem_align);
	if (in->max_io < j->w->bs)
		return job_fail(j, "volume max_io %u < %u", in->max_io, j->w->bs);
	j->direct = !!(in->flags & AOKI_BLK_INFO_DIRECT);
	return 0;
}

/* job_open - open the volume for @j's workload and allocate one buffer
 * per slot (writes: filled with non-zero data).  0 or -1 (j->msg). */
static int job_open(struct job *j, struct aoki_blk **b)
{
	struct aoki_blk_opts o = { .queue_depth = qd_pow2(j->w->qd), .reconnect_ns = -1 };
	struct aoki_blk_info info;
	int r = aoki_blk_open(j->c->sock, VOLUME, j->w->write ? AOKI_BLK_RDWR : 0, &o, b);

	if (r < 0)
		return job_fail(j, "aoki_blk_open: %s", strerror(-r));
	aoki_blk_get_info(*b, &info);
	if (job_check_info(j, &info) < 0)
		return -1;
	for (unsigned i = 0; i < j->w->qd; i++) {
		r = aoki_blk_alloc(*b, j->w->bs, &j->buf[i]);
		if (r < 0)
			return job_fail(j, "aoki_blk_alloc %u bytes: %s", j->w->bs, strerror(-r));
		memset(j->buf[i], 0xa5 ^ (int)i, j->w->bs);
		j->freel[j->nfree++] = i;
	}
	return 0;
}

static uint64_t next_offset(struct job *j)
{
	uint64_t bs = j->w->bs, o;

	if (!j->w->seq)
		return xorshift(&j->rng) % (j->c->size / bs) * bs;
	o = j->pos;
	j->pos = j->pos + 2 * bs > j->c->size ? 0 : j->pos + bs;
	return o;
}

/* job_submit - queue a request on every free slot.  0 or -1. */
static int job_submit(struct job *j, struct aoki_blk *b)
{
	struct aoki_blk_io io[QD_MAX];
	unsigned n = j->nfree;
	int64_t t = now_ns();
	int r;

	for (unsigned k = 0; k < n; k++) {
		unsigned s = j->freel[n - 1 - k];

		io[k] = (struct aoki_blk_io){
			.op = j->w->write ? AOKI_BLK_OP_WRITE : AOKI_BLK_OP_READ,
			.len = j->w->bs, .offset = j->off[s] = next_offset(j),
			.buf = j->buf[s], .tag = s,
		};
		j->sent[s] = t;
	}
	r = n ? aoki_blk_submit(b, io, n) : 0;
	if (r < 0)
		return job_fail(j, "aoki_blk_submit: %s", strerror(-r));
	if (j->w->seq && (unsigned)r < n)
		j->pos = io[r].offset;	/* not queued: issue it again next */
	for (int k = 0; k < r; k++)
		j->busy[io[k].tag] = 1;
	j->nfree -= (unsigned)r;
	return 0;
}

/* job_complete - check completion @q, count it if it ended in the timed
 * window [@warm, @end), and free its slot.  0 or -1. */
static int job_complete(struct job *j, const struct aoki_blk_cqe *q, int64_t now,
			int64_t warm, int64_t end)
{
	uint64_t s = q->tag;

	if (s >= j->w->qd || !j->busy[s])
		return job_fail(j, "completion with tag %llu, which is not in flight",
				(unsigned long long)s);
	if (q->res != (int64_t)j->w->bs)
		return job_fail(j, "%s of %u bytes at offset %llu returned %lld%s%s",
				j->w->write ? "write" : "read", j->w->bs,
				(unsigned long long)j->off[s], (long long)q->res,
				q->res < 0 ? ": " : "",
				q->res < 0 ? strerror((int)-q->res) : "");
	if (now >= warm && now < end) {
		j->ios++;
		j->bytes += j->w->bs;
		if (j->lat)
			hist_add(j->lat, (uint64_t)(now - j->sent[s]));
	}
	j->busy[s] = 0;
	j->freel[j->nfree++] = (unsigned)s;
	return 0;
}

/* job_loop - warm up, run the timed window, then drain.  0 or -1. */
static int job_loop(struct job *j, struct aoki_blk *b)
{
	int64_t warm = now_ns() + (int64_t)(j->c->warmup * NS);
	int64_t end = warm + (int64_t)(j->c->runtime * NS), now = 0;
	struct aoki_blk_cqe q[QD_MAX];
	int n;

	for (;;) {
		if (now < end && job_submit(j, b) < 0)
			return -1;
		if (j->nfree == j->w->qd)
			return now < end ? job_fail(j, "aoki_blk_submit queued nothing") : 0;
		n = aoki_blk_reap(b, q, QD_MAX, 1, STALL_NS);
		if (n < 0)
			return job_fail(j, "aoki_blk_reap: %s", strerror(-n));
		if (n == 0)
			return job_fail(j, "no completion in %lld s with %u requests in flight",
					STALL_NS / 1000000000ll, j->w->qd - j->nfree);
		now = now_ns();
		for (int i = 0; i < n; i++)
			if (job_complete(j, &q[i], now, warm, end) < 0)
				return -1;
	}
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct aoki_blk *b = NULL;
	int r = job_open(j, &b);

	pthread_barrier_wait(j->start);
	if (r == 0)
		r = job_loop(j, b);
	if (b)
		aoki_blk_close(b);
	j->err = r;
	return NULL;
}

/* run_jobs - run @n jobs at once, one thread each, their timed windows
 * starting together.  Returns 0 or -1 (each failure reported). */
static int run_jobs(struct job *jobs, unsigned n)
{
	pthread_barrier_t start;
	unsigned started = 0;
	int r = 0;

	pthread_barrier_init(&start, NULL, n);
	for (; started < n; started++) {
		jobs[started].start = &start;
		if (pthread_create(&jobs[started].th, NULL, job_main, &jobs[started]))
			break;
	}
	if (started < n) {
		/* cannot happen short of memory; the started ones would wait
		 * at the barrier forever */
		err("pthread_create failed");
		abort();
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(jobs[i].th, NULL);
		if (jobs[i].err)
			r = err("aoki %s: %s", jobs[i].w->name, jobs[i].msg);
	}
	pthread_barrier_destroy(&start);
	return r;
}

/* blkd_start - start aoki-blkd serving the backing file as volume "bench"
 * on c->sock, and wait until it opens the volume.  0 or -1 (reported;
 * the caller stops the server in any case). */
static int blkd_start(const struct cfg *c)
{
	char vol[PATH_MAX + 8];
	char *argv[] = { (char *)c->blkd, "--port", (char *)c->sock, "--volume", vol,
			 "--quiet", NULL };
	int64_t deadline = now_ns() + START_NS;
	struct aoki_blk *b;
	pid_t pid;
	int r;

	snprintf(vol, sizeof(vol), VOLUME "=%s", c->file);
	pid = spawn(argv, NULL, NULL);
	if (pid < 0)
		return err("cannot start %s: %s", c->blkd, strerror((int)-pid));
	cl.pid[PID_BLKD] = pid;
	for (;;) {
		if (child_gone(PID_BLKD))
			return -1;
		r = aoki_blk_open(c->sock, VOLUME, 0, NULL, &b);
		if (r == 0) {
			aoki_blk_close(b);
			return 0;
		}
		if ((r != -ENOENT && r != -ECONNREFUSED) || now_ns() > deadline)
			return err("aoki-blkd on %s: volume " VOLUME ": %s", c->sock, strerror(-r));
		usleep(5000);
	}
}

/* aoki_once - workload @w through a fresh aoki-blkd into *@out; *@direct
 * is cleared if the server's volume is not O_DIRECT.  0 or -1. */
static int aoki_once(const struct cfg *c, const struct workload *w, struct rate *out,
		     int *direct)
{
	struct job *j = malloc(sizeof(*j));
	int r = j ? blkd_start(c) : err("out of memory");

	if (r == 0) {
		job_init(j, c, w, NULL);
		r = run_jobs(j, 1);
	}
	stop_child(PID_BLKD);
	if (r == 0) {
		out->iops = (double)j->ios / c->runtime;
		out->mbps = (double)j->bytes / c->runtime / 1e6;
		*direct &= j->direct;
	}
	free(j);
	return r;
}

/* ------------------------------------------------------------ workloads */

static void progress(const struct workload *w, const char *side, const struct cfg *c,
		     unsigned rep)
{
	if (c->repeat > 1)
		fprintf(stderr, "bench blk: %s %s (%u/%u) ... ", w->name, side, rep + 1, c->repeat);
	else
		fprintf(stderr, "bench blk: %s %s ... ", w->name, side);
	mid_line = 1;
}

static void progress_done(const struct rate *r)
{
	fprintf(stderr, "%.0f IOPS, %.1f MB/s\n", r->iops, r->mbps);
	mid_line = 0;
}

/* measure_workload - @c->repeat alternations of direct and aoki for
 * workload @wi; medians into @res.  0 or -1. */
static int measure_workload(const struct cfg *c, unsigned wi, struct results *res)
{
	const struct workload *w = &wls[wi];
	double v[4][MAX_REPEAT];
	struct rate r;

	for (unsigned k = 0; k < c->repeat; k++) {
		progress(w, "direct", c, k);
		if (run_fio(c, w, NULL, &r) < 0)
			return -1;
		progress_done(&r);
		v[0][k] = r.iops;
		v[1][k] = r.mbps;
		progress(w, "aoki", c, k);
		if (aoki_once(c, w, &r, &res->aoki_direct) < 0)
			return -1;
		progress_done(&r);
		v[2][k] = r.iops;
		v[3][k] = r.mbps;
	}
	res->direct[wi] = (struct rate){ median(v[0], c->repeat), median(v[1], c->repeat) };
	res->aoki[wi] = (struct rate){ median(v[2], c->repeat), median(v[3], c->repeat) };
	return 0;
}

/* ------------------------------------------------------------------ nbd */

static void nbd_note(struct results *res, int state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nbd_note(struct results *res, int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->nbd_why, sizeof(res->nbd_why), fmt, ap);
	va_end(ap);
	res->nbd_state = state;
	fprintf(stderr, "bench blk: nbd: %s (%s)\n", state == NBD_SKIPPED ? "skipped" : "failed",
		res->nbd_why);
}

/* nbdkit_start - nbdkit with the aoki-blk plugin on c->nbd_sock, serving
 * volume "bench" of the running aoki-blkd; wait for its socket.  0 or -1. */
static int nbdkit_start(const struct cfg *c)
{
	char port[128];
	char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", (char *)c->nbd_sock,
			 (char *)c->plugin, port, "volume=" VOLUME, NULL };
	int64_t deadline = now_ns() + START_NS;
	struct stat st;
	pid_t pid;

	snprintf(port, sizeof(port), "port=%s", c->sock);
	pid = spawn(argv, NULL, c->nbd_err);
	if (pid < 0)
		return err("cannot start nbdkit: %s", strerror((int)-pid));
	cl.pid[PID_NBDKIT] = pid;
	while (stat(c->nbd_sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (child_gone(PID_NBDKIT) || now_ns() > deadline) {
			if (cl.pid[PID_NBDKIT])
				err("nbdkit did not create %s in time", c->nbd_sock);
			dump_file(c->nbd_err);
			return -1;
		}
		usleep(5000);
	}
	return 0;
}

/* nbd_run - the compatibility row: fio's nbd engine -> nbdkit -> the
 * aoki-blk plugin -> aoki-blkd, randread 4 KiB QD32.  Skipped (noted)
 * without nbdkit or the plugin; a failure is noted, not fatal. */
static void nbd_run(const struct cfg *c, struct results *res)
{
	int r;

	if (!in_path("nbdkit")) {
		nbd_note(res, NBD_SKIPPED, "nbdkit not in PATH; scripts/deps.sh installs it");
		return;
	}
	if (access(c->plugin, R_OK)) {
		nbd_note(res, NBD_SKIPPED, "no plugin %s", c->plugin);
		return;
	}
	fprintf(stderr, "bench blk: nbd randread_qd32 (fio nbd -> nbdkit -> aoki-blkd) ... ");
	mid_line = 1;
	r = blkd_start(c);
	if (r == 0)
		r = nbdkit_start(c);
	if (r == 0)
		r = run_fio(c, &wls[W_RR32], c->nbd_sock, &res->nbd);
	stop_child(PID_NBDKIT);
	stop_child(PID_BLKD);
	if (r < 0) {
		nbd_note(res, NBD_FAILED, "see the messages above");
		return;
	}
	res->nbd_state = NBD_OK;
	progress_done(&res->nbd);
}

/* ------------------------------------------------------------- fairness */

/* aoki_fair - on the running server: the QD1 reader alone, or (@shared)
 * beside a QD32 reader on another channel; its figures into @v (as
 * fio_fair).  Returns 0 or -1 (reported). */
static int aoki_fair(const struct cfg *c, int shared, double v[F_COUNT])
{
	unsigned at = shared ? F_SHARED_IOPS : F_ALONE_IOPS;
	struct hist *h = calloc(1, sizeof(*h));
	struct job *j = calloc(2, sizeof(*j));
	int r = h && j ? 0 : err("out of memory");

	if (r == 0) {
		job_init(&j[0], c, &wls[W_RR1], h);
		job_init(&j[1], c, &wls[W_RR32], NULL);
		r = run_jobs(j, shared ? 2 : 1);
	}
	if (r == 0) {
		v[at] = (double)j[0].ios / c->runtime;
		v[at + 1] = hist_pct(h, 0.5);
		v[at + 2] = hist_pct(h, 0.99);
		if (shared)
			v[F_QD32_IOPS] = (double)j[1].ios / c->runtime;
	}
	free(h);
	free(j);
	return r;
}

/* fairness_once - one round: fio alone and shared, then on a fresh
 * aoki-blkd the same; the figures into @v[SIDE_*].  0 or -1. */
static int fairness_once(const struct cfg *c, double v[2][F_COUNT])
{
	int r;

	if (fio_fair(c, 0, v[SIDE_DIRECT]) < 0 || fio_fair(c, 1, v[SIDE_DIRECT]) < 0)
		return -1;
	r = blkd_start(c);
	if (r == 0)
		r = aoki_fair(c, 0, v[SIDE_AOKI]);
	if (r == 0)
		r = aoki_fair(c, 1, v[SIDE_AOKI]);
	stop_child(PID_BLKD);
	return r;
}

static void fairness_progress(const char *side, const double *v)
{
	fprintf(stderr, "bench blk: fairness %s: QD1 alone %.0f IOPS (p99 %.1f us), beside QD32 "
		"%.0f IOPS (p99 %.1f us), QD32 %.0f IOPS\n", side, v[F_ALONE_IOPS],
		v[F_ALONE_P99], v[F_SHARED_IOPS], v[F_SHARED_P99], v[F_QD32_IOPS]);
}

/* fairness_run - --fairness, @c->repeat rounds; medians into @res. */
static int fairness_run(const struct cfg *c, struct results *res)
{
	double (*v)[2][F_COUNT] = calloc(c->repeat, sizeof(*v)), col[MAX_REPEAT];
	int r = v ? 0 : err("out of memory");

	fprintf(stderr, "bench blk: fairness: randread 4 KiB, QD1 alone, then beside QD32 "
		"(fio, then aoki) ...\n");
	for (unsigned k = 0; r == 0 && k < c->repeat; k++) {
		r = fairness_once(c, v[k]);
		if (r == 0) {
			fairness_progress("direct", v[k][SIDE_DIRECT]);
			fairness_progress("aoki", v[k][SIDE_AOKI]);
		}
	}
	for (unsigned side = 0; r == 0 && side < 2; side++)
		for (unsigned i = 0; i < F_COUNT; i++) {
			for (unsigned k = 0; k < c->repeat; k++)
				col[k] = v[k][side][i];
			res->fair[side][i] = median(col, c->repeat);
		}
	free(v);
	return r;
}

/* --------------------------------------------------------------- output */

static void size_str(uint64_t size, char *out, size_t cap)
{
	if (size % (1ull << 30) == 0)
		snprintf(out, cap, "%llu GiB", (unsigned long long)(size >> 30));
	else
		snprintf(out, cap, "%llu MiB", (unsigned long long)(size >> 20));
}

static void print_header(FILE *f, const struct cfg *c)
{
	char sz[32];

	size_str(c->size, sz, sizeof(sz));
	fprintf(f, "aoki bench blk: %s, %ld CPUs, Linux %s, %s\n", c->cpu, c->nproc, c->kernel,
		c->fio_version);
	fprintf(f, "file %s (%s), %s used; %g s per side after %g s warm-up", c->file, c->fs, sz,
		c->runtime, c->warmup);
	if (c->repeat > 1)
		fprintf(f, "; median of %u", c->repeat);
	fprintf(f, "\n");
}

static void print_rows(FILE *f, const struct cfg *c, const struct results *r)
{
	fprintf(f, "%-16s %12s %12s %12s %12s %7s\n", "workload", "direct IOPS", "direct MB/s",
		"aoki IOPS", "aoki MB/s", "ratio");
	for (unsigned i = 0; i < W_COUNT; i++)
		if (c->wl_mask & (1u << i))
			fprintf(f, "%-16s %12.0f %12.1f %12.0f %12.1f %7.3f\n", wls[i].name,
				r->direct[i].iops, r->direct[i].mbps, r->aoki[i].iops,
				r->aoki[i].mbps, r->aoki[i].iops / r->direct[i].iops);
	fprintf(f, "direct: fio io_uring, O_DIRECT, fixed buffers; aoki: aoki-blkd, one client "
		"thread, aoki_blk_submit/reap; ratio = aoki IOPS / direct IOPS\n");
	if (!r->aoki_direct)
		fprintf(f, "warning: aoki-blkd opened the file without O_DIRECT (buffered I/O): "
			"the ratios compare different paths\n");
}

static void print_fairness(FILE *f, const struct results *r)
{
	static const char *const rows[] = { "QD1 alone", "QD1 beside QD32" };
	const double *d = r->fair[SIDE_DIRECT], *a = r->fair[SIDE_AOKI];

	fprintf(f, "fairness, randread 4 KiB (direct: two fio jobs; aoki: two channels):\n"
		"%-18s %11s %8s %8s %11s %8s %8s\n", "", "direct IOPS", "p50 us", "p99 us",
		"aoki IOPS", "p50 us", "p99 us");
	for (unsigned i = 0; i < 2; i++) {
		unsigned k = i ? F_SHARED_IOPS : F_ALONE_IOPS;

		fprintf(f, "%-18s %11.0f %8.1f %8.1f %11.0f %8.1f %8.1f\n", rows[i], d[k],
			d[k + 1], d[k + 2], a[k], a[k + 1], a[k + 2]);
	}
	fprintf(f, "%-18s %11.0f %8s %8s %11.0f\n", "QD32 neighbour", d[F_QD32_IOPS], "", "",
		a[F_QD32_IOPS]);
}

static void print_table(FILE *f, const struct cfg *c, const struct results *r)
{
	print_header(f, c);
	if (c->run_wl)
		print_rows(f, c, r);
	if (r->nbd_state == NBD_OK)
		fprintf(f, "nbd (compatibility, not in the ratios): fio nbd engine -> nbdkit -> "
			"aoki-blk plugin, randread_qd32: %.0f IOPS, %.1f MB/s\n",
			r->nbd.iops, r->nbd.mbps);
	else if (r->nbd_state != NBD_OFF)
		fprintf(f, "nbd: %s (%s)\n", r->nbd_state == NBD_SKIPPED ? "skipped" : "failed",
			r->nbd_why);
	if (c->fairness)
		print_fairness(f, r);
}

static void json_sep(FILE *f, const char *key, int *first)
{
	fprintf(f, "%s\n  \"%s\": ", *first ? "" : ",", key);
	*first = 0;
}

static void json_num(FILE *f, const char *key, double v, int *first)
{
	json_sep(f, key, first);
	if (!isfinite(v))
		fprintf(f, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else if (fabs(v) >= 1000)
		fprintf(f, "%.1f", v);
	else
		fprintf(f, "%.6g", v);
}

static void json_str(FILE *f, const char *key, const char *s, int *first)
{
	json_sep(f, key, first);
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* json_num3 - member "<a><b><c>": @v. */
static void json_num3(FILE *f, const char *a, const char *b, const char *c, double v,
		      int *first)
{
	char key[96];

	snprintf(key, sizeof(key), "%s%s%s", a, b, c);
	json_num(f, key, v, first);
}

static void json_workloads(FILE *f, const struct cfg *c, const struct results *r, int *first)
{
	for (unsigned i = 0; i < W_COUNT; i++) {
		if (!(c->wl_mask & (1u << i)))
			continue;
		json_num3(f, "direct_", wls[i].name, "_iops", r->direct[i].iops, first);
		json_num3(f, "direct_", wls[i].name, "_mbps", r->direct[i].mbps, first);
		json_num3(f, "aoki_", wls[i].name, "_iops", r->aoki[i].iops, first);
		json_num3(f, "aoki_", wls[i].name, "_mbps", r->aoki[i].mbps, first);
		json_num3(f, "", wls[i].name, "_ratio", r->aoki[i].iops / r->direct[i].iops, first);
	}
	json_num(f, "aoki_o_direct", r->aoki_direct, first);
}

/* "fairness_<key>" for aoki (the headline figures) and
 * "fairness_direct_<key>" for the fio baseline. */
static void json_fairness(FILE *f, const struct results *r, int *first)
{
	for (unsigned side = 0; side < 2; side++)
		for (unsigned i = 0; i < F_COUNT; i++)
			json_num3(f, side == SIDE_AOKI ? "fairness_" : "fairness_direct_",
				  fair_keys[i], "", r->fair[side][i], first);
}

static void print_json(FILE *f, const struct cfg *c, const struct results *r)
{
	int first = 1;

	fprintf(f, "{");
	if (c->run_wl)
		json_workloads(f, c, r, &first);
	if (r->nbd_state != NBD_OFF) {
		json_num(f, "nbd_randread_qd32_iops", r->nbd_state == NBD_OK ? r->nbd.iops : NAN,
			 &first);
		json_num(f, "nbd_randread_qd32_mbps", r->nbd_state == NBD_OK ? r->nbd.mbps : NAN,
			 &first);
		if (r->nbd_state != NBD_OK)
			json_str(f, r->nbd_state == NBD_SKIPPED ? "nbd_skipped" : "nbd_failed",
				 r->nbd_why, &first);
	}
	if (c->fairness)
		json_fairness(f, r, &first);
	json_num(f, "runtime_s", c->runtime, &first);
	json_num(f, "warmup_s", c->warmup, &first);
	json_num(f, "repeat", c->repeat, &first);
	json_str(f, "file", c->file, &first);
	json_str(f, "fs", c->fs, &first);
	json_num(f, "size", (double)c->size, &first);
	json_str(f, "cpu", c->cpu, &first);
	json_num(f, "nproc", (double)c->nproc, &first);
	json_str(f, "kernel", c->kernel, &first);
	json_str(f, "fio_version", c->fio_version, &first);
	fprintf(f, "\n}\n");
}

/* ----------------------------------------------------------------- main */

/* run_all - prepare the file, then every measurement asked for. */
static int run_all(struct cfg *c, struct results *res)
{
	if (file_prepare(c) < 0)
		return -1;
	machine_describe(c);
	fio_version(c, c->fio_version, sizeof(c->fio_version));
	res->aoki_direct = 1;
	for (unsigned i = 0; c->run_wl && i < W_COUNT; i++)
		if ((c->wl_mask & (1u << i)) && measure_workload(c, i, res) < 0)
			return -1;
	if (c->run_wl && !c->no_nbd)
		nbd_run(c, res);
	if (c->fairness && fairness_run(c, res) < 0)
		return -1;
	return 0;
}

int bench_blk_main(int argc, char **argv)
{
	struct sigaction old[3];
	struct results *res;
	struct cfg *c = malloc(sizeof(*c));
	int r = c ? parse_args(argc, argv, c) : -1;

	if (r) {
		free(c);
		return r > 0 ? 0 : 2;
	}
	res = calloc(1, sizeof(*res));
	if (!res || find_tools(c) < 0 || setup_dir(c) < 0) {
		free(res);
		free(c);
		return 1;
	}
	signals_set(old, 0);
	r = run_all(c, res);
	stop_child(PID_NBDKIT);
	stop_child(PID_BLKD);
	cleanup_files();
	memset(&cl, 0, sizeof(cl));
	signals_set(old, 1);
	if (r == 0) {
		print_table(c->json ? stderr : stdout, c, res);
		if (c->json)
			print_json(stdout, c, res);
	}
	r = r < 0 || res->nbd_state == NBD_FAILED;
	free(res);
	free(c);
	return r;
}
