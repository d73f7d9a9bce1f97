/* SPDX-License-Identifier: MIT */
/* fsd_main.h - aoki-fsd's options (config.c, main.c). */
#ifndef AOKI_FSD_MAIN_H
#define AOKI_FSD_MAIN_H

#include <stddef.h>

struct fsd_options {
	char *volume, *blk_port, *port;
	int read_only;
	unsigned commit_ms;
};

/* Set one option by its configuration-file key; -EINVAL with a message. */
int fsd_config_set(struct fsd_options *o, const char *key, const char *val, char *err,
		   size_t cap);
/* Read configuration file @path; -EINVAL with "FILE:LINE: what". */
int fsd_config_load(struct fsd_options *o, const char *path, char *err, size_t cap);

#endif
