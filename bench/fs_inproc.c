/* SPDX-License-Identifier: MIT */
/*
 * fs_inproc.c - `aoki bench fs --layout inproc`: the aoki sides with
 * aoki-blkd and aoki-fsd hosted in the benchmark's own process
 * (<aoki/host.h>), each in a compartment of its own (the aoki_inproc side)
 * or without one (aoki_unisolated: AOKI_HOST_UNISOLATED, the servers' code
 * called directly, which measures what the compartments cost); the client
 * thread runs their turns, so its CPU is all of it.  The ports are those
 * of the process layout ("blk", "fs" in the private run directory): the
 * client code is the same, aoki_fs_mount() finds the hosted fsd first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "aoki/domain.h"
#include "aoki/fs.h"
#include "aoki/host.h"
#include "fs.h"

#define REQUEST_DEADLINE_NS (60ll * 1000000000)	/* as the process layout's */

static const char *uniso_note(const struct bf_side *s)
{
	return s->side == BF_AOKI_UNISO ? " (AOKI_HOST_UNISOLATED)" : "";
}

int bf_inproc_up(const struct bf_cfg *c, struct bf_side *s)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	struct aoki_fs_opts opts = { .timeout_ns = REQUEST_DEADLINE_NS };
	char words[PATH_MAX + 64];
	int r;

	if (s->side == BF_AOKI_UNISO)
		o.flags |= AOKI_HOST_UNISOLATED;
	/* The words are split at white space, with no quoting. */
	if (strpbrk(c->img, " \t\n"))
		return bf_err("in-process layout: the image path '%s' has blanks (set TMPDIR)",
			      c->img);
	snprintf(words, sizeof(words), "--volume disk=%s --port blk --quiet", c->img);
	r = aoki_host_start("blkd", words, &o, &s->host[0]);
	if (r < 0)
		return bf_err("hosting aoki-blkd%s: %s", uniso_note(s), strerror(-r));
	r = aoki_host_start("fsd", "--volume disk --blk-port blk --port fs --quiet", &o,
			    &s->host[1]);
	if (r < 0)
		return bf_err("hosting aoki-fsd%s: %s", uniso_note(s), strerror(-r));
	r = aoki_fs_mount("fs", &opts, &s->fs);
	if (r < 0)
		return bf_err("in-process aoki-fsd: mount: %s", strerror(-r));
	return 0;
}

void bf_inproc_down(struct bf_side *s)
{
	for (int i = 1; i >= 0; i--) {	/* fsd first: it needs blkd to stop cleanly */
		struct aoki_host_stats st;

		if (!s->host[i])
			continue;
		if (aoki_host_get_stats(s->host[i], &st) == 0 && st.recoveries)
			bf_err("warning: the in-process %s recovered from %llu fault(s) "
			       "during the run", i ? "aoki-fsd" : "aoki-blkd",
			       (unsigned long long)st.recoveries);
		aoki_host_stop(s->host[i]);
		s->host[i] = NULL;
	}
}

int bf_inproc_isolated(void)
{
	return aoki_domain_isolated();
}
