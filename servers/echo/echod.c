/* SPDX-License-Identifier: MIT */
/*
 * echod.c - aoki-echod: the example echo server (echo.h) as a program of
 * its own, for aoki-init, systemd units, tests and the demo.  It takes its
 * listening socket from socket activation when one is passed for its
 * port, and binds the port itself otherwise.  SIGTERM or SIGINT stops it
 * cleanly (exit 0).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "echo.h"
#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki-echod [--port NAME] [--workers N] [--quiet]\n"
		"\n"
		"Serve the echo protocol (aoki-echod(8)) on port NAME (default\n"
		"\"echo\": $AOKI_RUN_DIR/echo.sock, or the socket passed for NAME by\n"
		"socket activation: LISTEN_FDS, LISTEN_FDNAMES).  Stops on SIGTERM/SIGINT.\n"
		"\n"
		"  -p, --port NAME    port name or socket path\n"
		"  -w, --workers N    worker threads, 1..64 (default 1)\n"
		"  -q, --quiet        do not log connections\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n"
		"\n"
		"See aoki-echod(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { DAEMON_LONGOPTS, { 0 } };
	struct echo_state st = { 0 };
	struct aoki_server_config cfg = {
		.port = "echo", .listen_fd = -1, .handler = echo_handler,
		.handler_arg = &st, .workers = 1,
	};
	int c, r;

	while ((c = getopt_long(argc, argv, DAEMON_SHORT, longopts, NULL)) != -1) {
		r = daemon_option("aoki-echod", c, optarg, &cfg);
		if (r < 0)
			return 2;
		if (r == 2)
			return 0;	/* --version */
		if (r > 0)
			continue;
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "aoki-echod: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return daemon_serve("aoki-echod", &cfg, NULL);
}
