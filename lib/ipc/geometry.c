/* SPDX-License-Identifier: MIT */
/* geometry.c - channel layout: computed by the client, checked by the server. */
#include <errno.h>
#include <string.h>

#include "layout.h"

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int chan_geometry_init(struct chan_geom *g, uint32_t nslots, uint32_t max_grants)
{
	if (!is_pow2(nslots) || nslots < CHAN_MIN_SLOTS || nslots > CHAN_MAX_SLOTS)
		return -EINVAL;
	if (max_grants > CHAN_MAX_GRANTS)
		return -EINVAL;
	g->nslots = nslots;
	g->mask = nslots - 1;
	g->max_grants = max_grants;
	g->slots_off = sizeof(struct chan_hdr);
	g->sq_off = g->slots_off + (uint64_t)nslots * CHAN_SLOT_SIZE;
	/* The completion ring starts on a line of its own: the client writes
	 * the submission ring and the server the completion ring. */
	g->cq_off = (g->sq_off + (uint64_t)nslots * sizeof(uint32_t) + CACHELINE - 1) &
		    ~(uint64_t)(CACHELINE - 1);
	g->total_size = g->cq_off + (uint64_t)nslots * sizeof(uint32_t);
	/* Round to whole cache lines so the CQ tail never shares a line. */
	g->total_size = (g->total_size + CACHELINE - 1) & ~(uint64_t)(CACHELINE - 1);
	return 0;
}

void chan_header_write(struct chan_hdr *hdr, const struct chan_geom *g)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = AOKI_CHAN_MAGIC;
	hdr->version = AOKI_IPC_VERSION;
	hdr->hdr_size = sizeof(struct chan_hdr);
	hdr->nslots = g->nslots;
	hdr->slot_size = CHAN_SLOT_SIZE;
	hdr->max_grants = g->max_grants;
	hdr->slots_off = g->slots_off;
	hdr->cq_off = g->cq_off;
	hdr->sq_off = g->sq_off;
	hdr->total_size = g->total_size;
}

int chan_geometry_check(const struct chan_hdr *copy, uint64_t file_size,
			struct chan_geom *g)
{
	struct chan_geom want;

	if (copy->magic != AOKI_CHAN_MAGIC)
		return -EBADMSG;
	if (copy->version != AOKI_IPC_VERSION)
		return -EPROTO;
	if (copy->hdr_size != sizeof(struct chan_hdr) ||
	    copy->slot_size != CHAN_SLOT_SIZE || copy->flags != 0)
		return -EBADMSG;
	/* Recompute the layout from the two free parameters and demand that
	 * every derived field matches: no offset is taken on trust. */
	if (chan_geometry_init(&want, copy->nslots, copy->max_grants))
		return -EBADMSG;
	if (copy->slots_off != want.slots_off || copy->cq_off != want.cq_off ||
	    copy->sq_off != want.sq_off ||
	    copy->total_size != want.total_size)
		return -EBADMSG;
	if (want.total_size > file_size)
		return -ENOSPC;
	*g = want;
	return 0;
}
