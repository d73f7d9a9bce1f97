/* SPDX-License-Identifier: MIT */
/*
 * main.c - aoki-init's command line.  Exit status: 0 stopped by SIGTERM
 * or SIGINT (or every server finished cleanly), 1 a server gave up or a
 * runtime error, 2 a usage or configuration error.  See aoki-init(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "version.h"
#define DEFAULT_CONFIG "/etc/aoki/init.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki-init [-c FILE] [--run-dir DIR] [--ready-fd N] [--check]\n"
		"\n"
		"Start the servers of FILE (default " DEFAULT_CONFIG "), hold their listening\n"
		"sockets, restart them when they crash.  SIGTERM or SIGINT stops them.\n"
		"\n"
		"  -c, --config FILE  the configuration file\n"
		"      --check        check the configuration and exit\n"
		"      --run-dir DIR  where sockets and pid files go (default: $AOKI_RUN_DIR,\n"
		"                     else $XDG_RUNTIME_DIR/aoki, else /run/aoki)\n"
		"      --ready-fd N   write \"READY\\n\" to descriptor N, then close it, once\n"
		"                     every socket is bound and every server started\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n"
		"\n"
		"See aoki-init(8).\n");
}

struct options {
	const char *config, *run_dir;
	int check, ready_fd;
};

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "ready-fd", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	char *end;
	long v;
	int c;

	*o = (struct options){ .config = DEFAULT_CONFIG, .ready_fd = -1 };
	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'k':
			o->check = 1;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'f':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > INT_MAX ||
			    fcntl((int)v, F_GETFD) < 0) {
				fprintf(stderr, "aoki-init: --ready-fd %s: not an open descriptor\n",
					optarg);
				return 2;
			}
			o->ready_fd = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("aoki-init %s\n", AOKI_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "aoki-init: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The run directory in @buf, created.  Returns 0, or -1 after saying
 * what went wrong. */
static int run_dir(const char *opt, char *buf, size_t cap)
{
	int r;

	if (opt)
		r = snprintf(buf, cap, "%s", opt) < (int)cap ? 0 : -ENAMETOOLONG;
	else
		r = init_run_dir_default(buf, cap);
	if (r >= 0)
		r = init_mkdir_p(buf);
	if (r >= 0)
		return 0;
	fprintf(stderr, "aoki-init: run directory %s: %s\n",
		opt ? opt : "($AOKI_RUN_DIR, $XDG_RUNTIME_DIR/aoki or /run/aoki)", strerror(-r));
	return -1;
}

static void ready(int fd, unsigned started, unsigned total)
{
	init_log("ready: %u of %u servers started", started, total);
	if (fd < 0)
		return;
	if (write(fd, "READY\n", 6) != 6)
		init_log("--ready-fd %d: %s", fd, strerror(errno));
	if (fd > STDERR_FILENO)	/* the end of the message; stdout stays */
		close(fd);
}

int main(int argc, char **argv)
{
	struct init_config cfg;
	struct init_sup *sup;
	struct options o;
	char err[512], dir[PATH_MAX];
	int r;

	r = parse_options(argc, argv, &o);
	if (r >= 0)
		return r;
	if (init_config_load(o.config, &cfg, err, sizeof(err)) < 0 ||
	    init_config_check_exec(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "aoki-init: %s\n", err);
		init_config_free(&cfg);
		return 2;
	}
	if (o.check) {
		printf("%s: OK, %u servers\n", o.config, cfg.nservers);
		init_config_free(&cfg);
		return 0;
	}
	if (o.ready_fd >= 0)
		fcntl(o.ready_fd, F_SETFD, FD_CLOEXEC);	/* not for the servers */
	if (run_dir(o.run_dir, dir, sizeof(dir)) < 0) {
		init_config_free(&cfg);
		return 1;
	}
	if (init_sup_open(&cfg, dir, &sup, err, sizeof(err)) < 0) {
		fprintf(stderr, "aoki-init: %s\n", err);
		init_config_free(&cfg);
		return 1;
	}
	ready(o.ready_fd, init_sup_start(sup), cfg.nservers);
	r = init_sup_run(sup);
	init_sup_close(sup);
	init_config_free(&cfg);
	return r;
}
