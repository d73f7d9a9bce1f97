/* SPDX-License-Identifier: MIT */
/*
 * hosted.c - aoki-fsd hosted in an application (aoki/host.h): the same
 * options, mount, handler and worker hooks as the daemon, built in the
 * server's compartment, whose heap holds fsd's own memory (mem.c).  The
 * service callbacks run inside it.
 *
 * A fault (discard) ends the incarnation as SIGKILL ends the daemon:
 * nothing more is written; the next incarnation's create() mounts again,
 * replaying the journal and the staging ring (which lives beside the
 * port's socket, where a daemon on the same volume keeps it too), and
 * answers the requests the faulted one had taken from the reply record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aoki/host.h"
#include "fsd.h"
#include "options.h"

/* The state: handler_arg is &x->d, the first member. */
struct fsd_hosted {
	struct fsd d;
	struct fsd_options o;	/* d.cfg's strings */
};

static void hosted_free(struct aoki_host *h, struct fsd_hosted *x)
{
	fsd_options_free(&x->o);
	aoki_host_free(h, x);
}

static int fsd_host_create(struct aoki_host *h, int argc, char **argv,
			   struct aoki_server_config *cfg, char *err, size_t errcap)
{
	struct fsd_hosted *x = aoki_host_alloc(h, sizeof(*x));
	struct fsd *d;
	int r;

	if (!x) {
		snprintf(err, errcap, "no memory for the server's state");
		return -ENOMEM;
	}
	d = &x->d;
	d->host = x->o.host = h;
	r = fsd_parse_options(argc, argv, &x->o);
	if (r >= 0) {
		snprintf(err, errcap, "%s", r ? "bad options (see above)" :
			 "--help and --version are the daemon's");
		hosted_free(h, x);
		return -EINVAL;
	}
	r = fsd_setup(d, &x->o, cfg);
	if (r < 0) {
		snprintf(err, errcap, "no memory for the configuration");
		hosted_free(h, x);
		return r;
	}
	r = blkio_open(d);
	if (r < 0) {
		snprintf(err, errcap, "cannot open volume '%s' of aoki-blkd: %s", x->o.volume,
			 strerror(-r));
		blkio_close(d);
		hosted_free(h, x);
		return r;
	}
	r = fsd_mount(d);	/* released what it took if it failed */
	if (r < 0) {
		snprintf(err, errcap, "cannot mount volume '%s': %s", x->o.volume, strerror(-r));
		blkio_close(d);
		hosted_free(h, x);
		/* The daemon's exit 2: an image it cannot serve. */
		return r == -EINVAL || r == -EOPNOTSUPP ? -EINVAL : r;
	}
	return 0;
}

/* aoki_host_stop: as the daemon at SIGTERM (the workers' hooks have
 * drained the data I/O). */
static void fsd_host_destroy(struct aoki_host *h, void *state)
{
	struct fsd_hosted *x = state;

	if (fsd_unmount(&x->d) < 0)
		fprintf(stderr, "aoki-fsd: volume '%s' was not closed cleanly; the journal will "
			"be replayed at the next start\n", x->o.volume);
	blkio_close(&x->d);
	/* Its compartment's heap goes as a whole; without one (unisolated)
	 * this is the only free. */
	hosted_free(h, x);
}

/* After a fault: write nothing (no commit, no checkpoint, no ring
 * reset), free what lies outside the compartment's heap: libext2fs's
 * objects, the ring's mapping, the blkd channels (I/O in flight is
 * abandoned; the next incarnation's open fences it).  fsd's own
 * structures are not walked: they may be damaged, and the heap goes
 * as a whole. */
static void fsd_host_discard(struct aoki_host *h, void *state)
{
	struct fsd_hosted *x = state;

	fsd_release(&x->d, 0);
	blkio_close(&x->d);
}

const struct aoki_host_service aoki__fsd_service = {
	.name = "fsd",
	.create = fsd_host_create,
	.destroy = fsd_host_destroy,
	.discard = fsd_host_discard,
	/* The metadata cache alone is FSD_CACHE_BLOCKS x 4 KiB = 64 MiB,
	 * and doubles while transactions pin it; a transaction's log buffer
	 * (FSD_TXN_MAX_BLOCKS blocks and their descriptors, a little over
	 * 16 MiB) takes the heap's 32 MiB size class. */
	.heap_size = 256u << 20,
	/* .stack_size: the default 128 KiB.  The daemon passes the fs tests
	 * (mount, journal replay, libext2fs, stdio) on 40 KiB of stack. */
};
