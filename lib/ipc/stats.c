/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the stats request, both halves: a library opcode
 * (OP_SERVER_STATS) that any Aoki server answers with its counters
 * (struct aoki_server_stats) and, if it has a cfg.stats_fn, a block of
 * its own figures.  Tools read a server's state through it instead of
 * parsing its log.
 *
 * The reply is larger than a message slot, so the client lends a grant:
 * the request carries a struct aoki_grant_ref to a region the server may
 * write; the server fills it with a struct stats_wire header, the
 * counters and the extension, and replies with the byte count.  The
 * client checks every length in what it reads back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "server.h"

#define STATS_MAGIC 0x54534b41u	/* "AKST" */
#define STATS_EXT_MAX 3072	/* most bytes of a server's own figures */
#define STATS_GRANT_BYTES 4096	/* the region a client lends: all of it fits */

/* What the server writes at the start of the grant; the counters (its
 * struct aoki_server_stats, stats_size bytes: older or newer libraries
 * may know fewer or more fields) follow, then ext_len bytes of extension. */
struct stats_wire {
	uint32_t magic;
	uint16_t hdr_size;	/* sizeof(struct stats_wire) */
	uint16_t stats_size;
	uint32_t ext_len;
	uint32_t reserved;
};

_Static_assert(sizeof(struct stats_wire) + sizeof(struct aoki_server_stats) + STATS_EXT_MAX <=
	       STATS_GRANT_BYTES, "a full reply fits the grant a client lends");

/* ---------------------------------------------------------------- server */

/* Ticks since boot at which this process started (/proc/self/stat field
 * 22); -1 if unknown.  The command name (field 2) may hold spaces and
 * parentheses: fields are counted from its last ')'. */
static long long start_ticks(void)
{
	char buf[1024], *p;
	long long ticks = -1;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* Each turn moves to the blank before field @field: state is field
	 * 3, the first after ')'; starttime is field 22. */
	for (int field = 3; p && field <= 22; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%lld", &ticks) != 1)
		ticks = -1;
	return ticks;
}

void srv_stats_identity(const struct aoki_server *srv, struct aoki_server_stats *out)
{
	struct timespec boot, wall;
	long long ticks = start_ticks();
	long hz = sysconf(_SC_CLK_TCK);

	out->pid = (uint64_t)getpid();
	out->epoch = srv->epoch;
	out->workers = srv->nworkers;
	out->uptime_ns = 0;
	out->start_ns = 0;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &wall);
	if (ticks >= 0 && hz > 0) {
		int64_t boot_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
		int64_t started = ticks * (1000000000 / hz);

		out->uptime_ns = boot_ns > started ? boot_ns - started : 0;
		out->start_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec - out->uptime_ns;
	}
}

void srv_stats_reply(struct aoki_req *req)
{
	struct aoki_server *srv = req->ch->srv;
	uint8_t ext[STATS_EXT_MAX];
	struct stats_wire w = { .magic = STATS_MAGIC, .hdr_size = sizeof(w),
				.stats_size = sizeof(struct aoki_server_stats) };
	struct aoki_server_stats st;
	struct aoki_grant_ref ref;
	size_t room;
	const void *data = aoki_req_data(req, &room);
	char *dst;
	int r;

	if (room != sizeof(ref)) {
		aoki_req_reply(req, -EINVAL, NULL, 0);
		return;
	}
	memcpy(&ref, data, sizeof(ref));	/* a private copy already */
	r = aoki_req_grant(req, &ref, AOKI_GRANT_WRITE, (void **)&dst);
	if (r == 0 && ref.length < sizeof(w) + sizeof(st))
		r = -ENOBUFS;
	if (r < 0) {
		aoki_req_reply(req, r, NULL, 0);
		return;
	}
	aoki_server_get_stats(srv, &st);
	room = ref.length - sizeof(w) - sizeof(st);
	if (room > sizeof(ext))
		room = sizeof(ext);
	if (srv->cfg.stats_fn && room) {
		/* Into a private buffer: the callback never sees memory the
		 * client can change under it. */
		r = srv->cfg.stats_fn(srv->cfg.handler_arg, ext, room);
		w.ext_len = r > 0 ? ((size_t)r < room ? (uint32_t)r : (uint32_t)room) : 0;
	}
	/* Plain stores into the client's region: it reads them after the
	 * reply, which publishing orders after them (the release store of
	 * the slot's DONE state, paired with the client's acquire load). */
	memcpy(dst, &w, sizeof(w));
	memcpy(dst + sizeof(w), &st, sizeof(st));
	memcpy(dst + sizeof(w) + sizeof(st), ext, w.ext_len);
	aoki_req_reply(req, (int32_t)(sizeof(w) + sizeof(st) + w.ext_len), NULL, 0);
}

/* ---------------------------------------------------------------- client */

/* Check the reply of @total bytes at @mem (the server wrote it: hostile
 * as anything in shared memory) and copy it out.  Reads each field once,
 * into private copies, before it is used. */
static int stats_decode(const uint8_t *mem, size_t total, struct aoki_server_stats *out,
			void *ext, size_t ext_cap, size_t *ext_len)
{
	struct stats_wire w;
	size_t n;

	if (total < sizeof(w) || total > STATS_GRANT_BYTES)
		return -EPROTO;
	memcpy(&w, mem, sizeof(w));
	if (w.magic != STATS_MAGIC || w.hdr_size != sizeof(w) ||
	    w.stats_size > total - sizeof(w) || w.ext_len > total - sizeof(w) - w.stats_size)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	n = w.stats_size < sizeof(*out) ? w.stats_size : sizeof(*out);
	memcpy(out, mem + sizeof(w), n);
	n = w.ext_len < ext_cap ? w.ext_len : ext_cap;
	if (n)
		memcpy(ext, mem + sizeof(w) + w.stats_size, n);
	if (ext_len)
		*ext_len = w.ext_len;
	return 0;
}

int aoki_query_stats(struct aoki_chan *ch, struct aoki_server_stats *out, void *ext,
		     size_t ext_cap, size_t *ext_len)
{
	struct aoki_grant_ref ref = { .length = STATS_GRANT_BYTES, .offset = 0 };
	uint8_t *mem;
	int r, rv;

	if (!ch || !out || (ext_cap && !ext))
		return -EINVAL;
	r = aoki_grant_create(ch, STATS_GRANT_BYTES, AOKI_GRANT_WRITE, &ref.grant,
			      (void **)&mem);
	if (r < 0)
		return r;
	r = chan_call(ch, OP_SERVER_STATS, &ref, sizeof(ref), NULL, 0, NULL);
	if (r >= 0)
		r = stats_decode(mem, (size_t)r, out, ext, ext_cap, ext_len);
	rv = aoki_grant_revoke(ch, ref.grant);
	return r < 0 ? r : rv;
}

void aoki_server_get_stats(struct aoki_server *srv, struct aoki_server_stats *out)
{
	out->requests = 0;
	for (unsigned i = 0; i < srv->nworkers; i++)
		out->requests += atomic_load_explicit(&srv->workers[i].requests,
						      memory_order_relaxed);
	out->channels = atomic_load_explicit(&srv->nchannels, memory_order_relaxed);
	out->accepted = atomic_load_explicit(&srv->st.accepted, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&srv->st.dropped, memory_order_relaxed);
	out->refused = atomic_load_explicit(&srv->st.refused, memory_order_relaxed);
	out->sleeps = atomic_load_explicit(&srv->st.sleeps, memory_order_relaxed);
	out->resumed = atomic_load_explicit(&srv->st.resumed, memory_order_relaxed);
	out->rerun = atomic_load_explicit(&srv->st.rerun, memory_order_relaxed);
	srv_stats_identity(srv, out);
}
