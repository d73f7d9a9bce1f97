/* SPDX-License-Identifier: MIT */
/*
 * options.c - aoki-fsd's options (options.h), for the daemon (main.c)
 * and for a server hosted in an application (hosted.c), which takes the
 * same ones but --help and --version.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fsd.h"
#include "options.h"
#include "version.h"

#define FSD_SPIN_NS 200000	/* an idle worker polls 200 us, then sleeps */

static void usage(FILE *f, const struct fsd_options *o)
{
	if (o->host) {
		/* Hosted: one line in the application's log, not the text. */
		fprintf(f, "fsd: the options are aoki-fsd's: see aoki-fsd(8)\n");
		return;
	}
	fprintf(f,
		"Usage: aoki-fsd [-c FILE] [--volume NAME] [--blk-port PORT] [--port NAME]\n"
		"                [--read-only] [--commit-ms N] [--quiet]\n"
		"\n"
		"Serve the ext4 file system on aoki-blkd volume NAME to Aoki clients\n"
		"(<aoki/fs.h>) on port NAME (default \"fs\").  Metadata changes are\n"
		"journaled (jbd2, as the kernel writes it); file data moves between the\n"
		"device and the clients' own buffers without passing through aoki-fsd.\n"
		"Restarted by aoki-init after a crash, it replays its journal and resumes\n"
		"its clients' channels.  Stops on SIGTERM/SIGINT, leaving a clean image.\n"
		"\n"
		"  -c, --config FILE     options from a file ([fsd] section, aoki-fsd(8))\n"
		"  -v, --volume NAME     the aoki-blkd volume holding the image\n"
		"  -b, --blk-port PORT   where aoki-blkd listens (default \"blk\")\n"
		"  -p, --port NAME       port name or socket path to serve on\n"
		"  -r, --read-only       serve read-only (no journal replay, no writes)\n"
		"  -m, --commit-ms N     most time a transaction stays open (default 50)\n"
		"  -q, --quiet           do not log connections\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n"
		"\n"
		"Make an image with `aoki fs mkfs IMAGE SIZE` (mke2fs -t ext4 -b 4096).\n");
}

int fsd_parse_options(int argc, char **argv, struct fsd_options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "volume", required_argument, NULL, 'v' },
		{ "blk-port", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "commit-ms", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static const char *const keys[128] = {
		['v'] = "volume", ['b'] = "blk-port", ['p'] = "port", ['m'] = "commit-ms",
	};
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "c:v:b:p:rm:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (fsd_config_load(o, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "aoki-fsd: %s\n", err);
				return 2;
			}
			break;
		case 'v':
		case 'b':
		case 'p':
		case 'm':
			if (fsd_config_set(o, keys[c], optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "aoki-fsd: --%s\n", err);
				return 2;
			}
			break;
		case 'r':
			o->read_only = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			if (!o->host)
				usage(stdout, o);
			return 0;
		case 'V':
			if (!o->host)
				printf("aoki-fsd %s\n", AOKI_VERSION);
			return 0;
		default:
			usage(stderr, o);
			return 2;
		}
	}
	if (optind < argc)
		fprintf(stderr, "aoki-fsd: unexpected argument '%s'\n", argv[optind]);
	else if (!o->volume)
		fprintf(stderr, "aoki-fsd: no volume: give --volume NAME or -c FILE\n");
	else
		return -1;
	usage(stderr, o);
	return 2;
}

void fsd_options_free(struct fsd_options *o)
{
	fsd_free(o->host, o->volume);
	fsd_free(o->host, o->blk_port);
	fsd_free(o->host, o->port);
	fsd_free(o->host, o->stage_path);
	o->volume = o->blk_port = o->port = o->stage_path = NULL;
}

int fsd_setup(struct fsd *d, struct fsd_options *o, struct aoki_server_config *cfg)
{
	char stage[PATH_MAX];

	cfg->port = o->port ? o->port : "fs";
	cfg->quiet = o->quiet;
	cfg->handler = fsd_handle;
	cfg->handler_arg = d;
	cfg->workers = 1;	/* one thread owns the ext2_filsys */
	cfg->worker_ops = &fsd_worker_ops;
	cfg->worker_arg = d;
	cfg->spin_ns = FSD_SPIN_NS;
	cfg->keep_grant_fds = 1;	/* blkio.c passes client grants to blkd */
	cfg->stats_fn = fsd_stats;
	d->cfg = (struct fsd_config){
		.volume = o->volume, .blk_port = o->blk_port, .read_only = o->read_only,
		.commit_ns = (int64_t)(o->commit_ms ? o->commit_ms : FSD_COMMIT_NS / 1000000) * 1000000,
	};
	/* The staging ring lives beside the port's socket (the run
	 * directory: tmpfs under /run). */
	if (aoki_port_path(cfg->port, stage, sizeof(stage)) > 0) {
		char *slash = strrchr(stage, '/');

		if (slash && (size_t)(slash - stage) + 64 + strlen(o->volume) < sizeof(stage)) {
			sprintf(slash + 1, "aoki-fsd-%s.stage", o->volume);
			fsd_free(o->host, o->stage_path);
			o->stage_path = fsd_strdup(o->host, stage);
			if (!o->stage_path)
				return -ENOMEM;
			d->cfg.stage_path = o->stage_path;
		}
	}
	return 0;
}
