/* SPDX-License-Identifier: MIT */
/*
 * options.h - aoki-fsd's options: the configuration file (config.c) and
 * the command line (options.c), the same for the daemon (main.c) and for
 * the server hosted in an application (hosted.c).
 */
#ifndef AOKI_FSD_OPTIONS_H
#define AOKI_FSD_OPTIONS_H

#include <stddef.h>

#include "aoki/ipc.h"

struct aoki_host;
struct fsd;

struct fsd_options {
	struct aoki_host *host;	/* hosted: where the strings live (mem.h);
				 * NULL: the daemon */
	char *volume, *blk_port, *port;
	int read_only, quiet;
	unsigned commit_ms;
	char *stage_path;	/* the staging ring's (fsd_setup); NULL: none */
};

/* Set one option by its configuration-file key; -EINVAL with a message
 * in @err, -ENOMEM. */
int fsd_config_set(struct fsd_options *o, const char *key, const char *val, char *err,
		   size_t cap);
/* Read configuration file @path; -EINVAL with "FILE:LINE: what". */
int fsd_config_load(struct fsd_options *o, const char *path, char *err, size_t cap);

/*
 * fsd_parse_options - the command line (@argv without the program name
 * at argv[0] skipped by getopt; the caller resets optind) into @o, whose
 * host is set.  Returns -1: serve; 0: --help or --version was given (the
 * daemon printed it and exits 0; hosted, they are the daemon's: nothing
 * printed, the caller refuses); 2: bad usage or configuration, a message
 * on stderr with the usage (the daemon's exit 2; one line when hosted).
 * What @o holds afterwards, fsd_options_free() frees, whatever the
 * result.  Not thread-safe (getopt).
 */
int fsd_parse_options(int argc, char **argv, struct fsd_options *o);

/* fsd_options_free - free the strings of @o (kept: host). */
void fsd_options_free(struct fsd_options *o);

/*
 * fsd_setup - the server's configuration from @o: @cfg's port (--port,
 * else "fs"), quiet, handler, worker_ops (one worker), spin_ns,
 * keep_grant_fds and stats_fn, with @d as handler_arg and worker_arg
 * (listen_fd and policy are the caller's); @d->cfg (volume, blk-port,
 * read-only, commit time) and the staging ring's path, beside the
 * socket of @cfg->port ("<run dir>/aoki-fsd-VOLUME.stage"), the daemon's
 * and a hosted server's alike, so that either replays what the other
 * left; none if that path does not fit.  @d->host is set.  @d and @cfg
 * keep pointers into @o.  Returns 0 or -ENOMEM.
 */
int fsd_setup(struct fsd *d, struct fsd_options *o, struct aoki_server_config *cfg);

#endif
