/* SPDX-License-Identifier: MIT */
/* spawn.c - start a server with its sockets; its pid file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "init.h"

static void __attribute__((noreturn)) child_fail(const char *what, const char *prog)
{
	init_log("cannot start %s: %s: %s", prog, what, strerror(errno));
	_exit(127);
}

/* Runs in the child, between fork and exec.  aoki-init has one thread,
 * so malloc (setenv) is safe here. */
static void __attribute__((noreturn)) child(char *const argv[], const int *fds, unsigned nfds,
					    const char *fdnames, const char *run_dir,
					    pid_t parent)
{
	int first_free = 3 + (int)nfds, tmp[INIT_MAX_PORTS], nul;
	char num[24];
	sigset_t none;

	/* Blocked signals and SIG_IGN survive exec: give the server the
	 * defaults, not aoki-init's signalfd setup. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Its own session: a terminal's ^C or hang-up reaches aoki-init
	 * only, which then stops the servers in order. */
	setsid();
	/* Do not outlive the supervisor (checked after the prctl: it may
	 * have died before). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	/* The sockets to 3, 4, ...: first all above that range, so that no
	 * dup2 below overwrites a socket not yet moved. */
	for (unsigned i = 0; i < nfds; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, first_free)) < 0)
			child_fail("dup", argv[0]);
	for (unsigned i = 0; i < nfds; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)	/* clears close-on-exec */
			child_fail("dup2", argv[0]);
	if (close_range((unsigned)first_free, ~0u, 0) < 0) {
		for (int fd = first_free; fd < 65536; fd++)
			close(fd);
	}
	nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, STDIN_FILENO) < 0)
		child_fail("/dev/null", argv[0]);
	if (nul > STDERR_FILENO)
		close(nul);
	if (nfds) {
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
		snprintf(num, sizeof(num), "%u", nfds);
		setenv("LISTEN_FDS", num, 1);
		setenv("LISTEN_FDNAMES", fdnames, 1);
	} else {
		/* Never pass on what aoki-init may have been given itself. */
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	setenv("AOKI_RUN_DIR", run_dir, 1);
	if (strchr(argv[0], '/'))
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
	child_fail("exec", argv[0]);
}

pid_t init_spawn(char *const argv[], const int *fds, unsigned nfds,
		 const char *fdnames, const char *run_dir)
{
	pid_t parent = getpid(), pid;

	if (nfds > INIT_MAX_PORTS)
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(argv, fds, nfds, fdnames, run_dir, parent);
	return pid;
}

int init_pidfile_write(const char *run_dir, const char *name, pid_t pid)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%d\n", (int)pid);

	return init_runfile_write(run_dir, name, "pid", text, (size_t)n);
}

void init_pidfile_remove(const char *run_dir, const char *name)
{
	init_runfile_remove(run_dir, name, "pid");
}
