/* SPDX-License-Identifier: MIT */
/* req_api.c - what a handler sees of a request: its message, peer,
 * identity and grants, and the reply it sets.  Wait-free accessors over
 * the request's private copy (request.c takes it out of the ring). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "server.h"

uint16_t aoki_req_opcode(const struct aoki_req *req)
{
	return req->msg.op;
}

const void *aoki_req_data(const struct aoki_req *req, size_t *len)
{
	if (len)
		*len = req->msg.len;
	return req->msg.payload;
}

const struct aoki_peer *aoki_req_peer(const struct aoki_req *req)
{
	return &req->ch->peer;
}

void aoki_req_client(const struct aoki_req *req, uint8_t id[AOKI_CLIENT_ID_LEN])
{
	memcpy(id, req->ch->client_id, AOKI_CLIENT_ID_LEN);
}

uint64_t aoki_req_seq(const struct aoki_req *req)
{
	return req->pos;
}

int aoki_req_rerun(const struct aoki_req *req)
{
	return req->rerun;
}

unsigned aoki_req_window(const struct aoki_req *req)
{
	return req->ch->geom.nslots;
}

unsigned aoki_req_slot(const struct aoki_req *req)
{
	return req->idx;
}

/* Grant @id of @ch, or NULL (out of range, or none). */
static struct srv_grant *grant_of(const struct srv_chan *ch, uint32_t id)
{
	if (id >= ch->geom.max_grants)
		return NULL;
	/* Acquire pairs with the acceptor's release CAS in add_grant. */
	return atomic_load_explicit(&ch->grants[id], memory_order_acquire);
}

int aoki_req_grant(struct aoki_req *req, const struct aoki_grant_ref *ref,
		   unsigned rights, void **ptr)
{
	struct srv_grant *g = grant_of(req->ch, ref->grant);

	if (!g)
		return -ENOENT;
	if (!rights || (rights & ~g->rights))
		return -EACCES;
	if (ref->offset > g->len || ref->length > g->len - ref->offset)
		return -EFAULT;
	*ptr = (char *)g->base + ref->offset;
	return 0;
}

int aoki_req_grant_info(const struct aoki_req *req, uint32_t grant,
			struct aoki_grant_info *out)
{
	struct srv_grant *g = grant_of(req->ch, grant);

	if (!g)
		return -ENOENT;
	out->base = g->base;
	out->size = g->len;
	out->rights = g->rights;
	out->serial = g->serial;
	return 0;
}

int aoki_req_grant_dup(const struct aoki_req *req, uint32_t grant, unsigned rights)
{
	struct srv_grant *g = grant_of(req->ch, grant);
	int fd;

	if (!g)
		return -ENOENT;
	if (!rights || (rights & ~g->rights))
		return -EACCES;
	if (g->fd < 0)
		return -EOPNOTSUPP;
	fd = fcntl(g->fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

void *aoki_req_worker_data(const struct aoki_req *req)
{
	return req->ch->worker ? req->ch->worker->ops_ctx : NULL;
}

int aoki_req_reply(struct aoki_req *req, int32_t status, const void *data, size_t len)
{
	if (len > AOKI_MSG_PAYLOAD)
		return -EMSGSIZE;
	req->status = status;
	req->rep_len = (uint16_t)len;
	if (len)
		memcpy(req->rep, data, len);
	return 0;
}
