/* SPDX-License-Identifier: MIT */
/*
 * demo_stack.c - `aoki demo [stack]`, the job `make run` runs: the whole
 * stack under an ordinary program.
 *
 *   1. aoki up on a fresh image in a temporary directory (stack.conf
 *      written there: image, run dir, FUSE mount point);
 *   2. this source tree copied into the mount (git ls-files);
 *   3. `make -j2 all` run in the mount while aoki-fsd and aoki-blkd are
 *      SIGKILLed on a schedule (demo_kill.c), each kill and restart shown
 *      as it happens; the build must succeed;
 *   4. aoki status; the tree's checksum through the mount; aoki down
 *      (the image must be left clean);
 *   5. e2fsck -fn on the image, and a read-only kernel loop mount whose
 *      tree checksum must equal the one seen through the mount;
 *   6. a summary.
 * Anything that fails keeps the directory (and says where) after taking
 * the stack down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_kill.h"
#include "demo_stack.h"
#include "demo_tree.h"
#include "clock.h"
#include "stack.h"

struct job {
	/* options */
	char src[PATH_MAX];
	unsigned kills, first_ms, every_ms, image_mib;
	int keep;
	/* state */
	char dir[PATH_MAX], conf_path[PATH_MAX + 16], kmnt[PATH_MAX + 16];
	struct stack_conf c;
	int up, loop_mounted;
	int64_t t0;
	/* results */
	double up_s, copy_s, build_s, down_s;
	int built, fsck_clean;
	struct demo_copy copied;
	unsigned objects;
	char sum_fuse[65], sum_kernel[65];
	uint64_t entries;
	struct demo_killer killer;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static double since(int64_t t)
{
	return (double)(util_now_ns() - t) / 1e9;
}

/* Announce the next step; -1 if ^C (or SIGTERM) came meanwhile. */
static int step(const struct job *j, const char *what)
{
	if (interrupted)
		return -1;
	printf("[%5.1f s] %s\n", since(j->t0), what);
	fflush(stdout);
	return 0;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "aoki demo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* The stack's configuration in the job's directory. */
static int write_conf(struct job *j)
{
	char err[PATH_MAX + 256];
	FILE *f;

	snprintf(j->conf_path, sizeof(j->conf_path), "%s/stack.conf", j->dir);
	f = fopen(j->conf_path, "we");
	if (!f)
		return fail("%s: %s", j->conf_path, strerror(errno));
	fprintf(f, "# written by aoki demo (make run)\n"
		   "[stack]\nrun-dir = run\ntimeout-s = 30\n"
		   "[volume]\nimage = disk.img\nsize = %uM\n"
		   "[mount]\npath = mnt\n"
		   "[restart]\npolicy = on-failure\nbackoff-min-ms = 0\nbackoff-max-ms = 20\n"
		   "crash-limit = 100\ncrash-window-s = 10\n", j->image_mib);
	if (fclose(f) != 0)
		return fail("%s: %s", j->conf_path, strerror(errno));
	if (stack_conf_load(j->conf_path, &j->c, err, sizeof(err)) < 0)
		return fail("%s", err);
	return 0;
}

/* `make -j2 all` in the mount, stdout and stderr into build.log, while
 * the killer runs.  Progress: a line every few seconds. */
static int build(struct job *j)
{
	char log[PATH_MAX + 16], line[512];
	int64_t t = util_now_ns(), last = t;
	int status = 0, fd, killer_ok = 0;
	unsigned cc = 0;
	FILE *lf;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/build.log", j->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("%s: %s", log, strerror(errno));
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		/* Not a sub-make of `make run`: its own -j2, not the
		 * jobserver of the make that runs us. */
		unsetenv("MAKEFLAGS");
		unsetenv("MFLAGS");
		unsetenv("MAKELEVEL");
		execlp("make", "make", "-C", j->c.mount, "-j2", "all", (char *)NULL);
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	lf = fopen(log, "re");
	demo_killer_init(&j->killer, &j->c, j->kills, j->first_ms, j->every_ms);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (interrupted) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			return fail("interrupted");
		}
		if (demo_killer_step(&j->killer) < 0)
			killer_ok = -1;
		while (lf && fgets(line, sizeof(line), lf))
			cc += !strncmp(line, "  CC ", 5) || !strncmp(line, "  CCLD ", 7) ||
			      !strncmp(line, "  LD ", 5);
		if (lf)
			clearerr(lf);
		if (util_now_ns() - last > 5000000000ll) {
			last = util_now_ns();
			printf("  %6.1f s  building: %u files compiled or linked\n", since(t), cc);
			fflush(stdout);
		}
		usleep(10000);
	}
	while (lf && fgets(line, sizeof(line), lf))
		cc += !strncmp(line, "  CC ", 5) || !strncmp(line, "  CCLD ", 7) ||
		      !strncmp(line, "  LD ", 5);
	if (lf)
		fclose(lf);
	/* A restart still in progress when the build ended: see it through. */
	while (j->killer.waiting && killer_ok == 0)
		if (demo_killer_step(&j->killer) < 0)
			killer_ok = -1;
		else
			usleep(10000);
	j->objects = cc;
	j->build_s = since(t);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "aoki demo: the build failed (%s); last lines of %s:\n",
			WIFEXITED(status) ? "exit status" : "signal", log);
		fflush(stderr);
		if (fork() == 0) {
			execlp("tail", "tail", "-n", "20", log, (char *)NULL);
			_exit(127);
		}
		wait(NULL);
		return -1;
	}
	j->built = 1;
	printf("  %6.1f s  build done: %u files compiled or linked, make exit status 0\n",
	       since(t), cc);
	return killer_ok;
}

/* Run @argv (@quiet: its output to /dev/null); its exit status or -1. */
static int run(char *const argv[], int quiet)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* e2fsck -fn, then the loop mount and its checksum. */
static int check_image(struct job *j)
{
	char *fsck[] = { "e2fsck", "-fn", j->c.image, NULL };
	uint64_t entries = 0;
	int r;

	if (step(j, "e2fsck -fn on the image") < 0)
		return fail("interrupted");
	r = run(fsck, 1);
	if (r != 0) {
		run(fsck, 0);
		return fail("e2fsck -fn found problems (exit %d) in %s", r, j->c.image);
	}
	j->fsck_clean = 1;
	printf("  e2fsck -fn: clean\n");
	if (geteuid() != 0) {
		printf("  (not root: the read-only kernel loop mount is skipped)\n");
		return 0;
	}
	if (step(j, "read-only kernel loop mount of the image, tree checksum") < 0)
		return fail("interrupted");
	snprintf(j->kmnt, sizeof(j->kmnt), "%s/kernel", j->dir);
	if (stack_mkdir_p(j->kmnt) < 0)
		return fail("%s: %s", j->kmnt, strerror(errno));
	{
		char *mnt[] = { "mount", "-t", "ext4", "-o", "ro,loop", j->c.image, j->kmnt, NULL };

		if (run(mnt, 0) != 0)
			return fail("mount -o ro,loop %s failed", j->c.image);
	}
	j->loop_mounted = 1;
	r = demo_tree_sum(j->kmnt, j->sum_kernel, &entries);
	if (umount2(j->kmnt, 0) == 0)
		j->loop_mounted = 0;
	if (r < 0)
		return fail("checksum of %s: %s", j->kmnt, strerror(-r));
	printf("  kernel ext4: sha256 %s (%llu lines)\n", j->sum_kernel,
	       (unsigned long long)entries);
	if (strcmp(j->sum_kernel, j->sum_fuse) || entries != j->entries)
		return fail("the tree seen by the kernel differs from the one seen through the "
			    "mount");
	printf("  equal to the checksum through the FUSE mount\n");
	return 0;
}

static void summary(const struct job *j, int ok)
{
	unsigned fa, ba, fk = demo_killer_count(&j->killer, STACK_FSD, &fa),
			 bk = demo_killer_count(&j->killer, STACK_BLKD, &ba);

	printf("\naoki demo: summary\n"
	       "  stack up in %.1f s; %llu files (%.1f MiB) copied into the mount in %.1f s\n",
	       j->up_s, (unsigned long long)j->copied.files, (double)j->copied.bytes / (1 << 20),
	       j->copy_s);
	if (j->build_s > 0)
		printf("  make -j2 all in the mount: %s in %.1f s (%u files compiled or linked)\n",
		       j->built ? "built" : "FAILED", j->build_s, j->objects);
	printf("  SIGKILLs during the build: aoki-fsd %u (%u back), aoki-blkd %u (%u back)", fk,
	       fa, bk, ba);
	for (unsigned i = 0; i < j->killer.n; i++)
		if (j->killer.kills[i].answered_ns >= 0)
			printf("%s %s %.0f ms", i ? "," : "; answering again after:",
			       j->killer.kills[i].srv == STACK_FSD ? "fsd" : "blkd",
			       (double)j->killer.kills[i].answered_ns / 1e6);
	printf("\n");
	if (j->down_s > 0)
		printf("  aoki down in %.1f s: image clean (needs_recovery off)\n", j->down_s);
	if (j->fsck_clean)
		printf("  e2fsck -fn: clean\n");
	if (j->sum_kernel[0])
		printf("  kernel loop mount: tree checksum %s the one through FUSE (%llu lines)\n",
		       strcmp(j->sum_kernel, j->sum_fuse) ? "DIFFERS from" : "equals",
		       (unsigned long long)j->entries);
	printf("  total %.1f s\naoki demo: %s\n", since(j->t0), ok ? "PASS" : "FAILED");
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Take down what is still up; remove the directory unless kept. */
static void cleanup(struct job *j, int ok)
{
	if (j->loop_mounted)
		umount2(j->kmnt, MNT_DETACH);
	if (j->up)
		stack_down(&j->c, 1);
	if (!j->dir[0])
		return;
	if (ok && !j->keep) {
		/* FTW_MOUNT: never into a mount that is somehow still there. */
		nftw(j->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	} else {
		printf("aoki demo: kept %s (stack.conf, run/stack.log, build.log, disk.img)\n",
		       j->dir);
	}
}

static int the_job(struct job *j)
{
	struct stack_view v;
	char why[PATH_MAX + 64];
	int64_t t;
	int r;

	if (write_conf(j) < 0)
		return -1;
	if (step(j, "aoki up: a fresh image, aoki-blkd, aoki-fsd, aoki-fuse under aoki-init") < 0)
		return fail("interrupted");
	t = util_now_ns();
	if (stack_up(&j->c, 0) != 0)
		return -1;
	j->up = 1;
	j->up_s = since(t);
	if (step(j, "copying this source tree into the mount (git ls-files)") < 0)
		return fail("interrupted");
	t = util_now_ns();
	if (demo_copy_tree(j->src, j->c.mount, &j->copied, why, sizeof(why)) < 0)
		return fail("copy into %s: %s", j->c.mount, why);
	j->copy_s = since(t);
	printf("  %llu files, %.1f MiB in %.1f s\n", (unsigned long long)j->copied.files,
	       (double)j->copied.bytes / (1 << 20), j->copy_s);
	if (step(j, "make -j2 all in the mount, SIGKILLing aoki-fsd and aoki-blkd meanwhile") < 0)
		return fail("interrupted");
	r = build(j);
	if (r < 0)
		return -1;
	if (j->killer.n < j->kills)
		return fail("the build ended after %u of %u kills (--first-ms / --every-ms "
			    "smaller?)", j->killer.n, j->kills);
	if (step(j, "aoki status") < 0)
		return fail("interrupted");
	if (stack_view_collect(&j->c, 500, &v) < 0)
		return fail("aoki status: the stack is not up");
	stack_view_print(&j->c, &v, 0);
	if (step(j, "checksum of the tree through the mount") < 0)
		return fail("interrupted");
	r = demo_tree_sum(j->c.mount, j->sum_fuse, &j->entries);
	if (r < 0)
		return fail("checksum of %s: %s", j->c.mount, strerror(-r));
	printf("  through FUSE: sha256 %s (%llu lines)\n", j->sum_fuse,
	       (unsigned long long)j->entries);
	if (step(j, "aoki down") < 0)
		return fail("interrupted");
	t = util_now_ns();
	j->up = 0;
	if (stack_down(&j->c, 0) != 0)
		return -1;
	j->down_s = since(t);
	return check_image(j);
}

static int usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki demo [stack] [--src DIR] [--kills N] [--first-ms MS] [--every-ms MS]\n"
		"                 [--image-mib MiB] [--keep]\n"
		"The whole stack under an ordinary program (what `make run` runs): aoki up on a\n"
		"fresh image in a temporary directory ($TMPDIR, else /var/tmp); the source tree\n"
		"DIR (default .; a git checkout) copied into the FUSE mount and built there with\n"
		"make -j2 while aoki-fsd and aoki-blkd are SIGKILLed N times (default 5: fsd,\n"
		"blkd, fsd, fsd, blkd; the first after MS ms (1500), the next MS ms (1500) after\n"
		"the last victim answers again); aoki status; aoki down; e2fsck -fn; and a\n"
		"read-only kernel loop mount (root) whose tree checksum must equal the mount's.\n"
		"--keep keeps the directory.  `aoki demo pieces` is the demo of the parts.\n");
	return f == stdout ? 0 : 2;
}

/* A number option: 0, or 2 (usage) after a message. */
static int num_opt(const char *name, const char *arg, unsigned long min, unsigned long max,
		   unsigned *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !*arg || *arg == '-' || v < min || v > max) {
		fprintf(stderr, "aoki demo: --%s %s: a number from %lu to %lu\n", name, arg, min,
			max);
		return 2;
	}
	*out = (unsigned)v;
	return 0;
}

/* Returns 0 to run, -1 after --help, 2 for bad usage. */
static int parse(struct job *j, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "kills", required_argument, NULL, 'k' },
		{ "first-ms", required_argument, NULL, 'f' },
		{ "every-ms", required_argument, NULL, 'e' },
		{ "image-mib", required_argument, NULL, 'm' },
		{ "keep", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, r = 0;

	optind = 0;
	while (r == 0 && (opt = getopt_long(argc, argv, "s:k:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!realpath(optarg, j->src)) {
				fprintf(stderr, "aoki demo: --src %s: %s\n", optarg,
					strerror(errno));
				r = 2;
			}
			break;
		case 'k':
			r = num_opt("kills", optarg, 0, DEMO_MAX_KILLS, &j->kills);
			break;
		case 'f':
			r = num_opt("first-ms", optarg, 0, 600000, &j->first_ms);
			break;
		case 'e':
			r = num_opt("every-ms", optarg, 0, 600000, &j->every_ms);
			break;
		case 'm':
			r = num_opt("image-mib", optarg, 256, 1u << 20, &j->image_mib);
			break;
		case 'K':
			j->keep = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return usage(stderr);
		}
	}
	if (r == 0 && optind < argc)
		return usage(stderr);
	return r;
}

int demo_stack(int argc, char **argv)
{
	static struct job j;
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	int r;

	memset(&j, 0, sizeof(j));
	j.kills = 5;
	j.first_ms = j.every_ms = 1500;
	j.image_mib = 1024;
	if (!getcwd(j.src, sizeof(j.src)))
		return 1;
	if (argc > 1 && !strcmp(argv[1], "stack")) {
		argc--;
		argv++;
	}
	r = parse(&j, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	j.t0 = util_now_ns();
	snprintf(j.dir, sizeof(j.dir), "%s/aoki-run.XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(j.dir)) {
		fail("mkdtemp %s: %s", j.dir, strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("aoki demo: the whole stack under make -j2, with crashes (in %s)\n", j.dir);
	r = the_job(&j);
	if (interrupted && r == 0)
		r = -1;
	summary(&j, r == 0);
	cleanup(&j, r == 0);
	return r == 0 ? 0 : 1;
}
