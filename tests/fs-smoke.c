/* SPDX-License-Identifier: MIT */
/*
 * fs-smoke: aoki-fsd end to end.  A fresh image; create, write (copy-free
 * and unaligned), read back, mkdir, rename, unlink, fsync; stop fsd;
 * e2fsck -fn is clean; restart and read everything back.
 */
#include "fs_util.h"

int main(void)
{
	struct t_fs_stack s;
	struct aoki_fs *fs;
	struct aoki_fs_stats st;
	struct stat sb;
	uint8_t *buf, *back, *want = malloc(1 << 20);
	int fd;

	t_fs_stack_start(&s, 128);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_alloc(fs, 1 << 20, (void **)&buf), 0);
	CHECK_EQ(aoki_fs_alloc(fs, 1 << 20, (void **)&back), 0);
	for (unsigned i = 0; i < 1 << 20; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	CHECK_EQ(aoki_fs_mkdir(fs, "/dir", 0755), 0);
	fd = aoki_fs_open(fs, "/dir/a", O_CREAT | O_EXCL | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 1 << 20, 0), 1 << 20);
	CHECK_EQ(aoki_fs_server_stats(fs, &st), 0);
	CHECK_EQ(st.bytes_copied, 0);	/* aligned: nothing through fsd */
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 1 << 20, 0), 1 << 20);
	CHECK(!memcmp(buf, back, 1 << 20));
	CHECK_EQ(aoki_fs_server_stats(fs, &st), 0);
	CHECK_EQ(st.bytes_copied, 0);
	/* Unaligned: edges bounce, the middle does not. */
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf + 100, 10000, 5000), 10000);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 10000, 5000), 10000);
	CHECK(!memcmp(buf + 100, back, 10000));
	CHECK_EQ(aoki_fs_fsync(fs, fd), 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	/* What the file holds: the pattern, with [5000, 15000) overwritten
	 * by the pattern from offset 100 (buf goes with the unmount). */
	CHECK(want != NULL);
	memcpy(want, buf, 1 << 20);
	memmove(want + 5000, buf + 100, 10000);
	CHECK_EQ(aoki_fs_rename(fs, "/dir/a", "/b"), 0);
	CHECK_EQ(aoki_fs_stat(fs, "/dir/a", &sb), -ENOENT);
	CHECK_EQ(aoki_fs_stat(fs, "/b", &sb), 0);
	CHECK_EQ(sb.st_size, 1 << 20);
	CHECK_EQ(aoki_fs_rmdir(fs, "/dir"), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/b", 0755), -EEXIST);
	aoki_fs_unmount(fs);
	t_fsd_stop(s.fsd);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	s.fsd = t_fsd_start("fs", "blk", "disk", NULL);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_alloc(fs, 1 << 20, (void **)&back), 0);
	fd = aoki_fs_open(fs, "/b", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_pread(fs, fd, back, 1 << 20, 0), 1 << 20);
	CHECK(!memcmp(want, back, 1 << 20));
	aoki_fs_unmount(fs);
	t_fs_stack_stop(&s);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	free(want);
	return 0;
}
