/* SPDX-License-Identifier: MIT */
/*
 * main.c - aoki-blkd: serve block volumes to Aoki IPC clients.  See
 * aoki-blkd(8).  Exit status: 0 after SIGTERM/SIGINT (or a good --check),
 * 1 when it cannot serve (a volume will not open, the port is taken),
 * 2 for bad usage or configuration.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "aoki/blk.h"
#include "blkd.h"
#include "record.h"

int main(int argc, char **argv)
{
	static struct blkd d;
	struct blkd_options o = { 0 };
	struct aoki_server_config cfg = {
		.port = AOKI_BLK_PORT, .listen_fd = -1, .handler = blkd_handle,
		.handler_arg = &d, .workers = 1, .worker_ops = &blkd_io_ops,
		.worker_arg = &d, .spin_ns = BLKD_SPIN_NS, .batch = BLKD_BATCH,
		.policy = blkd_policy, .policy_arg = &d,
		.stats_fn = blkd_stats,
	};
	char what[64];
	int r;

	d.uid = getuid();
	r = blkd_parse_options(argc, argv, &d, &cfg, &o);
	if (r >= 0)
		return r;
	r = blkd_volumes_open(&d, cfg.quiet && !o.check, !o.check);
	if (r < 0 || o.check) {
		blkd_volumes_close(&d);
		if (r == 0)
			printf("aoki-blkd: %u volume%s OK\n", d.nvol, d.nvol == 1 ? "" : "s");
		blkd_config_free(&d);
		return r < 0 ? 1 : 0;
	}
	if (o.record && (r = blkd_record_open(o.record)) < 0) {
		fprintf(stderr, "aoki-blkd: --record %s: %s\n", o.record, strerror(-r));
		blkd_volumes_close(&d);
		blkd_config_free(&d);
		return 1;
	}
	/* Users of allow lists connect too: a socket we bind gets mode 0777
	 * (connect(2) needs write permission on it).  Who then gets in is
	 * blkd_policy's decision; nothing else is created from here on. */
	if (blkd_admits_others(&d))
		umask(0);
	snprintf(what, sizeof(what), ", %u volume%s", d.nvol, d.nvol == 1 ? "" : "s");
	r = daemon_serve("aoki-blkd", &cfg, what);
	blkd_volumes_close(&d);
	blkd_config_free(&d);
	return r;
}
