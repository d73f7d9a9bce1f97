/* SPDX-License-Identifier: MIT */
/*
 * blk.c - `aoki blk <create|info|bench|soak>`: tools for aoki-blkd
 * volumes.  create makes a backing file; info asks a running server about
 * a volume; bench and soak are `aoki bench blk` and `aoki soak blk`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "commands.h"
#include "size.h"
#include "subcmd.h"

static int create_usage(FILE *f)
{
	fprintf(f, "Usage: aoki blk create [--allocate] [--force] FILE SIZE\n"
		   "Make FILE a SIZE-byte backing file for an aoki-blkd volume (SIZE in bytes\n"
		   "or with a K, M, G or T suffix, binary).  Sparse unless --allocate, which\n"
		   "reserves every block (fallocate).  An existing FILE is kept unless --force.\n");
	return f == stdout ? 0 : 2;
}

static int blk_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allocate", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	int allocate = 0, force = 0, c, fd, r;
	uint64_t size;

	while ((c = getopt_long(argc, argv, "afh", longopts, NULL)) != -1) {
		if (c == 'a')
			allocate = 1;
		else if (c == 'f')
			force = 1;
		else
			return create_usage(c == 'h' ? stdout : stderr);
	}
	if (argc - optind != 2)
		return create_usage(stderr);
	if (util_parse_size(argv[optind + 1], &size) < 0 || !size || size % 512) {
		fprintf(stderr, "aoki blk create: size %s: expected a multiple of 512 bytes, "
			"e.g. 4096, 64M, 2G\n", argv[optind + 1]);
		return 2;
	}
	fd = open(argv[optind], O_RDWR | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0) {
		fprintf(stderr, "aoki blk create: %s: %s%s\n", argv[optind], strerror(errno),
			errno == EEXIST ? " (--force replaces it)" : "");
		return 1;
	}
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (r == 0 && allocate)
		r = -posix_fallocate(fd, 0, (off_t)size);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0) {
		fprintf(stderr, "aoki blk create: %s: %s\n", argv[optind], strerror(-r));
		unlink(argv[optind]);
		return 1;
	}
	printf("%s: %llu bytes%s\n", argv[optind], (unsigned long long)size,
	       allocate ? ", allocated" : ", sparse");
	return 0;
}

static int info_usage(FILE *f)
{
	fprintf(f, "Usage: aoki blk info [--port NAME] [--json] VOLUME\n"
		   "Ask the aoki-blkd on port NAME (default \"blk\") about VOLUME.\n");
	return f == stdout ? 0 : 2;
}

static int blk_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *port = AOKI_BLK_PORT;
	struct aoki_blk_opts o = { .reconnect_ns = -1 };
	struct aoki_blk_info info;
	struct aoki_blk *b;
	int json = 0, c, r;

	while ((c = getopt_long(argc, argv, "p:jh", longopts, NULL)) != -1) {
		if (c == 'p')
			port = optarg;
		else if (c == 'j')
			json = 1;
		else
			return info_usage(c == 'h' ? stdout : stderr);
	}
	if (argc - optind != 1)
		return info_usage(stderr);
	r = aoki_blk_open(port, argv[optind], 0, &o, &b);
	if (r < 0) {
		fprintf(stderr, "aoki blk info: volume %s on port %s: %s\n", argv[optind], port,
			r == -ENOENT ? "no such volume" :
			r == -ECONNREFUSED ? "no server on the port" : strerror(-r));
		return 1;
	}
	aoki_blk_get_info(b, &info);
	aoki_blk_close(b);
	if (json) {
		printf("{\"volume\": \"%s\", \"size\": %llu, \"block_size\": %u, "
		       "\"mem_align\": %u, \"max_io\": %u, \"direct\": %s, \"blockdev\": %s}\n",
		       argv[optind], (unsigned long long)info.size, info.block_size,
		       info.mem_align, info.max_io,
		       info.flags & AOKI_BLK_INFO_DIRECT ? "true" : "false",
		       info.flags & AOKI_BLK_INFO_BLOCKDEV ? "true" : "false");
		return 0;
	}
	printf("volume     %s\nsize       %llu bytes (%.1f MiB)\nblock size %u\n"
	       "mem align  %u\nmax I/O    %u bytes\nkind       %s, %s\n",
	       argv[optind], (unsigned long long)info.size, info.size / 1048576.0,
	       info.block_size, info.mem_align, info.max_io,
	       info.flags & AOKI_BLK_INFO_BLOCKDEV ? "block device" : "file",
	       info.flags & AOKI_BLK_INFO_DIRECT ? "O_DIRECT" : "buffered");
	return 0;
}

/* `aoki blk bench|soak ARGS` is `aoki bench|soak blk ARGS`: @argv[0]
 * is bench or soak. */
static int forward(int (*cmd)(int, char **), int argc, char **argv)
{
	char *args[argc + 2];

	args[0] = argv[0];
	args[1] = (char *)"blk";
	memcpy(args + 2, argv + 1, (size_t)(argc - 1) * sizeof(*args));
	args[argc + 1] = NULL;
	return cmd(argc + 1, args);
}

static int blk_bench(int argc, char **argv)
{
	return forward(cmd_bench, argc, argv);
}

static int blk_soak(int argc, char **argv)
{
	return forward(cmd_soak, argc, argv);
}

static const struct subcmd blk_cmds[] = {
	{ "create", blk_create, "FILE SIZE: make a backing file" },
	{ "info", blk_info, "VOLUME: a running aoki-blkd's view of a volume" },
	{ "bench", blk_bench, "aoki bench blk (against fio, same run)" },
	{ "soak", blk_soak, "aoki soak blk (kill aoki-blkd under load)" },
};

int cmd_blk(int argc, char **argv)
{
	return subcmd_run("aoki blk", blk_cmds, SUBCMD_N(blk_cmds), argc, argv);
}
