/* SPDX-License-Identifier: MIT */
/*
 * fs.c - `aoki fs [--port NAME] <command> ...`: tools for aoki-fsd.
 * mkfs and fsck run Debian's e2fsprogs on an image file; the others talk
 * to a running server through <aoki/fs.h>.  Commands dispatch through a
 * table, which also gives each its usage text.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aoki/fs.h"
#include "commands.h"
#include "size.h"

#define COPY_CHUNK (1u << 20)	/* bytes per put/get/cat request */

struct fs_cmd {
	const char *name;
	int (*fn)(struct aoki_fs *fs, int argc, char **argv);	/* argv[0]: the command */
	int needs_server;
	int min_args, max_args;	/* operands after the options */
	const char *synopsis;
	const char *help;
};

static const char *port = AOKI_FS_PORT;

/* ---------------------------------------------------- e2fsprogs (no server) */

/* Run @argv; its exit status, or -errno if it could not be started
 * (-ENOENT: not installed). */
static int run_prog(char *const argv[])
{
	int pfd[2], status, err = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		close(pfd[0]);
		execvp(argv[0], argv);
		err = errno;
		(void)!write(pfd[1], &err, sizeof(err));
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &err, sizeof(err)) != sizeof(err))
		err = 0;	/* closed by exec: it started */
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (err)
		return -err;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void missing(const char *prog, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "aoki fs: %s not found: install e2fsprogs (Debian: apt-get install "
			"e2fsprogs)\n", prog);
	else
		fprintf(stderr, "aoki fs: cannot run %s: %s\n", prog, strerror(-err));
}

static int fs_mkfs(struct aoki_fs *fs, int argc, char **argv)
{
	uint64_t size = 1ull << 30;
	const char *image = argv[1];
	struct stat st;
	int fd, r;

	if (argc > 2 && (util_parse_size(argv[2], &size) < 0 || size < (1u << 20) ||
			 size % 4096)) {
		fprintf(stderr, "aoki fs mkfs: size %s: expected a multiple of 4096 bytes, at "
			"least 1M, e.g. 64M, 1G\n", argv[2]);
		return 2;
	}
	fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) < 0)) {
		fprintf(stderr, "aoki fs mkfs: %s: %s\n", image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	r = run_prog((char *const[]){ "mke2fs", "-q", "-t", "ext4", "-b", "4096", "-F",
				      (char *)image, NULL });
	if (r < 0) {
		missing("mke2fs", r);
		return 1;
	}
	if (r) {
		fprintf(stderr, "aoki fs mkfs: mke2fs failed (exit %d)\n", r);
		return 1;
	}
	printf("%s: ext4, 4096-byte blocks\n", image);
	return 0;
}

static int fs_fsck(struct aoki_fs *fs, int argc, char **argv)
{
	static const struct { int bit; const char *what; } bits[] = {
		{ 1, "errors were corrected" }, { 2, "the system should be rebooted" },
		{ 4, "errors were left uncorrected" }, { 8, "operational error" },
		{ 16, "usage or syntax error" }, { 32, "cancelled by the user" },
		{ 128, "shared library error" },
	};
	int r = run_prog((char *const[]){ "e2fsck", "-fn", argv[1], NULL });

	if (r < 0) {
		missing("e2fsck", r);
		return 8;
	}
	if (r == 0) {
		printf("aoki fs fsck: %s: clean (e2fsck -fn found no errors)\n", argv[1]);
		return 0;
	}
	fprintf(stderr, "aoki fs fsck: %s: e2fsck exit %d:", argv[1], r);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (r & bits[i].bit)
			fprintf(stderr, " %s;", bits[i].what);
	fprintf(stderr, " see e2fsck(8)\n");
	return r;
}

/* ------------------------------------------------------------ server */

static int fail(const char *cmd, const char *path, int err)
{
	fprintf(stderr, "aoki fs %s: %s: %s\n", cmd, path, strerror(-err));
	return 1;
}

static void mode_string(mode_t m, char s[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";
	const char *rwx = "rwxrwxrwx";

	s[0] = types[(m >> 12) & 15];
	for (int i = 0; i < 9; i++)
		s[i + 1] = m & (0400 >> i) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = m & S_IXUSR ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = m & S_IXGRP ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = m & S_IXOTH ? 't' : 'T';
	s[10] = 0;
}

/* One `ls -l` line for @path, shown as @name. */
static int long_line(struct aoki_fs *fs, const char *path, const char *name)
{
	char mode[11], when[32], target[AOKI_FS_PATH_MAX];
	struct stat st;
	struct tm tm;
	ssize_t n = 0;
	int r = aoki_fs_lstat(fs, path, &st);

	if (r < 0)
		return r;
	mode_string(st.st_mode, mode);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&st.st_mtime, &tm));
	if (S_ISLNK(st.st_mode))
		n = aoki_fs_readlink(fs, path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	printf("%s %3lu %5u %5u %10lld %s %s%s%s\n", mode, (unsigned long)st.st_nlink,
	       st.st_uid, st.st_gid, (long long)st.st_size, when, name, n > 0 ? " -> " : "",
	       target);
	return 0;
}

static int fs_ls(struct aoki_fs *fs, int argc, char **argv)
{
	int longfmt = argc > 1 && !strcmp(argv[1], "-l");
	const char *path = argc > 1 + longfmt ? argv[1 + longfmt] : "/";
	struct aoki_fs_dirent ent;
	struct aoki_fs_dir *d;
	int r = aoki_fs_opendir(fs, path, &d);

	if (r == -ENOTDIR)	/* a file: list it alone */
		return longfmt ? (long_line(fs, path, path) < 0) : (puts(path), 0);
	if (r < 0)
		return fail("ls", path, r);
	while ((r = aoki_fs_readdir(d, &ent)) > 0) {
		char full[AOKI_FS_PATH_MAX];

		if (!longfmt) {
			puts(ent.name);
			continue;
		}
		if (snprintf(full, sizeof(full), "%s%s%s", path,
			     path[strlen(path) - 1] == '/' ? "" : "/", ent.name) >= (int)sizeof(full) ||
		    long_line(fs, full, ent.name) < 0)
			printf("?????????? %s\n", ent.name);
	}
	aoki_fs_closedir(d);
	return r < 0 ? fail("ls", path, r) : 0;
}

/* Copy from descriptor @in (server: @sin) to @out (server: @sout) through an
 * aoki_fs_alloc buffer.  One of the two is on the server, the other local. */
static int copy(struct aoki_fs *fs, int in, int sin, int out, int sout)
{
	void *buf;
	int r = aoki_fs_alloc(fs, COPY_CHUNK, &buf);

	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = sin ? aoki_fs_read(fs, in, buf, COPY_CHUNK)
				: read(in, buf, COPY_CHUNK);

		if (n < 0 && !sin && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? (sin ? (int)n : -errno) : 0;
			break;
		}
		for (ssize_t done = 0, w; done < n; done += w) {
			w = sout ? aoki_fs_write(fs, out, (char *)buf + done, (size_t)(n - done))
				 : write(out, (char *)buf + done, (size_t)(n - done));
			if (w < 0 && !sout && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				r = w < 0 ? (sout ? (int)w : -errno) : -EIO;
				goto out;
			}
		}
	}
out:
	aoki_fs_free(fs, buf);
	return r;
}

static int fs_cat(struct aoki_fs *fs, int argc, char **argv)
{
	int fd = aoki_fs_open(fs, argv[1], O_RDONLY, 0), r;

	if (fd < 0)
		return fail("cat", argv[1], fd);
	r = copy(fs, fd, 1, STDOUT_FILENO, 0);
	aoki_fs_close(fs, fd);
	return r < 0 ? fail("cat", argv[1], r) : 0;
}

static int fs_put(struct aoki_fs *fs, int argc, char **argv)
{
	struct stat st;
	int in = open(argv[1], O_RDONLY | O_CLOEXEC), fd, r;

	if (in < 0 || fstat(in, &st) < 0) {
		r = -errno;
		if (in >= 0)
			close(in);
		return fail("put", argv[1], r);
	}
	fd = aoki_fs_open(fs, argv[2], O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 0777);
	if (fd < 0) {
		close(in);
		return fail("put", argv[2], fd);
	}
	r = copy(fs, in, 0, fd, 1);
	if (r == 0)
		r = aoki_fs_fsync(fs, fd);
	aoki_fs_close(fs, fd);
	close(in);
	return r < 0 ? fail("put", argv[2], r) : 0;
}

static int fs_get(struct aoki_fs *fs, int argc, char **argv)
{
	int fd = aoki_fs_open(fs, argv[1], O_RDONLY, 0), out, r;

	if (fd < 0)
		return fail("get", argv[1], fd);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		r = -errno;
		aoki_fs_close(fs, fd);
		return fail("get", argv[2], r);
	}
	r = copy(fs, fd, 1, out, 0);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && r == 0)
		r = -errno;
	aoki_fs_close(fs, fd);
	return r < 0 ? fail("get", argv[2], r) : 0;
}

static int fs_stat(struct aoki_fs *fs, int argc, char **argv)
{
	static const char *const kinds[16] = {
		[S_IFREG >> 12] = "regular file", [S_IFDIR >> 12] = "directory",
		[S_IFLNK >> 12] = "symbolic link", [S_IFIFO >> 12] = "fifo",
		[S_IFSOCK >> 12] = "socket", [S_IFCHR >> 12] = "character device",
		[S_IFBLK >> 12] = "block device",
	};
	const struct timespec *t[3];
	const char *tn[3] = { "Access", "Modify", "Change" };
	struct stat st;
	char mode[11];
	int r = aoki_fs_lstat(fs, argv[1], &st);

	if (r < 0)
		return fail("stat", argv[1], r);
	t[0] = &st.st_atim;
	t[1] = &st.st_mtim;
	t[2] = &st.st_ctim;
	mode_string(st.st_mode, mode);
	printf("  File: %s\n  Size: %lld\tBlocks: %lld\tIO Block: %ld\t%s\n"
	       "Inode: %llu\tLinks: %lu\n"
	       "Access: (%04o/%s)  Uid: %u  Gid: %u\n",
	       argv[1], (long long)st.st_size, (long long)st.st_blocks, (long)st.st_blksize,
	       kinds[(st.st_mode >> 12) & 15] ? kinds[(st.st_mode >> 12) & 15] : "unknown",
	       (unsigned long long)st.st_ino, (unsigned long)st.st_nlink,
	       st.st_mode & 07777, mode, st.st_uid, st.st_gid);
	for (int i = 0; i < 3; i++) {
		char when[64];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t[i]->tv_sec, &tm));
		printf("%s: %s.%09ld\n", tn[i], when, t[i]->tv_nsec);
	}
	return 0;
}

static int fs_mkdir(struct aoki_fs *fs, int argc, char **argv)
{
	int r = aoki_fs_mkdir(fs, argv[1], 0777);

	return r < 0 ? fail("mkdir", argv[1], r) : 0;
}

static int fs_rm(struct aoki_fs *fs, int argc, char **argv)
{
	int r = aoki_fs_unlink(fs, argv[1]);

	if (r == -EISDIR || r == -EPERM)	/* a directory: rmdir */
		r = aoki_fs_rmdir(fs, argv[1]);
	return r < 0 ? fail("rm", argv[1], r) : 0;
}

static int fs_df(struct aoki_fs *fs, int argc, char **argv)
{
	struct statvfs v;
	int r = aoki_fs_statvfs(fs, &v);
	double k;

	if (r < 0)
		return fail("df", port, r);
	k = v.f_frsize / 1024.0;
	printf("%-12s %12s %12s %12s %5s %10s %10s\n", "Port", "1K-blocks", "Used", "Available",
	       "Use%", "Inodes", "IFree");
	printf("%-12s %12.0f %12.0f %12.0f %4.0f%% %10llu %10llu\n", port, v.f_blocks * k,
	       (v.f_blocks - v.f_bfree) * k, v.f_bavail * k,
	       v.f_blocks ? 100.0 * (double)(v.f_blocks - v.f_bfree) / (double)v.f_blocks : 0.0,
	       (unsigned long long)v.f_files, (unsigned long long)v.f_ffree);
	return 0;
}

static const struct fs_cmd cmds[] = {
	{ "mkfs", fs_mkfs, 0, 1, 2, "IMAGE [SIZE]",
	  "make IMAGE (created, or extended to SIZE; default 1G) an ext4 file system\n"
	  "with Debian's mke2fs -q -t ext4 -b 4096 -F" },
	{ "fsck", fs_fsck, 0, 1, 1, "IMAGE",
	  "check IMAGE with e2fsck -fn (read-only); exits with e2fsck's status" },
	{ "ls", fs_ls, 1, 0, 2, "[-l] [PATH]", "list a directory (default /); -l: long format" },
	{ "cat", fs_cat, 1, 1, 1, "PATH", "write a file to standard output" },
	{ "put", fs_put, 1, 2, 2, "LOCAL PATH", "copy local file LOCAL to PATH, then fsync" },
	{ "get", fs_get, 1, 2, 2, "PATH LOCAL", "copy PATH to local file LOCAL" },
	{ "stat", fs_stat, 1, 1, 1, "PATH", "show a file's attributes (not following a link)" },
	{ "mkdir", fs_mkdir, 1, 1, 1, "PATH", "make a directory (mode 0777 less the umask)" },
	{ "rm", fs_rm, 1, 1, 1, "PATH", "remove a file, or an empty directory" },
	{ "df", fs_df, 1, 0, 0, "", "show the file system's size and free space" },
};

static int usage(FILE *f)
{
	fprintf(f, "Usage: aoki fs [--port NAME] <command> [<args>]\n\n"
		   "Tools for aoki-fsd; NAME is its port (default \"fs\").  Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].synopsis);
	fprintf(f, "`aoki fs <command> --help` describes each.  See aoki(1), aoki_fs(3).\n");
	return f == stdout ? 0 : 2;
}

static int cmd_usage(const struct fs_cmd *c, FILE *f)
{
	fprintf(f, "Usage: aoki fs [--port NAME] %s %s\n%s.\n", c->name, c->synopsis, c->help);
	return f == stdout ? 0 : 2;
}

int cmd_fs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const struct fs_cmd *c = NULL;
	struct aoki_fs *fs = NULL;
	int opt, nargs, r;

	/* "+": options stop at the command. */
	while ((opt = getopt_long(argc, argv, "+p:h", longopts, NULL)) != -1) {
		if (opt == 'p')
			port = optarg;
		else
			return usage(opt == 'h' ? stdout : stderr);
	}
	if (optind >= argc)
		return usage(stderr);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			c = &cmds[i];
	if (!c) {
		fprintf(stderr, "aoki fs: unknown command '%s'\n", argv[optind]);
		return usage(stderr);
	}
	argc -= optind;
	argv += optind;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return cmd_usage(c, stdout);
	nargs = argc - 1;
	if (c->fn == fs_ls && nargs && !strcmp(argv[1], "-l"))
		nargs--;	/* ls's one option */
	if (nargs < c->min_args || nargs > c->max_args || (c->fn == fs_ls && nargs > 1))
		return cmd_usage(c, stderr);
	if (c->needs_server) {
		r = aoki_fs_mount(port, NULL, &fs);
		if (r < 0) {
			fprintf(stderr, "aoki fs %s: port %s: %s\n", c->name, port,
				r == -ENOENT || r == -ECONNREFUSED ? "no aoki-fsd on the port"
								   : strerror(-r));
			return 1;
		}
	}
	r = c->fn(fs, argc, argv);
	aoki_fs_unmount(fs);
	return r;
}
