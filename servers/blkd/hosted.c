/* SPDX-License-Identifier: MIT */
/*
 * hosted.c - aoki-blkd hosted in an application (aoki/host.h): the same
 * options, volumes, handler and io_uring workers as the daemon, built in
 * the server's compartment.  The service callbacks run inside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "aoki/host.h"
#include "blkd.h"

static int blkd_host_create(struct aoki_host *h, int argc, char **argv,
			    struct aoki_server_config *cfg, char *err, size_t errcap)
{
	struct blkd *d = aoki_host_alloc(h, sizeof(*d));
	struct blkd_options o = { 0 };
	int r;

	if (!d) {
		snprintf(err, errcap, "no memory for the server's state");
		return -ENOMEM;
	}
	d->host = h;
	d->uid = getuid();
	*cfg = (struct aoki_server_config){
		.port = AOKI_BLK_PORT, .handler = blkd_handle, .handler_arg = d,
		.workers = 1, .worker_ops = &blkd_io_ops, .worker_arg = d,
		.spin_ns = BLKD_SPIN_NS, .batch = BLKD_BATCH, .stats_fn = blkd_stats,
	};
	r = blkd_parse_options(argc, argv, d, cfg, &o);
	if (r >= 0 || o.check || o.record) {
		snprintf(err, errcap, "%s", r > 0 ? "bad options (see above)" :
			 r == 0 ? "--help and --version are the daemon's" :
			 "--check and --record are the daemon's");
		blkd_config_free(d);
		return -EINVAL;
	}
	r = blkd_volumes_open(d, cfg->quiet, 1);
	if (r < 0) {
		snprintf(err, errcap, "cannot open the volumes: %s", strerror(-r));
		blkd_volumes_close(d);
		blkd_config_free(d);
		return r;
	}
	return 0;
}

static void blkd_host_destroy(struct aoki_host *h, void *state)
{
	struct blkd *d = state;

	blkd_volumes_close(d);
	blkd_config_free(d);
	/* Its compartment's heap goes as a whole; without one (unisolated)
	 * this is the only free. */
	aoki_host_free(h, d);
}

const struct aoki_host_service aoki__blkd_service = {
	.name = "blkd",
	.create = blkd_host_create,
	.destroy = blkd_host_destroy,
};
