/* SPDX-License-Identifier: MIT */
/* soak_init.c - run aoki-init with the servers of a soak (see soak.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "soak.h"

int soak_init_bindir(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	return 0;
}

/* Write server @srv's section to @f: every "%s" in its exec line stands
 * for the run directory. */
static void write_server(FILE *f, const struct soak_init *si, const struct soak_server *srv,
			 unsigned max_crashes)
{
	const char *exec = srv->exec, *hole;

	fprintf(f, "[server %s]\nexec = ", srv->name);
	while ((hole = strstr(exec, "%s"))) {
		fprintf(f, "%.*s%s", (int)(hole - exec), exec, si->dir);
		exec = hole + 2;
	}
	fputs(exec, f);
	/* The first restart is immediate (the stall is what we measure);
	 * repeated crashes back off a little, never much: the soak kills
	 * on purpose, so give up only far beyond the kills it will make. */
	fprintf(f, "\n"
		"port = %s\n"
		"restart = on-failure\n"
		"backoff-min-ms = 0\n"
		"backoff-max-ms = 20\n"
		"backoff-reset-ms = 1\n"
		"crash-limit = %u\n"
		"crash-window-s = 1\n"
		"stop-timeout-ms = 5000\n",
		srv->port, max_crashes > 1000 ? 1000 : max_crashes);
}

static int write_config(const struct soak_init *si, const struct soak_server *srv, unsigned n,
			unsigned max_crashes, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/init.conf", si->dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# written by aoki soak\n");
	for (unsigned i = 0; i < n; i++)
		write_server(f, si, &srv[i], max_crashes);
	return fclose(f) == 0 ? 0 : -errno;
}

int soak_init_start(struct soak_init *si, const char *name, const char *exec,
		    const char *port, unsigned max_crashes)
{
	const struct soak_server srv = { .name = name, .exec = exec, .port = port };

	return soak_init_start_servers(si, &srv, 1, max_crashes);
}

int soak_init_start_servers(struct soak_init *si, const struct soak_server *srv, unsigned n,
			    unsigned max_crashes)
{
	char bindir[PATH_MAX], init[PATH_MAX + 16], conf[PATH_MAX + 16], fdarg[16], buf[16];
	const char *tmp = getenv("TMPDIR");
	struct pollfd p;
	int pipefd[2], r;

	memset(si, 0, sizeof(*si));
	si->pid = -1;
	snprintf(si->server, sizeof(si->server), "%s", srv[0].name);
	snprintf(si->dir, sizeof(si->dir), "%s/aoki-soak.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(si->dir)) {
		r = -errno;
		fprintf(stderr, "aoki soak: mkdtemp %s: %s\n", si->dir, strerror(-r));
		return r;
	}
	r = soak_init_bindir(bindir, sizeof(bindir));
	if (r == 0)
		r = write_config(si, srv, n, max_crashes, conf, sizeof(conf));
	if (r < 0) {
		fprintf(stderr, "aoki soak: %s: %s\n", si->dir, strerror(-r));
		return r;
	}
	snprintf(init, sizeof(init), "%s/aoki-init", bindir);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	si->pid = fork();
	if (si->pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (si->pid == 0) {
		/* The ready pipe must survive exec: move it off close-on-exec. */
		int fd = dup(pipefd[1]), log;
		char logpath[PATH_MAX + 16];

		/* aoki-init's and the server's log lines go to a file, not
		 * between the soak's own lines. */
		snprintf(logpath, sizeof(logpath), "%s/init.log", si->dir);
		log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log >= 0)
			dup2(log, 2);

		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		execl(init, init, "-c", conf, "--run-dir", si->dir, "--ready-fd", fdarg,
		      (char *)NULL);
		fprintf(stderr, "aoki soak: exec %s: %s\n", init, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	p = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	r = poll(&p, 1, 5000) == 1 && read(pipefd[0], buf, sizeof(buf)) == 6 &&
	    !memcmp(buf, "READY\n", 6) ? 0 : -ETIMEDOUT;
	close(pipefd[0]);
	if (r < 0) {
		fprintf(stderr, "aoki soak: %s did not become ready\n", init);
		soak_init_stop(si);
	}
	return r;
}

pid_t soak_init_server_pid(const struct soak_init *si)
{
	return soak_init_pid_of(si, si->server);
}

pid_t soak_init_pid_of(const struct soak_init *si, const char *name)
{
	char path[PATH_MAX + 80], text[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%.64s.pid", si->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	text[n] = 0;
	return (pid_t)atoi(text) > 0 ? (pid_t)atoi(text) : -ENOENT;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Remove the run directory and what is in it (sockets, pid files, the
 * log, the server's state/), deepest first, without a shell. */
static void remove_dir(const char *dir)
{
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "aoki soak: could not remove %s: %s\n", dir, strerror(errno));
}

int soak_init_stop(struct soak_init *si)
{
	int status = 0;

	if (si->pid > 0) {
		kill(si->pid, SIGTERM);
		while (waitpid(si->pid, &status, 0) < 0 && errno == EINTR)
			;
		si->pid = -1;
	}
	if (si->dir[0] && !getenv("AOKI_SOAK_KEEP") && !si->keep)
		remove_dir(si->dir);
	else if (si->dir[0])
		fprintf(stderr, "aoki soak: logs and state kept in %s (init.log)\n", si->dir);
	return status;
}
