/* SPDX-License-Identifier: MIT */
/*
 * blk-grants: the server's registered-buffer table under pressure, seen
 * from what it must never do: move the wrong bytes.
 *   - two channels with 600 grants each (1200 live grants for one worker's
 *     1024-slot table, so slots collide and registrations are evicted),
 *     each grant written to its own block and read back, interleaved
 *     across the channels, twice;
 *   - a grant larger than the registration limit (80 MiB, sparse), used
 *     at its end: served by plain I/O, same bytes;
 *   - grants revoked and replaced while the others stay in use.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "blk_util.h"
#include "proto.h"

#define NGRANTS 600
#define SIZE (16u << 20)

struct side {
	struct aoki_chan *ch;
	uint32_t handle;
	uint32_t id[NGRANTS];
	uint8_t *mem[NGRANTS];
};

static uint32_t open_vol(struct aoki_chan *ch)
{
	struct blk_open_req o = { .flags = BLK_OPEN_WRITE, .name = "vol" };
	struct blk_info_rep rep;

	CHECK_EQ(aoki_call(ch, BLK_OP_OPEN, &o, sizeof(o), &rep, sizeof(rep), NULL), 0);
	return rep.handle;
}

static int io(struct aoki_chan *ch, uint16_t op, uint32_t handle, uint32_t grant,
	      uint64_t goff, uint64_t off)
{
	struct blk_io_req r = { handle, grant, goff, off, 4096, 0 };

	return aoki_call(ch, op, &r, sizeof(r), NULL, 0, NULL);
}

static void side_open(struct side *s, const char *port)
{
	struct aoki_chan_opts o = { .max_grants = 1024 };

	CHECK_EQ(aoki_connect(port, &o, &s->ch), 0);
	s->handle = open_vol(s->ch);
	for (unsigned i = 0; i < NGRANTS; i++)
		CHECK_EQ(aoki_grant_create(s->ch, 4096, AOKI_GRANT_READ | AOKI_GRANT_WRITE,
					   &s->id[i], (void **)&s->mem[i]), 0);
}

/* Block of grant @i of side @k. */
static uint64_t block_of(unsigned k, unsigned i)
{
	return (uint64_t)k * NGRANTS + i;
}

/* Write every grant's block, interleaving the sides, then read back. */
static void round_trip(struct side *s, unsigned gen)
{
	for (unsigned i = 0; i < NGRANTS; i++)
		for (unsigned k = 0; k < 2; k++) {
			for (unsigned q = 0; q < 8; q++)
				t_blk_fill(s[k].mem[i] + q * 512, block_of(k, i) * 8 + q, gen);
			CHECK_EQ(io(s[k].ch, BLK_OP_WRITE, s[k].handle, s[k].id[i], 0,
				    block_of(k, i) * 4096), 4096);
		}
	for (unsigned i = NGRANTS; i-- > 0;)
		for (unsigned k = 0; k < 2; k++) {
			memset(s[k].mem[i], 0, 4096);
			CHECK_EQ(io(s[k].ch, BLK_OP_READ, s[k].handle, s[k].id[i], 0,
				    block_of(k, i) * 4096), 4096);
			for (unsigned q = 0; q < 8; q++)
				CHECK(t_blk_check(s[k].mem[i] + q * 512, block_of(k, i) * 8 + q, gen));
		}
}

static void large_grant(struct side *s)
{
	size_t big = 80u << 20;
	uint32_t id;
	uint8_t *mem;

	CHECK_EQ(aoki_grant_create(s->ch, big, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &id,
				   (void **)&mem), 0);
	for (unsigned q = 0; q < 8; q++)
		t_blk_fill(mem + big - 4096 + q * 512, 4000 * 8 + q, 9);
	CHECK_EQ(io(s->ch, BLK_OP_WRITE, s->handle, id, big - 4096, 4000 * 4096ull), 4096);
	memset(mem + big - 4096, 0, 4096);
	CHECK_EQ(io(s->ch, BLK_OP_READ, s->handle, id, big - 4096, 4000 * 4096ull), 4096);
	for (unsigned q = 0; q < 8; q++)
		CHECK(t_blk_check(mem + big - 4096 + q * 512, 4000 * 8 + q, 9));
	CHECK_EQ(aoki_grant_revoke(s->ch, id), 0);
}

int main(void)
{
	char port[PATH_MAX + 16], file[PATH_MAX + 16], vol[PATH_MAX + 32];
	struct side s[2];
	pid_t pid;

	snprintf(port, sizeof(port), "%s/blk.sock", t_run_dir());
	snprintf(file, sizeof(file), "%s/vol.img", t_run_dir());
	snprintf(vol, sizeof(vol), "vol=%s", file);
	t_blk_file(file, SIZE);
	pid = t_blkd_start(port, (const char *const[]){ "--volume", vol, NULL });
	side_open(&s[0], port);
	side_open(&s[1], port);
	round_trip(s, 1);
	/* Revoke a third of one side's grants and grant anew. */
	for (unsigned i = 0; i < NGRANTS; i += 3) {
		CHECK_EQ(aoki_grant_revoke(s[0].ch, s[0].id[i]), 0);
		CHECK_EQ(aoki_grant_create(s[0].ch, 4096, AOKI_GRANT_READ | AOKI_GRANT_WRITE,
					   &s[0].id[i], (void **)&s[0].mem[i]), 0);
	}
	round_trip(s, 2);
	large_grant(&s[1]);
	aoki_close(s[0].ch);
	aoki_close(s[1].ch);
	t_blkd_stop(pid);
	return 0;
}
