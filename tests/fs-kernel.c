/* SPDX-License-Identifier: MIT */
/*
 * fs-kernel: aoki-fsd and the Linux ext4 driver agree on the image.
 *
 * 1. fsd writes a tree (directories, files of several sizes, unaligned
 *    ones, a sparse file, symbolic and hard links, chmod, chown, times
 *    with nanoseconds); fsd stops cleanly; e2fsck -fn is clean; the
 *    kernel mounts the image read-only (loop) and sees every name, type,
 *    size, mode, owner, time, link target and byte fsd reported (and
 *    was told).
 * 2. The kernel writes a tree (mkdir, cp, ln, ln -s, truncate, fallocate,
 *    chmod, chown, touch) and unmounts; e2fsck is clean; fsd serves the
 *    image and <aoki/fs.h> reads back what the kernel saw.
 *
 * Needs root and loop devices: skips (77) without them.  The loop device
 * is detached and the mount point removed at exit, whatever the outcome.
 */
#define _GNU_SOURCE
#include "fs_util.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define FAILS(call, e) CHECK_EQ((call), -(e))

/* ------------------------------------------------------- the loop mount */

static char mnt[64];		/* the mount point */
static char loopdev[64];	/* the loop device, while attached */
static int mounted;

static void kernel_umount(void)
{
	if (mounted && umount(mnt) != 0)
		perror("umount");
	mounted = 0;
	if (loopdev[0])
		t_sh("losetup -d %s", loopdev);
	loopdev[0] = 0;
}

static void cleanup(void)
{
	kernel_umount();
	if (mnt[0])
		rmdir(mnt);
}

/* Mount @img with the kernel's ext4 at mnt (@ro: read-only); skips the
 * test if that cannot be done here. */
static void kernel_mount(const char *img, int ro)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -f --show %s'%s' 2>/dev/null", ro ? "-r " : "", img);
	p = popen(cmd, "r");
	if (!p || !fgets(loopdev, sizeof(loopdev), p)) {
		loopdev[0] = 0;
		if (p)
			pclose(p);
		t_skip("SKIP: no loop device (losetup -f failed)");
	}
	pclose(p);
	loopdev[strcspn(loopdev, "\n")] = 0;
	if (mount(loopdev, mnt, "ext4", ro ? MS_RDONLY : 0, NULL) != 0) {
		perror("mount");
		t_skip("SKIP: cannot mount ext4 from a loop device");
	}
	mounted = 1;
}

/* ------------------------------------------------------------ snapshots */

/* One name of a tree, as one side sees it. */
struct ent {
	char path[512];		/* relative to the tree's root, "" for it */
	struct stat st;
	char link[4096];
	char *data;		/* regular files: the contents */
	struct ent *next;
};

/* The two ways to read a tree. */
struct side {
	const char *name;
	int (*lstat)(const char *path, struct stat *st);
	ssize_t (*readlink)(const char *path, char *buf, size_t cap);
	int (*read_all)(const char *path, char *buf, size_t len);
	/* calls @fn for each name in @path but "." and ".." */
	int (*list)(const char *path, void (*fn)(const char *name, void *arg), void *arg);
	char root[PATH_MAX];	/* prefix of every path */
};

static struct aoki_fs *fs;

static int a_lstat(const char *path, struct stat *st)
{
	return aoki_fs_lstat(fs, path, st);
}

static ssize_t a_readlink(const char *path, char *buf, size_t cap)
{
	return aoki_fs_readlink(fs, path, buf, cap);
}

static int a_read_all(const char *path, char *buf, size_t len)
{
	int fd = aoki_fs_open(fs, path, O_RDONLY, 0);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = aoki_fs_pread(fs, fd, buf, len, 0);
	aoki_fs_close(fs, fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int a_list(const char *path, void (*fn)(const char *, void *), void *arg)
{
	struct aoki_fs_dir *d;
	struct aoki_fs_dirent e;
	int r = aoki_fs_opendir(fs, path, &d);

	if (r < 0)
		return r;
	while ((r = aoki_fs_readdir(d, &e)) == 1)
		if (strcmp(e.name, ".") && strcmp(e.name, ".."))
			fn(e.name, arg);
	aoki_fs_closedir(d);
	return r;
}

static int k_lstat(const char *path, struct stat *st)
{
	return lstat(path, st) ? -errno : 0;
}

static ssize_t k_readlink(const char *path, char *buf, size_t cap)
{
	ssize_t n = readlink(path, buf, cap);

	return n < 0 ? -errno : n;
}

static int k_read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return done == len ? 0 : -EIO;
}

static int k_list(const char *path, void (*fn)(const char *, void *), void *arg)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fn(e->d_name, arg);
	closedir(d);
	return 0;
}

static const struct side aoki_side = { "fsd", a_lstat, a_readlink, a_read_all, a_list, "" };
static const struct side kernel_side = { "kernel", k_lstat, k_readlink, k_read_all, k_list,
					 "" };

struct walk {
	const struct side *s;
	struct ent **list;
	const char *dir;	/* relative */
	char (*names)[256];
	unsigned n, cap;
};

static void add_name(const char *name, void *arg)
{
	struct walk *w = arg;

	if (!*w->dir && !strcmp(name, ".aoki-replies"))
		return;		/* fsd's own file (hidden from its clients) */
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->names = realloc(w->names, w->cap * sizeof(*w->names));
		CHECK(w->names != NULL);
	}
	snprintf(w->names[w->n++], 256, "%s", name);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void ents_free(struct ent *e)
{
	while (e) {
		struct ent *next = e->next;

		free(e->data);
		free(e);
		e = next;
	}
}

/* Read the tree under @rel (relative to the side's root) into @list. */
static void snap(const struct side *s, const char *rel, struct ent **list)
{
	struct ent *e = calloc(1, sizeof(*e));
	char full[PATH_MAX + 600];

	CHECK(e != NULL);
	snprintf(e->path, sizeof(e->path), "%s", rel);
	snprintf(full, sizeof(full), "%s/%s", s->root, rel);
	if (s->lstat(full, &e->st) != 0) {
		fprintf(stderr, "%s: lstat %s failed\n", s->name, full);
		exit(T_EXIT_FAIL);
	}
	if (S_ISLNK(e->st.st_mode)) {
		ssize_t n = s->readlink(full, e->link, sizeof(e->link) - 1);

		CHECK(n >= 0);
		e->link[n] = 0;
	} else if (S_ISREG(e->st.st_mode)) {
		e->data = malloc((size_t)e->st.st_size + 1);
		CHECK(e->data != NULL);
		if (s->read_all(full, e->data, (size_t)e->st.st_size) != 0) {
			fprintf(stderr, "%s: read %s failed\n", s->name, full);
			exit(T_EXIT_FAIL);
		}
	}
	e->next = *list;
	*list = e;
	if (S_ISDIR(e->st.st_mode)) {
		struct walk w = { .s = s, .list = list, .dir = rel };

		CHECK_EQ(s->list(full, add_name, &w), 0);
		if (w.n)	/* qsort(NULL, 0) is undefined */
			qsort(w.names, w.n, sizeof(*w.names), cmp_name);
		for (unsigned i = 0; i < w.n; i++) {
			char sub[512];

			snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", w.names[i]);
			snap(s, sub, list);
		}
		free(w.names);
	}
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The two sides saw the same tree: names, types, sizes, modes, owners,
 * times (but atime), inode numbers and link counts, targets, bytes. */
static void compare(struct ent *a, struct ent *b, const char *an, const char *bn)
{
	unsigned n = 0;

	for (; a && b; a = a->next, b = b->next, n++) {
		const struct stat *x = &a->st, *y = &b->st;
		int bad = 0;

		if (strcmp(a->path, b->path)) {
			fprintf(stderr, "names differ: %s has /%s, %s has /%s\n", an, a->path,
				bn, b->path);
			exit(T_EXIT_FAIL);
		}
#define SAME(f)                                                                         \
	if (x->f != y->f) {                                                             \
		fprintf(stderr, "/%s: " #f " %s %lld, %s %lld\n", a->path, an,          \
			(long long)x->f, bn, (long long)y->f);                           \
		bad = 1;                                                                 \
	}
		SAME(st_mode) SAME(st_uid) SAME(st_gid) SAME(st_size) SAME(st_nlink)
		SAME(st_ino) SAME(st_blocks)
#undef SAME
		if (ns(x->st_mtim) != ns(y->st_mtim) || ns(x->st_ctim) != ns(y->st_ctim)) {
			fprintf(stderr, "/%s: times differ (mtime %lld / %lld, ctime %lld / %lld)\n",
				a->path, (long long)ns(x->st_mtim), (long long)ns(y->st_mtim),
				(long long)ns(x->st_ctim), (long long)ns(y->st_ctim));
			bad = 1;
		}
		if (strcmp(a->link, b->link)) {
			fprintf(stderr, "/%s: link targets differ\n", a->path);
			bad = 1;
		}
		if (a->data && b->data && memcmp(a->data, b->data, (size_t)x->st_size)) {
			fprintf(stderr, "/%s: contents differ\n", a->path);
			bad = 1;
		}
		if (bad)
			exit(T_EXIT_FAIL);
	}
	if (a || b) {
		fprintf(stderr, "%s has more names (/%s)\n", a ? an : bn, a ? a->path : b->path);
		exit(T_EXIT_FAIL);
	}
	printf("note: %u names agree (%s, %s)\n", n, an, bn);
}

static struct ent *find(struct ent *l, const char *path)
{
	for (; l; l = l->next)
		if (!strcmp(l->path, path))
			return l;
	fprintf(stderr, "/%s missing\n", path);
	exit(T_EXIT_FAIL);
}

/* ------------------------------------------------------ the fsd writer */

static void pattern(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + seed * 7 + i / 4096) ^ seed);
}

static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 100000, (1 << 20) + 123 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Write @path with the pattern of @seed, @len bytes, in pieces of odd
 * sizes (unaligned writes). */
static void fsd_file(const char *path, size_t len, unsigned seed)
{
	char *buf = malloc(len + 1);
	int fd = aoki_fs_open(fs, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	size_t done = 0;

	CHECK(buf != NULL);
	CHECK(fd >= 0);
	pattern(buf, len, seed);
	while (done < len) {
		size_t n = len - done < 77777 ? len - done : 77777;

		CHECK_EQ(aoki_fs_write(fs, fd, buf + done, n), (long long)n);
		done += n;
	}
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	free(buf);
}

static void fsd_writes(void)
{
	struct timespec ts[2];
	char target[301], path[64], buf[5000];
	struct stat st;
	int fd;

	CHECK_EQ(aoki_fs_mkdir(fs, "/k", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/k/sub", 0750), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/k/sub/deep", 0700), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/k/empty", 0755), 0);
	for (unsigned i = 0; i < NSIZES; i++) {
		snprintf(path, sizeof(path), "/k/%s/f%u", i % 2 ? "sub" : "sub/deep", i);
		fsd_file(path, sizes[i], i);
	}
	/* sparse: data at 10 MiB + 17, a hole before it */
	fd = aoki_fs_open(fs, "/k/sparse", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	pattern(buf, sizeof(buf), 99);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, sizeof(buf), (10 << 20) + 17), sizeof(buf));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* links */
	CHECK_EQ(aoki_fs_symlink(fs, "sub/f1", "/k/lrel"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "/k/sub/deep/f0", "/k/labs"), 0);
	memset(target, 'x', 300);
	target[300] = 0;
	CHECK_EQ(aoki_fs_symlink(fs, target, "/k/llong"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "nowhere", "/k/sub/ldangling"), 0);
	CHECK_EQ(aoki_fs_link(fs, "/k/sub/f3", "/k/hard"), 0);
	CHECK_EQ(aoki_fs_link(fs, "/k/sub/f3", "/k/sub/deep/hard2"), 0);
	/* attributes */
	CHECK_EQ(aoki_fs_chmod(fs, "/k/sub/f1", 0640), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/k/sub/deep/f2", 04755), 0);
	CHECK_EQ(aoki_fs_chown(fs, "/k/sub/f5", 1234, 5678), 0);
	CHECK_EQ(aoki_fs_chown(fs, "/k/sub", 70000, 70001), 0);
	ts[0] = (struct timespec){ 1500000000, 111111111 };
	ts[1] = (struct timespec){ 1600000000, 987654321 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/k/sub/deep/f4", ts, 0), 0);
	ts[1] = (struct timespec){ 4102444800ll, 42 };	/* past 2038 */
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/k/sparse", ts, 0), 0);
	ts[1] = (struct timespec){ 1000000000, 5 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/k/empty", ts, 0), 0);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/k/labs", ts, AT_SYMLINK_NOFOLLOW), 0);
	/* and a rename, an unlink, an rmdir */
	fsd_file("/k/gone", 10, 7);
	CHECK_EQ(aoki_fs_rename(fs, "/k/sub/f5", "/k/renamed"), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/k/gone"), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/k/rmd", 0755), 0);
	CHECK_EQ(aoki_fs_rmdir(fs, "/k/rmd"), 0);
	CHECK_EQ(aoki_fs_stat(fs, "/k/sparse", &st), 0);
	CHECK(st.st_blocks <= 32);
	CHECK_EQ(aoki_fs_syncfs(fs), 0);
}

/* What fsd was told is what it reports (then the kernel is compared
 * with what fsd reports). */
static void check_told(struct ent *l)
{
	char buf[(1 << 20) + 200];
	struct ent *e;

	for (unsigned i = 0; i < NSIZES; i++) {
		char path[64];

		snprintf(path, sizeof(path), "k/%s/f%u", i % 2 ? "sub" : "sub/deep", i);
		if (i == 5)
			snprintf(path, sizeof(path), "k/renamed");
		e = find(l, path);
		CHECK_EQ(e->st.st_size, (long long)sizes[i]);
		pattern(buf, sizes[i], i);
		CHECK(!memcmp(e->data, buf, sizes[i]));
	}
	e = find(l, "k/sparse");
	CHECK_EQ(e->st.st_size, (10 << 20) + 17 + 5000);
	for (size_t i = 0; i < (10 << 20) + 17; i++)
		CHECK(e->data[i] == 0);
	pattern(buf, 5000, 99);
	CHECK(!memcmp(e->data + (10 << 20) + 17, buf, 5000));
	CHECK_EQ(e->st.st_mode, S_IFREG | 0600);
	CHECK_EQ(e->st.st_mtim.tv_sec, 4102444800ll);
	CHECK_EQ(e->st.st_mtim.tv_nsec, 42);
	CHECK_EQ(find(l, "k/sub/f1")->st.st_mode, S_IFREG | 0640);
	CHECK_EQ(find(l, "k/sub/deep/f2")->st.st_mode, S_IFREG | 04755);
	CHECK_EQ(find(l, "k/sub/deep")->st.st_mode, S_IFDIR | 0700);
	CHECK_EQ(find(l, "k/sub")->st.st_mode, S_IFDIR | 0750);
	CHECK_EQ(find(l, "k/sub")->st.st_uid, 70000);
	CHECK_EQ(find(l, "k/sub")->st.st_gid, 70001);
	CHECK_EQ(find(l, "k/sub")->st.st_nlink, 3);
	CHECK_EQ(find(l, "k")->st.st_nlink, 4);
	CHECK_EQ(find(l, "k/renamed")->st.st_uid, 1234);
	CHECK_EQ(find(l, "k/renamed")->st.st_gid, 5678);
	CHECK_EQ(ns(find(l, "k/sub/deep/f4")->st.st_mtim), 1600000000987654321ll);
	CHECK_EQ(ns(find(l, "k/sub/deep/f4")->st.st_atim), 1500000000111111111ll);
	CHECK_EQ(ns(find(l, "k/empty")->st.st_mtim), 1000000000000000005ll);
	CHECK_EQ(ns(find(l, "k/labs")->st.st_mtim), 1000000000000000005ll);
	CHECK(!strcmp(find(l, "k/lrel")->link, "sub/f1"));
	CHECK(!strcmp(find(l, "k/labs")->link, "/k/sub/deep/f0"));
	CHECK_EQ(strlen(find(l, "k/llong")->link), 300);
	CHECK(!strcmp(find(l, "k/sub/ldangling")->link, "nowhere"));
	CHECK_EQ(find(l, "k/hard")->st.st_ino, find(l, "k/sub/f3")->st.st_ino);
	CHECK_EQ(find(l, "k/hard")->st.st_nlink, 3);
}

/* -------------------------------------------------- the kernel's writer */

static void kernel_writes(const char *src)
{
	char path[PATH_MAX + 64], buf[300000];
	struct timespec ts[2];
	int fd;

	CHECK_EQ(t_sh("cd '%s' && mkdir -p kw/a/b/c kw/empty && chmod 0711 kw/a/b", mnt), 0);
	pattern(buf, sizeof(buf), 5);
	for (unsigned i = 0; i < 4; i++) {
		static const size_t len[] = { 3, 4096, 12345, 300000 };

		snprintf(path, sizeof(path), "%s/kw/a/w%u", mnt, i);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		CHECK_EQ(write(fd, buf, len[i]), (long long)len[i]);
		close(fd);
	}
	/* cp of a file from outside, truncate (sparse and shrink), fallocate */
	CHECK_EQ(t_sh("cd '%s' && cp '%s' kw/a/b/c/copied && truncate -s 20M kw/sparse && "
		      "printf tail >> kw/sparse && truncate -s 5000 kw/a/w3 && "
		      "fallocate -l 1M kw/falloc && fallocate -n -o 1M -l 64K kw/falloc && "
		      "printf data | dd of=kw/falloc bs=1 seek=70000 conv=notrunc 2>/dev/null",
		      mnt, src), 0);
	/* links, modes, owners, times */
	CHECK_EQ(t_sh("cd '%s' && ln -s a/w1 kw/lrel && ln -s /kw/a/b kw/labs && "
		      "ln kw/a/w2 kw/hard && ln kw/a/w2 kw/a/b/hard2 && ln -s nowhere kw/dangle && "
		      "chmod 0604 kw/a/w0 && chmod 2755 kw/a/b/c && chown 4242:4343 kw/a/w1 && "
		      "chown -h 99:98 kw/lrel && mv kw/a/w0 kw/moved",
		      mnt), 0);
	snprintf(path, sizeof(path), "%s/kw/a/w2", mnt);
	ts[0] = (struct timespec){ 1234567890, 1 };
	ts[1] = (struct timespec){ 1234567891, 999999999 };
	CHECK_EQ(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(path, sizeof(path), "%s/kw/empty", mnt);
	ts[1] = (struct timespec){ 4102444801ll, 7 };
	CHECK_EQ(utimensat(AT_FDCWD, path, ts, 0), 0);
	sync();
}

int main(void)
{
	struct t_fs_stack s;
	struct ent *a = NULL, *k = NULL;
	char vol[PATH_MAX + 16], src[PATH_MAX];
	const char *bargs[] = { "--volume", vol, NULL };
	struct side side;

	if (geteuid() != 0)
		t_skip("SKIP: fs-kernel needs root (loop mounts)");
	if (t_sh("command -v losetup >/dev/null 2>&1") != 0)
		t_skip("SKIP: losetup not installed");
	strcpy(mnt, "/tmp/aoki-kmnt-XXXXXX");
	CHECK(mkdtemp(mnt) != NULL);
	atexit(cleanup);
	umask(022);

	/* 1. fsd writes, the kernel reads. */
	t_fs_stack_start(&s, 64);
	snprintf(vol, sizeof(vol), "disk=%s", s.img);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	fsd_writes();
	side = aoki_side;
	snap(&side, "", &a);
	check_told(a);
	aoki_fs_unmount(fs);
	t_fs_stack_stop(&s);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	kernel_mount(s.img, 1);
	side = kernel_side;
	snprintf(side.root, sizeof(side.root), "%s", mnt);
	snap(&side, "", &k);
	compare(a, k, "fsd", "kernel");
	ents_free(a);
	ents_free(k);
	a = k = NULL;
	kernel_umount();

	/* 2. The kernel writes, fsd reads. */
	snprintf(src, sizeof(src), "%s/src-file", t_run_dir());
	CHECK_EQ(t_sh("head -c 777777 /dev/urandom > '%s'", src), 0);
	kernel_mount(s.img, 0);
	kernel_writes(src);
	k = NULL;
	side = kernel_side;
	snprintf(side.root, sizeof(side.root), "%s", mnt);
	snap(&side, "", &k);
	kernel_umount();
	CHECK_EQ(t_fs_fsck(s.img), 0);
	s.blkd = t_blkd_start("blk", bargs);
	s.fsd = t_fsd_start("fs", "blk", "disk", NULL);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	a = NULL;
	side = aoki_side;
	snap(&side, "", &a);
	CHECK_EQ(find(a, "kw/sparse")->st.st_size, (20 << 20) + 4);
	CHECK_EQ(find(a, "kw/falloc")->st.st_size, 1 << 20);
	CHECK(find(a, "kw/falloc")->st.st_blocks >= 2048 + 128);
	CHECK_EQ(find(a, "kw/a/b/c")->st.st_mode, S_IFDIR | 02755);
	CHECK_EQ(find(a, "kw/a/w2")->st.st_nlink, 3);
	compare(k, a, "kernel", "fsd");
	/* fsd can change what the kernel wrote, and e2fsck agrees */
	CHECK_EQ(aoki_fs_unlink(fs, "/kw/hard"), 0);
	CHECK_EQ(aoki_fs_rename(fs, "/kw/a/b", "/kw/b"), 0);
	CHECK_EQ(aoki_fs_truncate(fs, "/kw/sparse", 1), 0);
	ents_free(a);
	ents_free(k);
	aoki_fs_unmount(fs);
	t_fs_stack_stop(&s);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	return 0;
}
