/* SPDX-License-Identifier: MIT */
/*
 * secret_svc.h - a tiny service of the test's own, hosted with
 * aoki_host_start_service() (tests/host/pku-host.c).  Its state, a secret
 * word, lives in its compartment's heap (aoki_host_alloc); create()
 * publishes where, and under which key, in ordinary memory, so that the
 * test can aim at it from outside with nothing but the public API.
 *
 * Two slots, two services ("secA", "secB"), so that one hosted server can
 * be aimed at another's memory.  Configuration words: "--port PATH".
 */
#ifndef AOKI_SECRET_SVC_H
#define AOKI_SECRET_SVC_H

#include <stdatomic.h>
#include <stdint.h>

#include "aoki/host.h"

#define SECRET_OP_OWN     1	/* reply: the service's own secret (8 bytes) */
#define SECRET_OP_READ_AT 2	/* payload: an address; reply: the 8 bytes
				 * there, when armed (secret_arm), else
				 * -ECANCELED */

#define SECRET_SLOTS 2

/* Published by the live incarnation of each slot (key-0 memory: the
 * compartment and the application both reach it). */
struct secret_pub {
	_Atomic(uint64_t *) addr;	/* the secret, in the compartment's heap */
	_Atomic int pkey;	/* the compartment's key (-1: unprotected) */
	_Atomic unsigned builds;	/* create() calls: 1 + rebuilds */
	_Atomic int armed;	/* SECRET_OP_READ_AT may read, once */
};
extern struct secret_pub secret_pub[SECRET_SLOTS];

/* The value slot @slot's create() stores in its secret. */
#define SECRET_VALUE(slot) (0x5ec7e75ec7e70000ull + (slot))

/* Host slot @slot answering on @port with @flags (AOKI_HOST_*; QUIET is
 * added).  Returns as aoki_host_start_service(). */
int secret_start(unsigned slot, const char *port, unsigned flags, struct aoki_host **out);

/*
 * Let the next SECRET_OP_READ_AT of slot @slot read.  One-shot because a
 * fault in a handler is recovered by running the request again in the
 * rebuilt compartment: a read that faulted every time would be rerun
 * forever.  The handler disarms before it reads, so the rerun answers
 * -ECANCELED.
 */
static inline void secret_arm(unsigned slot)
{
	atomic_store(&secret_pub[slot].armed, 1);
}

#endif
