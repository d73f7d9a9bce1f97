/* SPDX-License-Identifier: MIT */
/*
 * stack_down.c - `aoki down`: SIGTERM aoki-init, which stops the servers
 * in reverse order (aoki-fuse unmounts, aoki-fsd commits, checkpoints and
 * clears needs_recovery while aoki-blkd still serves, aoki-blkd last);
 * wait for it with a deadline; remove a FUSE mount left behind by an
 * aoki-fuse that died; then read the image's superblock to confirm it
 * was left clean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "stack.h"

/* A FUSE mount whose process is gone answers ENOTCONN to everything:
 * detach it (root), or ask fusermount3 (a user's mount). */
static void unmount_stale(const struct stack_conf *c)
{
	char type[64] = "";
	int r;

	if (!c->mount[0] || stack_mounted(c->mount, type, sizeof(type)) != 1 ||
	    strncmp(type, "fuse", 4))
		return;
	r = umount2(c->mount, MNT_DETACH);
	if (r < 0) {
		pid_t pid = fork();

		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-z", c->mount, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	if (stack_mounted(c->mount, NULL, 0) == 1)
		fprintf(stderr, "aoki down: %s is still mounted; unmount it by hand "
			"(fusermount3 -u %s)\n", c->mount, c->mount);
	else
		printf("aoki down: removed the FUSE mount left at %s\n", c->mount);
}

/* Wait up to @ms for @pid to exit; reap it if it is our child (aoki up
 * and aoki down in one process: make run).  Returns 1 when it is gone. */
static int wait_gone(pid_t pid, int64_t ms)
{
	int64_t end = util_now_ns() + ms * 1000000;
	int fd = pidfd_open(pid, 0), gone = 0;

	while (!gone && util_now_ns() < end) {
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			gone = poll(&p, 1, 100) == 1;
		} else {
			gone = kill(pid, 0) < 0 && errno == ESRCH;
			if (!gone)
				usleep(20000);
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			gone = 1;
	}
	if (fd >= 0)
		close(fd);
	return gone;
}

int stack_down(const struct stack_conf *c, int quiet)
{
	/* Each server gets stop_timeout_ms before SIGKILL, one at a time. */
	int64_t limit_ms = 3 * (int64_t)c->stop_timeout_ms + 5000, t0 = util_now_ns();
	pid_t pid = stack_init_pid(c);
	char path[PATH_MAX];
	int r, ret = 0;

	if (!pid) {
		unmount_stale(c);
		if (!quiet)
			printf("aoki down: the stack of %s is not up\n", c->file);
		/* It may have crashed as a whole: say what the image needs. */
		if (stack_image_needs_recovery(c->image) == 1) {
			fprintf(stderr, "aoki down: %s says needs_recovery: the stack did not stop "
				"cleanly; the next aoki up replays the journal\n", c->image);
			return 1;
		}
		return 0;
	}
	if (!quiet)
		printf("aoki down: stopping aoki-init (pid %d) and its servers\n", (int)pid);
	fflush(stdout);
	kill(pid, SIGTERM);
	if (!wait_gone(pid, limit_ms)) {
		fprintf(stderr, "aoki down: aoki-init (pid %d) did not stop within %lld ms: "
			"SIGKILL (its servers get SIGTERM)\n", (int)pid, (long long)limit_ms);
		stack_log_tail(c, 15);
		kill(pid, SIGKILL);
		wait_gone(pid, 5000);
		ret = 1;
	}
	unmount_stale(c);
	if (stack_path(c, "stack.pid", path, sizeof(path)) == 0)
		unlink(path);
	if (stack_path(c, "stack-init.conf", path, sizeof(path)) == 0)
		unlink(path);
	r = stack_image_needs_recovery(c->image);
	if (r < 0) {
		fprintf(stderr, "aoki down: %s: cannot read its superblock: %s\n", c->image,
			strerror(-r));
		return 1;
	}
	if (r) {
		fprintf(stderr, "aoki down: %s still says needs_recovery: aoki-fsd did not stop "
			"cleanly (see %s/stack.log); the journal is replayed at the next start\n",
			c->image, c->run_dir);
		stack_log_tail(c, 15);
		return 1;
	}
	if (!quiet)
		printf("aoki down: stopped in %.2f s; %s is clean (journal checkpointed, "
		       "needs_recovery off)\n", (double)(util_now_ns() - t0) / 1e9, c->image);
	return ret;
}

static int usage(FILE *f)
{
	fprintf(f, "Usage: aoki down [-c FILE] [--quiet]\n"
		   "Stop the stack FILE describes (default %s): unmount, stop aoki-fsd\n"
		   "(journal checkpointed, needs_recovery cleared) and aoki-blkd, and check the\n"
		   "image's superblock.  Exit status 0 (also when it was not up), 1 when it did\n"
		   "not stop cleanly or the image needs recovery, 2 for bad usage.\n",
		STACK_CONF_DEFAULT);
	return f == stdout ? 0 : 2;
}

int cmd_down(int argc, char **argv)
{
	struct stack_conf c;
	int quiet, r = stack_cli(argc, argv, "down", usage, &c, &quiet);

	return r >= 0 ? r : stack_down(&c, quiet);
}
