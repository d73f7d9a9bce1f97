/* SPDX-License-Identifier: MIT */
/*
 * blk-blockdev: aoki-blkd serving a block device (a loop device over a
 * file, so it runs anywhere a root user may attach one; skipped otherwise).
 *   - the geometry comes from the device (BLKGETSIZE64, BLKSSZGET) and the
 *     volume is reported as a block device with O_DIRECT;
 *   - writes, FUA writes, flush and reads move data to and from the
 *     device (checked through the backing file after the device's cache
 *     is dropped);
 *   - write-zeroes and discard read back as zeroes;
 *   - misaligned requests are refused.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "blk_util.h"

#define SIZE (32u << 20)

static char loopdev[64];

static void detach(void)
{
	char cmd[128];

	if (!loopdev[0])
		return;
	snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loopdev);
	if (system(cmd) != 0)
		fprintf(stderr, "note: could not detach %s\n", loopdev);
}

/* Attach @file to a free loop device (its path into loopdev), or skip. */
static void attach(const char *file)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	if (geteuid() != 0)
		t_skip("SKIP: attaching a loop device needs root");
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p || !fgets(loopdev, sizeof(loopdev), p) || pclose(p) != 0 ||
	    strncmp(loopdev, "/dev/loop", 9)) {
		loopdev[0] = 0;
		t_skip("SKIP: no loop device (losetup -f failed)");
	}
	loopdev[strcspn(loopdev, "\n")] = 0;
	atexit(detach);
}

int main(void)
{
	char port[PATH_MAX + 16], file[PATH_MAX + 16], vol[128], *buf, chk[4096];
	static const char zeroes[4096];
	struct aoki_blk_info info;
	struct aoki_blk *b;
	pid_t pid;
	int fd;

	snprintf(port, sizeof(port), "%s/blk.sock", t_run_dir());
	snprintf(file, sizeof(file), "%s/backing.img", t_run_dir());
	t_blk_file(file, SIZE);
	attach(file);
	snprintf(vol, sizeof(vol), "dev=%s", loopdev);
	pid = t_blkd_start(port, (const char *const[]){ "--volume", vol, NULL });
	CHECK_EQ(aoki_blk_open(port, "dev", AOKI_BLK_RDWR, NULL, &b), 0);
	aoki_blk_get_info(b, &info);
	CHECK_EQ(info.size, SIZE);
	CHECK(info.flags & AOKI_BLK_INFO_BLOCKDEV);
	CHECK(info.flags & AOKI_BLK_INFO_DIRECT);
	CHECK(info.block_size >= 512 && info.block_size <= 4096);
	printf("note: %s: block %u, mem_align %u\n", loopdev, info.block_size, info.mem_align);

	CHECK_EQ(aoki_blk_alloc(b, 65536, (void **)&buf), 0);
	for (unsigned i = 0; i < 128; i++)
		t_blk_fill(buf + i * 512, i, 3);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 65536, 1 << 20, 0), 65536);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 2 << 20, AOKI_BLK_FUA), 4096);
	CHECK_EQ(aoki_blk_flush(b), 0);
	/* Through the backing file: the device wrote it there. */
	fd = open(file, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, chk, 4096, (2 << 20)), 4096);
	CHECK(!memcmp(chk, buf, 4096));
	memset(buf, 0, 65536);
	CHECK_EQ(aoki_blk_pread(b, buf, 65536, 1 << 20), 65536);
	for (unsigned i = 0; i < 128; i++)
		CHECK(t_blk_check(buf + i * 512, i, 3));
	/* Zeroing and discard read back as zeroes on the device. */
	CHECK_EQ(aoki_blk_write_zeroes(b, 1 << 20, 8192), 0);
	CHECK_EQ(aoki_blk_discard(b, (1 << 20) + 16384, 16384), 0);
	CHECK_EQ(aoki_blk_pread(b, buf, 65536, 1 << 20), 65536);
	for (unsigned i = 0; i < 128; i++) {
		int zero = i < 16 || (i >= 32 && i < 64);

		CHECK(zero ? !memcmp(buf + i * 512, zeroes, 512) : t_blk_check(buf + i * 512, i, 3));
	}
	/* Misaligned to the device's sectors. */
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, 100), -EINVAL);
	CHECK_EQ(aoki_blk_pread(b, buf, 100, 0), -EINVAL);
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, SIZE), -ERANGE);
	close(fd);
	aoki_blk_close(b);
	t_blkd_stop(pid);
	return 0;
}
