/* SPDX-License-Identifier: MIT */
/* blk_nbd.c - `aoki bench blk`: the nbd compatibility row, fio's nbd
 * engine through nbdkit and the aoki-blk plugin (not in the ratios). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"
#include "clock.h"
#include "progress.h"

/* ------------------------------------------------------------------ nbd */

static void nbd_note(struct results *res, int state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nbd_note(struct results *res, int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->nbd_why, sizeof(res->nbd_why), fmt, ap);
	va_end(ap);
	res->nbd_state = state;
	util_progress_end();
	fprintf(stderr, "bench blk: nbd: %s (%s)\n", state == NBD_SKIPPED ? "skipped" : "failed",
		res->nbd_why);
}

/* nbdkit_start - nbdkit with the aoki-blk plugin on c->nbd_sock, serving
 * volume "bench" of the running aoki-blkd; wait for its socket.  0 or -1. */
static int nbdkit_start(const struct cfg *c)
{
	char port[128];
	char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", (char *)c->nbd_sock,
			 (char *)c->plugin, port, "volume=" VOLUME, NULL };
	int64_t deadline = util_now_ns() + START_NS;
	struct stat st;
	pid_t pid;

	snprintf(port, sizeof(port), "port=%s", c->sock);
	pid = bb_spawn(argv, NULL, c->nbd_err);
	if (pid < 0)
		return bb_err("cannot start nbdkit: %s", strerror((int)-pid));
	bb_cl.pid[PID_NBDKIT] = pid;
	while (stat(c->nbd_sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (bb_child_gone(PID_NBDKIT) || util_now_ns() > deadline) {
			if (bb_cl.pid[PID_NBDKIT])
				bb_err("nbdkit did not create %s in time", c->nbd_sock);
			bb_dump_file(c->nbd_err);
			return -1;
		}
		usleep(5000);
	}
	return 0;
}

/* bb_nbd_run - the compatibility row: fio's nbd engine -> nbdkit -> the
 * aoki-blk plugin -> aoki-blkd, randread 4 KiB QD32.  Skipped (noted)
 * without nbdkit or the plugin; a failure is noted, not fatal. */
void bb_nbd_run(const struct cfg *c, struct results *res)
{
	int r;

	if (!bb_in_path("nbdkit")) {
		nbd_note(res, NBD_SKIPPED, "nbdkit not in PATH; scripts/deps.sh installs it");
		return;
	}
	if (access(c->plugin, R_OK)) {
		nbd_note(res, NBD_SKIPPED, "no plugin %s", c->plugin);
		return;
	}
	bb_progress("nbd randread_qd32 (fio nbd -> nbdkit -> aoki-blkd)");
	r = bb_blkd_start(c);
	if (r == 0)
		r = nbdkit_start(c);
	if (r == 0)
		r = bb_run_fio(c, &bb_wls[W_RR32], c->nbd_sock, &res->nbd);
	bb_stop_child(PID_NBDKIT);
	bb_stop_child(PID_BLKD);
	if (r < 0) {
		nbd_note(res, NBD_FAILED, "see the messages above");
		return;
	}
	res->nbd_state = NBD_OK;
	bb_progress_done("nbd", &res->nbd);
}
