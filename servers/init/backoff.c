/* SPDX-License-Identifier: MIT */
/* backoff.c - restart delays and the crash limit of one server. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

/* The second delay when backoff-min-ms is 0: doubling 0 would never grow. */
#define BACKOFF_STEP_MS 10u

int init_backoff_init(struct init_backoff *b, const struct init_server_conf *conf)
{
	memset(b, 0, sizeof(*b));
	b->conf = conf;
	b->next_ms = conf->backoff_min_ms;
	if (conf->crash_limit) {
		b->crash_ns = calloc(conf->crash_limit, sizeof(*b->crash_ns));
		if (!b->crash_ns)
			return -ENOMEM;
	}
	return 0;
}

void init_backoff_reset(struct init_backoff *b)
{
	b->next_ms = b->conf->backoff_min_ms;
	b->ncrash = b->head = 0;
}

void init_backoff_free(struct init_backoff *b)
{
	free(b->crash_ns);
	b->crash_ns = NULL;
}

long init_backoff_crash(struct init_backoff *b, int64_t now_ns, int64_t up_ns)
{
	const struct init_server_conf *c = b->conf;
	unsigned delay;

	if (up_ns >= (int64_t)c->backoff_reset_ms * 1000000)
		b->next_ms = c->backoff_min_ms;	/* it ran well: start over */
	if (c->crash_limit) {
		/* The ring holds the last crash_limit crash times; once full,
		 * the slot written next holds the oldest of them. */
		b->crash_ns[b->head] = now_ns;
		b->head = (b->head + 1) % c->crash_limit;
		if (b->ncrash < c->crash_limit)
			b->ncrash++;
		if (b->ncrash == c->crash_limit &&
		    now_ns - b->crash_ns[b->head] <= (int64_t)c->crash_window_s * 1000000000)
			return -1;
	}
	delay = b->next_ms;
	b->next_ms = delay * 2 > BACKOFF_STEP_MS ? delay * 2 : BACKOFF_STEP_MS;
	if (b->next_ms > c->backoff_max_ms)
		b->next_ms = c->backoff_max_ms;
	return delay;
}
