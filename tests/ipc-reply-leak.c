/* SPDX-License-Identifier: MIT */
/*
 * ipc-reply-leak - a reply shorter than a slot's payload must not carry
 * the server's leftovers into the client's memory.
 *
 * The server writes a reply as a whole payload (a constant-size copy is a
 * few inline moves): the bytes past the reply's length come from the
 * worker's buffer for the reply, which, unless cleared, still holds the
 * previous reply of that worker - another client's.  Here client A is
 * answered 32 bytes of a secret pattern, then client B (another channel
 * of the same one-worker server) asks for an 8-byte reply (ECHO_OP_ADD);
 * no byte of B's channel memory (its slots and the server's reply record
 * in its header) may hold the pattern.  Control: B's own 32-byte echo of
 * the pattern does put it into B's memory, so the scan can see it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "../lib/ipc/client.h"
#include "echo.h"
#include "harness.h"

#define SECRET 0xa7

/* Bytes of @ch's channel memory (every slot's payload and the header's
 * reply record) equal to SECRET. */
static unsigned secret_bytes(const struct aoki_chan *ch)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < ch->geom.nslots; i++)
		for (unsigned b = 0; b < AOKI_MSG_PAYLOAD; b++)
			n += ch->slots[i].payload[b] == SECRET;
	for (unsigned b = 0; b < AOKI_MSG_PAYLOAD; b++)
		n += ch->hdr->reply_payload[b] == SECRET;
	return n;
}

int main(void)
{
	struct echo_opts eo = { .cpu = -1, .quiet = 1, .workers = 1 };
	struct aoki_chan *a, *b;
	uint8_t secret[AOKI_MSG_PAYLOAD], rep[AOKI_MSG_PAYLOAD];
	uint64_t ab[2] = { 40, 2 }, sum = 0;
	pid_t srv;

	t_run_dir();
	memset(secret, SECRET, sizeof(secret));
	CHECK_EQ(echo_server_spawn("leak", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("leak", NULL, &a), 0);
	CHECK_EQ(aoki_connect("leak", NULL, &b), 0);

	for (int round = 0; round < 100; round++) {
		CHECK_EQ(aoki_call(a, ECHO_OP_ECHO, secret, sizeof(secret), rep, sizeof(rep),
				   NULL), (int)sizeof(secret));
		CHECK_EQ(aoki_call(b, ECHO_OP_ADD, ab, sizeof(ab), &sum, sizeof(sum), NULL), 0);
		CHECK_EQ(sum, 42);
	}
	CHECK_EQ(secret_bytes(b), 0);

	/* Control: the scan finds the pattern where it really is. */
	CHECK_EQ(aoki_call(b, ECHO_OP_ECHO, secret, sizeof(secret), rep, sizeof(rep), NULL),
		 (int)sizeof(secret));
	CHECK(secret_bytes(b) >= sizeof(secret));

	aoki_close(a);
	aoki_close(b);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
