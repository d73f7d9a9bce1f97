/* SPDX-License-Identifier: MIT */
/*
 * main.c - aoki-fsd: serve an ext4 file system that lives on an
 * aoki-blkd volume.  See aoki-fsd(8).  Exit status: 0 after
 * SIGTERM/SIGINT (the journal checkpointed and marked clean), 1 when it
 * cannot serve (blkd unreachable, the image damaged or with features fsd
 * cannot keep consistent, the port taken), 2 for bad usage or
 * configuration (aoki-init does not restart it).  The server itself is
 * in libaoki (hosted.c serves the same code inside an application).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon.h"
#include "fsd.h"
#include "options.h"

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
	fsd_options_free(o);
	return status;
}

int main(int argc, char **argv)
{
	static struct fsd d;
	struct fsd_options o = { 0 };
	struct aoki_server_config cfg = { .listen_fd = -1 };
	char what[160];
	int r;

	r = fsd_parse_options(argc, argv, &o);
	if (r >= 0)
		return options_free(&o, r);
	if (fsd_setup(&d, &o, &cfg) < 0) {
		fprintf(stderr, "aoki-fsd: %s\n", strerror(ENOMEM));
		return options_free(&o, 1);
	}
	/* Anyone may connect: fsd checks every operation against the
	 * peer's uid and gid itself. */
	cfg.policy = fsd_policy_any;
	raise_nofile();
	/* Tests only: SIGKILL itself after each operation that must not run
	 * twice, before its reply (the rerun must come from the record). */
	d.test_crash = getenv("AOKI_FSD_TEST_CRASH") != NULL;
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
