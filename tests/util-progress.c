/* SPDX-License-Identifier: MIT */
/*
 * util-progress: the progress line of the benchmarks and soaks
 * (lib/util/progress.h).  With stderr not a terminal (a file here)
 * nothing at all is written; on a terminal (a pseudo-terminal 30 columns
 * wide) each line is "\r" + the text cut to 29 columns + erase-to-end,
 * and util_progress_end erases it once.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"
#include "progress.h"

/* Point stderr at @fd; returns the old stderr. */
static int redirect(int fd)
{
	int old = dup(STDERR_FILENO);

	CHECK(old >= 0);
	fflush(stderr);
	CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	return old;
}

static void restore(int old)
{
	fflush(stderr);
	CHECK(dup2(old, STDERR_FILENO) == STDERR_FILENO);
	close(old);
}

/*
 * Read what the terminal got into @buf (at most @cap bytes), until @want
 * bytes came or nothing more comes for a second.  One read() is not
 * enough: the pty hands written bytes to the master side from a kernel
 * work item, so a read can return before the last write arrived (CI got
 * 45 of the 49 bytes once).
 */
static ssize_t read_terminal(int master, char *buf, size_t cap, size_t want)
{
	struct pollfd pfd = { .fd = master, .events = POLLIN };
	size_t got = 0;

	while (got < want && got < cap && poll(&pfd, 1, 1000) == 1) {
		ssize_t n = read(master, buf + got, cap - got);

		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

int main(void)
{
	char path[] = "/tmp/aoki-util-progress-XXXXXX", buf[256];
	struct winsize ws = { .ws_row = 24, .ws_col = 30 };
	const char *want = "\rstep 1/2: 0123456789abcdefghi\033[K"
			   "\rstep 2/2\033[K"
			   "\r\033[K";
	int fd, old, master, slave;
	ssize_t n;

	/* Not a terminal: silent. */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	old = redirect(fd);
	util_progress("step %d/%d", 1, 2);
	util_progress_end();
	restore(old);
	CHECK_EQ(util_progress_shown(), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 0);
	close(fd);

	/* A terminal: one line, rewritten, cut to the width, erased. */
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		t_skip("no pseudo-terminals here");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(slave >= 0);
	CHECK_EQ(ioctl(slave, TIOCSWINSZ, &ws), 0);
	old = redirect(slave);
	util_progress("step %d/%d: %s", 1, 2, "0123456789abcdefghijklmnopqrstuvwxyz");
	util_progress("step %d/%d", 2, 2);
	CHECK_EQ(util_progress_shown(), 1);
	util_progress_end();
	util_progress_end();		/* once only */
	restore(old);
	CHECK_EQ(util_progress_shown(), 0);
	n = read_terminal(master, buf, sizeof(buf) - 1, strlen(want));
	buf[n] = 0;
	if (strcmp(buf, want)) {
		fprintf(stderr, "terminal got %zd bytes:", n);
		for (ssize_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", (unsigned char)buf[i]);
		fprintf(stderr, "\n");
		return T_EXIT_FAIL;
	}
	close(slave);
	close(master);
	return T_EXIT_PASS;
}
