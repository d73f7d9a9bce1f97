/* SPDX-License-Identifier: MIT */
/*
 * demo_tree.c - the files of the stack job (demo_stack.c): copy a git
 * checkout's files (tracked, and untracked but not ignored, as
 * `git ls-files` lists them) into a directory, and one checksum of a
 * tree - names, kinds, modes, link targets and file contents - so that
 * the tree seen through the FUSE mount and through a kernel mount of the
 * same image can be compared.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_tree.h"
#include "stack.h"

#define COPY_BUF (1u << 20)

/* Copy regular file @from (mode @mode) to @to.  0 or -errno. */
static int copy_file(const char *from, const char *to, mode_t mode, char *buf, uint64_t *bytes)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, COPY_BUF)) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));

			if (w < 0) {
				r = -errno;
				goto out;
			}
			done += w;
		}
		*bytes += (uint64_t)n;
	}
	if (n < 0)
		r = -errno;
out:
	if (close(out) < 0 && !r)
		r = -errno;
	close(in);
	return r;
}

/* Copy entry @name (relative) of @src to @dst, parents first. */
static int copy_entry(const char *src, const char *dst, const char *name, char *buf,
		      struct demo_copy *st)
{
	char from[PATH_MAX], to[PATH_MAX], target[PATH_MAX], *slash;
	struct stat sb;
	ssize_t n;
	int r;

	if (snprintf(from, sizeof(from), "%s/%s", src, name) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s", dst, name) >= (int)sizeof(to))
		return -ENAMETOOLONG;
	if (lstat(from, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;	/* deleted, not yet committed */
	slash = strrchr(to, '/');
	*slash = 0;
	r = stack_mkdir_p(to);
	*slash = '/';
	if (r < 0)
		return r;
	if (S_ISLNK(sb.st_mode)) {
		n = readlink(from, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = 0;
		if (symlink(target, to) < 0)
			return -errno;
	} else if (S_ISREG(sb.st_mode)) {
		r = copy_file(from, to, sb.st_mode, buf, &st->bytes);
		if (r < 0)
			return r;
	} else {
		return 0;	/* a submodule or other non-file: not ours */
	}
	st->files++;
	return 0;
}

int demo_copy_tree(const char *src, const char *dst, struct demo_copy *st, char *why,
		   size_t cap)
{
	char *buf = malloc(COPY_BUF), *names = NULL, name[PATH_MAX];
	size_t len = 0, ncap = 0;
	int pfd[2], status, r = 0;
	FILE *f;
	pid_t pid;

	memset(st, 0, sizeof(*st));
	if (!buf || pipe2(pfd, O_CLOEXEC) < 0) {
		free(buf);
		snprintf(why, cap, "out of memory or descriptors");
		return -ENOMEM;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		execlp("git", "git", "-C", src, "ls-files", "-z", "--cached", "--others",
		       "--exclude-standard", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = pid > 0 ? fdopen(pfd[0], "r") : NULL;
	if (!f) {
		close(pfd[0]);
		free(buf);
		snprintf(why, cap, "cannot run git");
		return -ECHILD;
	}
	/* NUL-separated names: getdelim keeps any byte in a name. */
	while (r == 0 && getdelim(&names, &ncap, 0, f) > 0) {
		len = strlen(names);
		if (!len || len >= sizeof(name))
			continue;
		memcpy(name, names, len + 1);
		r = copy_entry(src, dst, name, buf, st);
		if (r < 0)
			snprintf(why, cap, "%s: %s", name, strerror(-r));
	}
	fclose(f);
	free(names);
	free(buf);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) ||
							   WEXITSTATUS(status))) {
		if (r == 0)
			snprintf(why, cap, "git ls-files failed in %s (not a git checkout? git "
				 "missing?)", src);
		return r ? r : -EINVAL;
	}
	if (r == 0 && st->files == 0) {
		snprintf(why, cap, "git ls-files listed no files in %s", src);
		return -ENOENT;
	}
	return r;
}

int demo_tree_sum(const char *dir, char sum[65], uint64_t *entries)
{
	/* Entries (kind, mode, name, link target) then every file's content
	 * hash, both sorted byte-wise; one sha256 of the lot.  The names the
	 * servers keep for themselves are left out: fsd's reply record and
	 * aoki-fuse's directory of unlinked open files, and lost+found. */
	static const char script[] =
		"cd \"$1\" || exit 1; export LC_ALL=C; "
		"skip='-path ./lost+found -o -path ./.aoki-replies -o -path ./.aoki-orphans'; "
		"{ find . \\( $skip \\) -prune -o -printf '%y %m %p %l\\n' | sort; "
		"  find . \\( $skip \\) -prune -o -type f -print0 | sort -z | "
		"  xargs -0 -r sha256sum; } > \"$2\" && "
		"sha256sum < \"$2\" | cut -c1-64 && wc -l < \"$2\"";
	char list[] = "/tmp/aoki-demo-sum.XXXXXX", out[128];
	int fd = mkstemp(list), pfd[2], status = 0;
	unsigned long long n = 0;
	ssize_t got;
	pid_t pid;

	if (fd < 0)
		return -errno;
	close(fd);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		unlink(list);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		execl("/bin/sh", "sh", "-c", script, "sh", dir, list, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	/* Two processes write (sha256sum, then wc): read to the end. */
	got = 0;
	while (pid > 0 && (size_t)got < sizeof(out) - 1) {
		ssize_t part = read(pfd[0], out + got, sizeof(out) - 1 - (size_t)got);

		if (part < 0 && errno == EINTR)
			continue;
		if (part <= 0)
			break;
		got += part;
	}
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	unlink(list);
	if (pid < 0 || got < 66 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	out[got] = 0;
	memcpy(sum, out, 64);
	sum[64] = 0;
	sscanf(out + 65, "%llu", &n);
	/* Two lines per file (entry and content), one per other entry. */
	*entries = n;
	return 0;
}
