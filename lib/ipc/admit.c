/* SPDX-License-Identifier: MIT */
/* admit.c - connections per uid, HELLO deadlines, grant budgets. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "admit.h"
#include "server.h"

#define DEFAULT_HELLO_TIMEOUT_MS 5000
#define DEFAULT_GRANT_BYTES_PER_CHANNEL (1ull << 30)
#define MIN_GRANT_BYTES_TOTAL (256ull << 20)
#define DEFAULT_GRANTS_TOTAL 16384

void admit_defaults(struct aoki_server_config *cfg)
{
	if (!cfg->max_channels_per_uid)
		cfg->max_channels_per_uid = cfg->max_channels / 4 ? cfg->max_channels / 4 : 1;
	if (!cfg->hello_timeout_ms)
		cfg->hello_timeout_ms = DEFAULT_HELLO_TIMEOUT_MS;
	if (!cfg->grant_bytes_per_channel)
		cfg->grant_bytes_per_channel = DEFAULT_GRANT_BYTES_PER_CHANNEL;
	if (!cfg->grant_bytes_total) {
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		uint64_t half = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2 : 0;

		cfg->grant_bytes_total = half > MIN_GRANT_BYTES_TOTAL ? half : MIN_GRANT_BYTES_TOTAL;
	}
	if (!cfg->grants_total)
		cfg->grants_total = DEFAULT_GRANTS_TOTAL;
}

/* ------------------------------------------------------------- per uid */

static struct uid_slot **uid_bucket(struct aoki_server *srv, uid_t uid)
{
	return &srv->uids[(uid * 2654435761u) % ADMIT_UID_BUCKETS];
}

int admit_uid_take(struct aoki_server *srv, struct srv_chan *ch)
{
	uid_t uid = ch->peer.uid;
	struct uid_slot **b, *s;

	ch->uid = NULL;
	/* Root and the server's own uid can stop or trace the server
	 * anyway: capping them protects nothing. */
	if (uid == 0 || uid == srv->euid)
		return 0;
	b = uid_bucket(srv, uid);
	for (s = *b; s && s->uid != uid; s = s->next)
		;
	if (s && s->n >= srv->cfg.max_channels_per_uid)
		return -EUSERS;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->uid = uid;
		s->next = *b;
		*b = s;
	}
	s->n++;
	ch->uid = s;
	return 0;
}

void admit_uid_put(struct aoki_server *srv, struct srv_chan *ch)
{
	struct uid_slot *s = ch->uid, **b;

	if (!s)
		return;
	ch->uid = NULL;
	if (--s->n)
		return;
	for (b = uid_bucket(srv, s->uid); *b != s; b = &(*b)->next)
		;
	*b = s->next;
	free(s);
}

/* ---------------------------------------------------------- handshakes */

void admit_hs_push(struct aoki_server *srv, struct srv_chan *ch, int64_t now)
{
	/* Every deadline is now + the same timeout, so appending keeps the
	 * queue sorted. */
	ch->hello_deadline = now + (int64_t)srv->cfg.hello_timeout_ms * 1000000;
	ch->hs_next = NULL;
	ch->hs_prev = srv->hs_last;
	if (srv->hs_last)
		srv->hs_last->hs_next = ch;
	else
		srv->hs_first = ch;
	srv->hs_last = ch;
}

void admit_hs_remove(struct aoki_server *srv, struct srv_chan *ch)
{
	if (ch->hs_prev)
		ch->hs_prev->hs_next = ch->hs_next;
	else if (srv->hs_first == ch)
		srv->hs_first = ch->hs_next;
	else
		return;	/* not queued */
	if (ch->hs_next)
		ch->hs_next->hs_prev = ch->hs_prev;
	else
		srv->hs_last = ch->hs_prev;
	ch->hs_prev = ch->hs_next = NULL;
}

struct srv_chan *admit_hs_expired(struct aoki_server *srv, int64_t now)
{
	struct srv_chan *ch = srv->hs_first;

	return ch && ch->hello_deadline <= now ? ch : NULL;
}

int admit_wait_ms(const struct aoki_server *srv, int64_t now)
{
	int64_t next = -1, ms;

	if (srv->hs_first)
		next = srv->hs_first->hello_deadline;
	if (srv->listen_off_until && (next < 0 || srv->listen_off_until < next))
		next = srv->listen_off_until;
	if (next < 0)
		return -1;
	if (next <= now)
		return 0;
	ms = (next - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

/* -------------------------------------------------------------- grants */

/* Forget what the acceptor recorded for grant @id of @ch. */
static void uncharge(struct srv_chan *ch, uint32_t id)
{
	struct aoki_server *srv = ch->srv;
	uint64_t len = ch->grant_len[id];

	ch->grant_len[id] = 0;
	ch->grant_bytes -= len;
	ch->ngrants--;
	srv->grant_bytes -= len;
	srv->ngrants--;
}

/*
 * Credit back the grants of @ch that a worker revoked since we looked:
 * recorded here, but their table entry is empty.  Only the acceptor fills
 * an entry, so an empty one is a revoke, never a grant not yet entered.
 * Relaxed loads: only "is it empty" is asked, never what it points to
 * (the revoking worker may have freed it), and a revoke seen late only
 * delays the credit to the next look.
 */
static void reconcile(struct srv_chan *ch)
{
	if (!ch->grant_len || !ch->ngrants)
		return;
	for (uint32_t i = 0; i < ch->geom.max_grants; i++)
		if (ch->grant_len[i] &&
		    !atomic_load_explicit(&ch->grants[i], memory_order_relaxed))
			uncharge(ch, i);
}

static int over_total(const struct aoki_server *srv, uint64_t size)
{
	return srv->ngrants >= srv->cfg.grants_total ||
	       srv->grant_bytes > srv->cfg.grant_bytes_total ||
	       size > srv->cfg.grant_bytes_total - srv->grant_bytes;
}

int admit_grant_check(struct srv_chan *ch, uint64_t size)
{
	struct aoki_server *srv = ch->srv;
	uint64_t budget = srv->cfg.grant_bytes_per_channel;

	if (size > budget)
		return -E2BIG;
	reconcile(ch);
	if (size > budget - ch->grant_bytes)
		return -ENOSPC;
	if (over_total(srv, size)) {
		/* Other channels may have revoked grants: look (rarely). */
		for (struct srv_chan *c = srv->all; c; c = c->all_next)
			reconcile(c);
		if (over_total(srv, size))
			return -ENOSPC;
	}
	return 0;
}

void admit_grant_charge(struct srv_chan *ch, uint32_t id, uint64_t size)
{
	struct aoki_server *srv = ch->srv;

	/* Still recorded: revoked after our last look, and the id reused. */
	if (ch->grant_len[id])
		uncharge(ch, id);
	ch->grant_len[id] = size;
	ch->grant_bytes += size;
	ch->ngrants++;
	srv->grant_bytes += size;
	srv->ngrants++;
}

void admit_grant_forget(struct srv_chan *ch)
{
	struct aoki_server *srv = ch->srv;

	srv->grant_bytes -= ch->grant_bytes;
	srv->ngrants -= ch->ngrants;
	ch->grant_bytes = 0;
	ch->ngrants = 0;
}
