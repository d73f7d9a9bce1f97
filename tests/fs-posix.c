/* SPDX-License-Identifier: MIT */
/*
 * fs-posix: every call of <aoki/fs.h> against the error codes and
 * results Linux ext4 gives (each case was checked on a kernel ext4
 * mount): open flags, data at and past the end, sparse files, positions,
 * appends, truncation, fallocate, directories, rename (with NOREPLACE
 * and EXCHANGE), links, symbolic links, attributes and times, statvfs, a
 * 10 000-entry directory read whole and while being emptied, syncfs,
 * stale handles.  At the end e2fsck -fn must find the image clean.
 */
#define _GNU_SOURCE
#include "fs_util.h"

#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <time.h>

static struct aoki_fs *fs;

/* A call that must fail with errno @e. */
#define FAILS(call, e) CHECK_EQ((call), -(e))

/* File times come from the coarse clock, as the kernel's: up to a tick
 * (a few ms) behind CLOCK_REALTIME. */
#define COARSE_SLACK_NS 20000000ll

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ts_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct stat st_of(const char *path)
{
	struct stat st;

	CHECK_EQ(aoki_fs_stat(fs, path, &st), 0);
	return st;
}

static struct stat lst_of(const char *path)
{
	struct stat st;

	CHECK_EQ(aoki_fs_lstat(fs, path, &st), 0);
	return st;
}

/* Create @path holding @len bytes of @c. */
static void mkfile(const char *path, size_t len, int c)
{
	char *buf = malloc(len + 1);
	int fd = aoki_fs_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	CHECK(buf != NULL);
	CHECK(fd >= 0);
	memset(buf, c, len);
	if (len)
		CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, len, 0), (long long)len);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	free(buf);
}

/* Do @len bytes of @path at @off all equal @c? */
static int all_of(const char *path, uint64_t off, size_t len, int c)
{
	char *buf = malloc(len);
	int fd = aoki_fs_open(fs, path, O_RDONLY, 0), ok = 1;

	CHECK(buf != NULL);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_pread(fs, fd, buf, len, off), (long long)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (char)c) {
			fprintf(stderr, "%s: byte %llu is %d, not %d\n", path,
				(unsigned long long)(off + i), buf[i], c);
			ok = 0;
			break;
		}
	aoki_fs_close(fs, fd);
	free(buf);
	return ok;
}

static void test_open(void)
{
	char name[300];
	struct stat st;
	int fd, fd2;

	FAILS(aoki_fs_open(fs, "/nope", O_RDONLY, 0), ENOENT);
	FAILS(aoki_fs_open(fs, "", O_RDONLY, 0), ENOENT);
	fd = aoki_fs_open(fs, "/o", O_CREAT | O_EXCL | O_RDWR, 0666);
	CHECK(fd >= 0);
	st = st_of("/o");
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0644);	/* umask 022 */
	CHECK_EQ(st.st_uid, 0);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_size, 0);
	FAILS(aoki_fs_open(fs, "/o", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	CHECK_EQ(aoki_fs_write(fs, fd, "hello world", 11), 11);
	/* O_CREAT without O_EXCL opens the file as it is. */
	fd2 = aoki_fs_open(fs, "/o", O_CREAT | O_RDONLY, 0600);
	CHECK(fd2 >= 0);
	CHECK_EQ(st_of("/o").st_size, 11);
	CHECK_EQ(st_of("/o").st_mode & 07777, 0644);
	CHECK_EQ(aoki_fs_close(fs, fd2), 0);
	/* O_TRUNC */
	fd2 = aoki_fs_open(fs, "/o", O_WRONLY | O_TRUNC, 0);
	CHECK(fd2 >= 0);
	CHECK_EQ(st_of("/o").st_size, 0);
	CHECK_EQ(aoki_fs_close(fs, fd2), 0);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, "abc", 3, 0), 3);
	/* Linux truncates with O_RDONLY | O_TRUNC too (write permission). */
	fd2 = aoki_fs_open(fs, "/o", O_RDONLY | O_TRUNC, 0);
	CHECK(fd2 >= 0);
	CHECK_EQ(st_of("/o").st_size, 0);
	CHECK_EQ(aoki_fs_close(fs, fd2), 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	FAILS(aoki_fs_close(fs, fd), EBADF);

	CHECK_EQ(aoki_fs_mkdir(fs, "/od", 0755), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "o", "/ol"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "od", "/old"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "o-target", "/odangle"), 0);
	/* O_DIRECTORY */
	FAILS(aoki_fs_open(fs, "/o", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/o", O_WRONLY | O_DIRECTORY, 0), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/od", O_WRONLY | O_DIRECTORY, 0), EISDIR);
	fd = aoki_fs_open(fs, "/od", O_RDONLY | O_DIRECTORY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	fd = aoki_fs_open(fs, "/old", O_RDONLY | O_DIRECTORY, 0);	/* followed */
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	FAILS(aoki_fs_open(fs, "/old", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0), ENOTDIR);
	/* O_NOFOLLOW */
	FAILS(aoki_fs_open(fs, "/ol", O_RDONLY | O_NOFOLLOW, 0), ELOOP);
	FAILS(aoki_fs_open(fs, "/ol", O_CREAT | O_WRONLY | O_NOFOLLOW, 0644), ELOOP);
	fd = aoki_fs_open(fs, "/ol", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* O_CREAT through a dangling link creates its target; O_EXCL: EEXIST. */
	FAILS(aoki_fs_open(fs, "/odangle", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	FAILS(aoki_fs_open(fs, "/odangle", O_RDONLY, 0), ENOENT);
	fd = aoki_fs_open(fs, "/odangle", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK(S_ISREG(st_of("/o-target").st_mode));
	CHECK(S_ISLNK(lst_of("/odangle").st_mode));
	/* Directories cannot be opened for writing, or created over. */
	FAILS(aoki_fs_open(fs, "/od", O_WRONLY, 0), EISDIR);
	FAILS(aoki_fs_open(fs, "/od", O_RDWR, 0), EISDIR);
	FAILS(aoki_fs_open(fs, "/od", O_CREAT | O_RDONLY, 0644), EISDIR);
	FAILS(aoki_fs_open(fs, "/od", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
	FAILS(aoki_fs_open(fs, "/", O_WRONLY, 0), EISDIR);
	FAILS(aoki_fs_open(fs, "/od/.", O_CREAT | O_WRONLY, 0644), EISDIR);
	/* Missing parent, a file as a path component. */
	FAILS(aoki_fs_open(fs, "/missing/x", O_CREAT | O_WRONLY, 0644), ENOENT);
	FAILS(aoki_fs_open(fs, "/missing/x", O_RDONLY, 0), ENOENT);
	FAILS(aoki_fs_open(fs, "/o/x", O_RDONLY, 0), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/o/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/ol/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	/* Trailing slashes: the name must be a directory. */
	FAILS(aoki_fs_open(fs, "/o/", O_RDONLY, 0), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/ol/", O_RDONLY, 0), ENOTDIR);
	FAILS(aoki_fs_open(fs, "/onew/", O_CREAT | O_WRONLY, 0644), EISDIR);
	FAILS(aoki_fs_stat(fs, "/onew", &st), ENOENT);
	fd = aoki_fs_open(fs, "/od/", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK(S_ISDIR(lst_of("/old/").st_mode));	/* a trailing slash follows */
	/* Name lengths: 255 bytes is a name, 256 is not. */
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[256] = 0;
	fd = aoki_fs_open(fs, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(aoki_fs_stat(fs, name, &st), 0);
	CHECK_EQ(aoki_fs_unlink(fs, name), 0);
	name[256] = 'n';
	name[257] = 0;
	FAILS(aoki_fs_open(fs, name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	FAILS(aoki_fs_open(fs, name, O_RDONLY, 0), ENAMETOOLONG);
	FAILS(aoki_fs_mkdir(fs, name, 0755), ENAMETOOLONG);
	FAILS(aoki_fs_stat(fs, name, &st), ENAMETOOLONG);
	/* Flags this library refuses. */
	FAILS(aoki_fs_open(fs, "/o", O_RDONLY | O_DIRECT, 0), EINVAL);
	FAILS(aoki_fs_open(fs, "/o", O_ACCMODE, 0), EINVAL);
	FAILS(aoki_fs_open(fs, "/o", O_WRONLY | O_SYNC, 0), EINVAL);
}

static void test_data(void)
{
	char buf[16384], back[16384];
	struct stat st;
	int fd, fd2, ro;

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 13 + 1);
	fd = aoki_fs_open(fs, "/data", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	/* pread at and past the end */
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 10, 0), 0);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 10, 0), 10);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 100, 0), 10);
	CHECK(!memcmp(back, buf, 10));
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 100, 10), 0);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 100, 5), 5);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 100, 1 << 20), 0);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 0, 0), 0);
	/* pwrite past the end: the gap reads as zeroes */
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 100, 6000), 100);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 6100);
	memset(back, 0x55, sizeof(back));
	CHECK_EQ(aoki_fs_pread(fs, fd, back, sizeof(back), 0), 6100);
	CHECK(!memcmp(back, buf, 10));
	for (int i = 10; i < 6000; i++)
		CHECK_EQ(back[i], 0);
	CHECK(!memcmp(back + 6000, buf, 100));
	/* Unaligned overwrite across a block boundary. */
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 5000, 3000), 5000);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 8000, 0), 8000);
	CHECK(!memcmp(back, buf, 10));
	CHECK(!memcmp(back + 3000, buf, 5000));
	/* Positions: read and write move it, lseek sets it. */
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 0);
	CHECK_EQ(aoki_fs_read(fs, fd, back, 4), 4);
	CHECK(!memcmp(back, buf, 4));
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 4);
	CHECK_EQ(aoki_fs_write(fs, fd, "WXYZ", 4), 4);
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 8);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 8, 0), 8);
	CHECK(!memcmp(back + 4, "WXYZ", 4));
	CHECK_EQ(aoki_fs_lseek(fs, fd, -3, SEEK_END), 7997);
	CHECK_EQ(aoki_fs_read(fs, fd, back, 100), 3);
	CHECK_EQ(aoki_fs_read(fs, fd, back, 100), 0);
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 8000);
	CHECK_EQ(aoki_fs_lseek(fs, fd, 10, SEEK_SET), 10);
	CHECK_EQ(aoki_fs_lseek(fs, fd, -5, SEEK_CUR), 5);
	FAILS(aoki_fs_lseek(fs, fd, -6, SEEK_CUR), EINVAL);
	FAILS(aoki_fs_lseek(fs, fd, -1, SEEK_SET), EINVAL);
	FAILS(aoki_fs_lseek(fs, fd, 0, 42), EINVAL);
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 5);
	/* Seek past the end, write: a hole. */
	CHECK_EQ(aoki_fs_lseek(fs, fd, 20000, SEEK_SET), 20000);
	CHECK_EQ(aoki_fs_write(fs, fd, "end", 3), 3);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 20003);
	CHECK(all_of("/data", 8000, 12000, 0));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* Access modes. */
	ro = aoki_fs_open(fs, "/data", O_RDONLY, 0);
	CHECK(ro >= 0);
	FAILS(aoki_fs_write(fs, ro, "x", 1), EBADF);
	FAILS(aoki_fs_pwrite(fs, ro, "x", 1, 0), EBADF);
	FAILS(aoki_fs_ftruncate(fs, ro, 0), EINVAL);
	FAILS(aoki_fs_fallocate(fs, ro, 0, 0, 4096), EBADF);
	CHECK_EQ(aoki_fs_close(fs, ro), 0);
	fd = aoki_fs_open(fs, "/data", O_WRONLY, 0);
	CHECK(fd >= 0);
	FAILS(aoki_fs_read(fs, fd, back, 1), EBADF);
	FAILS(aoki_fs_pread(fs, fd, back, 1, 0), EBADF);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	FAILS(aoki_fs_pread(fs, 4000, back, 1, 0), EBADF);
	FAILS(aoki_fs_fstat(fs, -1, &st), EBADF);
	fd = aoki_fs_open(fs, "/", O_RDONLY, 0);
	CHECK(fd >= 0);
	FAILS(aoki_fs_read(fs, fd, back, 1), EISDIR);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);

	/* O_APPEND from two descriptors. */
	fd = aoki_fs_open(fs, "/app", O_CREAT | O_WRONLY | O_APPEND, 0644);
	fd2 = aoki_fs_open(fs, "/app", O_WRONLY | O_APPEND, 0);
	CHECK(fd >= 0 && fd2 >= 0);
	CHECK_EQ(aoki_fs_write(fs, fd, "aaaa", 4), 4);
	CHECK_EQ(aoki_fs_write(fs, fd2, "bbbbbb", 6), 6);
	CHECK_EQ(aoki_fs_write(fs, fd, "cc", 2), 2);
	CHECK_EQ(aoki_fs_lseek(fs, fd, 0, SEEK_CUR), 12);
	CHECK_EQ(aoki_fs_lseek(fs, fd2, 0, SEEK_CUR), 10);
	CHECK_EQ(aoki_fs_pwrite(fs, fd2, "d", 1, 0), 1);	/* appends, as Linux */
	CHECK_EQ(aoki_fs_write(fs, fd2, buf, 5000), 5000);	/* unaligned, across blocks */
	CHECK_EQ(aoki_fs_lseek(fs, fd2, 0, SEEK_CUR), 5013);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(aoki_fs_close(fs, fd2), 0);
	fd = aoki_fs_open(fs, "/app", O_RDONLY, 0);
	CHECK_EQ(aoki_fs_read(fs, fd, back, sizeof(back)), 5013);
	CHECK(!memcmp(back, "aaaabbbbbbccd", 13));
	CHECK(!memcmp(back + 13, buf, 5000));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_sparse(void)
{
	const uint64_t g = 1ull << 30;
	char buf[8192], back[8192];
	struct stat st;
	int fd = aoki_fs_open(fs, "/sparse", O_CREAT | O_RDWR, 0644);

	CHECK(fd >= 0);
	memset(buf, 0xab, sizeof(buf));
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 4096, g), 4096);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 100, 4096 * 3 + 7), 100);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, g + 4096);
	CHECK(st.st_blocks > 0 && st.st_blocks <= 64);	/* two blocks and an extent block */
	memset(back, 1, sizeof(back));
	CHECK_EQ(aoki_fs_pread(fs, fd, back, sizeof(back), g / 2), sizeof(back));
	for (unsigned i = 0; i < sizeof(back); i++)
		CHECK_EQ(back[i], 0);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, sizeof(back), g - 4096), sizeof(back));
	for (unsigned i = 0; i < 4096; i++)
		CHECK_EQ(back[i], 0);
	CHECK(!memcmp(back + 4096, buf, 4096));
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 4096, 4096 * 3), 4096);
	for (unsigned i = 0; i < 4096; i++)
		CHECK_EQ(back[i], i >= 7 && i < 107 ? (char)0xab : 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_truncate(void)
{
	struct stat st;
	int fd;

	mkfile("/tr", 3 * 4096 + 100, 'x');
	fd = aoki_fs_open(fs, "/tr", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_ftruncate(fs, fd, 5000), 0);	/* down, mid-block */
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 5000);
	CHECK_EQ(st.st_blocks, 16);
	CHECK_EQ(aoki_fs_ftruncate(fs, fd, 20000), 0);	/* up again */
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 20000);
	CHECK(all_of("/tr", 0, 5000, 'x'));
	CHECK(all_of("/tr", 5000, 15000, 0));	/* the old data stays gone */
	CHECK_EQ(aoki_fs_truncate(fs, "/tr", 100), 0);
	CHECK_EQ(aoki_fs_truncate(fs, "/tr", 4096), 0);
	CHECK(all_of("/tr", 0, 100, 'x'));
	CHECK(all_of("/tr", 100, 3996, 0));
	CHECK_EQ(aoki_fs_truncate(fs, "/tr", 0), 0);
	CHECK_EQ(st_of("/tr").st_blocks, 0);
	FAILS(aoki_fs_truncate(fs, "/tr", -1), EINVAL);
	FAILS(aoki_fs_ftruncate(fs, fd, -1), EINVAL);
	FAILS(aoki_fs_truncate(fs, "/", 0), EISDIR);
	FAILS(aoki_fs_truncate(fs, "/tr-missing", 0), ENOENT);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_fallocate(void)
{
	struct stat st;
	blkcnt_t before;
	int fd = aoki_fs_open(fs, "/fa", O_CREAT | O_RDWR, 0644);

	CHECK(fd >= 0);
	/* mode 0: allocates and extends; reads zeroes */
	CHECK_EQ(aoki_fs_fallocate(fs, fd, 0, 0, 1 << 20), 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK(st.st_blocks >= 2048);
	CHECK(all_of("/fa", 0, 1 << 20, 0));
	/* KEEP_SIZE: blocks past the end, the size stays */
	CHECK_EQ(aoki_fs_fallocate(fs, fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20), 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK(st.st_blocks >= 4096);
	/* A file of data; punch the middle */
	mkfile("/fp", 256 << 10, 'p');
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	fd = aoki_fs_open(fs, "/fp", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	before = st.st_blocks;
	CHECK_EQ(aoki_fs_fallocate(fs, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 << 10,
				   64 << 10), 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 256 << 10);
	CHECK_EQ(st.st_blocks, before - 128);
	CHECK(all_of("/fp", 0, 64 << 10, 'p'));
	CHECK(all_of("/fp", 64 << 10, 64 << 10, 0));
	CHECK(all_of("/fp", 128 << 10, 128 << 10, 'p'));
	/* Unaligned punch: exactly those bytes */
	CHECK_EQ(aoki_fs_fallocate(fs, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 150000,
				   10000), 0);
	CHECK(all_of("/fp", 128 << 10, 150000 - (128 << 10), 'p'));
	CHECK(all_of("/fp", 150000, 10000, 0));
	CHECK(all_of("/fp", 160000, (256 << 10) - 160000, 'p'));
	/* ZERO_RANGE */
	CHECK_EQ(aoki_fs_fallocate(fs, fd, FALLOC_FL_ZERO_RANGE, 1000, 3000), 0);
	CHECK(all_of("/fp", 0, 1000, 'p'));
	CHECK(all_of("/fp", 1000, 3000, 0));
	CHECK(all_of("/fp", 4000, 1000, 'p'));
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 256 << 10);
	/* punch past the end keeps the size */
	CHECK_EQ(aoki_fs_fallocate(fs, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   250 << 10, 1 << 20), 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 256 << 10);
	CHECK(all_of("/fp", 250 << 10, 6 << 10, 0));
	FAILS(aoki_fs_fallocate(fs, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	FAILS(aoki_fs_fallocate(fs, fd, 0, 0, 0), EINVAL);
	FAILS(aoki_fs_fallocate(fs, fd, 0, -1, 4096), EINVAL);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_dirs(void)
{
	char name[300];
	struct stat st;

	CHECK_EQ(aoki_fs_mkdir(fs, "/d", 0777), 0);
	st = st_of("/d");
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_size, 4096);
	FAILS(aoki_fs_mkdir(fs, "/d", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/o", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/ol", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/odangle", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/d/..", 0755), EEXIST);
	FAILS(aoki_fs_mkdir(fs, "/nodir/x", 0755), ENOENT);
	FAILS(aoki_fs_mkdir(fs, "/o/x", 0755), ENOTDIR);
	FAILS(aoki_fs_mkdir(fs, "", 0755), ENOENT);
	CHECK_EQ(aoki_fs_mkdir(fs, "/d/s1", 0700), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/d/s2/", 0700), 0);	/* a trailing slash is fine */
	CHECK_EQ(st_of("/d").st_nlink, 4);
	CHECK_EQ(st_of("/d/s1").st_nlink, 2);
	CHECK_EQ(st_of("/d/s1/..").st_ino, st_of("/d").st_ino);
	CHECK_EQ(st_of("/d/s1/../s2/.").st_ino, st_of("/d/s2").st_ino);
	CHECK_EQ(st_of("/..").st_ino, 2);
	memset(name, 'm', sizeof(name));
	memcpy(name, "/d/", 3);
	name[258] = 0;		/* 255-byte name */
	CHECK_EQ(aoki_fs_mkdir(fs, name, 0755), 0);
	CHECK_EQ(aoki_fs_rmdir(fs, name), 0);
	mkfile("/d/f", 10, 'f');
	FAILS(aoki_fs_rmdir(fs, "/d"), ENOTEMPTY);
	FAILS(aoki_fs_rmdir(fs, "/d/f"), ENOTDIR);
	FAILS(aoki_fs_rmdir(fs, "/d/f/"), ENOTDIR);
	FAILS(aoki_fs_rmdir(fs, "/d/nope"), ENOENT);
	FAILS(aoki_fs_rmdir(fs, "/d/s1/."), EINVAL);
	FAILS(aoki_fs_rmdir(fs, "/d/s1/.."), ENOTEMPTY);
	FAILS(aoki_fs_rmdir(fs, "/"), EBUSY);
	FAILS(aoki_fs_rmdir(fs, "/old"), ENOTDIR);	/* a link to a directory */
	FAILS(aoki_fs_rmdir(fs, "/old/"), ENOTDIR);
	FAILS(aoki_fs_unlink(fs, "/d"), EISDIR);
	FAILS(aoki_fs_unlink(fs, "/d/"), EISDIR);
	FAILS(aoki_fs_unlink(fs, "/d/f/"), ENOTDIR);
	FAILS(aoki_fs_unlink(fs, "/old/"), ENOTDIR);
	FAILS(aoki_fs_unlink(fs, "/d/nope"), ENOENT);
	FAILS(aoki_fs_unlink(fs, "/d/f/x"), ENOTDIR);
	CHECK_EQ(aoki_fs_rmdir(fs, "/d/s2/"), 0);
	CHECK_EQ(st_of("/d").st_nlink, 3);
	CHECK_EQ(aoki_fs_unlink(fs, "/d/f"), 0);
	FAILS(aoki_fs_stat(fs, "/d/f", &st), ENOENT);
	CHECK_EQ(aoki_fs_rmdir(fs, "/d/s1"), 0);
	CHECK_EQ(st_of("/d").st_nlink, 2);
	CHECK_EQ(aoki_fs_rmdir(fs, "/d"), 0);
	FAILS(aoki_fs_stat(fs, "/d", &st), ENOENT);
	FAILS(aoki_fs_rmdir(fs, "/d"), ENOENT);
}

static void test_rename(void)
{
	struct stat st, a, b;
	char buf[16];
	int fd;

	CHECK_EQ(aoki_fs_mkdir(fs, "/r", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/x", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/y", 0755), 0);
	/* file over file */
	mkfile("/r/f1", 1, '1');
	mkfile("/r/f2", 2, '2');
	a = st_of("/r/f1");
	CHECK_EQ(aoki_fs_rename(fs, "/r/f1", "/r/f2"), 0);
	FAILS(aoki_fs_stat(fs, "/r/f1", &st), ENOENT);
	st = st_of("/r/f2");
	CHECK_EQ(st.st_ino, a.st_ino);
	CHECK_EQ(st.st_size, 1);
	/* file to a new name in another directory */
	CHECK_EQ(aoki_fs_rename(fs, "/r/f2", "/r/x/f"), 0);
	CHECK_EQ(st_of("/r/x/f").st_ino, a.st_ino);
	CHECK_EQ(st_of("/r/x/f").st_nlink, 1);
	/* dir over an empty dir, across directories */
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/y/empty", 0755), 0);
	CHECK_EQ(st_of("/r/y").st_nlink, 3);
	CHECK_EQ(st_of("/r/x").st_nlink, 2);
	a = st_of("/r/x");
	CHECK_EQ(aoki_fs_rename(fs, "/r/x", "/r/y/empty"), 0);
	CHECK_EQ(st_of("/r/y/empty").st_ino, a.st_ino);
	CHECK_EQ(st_of("/r/y/empty/..").st_ino, st_of("/r/y").st_ino);
	CHECK_EQ(st_of("/r/y").st_nlink, 3);
	CHECK_EQ(st_of("/r").st_nlink, 3);	/* ".", "..", y */
	CHECK_EQ(st_of("/r/y/empty/f").st_size, 1);
	/* dir over a non-empty dir; file over dir; dir over file */
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/z", 0755), 0);
	FAILS(aoki_fs_rename(fs, "/r/z", "/r/y"), ENOTEMPTY);
	mkfile("/r/g", 3, 'g');
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/z"), EISDIR);
	FAILS(aoki_fs_rename(fs, "/r/z", "/r/g"), ENOTDIR);
	/* trailing slashes */
	FAILS(aoki_fs_rename(fs, "/r/g/", "/r/g2"), ENOTDIR);
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/g2/"), ENOTDIR);
	CHECK_EQ(aoki_fs_rename(fs, "/r/z/", "/r/z2/"), 0);
	CHECK_EQ(aoki_fs_rename(fs, "/r/z2", "/r/z"), 0);
	/* a dir into itself or its own subdirectory */
	FAILS(aoki_fs_rename(fs, "/r/y", "/r/y/empty/sub"), EINVAL);
	FAILS(aoki_fs_rename(fs, "/r", "/r/y/sub"), EINVAL);
	CHECK_EQ(aoki_fs_rename(fs, "/r/y", "/r/y"), 0);
	/* "." and ".." */
	FAILS(aoki_fs_rename(fs, "/r/y/.", "/r/q"), EBUSY);
	FAILS(aoki_fs_rename(fs, "/r/y/..", "/r/q"), EBUSY);
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/y/."), EBUSY);
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/y/.."), EBUSY);
	/* missing names */
	FAILS(aoki_fs_rename(fs, "/r/nope", "/r/q"), ENOENT);
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/nodir/q"), ENOENT);
	FAILS(aoki_fs_rename(fs, "/r/g", "/r/g/q"), ENOTDIR);
	/* two names of one file: nothing happens */
	CHECK_EQ(aoki_fs_link(fs, "/r/g", "/r/g-link"), 0);
	CHECK_EQ(aoki_fs_rename(fs, "/r/g", "/r/g-link"), 0);
	CHECK_EQ(st_of("/r/g").st_nlink, 2);
	CHECK_EQ(st_of("/r/g-link").st_nlink, 2);
	/* a file over one of several links of another file */
	mkfile("/r/h", 4, 'h');
	CHECK_EQ(aoki_fs_rename(fs, "/r/h", "/r/g-link"), 0);
	CHECK_EQ(st_of("/r/g").st_nlink, 1);
	CHECK_EQ(st_of("/r/g-link").st_size, 4);
	/* RENAME_NOREPLACE */
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/g", AOKI_FS_CWD, "/r/g-link",
				RENAME_NOREPLACE), EEXIST);
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/z", AOKI_FS_CWD, "/r/y", RENAME_NOREPLACE),
	      EEXIST);
	CHECK_EQ(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/g", AOKI_FS_CWD, "/r/g2",
				   RENAME_NOREPLACE), 0);
	CHECK_EQ(st_of("/r/g2").st_size, 3);
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/g2", AOKI_FS_CWD, "/r/g3",
				RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/g2", AOKI_FS_CWD, "/r/g3", 8), EINVAL);
	/* RENAME_EXCHANGE of a file in /r/ex1 and a dir (with a child) in
	 * /r/ex2/deep: the dir's ".." and both parents' link counts follow. */
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/ex1", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/ex2", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/ex2/deep", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/ex2/deep/dir", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/r/ex2/deep/dir/child", 0755), 0);
	mkfile("/r/ex1/file", 5, 'e');
	a = st_of("/r/ex1/file");
	b = st_of("/r/ex2/deep/dir");
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/ex1/file", AOKI_FS_CWD, "/r/ex1/none",
				RENAME_EXCHANGE), ENOENT);
	CHECK_EQ(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/ex1/file", AOKI_FS_CWD,
				   "/r/ex2/deep/dir", RENAME_EXCHANGE), 0);
	CHECK_EQ(lst_of("/r/ex1/file").st_ino, b.st_ino);
	CHECK(S_ISDIR(st_of("/r/ex1/file").st_mode));
	CHECK_EQ(lst_of("/r/ex2/deep/dir").st_ino, a.st_ino);
	CHECK(S_ISREG(st_of("/r/ex2/deep/dir").st_mode));
	CHECK_EQ(st_of("/r/ex1/file/..").st_ino, st_of("/r/ex1").st_ino);
	CHECK_EQ(st_of("/r/ex1/file/child/../..").st_ino, st_of("/r/ex1").st_ino);
	CHECK_EQ(st_of("/r/ex1").st_nlink, 3);
	CHECK_EQ(st_of("/r/ex2/deep").st_nlink, 2);
	CHECK_EQ(st_of("/r/ex1/file").st_nlink, 3);
	CHECK_EQ(st_of("/r/ex2/deep/dir").st_nlink, 1);
	/* and back, dirfd-relative */
	fd = aoki_fs_open(fs, "/r/ex2", O_RDONLY | O_DIRECTORY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_renameat2(fs, fd, "deep/dir", AOKI_FS_CWD, "/r/ex1/file",
				   RENAME_EXCHANGE), 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(lst_of("/r/ex1/file").st_ino, a.st_ino);
	CHECK_EQ(st_of("/r/ex2/deep/dir/..").st_ino, st_of("/r/ex2/deep").st_ino);
	CHECK_EQ(st_of("/r/ex1").st_nlink, 2);
	CHECK_EQ(st_of("/r/ex2/deep").st_nlink, 3);
	/* exchanging a dir with its own descendant */
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/r/ex2", AOKI_FS_CWD, "/r/ex2/deep/dir/child",
				RENAME_EXCHANGE), EINVAL);
	/* the data went with the names */
	fd = aoki_fs_open(fs, "/r/ex1/file", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_read(fs, fd, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "eeeee", 5));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_link(void)
{
	struct stat st;
	int64_t ct;

	mkfile("/l1", 7, 'l');
	ct = ts_ns(st_of("/l1").st_ctim);
	CHECK_EQ(aoki_fs_link(fs, "/l1", "/l2"), 0);
	st = st_of("/l2");
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_ino, st_of("/l1").st_ino);
	CHECK(ts_ns(st.st_ctim) >= ct);
	CHECK_EQ(aoki_fs_mkdir(fs, "/ld", 0755), 0);
	CHECK_EQ(aoki_fs_link(fs, "/l1", "/ld/l3"), 0);
	CHECK_EQ(st_of("/l1").st_nlink, 3);
	FAILS(aoki_fs_link(fs, "/l1", "/l2"), EEXIST);
	FAILS(aoki_fs_link(fs, "/ld", "/ld2"), EPERM);
	FAILS(aoki_fs_link(fs, "/nope", "/l4"), ENOENT);
	FAILS(aoki_fs_link(fs, "/l1", "/nodir/l4"), ENOENT);
	FAILS(aoki_fs_link(fs, "/l1/", "/l4"), ENOTDIR);
	FAILS(aoki_fs_link(fs, "/l1", "/l4/"), ENOENT);
	/* a link to a symbolic link is to the link itself */
	CHECK_EQ(aoki_fs_symlink(fs, "l1", "/lsym"), 0);
	CHECK_EQ(aoki_fs_link(fs, "/lsym", "/lsym2"), 0);
	CHECK(S_ISLNK(lst_of("/lsym2").st_mode));
	CHECK_EQ(lst_of("/lsym2").st_nlink, 2);
	CHECK_EQ(aoki_fs_unlink(fs, "/l1"), 0);
	CHECK_EQ(st_of("/l2").st_nlink, 2);
	CHECK(all_of("/ld/l3", 0, 7, 'l'));
	CHECK_EQ(aoki_fs_unlink(fs, "/ld/l3"), 0);
	CHECK_EQ(st_of("/l2").st_nlink, 1);
}

static void test_symlink(void)
{
	char target[4096], buf[4096];
	struct stat st;
	int fd;

	CHECK_EQ(aoki_fs_mkdir(fs, "/sd", 0755), 0);
	mkfile("/sd/file", 11, 's');
	CHECK_EQ(aoki_fs_symlink(fs, "file", "/sd/rel"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "/sd/file", "/abs"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "../sd/./file", "/sd/up"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "sd", "/sdl"), 0);
	/* a chain: c1 -> c2 -> c3 -> abs -> /sd/file */
	CHECK_EQ(aoki_fs_symlink(fs, "c2", "/c1"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "/c3", "/c2"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "abs", "/c3"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "loop2", "/loop1"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "loop1", "/loop2"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "self", "/self"), 0);
	CHECK_EQ(aoki_fs_symlink(fs, "/nowhere/x", "/dangling"), 0);
	FAILS(aoki_fs_symlink(fs, "x", "/abs"), EEXIST);
	FAILS(aoki_fs_symlink(fs, "x", "/sd"), EEXIST);
	FAILS(aoki_fs_symlink(fs, "", "/empty"), ENOENT);
	FAILS(aoki_fs_symlink(fs, "x", "/nodir/s"), ENOENT);
	FAILS(aoki_fs_symlink(fs, "x", "/s-new/"), ENOENT);
	const char *all[] = { "/sd/rel", "/abs", "/sd/up", "/sdl/file", "/sdl/rel", "/c1" };

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		st = st_of(all[i]);
		CHECK(S_ISREG(st.st_mode));
		CHECK_EQ(st.st_size, 11);
		CHECK(all_of(all[i], 0, 11, 's'));
	}
	st = lst_of("/abs");
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_size, 8);
	CHECK_EQ(st.st_mode & 07777, 0777);
	CHECK_EQ(aoki_fs_readlink(fs, "/abs", buf, sizeof(buf)), 8);
	CHECK(!memcmp(buf, "/sd/file", 8));
	CHECK_EQ(aoki_fs_readlink(fs, "/abs", buf, 3), 3);	/* truncated */
	CHECK(!memcmp(buf, "/sd", 3));
	CHECK_EQ(aoki_fs_readlink(fs, "/c2", buf, sizeof(buf)), 3);
	CHECK_EQ(aoki_fs_readlink(fs, "/sdl/up", buf, sizeof(buf)), 12);	/* via a link */
	FAILS(aoki_fs_readlink(fs, "/sd/file", buf, sizeof(buf)), EINVAL);
	FAILS(aoki_fs_readlink(fs, "/sd", buf, sizeof(buf)), EINVAL);
	FAILS(aoki_fs_readlink(fs, "/nope", buf, sizeof(buf)), ENOENT);
	FAILS(aoki_fs_open(fs, "/loop1", O_RDONLY, 0), ELOOP);
	FAILS(aoki_fs_open(fs, "/self", O_RDONLY, 0), ELOOP);
	FAILS(aoki_fs_stat(fs, "/loop2", &st), ELOOP);
	FAILS(aoki_fs_stat(fs, "/loop1/x", &st), ELOOP);
	CHECK(S_ISLNK(lst_of("/loop1").st_mode));
	FAILS(aoki_fs_open(fs, "/dangling", O_RDONLY, 0), ENOENT);
	FAILS(aoki_fs_stat(fs, "/dangling", &st), ENOENT);
	CHECK(S_ISLNK(lst_of("/dangling").st_mode));
	/* lstat of a link to a directory with a trailing slash: the dir */
	CHECK(S_ISLNK(lst_of("/sdl").st_mode));
	CHECK(S_ISDIR(lst_of("/sdl/").st_mode));
	/* 40 links are followed, 41 are not (as Linux's MAXSYMLINKS) */
	for (int i = 0; i < 41; i++) {
		char n[32], t[32];

		snprintf(n, sizeof(n), "/sd/ch%d", i);
		snprintf(t, sizeof(t), i ? "ch%d" : "file", i - 1);
		CHECK_EQ(aoki_fs_symlink(fs, t, n), 0);
	}
	CHECK_EQ(st_of("/sd/ch39").st_size, 11);
	FAILS(aoki_fs_stat(fs, "/sd/ch40", &st), ELOOP);
	/* long targets: in a block, and the longest a 4 KiB block holds */
	memset(target, 'a', sizeof(target));
	for (int i = 1; i < 4095; i += 2)
		target[i] = '/';
	target[200] = 0;
	CHECK_EQ(aoki_fs_symlink(fs, target, "/long200"), 0);
	CHECK_EQ(aoki_fs_readlink(fs, "/long200", buf, sizeof(buf)), 200);
	CHECK(!memcmp(buf, target, 200));
	target[200] = 'a';
	target[4095] = 0;
	CHECK_EQ(aoki_fs_symlink(fs, target, "/long4095"), 0);
	CHECK_EQ(lst_of("/long4095").st_size, 4095);
	CHECK_EQ(aoki_fs_readlink(fs, "/long4095", buf, sizeof(buf)), 4095);
	CHECK(!memcmp(buf, target, 4095));
	/* unlink removes the link, not the target */
	CHECK_EQ(aoki_fs_unlink(fs, "/c1"), 0);
	CHECK_EQ(st_of("/c2").st_size, 11);
	fd = aoki_fs_open(fs, "/sdl/../abs", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

static void test_attrs(void)
{
	struct timespec ts[2];
	struct stat st;
	int64_t t0, t1, ct;
	int fd;

	mkfile("/at", 10, 'a');
	fd = aoki_fs_open(fs, "/at", O_RDWR, 0);
	CHECK(fd >= 0);
	ct = ts_ns(st_of("/at").st_ctim);
	CHECK_EQ(aoki_fs_chmod(fs, "/at", 04751), 0);
	st = st_of("/at");
	CHECK_EQ(st.st_mode, S_IFREG | 04751);
	CHECK(ts_ns(st.st_ctim) >= ct);
	CHECK_EQ(aoki_fs_fchmod(fs, fd, 0600), 0);
	CHECK_EQ(st_of("/at").st_mode, S_IFREG | 0600);
	CHECK_EQ(aoki_fs_chmod(fs, "/nope", 0600), -ENOENT);
	/* chmod follows links */
	CHECK_EQ(aoki_fs_symlink(fs, "at", "/atl"), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/atl", 0640), 0);
	CHECK_EQ(st_of("/at").st_mode, S_IFREG | 0640);
	CHECK_EQ(lst_of("/atl").st_mode, S_IFLNK | 0777);
	/* chown (root) */
	CHECK_EQ(aoki_fs_chown(fs, "/at", 1000, 2000), 0);
	st = st_of("/at");
	CHECK_EQ(st.st_uid, 1000);
	CHECK_EQ(st.st_gid, 2000);
	CHECK_EQ(aoki_fs_fchown(fs, fd, (uid_t)-1, 3000), 0);
	CHECK_EQ(st_of("/at").st_uid, 1000);
	CHECK_EQ(st_of("/at").st_gid, 3000);
	CHECK_EQ(aoki_fs_chown(fs, "/at", 70000, (gid_t)-1), 0);	/* 32-bit ids */
	CHECK_EQ(st_of("/at").st_uid, 70000);
	CHECK_EQ(aoki_fs_chown(fs, "/at", (uid_t)-1, (gid_t)-1), 0);
	CHECK_EQ(st_of("/at").st_uid, 70000);
	CHECK_EQ(st_of("/at").st_gid, 3000);
	/* chown of a set-user-ID file drops the bit */
	CHECK_EQ(aoki_fs_chmod(fs, "/at", 04755), 0);
	CHECK_EQ(aoki_fs_chown(fs, "/at", 0, 0), 0);
	CHECK_EQ(st_of("/at").st_mode, S_IFREG | 0755);
	/* times, with nanoseconds, and past 2038 and before 1970 */
	ts[0] = (struct timespec){ 1234567890, 123456789 };
	ts[1] = (struct timespec){ 1600000000, 987654321 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/at", ts, 0), 0);
	st = st_of("/at");
	CHECK_EQ(ts_ns(st.st_atim), 1234567890123456789ll);
	CHECK_EQ(ts_ns(st.st_mtim), 1600000000987654321ll);
	ts[0] = (struct timespec){ 4102444800ll, 5 };	/* 2100 */
	ts[1] = (struct timespec){ -1, 500000000 };	/* 1969 */
	CHECK_EQ(aoki_fs_futimens(fs, fd, ts), 0);
	st = st_of("/at");
	CHECK_EQ(st.st_atim.tv_sec, 4102444800ll);
	CHECK_EQ(st.st_atim.tv_nsec, 5);
	CHECK_EQ(st.st_mtim.tv_sec, -1);
	CHECK_EQ(st.st_mtim.tv_nsec, 500000000);
	/* UTIME_OMIT keeps, UTIME_NOW takes the clock */
	ts[0] = (struct timespec){ 0, UTIME_OMIT };
	ts[1] = (struct timespec){ 1000, 1 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/at", ts, 0), 0);
	st = st_of("/at");
	CHECK_EQ(st.st_atim.tv_sec, 4102444800ll);
	CHECK_EQ(ts_ns(st.st_mtim), 1000000000001ll);
	t0 = real_ns() - COARSE_SLACK_NS;
	ts[0] = (struct timespec){ 0, UTIME_NOW };
	ts[1] = (struct timespec){ 0, UTIME_OMIT };
	CHECK_EQ(aoki_fs_futimens(fs, fd, ts), 0);
	t1 = real_ns();
	st = st_of("/at");
	CHECK(ts_ns(st.st_atim) >= t0 && ts_ns(st.st_atim) <= t1);
	CHECK_EQ(ts_ns(st.st_mtim), 1000000000001ll);
	CHECK(ts_ns(st.st_ctim) >= t0 && ts_ns(st.st_ctim) <= t1);
	t0 = real_ns() - COARSE_SLACK_NS;
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/at", NULL, 0), 0);
	t1 = real_ns();
	st = st_of("/at");
	CHECK(ts_ns(st.st_atim) >= t0 && ts_ns(st.st_atim) <= t1);
	CHECK(ts_ns(st.st_mtim) >= t0 && ts_ns(st.st_mtim) <= t1);
	ts[0] = (struct timespec){ 0, 1000000000 };
	FAILS(aoki_fs_futimens(fs, fd, ts), EINVAL);
	FAILS(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/at", NULL, 0x1000), EINVAL);
	/* AT_SYMLINK_NOFOLLOW sets the link's own times */
	ts[0] = (struct timespec){ 111, 1 };
	ts[1] = (struct timespec){ 222, 2 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/atl", ts, AT_SYMLINK_NOFOLLOW), 0);
	CHECK_EQ(ts_ns(lst_of("/atl").st_mtim), 222000000002ll);
	CHECK(ts_ns(st_of("/at").st_mtim) != 222000000002ll);
	/* a write moves mtime and ctime */
	t0 = real_ns() - COARSE_SLACK_NS;
	CHECK_EQ(aoki_fs_pwrite(fs, fd, "x", 1, 0), 1);
	st = st_of("/at");
	CHECK(ts_ns(st.st_mtim) >= t0);
	CHECK(ts_ns(st.st_ctim) >= t0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* creating and removing names moves the directory's mtime */
	CHECK_EQ(aoki_fs_mkdir(fs, "/tdir", 0755), 0);
	ts[0] = ts[1] = (struct timespec){ 100, 0 };
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/tdir", ts, 0), 0);
	t0 = real_ns() - COARSE_SLACK_NS;
	mkfile("/tdir/a", 0, 0);
	CHECK(ts_ns(st_of("/tdir").st_mtim) >= t0);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/tdir", ts, 0), 0);
	t0 = real_ns() - COARSE_SLACK_NS;
	CHECK_EQ(aoki_fs_rename(fs, "/tdir/a", "/tdir/b"), 0);
	CHECK(ts_ns(st_of("/tdir").st_mtim) >= t0);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/tdir", ts, 0), 0);
	t0 = real_ns() - COARSE_SLACK_NS;
	CHECK_EQ(aoki_fs_unlink(fs, "/tdir/b"), 0);
	CHECK(ts_ns(st_of("/tdir").st_mtim) >= t0);
}

static void test_stat(void)
{
	struct statvfs sv, sv2;
	struct stat st, root;
	int fd;

	root = st_of("/");
	CHECK(S_ISDIR(root.st_mode));
	CHECK_EQ(root.st_ino, 2);
	CHECK_EQ(root.st_blksize, 4096);
	/* a directory's link count is 2 plus its subdirectories */
	CHECK_EQ(aoki_fs_mkdir(fs, "/nl", 0755), 0);
	for (int i = 0; i < 5; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/nl/d%d", i);
		CHECK_EQ(aoki_fs_mkdir(fs, p, 0755), 0);
		snprintf(p, sizeof(p), "/nl/f%d", i);
		mkfile(p, 0, 0);
	}
	CHECK_EQ(st_of("/nl").st_nlink, 7);
	CHECK_EQ(st_of("/").st_nlink, root.st_nlink + 1);
	mkfile("/st", 5000, 'z');
	fd = aoki_fs_open(fs, "/st", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 5000);
	CHECK_EQ(st.st_blocks, 16);
	CHECK_EQ(st.st_blksize, 4096);
	CHECK_EQ(st.st_nlink, 1);
	CHECK(st.st_ino > 11);
	CHECK(st.st_ino != st_of("/nl").st_ino);
	CHECK_EQ(st_of("/st").st_ino, st.st_ino);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* statvfs */
	CHECK_EQ(aoki_fs_statvfs(fs, &sv), 0);
	CHECK_EQ(sv.f_bsize, 4096);
	CHECK_EQ(sv.f_frsize, 4096);
	CHECK_EQ(sv.f_blocks, 128 * 256);
	CHECK(sv.f_bfree > 0 && sv.f_bfree < sv.f_blocks);
	CHECK(sv.f_bavail <= sv.f_bfree);
	CHECK(sv.f_files > 0 && sv.f_ffree < sv.f_files);
	CHECK_EQ(sv.f_namemax, 255);
	mkfile("/big", 4 << 20, 'b');
	CHECK_EQ(aoki_fs_statvfs(fs, &sv2), 0);
	CHECK(sv2.f_bfree <= sv.f_bfree - 1024);
	CHECK_EQ(sv2.f_ffree, sv.f_ffree - 1);
	CHECK_EQ(aoki_fs_unlink(fs, "/big"), 0);
	CHECK_EQ(aoki_fs_syncfs(fs), 0);
	CHECK_EQ(aoki_fs_statvfs(fs, &sv2), 0);
	CHECK_EQ(sv2.f_ffree, sv.f_ffree);
	CHECK(sv2.f_bfree >= sv.f_bfree - 4);
}

/* 10 000 entries: every name exactly once, then again while removing
 * each entry as it is read (rm -r). */
#define NBIG 10000
static void read_big(int remove)
{
	static unsigned char seen[NBIG];
	struct aoki_fs_dir *dir;
	struct aoki_fs_dirent e;
	int dots = 0, n = 0, r;

	memset(seen, 0, sizeof(seen));
	CHECK_EQ(aoki_fs_opendir(fs, "/bigdir", &dir), 0);
	while ((r = aoki_fs_readdir(dir, &e)) == 1) {
		char path[300];
		int i;

		if (!strcmp(e.name, ".") || !strcmp(e.name, "..")) {
			CHECK_EQ(e.type, DT_DIR);
			dots++;
			continue;
		}
		CHECK_EQ(sscanf(e.name, "entry-%d", &i), 1);
		CHECK(i >= 0 && i < NBIG);
		if (seen[i])
			fprintf(stderr, "%s seen twice\n", e.name);
		CHECK(!seen[i]);
		seen[i] = 1;
		CHECK_EQ(e.type, i % 100 ? DT_REG : DT_DIR);
		n++;
		if (remove) {
			snprintf(path, sizeof(path), "/bigdir/%s", e.name);
			if (i % 100)
				CHECK_EQ(aoki_fs_unlink(fs, path), 0);
			else
				CHECK_EQ(aoki_fs_rmdir(fs, path), 0);
		}
	}
	CHECK_EQ(r, 0);
	aoki_fs_closedir(dir);
	CHECK_EQ(dots, 2);
	if (n != NBIG)
		fprintf(stderr, "readdir: %d of %d entries\n", n, NBIG);
	CHECK_EQ(n, NBIG);
}

static void test_readdir(void)
{
	struct aoki_fs_dir *dir;
	int64_t t0 = t_now_ns();

	FAILS(aoki_fs_opendir(fs, "/st", &dir), ENOTDIR);
	FAILS(aoki_fs_opendir(fs, "/nope", &dir), ENOENT);
	CHECK_EQ(aoki_fs_mkdir(fs, "/bigdir", 0755), 0);
	for (int i = 0; i < NBIG; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/bigdir/entry-%d", i);
		if (i % 100) {
			int fd = aoki_fs_open(fs, path, O_CREAT | O_EXCL | O_WRONLY, 0644);

			CHECK(fd >= 0);
			CHECK_EQ(aoki_fs_close(fs, fd), 0);
		} else {
			CHECK_EQ(aoki_fs_mkdir(fs, path, 0755), 0);
		}
	}
	printf("note: %d creates in %.1f s\n", NBIG, (double)(t_now_ns() - t0) / 1e9);
	CHECK_EQ(st_of("/bigdir").st_nlink, 2 + NBIG / 100);
	t0 = t_now_ns();
	read_big(0);
	read_big(1);
	printf("note: two readdirs (one removing) in %.1f s\n",
	       (double)(t_now_ns() - t0) / 1e9);
	CHECK_EQ(st_of("/bigdir").st_nlink, 2);
	CHECK_EQ(aoki_fs_rmdir(fs, "/bigdir"), 0);
}

/* A handle whose inode was freed, and reused, is stale. */
static void test_stale(void)
{
	struct stat st, st2;
	int fd;

	mkfile("/stale", 10, 's');
	fd = aoki_fs_open(fs, "/stale", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_fstat(fs, fd, &st), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/stale"), 0);
	FAILS(aoki_fs_fstat(fs, fd, &st2), ESTALE);
	mkfile("/stale2", 10, 't');
	st2 = st_of("/stale2");
	if (st2.st_ino != st.st_ino)
		printf("note: inode not reused, stale reuse not checked\n");
	FAILS(aoki_fs_fstat(fs, fd, &st2), ESTALE);
	FAILS(aoki_fs_pwrite(fs, fd, "x", 1, 0), ESTALE);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK(all_of("/stale2", 0, 10, 't'));
}

int main(void)
{
	struct t_fs_stack s;

	umask(022);
	t_fs_stack_start(&s, 128);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	test_open();
	test_data();
	test_truncate();
	test_fallocate();
	test_dirs();
	test_rename();
	test_link();
	test_symlink();
	test_attrs();
	test_stat();
	test_readdir();
	test_stale();
	test_sparse();
	CHECK_EQ(aoki_fs_syncfs(fs), 0);
	aoki_fs_unmount(fs);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
