/* SPDX-License-Identifier: MIT */
/*
 * volume.c - open the volumes.  O_DIRECT where the file system or device
 * allows it (the kernel moves data between the device and the client's
 * pages, bypassing the page cache); buffered I/O with a notice where it
 * does not.  The geometry clients must respect comes from the kernel:
 * statx(STATX_DIOALIGN) for files, BLKSSZGET for block devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blkd.h"
#include "daemon.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x2000u
#endif

/* The alignment O_DIRECT needs on a regular file, or 512 when the kernel
 * does not say (before 6.1).  Returns -EINVAL if it cannot do O_DIRECT. */
static int file_dio_align(struct blkd_volume *v)
{
	struct statx stx;

	if (statx(v->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN)) {
		v->block_size = v->mem_align = 512;
		return 0;
	}
	if (!stx.stx_dio_offset_align)
		return -EINVAL;
	v->block_size = stx.stx_dio_offset_align < 512 ? 512 : stx.stx_dio_offset_align;
	v->mem_align = stx.stx_dio_mem_align ? stx.stx_dio_mem_align : 512;
	return 0;
}

static int geometry(struct blkd_volume *v)
{
	struct stat st;
	uint64_t size;
	int ssz;

	if (fstat(v->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(v->fd, BLKGETSIZE64, &size) < 0 || ioctl(v->fd, BLKSSZGET, &ssz) < 0)
			return -errno;
		v->blockdev = 1;
		v->size = size;
		v->block_size = v->mem_align = (uint32_t)ssz;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	v->size = (uint64_t)st.st_size;
	if (v->direct)
		return file_dio_align(v);
	v->block_size = v->mem_align = 1;
	return 0;
}

/* How long a held file is waited for: the lock of a server that was
 * killed or faulted goes only when its io_uring, which holds the file
 * too, is torn down, by the kernel, after the process is reaped. */
#define CLAIM_WAIT_NS (3 * 1000000000ll)

/*
 * A file served read-write is this server's alone: an exclusive lock on
 * the whole file (an open file description lock, so two aoki-blkd hosted
 * in one process conflict as two processes do; it goes with the last
 * reference to the open file).  Two file systems writing one image lose
 * each other's data without a word.  The volumes of one server may name
 * the same file (one lock, taken by the first); programs that take no
 * lock (e2fsck, a loop mount) are not kept out.  0, or -EBUSY.
 */
static int claim(const struct blkd *d, unsigned i)
{
	struct timespec nap = { 0, 1000000 };
	struct stat st, o;
	int64_t waited = 0;
	int r;

	if (fstat(d->vol[i].fd, &st) < 0)
		return -errno;
	for (unsigned j = 0; j < i; j++)
		if (!d->vol[j].read_only && fstat(d->vol[j].fd, &o) == 0 &&
		    o.st_dev == st.st_dev && o.st_ino == st.st_ino)
			return 0;	/* locked with volume j */
	for (;;) {
		r = daemon_lock_exclusive(d->vol[i].fd);
		if (r != -EBUSY || waited >= CLAIM_WAIT_NS)
			return r;
		nanosleep(&nap, NULL);
		waited += nap.tv_nsec;
		if (nap.tv_nsec < 50000000)
			nap.tv_nsec *= 2;
	}
}

static int open_one(struct blkd_volume *v, int quiet)
{
	int mode = v->read_only ? O_RDONLY : O_RDWR, r;

	v->direct = 1;
	v->fd = open(v->path, mode | O_DIRECT | O_CLOEXEC);
	if (v->fd < 0 && errno == EINVAL) {
		v->direct = 0;
		v->fd = open(v->path, mode | O_CLOEXEC);
	}
	if (v->fd < 0)
		return -errno;
	r = geometry(v);
	if (r == -EINVAL && v->direct) {	/* statx says: no O_DIRECT here */
		close(v->fd);
		v->direct = 0;
		v->fd = open(v->path, mode | O_CLOEXEC);
		if (v->fd < 0)
			return -errno;
		r = geometry(v);
	}
	if (r == 0 && v->size % v->block_size) {
		/* A partial last block cannot be reached by aligned I/O. */
		if (!quiet)
			fprintf(stderr, "aoki-blkd: volume %s: size %llu is not a multiple of "
				"its block size %u: serving %llu bytes\n", v->name,
				(unsigned long long)v->size, v->block_size,
				(unsigned long long)(v->size - v->size % v->block_size));
		v->size -= v->size % v->block_size;
	}
	if (r == 0 && !v->direct && !quiet)
		fprintf(stderr, "aoki-blkd: volume %s (%s): O_DIRECT not supported here, "
			"using buffered I/O (the page cache holds a copy)\n", v->name, v->path);
	return r;
}

int blkd_volumes_open(struct blkd *d, int quiet, int claim_files)
{
	for (unsigned i = 0; i < d->nvol; i++) {
		struct blkd_volume *v = &d->vol[i];
		int r = open_one(v, quiet);

		if (r == 0 && claim_files && !v->read_only)
			r = claim(d, i);
		if (r < 0) {
			fprintf(stderr, "aoki-blkd: volume %s: %s: %s\n", v->name, v->path,
				r == -EINVAL ? "not a regular file or block device" :
				r == -EBUSY ? "in use: served read-write by another aoki-blkd" :
				strerror(-r));
			return r;
		}
		if (!quiet)
			fprintf(stderr, "aoki-blkd: volume %s: %s, %llu bytes, block %u%s%s\n",
				v->name, v->path, (unsigned long long)v->size, v->block_size,
				v->direct ? ", O_DIRECT" : ", buffered",
				v->read_only ? ", read-only" : "");
	}
	return 0;
}

void blkd_volumes_close(struct blkd *d)
{
	for (unsigned i = 0; i < d->nvol; i++)
		if (d->vol[i].fd >= 0) {
			close(d->vol[i].fd);
			d->vol[i].fd = -1;
		}
}
