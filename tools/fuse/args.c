/* SPDX-License-Identifier: MIT */
/*
 * args.c - aoki-fuse's command line: MOUNTPOINT, -f, -d, -p PORT,
 * --reconnect-s S and -o with a comma-separated list of the options in
 * mount_opts below.  Anything else is a usage error (exit 2) that says
 * what was wrong; nothing is passed to libfuse unchecked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki-fuse MOUNTPOINT [-f] [-d] [-p PORT] [--reconnect-s S] [-o OPT[,OPT...]]\n"
		"\n"
		"Mount the file system that aoki-fsd serves on PORT (default \"fs\") at\n"
		"MOUNTPOINT through FUSE, so that any program can use it.  aoki-fsd stays\n"
		"the permission authority: run as root, aoki-fuse asks it to check every\n"
		"request against the calling process's uid and gid.  A crash of aoki-fsd\n"
		"is a delay, not an error; one that does not come back within the\n"
		"reconnect time makes calls fail with EIO.  Unmount with\n"
		"`fusermount3 -u MOUNTPOINT` or SIGTERM.\n"
		"\n"
		"  -f, --foreground       stay in the foreground (default: detach once\n"
		"                         mounted)\n"
		"  -d, --debug            log every FUSE request (implies -f)\n"
		"  -p, --port PORT        aoki-fsd's port name or socket path\n"
		"  -r, --reconnect-s S    how long to wait for a crashed aoki-fsd\n"
		"                         (default 30; 0: never give up)\n"
		"  -o allow_other         let other users use the mount (root, or\n"
		"                         user_allow_other in /etc/fuse.conf)\n"
		"  -o default_permissions also let the kernel check permissions\n"
		"                         from the cached attributes\n"
		"  -o ro                  mount read-only\n"
		"  -o attr_timeout=S      seconds the kernel caches attributes (1)\n"
		"  -o entry_timeout=S     seconds it caches names (1; 0 with\n"
		"                         allow_other and no default_permissions)\n"
		"  -o negative_timeout=S  seconds it caches missing names (0)\n"
		"  -o max_threads=N       worker threads at most (10)\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version\n"
		"\n"
		"See aoki-fuse(8).\n");
}

/* Seconds in [0, 86400] from @s, or -1. */
static double parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400)
		return -1;
	return v;
}

/* An unsigned in [@min, @max] from @s, or -1. */
static long parse_count(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

static int opt_flag(struct bridge_opts *o, const char *key, const char *val)
{
	int *slot = !strcmp(key, "allow_other") ? &o->allow_other
		    : !strcmp(key, "default_permissions") ? &o->default_permissions
		    : !strcmp(key, "ro") ? &o->read_only
		    : NULL;

	if (!strcmp(key, "rw") && !val) {
		o->read_only = 0;
		return 0;
	}
	if (!slot || val)
		return -1;
	*slot = 1;
	return 0;
}

static int opt_timeout(struct bridge_opts *o, const char *key, const char *val)
{
	double *slot = !strcmp(key, "attr_timeout") ? &o->attr_timeout
		       : !strcmp(key, "entry_timeout") ? &o->entry_timeout
		       : !strcmp(key, "negative_timeout") ? &o->negative_timeout
		       : NULL;

	if (!slot || !val || (*slot = parse_seconds(val)) < 0)
		return -1;
	if (slot == &o->entry_timeout)
		o->entry_timeout_set = 1;
	return 0;
}

static int opt_threads(struct bridge_opts *o, const char *key, const char *val)
{
	long n;

	if (strcmp(key, "max_threads") || !val || (n = parse_count(val, 1, 256)) < 0)
		return -1;
	o->max_threads = (unsigned)n;
	return 0;
}

/* The -o options, each: 0 if it took @key (=@val, NULL if none). */
static int (*const mount_opts[])(struct bridge_opts *, const char *, const char *) = {
	opt_flag, opt_timeout, opt_threads,
};

/* One -o list. */
static int parse_o(struct bridge_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL, *item;
	int r = 0;

	if (!copy) {
		fprintf(stderr, "aoki-fuse: no memory\n");
		return -1;
	}
	for (item = strtok_r(copy, ",", &save); item && !r; item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');
		size_t i;

		if (val)
			*val++ = 0;
		for (i = 0; i < sizeof(mount_opts) / sizeof(mount_opts[0]); i++)
			if (mount_opts[i](o, item, val) == 0)
				break;
		if (i == sizeof(mount_opts) / sizeof(mount_opts[0])) {
			fprintf(stderr, "aoki-fuse: bad mount option '%s%s%s' (see --help)\n", item,
				val ? "=" : "", val ? val : "");
			r = -1;
		}
	}
	free(copy);
	return r;
}

int bridge_parse_args(int argc, char **argv, struct bridge_opts *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "reconnect-s", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	double secs;
	int c;

	*o = (struct bridge_opts){ .attr_timeout = 1, .entry_timeout = 1, .max_threads = 10,
				   .reconnect_ns = 30000000000 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fdp:r:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = o->foreground = 1;
			break;
		case 'p':
			if (!*optarg) {
				fprintf(stderr, "aoki-fuse: --port: empty name\n");
				return -1;
			}
			o->port = optarg;
			break;
		case 'r':
			secs = parse_seconds(optarg);
			if (secs < 0) {
				fprintf(stderr, "aoki-fuse: --reconnect-s: '%s' is not a number of "
						"seconds in [0, 86400]\n", optarg);
				return -1;
			}
			/* 0: forever (a deadline that never comes; a negative
			 * reconnect_ns would turn reconnection off). */
			o->reconnect_ns = secs > 0 ? (int64_t)(secs * 1e9) : INT64_MAX / 4;
			break;
		case 'o':
			if (parse_o(o, optarg) < 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("aoki-fuse %s (libfuse %s)\n", AOKI_VERSION, fuse_pkgversion());
			return 1;
		case ':':
			fprintf(stderr, "aoki-fuse: option '%s' needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "aoki-fuse: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, optind == argc ? "aoki-fuse: no mount point given\n"
					       : "aoki-fuse: one mount point only\n");
		usage(stderr);
		return -1;
	}
	o->mountpoint = argv[optind];
	/* Other users, and fsd the only judge: the kernel must not walk a
	 * path through cached names (it checks no search permission on
	 * them), so every component is looked up again, for the caller. */
	if (o->allow_other && !o->default_permissions && !o->entry_timeout_set)
		o->entry_timeout = 0;
	return 0;
}
