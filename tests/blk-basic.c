/* SPDX-License-Identifier: MIT */
/*
 * blk-basic: aoki-blkd as a process, through include/aoki/blk.h.
 *   - open: geometry as the kernel reports it (size, O_DIRECT alignment);
 *   - synchronous write, read back, FUA write, flush; data reaches the
 *     backing file (read with pread(2), not through the server);
 *   - discard and write-zeroes read back as zeroes;
 *   - asynchronous: 2000 random 4 KiB writes and reads at QD32, every
 *     block checked against a model; completions each exactly once;
 *   - buffers: many allocations across several grants, freed and reused;
 *   - event-loop use: the descriptor, arm, reap;
 *   - four threads sharing a volume with a 2-slot ring: synchronous calls
 *     wait for a slot (never -EAGAIN);
 *   - a second volume and two clients at once;
 *   - SIGTERM: exit 0;
 *   - all of it twice: with both sides polling (the default), and with
 *     neither polling, so that every wait sleeps (the server on its ring
 *     with a FUTEX_WAITV request on the doorbells).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "blk_util.h"

#define SIZE (16u << 20)
#define NBLK (SIZE / 4096)

static char dir[PATH_MAX], port[PATH_MAX + 16], file[PATH_MAX + 16], file2[PATH_MAX + 16];

static void sync_io(struct aoki_blk *b)
{
	struct aoki_blk_info info;
	char *buf, *chk;
	int fd;

	aoki_blk_get_info(b, &info);
	CHECK_EQ(info.size, SIZE);
	CHECK(info.block_size >= 1 && info.block_size <= 4096);
	CHECK(!(info.flags & AOKI_BLK_INFO_READONLY));
	printf("note: volume block %u, mem_align %u, %s\n", info.block_size, info.mem_align,
	       info.flags & AOKI_BLK_INFO_DIRECT ? "O_DIRECT" : "buffered");
	CHECK_EQ(aoki_blk_alloc(b, 65536, (void **)&buf), 0);
	CHECK((uintptr_t)buf % 4096 == 0);
	for (unsigned i = 0; i < 128; i++)
		t_blk_fill(buf + i * 512, i, 1);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 65536, 1 << 20, 0), 65536);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 2 << 20, AOKI_BLK_FUA), 4096);
	CHECK_EQ(aoki_blk_flush(b), 0);
	memset(buf, 0, 65536);
	CHECK_EQ(aoki_blk_pread(b, buf, 65536, 1 << 20), 65536);
	for (unsigned i = 0; i < 128; i++)
		CHECK(t_blk_check(buf + i * 512, i, 1));
	/* The bytes are in the file, as another reader sees them. */
	chk = malloc(65536);
	fd = open(file, O_RDONLY);
	CHECK(fd >= 0 && chk);
	CHECK_EQ(pread(fd, chk, 65536, 1 << 20), 65536);
	CHECK(memcmp(chk, buf, 65536) == 0);
	/* Discard and write-zeroes: zeroes, both in the file and read back. */
	CHECK_EQ(aoki_blk_discard(b, 1 << 20, 16384), 0);
	CHECK_EQ(aoki_blk_write_zeroes(b, (1 << 20) + 32768, 8192), 0);
	CHECK_EQ(aoki_blk_pread(b, buf, 65536, 1 << 20), 65536);
	CHECK_EQ(pread(fd, chk, 65536, 1 << 20), 65536);
	for (unsigned i = 0; i < 128; i++) {
		int zero = i < 32 || (i >= 64 && i < 80);
		static const char zeroes[512];

		CHECK(zero ? !memcmp(buf + i * 512, zeroes, 512) : t_blk_check(buf + i * 512, i, 1));
		CHECK(!memcmp(buf + i * 512, chk + i * 512, 512));
	}
	close(fd);
	free(chk);
	aoki_blk_free(b, buf);
}

/* Check the completions in @c: each a slot in flight, each 4 KiB; reads
 * hold the generation the model expects.  Frees their slots. */
static unsigned completions(const struct aoki_blk_cqe *c, int n, int writing, char *bufs,
			    const uint64_t *blk, const uint32_t *gen, uint8_t *busy,
			    unsigned *free_slots, unsigned *nfree)
{
	for (int i = 0; i < n; i++) {
		unsigned slot = (unsigned)c[i].tag;

		CHECK(slot < 32 && busy[slot]);	/* exactly once */
		CHECK_EQ(c[i].res, 4096);
		for (unsigned s = 0; !writing && s < 8; s++)
			CHECK(t_blk_check(bufs + slot * 4096 + s * 512, blk[slot] * 8 + s,
					  gen[blk[slot]]));
		busy[slot] = 0;
		free_slots[(*nfree)++] = slot;
	}
	return (unsigned)n;
}

/* Random async writes then reads at QD32, checked against gen[]. */
static void async_io(struct aoki_blk *b)
{
	static uint32_t gen[NBLK];
	enum { QD = 32, N = 2000 };
	char *bufs;
	uint8_t busy[QD] = { 0 };
	uint64_t x = 88172645463325252ull, blk[QD];
	unsigned free_slots[QD], nfree;

	CHECK_EQ(aoki_blk_alloc(b, QD * 4096, (void **)&bufs), 0);
	for (int writing = 1; writing >= 0; writing--) {
		unsigned submitted = 0, completed = 0;

		for (nfree = 0; nfree < QD; nfree++)
			free_slots[nfree] = nfree;
		while (completed < N) {
			struct aoki_blk_cqe c[QD];
			int got;

			while (submitted < N && nfree) {
				int n;
				unsigned slot = free_slots[--nfree];
				struct aoki_blk_io io = { .op = writing ? AOKI_BLK_OP_WRITE
									: AOKI_BLK_OP_READ,
							  .len = 4096, .buf = bufs + slot * 4096,
							  .tag = slot };
				int clash;

				/* A random block that no I/O in flight touches (and,
				 * reading, that the write pass wrote). */
				do {
					x ^= x << 13, x ^= x >> 7, x ^= x << 17;
					blk[slot] = x % NBLK;
					clash = 0;
					for (unsigned k = 0; k < QD; k++)
						clash |= busy[k] && blk[k] == blk[slot];
				} while (clash || (!writing && !gen[blk[slot]]));
				io.offset = blk[slot] * 4096;
				if (writing) {
					gen[blk[slot]]++;
					for (unsigned s = 0; s < 8; s++)
						t_blk_fill(bufs + slot * 4096 + s * 512,
							   blk[slot] * 8 + s, gen[blk[slot]]);
				}
				n = aoki_blk_submit(b, &io, 1);
				CHECK(n == 0 || n == 1);
				if (n == 0) {	/* the ring's next slot is still busy */
					if (writing)
						gen[blk[slot]]--;
					free_slots[nfree++] = slot;
					break;
				}
				busy[slot] = 1;
				submitted++;
			}
			got = aoki_blk_reap(b, c, QD, 1, -1);
			CHECK(got > 0);
			completed += completions(c, got, writing, bufs, blk, gen, busy, free_slots,
						 &nfree);
		}
	}
	aoki_blk_free(b, bufs);
}

/* Allocation across grants: fill several arenas, free, reuse. */
static void buffers(const char *p)
{
	struct aoki_blk_opts o = { .arena_size = 64 * 1024 };
	struct aoki_blk *b;
	void *bufs[40];

	CHECK_EQ(aoki_blk_open(p, "vol", AOKI_BLK_RDWR, &o, &b), 0);
	for (unsigned i = 0; i < 40; i++) {
		CHECK_EQ(aoki_blk_alloc(b, 12288, &bufs[i]), 0);
		for (unsigned k = 0; k < i; k++)	/* no overlap */
			CHECK((char *)bufs[k] + 12288 <= (char *)bufs[i] ||
			      (char *)bufs[i] + 12288 <= (char *)bufs[k]);
		memset(bufs[i], (int)i, 12288);
		CHECK_EQ(aoki_blk_pwrite(b, bufs[i], 12288, i * 12288ull, 0), 12288);
	}
	for (unsigned i = 0; i < 40; i += 2)
		aoki_blk_free(b, bufs[i]);
	for (unsigned i = 0; i < 40; i += 2) {
		CHECK_EQ(aoki_blk_alloc(b, 12288, &bufs[i]), 0);
		CHECK_EQ(aoki_blk_pread(b, bufs[i], 12288, i * 12288ull), 12288);
		CHECK(((unsigned char *)bufs[i])[12287] == i);
	}
	/* A buffer larger than an arena gets its own grant. */
	CHECK_EQ(aoki_blk_alloc(b, 1 << 20, &bufs[0]), 0);
	CHECK_EQ(aoki_blk_pread(b, bufs[0], 1 << 20, 0), 1 << 20);
	CHECK(((unsigned char *)bufs[0])[12288 * 3] == 3);
	aoki_blk_close(b);
}

/* The event-loop path: descriptor, arm, poll, reap. */
static void event_loop(struct aoki_blk *b)
{
	struct aoki_blk_io io = { .op = AOKI_BLK_OP_READ, .len = 4096, .offset = 8192 };
	struct aoki_blk_cqe c;
	int fd = aoki_blk_eventfd(b);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	CHECK(fd >= 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &io.buf), 0);
	CHECK_EQ(aoki_blk_submit(b, &io, 1), 1);
	while (aoki_blk_arm(b) == 0)
		CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_EQ(aoki_blk_reap(b, &c, 1, 1, -1), 1);
	CHECK_EQ(c.res, 4096);
	aoki_blk_free(b, io.buf);
}

/* Threads sharing one volume with a 2-slot ring: synchronous calls wait
 * for a slot, never fail with -EAGAIN. */
static void *shared_reader(void *arg)
{
	struct aoki_blk *b = arg;
	void *buf;

	if (aoki_blk_alloc(b, 4096, &buf) < 0)
		return (void *)1;
	for (unsigned i = 0; i < 2000; i++)
		if (aoki_blk_pread(b, buf, 4096, (i % 64) * 4096ull) != 4096)
			return (void *)1;
	return NULL;
}

static void shared_sync(void)
{
	struct aoki_blk_opts o = { .queue_depth = 2 };
	struct aoki_blk *b;
	pthread_t t[4];
	void *ret;

	CHECK_EQ(aoki_blk_open(port, "vol", 0, &o, &b), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, shared_reader, b), 0);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(pthread_join(t[i], &ret), 0);
		CHECK(ret == NULL);
	}
	aoki_blk_close(b);
}

/* Everything above against one server; @spin_us: its --spin-us (0: a
 * worker never polls, so every wait is a sleep: on its ring, woken by a
 * completion or by a doorbell), and the client's polling likewise. */
static void scenario(const char *vol, const char *vol2, const char *spin_us)
{
	struct aoki_blk_opts o = { .spin_ns = strcmp(spin_us, "0") ? 0 : -1 };
	struct aoki_blk *b, *b2;
	pid_t pid;
	void *buf;

	pid = t_blkd_start(port, (const char *const[]){ "--volume", vol, "--volume", vol2,
						       "--spin-us", spin_us, NULL });
	CHECK_EQ(aoki_blk_open(port, "vol", AOKI_BLK_RDWR, &o, &b), 0);
	sync_io(b);
	async_io(b);
	event_loop(b);
	buffers(port);
	shared_sync();
	/* A second volume, a second client, at once. */
	CHECK_EQ(aoki_blk_open(port, "two", AOKI_BLK_RDWR, &o, &b2), 0);
	CHECK_EQ(aoki_blk_alloc(b2, 4096, &buf), 0);
	memset(buf, 0x5a, 4096);
	CHECK_EQ(aoki_blk_pwrite(b2, buf, 4096, (1 << 20) - 4096, 0), 4096);
	/* Volumes are separate; buffers belong to their own volume. */
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, (1 << 20) - 4096), -EFAULT);
	aoki_blk_free(b2, buf);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &buf), 0);
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, (1 << 20) - 4096), 4096);
	CHECK(((unsigned char *)buf)[0] != 0x5a);
	aoki_blk_close(b2);
	aoki_blk_close(b);
	t_blkd_stop(pid);
}

int main(void)
{
	char vol[PATH_MAX + 32], vol2[PATH_MAX + 32];

	snprintf(dir, sizeof(dir), "%s", t_run_dir());
	snprintf(port, sizeof(port), "%s/blk.sock", dir);
	snprintf(file, sizeof(file), "%s/vol.img", dir);
	snprintf(file2, sizeof(file2), "%s/vol2.img", dir);
	t_blk_file(file, SIZE);
	t_blk_file(file2, 1 << 20);
	snprintf(vol, sizeof(vol), "vol=%s", file);
	snprintf(vol2, sizeof(vol2), "two=%s", file2);
	scenario(vol, vol2, "200");
	scenario(vol, vol2, "0");
	return 0;
}
