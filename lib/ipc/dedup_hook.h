/* SPDX-License-Identifier: MIT */
/*
 * dedup_hook.h - what the server half of libaoki calls into aoki_dedup
 * (private; implemented in dedup.c).
 *
 * aoki_dedup_begin() pins the client's slot of the table from the begin
 * until the request's reply is in the channel memory: before that, a
 * server crash makes the request run again, and its record must still be
 * there (evicting the slot would turn the rerun into NEW: a duplicate).
 * Only the library knows when the reply is published, so it tells the
 * table here.
 */
#ifndef AOKI_DEDUP_HOOK_H
#define AOKI_DEDUP_HOOK_H

struct aoki_req;

/*
 * dedup_req_published - the reply of @req is now in its channel (the
 * last store of req_publish is done): release the pin its
 * aoki_dedup_begin() took, if it took one (req->dedup), and clear
 * req->dedup.  Call once per publication, after every store of the
 * reply; a no-op for requests that did not begin (req->dedup NULL, which
 * whoever builds a struct aoki_req must set).  Lock-free: one load and
 * store on the request's record, and a CAS on its slot word retried only
 * when another thread changed that word.
 */
void dedup_req_published(struct aoki_req *req);

#endif
