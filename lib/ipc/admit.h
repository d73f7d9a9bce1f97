/* SPDX-License-Identifier: MIT */
/*
 * admit.h - what a server lets one client hold (private): connections per
 * uid, the deadline of each connection's HELLO, and the grant budgets.
 * Every function runs on the acceptor thread (or after it has stopped),
 * which owns all of this state: no locks, no atomics, except where a
 * worker's revoke is noticed (admit_grant_check).  docs/ipc.md,
 * "Admission and limits", says what each limit bounds.
 */
#ifndef AOKI_ADMIT_H
#define AOKI_ADMIT_H

#include <stdint.h>

#include "aoki/ipc.h"

struct aoki_server;
struct srv_chan;

/* One uid's connections (per-uid cap), in the server's hash table. */
struct uid_slot {
	uid_t uid;
	unsigned n;
	struct uid_slot *next;
};
#define ADMIT_UID_BUCKETS 64

/* admit_defaults - replace the zero limits of @cfg by their defaults
 * (max_channels must be set already). */
void admit_defaults(struct aoki_server_config *cfg);

/*
 * admit_uid_take - count @ch against its peer's uid.  Root and the
 * server's own uid are not capped (nor counted).  Returns 0, -EUSERS (the
 * uid holds cfg.max_channels_per_uid connections already), -ENOMEM.
 */
int admit_uid_take(struct aoki_server *srv, struct srv_chan *ch);

/* admit_uid_put - undo admit_uid_take (nothing if it did not count). */
void admit_uid_put(struct aoki_server *srv, struct srv_chan *ch);

/* admit_hs_push - @ch, just accepted, must finish its handshake within
 * cfg.hello_timeout_ms from @now: queue it (oldest first). */
void admit_hs_push(struct aoki_server *srv, struct srv_chan *ch, int64_t now);

/* admit_hs_remove - @ch's handshake is over (attached, or released). */
void admit_hs_remove(struct aoki_server *srv, struct srv_chan *ch);

/* admit_hs_expired - the oldest handshake whose deadline is past at
 * @now, or NULL. */
struct srv_chan *admit_hs_expired(struct aoki_server *srv, int64_t now);

/* admit_wait_ms - how long the acceptor may sleep at @now before a
 * deadline (a handshake's, or the end of an accept back-off); -1: none. */
int admit_wait_ms(const struct aoki_server *srv, int64_t now);

/*
 * admit_grant_check - may @ch register a grant of @size bytes?  Returns
 * 0, -E2BIG (larger than the per-channel budget by itself), -ENOSPC (the
 * channel's budget, or the server's byte or count total, is spent).
 * Grants revoked since (by a worker) are credited back first.
 */
int admit_grant_check(struct srv_chan *ch, uint64_t size);

/* admit_grant_charge - record that grant id @id of @ch, @size bytes, is
 * in place (after a successful admit_grant_check). */
void admit_grant_charge(struct srv_chan *ch, uint32_t id, uint64_t size);

/* admit_grant_forget - @ch leaves the acceptor: its grants stop counting
 * against the server's totals. */
void admit_grant_forget(struct srv_chan *ch);

#endif
