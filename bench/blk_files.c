/* SPDX-License-Identifier: MIT */
/* blk_files.c - `aoki bench blk`: the tools it runs, its private
 * directory, the backing file, and the description of the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "blk.h"

#define FILL_CHUNK (1u << 20)

/* bb_find_tools - fio in PATH, aoki-blkd beside our binary (and where the
 * nbdkit plugin would be).  Returns 0 or -1 (reported). */
int bb_find_tools(struct cfg *c)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!bb_in_path("fio"))
		return bb_err("fio not found in PATH; scripts/deps.sh installs it");
	if (n <= 0)
		return bb_err("cannot read /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	*strrchr(exe, '/') = 0;		/* build/bin */
	if (snprintf(c->blkd, sizeof(c->blkd), "%s/aoki-blkd", exe) >= (int)sizeof(c->blkd))
		return bb_err("path of the aoki binary too long: %s", exe);
	slash = strrchr(exe, '/');	/* build/lib beside it */
	snprintf(c->plugin, sizeof(c->plugin), "%.*s/lib/nbdkit-aoki-blk-plugin.so",
		 slash ? (int)(slash - exe) : 1, slash ? exe : ".");
	if (access(c->blkd, X_OK))
		return bb_err("aoki-blkd not found at %s (`make` builds it beside aoki)", c->blkd);
	return 0;
}

/* bb_setup_dir - a private directory for the sockets and children's error
 * output, registered for cleanup.  Returns 0 or -1 (reported). */
int bb_setup_dir(struct cfg *c)
{
	snprintf(c->dir, sizeof(c->dir), "/tmp/aoki-bench-blk-XXXXXX");
	if (!mkdtemp(c->dir))
		return bb_err("mkdtemp %s: %s", c->dir, strerror(errno));
	snprintf(c->sock, sizeof(c->sock), "%s/blk.sock", c->dir);
	snprintf(c->nbd_sock, sizeof(c->nbd_sock), "%s/nbd.sock", c->dir);
	snprintf(c->fio_err, sizeof(c->fio_err), "%s/fio.err", c->dir);
	snprintf(c->nbd_err, sizeof(c->nbd_err), "%s/nbdkit.err", c->dir);
	strcpy(bb_cl.dir, c->dir);
	strcpy(bb_cl.paths[0], c->sock);
	strcpy(bb_cl.paths[1], c->nbd_sock);
	strcpy(bb_cl.paths[2], c->fio_err);
	strcpy(bb_cl.paths[3], c->nbd_err);
	return 0;
}

/* file_dir - where the temporary backing file goes: $TMPDIR, else /tmp,
 * unless that is tmpfs or ramfs (no real blocks), then /var/tmp. */
static const char *file_dir(void)
{
	const char *d = getenv("TMPDIR");
	struct statfs sf;

	if (!d || !*d)
		d = "/tmp";
	if (statfs(d, &sf) < 0 || sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return "/var/tmp";
	return d;
}

/* write_all - pwrite @len bytes of @buf at @off.  0 or -errno. */
static int write_all(int fd, const char *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* file_fill - give @fd @size bytes of pseudo-random data on real blocks
 * (reads of unwritten extents never reach the device): allocate, write,
 * sync, and drop it from the page cache.  Returns 0 or -errno. */
static int file_fill(int fd, uint64_t size)
{
	uint64_t *buf = malloc(FILL_CHUNK), x = 0x9e3779b97f4a7c15ull;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	if (fallocate(fd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP)
		r = -errno;
	for (uint64_t off = 0; r == 0 && off < size; off += FILL_CHUNK) {
		size_t n = size - off < FILL_CHUNK ? (size_t)(size - off) : FILL_CHUNK;

		for (size_t i = 0; i < FILL_CHUNK / sizeof(*buf); i++)
			buf[i] = bb_xorshift(&x);
		r = write_all(fd, (const char *)buf, n, off);
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	free(buf);
	return r;
}

/* fs_describe - the file system of @fd as "TYPE on SOURCE" from
 * /proc/self/mountinfo (matched by device number), else its magic. */
static void fs_describe(int fd, char *out, size_t cap)
{
	char line[4096], type[64], src[112];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	struct statfs sf;
	struct stat st;
	unsigned ma, mi;

	snprintf(out, cap, "unknown");
	if (fstat(fd, &st) == 0)
		while (f && fgets(line, sizeof(line), f)) {
			const char *sep = strstr(line, " - ");

			if (sscanf(line, "%*s %*s %u:%u", &ma, &mi) == 2 && sep &&
			    ma == major(st.st_dev) && mi == minor(st.st_dev) &&
			    sscanf(sep + 3, "%63s %111s", type, src) == 2) {
				snprintf(out, cap, "%s on %s", type, src);
				fclose(f);
				return;
			}
		}
	if (f)
		fclose(f);
	if (fstatfs(fd, &sf) == 0)
		snprintf(out, cap, "f_type 0x%lx", (unsigned long)sf.f_type);
}

/* bb_file_prepare - the backing file: --file (created or extended and filled
 * when shorter than the size used) or a new temporary one, filled.
 * Returns 0 or -1 (reported). */
int bb_file_prepare(struct cfg *c)
{
	struct stat st;
	char abs[PATH_MAX];
	int fd, fill = 1, r = 0;

	if (c->user_file) {
		fd = open(c->file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0 && realpath(c->file, abs))
			snprintf(c->file, sizeof(c->file), "%s", abs);
	} else {
		snprintf(c->file, sizeof(c->file), "%s/aoki-bench-blk-XXXXXX", file_dir());
		fd = mkostemp(c->file, O_CLOEXEC);
		if (fd >= 0)
			snprintf(bb_cl.file, sizeof(bb_cl.file), "%s", c->file);
	}
	if (fd < 0)
		return bb_err("%s: %s", c->file, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = bb_err("%s: not a regular file", c->file);
	else if ((fill = (uint64_t)st.st_size < c->size))
		fprintf(stderr, "bench blk: filling %s with %llu MiB of data ...\n", c->file,
			(unsigned long long)(c->size >> 20));
	if (r == 0 && fill && (r = file_fill(fd, c->size)) < 0)
		r = bb_err("filling %s: %s", c->file, strerror(-r));
	if (r == 0 && !fill)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	fs_describe(fd, c->fs, sizeof(c->fs));
	close(fd);
	return r;
}

/* bb_machine_describe - CPU model, CPUs online, kernel release. */
void bb_machine_describe(struct cfg *c)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512], *v;
	struct utsname u;

	snprintf(c->cpu, sizeof(c->cpu), "unknown CPU");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && (v = strchr(line, ':'))) {
			v += strspn(v + 1, " \t") + 1;
			v[strcspn(v, "\n")] = 0;
			snprintf(c->cpu, sizeof(c->cpu), "%s", v);
			break;
		}
	if (f)
		fclose(f);
	c->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(c->kernel, sizeof(c->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
}
