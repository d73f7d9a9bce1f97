/* SPDX-License-Identifier: MIT */
/*
 * check_fsd.c - check 8 of tests/host/pku-host.c: aoki-fsd hosted next
 * to aoki-blkd in one application, with PKU enforced.
 *   - files written through fsd read back;
 *   - every page under a protection key (/proc/self/smaps) is out of the
 *     application's reach: a read of one page per key is a pkey fault,
 *     and among the compartments reported are "host:fsd" and "host:blkd";
 *   - fsd's handler, made to write a page of blkd's (its heap), takes a
 *     pkey fault naming both; fsd is rebuilt and the next operation
 *     works.  Control: the same injected write on ordinary memory lands;
 *   - 10 more faults of fsd (garbage pointer, abort(), after the work):
 *     each time the file still reads back right.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "aoki/fs.h"
#include "htest.h"

#define MAX_KEYS 16
#define NFAULTS 10

extern const unsigned char host_fs_image[], host_fs_image_end[];

/* The embedded image into @path, sparse (zero blocks skipped). */
static void write_image(const char *path)
{
	size_t n = (size_t)(host_fs_image_end - host_fs_image);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static const unsigned char zero[4096];

	CHECK(fd >= 0);
	CHECK(n > 0 && n % 4096 == 0);
	CHECK_EQ(ftruncate(fd, (off_t)n), 0);
	for (size_t off = 0; off < n; off += 4096)
		if (memcmp(host_fs_image + off, zero, 4096))
			CHECK_EQ(pwrite(fd, host_fs_image + off, 4096, (off_t)off), 4096);
	close(fd);
}

/* One address per protection key in use (key > 0), from smaps. */
static unsigned keyed_pages(uintptr_t *addr, int *key)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long start = 0, lo, hi;
	unsigned n = 0;
	int k;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {	/* a mapping's first line */
			start = lo;
			continue;
		}
		if (sscanf(line, "ProtectionKey: %d", &k) != 1 || k <= 0)
			continue;
		unsigned i;

		for (i = 0; i < n && key[i] != k; i++)
			;
		if (i == n && n < MAX_KEYS) {
			addr[n] = start;
			key[n++] = k;
		}
	}
	fclose(f);
	return n;
}

static void app_read(void *arg)
{
	fprintf(stderr, "read %#lx\n", (unsigned long)*(volatile unsigned long *)arg);
}

/* Write @len bytes of @seed's pattern to @path and read them back. */
static void write_read(struct aoki_fs *fs, const char *path, unsigned seed)
{
	static unsigned char *buf;
	int fd;

	if (!buf)
		CHECK_EQ(aoki_fs_alloc(fs, 8192, (void **)&buf), 0);
	for (unsigned i = 0; i < 8192; i++)
		buf[i] = (unsigned char)(seed * 31 + i);
	fd = aoki_fs_open(fs, path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, 8192, 0), 8192);
	memset(buf, 0, 8192);
	CHECK_EQ(aoki_fs_pread(fs, fd, buf, 8192, 0), 8192);
	for (unsigned i = 0; i < 8192; i++)
		CHECK_EQ(buf[i], (unsigned char)(seed * 31 + i));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
}

void check_fsd_hosted(void)
{
	static const int kinds[] = { AOKI_HOST_FAULT_NULL, AOKI_HOST_FAULT_ABORT,
				     AOKI_HOST_FAULT_NULL | AOKI_HOST_FAULT_LATE };
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	struct aoki_fs_opts fo = { .timeout_ns = 10000000000 };
	char img[128], bport[128], fport[128], words[512];
	uintptr_t addr[MAX_KEYS], blkd_page = 0;
	int key[MAX_KEYS], blkd_key = -1, seen_fsd = 0;
	struct aoki_host *hb, *hf;
	struct child_result res;
	struct aoki_fs *fs;
	unsigned n;
	struct stat st;

	init_pku_or_fail();
	snprintf(img, sizeof(img), "%s/fsd.img", test_dir);
	snprintf(bport, sizeof(bport), "%s/b8.sock", test_dir);
	snprintf(fport, sizeof(fport), "%s/f8.sock", test_dir);
	write_image(img);
	snprintf(words, sizeof(words), "--volume disk=%s --port %s --quiet", img, bport);
	CHECK_EQ(aoki_host_start("blkd", words, &o, &hb), 0);
	snprintf(words, sizeof(words), "--port %s --blk-port %s --volume disk --quiet", fport,
		 bport);
	CHECK_EQ(aoki_host_start("fsd", words, &o, &hf), 0);
	CHECK(host_isolated(hb) && host_isolated(hf));
	CHECK_EQ(aoki_fs_mount(fport, &fo, &fs), 0);
	write_read(fs, "/f", 1);

	/* The application reaches no keyed page; fsd and blkd own some. */
	n = keyed_pages(addr, key);
	for (unsigned i = 0; i < n; i++) {
		CHECK(in_child(app_read, (void *)addr[i], &res) == 0);
		CHECK(!res.exited && res.code == SIGABRT);
		printf("note: check 8: key %d: %s", key[i], res.err);
		if (strstr(res.err, "compartment \"host:fsd\")"))
			seen_fsd = 1;
		if (strstr(res.err, "compartment \"host:blkd\")") && blkd_key < 0) {
			blkd_key = key[i];
			blkd_page = addr[i];
		}
	}
	CHECK(seen_fsd && blkd_key > 0);

	/* fsd -> blkd: stopped, recovered; control: key-0 memory. */
	CHECK_EQ(aoki_host_inject_fault(hf, AOKI_HOST_FAULT_WRITE, (void *)blkd_page), 0);
	CHECK_EQ(aoki_fs_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_size, 8192);
	CHECK_EQ(recoveries(hf), 1);
	check_pkey_fault("host:fsd", "host:blkd", blkd_key);
	{
		static unsigned char plain;	/* ordinary memory */

		CHECK_EQ(aoki_host_inject_fault(hf, AOKI_HOST_FAULT_WRITE, &plain), 0);
		CHECK_EQ(aoki_fs_stat(fs, "/f", &st), 0);
		CHECK_EQ(plain, 1);
		CHECK_EQ(recoveries(hf), 1);
	}
	write_read(fs, "/f", 2);

	for (unsigned i = 0; i < NFAULTS; i++) {
		CHECK_EQ(aoki_host_inject_fault(hf, kinds[i % 3], NULL), 0);
		write_read(fs, "/f", 3 + i);
	}
	CHECK_EQ(recoveries(hf), 1 + NFAULTS);
	CHECK_EQ(recoveries(hb), 0);
	printf("note: check 8: fsd hosted by blkd: %u protection keys out of the "
	       "application's reach, fsd's write to blkd stopped, %u more faults recovered, "
	       "data right\n", n, NFAULTS);
	aoki_fs_unmount(fs);
	aoki_host_stop(hf);
	aoki_host_stop(hb);
}
