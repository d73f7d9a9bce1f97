/* SPDX-License-Identifier: MIT */
/*
 * fuse-posix: the system calls of POSIX programs on an aoki-fuse mount,
 * each with the result and errno Linux ext4 gives: open flags (O_CREAT,
 * O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECTORY), read/write/
 * pread/pwrite, truncate, mkdir/rmdir, unlink, rename with its flags,
 * link, symlink/readlink, chmod/chown/utimensat, statfs, fsync, xattrs
 * (EOPNOTSUPP: fsd has none), mknod of a FIFO (EPERM: fsd makes none),
 * readdir of a large directory, mmap; sparse files and fallocate
 * (st_blocks, holes read as zeros); unlink and rename over a file that is
 * still open (as ext4: the data stays readable and writable, nlink 0,
 * and the hidden name goes at the last close), also by four processes at
 * once; the hidden directory cleaned at mount and invisible through the
 * mount; another client's changes seen through the caches.  Runs as root (the
 * mount's owner); tests/fuse-perm checks other users.
 */
#define _GNU_SOURCE
#include "fuse_util.h"

#include <dirent.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static struct t_fuse m;
static struct aoki_fs *fs;	/* a direct connection, to look behind the mount */

static const char *P(const char *path)
{
	return t_fuse_at(&m, path);
}

static void put(const char *path, const char *data)
{
	int fd = open(P(path), O_CREAT | O_WRONLY | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, strlen(data)), (long long)strlen(data));
	CHECK_EQ(close(fd), 0);
}

static void expect(const char *path, const char *data)
{
	char buf[256] = { 0 };
	int fd = open(P(path), O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf) - 1), (long long)strlen(data));
	CHECK(!strcmp(buf, data));
	CHECK_EQ(close(fd), 0);
}

static struct stat st_of(const char *path)
{
	struct stat st;

	CHECK_EQ(lstat(P(path), &st), 0);
	return st;
}

/* Entries of fsd's /.aoki-orphans besides "." and "..". */
static int orphans(void)
{
	struct aoki_fs_dirent e;
	struct aoki_fs_dir *d;
	int n = 0, r;

	CHECK_EQ(aoki_fs_opendir(fs, "/.aoki-orphans", &d), 0);
	while ((r = aoki_fs_readdir(d, &e)) == 1)
		n += strcmp(e.name, ".") && strcmp(e.name, "..");
	CHECK_EQ(r, 0);
	aoki_fs_closedir(d);
	return n;
}

/* The kernel sends RELEASE after close(2) has returned: wait (1 s at
 * most) for the hidden name to go. */
static int orphans_after_close(void)
{
	int n;

	for (int i = 0; (n = orphans()) && i < 100; i++)
		t_sleep_ms(10);
	return n;
}

static void open_flags(void)
{
	char buf[64] = { 0 };
	int fd, fd2;

	OK(mkdir(P("d"), 0755));
	fd = open(P("f"), O_CREAT | O_EXCL | O_RDWR, 0640);
	CHECK(fd >= 0);
	CHECK_EQ(st_of("f").st_mode, S_IFREG | 0640);
	FAILS(open(P("f"), O_CREAT | O_EXCL | O_RDWR, 0640), EEXIST);
	FAILS(open(P("nope"), O_RDONLY), ENOENT);
	FAILS(open(P("d"), O_WRONLY), EISDIR);
	FAILS(open(P("d"), O_CREAT | O_RDWR, 0644), EISDIR);
	FAILS(open(P("f/x"), O_RDONLY), ENOTDIR);
	FAILS(open(P("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
	FAILS(open(P("nodir/x"), O_CREAT | O_RDWR, 0644), ENOENT);
	/* read, write, positions */
	CHECK_EQ(write(fd, "hello world", 11), 11);
	CHECK_EQ(pwrite(fd, "W", 1, 6), 1);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 11);
	CHECK(!memcmp(buf, "hello World", 11));
	CHECK_EQ(lseek(fd, 0, SEEK_END), 11);
	CHECK_EQ(read(fd, buf, 8), 0);
	CHECK_EQ(close(fd), 0);
	/* O_TRUNC */
	fd = open(P("f"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(st_of("f").st_size, 0);
	CHECK_EQ(close(fd), 0);
	/* O_APPEND: two descriptors, each write lands at the end */
	put("app", "ab");
	fd = open(P("app"), O_WRONLY | O_APPEND);
	fd2 = open(P("app"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && fd2 >= 0);
	CHECK_EQ(write(fd, "cd", 2), 2);
	CHECK_EQ(write(fd2, "ef", 2), 2);
	CHECK_EQ(write(fd, "gh", 2), 2);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(fd2), 0);
	expect("app", "abcdefgh");
	/* O_NOFOLLOW on a link; a loop of links */
	OK(symlink("f", P("lnk")));
	FAILS(open(P("lnk"), O_RDONLY | O_NOFOLLOW), ELOOP);
	OK(symlink("loop2", P("loop1")));
	OK(symlink("loop1", P("loop2")));
	FAILS(open(P("loop1"), O_RDONLY), ELOOP);
	FAILS(stat(P("loop1"), &(struct stat){ 0 }), ELOOP);
}

static void big_io(void)
{
	size_t n = 3 << 20;
	char *a = malloc(n), *b = malloc(n);
	int fd;

	CHECK(a && b);
	for (size_t i = 0; i < n; i++)
		a[i] = (char)(i * 7 + i / 4093);
	fd = open(P("big"), O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, a, n), (long long)n);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(fdatasync(fd), 0);
	CHECK_EQ(pread(fd, b, n, 0), (long long)n);
	CHECK(!memcmp(a, b, n));
	/* unaligned overwrite in the middle */
	CHECK_EQ(pwrite(fd, "XYZ", 3, 1000001), 3);
	memcpy(a + 1000001, "XYZ", 3);
	CHECK_EQ(pread(fd, b, n, 0), (long long)n);
	CHECK(!memcmp(a, b, n));
	CHECK_EQ(close(fd), 0);
	free(a);
	free(b);
}

static void truncation(void)
{
	char buf[16];
	int fd;

	put("t", "0123456789");
	OK(truncate(P("t"), 4));
	expect("t", "0123");
	OK(truncate(P("t"), 8));
	fd = open(P("t"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 8);
	CHECK(!memcmp(buf, "0123\0\0\0\0", 8));
	FAILS(ftruncate(fd, 0), EINVAL);	/* not open for writing */
	CHECK_EQ(close(fd), 0);
	FAILS(truncate(P("d"), 0), EISDIR);
	FAILS(truncate(P("t"), -1), EINVAL);
	FAILS(truncate(P("missing"), 0), ENOENT);
}

static void names(void)
{
	char name[300], target[64];
	struct stat st;

	FAILS(mkdir(P("d"), 0755), EEXIST);
	FAILS(mkdir(P("no/d"), 0755), ENOENT);
	FAILS(mkdir(P("f/d"), 0755), ENOTDIR);
	OK(mkdir(P("d/sub"), 0755));
	put("d/sub/x", "x");
	FAILS(rmdir(P("d")), ENOTEMPTY);
	FAILS(rmdir(P("f")), ENOTDIR);
	FAILS(rmdir(P("d/.")), EINVAL);
	FAILS(unlink(P("d")), EISDIR);
	FAILS(unlink(P("missing")), ENOENT);
	memset(name, 'n', 256);
	name[256] = 0;
	FAILS(open(P(name), O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	FAILS(mkdir(P(name), 0755), ENAMETOOLONG);
	name[255] = 0;
	OK(mkdir(P(name), 0755));	/* 255 is fine */
	OK(rmdir(P(name)));
	/* rename: the type rules */
	OK(mkdir(P("e"), 0755));
	FAILS(rename(P("f"), P("e")), EISDIR);
	FAILS(rename(P("e"), P("f")), ENOTDIR);
	FAILS(rename(P("e"), P("d")), ENOTEMPTY);
	FAILS(rename(P("d"), P("d/sub/in")), EINVAL);
	FAILS(rename(P("missing"), P("x")), ENOENT);
	OK(rename(P("e"), P("e2")));
	OK(rename(P("e2"), P("d/sub/e")));
	OK(rmdir(P("d/sub/e")));
	/* rename flags */
	put("ra", "A");
	put("rb", "B");
	FAILS(syscall(SYS_renameat2, AT_FDCWD, P("ra"), AT_FDCWD, P("rb"), RENAME_NOREPLACE),
	      EEXIST);
	OK(syscall(SYS_renameat2, AT_FDCWD, P("ra"), AT_FDCWD, P("rb"), RENAME_EXCHANGE));
	expect("ra", "B");
	expect("rb", "A");
	FAILS(syscall(SYS_renameat2, AT_FDCWD, P("ra"), AT_FDCWD, P("rc"), RENAME_EXCHANGE),
	      ENOENT);
	OK(syscall(SYS_renameat2, AT_FDCWD, P("ra"), AT_FDCWD, P("rc"), RENAME_NOREPLACE));
	FAILS(syscall(SYS_renameat2, AT_FDCWD, P("rc"), AT_FDCWD, P("rd"),
		      RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
	OK(rename(P("rc"), P("rb")));	/* over an existing file */
	expect("rb", "B");
	/* link */
	OK(link(P("rb"), P("rb2")));
	CHECK_EQ(st_of("rb").st_nlink, 2);
	CHECK_EQ(st_of("rb2").st_ino, st_of("rb").st_ino);
	FAILS(link(P("rb"), P("rb2")), EEXIST);
	FAILS(link(P("d"), P("dl")), EPERM);
	FAILS(link(P("missing"), P("m2")), ENOENT);
	OK(unlink(P("rb2")));
	CHECK_EQ(st_of("rb").st_nlink, 1);
	/* symlink, readlink */
	OK(symlink("d/sub/x", P("sl")));
	CHECK_EQ(readlink(P("sl"), target, sizeof(target)), 7);
	CHECK(!memcmp(target, "d/sub/x", 7));
	CHECK(S_ISLNK(st_of("sl").st_mode));
	CHECK_EQ(stat(P("sl"), &st), 0);
	CHECK(S_ISREG(st.st_mode));
	FAILS(readlink(P("rb"), target, sizeof(target)), EINVAL);
	FAILS(symlink("x", P("rb")), EEXIST);
	/* special files: none on fsd */
	FAILS(mkfifo(P("fifo"), 0644), EPERM);
	OK(mknod(P("regular"), S_IFREG | 0600, 0));
	CHECK_EQ(st_of("regular").st_mode, S_IFREG | 0600);
}

static void attributes(void)
{
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1200000000, 987654321 } };
	struct statvfs sv;
	struct stat st;
	char v[8];
	int fd;

	OK(chmod(P("rb"), 04751));
	CHECK_EQ(st_of("rb").st_mode, S_IFREG | 04751);
	OK(chown(P("rb"), 1234, 5678));
	st = st_of("rb");
	CHECK(st.st_uid == 1234 && st.st_gid == 5678);
	CHECK_EQ(st.st_mode & 07777, 0751);	/* chown drops set-user-ID */
	OK(utimensat(AT_FDCWD, P("rb"), ts, 0));
	st = st_of("rb");
	CHECK(st.st_atim.tv_sec == ts[0].tv_sec && st.st_atim.tv_nsec == ts[0].tv_nsec);
	CHECK(st.st_mtim.tv_sec == ts[1].tv_sec && st.st_mtim.tv_nsec == ts[1].tv_nsec);
	OK(utimensat(AT_FDCWD, P("rb"), NULL, 0));
	CHECK(st_of("rb").st_mtim.tv_sec > ts[1].tv_sec);
	FAILS(chmod(P("missing"), 0644), ENOENT);
	OK(statvfs(m.mnt, &sv));
	CHECK(sv.f_bsize == 4096 && sv.f_blocks > 0 && sv.f_bfree <= sv.f_blocks);
	CHECK_EQ(sv.f_namemax, 255);
	fd = open(m.mnt, O_RDONLY | O_DIRECTORY);
	OK(syncfs(fd));
	OK(fsync(fd));	/* FSYNCDIR */
	CHECK_EQ(close(fd), 0);
	/* No extended attributes on fsd. */
	FAILS(setxattr(P("rb"), "user.k", "v", 1, 0), EOPNOTSUPP);
	FAILS(getxattr(P("rb"), "user.k", v, sizeof(v)), EOPNOTSUPP);
	/* access(2) goes to fsd (ACCESS) */
	OK(access(P("rb"), R_OK | W_OK | X_OK));
	OK(chmod(P("rb"), 0644));
	FAILS(access(P("rb"), X_OK), EACCES);	/* root too: no x bit at all */
}

static void directory(void)
{
	char name[64];
	struct dirent *e;
	DIR *dir;
	int seen[400] = { 0 }, n = 0;

	OK(mkdir(P("many"), 0755));
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "many/file-with-a-longish-name-%03d", i);
		put(name, "z");
	}
	dir = opendir(P("many"));
	CHECK(dir != NULL);
	while ((e = readdir(dir))) {
		int i;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		CHECK_EQ(sscanf(e->d_name, "file-with-a-longish-name-%d", &i), 1);
		CHECK(i >= 0 && i < 400 && !seen[i]++);
		CHECK_EQ(e->d_type, DT_REG);
		n++;
	}
	CHECK_EQ(n, 400);
	CHECK_EQ(closedir(dir), 0);
	/* rm -r reads and removes as it goes */
	CHECK_EQ(t_sh("rm -r '%s'", P("many")), 0);
	FAILS(access(P("many"), F_OK), ENOENT);
	/* A directory removed while open reads as empty. */
	OK(mkdir(P("gone"), 0755));
	dir = opendir(P("gone"));
	CHECK(dir != NULL);
	OK(rmdir(P("gone")));
	errno = 0;
	while ((e = readdir(dir)))
		CHECK(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
	CHECK_EQ(errno, 0);
	CHECK_EQ(closedir(dir), 0);
	/* The hidden directory: not listed, not found, not to be made. */
	dir = opendir(m.mnt);
	CHECK(dir != NULL);
	while ((e = readdir(dir)))
		CHECK(strcmp(e->d_name, ".aoki-orphans"));
	CHECK_EQ(closedir(dir), 0);
	FAILS(access(P(".aoki-orphans"), F_OK), ENOENT);
	FAILS(mkdir(P(".aoki-orphans"), 0755), EPERM);
	FAILS(open(P(".aoki-orphans"), O_CREAT | O_RDWR, 0644), EPERM);
}

static void sparse_and_fallocate(void)
{
	char buf[8192], zero[8192] = { 0 };
	struct stat st;
	int fd = open(P("sparse"), O_CREAT | O_RDWR, 0644);

	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "end", 3, 100 << 20), 3);
	OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, (100 << 20) + 3);
	CHECK(st.st_blocks <= 16);	/* one 4 KiB block (8 sectors), no holes filled */
	CHECK_EQ(pread(fd, buf, sizeof(buf), 50 << 20), (long long)sizeof(buf));
	CHECK(!memcmp(buf, zero, sizeof(buf)));
	CHECK_EQ(close(fd), 0);

	fd = open(P("falloc"), O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	OK(fallocate(fd, 0, 0, 1 << 20));	/* allocate, extend */
	OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK(st.st_blocks >= 2048);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 4096), (long long)sizeof(buf));
	CHECK(!memcmp(buf, zero, sizeof(buf)));	/* unwritten reads as zeroes */
	OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
	OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK(st.st_blocks >= 4096);
	memset(buf, 'q', sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, sizeof(buf), 65536), (long long)sizeof(buf));
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536, 4096));
	CHECK_EQ(pread(fd, buf, sizeof(buf), 65536), (long long)sizeof(buf));
	CHECK(!memcmp(buf, zero, 4096));
	CHECK(buf[4096] == 'q' && buf[8191] == 'q');
	OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 65536 + 4096, 100));
	CHECK_EQ(pread(fd, buf, 200, 65536 + 4096), 200);
	CHECK(!memcmp(buf, zero, 100) && buf[100] == 'q');
	FAILS(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	FAILS(fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_EQ(close(fd), 0);
	fd = open(P("falloc"), O_RDONLY);
	FAILS(fallocate(fd, 0, 0, 4096), EBADF);
	CHECK_EQ(close(fd), 0);
}

static void mapped(void)
{
	int fd = open(P("mm"), O_CREAT | O_RDWR, 0644);
	char *p;

	CHECK(fd >= 0);
	OK(ftruncate(fd, 8192));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	memcpy(p + 4000, "mapped", 6);
	OK(msync(p, 8192, MS_SYNC));
	CHECK_EQ(munmap(p, 8192), 0);
	CHECK_EQ(close(fd), 0);
	fd = open(P("mm"), O_RDONLY);
	CHECK(fd >= 0);
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK(!memcmp(p + 4000, "mapped", 6));
	CHECK_EQ(munmap(p, 8192), 0);
	CHECK_EQ(close(fd), 0);
}

/* Unlink and rename over a file still open: as on ext4. */
static void open_unlinked(void)
{
	char buf[32] = { 0 };
	struct stat st;
	int fd, fd2;

	put("u", "still here");
	fd = open(P("u"), O_RDWR);
	CHECK(fd >= 0);
	OK(unlink(P("u")));
	FAILS(access(P("u"), F_OK), ENOENT);
	OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(orphans(), 1);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 10);
	CHECK(!strcmp(buf, "still here"));
	CHECK_EQ(pwrite(fd, "!", 1, 10), 1);
	OK(ftruncate(fd, 11));
	OK(fsync(fd));
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 11);
	CHECK(!memcmp(buf, "still here!", 11));
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(orphans_after_close(), 0);	/* the last close took the hidden name */

	/* A second name keeps the file without hiding it. */
	put("h1", "two names");
	OK(link(P("h1"), P("h2")));
	fd = open(P("h1"), O_RDONLY);
	CHECK(fd >= 0);
	OK(unlink(P("h1")));
	CHECK_EQ(orphans(), 0);
	OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 1);
	OK(unlink(P("h2")));	/* now the last one */
	CHECK_EQ(orphans(), 1);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 9);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(orphans_after_close(), 0);

	/* rename over an open file: the old data stays with the descriptor */
	put("ro", "old data");
	put("rn", "new data");
	fd = open(P("ro"), O_RDONLY);
	fd2 = open(P("ro"), O_RDONLY);
	CHECK(fd >= 0 && fd2 >= 0);
	OK(rename(P("rn"), P("ro")));
	expect("ro", "new data");
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 8);
	CHECK(!strcmp(buf, "old data"));
	CHECK_EQ(close(fd), 0);
	t_sleep_ms(20);
	CHECK_EQ(orphans(), 1);	/* fd2 still holds it */
	CHECK_EQ(pread(fd2, buf, sizeof(buf), 0), 8);
	CHECK(!strcmp(buf, "old data"));
	CHECK_EQ(close(fd2), 0);
	CHECK_EQ(orphans_after_close(), 0);
	/* a failed unlink keeps nothing hidden */
	put("sticky", "x");
	fd = open(P("sticky"), O_RDONLY);
	FAILS(unlink(P("sticky/")), ENOTDIR);
	CHECK_EQ(orphans(), 0);
	CHECK_EQ(close(fd), 0);
}

/* Changes by another client of fsd: a new name shows at once (absent
 * names are not cached), new data once the attributes expire (1 s): the
 * kernel drops cached pages when the mtime it fetches is new. */
static void other_client(void)
{
	char buf[16] = { 0 };
	int fd, afd;

	afd = aoki_fs_open(fs, "/other", O_CREAT | O_EXCL | O_WRONLY, 0644);
	CHECK(afd >= 0);
	CHECK_EQ(aoki_fs_write(fs, afd, "version1", 8), 8);
	fd = open(P("other"), O_RDONLY);	/* no negative entry was cached */
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, 8, 0), 8);
	CHECK(!memcmp(buf, "version1", 8));	/* now in the page cache */
	t_sleep_ms(20);	/* a later mtime (the server's clock is coarse) */
	CHECK_EQ(aoki_fs_pwrite(fs, afd, "version2", 8, 0), 8);
	CHECK_EQ(aoki_fs_close(fs, afd), 0);
	t_sleep_ms(1200);	/* attr_timeout */
	CHECK_EQ(pread(fd, buf, 8, 0), 8);
	CHECK(!memcmp(buf, "version2", 8));
	CHECK_EQ(close(fd), 0);
}

/* Four processes at once, each: create, write, reopen, unlink while
 * open, read back through the open descriptor, rename over, close. */
static void parallel(void)
{
	pid_t pids[4];
	int status;

	OK(mkdir(P("par"), 0755));
	for (int c = 0; c < 4; c++) {
		pids[c] = fork();
		CHECK(pids[c] >= 0);
		if (pids[c])
			continue;
		for (int i = 0; i < 100; i++) {
			char a[64], b[64], buf[8192], back[8192];
			int fd, fd2;

			snprintf(a, sizeof(a), "par/c%d-%d", c, i);
			snprintf(b, sizeof(b), "par/c%d-last", c);
			memset(buf, 'a' + c, sizeof(buf));
			buf[0] = (char)i;
			fd = open(P(a), O_CREAT | O_EXCL | O_RDWR, 0644);
			CHECK(fd >= 0);
			CHECK_EQ(write(fd, buf, sizeof(buf)), (long long)sizeof(buf));
			fd2 = open(P(a), O_RDONLY);
			CHECK(fd2 >= 0);
			if (i % 2)
				OK(unlink(P(a)));
			else
				OK(rename(P(a), P(b)));
			CHECK_EQ(pread(fd2, back, sizeof(back), 0), (long long)sizeof(back));
			CHECK(!memcmp(buf, back, sizeof(buf)));
			CHECK_EQ(close(fd), 0);
			CHECK_EQ(close(fd2), 0);
		}
		_exit(0);
	}
	for (int c = 0; c < 4; c++) {
		CHECK_EQ(waitpid(pids[c], &status, 0), pids[c]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_EQ(orphans_after_close(), 0);
	CHECK_EQ(t_sh("rm -r '%s'", P("par")), 0);
}

int main(void)
{
	struct t_fs_stack s;
	int fd;

	t_fuse_path();	/* skip early where FUSE cannot run */
	if (geteuid() != 0)
		t_skip("SKIP: fuse-posix runs as root (chown, other users' files)");
	umask(022);
	t_fs_stack_start(&s, 512);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	/* What a crashed aoki-fuse left in the hidden directory goes. */
	CHECK_EQ(aoki_fs_mkdir(fs, "/.aoki-orphans", 0700), 0);
	fd = aoki_fs_open(fs, "/.aoki-orphans/00000c0000000001", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	t_fuse_mount(&m, "mnt", NULL);
	CHECK_EQ(orphans(), 0);

	open_flags();
	big_io();
	truncation();
	names();
	attributes();
	directory();
	sparse_and_fallocate();
	mapped();
	open_unlinked();
	parallel();
	other_client();

	t_fuse_unmount(&m);
	aoki_fs_unmount(fs);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
