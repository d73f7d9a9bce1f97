/* SPDX-License-Identifier: MIT */
/*
 * stack_files.c - what `aoki up/status/down` read to learn the state of
 * a stack: files in the run directory (aoki-init's pid and status files,
 * stack.pid, stack.log), the mount table, the image's superblock, and the
 * servers themselves through the stats request of the IPC library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "path.h"
#include "stack.h"

const char *const stack_srv_names[STACK_NSRV] = { "blkd", "fsd", "fuse" };

int stack_path(const struct stack_conf *c, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", c->run_dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The one mkdir -p of the tree is lib/util's. */
int stack_mkdir_p(const char *dir)
{
	return util_mkdir_p(dir);
}

/* Read up to @cap - 1 bytes of file @path into @buf, NUL-terminated.
 * Returns the length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* The pid in file @name of the run directory; 0 if none. */
static pid_t pid_file(const struct stack_conf *c, const char *name)
{
	char path[PATH_MAX], text[32];
	long pid;

	if (stack_path(c, name, path, sizeof(path)) < 0 ||
	    read_small(path, text, sizeof(text)) <= 0)
		return 0;
	pid = strtol(text, NULL, 10);
	return pid > 0 && pid < (1l << 30) ? (pid_t)pid : 0;
}

pid_t stack_init_pid(const struct stack_conf *c)
{
	char path[64], comm[32];
	pid_t pid = pid_file(c, "stack.pid");

	if (!pid || kill(pid, 0) < 0)
		return 0;
	/* A pid can be reused: it must still be an aoki-init. */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_small(path, comm, sizeof(comm)) <= 0 || strncmp(comm, "aoki-init\n", 10))
		return 0;
	return pid;
}

pid_t stack_srv_pid(const struct stack_conf *c, enum stack_srv srv)
{
	char name[32];

	snprintf(name, sizeof(name), "%s.pid", stack_srv_names[srv]);
	return pid_file(c, name);
}

unsigned stack_kv_parse(const char *text, size_t len, struct stack_kv *kv)
{
	const char *end = text + len;

	kv->n = 0;
	while (text < end && kv->n < STACK_KV_MAX) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(text, '=', (size_t)(line_end - text));
		size_t klen = eq ? (size_t)(eq - text) : 0;
		size_t vlen = eq ? (size_t)(line_end - eq - 1) : 0;

		if (eq && klen && klen < sizeof(kv->key[0]) && vlen < sizeof(kv->val[0])) {
			memcpy(kv->key[kv->n], text, klen);
			kv->key[kv->n][klen] = 0;
			memcpy(kv->val[kv->n], eq + 1, vlen);
			kv->val[kv->n][vlen] = 0;
			kv->n++;
		}
		text = line_end + 1;
	}
	return kv->n;
}

const char *stack_kv_get(const struct stack_kv *kv, const char *key)
{
	for (unsigned i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

int64_t stack_kv_num(const struct stack_kv *kv, const char *key, int64_t dflt)
{
	const char *v = stack_kv_get(kv, key);
	char *end;
	long long n;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtoll(v, &end, 10);
	return *end || errno ? dflt : n;
}

int stack_srv_status(const struct stack_conf *c, enum stack_srv srv, struct stack_kv *kv)
{
	char name[32], path[PATH_MAX], text[1024];
	ssize_t n;

	kv->n = 0;
	snprintf(name, sizeof(name), "%s.status", stack_srv_names[srv]);
	if (stack_path(c, name, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	n = read_small(path, text, sizeof(text));
	if (n < 0)
		return (int)n;
	stack_kv_parse(text, (size_t)n, kv);
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a blank, ...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

int stack_mounted(const char *path, char *fstype, size_t cap)
{
	char *line = NULL, want[PATH_MAX];
	size_t linecap = 0;
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	/* The table holds canonical paths; a dead FUSE mount cannot be
	 * resolved (ENOTCONN), but its parent can. */
	if (!realpath(path, want)) {
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", path);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = 0;
			if (!realpath(parent, want) ||
			    strlen(want) + strlen(slash + 1) + 2 > sizeof(want))
				snprintf(want, sizeof(want), "%s", path);
			else
				snprintf(want + strlen(want), sizeof(want) - strlen(want), "/%s",
					 slash + 1);
		} else {
			snprintf(want, sizeof(want), "%s", path);
		}
	}
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE ..."
	 * The last match wins: mounts stacked on one path. */
	while (getline(&line, &linecap, f) > 0) {
		char mp[PATH_MAX], type[64], *sep;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (strcmp(mp, want))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", type) != 1)
			continue;
		found = 1;
		if (fstype && cap)
			snprintf(fstype, cap, "%s", type);
	}
	free(line);
	fclose(f);
	return found;
}

int stack_image_needs_recovery(const char *image)
{
	unsigned char sb[1024];
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, sb, sizeof(sb), 1024);	/* the superblock */
	close(fd);
	if (n != (ssize_t)sizeof(sb))
		return n < 0 ? -errno : -EINVAL;
	if (sb[0x38] != 0x53 || sb[0x39] != 0xef)	/* s_magic, little-endian */
		return -EINVAL;
	/* s_feature_incompat (le32 at 0x60), bit 0x4: needs_recovery. */
	return (sb[0x60] & 0x4) ? 1 : 0;
}

int stack_query(const char *port, int64_t timeout_ms, struct aoki_server_stats *st,
		struct stack_kv *kv)
{
	struct aoki_chan_opts o = {
		.slots = 4, .max_grants = 2, .timeout_ns = timeout_ms * 1000000,
		.reconnect_ns = timeout_ms * 1000000,
	};
	char ext[3072];
	size_t len = 0;
	struct aoki_chan *ch;
	int r = aoki_connect(port, &o, &ch);

	if (r < 0)
		return r;
	r = aoki_query_stats(ch, st, ext, sizeof(ext), &len);
	aoki_close(ch);
	if (r == 0 && kv)
		stack_kv_parse(ext, len < sizeof(ext) ? len : sizeof(ext), kv);
	return r;
}

void stack_log_tail(const struct stack_conf *c, unsigned lines)
{
	char path[PATH_MAX], buf[8192], *p;
	ssize_t n;
	int fd;
	off_t size;

	if (stack_path(c, "stack.log", path, sizeof(path)) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
					       size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = buf + n;
	if (p > buf && p[-1] == '\n')
		p--;
	for (unsigned k = 0; p > buf; p--)
		if (p[-1] == '\n' && ++k == lines)
			break;
	fprintf(stderr, "  last lines of %s:\n", path);
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "  | %s\n", line);
}
