/* SPDX-License-Identifier: MIT */
/*
 * fuzz_blkd_request - aoki-blkd's request handling (servers/blkd:
 * handler.c, io*.c) over arbitrary requests from a client: a real server
 * in this process, with a read-write and a read-only volume, serving one
 * channel that has a read-write and a read-only grant.  Each input is a
 * sequence of records [op selector, payload length, 32 payload bytes];
 * the selector picks one of the protocol's ops or an unknown one.
 * Properties: no crash (ASan/UBSan); every status is a byte count or one
 * of the documented errors; afterwards the server still moves data
 * correctly (a write and a read of a pattern).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkd.h"

#define VOL_SIZE (1u << 20)

static struct blkd d;
static struct aoki_server *srv;
static struct aoki_chan *ch;
static uint32_t grant_rw, grant_ro;
static uint8_t *mem_rw;

static void setup(void)
{
	static char dir[] = "/tmp/fuzz-blkd-XXXXXX";
	char path[64], port[64];
	struct aoki_server_config cfg = {
		.listen_fd = -1, .handler = blkd_handle, .handler_arg = &d, .workers = 1,
		.worker_ops = &blkd_io_ops, .worker_arg = &d, .quiet = 1,
	};
	void *mem;
	int fd;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v.img", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, VOL_SIZE) < 0)
		abort();
	close(fd);
	if (blkd_volume_add(&d, "v", path, 0, NULL) || blkd_volume_add(&d, "r", path, 1, NULL))
		abort();
	d.uid = getuid();
	snprintf(port, sizeof(port), "%s/s", dir);
	cfg.port = port;
	if (blkd_volumes_open(&d, 1, 1) || aoki_server_create(&cfg, &srv) ||
	    aoki_server_start(srv) || aoki_connect(port, NULL, &ch) ||
	    aoki_grant_create(ch, 65536, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &grant_rw, &mem))
		abort();
	mem_rw = mem;
	if (aoki_grant_create(ch, 65536, AOKI_GRANT_READ, &grant_ro, &mem))
		abort();
	/* The volume files stay open; the directory is not needed. */
	unlink(path);
	unlink(port);
	rmdir(dir);
}

static int documented(int r)
{
	switch (r) {
	case -EINVAL: case -ERANGE: case -EBADF: case -EFAULT: case -EACCES:
	case -EROFS: case -ENOENT: case -ENOSYS: case -EOPNOTSUPP: case -ESTALE:
		return 1;
	default:
		return r >= 0;
	}
}

/* The server still works: a pattern written reads back. */
static void still_works(void)
{
	struct blk_io_req io = { .handle = blk_handle_name("v"), .grant = grant_rw, .length = 4096 };

	for (unsigned i = 0; i < 4096; i++)
		mem_rw[i] = (uint8_t)(i * 7 + 1);
	if (aoki_call(ch, BLK_OP_WRITE, &io, sizeof(io), NULL, 0, NULL) != 4096)
		abort();
	memset(mem_rw, 0, 4096);
	if (aoki_call(ch, BLK_OP_READ, &io, sizeof(io), NULL, 0, NULL) != 4096)
		abort();
	for (unsigned i = 0; i < 4096; i++)
		if (mem_rw[i] != (uint8_t)(i * 7 + 1))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rep[AOKI_MSG_PAYLOAD];

	if (!srv)
		setup();
	for (; size >= 34; data += 34, size -= 34) {
		uint16_t op = (uint16_t)(BLK_OP_OPEN + data[0] % 9);	/* 2 unknown */
		size_t len = data[1] % (AOKI_MSG_PAYLOAD + 1);
		int r = aoki_call(ch, op, data + 2, len, rep, sizeof(rep), NULL);

		if (!documented(r)) {
			fprintf(stderr, "op %#x len %zu: status %d\n", op, len, r);
			abort();
		}
	}
	still_works();
	return 0;
}
