/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dedup_open - aoki_dedup_open() over a table file whose every byte
 * the input chooses (a dead server's leftovers, or somebody's garbage),
 * then begin/commit on a few fake requests of three clients.
 *
 * Input: the whole file.
 * Properties: no crash or sanitizer report; open gives 0 or -EBADMSG;
 * begin gives NEW, INTERRUPTED, DONE (with a reply of at most 32 bytes),
 * -EBADMSG, -ENOSPC or -EAGAIN; a request that was begun commits, and is
 * then DONE with exactly the reply committed.  (On any table that opens,
 * exactly-once works from then on.)  Each reply is "published" as
 * req_publish does (dedup_req_published), which releases its pin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aoki/dedup.h"
#include "../lib/ipc/dedup_hook.h"
#include "../lib/ipc/server.h"

static void run(struct aoki_dedup *dd, struct srv_chan *ch, uint64_t seq)
{
	struct aoki_req req = { .ch = ch, .pos = seq }, again = { .ch = ch, .pos = seq };
	uint8_t rep[AOKI_MSG_PAYLOAD];
	size_t len = seq % (AOKI_MSG_PAYLOAD + 1);
	int r = aoki_dedup_begin(dd, &req);

	switch (r) {
	case AOKI_DEDUP_DONE:
		if (req.rep_len > AOKI_MSG_PAYLOAD)
			abort();
		dedup_req_published(&req);
		return;
	case AOKI_DEDUP_NEW:
	case AOKI_DEDUP_INTERRUPTED:
		break;
	case -EBADMSG:
	case -ENOSPC:
	case -EAGAIN:
	case -E2BIG:
		return;
	default:
		abort();
	}
	memset(rep, (int)seq, len);
	aoki_req_reply(&req, -(int32_t)seq, rep, len);
	if (aoki_dedup_commit(dd, &req) != 0)
		abort();
	if (aoki_dedup_begin(dd, &again) != AOKI_DEDUP_DONE || again.status != req.status ||
	    again.rep_len != len || memcmp(again.rep, rep, len) != 0)
		abort();
	dedup_req_published(&req);
	dedup_req_published(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct srv_chan ch[3];
	struct aoki_dedup *dd;
	int r;

	if (fd < 0) {
		fd = memfd_create("fuzz-dedup", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	r = aoki_dedup_open(path, NULL, &dd);
	if (r == -EBADMSG)
		return 0;
	if (r != 0)
		abort();
	/* Clients as in fuzz/make-seeds.py: uid 1000, id n, 0xa5 x 15. */
	for (unsigned n = 0; n < 3; n++) {
		memset(&ch[n], 0, sizeof(ch[n]));
		ch[n].peer.uid = 1000;
		memset(ch[n].client_id, 0xa5, sizeof(ch[n].client_id));
		ch[n].client_id[0] = (uint8_t)n;
		ch[n].geom.nslots = 4;
	}
	for (uint64_t seq = 0; seq < 6; seq++)
		for (unsigned n = 0; n < 3; n++)
			run(dd, &ch[n], seq);
	aoki_dedup_close(dd);
	return 0;
}
