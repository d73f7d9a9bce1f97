/* SPDX-License-Identifier: MIT */
/*
 * secret_svc.c - the test's tiny hostable service (secret_svc.h).  Its
 * callbacks and handler run inside its compartment, through the gate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aoki/domain.h"
#include "secret_svc.h"

struct secret_pub secret_pub[SECRET_SLOTS];

/* The state: in the compartment's heap, where only its code may look. */
struct secret_state {
	struct aoki_host *h;
	unsigned slot;
	uint64_t secret;
};

static int secret_handle(struct aoki_req *req, void *arg)
{
	struct secret_state *st = arg;
	const void *data;
	uint64_t v, addr;
	size_t len;

	aoki_host_check_fault(st->h);
	data = aoki_req_data(req, &len);
	switch (aoki_req_opcode(req)) {
	case SECRET_OP_OWN:
		v = st->secret;
		break;
	case SECRET_OP_READ_AT:
		if (len != sizeof(addr))
			return -EINVAL;
		memcpy(&addr, data, sizeof(addr));
		if (!atomic_exchange(&secret_pub[st->slot].armed, 0))
			return -ECANCELED;	/* the rerun after a fault */
		v = *(const volatile uint64_t *)(uintptr_t)addr;
		break;
	default:
		return -ENOSYS;
	}
	return aoki_req_reply(req, 0, &v, sizeof(v));
}

/* argv[0] is the service's name, "secA" or "secB": it gives the slot
 * (create() has no other argument of ours). */
static int secret_create(struct aoki_host *h, int argc, char **argv,
			 struct aoki_server_config *cfg, char *err, size_t errcap)
{
	unsigned slot = (unsigned)(argv[0][3] - 'A');
	struct secret_state *st;
	struct aoki_domain *dom;

	if (slot >= SECRET_SLOTS || argc != 3 || strcmp(argv[1], "--port")) {
		snprintf(err, errcap, "want: --port PATH");
		return -EINVAL;
	}
	st = aoki_host_alloc(h, sizeof(*st));
	if (!st) {
		snprintf(err, errcap, "no memory");
		return -ENOMEM;
	}
	st->h = h;
	st->slot = slot;
	st->secret = SECRET_VALUE(slot);
	/* create() runs inside the compartment: the current one is ours
	 * (none when hosted unisolated). */
	dom = aoki_domain_current();
	atomic_store(&secret_pub[slot].pkey, dom ? aoki_domain_pkey(dom) : -1);
	atomic_store(&secret_pub[slot].addr, &st->secret);
	atomic_fetch_add(&secret_pub[slot].builds, 1);
	*cfg = (struct aoki_server_config){
		.port = argv[2], .handler = secret_handle, .handler_arg = st, .workers = 1,
	};
	return 0;
}

static const struct aoki_host_service secret_svc[SECRET_SLOTS] = {
	{ .name = "secA", .create = secret_create },
	{ .name = "secB", .create = secret_create },
};

int secret_start(unsigned slot, const char *port, unsigned flags, struct aoki_host **out)
{
	struct aoki_host_opts o = { .flags = flags | AOKI_HOST_QUIET, .heap_size = 1u << 20 };
	char words[160];

	if (slot >= SECRET_SLOTS)
		return -EINVAL;
	snprintf(words, sizeof(words), "--port %s", port);
	return aoki_host_start_service(&secret_svc[slot], words, &o, out);
}
