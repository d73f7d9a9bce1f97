/* SPDX-License-Identifier: MIT */
/*
 * stack_up.c - `aoki up`: make the image on first use, write aoki-init's
 * configuration for the stack, start aoki-init in a session of its own
 * (its and the servers' stderr in <run dir>/stack.log), and return once
 * aoki-blkd and aoki-fsd answer the stats request and the FUSE mount is
 * there, or fail with why after the deadline, leaving nothing running.
 *
 * aoki-init starts the servers in file order (blkd, fsd, fuse) and stops
 * them in reverse: aoki-fuse unmounts first, aoki-fsd checkpoints its
 * journal while aoki-blkd still serves, aoki-blkd last.  aoki-fuse is
 * not restarted (restart = never): a FUSE mount dies with its process,
 * and a new process cannot take over the old mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "soak.h"
#include "clock.h"
#include "stack.h"

/* Write @w as one word of an aoki-init exec line: double-quoted, with
 * '"' and '\' escaped (init_split's rules). */
static void put_word(FILE *f, const char *w)
{
	fputc('"', f);
	for (; *w; w++) {
		if (*w == '"' || *w == '\\')
			fputc('\\', f);
		fputc(*w, f);
	}
	fputs("\" ", f);
}

static void put_restart(FILE *f, const struct stack_conf *c)
{
	fprintf(f, "restart = %s\nbackoff-min-ms = %u\nbackoff-max-ms = %u\n"
		   "backoff-reset-ms = %u\ncrash-limit = %u\ncrash-window-s = %u\n"
		   "stop-timeout-ms = %u\n",
		c->restart, c->backoff_min_ms, c->backoff_max_ms,
		c->backoff_max_ms > 1000 ? c->backoff_max_ms : 1000, c->crash_limit,
		c->crash_window_s, c->stop_timeout_ms);
}

/* <run dir>/stack-init.conf: the three servers for aoki-init. */
static int write_init_conf(const struct stack_conf *c, const char *bindir, char *path,
			   size_t cap)
{
	char prog[PATH_MAX + 16], vol[PATH_MAX + STACK_NAME_MAX + 2];
	FILE *f;

	if (stack_path(c, "stack-init.conf", path, cap) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# written by aoki up from %s; aoki-init(8)\n\n[server blkd]\nexec = ", c->file);
	snprintf(prog, sizeof(prog), "%s/aoki-blkd", bindir);
	snprintf(vol, sizeof(vol), "%s=%s", c->volume, c->image);
	put_word(f, prog);
	fprintf(f, "--port %s --quiet --volume ", c->port[0]);
	put_word(f, vol);
	fprintf(f, "%s\nport = %s\n", c->args[STACK_BLKD], c->port[0]);
	put_restart(f, c);

	fprintf(f, "\n[server fsd]\nexec = ");
	snprintf(prog, sizeof(prog), "%s/aoki-fsd", bindir);
	put_word(f, prog);
	fprintf(f, "--port %s --blk-port %s --quiet --volume %s %s\nport = %s\n", c->port[1],
		c->port[0], c->volume, c->args[STACK_FSD], c->port[1]);
	put_restart(f, c);

	if (c->mount[0]) {
		fprintf(f, "\n[server fuse]\nexec = ");
		snprintf(prog, sizeof(prog), "%s/aoki-fuse", bindir);
		put_word(f, prog);
		put_word(f, c->mount);
		fprintf(f, "--port %s -f %s\nrestart = never\nstop-timeout-ms = %u\n", c->port[1],
			c->args[STACK_FUSE], c->stop_timeout_ms);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* The image on first use: `aoki fs mkfs IMAGE SIZE` (mke2fs -t ext4). */
static int image_make(const struct stack_conf *c, int quiet)
{
	char size[32], dir[PATH_MAX], *slash;
	char *argv[] = { "fs", "mkfs", (char *)c->image, size, NULL };
	struct stat st;
	int r;

	if (stat(c->image, &st) == 0) {
		/* Not ext2/3/4: aoki-fsd would exit at every start; say it now. */
		if (stack_image_needs_recovery(c->image) == -EINVAL) {
			fprintf(stderr, "aoki up: %s is not an ext4 image (no ext2/3/4 "
				"superblock); move it away to have a new one made\n", c->image);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "aoki up: %s: %s\n", c->image, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", c->image);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if ((r = stack_mkdir_p(dir)) < 0) {
			fprintf(stderr, "aoki up: %s: %s\n", dir, strerror(-r));
			return -1;
		}
	}
	if (!quiet)
		printf("aoki up: making %s (%llu MiB, ext4)\n", c->image,
		       (unsigned long long)(c->size >> 20));
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->size);
	optind = 0;	/* cmd_fs parses options afresh */
	fflush(stdout);
	if (quiet) {
		int saved = dup(1), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, 1);
		r = cmd_fs(4, argv);
		fflush(stdout);
		if (saved >= 0)
			dup2(saved, 1);
		if (null >= 0)
			close(null);
		if (saved >= 0)
			close(saved);
	} else {
		r = cmd_fs(4, argv);
	}
	if (r != 0) {
		unlink(c->image);
		return -1;
	}
	return 0;
}

/* Fork aoki-init in a session of its own, stderr into stack.log; wait for
 * its READY line.  Returns its pid, or -errno. */
static pid_t init_start(const struct stack_conf *c, const char *bindir, const char *conf)
{
	char init[PATH_MAX + 16], log[PATH_MAX], fdarg[16], buf[8];
	int pfd[2], r;
	struct pollfd p;
	pid_t pid;

	snprintf(init, sizeof(init), "%s/aoki-init", bindir);
	if (stack_path(c, "stack.log", log, sizeof(log)) < 0)
		return -ENAMETOOLONG;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int ready = dup(pfd[1]);	/* off close-on-exec */

		/* Its own session: a terminal's ^C or hang-up does not reach
		 * the stack; aoki down stops it. */
		setsid();
		if (null >= 0)
			dup2(null, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(fdarg, sizeof(fdarg), "%d", ready);
		execl(init, init, "-c", conf, "--run-dir", c->run_dir, "--ready-fd", fdarg,
		      (char *)NULL);
		fprintf(stderr, "aoki up: exec %s: %s\n", init, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	r = poll(&p, 1, 10000) == 1 && read(pfd[0], buf, sizeof(buf)) == 6 &&
	    !memcmp(buf, "READY\n", 6) ? 0 : -ETIMEDOUT;
	close(pfd[0]);
	if (r < 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return r;
	}
	return pid;
}

/* <run dir>/stack.pid: how status and down find aoki-init.  0 or -errno. */
static int write_pid(const struct stack_conf *c, pid_t pid, char *path, size_t cap)
{
	FILE *f;
	int r;

	if (stack_path(c, "stack.pid", path, cap) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	r = fprintf(f, "%d\n", (int)pid) > 0 ? 0 : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Stop what init_start started (a failed aoki up). */
static void init_stop(const struct stack_conf *c, pid_t pid)
{
	char path[PATH_MAX];

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	if (stack_path(c, "stack.pid", path, sizeof(path)) == 0)
		unlink(path);
}

/* Is every part answering?  Prints each the first time it does.  Sets
 * @what to the first part that does not. */
static int all_answer(const struct stack_conf *c, int done[STACK_NSRV], int quiet,
		      const char **what)
{
	for (int s = STACK_BLKD; s <= STACK_FSD; s++) {
		char port[PATH_MAX + 16];
		struct aoki_server_stats st;

		if (done[s])
			continue;
		snprintf(port, sizeof(port), "%s/%s.sock", c->run_dir, c->port[s]);
		if (stack_query(port, 1000, &st, NULL) < 0) {
			*what = s == STACK_BLKD ? "aoki-blkd" : "aoki-fsd";
			return 0;
		}
		done[s] = 1;
		if (!quiet)
			printf("  aoki-%-5s answers (pid %llu, port %s)\n", stack_srv_names[s],
			       (unsigned long long)st.pid, c->port[s]);
	}
	if (c->mount[0] && !done[STACK_FUSE]) {
		char type[64] = "";
		struct stat st;

		if (stack_mounted(c->mount, type, sizeof(type)) != 1 ||
		    strncmp(type, "fuse", 4) || stat(c->mount, &st) < 0) {
			*what = "the aoki-fuse mount";
			return 0;
		}
		done[STACK_FUSE] = 1;
		if (!quiet)
			printf("  aoki-fuse mounted %s (pid %d)\n", c->mount,
			       (int)stack_srv_pid(c, STACK_FUSE));
	}
	return 1;
}

/* Checks before anything starts: not up already, the programs exist,
 * the mount point is free. */
static int preflight(const struct stack_conf *c, const char *bindir)
{
	static const char *const progs[] = { "aoki-init", "aoki-blkd", "aoki-fsd", "aoki-fuse" };
	char path[PATH_MAX + 16];
	pid_t pid = stack_init_pid(c);
	int r;

	if (pid) {
		fprintf(stderr, "aoki up: the stack of %s is already up (aoki-init pid %d); "
			"aoki down first\n", c->file, (int)pid);
		return -1;
	}
	for (int i = 0; i < (c->mount[0] ? 4 : 3); i++) {
		snprintf(path, sizeof(path), "%s/%s", bindir, progs[i]);
		if (access(path, X_OK) < 0) {
			fprintf(stderr, "aoki up: %s: %s (build it: make)\n", path,
				strerror(errno));
			return -1;
		}
	}
	if (c->mount[0]) {
		if ((r = stack_mkdir_p(c->mount)) < 0) {
			fprintf(stderr, "aoki up: mount point %s: %s\n", c->mount, strerror(-r));
			return -1;
		}
		if (stack_mounted(c->mount, NULL, 0) == 1) {
			fprintf(stderr, "aoki up: %s is already a mount point; unmount it first\n",
				c->mount);
			return -1;
		}
	}
	if ((r = stack_mkdir_p(c->run_dir)) < 0) {
		fprintf(stderr, "aoki up: run dir %s: %s\n", c->run_dir, strerror(-r));
		return -1;
	}
	return 0;
}

int stack_up(const struct stack_conf *c, int quiet)
{
	char bindir[PATH_MAX], conf[PATH_MAX], pidpath[PATH_MAX];
	int done[STACK_NSRV] = { 0 }, r, status;
	int64_t t0 = util_now_ns(), deadline;
	const char *what = "the stack";
	pid_t pid;

	if (soak_init_bindir(bindir, sizeof(bindir)) < 0 || preflight(c, bindir) < 0 ||
	    image_make(c, quiet) < 0)
		return 1;
	r = write_init_conf(c, bindir, conf, sizeof(conf));
	if (r < 0) {
		fprintf(stderr, "aoki up: %s: %s\n", conf, strerror(-r));
		return 1;
	}
	if (!quiet)
		printf("aoki up: starting aoki-init (run dir %s, log %s/stack.log)\n", c->run_dir,
		       c->run_dir);
	fflush(stdout);
	pid = init_start(c, bindir, conf);
	if (pid < 0) {
		fprintf(stderr, "aoki up: aoki-init did not start: %s\n", strerror(-pid));
		stack_log_tail(c, 10);
		return 1;
	}
	r = write_pid(c, pid, pidpath, sizeof(pidpath));
	if (r < 0) {
		fprintf(stderr, "aoki up: %s: %s\n", pidpath, strerror(-r));
		init_stop(c, pid);
		return 1;
	}
	deadline = t0 + (int64_t)c->timeout_s * 1000000000;
	while (!all_answer(c, done, quiet, &what)) {
		fflush(stdout);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "aoki up: aoki-init exited (%s %d) before %s answered\n",
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), what);
			stack_log_tail(c, 15);
			unlink(pidpath);
			return 1;
		}
		if (util_now_ns() > deadline) {
			fprintf(stderr, "aoki up: %s did not answer within %u s ([stack] "
				"timeout-s); stopping the stack\n", what, c->timeout_s);
			stack_log_tail(c, 15);
			init_stop(c, pid);
			return 1;
		}
		usleep(20000);
	}
	if (!quiet)
		printf("aoki up: up in %.2f s (aoki-init pid %d); `aoki status -c %s` shows it\n",
		       (double)(util_now_ns() - t0) / 1e9, (int)pid, c->file);
	return 0;
}

static int usage(FILE *f)
{
	fprintf(f, "Usage: aoki up [-c FILE] [--quiet]\n"
		   "Start the stack FILE describes (default %s): make its image on\n"
		   "first use, run aoki-blkd, aoki-fsd and aoki-fuse under aoki-init, and return\n"
		   "once all answer.  See docs/stack.md and aoki(1).\n", STACK_CONF_DEFAULT);
	return f == stdout ? 0 : 2;
}

int cmd_up(int argc, char **argv)
{
	struct stack_conf c;
	int quiet, r = stack_cli(argc, argv, "up", usage, &c, &quiet);

	return r >= 0 ? r : stack_up(&c, quiet);
}
