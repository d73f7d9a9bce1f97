/* SPDX-License-Identifier: MIT */
/* record.c - the --record write log (see record.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "blkd.h"
#include "record.h"

static int rec_fd = -1;
static uint64_t rec_seq;
static int rec_warned;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

int blkd_record_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	rec_fd = fd;
	return 0;
}

int blkd_record_enabled(void)
{
	return rec_fd >= 0;
}

/* Write all of @iov (partial writes continued).  Returns 0 or -errno. */
static int write_all(struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(rec_fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

void blkd_record_io(unsigned volume, uint16_t op, uint32_t flags, uint64_t offset,
		    uint32_t length, const void *buf)
{
	struct blkd_record h = { .magic = BLKD_RECORD_MAGIC, .volume = volume,
				 .length = length, .offset = offset };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, length } };
	int r;

	switch (op) {
	case BLK_OP_WRITE:
		h.type = BLKD_REC_WRITE;
		h.flags = flags & AOKI_BLK_FUA ? BLKD_REC_FUA : 0;
		break;
	case BLK_OP_FLUSH:
		h.type = BLKD_REC_FLUSH;
		h.length = 0;
		h.offset = 0;
		break;
	case BLK_OP_DISCARD:
		h.type = BLKD_REC_DISCARD;
		break;
	case BLK_OP_WRITE_ZEROES:
		h.type = BLKD_REC_WRITE_ZEROES;
		break;
	default:
		return;	/* reads change nothing */
	}
	pthread_mutex_lock(&rec_lock);
	h.seq = rec_seq++;
	r = write_all(iov, h.type == BLKD_REC_WRITE ? 2 : 1);
	/* A FLUSH is logged durably: a test that saw it acknowledged may
	 * rely on every record up to here. */
	if (r == 0 && h.type == BLKD_REC_FLUSH && fdatasync(rec_fd) < 0)
		r = -errno;
	if (r < 0 && !rec_warned) {
		rec_warned = 1;
		fprintf(stderr, "aoki-blkd: --record: %s (the log is incomplete from here)\n",
			strerror(-r));
	}
	pthread_mutex_unlock(&rec_lock);
}
