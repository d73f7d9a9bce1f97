/* SPDX-License-Identifier: MIT */
/* fs_side.c - `aoki bench fs`: the tools, the private directory, and
 * each side's life: a fresh image, then a loop mount (kernel), fuse2fs,
 * aoki-blkd + aoki-fsd, or those and aoki-fuse mounting aoki-fsd; and the
 * way back, on a normal exit and on a signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "aoki/fs.h"
#include "blk.h"
#include "clock.h"
#include "fs.h"

#define FUSE_MAGIC 0x65735546	/* FUSE_SUPER_MAGIC */
#define START_DEADLINE_NS 10000000000ll
#define REQUEST_DEADLINE_NS 30000000000ll
#define STOP_TICKS 1000		/* of 10 ms: how long a server may take to stop */

struct bf_cleanup bf_cl = { .loop_fd = -1 };

enum { CL_FUSE = 0, CL_BLKD = 1, CL_FSD = 2, CL_AOKI_FUSE = 3 };

/* ----------------------------------------------------------- preparing */

/* tool_dir - where the temporary images go: $TMPDIR, else /var/tmp (the
 * images need a real disk under them, not tmpfs; the path must be short). */
static const char *tool_dir(void)
{
	const char *d = getenv("TMPDIR");
	struct statfs sf;

	if (!d || !*d || strlen(d) > 32 || statfs(d, &sf) < 0 || sf.f_type == 0x01021994 /* tmpfs */)
		return "/var/tmp";
	return d;
}

/* describe_host_fs - "TYPE on SOURCE" of the file system holding @path. */
static void describe_host_fs(const char *path, char *out, size_t cap)
{
	char line[4096], mp[1024], type[64], src[112], best[192] = "unknown";
	size_t best_len = 0;
	FILE *f = fopen("/proc/self/mounts", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%111s %1023s %63s", src, mp, type) == 3) {
			size_t n = strlen(mp);

			if (!strncmp(path, mp, n) && (path[n] == '/' || path[n] == 0 || n == 1) &&
			    n >= best_len) {
				best_len = n;
				snprintf(best, sizeof(best), "%s on %s", type, src);
			}
		}
	if (f)
		fclose(f);
	snprintf(out, cap, "%s", best);
}

int bf_prepare(struct bf_cfg *c)
{
	char exe[PATH_MAX - 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct cfg machine;
	struct statfs sf;

	if (n <= 0)
		return bf_err("cannot read /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(c->blkd, sizeof(c->blkd), "%s/aoki-blkd", exe);
	snprintf(c->fsd, sizeof(c->fsd), "%s/aoki-fsd", exe);
	snprintf(c->aoki_fuse, sizeof(c->aoki_fuse), "%s/aoki-fuse", exe);
	if (access(c->blkd, X_OK) || access(c->fsd, X_OK))
		return bf_err("aoki-blkd / aoki-fsd not found beside %s (`make` builds them)", exe);
	if (!bb_in_path("mke2fs"))
		return bf_err("mke2fs not found in PATH (Debian: e2fsprogs)");
	if (!bb_in_path("fio"))
		return bf_err("fio not found in PATH; scripts/deps.sh installs it");
	snprintf(c->dir, sizeof(c->dir), "%s/aoki-bench-fs-XXXXXX", tool_dir());
	if (!mkdtemp(c->dir))
		return bf_err("mkdtemp %s: %s", c->dir, strerror(errno));
	snprintf(bf_cl.dir, sizeof(bf_cl.dir), "%s", c->dir);
	snprintf(c->img, sizeof(c->img), "%.63s/image", c->dir);
	snprintf(c->mnt, sizeof(c->mnt), "%.63s/mnt", c->dir);
	snprintf(c->run, sizeof(c->run), "/dev/shm/aoki-bench-fs-XXXXXX");
	if (statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994 /* tmpfs */ &&
	    mkdtemp(c->run))
		snprintf(bf_cl.run, sizeof(bf_cl.run), "%s", c->run);
	else if (snprintf(c->run, sizeof(c->run), "%.63s/run", c->dir), mkdir(c->run, 0700) < 0)
		return bf_err("mkdir %s: %s", c->run, strerror(errno));
	snprintf(c->err, sizeof(c->err), "%.63s/child.err", c->dir);
	for (int i = 0; i < 4; i++)
		snprintf(c->srv_err[i], sizeof(c->srv_err[i]), "%.63s/%s.err", c->dir,
			 i == 0 ? "fuse2fs" : i == 1 ? "blkd" : i == 2 ? "fsd" : "aoki-fuse");
	snprintf(bf_cl.mnt, sizeof(bf_cl.mnt), "%s", c->mnt);
	if (mkdir(c->mnt, 0755) < 0)
		return bf_err("mkdir in %s: %s", c->dir, strerror(errno));
	if (setenv("AOKI_RUN_DIR", c->run, 1) < 0)
		return bf_err("setenv: %s", strerror(errno));
	describe_host_fs(c->dir, c->host_fs, sizeof(c->host_fs));
	bb_machine_describe(&machine);
	snprintf(c->cpu, sizeof(c->cpu), "%s", machine.cpu);
	snprintf(c->kernel, sizeof(c->kernel), "%s", machine.kernel);
	c->nproc = machine.nproc;
	snprintf(machine.fio_err, sizeof(machine.fio_err), "%s", c->err);
	bb_fio_version(&machine, c->fio_version, sizeof(c->fio_version));

	for (int s = 0; s < BF_SIDES; s++)
		c->have[s] = 1;
	if (geteuid() != 0) {
		c->have[BF_KERNEL] = 0;
		snprintf(c->why[BF_KERNEL], sizeof(c->why[0]), "not root (losetup and mount)");
	} else if (!bb_in_path("losetup") || access("/dev/loop-control", R_OK | W_OK)) {
		c->have[BF_KERNEL] = 0;
		snprintf(c->why[BF_KERNEL], sizeof(c->why[0]), "no losetup or /dev/loop-control");
	}
	if (!bb_in_path("fuse2fs") || !bb_in_path("fusermount3")) {
		c->have[BF_FUSE] = 0;
		snprintf(c->why[BF_FUSE], sizeof(c->why[0]),
			 "fuse2fs or fusermount3 not installed (Debian: fuse2fs, fuse3)");
	} else if (access("/dev/fuse", R_OK | W_OK)) {
		c->have[BF_FUSE] = 0;
		snprintf(c->why[BF_FUSE], sizeof(c->why[0]), "no usable /dev/fuse");
	}
	if (!(c->layouts & BF_LAYOUT_PROCESS))
		c->have[BF_AOKI] = 0;	/* not asked for: no rows, no note */
	if (!(c->layouts & BF_LAYOUT_INPROC)) {
		c->have[BF_AOKI_INPROC] = c->have[BF_AOKI_UNISO] = 0;
	} else if (strpbrk(c->img, " \t\n")) {	/* hosted: words split at blanks */
		c->have[BF_AOKI_INPROC] = c->have[BF_AOKI_UNISO] = 0;
		for (int s = BF_AOKI_INPROC; s <= BF_AOKI_UNISO; s++)
			snprintf(c->why[s], sizeof(c->why[0]),
				 "the image's path has a blank (set TMPDIR)");
	}
	if (!c->fuse) {
		c->have[BF_AOKI_FUSE] = 0;	/* not asked for: no rows, no note */
	} else if (access(c->aoki_fuse, X_OK)) {
		c->have[BF_AOKI_FUSE] = 0;
		snprintf(c->why[BF_AOKI_FUSE], sizeof(c->why[0]),
			 "aoki-fuse not built (libfuse3-dev missing?)");
	} else if (access("/dev/fuse", R_OK | W_OK) ||
		   (geteuid() != 0 && !bb_in_path("fusermount3"))) {
		c->have[BF_AOKI_FUSE] = 0;
		snprintf(c->why[BF_AOKI_FUSE], sizeof(c->why[0]), "no usable /dev/fuse");
	}
	for (int s = 0; s < BF_SIDES; s++)
		if (!c->have[s] && c->why[s][0])
			fprintf(stderr, "bench fs: skipping the %s rows: %s\n", bf_side_names[s],
				c->why[s]);
	return 0;
}

/* ------------------------------------------------------------ children */

/* run_quiet - run @argv to its end, stdout into *@out if @out (the caller
 * frees); 0 if it exited 0, else -1 (reported with its stderr). */
static int run_quiet(const struct bf_cfg *c, char *const argv[], char **out)
{
	char *o = NULL;
	int code = bb_run_capture(argv, c->err, &o);

	if (code != 0) {
		bf_err("%s failed (%s %d):", argv[0], code < 0 ? "error" : "exit code",
		       code < 0 ? -code : code);
		bb_dump_file(c->err);
		free(o);
		return -1;
	}
	if (out)
		*out = o;
	else
		free(o);
	return 0;
}

/* stop_pid - SIGTERM (unless @signal_it is 0) child bf_cl.pid[@which] and
 * wait for it (10 s, then SIGKILL).  Returns its exit code, or -1. */
static int stop_pid(const struct bf_cfg *c, int which, int signal_it, const char *name)
{
	pid_t pid = bf_cl.pid[which], w = 0;
	int status = 0;

	if (pid <= 0)
		return 0;
	if (signal_it && waitpid(pid, &status, WNOHANG) == pid) {
		bf_cl.pid[which] = 0;
		bf_err("%s had exited during the run (status 0x%x); its stderr:", name, status);
		bb_dump_file(c->srv_err[which]);
		return -1;
	}
	if (signal_it)
		kill(pid, SIGTERM);
	for (int i = 0; (w = waitpid(pid, &status, WNOHANG)) == 0 && i < STOP_TICKS; i++)
		usleep(10000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		bf_err("warning: %s did not stop within 10 s, killed", name);
	}
	bf_cl.pid[which] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bf_err("warning: %s exited badly (status 0x%x); its stderr:", name, status);
		bb_dump_file(c->srv_err[which]);
		return -1;
	}
	return 0;
}

/* child_gone - has child bf_cl.pid[@which] exited?  1 (reported with its
 * stderr), else 0. */
static int child_gone(const struct bf_cfg *c, int which, const char *name)
{
	int status;

	if (waitpid(bf_cl.pid[which], &status, WNOHANG) != bf_cl.pid[which])
		return 0;
	bf_cl.pid[which] = 0;
	bf_err("%s exited (status 0x%x) before serving:", name, status);
	bb_dump_file(c->srv_err[which]);
	return 1;
}

/* -------------------------------------------------------------- images */

/* make_image - a fresh sparse image of c->image bytes, mke2fs'd. */
static int make_image(const struct bf_cfg *c)
{
	char *argv[] = { "mke2fs", "-q", "-t", "ext4", "-b", "4096", "-F", (char *)c->img, NULL };
	int fd;

	unlink(c->img);
	fd = open(c->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)c->image) < 0) {
		bf_err("%s: %s", c->img, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return run_quiet(c, argv, NULL);
}

void bf_drop_cache(const struct bf_cfg *c, const struct bf_side *s)
{
	int fd = open(c->img, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* -------------------------------------------------------------- kernel */

static int kernel_up(const struct bf_cfg *c, struct bf_side *s)
{
	char *argv[] = { "losetup", "--direct-io=on", "--find", "--show", (char *)c->img, NULL };
	char *out = NULL, dio[96], v = '0';
	int fd;

	if (run_quiet(c, argv, &out) < 0)
		return -1;
	out[strcspn(out, "\n")] = 0;
	fd = open(out, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		bf_err("%s: %s", out, strerror(errno));
		free(out);
		return -1;
	}
	bf_cl.loop_fd = fd;
	snprintf(dio, sizeof(dio), "/sys/block/%s/loop/dio", strrchr(out, '/') + 1);
	fd = open(dio, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &v, 1) != 1 || v != '1')
		bf_err("warning: %s does not use direct I/O (%s)", out, dio);
	if (fd >= 0)
		close(fd);
	if (mount(out, c->mnt, "ext4", 0, "noinit_itable") < 0) {
		bf_err("mount %s on %s: %s", out, c->mnt, strerror(errno));
		free(out);
		return -1;
	}
	free(out);
	bf_cl.mounted = 1;
	s->fio_direct = 1;
	return 0;
}

/* ------------------------------------------------------------- fuse2fs */

/* fuse_mounted - wait (START_DEADLINE_NS from @start) until the FUSE
 * driver @name, client @which of bf_cl, has mounted c->mnt, then probe
 * whether the mount takes O_DIRECT: O_DIRECT on a FUSE file needs the
 * kernel's and the driver's support, and fio goes buffered without it
 * (s->fio_direct).  0, or -1 with a message. */
static int fuse_mounted(const struct bf_cfg *c, struct bf_side *s, int which, const char *name,
			int64_t start)
{
	char probe[PATH_MAX + 16];
	struct statfs sf;
	int fd;

	while (statfs(c->mnt, &sf) < 0 || sf.f_type != FUSE_MAGIC) {
		if (child_gone(c, which, name))
			return -1;
		if (util_now_ns() > start + START_DEADLINE_NS)
			return bf_err("%s did not mount %s within 10 s", name, c->mnt);
		usleep(5000);
	}
	bf_cl.mounted = 1;
	snprintf(probe, sizeof(probe), "%s/.direct-probe", c->mnt);
	fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	s->fio_direct = fd >= 0;
	if (fd >= 0)
		close(fd);
	unlink(probe);
	return 0;
}

static int fuse_up(const struct bf_cfg *c, struct bf_side *s)
{
	char *argv[] = { "fuse2fs", "-f", (char *)c->img, (char *)c->mnt, NULL, NULL, NULL };
	int64_t start = util_now_ns();
	pid_t pid;

	if (geteuid() != 0) {		/* no root: fuse2fs checks permissions as if it were */
		argv[4] = "-o";
		argv[5] = "fakeroot";
	}
	pid = bb_spawn(argv, NULL, c->srv_err[CL_FUSE]);
	if (pid < 0)
		return bf_err("cannot start fuse2fs: %s", strerror((int)-pid));
	bf_cl.pid[CL_FUSE] = pid;
	s->srv[0] = pid;
	return fuse_mounted(c, s, CL_FUSE, "fuse2fs", start);
}

/* ---------------------------------------------------------------- aoki */

/* aoki_up - aoki-blkd and aoki-fsd on the image; s->fs mounted on fsd. */
static int aoki_up(const struct bf_cfg *c, struct bf_side *s)
{
	char vol[PATH_MAX + 8];
	char *blkd[] = { (char *)c->blkd, "--volume", vol, "--port", "blk", "--quiet", NULL };
	char *fsd[] = { (char *)c->fsd, "--volume", "disk", "--blk-port", "blk", "--port", "fs",
			"--quiet", NULL };
	int64_t deadline = util_now_ns() + START_DEADLINE_NS;
	struct aoki_fs_opts opts = { .timeout_ns = REQUEST_DEADLINE_NS };
	struct aoki_blk *b;
	pid_t pid;
	int r;

	snprintf(vol, sizeof(vol), "disk=%s", c->img);
	pid = bb_spawn(blkd, NULL, c->srv_err[CL_BLKD]);
	if (pid < 0)
		return bf_err("cannot start %s: %s", c->blkd, strerror((int)-pid));
	bf_cl.pid[CL_BLKD] = pid;
	s->srv[0] = pid;
	while ((r = aoki_blk_open("blk", "disk", 0, NULL, &b)) < 0) {
		if (child_gone(c, CL_BLKD, "aoki-blkd"))
			return -1;
		if ((r != -ENOENT && r != -ECONNREFUSED) || util_now_ns() > deadline)
			return bf_err("aoki-blkd: volume disk: %s", strerror(-r));
		usleep(5000);
	}
	aoki_blk_close(b);
	pid = bb_spawn(fsd, NULL, c->srv_err[CL_FSD]);
	if (pid < 0)
		return bf_err("cannot start %s: %s", c->fsd, strerror((int)-pid));
	bf_cl.pid[CL_FSD] = pid;
	s->srv[1] = pid;
	/* A deadline on every request: a stuck server fails the run
	 * instead of hanging it. */
	while ((r = aoki_fs_mount("fs", &opts, &s->fs)) < 0) {
		if (child_gone(c, CL_FSD, "aoki-fsd"))
			return -1;
		if ((r != -ENOENT && r != -ECONNREFUSED) || util_now_ns() > deadline)
			return bf_err("aoki-fsd: mount: %s", strerror(-r));
		usleep(5000);
	}
	return 0;
}

/* ----------------------------------------------------------- aoki-fuse */

/* aoki_fuse_up - aoki_up, then aoki-fuse -f mounting aoki-fsd on the
 * mount point (the bench's own mount of fsd is closed: only aoki-fuse's
 * channel carries the workloads). */
static int aoki_fuse_up(const struct bf_cfg *c, struct bf_side *s)
{
	char *argv[] = { (char *)c->aoki_fuse, (char *)c->mnt, "--port", "fs", "-f", NULL };
	int64_t start;
	pid_t pid;

	if (aoki_up(c, s) < 0)
		return -1;
	aoki_fs_unmount(s->fs);
	s->fs = NULL;
	start = util_now_ns();
	pid = bb_spawn(argv, NULL, c->srv_err[CL_AOKI_FUSE]);
	if (pid < 0)
		return bf_err("cannot start %s: %s", c->aoki_fuse, strerror((int)-pid));
	bf_cl.pid[CL_AOKI_FUSE] = pid;
	s->srv[2] = pid;
	return fuse_mounted(c, s, CL_AOKI_FUSE, "aoki-fuse", start);
}

/* ----------------------------------------------------------- up / down */

int bf_side_up(const struct bf_cfg *c, int side, struct bf_side *s)
{
	memset(s, 0, sizeof(*s));
	s->side = side;
	snprintf(s->root, sizeof(s->root), "%s", c->mnt);
	if (make_image(c) < 0)
		return -1;
	switch (side) {
	case BF_KERNEL:
		return kernel_up(c, s);
	case BF_FUSE:
		return fuse_up(c, s);
	case BF_AOKI_FUSE:
		return aoki_fuse_up(c, s);
	case BF_AOKI_INPROC:
	case BF_AOKI_UNISO:
		return bf_inproc_up(c, s);
	default:
		return aoki_up(c, s);
	}
}

/* unmount - the mount point, if mounted: umount(2) as root, else
 * fusermount3 -u; retried for a few seconds while busy. */
static void unmount(const struct bf_cfg *c)
{
	char *argv[] = { "fusermount3", "-u", (char *)c->mnt, NULL };
	int r = -1;

	if (!bf_cl.mounted)
		return;
	for (int i = 0; i < 300 && r < 0; i++) {
		r = geteuid() == 0 ? umount(c->mnt) : run_quiet(c, argv, NULL);
		if (r < 0 && errno == EBUSY)
			usleep(10000);
		else if (r < 0)
			break;
	}
	if (r < 0) {
		bf_err("warning: unmount %s: %s; detaching it", c->mnt, strerror(errno));
		umount2(c->mnt, MNT_DETACH);
	}
	bf_cl.mounted = 0;
}

void bf_side_down(const struct bf_cfg *c, struct bf_side *s)
{
	if (s->fs) {
		aoki_fs_unmount(s->fs);
		s->fs = NULL;
	}
	bf_inproc_down(s);
	/* The FUSE mounts first: aoki-fuse needs aoki-fsd until then. */
	unmount(c);
	stop_pid(c, CL_FUSE, 0, "fuse2fs");	/* exits once unmounted */
	stop_pid(c, CL_AOKI_FUSE, 0, "aoki-fuse");	/* likewise */
	stop_pid(c, CL_FSD, 1, "aoki-fsd");
	stop_pid(c, CL_BLKD, 1, "aoki-blkd");
	if (bf_cl.loop_fd >= 0) {
		if (ioctl(bf_cl.loop_fd, LOOP_CLR_FD, 0) < 0)
			bf_err("warning: detaching the loop device: %s", strerror(errno));
		close(bf_cl.loop_fd);
		bf_cl.loop_fd = -1;
	}
	unlink(c->img);
	unlink(c->err);
	for (int i = 0; i < 4; i++)
		unlink(c->srv_err[i]);
}

/* ------------------------------------------------------------- cleanup */

/* remove_dir - rm -rf the private directories (fork and exec: async-
 * signal-safe). */
static void remove_dir(void)
{
	char *argv[] = { "/bin/rm", "-rf", bf_cl.dir, bf_cl.run[0] ? bf_cl.run : NULL, NULL };
	pid_t pid;

	if (!bf_cl.dir[0])
		return;
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	bf_cl.dir[0] = 0;
	bf_cl.run[0] = 0;
}

void bf_cleanup_all(void)
{
	remove_dir();
}

/* Async-signal-safe: stop the servers, detach the mount and the loop
 * device, remove the directory, die of @sig. */
static void on_signal(int sig)
{
	for (int i = 0; i < 4; i++)
		if (bf_cl.pid[i] > 0)
			kill(bf_cl.pid[i], SIGTERM);
	if (bf_cl.mounted)
		umount2(bf_cl.mnt, MNT_DETACH);
	if (bf_cl.loop_fd >= 0)
		ioctl(bf_cl.loop_fd, LOOP_CLR_FD, 0);
	/* 5 s for them to stop, then SIGKILL (a stuck server must not
	 * keep the bench from dying). */
	for (int i = 0; i < 4; i++)
		for (int t = 0; bf_cl.pid[i] > 0; t++) {
			struct timespec ts = { 0, 10000000 };

			if (waitpid(bf_cl.pid[i], NULL, WNOHANG) != 0)
				break;
			if (t == 500)
				kill(bf_cl.pid[i], SIGKILL);
			nanosleep(&ts, NULL);
		}
	remove_dir();
	signal(sig, SIG_DFL);
	raise(sig);
}

void bf_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	for (unsigned i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, NULL);
}
