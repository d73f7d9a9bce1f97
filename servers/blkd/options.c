/* SPDX-License-Identifier: MIT */
/*
 * options.c - aoki-blkd's options, for the daemon (main.c) and for a
 * server hosted in an application (hosted.c), which takes the same ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "blkd.h"

static void usage(FILE *f, const struct blkd *d)
{
	if (d->host) {
		/* Hosted: one line in the application's log, not the text. */
		fprintf(f, "blkd: the options are aoki-blkd's: see aoki-blkd(8)\n");
		return;
	}
	fprintf(f,
		"Usage: aoki-blkd [-c FILE] [--volume NAME=PATH[:ro]]... [--port NAME]\n"
		"                 [--workers N] [--quiet] [--check] [--record FILE]\n"
		"\n"
		"Serve block volumes (regular files or block devices) on Aoki port NAME\n"
		"(default \"blk\", or the socket passed for it by socket activation).\n"
		"I/O goes through io_uring, O_DIRECT where the file system allows it,\n"
		"straight between the device and client buffers.  Restarted by aoki-init\n"
		"after a crash, it resumes its clients' channels.  Stops on SIGTERM/SIGINT.\n"
		"\n"
		"  -c, --config FILE     volumes and who may use them (aoki-blkd(8))\n"
		"  -v, --volume N=P[:ro] serve file or device P as volume N (repeatable);\n"
		"                        :ro makes it read-only\n"
		"  -p, --port NAME       port name or socket path\n"
		"  -w, --workers N       worker threads, 1..64, each with its own io_uring\n"
		"                        (default 1)\n"
		"  -b, --batch N         requests taken from one client per turn (default 1);\n"
		"                        each turn's requests go to the kernel in one call\n"
		"  -s, --spin-us N       how long an idle worker polls its channels and ring\n"
		"                        before it sleeps (default 200; 0: never polls)\n"
		"  -q, --quiet           do not log connections and volumes\n"
		"      --check           check the configuration, open the volumes, exit\n"
		"      --record FILE     test aid: append every completed write, discard,\n"
		"                        write-zeroes (with its data) and flush to FILE\n"
		"                        (fdatasync'd at each flush; see aoki-blkd(8))\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n");
}

int blkd_parse_options(int argc, char **argv, struct blkd *d, struct aoki_server_config *cfg,
		       struct blkd_options *o)
{
	static const struct option longopts[] = {
		DAEMON_LONGOPTS,
		{ "config", required_argument, NULL, 'c' },
		{ "volume", required_argument, NULL, 'v' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "check", no_argument, NULL, 'C' },
		{ "record", required_argument, NULL, 'R' },
		{ 0 }
	};
	char err[512];
	unsigned spin_us;
	int c, r;

	while ((c = getopt_long(argc, argv, DAEMON_SHORT "c:v:s:b:", longopts, NULL)) != -1) {
		r = daemon_option("aoki-blkd", c, optarg, cfg);
		if (r < 0)
			return 2;
		if (r == 2)
			return 0;	/* --version */
		if (r > 0)
			continue;
		switch (c) {
		case 'c':
			if (blkd_config_load(d, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "aoki-blkd: %s\n", err);
				return 2;
			}
			o->config = optarg;
			break;
		case 'v':
			if (blkd_config_volume_arg(d, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "aoki-blkd: %s\n", err);
				return 2;
			}
			break;
		case 's':
			if (daemon_parse_uint(optarg, 0, 1000000, &spin_us) < 0) {
				fprintf(stderr, "aoki-blkd: --spin-us %s: not a number in "
					"0..1000000\n", optarg);
				return 2;
			}
			cfg->spin_ns = spin_us ? (int64_t)spin_us * 1000 : -1;
			break;
		case 'b':
			if (daemon_parse_uint(optarg, 1, 4096, &cfg->batch) < 0) {
				fprintf(stderr, "aoki-blkd: --batch %s: not a number in 1..4096\n",
					optarg);
				return 2;
			}
			break;
		case 'C':
			o->check = 1;
			break;
		case 'R':
			o->record = optarg;
			break;
		case 'h':
			usage(stdout, d);
			return 0;
		default:
			usage(stderr, d);
			return 2;
		}
	}
	if (optind < argc)
		fprintf(stderr, "aoki-blkd: unexpected argument '%s'\n", argv[optind]);
	else if (!d->nvol)
		fprintf(stderr, "aoki-blkd: no volumes: give -c FILE or --volume NAME=PATH\n");
	else
		return -1;
	usage(stderr, d);
	return 2;
}

