/* SPDX-License-Identifier: MIT */
/* log.c - aoki-init's log: timestamped lines on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

void init_log(const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ld aoki-init[%d]: ",
			      ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n == sizeof(line) - 1)
		n--;	/* truncated: keep room for the newline */
	line[n++] = '\n';
	/* One write: a line is never split by a child's output. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* A log that cannot be written is no reason to stop supervising. */
	}
	errno = saved;
}

const char *init_wait_status(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status)) {
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);

		snprintf(buf, cap, "killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
			 WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		snprintf(buf, cap, "changed state (wait status 0x%x)", (unsigned)status);
	}
	return buf;
}
