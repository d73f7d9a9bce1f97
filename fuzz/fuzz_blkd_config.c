/* SPDX-License-Identifier: MIT */
/*
 * fuzz_blkd_config - aoki-blkd's configuration parser (servers/blkd/
 * config.c, over the shared reader lib/util/ini.c, which fuzz_ini drives
 * alone) over arbitrary file contents.  Properties: no crash or leak;
 * on success every volume has a valid name and a path, and at most
 * BLKD_MAX_ALLOW allow entries; on failure the message names the file
 * and a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blkd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blkd d;
	char path[64], err[512];
	int fd = memfd_create("conf", MFD_CLOEXEC), r;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&d, 0, sizeof(d));
	err[0] = 0;
	r = blkd_config_load(&d, path, err, sizeof(err));
	if (r == 0) {
		for (unsigned i = 0; i < d.nvol; i++)
			if (!d.vol[i].path || !d.vol[i].name[0] ||
			    strlen(d.vol[i].name) > BLK_NAME_MAX || d.vol[i].nallow > BLKD_MAX_ALLOW)
				abort();
	} else if (r == -EINVAL && strncmp(err, path, strlen(path))) {
		abort();	/* an error must say where */
	}
	blkd_config_free(&d);
	close(fd);
	return 0;
}
