/* SPDX-License-Identifier: MIT */
/*
 * blk-recovery: aoki-blkd is SIGKILLed with I/O in flight and started
 * again (as aoki-init would); clients notice nothing but a pause.  (In
 * the in-process layout, blk-recovery-inproc, its handler faults instead
 * and its compartment is rebuilt: t_blkd_crash.)
 *   - a writer keeps 16 asynchronous 4 KiB writes in flight, each block
 *     holding its number and generation; a reader does synchronous reads
 *     of blocks already acknowledged; the server is killed 8 times
 *     (in-process: 100 injected faults, and the test's own memory is
 *     checked untouched);
 *   - every request completes with its full length: none is lost, failed
 *     or completed twice (tags are checked);
 *   - at the end every block reads back at its last acknowledged
 *     generation, through a new client and straight from the file.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "blk_util.h"

#define SIZE (8u << 20)
#define NBLK (SIZE / 4096)
#define QD 16
#ifdef T_BLK_INPROC
/* A fault and a rebuild cost milliseconds: the 100, close
 * together. */
#define KILLS 100
#define KILL_GAP_MS(k) (5 + (k) % 10)
#else
#define KILLS 8
#define KILL_GAP_MS(k) (30 + (k) * 7)
#endif

static char port[PATH_MAX + 16], file[PATH_MAX + 16], vol[PATH_MAX + 32];
static uint32_t acked[NBLK];	/* last acknowledged generation per block */
static _Atomic int stop, failed;
static _Atomic uint64_t writes_done;
static unsigned char canary[1 << 20];

static void *writer(void *arg)
{
	struct aoki_blk *b = arg;
	uint32_t gen_of[QD];
	uint64_t blk_of[QD], next = 0;
	unsigned inflight = 0;
	char *bufs;

	T_THREAD_CHECK(failed, aoki_blk_alloc(b, QD * 4096, (void **)&bufs) == 0);
	for (unsigned slot = 0; slot < QD; slot++)
		blk_of[slot] = ~0ull;
	while (!atomic_load(&stop) || inflight) {
		struct aoki_blk_cqe c[QD];
		int n;

		for (unsigned slot = 0; slot < QD && !atomic_load(&stop); slot++) {
			struct aoki_blk_io io = { .op = AOKI_BLK_OP_WRITE, .len = 4096,
						  .buf = bufs + slot * 4096, .tag = slot };

			if (blk_of[slot] != ~0ull)
				continue;
			/* Blocks in turn, so no two writes in flight share one. */
			blk_of[slot] = next++ % NBLK;
			gen_of[slot] = acked[blk_of[slot]] + 1;
			io.offset = blk_of[slot] * 4096;
			for (unsigned s = 0; s < 8; s++)
				t_blk_fill(bufs + slot * 4096 + s * 512, blk_of[slot] * 8 + s,
					   gen_of[slot]);
			n = aoki_blk_submit(b, &io, 1);
			T_THREAD_CHECK(failed, n == 0 || n == 1);
			if (n == 0) {
				blk_of[slot] = ~0ull;
				next--;
				break;
			}
			inflight++;
		}
		n = aoki_blk_reap(b, c, QD, 1, -1);
		T_THREAD_CHECK(failed, n > 0);
		for (int i = 0; i < n; i++) {
			unsigned slot = (unsigned)c[i].tag;

			T_THREAD_CHECK(failed, slot < QD && blk_of[slot] != ~0ull);	/* once */
			T_THREAD_CHECK(failed, c[i].res == 4096);
			/* Release: the reader's acquire load sees the data. */
			atomic_store_explicit((_Atomic uint32_t *)&acked[blk_of[slot]],
					      gen_of[slot], memory_order_release);
			blk_of[slot] = ~0ull;
			inflight--;
			atomic_fetch_add(&writes_done, 1);
		}
	}
	return NULL;
}

/* Reads of blocks the writer is past: at least the acknowledged data. */
static void *reader(void *arg)
{
	struct aoki_blk *b = arg;
	uint64_t x = 0x2545F4914F6CDD1Dull;
	char *buf;

	T_THREAD_CHECK(failed, aoki_blk_alloc(b, 4096, (void **)&buf) == 0);
	while (!atomic_load(&stop)) {
		uint64_t done = atomic_load(&writes_done), blk;
		uint32_t gen;

		if (done < 64)
			continue;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		blk = x % (done < NBLK ? done - 32 : NBLK);
		gen = atomic_load_explicit((_Atomic uint32_t *)&acked[blk], memory_order_acquire);
		T_THREAD_CHECK(failed, aoki_blk_pread(b, buf, 4096, blk * 4096) == 4096);
		/* The writer may have rewritten it since: never older. */
		for (unsigned s = 0; s < 8; s++) {
			uint64_t w1 = ((uint64_t *)(buf + s * 512))[0];
			uint32_t got = (uint32_t)((w1 ^ ((blk * 8 + s) * 0x9e3779b97f4a7c15ull)) >> 32);

			T_THREAD_CHECK(failed, gen == 0 ? 1 : got >= gen);
			T_THREAD_CHECK(failed, gen == 0 || t_blk_check(buf + s * 512, blk * 8 + s, got));
		}
	}
	return NULL;
}

static void verify_all(struct aoki_blk *b)
{
	char *buf;
	int fd = open(file, O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, (void **)&buf), 0);
	for (uint64_t blk = 0; blk < NBLK; blk++) {
		char direct[4096];

		if (!acked[blk])
			continue;
		CHECK_EQ(aoki_blk_pread(b, buf, 4096, blk * 4096), 4096);
		CHECK_EQ(pread(fd, direct, 4096, (off_t)(blk * 4096)), 4096);
		for (unsigned s = 0; s < 8; s++)
			CHECK(t_blk_check(buf + s * 512, blk * 8 + s, acked[blk]));
		CHECK(!memcmp(buf, direct, 4096));
	}
	close(fd);
}

int main(void)
{
	const char *const args[] = { "--volume", vol, NULL };
	struct aoki_blk *w, *r;
	pthread_t tw, tr;
	pid_t pid;

	snprintf(port, sizeof(port), "%s/blk.sock", t_run_dir());
	snprintf(file, sizeof(file), "%s/vol.img", t_run_dir());
	snprintf(vol, sizeof(vol), "vol=%s", file);
	t_blk_file(file, SIZE);
	/* The application's own memory: nothing the crashes and reruns do
	 * may change it. */
	for (unsigned i = 0; i < sizeof(canary); i++)
		canary[i] = (unsigned char)(i * 131 + 7);
	pid = t_blkd_start(port, args);
	CHECK_EQ(aoki_blk_open(port, "vol", AOKI_BLK_RDWR, NULL, &w), 0);
	CHECK_EQ(aoki_blk_open(port, "vol", 0, NULL, &r), 0);
	CHECK_EQ(pthread_create(&tw, NULL, writer, w), 0);
	CHECK_EQ(pthread_create(&tr, NULL, reader, r), 0);
	for (unsigned k = 0; k < KILLS && !atomic_load(&failed); k++) {
		uint64_t before;

		t_sleep_ms(KILL_GAP_MS(k));
		before = atomic_load(&writes_done);
		pid = t_blkd_crash(pid, port, args);
		/* Progress again after the restart. */
		for (int64_t end = t_now_ns() + 10000000000ll;
		     atomic_load(&writes_done) < before + 2 * QD;)
			CHECK(t_now_ns() < end);
	}
	atomic_store(&stop, 1);
	CHECK_EQ(pthread_join(tw, NULL), 0);
	CHECK_EQ(pthread_join(tr, NULL), 0);
	CHECK(!atomic_load(&failed));
	printf("note: %llu writes acknowledged across %d kills\n",
	       (unsigned long long)atomic_load(&writes_done), KILLS);
#ifdef T_BLK_INPROC
	{
		struct aoki_host_stats st;

		/* Every injected fault happened and was recovered. */
		CHECK_EQ(aoki_host_get_stats(t_blk_host, &st), 0);
		CHECK_EQ(st.recoveries, KILLS);
		CHECK_EQ(st.drain_failures, 0);
	}
#endif
	aoki_blk_close(r);
	verify_all(w);
	aoki_blk_close(w);
	t_blkd_stop(pid);
	for (unsigned i = 0; i < sizeof(canary); i++)
		CHECK_EQ(canary[i], (unsigned char)(i * 131 + 7));
	return 0;
}
