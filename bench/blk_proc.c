/* SPDX-License-Identifier: MIT */
/* blk_proc.c - `aoki bench blk`: child processes (fio, aoki-blkd,
 * nbdkit) and the CPU they use, the cleanup that signals trigger, and
 * the PATH lookup. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk.h"

struct cleanup bb_cl;

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
 * bb_spawn - start @argv (argv[0] looked up in PATH unless it holds a '/'),
 * its stdout into a new pipe whose read end is stored in *@out_fd (NULL:
 * stdout onto our stderr, so JSON on our stdout stays clean), its stderr
 * into file @errpath (NULL: ours).  Call from the main thread (the child's
 * parent-death signal follows the thread).  Returns the pid, or -errno.
 */
pid_t bb_spawn(char *const argv[], int *out_fd, const char *errpath)
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

/* bb_run_capture - run @argv to its end, stdout into *@out (malloc'd, NUL-
 * terminated, the caller frees), stderr into file @errpath.  Returns the
 * exit code (128+N for signal N), or -errno with *@out NULL. */
int bb_run_capture(char *const argv[], const char *errpath, char **out)
{
	int fd, status, r;
	pid_t pid = bb_spawn(argv, &fd, errpath);

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

/* bb_stop_child - SIGTERM child bb_cl.pid[@which], wait for it (5 s, then
 * SIGKILL); warn if it did not exit with 0.  Nothing when none runs. */
void bb_stop_child(int which)
{
	pid_t pid = bb_cl.pid[which], w;
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
	bb_cl.pid[which] = 0;
	if (w == 0 || exit_code(status))
		bb_err("warning: %s %s (exit code %d)", child_names[which],
		    w == 0 ? "ignored SIGTERM for 5 s, killed" : "exited badly on SIGTERM",
		    exit_code(status));
}

/* bb_child_gone - if child bb_cl.pid[@which] has exited, reap it, report it
 * and return 1; else 0. */
int bb_child_gone(int which)
{
	int status;

	if (waitpid(bb_cl.pid[which], &status, WNOHANG) != bb_cl.pid[which])
		return 0;
	bb_cl.pid[which] = 0;
	bb_err("%s exited (code %d) before serving", child_names[which], exit_code(status));
	return 1;
}

/*
 * bb_proc_cpu_s - the CPU seconds process @pid has used, all its threads
 * (the dead ones too): utime + stime, fields 14 and 15 of /proc/PID/stat,
 * in clock ticks.  The name (field 2) may hold blanks and parentheses, so
 * the fields are counted from its last ')'.  NAN if unreadable.
 */
double bb_proc_cpu_s(pid_t pid)
{
	unsigned long long ut, st;
	char path[48], buf[1024];
	const char *p;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return NAN;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------- cleanup */

void bb_cleanup_files(void)
{
	for (unsigned i = 0; i < sizeof(bb_cl.paths) / sizeof(bb_cl.paths[0]); i++)
		if (bb_cl.paths[i][0])
			unlink(bb_cl.paths[i]);
	if (bb_cl.dir[0])
		rmdir(bb_cl.dir);
	if (bb_cl.file[0])
		unlink(bb_cl.file);
}

/* Async-signal-safe: stop the children, remove our files, die of @sig. */
static void on_signal(int sig)
{
	for (int i = 0; i < 2; i++)
		if (bb_cl.pid[i] > 0)
			kill(bb_cl.pid[i], SIGTERM);
	bb_cleanup_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

void bb_signals_set(struct sigaction *old, int restore)
{
	struct sigaction sa = { .sa_handler = on_signal };

	for (unsigned i = 0; i < 3; i++)
		sigaction(sigs[i], restore ? &old[i] : &sa, restore ? NULL : &old[i]);
}

/* bb_in_path - is @name an executable in $PATH? */
int bb_in_path(const char *name)
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
