/* SPDX-License-Identifier: MIT */
/*
 * main.c - aoki-fsd: serve an ext4 file system that lives on an
 * aoki-blkd volume.  See aoki-fsd(8).  Exit status: 0 after
 * SIGTERM/SIGINT (the journal checkpointed and marked clean), 1 when it
 * cannot serve (blkd unreachable, the image damaged or with features fsd
 * cannot keep consistent, the port taken), 2 for bad usage or
 * configuration (aoki-init does not restart it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "fsd.h"
#include "fsd_main.h"
#include "version.h"

static void usage(FILE *f)
{
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

static int parse_args(int argc, char **argv, struct fsd_options *o, int *quiet)
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
	static const char *keys[128] = {
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
			*quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("aoki-fsd %s\n", AOKI_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		fprintf(stderr, "aoki-fsd: unexpected argument '%s'\n", argv[optind]);
	else if (!o->volume)
		fprintf(stderr, "aoki-fsd: no volume: give --volume NAME or -c FILE\n");
	else
		return -1;
	usage(stderr);
	return 2;
}

/* One descriptor per client grant is kept (passed on to blkd): raise the
 * soft limit to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Free what the options hold; returns @status (main's exit status). */
static int options_free(struct fsd_options *o, int status)
{
	free(o->volume);
	free(o->blk_port);
	free(o->port);
	return status;
}

int main(int argc, char **argv)
{
	static struct fsd d;
	struct fsd_options o = { 0 };
	struct aoki_server_config cfg = {
		.listen_fd = -1, .handler = fsd_handle, .handler_arg = &d, .workers = 1,
		.worker_ops = &fsd_worker_ops, .worker_arg = &d, .spin_ns = 200000,
		.keep_grant_fds = 1, .policy = NULL, .stats_fn = fsd_stats,
	};
	char what[160], stage[PATH_MAX];
	int quiet = 0, r;

	r = parse_args(argc, argv, &o, &quiet);
	if (r >= 0)
		return options_free(&o, r);
	cfg.port = o.port ? o.port : "fs";
	cfg.quiet = quiet;
	/* Anyone may connect: fsd checks every operation against the
	 * peer's uid and gid itself. */
	cfg.policy = fsd_policy_any;
	d.cfg = (struct fsd_config){
		.volume = o.volume, .blk_port = o.blk_port, .read_only = o.read_only,
		.commit_ns = (int64_t)(o.commit_ms ? o.commit_ms : FSD_COMMIT_NS / 1000000) * 1000000,
	};
	raise_nofile();
	/* Tests only: SIGKILL itself after each operation that must not run
	 * twice, before its reply (the rerun must come from the record). */
	d.test_crash = getenv("AOKI_FSD_TEST_CRASH") != NULL;
	/* The staging ring lives beside the port's socket (the run
	 * directory: tmpfs under /run). */
	if (aoki_port_path(cfg.port, stage, sizeof(stage)) > 0) {
		char *slash = strrchr(stage, '/');

		if (slash && (size_t)(slash - stage) + 64 + strlen(o.volume) < sizeof(stage)) {
			sprintf(slash + 1, "aoki-fsd-%s.stage", o.volume);
			d.cfg.stage_path = stage;
		}
	}
	r = blkio_open(&d);
	if (r < 0) {
		fprintf(stderr, "aoki-fsd: cannot open volume '%s' of aoki-blkd: %s\n", o.volume,
			strerror(-r));
		return options_free(&o, 1);
	}
	r = fsd_mount(&d);
	if (r < 0) {
		fprintf(stderr, "aoki-fsd: cannot mount volume '%s': %s\n", o.volume,
			strerror(-r));
		blkio_close(&d);
		return options_free(&o, r == -EINVAL || r == -EOPNOTSUPP ? 2 : 1);
	}
	snprintf(what, sizeof(what), ", volume %s, %u-byte blocks%s%s", o.volume, d.bsize,
		 d.st.replayed ? ", journal replayed" : "", o.read_only ? ", read-only" : "");
	r = daemon_serve("aoki-fsd", &cfg, what);
	if (fsd_unmount(&d) < 0) {
		fprintf(stderr, "aoki-fsd: the image was not closed cleanly; the journal will be "
			"replayed at the next start\n");
		r = r ? r : 1;
	}
	blkio_close(&d);
	return options_free(&o, r);
}
