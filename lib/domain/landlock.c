/* SPDX-License-Identifier: MIT */
/*
 * landlock.c - the hardening mode's file-system rule: no process of the
 * program opens /proc/<pid>/mem (any spelling: /proc/self/mem,
 * /proc/thread-self/mem, /proc/<pid>/task/<tid>/mem, /proc/<tid>/mem, in
 * any procfs mount), whose accesses ignore PKRU.  seccomp cannot see a
 * path, Landlock can.
 *
 * Landlock grants by allow-list: the ruleset handles only READ_FILE and
 * WRITE_FILE (every other right stays unrestricted: listing directories,
 * creating, removing, executing) and allows them beneath
 *   - every entry of every directory on the way from / to a procfs mount
 *     point (normally just /: its entries but /proc),
 *   - every entry of a procfs mount but the numeric ones (the per-process
 *     and per-thread directories; self and thread-self are symlinks into
 *     them),
 *   - every entry of this process's own directory (the one /proc/self
 *     names) but "mem" and "task".
 * Landlock applies to the calling thread and the threads and processes it
 * creates afterwards, so the caller must be the only thread (checked:
 * -EBUSY).  Rules hold inodes; procfs makes a new inode whenever it looks
 * a name up again after its dentry was reclaimed, so the O_PATH
 * descriptors of the procfs rules stay open (close-on-exec) to pin them.
 * Closing them only makes more opens fail.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define LL_ACCESS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)
#define LL_MAX_PROC 16		/* procfs mounts handled */
#define LL_MAX_PIN 512		/* procfs rule descriptors kept open */

struct ll {
	int ruleset;
	char proc[LL_MAX_PROC][PATH_MAX];	/* procfs mount points */
	unsigned nproc;
	struct stat self;	/* what /proc/self names */
	bool have_self;
};

/* The pinned descriptors (trusted runtime state, never read again). */
static int ll_pin[LL_MAX_PIN];
static unsigned ll_npin;

static int add_rule(struct ll *l, int fd)
{
	struct landlock_path_beneath_attr a = { .allowed_access = LL_ACCESS, .parent_fd = fd };
	/* Both rights apply to files, so the rule is valid on any inode. */
	if (syscall(SYS_landlock_add_rule, l->ruleset, LANDLOCK_RULE_PATH_BENEATH, &a, 0))
		return -errno;
	return 0;
}

/* Open @name in @dfd as O_PATH without following it; -1 for symlinks
 * (a path walk never passes through one) and vanished entries. */
static int open_entry(int dfd, const char *name)
{
	struct stat st;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || S_ISLNK(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Calls @fn(@l, dfd, name, ctx) for each entry of @dfd but . and .. */
static int each_entry(struct ll *l, int dfd, int (*fn)(struct ll *, int, const char *, const char *),
		      const char *ctx)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = fn(l, dfd, e->d_name, ctx);
	}
	closedir(d);
	return r;
}

/* A procfs rule: keep the descriptor open (see the top). */
static int add_pinned(struct ll *l, int fd)
{
	int r;

	if (ll_npin == LL_MAX_PIN) {
		close(fd);
		return -E2BIG;
	}
	r = add_rule(l, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	ll_pin[ll_npin++] = fd;
	return 0;
}

/* Inside this process's own directory: everything but mem and task. */
static int self_entry(struct ll *l, int dfd, const char *name, const char *ctx)
{
	int fd;

	(void)ctx;
	if (!strcmp(name, "mem") || !strcmp(name, "task"))
		return 0;
	fd = open_entry(dfd, name);
	return fd < 0 ? 0 : add_pinned(l, fd);
}

/* Inside a procfs mount: everything but the per-process directories. */
static int proc_entry(struct ll *l, int dfd, const char *name, const char *ctx)
{
	struct stat st;
	int fd, r;

	(void)ctx;
	if (!numeric(name)) {
		fd = open_entry(dfd, name);
		return fd < 0 ? 0 : add_pinned(l, fd);
	}
	if (!l->have_self || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    st.st_dev != l->self.st_dev || st.st_ino != l->self.st_ino)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = each_entry(l, fd, self_entry, NULL);
	close(fd);
	return r;
}

/* Is @path (absolute, not "/", no trailing slash) @m or a directory
 * above it? */
static bool leads_to(const char *path, const char *m)
{
	size_t n = strlen(path);

	return !strncmp(path, m, n) && (m[n] == '/' || m[n] == 0);
}

static int tree_entry(struct ll *l, int dfd, const char *name, const char *dir);

/* A directory on the way to a procfs mount (@path), or the mount itself. */
static int walk(struct ll *l, int dfd, const char *path)
{
	for (unsigned i = 0; i < l->nproc; i++)
		if (!strcmp(path, l->proc[i]))
			return each_entry(l, dfd, proc_entry, NULL);
	return each_entry(l, dfd, tree_entry, path);
}

static int tree_entry(struct ll *l, int dfd, const char *name, const char *dir)
{
	char path[PATH_MAX];
	bool on_way = false;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (unsigned i = 0; i < l->nproc; i++)
		on_way |= leads_to(path, l->proc[i]);
	fd = open_entry(dfd, name);
	if (fd < 0)
		return 0;
	if (on_way) {
		int dir_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		close(fd);
		if (dir_fd < 0)
			return 0;	/* not a directory: nothing beneath it */
		r = walk(l, dir_fd, path);
		close(dir_fd);
		return r;
	}
	r = add_rule(l, fd);
	close(fd);
	return r;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* Fills l->proc with the mount points of every procfs mount. */
static int find_proc_mounts(struct ll *l)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return -EPERM;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char *save, *tok, *mnt = NULL;
		int i = 0;
		bool sep = false;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
			if (i == 4)
				mnt = tok;
			else if (i > 5 && !sep && !strcmp(tok, "-"))
				sep = true;
			else if (sep)
				break;	/* tok: the file-system type */
		}
		if (!tok || !mnt || strcmp(tok, "proc"))
			continue;
		if (l->nproc == LL_MAX_PROC || strlen(mnt) >= PATH_MAX) {
			r = -E2BIG;
			break;
		}
		unescape(mnt);
		strcpy(l->proc[l->nproc++], mnt);
	}
	free(line);
	fclose(f);
	return r;
}

static int threads(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

int dom_landlock_install(bool report_only)
{
	static struct ll l;
	struct landlock_ruleset_attr ra = { .handled_access_fs = LL_ACCESS };
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int root, self, r, n;

	if (abi < 1) {
		fprintf(stderr, "aoki: hardening: Landlock is unavailable (%s): /proc/self/mem "
			"cannot be closed%s\n", abi < 0 ? strerror(errno) : "ABI 0",
			report_only ? " (report mode: going on)" : "");
		return report_only ? 0 : -EOPNOTSUPP;
	}
	n = threads();
	if (n < 0)
		return -EPERM;
	if (n != 1) {
		fprintf(stderr, "aoki: hardening: init must run before other threads exist "
			"(Landlock binds the calling thread only): %d threads\n", n);
		return -EBUSY;
	}
	memset(&l, 0, sizeof(l));
	r = find_proc_mounts(&l);
	if (r < 0)
		return r;
	/* Held open while the rules are made, so the dentry (and the inode
	 * compared against) stays the same. */
	self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	l.have_self = self >= 0 && fstat(self, &l.self) == 0;
	l.ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (l.ruleset < 0) {
		r = -errno;
		if (self >= 0)
			close(self);
		return r;
	}
	root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = root < 0 ? -errno : walk(&l, root, "/");
	if (root >= 0)
		close(root);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		r = -EPERM;
	if (r == 0 && syscall(SYS_landlock_restrict_self, l.ruleset, 0))
		r = -errno;
	close(l.ruleset);
	if (self >= 0)
		close(self);
	if (r < 0) {
		while (ll_npin)
			close(ll_pin[--ll_npin]);
	}
	return r;
}
