/* SPDX-License-Identifier: MIT */
/*
 * check_keys.c - check 5 of tests/host/pku-host.c: a hosted server
 * recovered more times than there are protection keys.  Each rebuild
 * takes a fresh key; the old one is quarantined until every thread has
 * taken the revocation signal (SIGRTMAX, lib/domain/revoke.c).  The
 * server's closer thread used to block every signal (lib/ipc/closer.c),
 * so no key came back: the 14th rebuild failed with -ENOSPC and the
 * server answered -ENOSPC for good (and aoki_host_stop() of it then
 * crashed).  Now 16 recoveries in one process all succeed, and the
 * server stops cleanly afterwards.
 *
 * check 6: the same, with an io_uring worker kept alive from every
 * incarnation.  Before each fault a new thread flushes the volume (an
 * fsync always runs on an io-wq worker of the calling thread, made inside
 * blkd's gate, so holding that incarnation's key) and then stays, its
 * worker with it.  Such workers cannot be asked to give keys up; a
 * rebuild takes up the key of the incarnation it succeeds
 * (AOKI_DOMAIN_SUCCESSOR, lib/domain/revoke.c).  Without that the 14th
 * rebuild found no key for the 5 s of its retries: the server failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

#include "aoki/blk.h"
#include "htest.h"

#define REBUILDS 16	/* more than the 15 keys */

/* How many threads of this process block SIGRTMAX; their ids in @ids. */
static unsigned threads_blocking_rtmax(char *ids, size_t cap, unsigned *total)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;
	size_t len = 0;

	*total = 0;
	ids[0] = 0;
	CHECK(d);
	while ((e = readdir(d))) {
		char path[300], line[128];
		unsigned long long blk = 0;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		(*total)++;
		if (blk & (1ull << (SIGRTMAX - 1))) {
			n++;
			len += (size_t)snprintf(ids + len, len < cap ? cap - len : 0, " %s",
						e->d_name);
		}
	}
	closedir(d);
	return n;
}


/* Host blkd on a fresh 1 MiB volume "v" at port @name; open it read-write
 * into *@b with a 4 KiB buffer *@buf.  (Waits up to 10 s for an answer:
 * a failed rebuild retries for 5.) */
static struct aoki_host *start_blkd_on(const char *name, struct aoki_blk **b, void **buf)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	struct aoki_blk_opts bo = { .timeout_ns = 10000000000 };
	struct aoki_host *h;
	char words[256], path[128];

	init_pku_or_fail();
	snprintf(path, sizeof(path), "%s/%s.img", test_dir, name);
	make_file(path, 1 << 20);
	snprintf(words, sizeof(words), "--volume v=%s --port %s/%s.sock --quiet", path,
		 test_dir, name);
	CHECK_EQ(aoki_host_start("blkd", words, &o, &h), 0);
	snprintf(path, sizeof(path), "%s/%s.sock", test_dir, name);
	CHECK_EQ(aoki_blk_open(path, "v", AOKI_BLK_RDWR, &bo, b), 0);
	CHECK_EQ(aoki_blk_alloc(*b, 4096, buf), 0);
	return h;
}

void check_keys_come_back(void)
{
	struct aoki_host *h;
	struct aoki_blk *b;
	unsigned i, total, blocking;
	char ids[256];
	ssize_t r = 0;
	void *buf;

	h = start_blkd_on("keys", &b, &buf);
	for (i = 0; i < REBUILDS; i++) {
		CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
		r = aoki_blk_pread(b, buf, 4096, 0);
		if (r != 4096)
			break;
	}
	if (i < REBUILDS) {
		blocking = threads_blocking_rtmax(ids, sizeof(ids), &total);
		printf("note: check 5: the read after fault %u returned %zd (%s); %llu "
		       "recoveries; %u of %u threads block SIGRTMAX (tids%s)\n", i + 1, r,
		       strerror((int)-r), (unsigned long long)recoveries(h), blocking, total, ids);
	}
	CHECK_EQ(i, REBUILDS);
	CHECK_EQ(recoveries(h), REBUILDS);
	printf("note: check 5: %u recoveries in one process (more than the keys): keys "
	       "come back\n", REBUILDS);
	aoki_blk_close(b);
	aoki_host_stop(h);
}

#define WORKER_ROUNDS 20	/* more than the 15 keys */

static _Atomic int flushed, leave;

/* Flush through the hosted blkd (its io-wq worker is made now, with the
 * current incarnation's key), then stay until told to leave. */
static void *flush_and_stay(void *arg)
{
	CHECK_EQ(aoki_blk_flush(arg), 0);
	atomic_fetch_add(&flushed, 1);
	while (!atomic_load(&leave))
		usleep(5000);
	return NULL;
}

void check_workers_keep_keys(void)
{
	pthread_t t[WORKER_ROUNDS];
	struct aoki_host *h;
	struct aoki_blk *b;
	unsigned i;
	double t0 = now_ms();
	ssize_t r = 0;
	void *buf;

	h = start_blkd_on("workers", &b, &buf);
	for (i = 0; i < WORKER_ROUNDS; i++) {
		CHECK_EQ(pthread_create(&t[i], NULL, flush_and_stay, b), 0);
		while (atomic_load(&flushed) <= (int)i)
			usleep(1000);
		CHECK_EQ(aoki_host_inject_fault(h, AOKI_HOST_FAULT_NULL, NULL), 0);
		r = aoki_blk_pread(b, buf, 4096, 0);
		if (r != 4096)
			break;
	}
	if (i < WORKER_ROUNDS)
		printf("note: check 6: the read after fault %u returned %zd (%s)\n", i + 1, r,
		       strerror((int)-r));
	CHECK_EQ(i, WORKER_ROUNDS);
	CHECK_EQ(recoveries(h), WORKER_ROUNDS);
	printf("note: check 6: %u recoveries, each incarnation's io-wq worker kept alive, "
	       "in %.0f ms\n", WORKER_ROUNDS, now_ms() - t0);
	atomic_store(&leave, 1);
	for (i = 0; i < WORKER_ROUNDS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	aoki_blk_close(b);
	aoki_host_stop(h);
}
