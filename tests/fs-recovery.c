/* SPDX-License-Identifier: MIT */
/*
 * fs-recovery: aoki-fsd killed with SIGKILL under load, restarted by
 * aoki-init, replays its journal, and its clients carry on.  Four threads
 * each create files with O_CREAT|O_EXCL, write them (aligned and not),
 * append, rename and unlink, and fsync now and then, while aoki-fsd is
 * killed 12 times.  Passes when no call returned an error (a create
 * rerun after a crash must not give -EEXIST, an append must not land
 * twice), every file holds what was written, and e2fsck -fn is clean
 * after a clean stop.  The number of reruns answered from the reply
 * record is reported (note:), not asserted: it depends on where the
 * kills land.
 *
 * In the in-process layout (fs-recovery-inproc, T_FS_INPROC) both servers
 * are hosted in the test process and "killed" by injected faults: 100,
 * one at a time, each waited for (its recovery counted), in turn a
 * garbage pointer and abort(), before a request's work and after it
 * (the operation done and staged, not answered); every fifth goes to
 * blkd under fsd instead.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fs_util.h"

#ifndef THREADS
#define THREADS 4
#endif
#ifdef T_FS_INPROC
#define KILLS 100
#else
#define KILLS 12
#endif

static _Atomic int stop, failed;
static _Atomic uint64_t ops;

static void fill(uint8_t *b, size_t n, unsigned t, unsigned i)
{
	for (size_t k = 0; k < n; k++)
		b[k] = (uint8_t)(k * 31 + t * 7 + i * 13 + k / 4096);
}

static void *worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	struct aoki_fs *fs;
	uint8_t *buf, *back, want[20000];
	char dir[32], a[64], b[64];

	T_THREAD_CHECK(failed, aoki_fs_mount("fs", NULL, &fs) == 0);
	T_THREAD_CHECK(failed, aoki_fs_alloc(fs, 65536, (void **)&buf) == 0);
	T_THREAD_CHECK(failed, aoki_fs_alloc(fs, 65536, (void **)&back) == 0);
	snprintf(dir, sizeof(dir), "/t%u", t);
	T_THREAD_CHECK(failed, aoki_fs_mkdir(fs, dir, 0755) == 0);
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		int fd, r;

		snprintf(a, sizeof(a), "%s/f%u", dir, i);
		snprintf(b, sizeof(b), "%s/g%u", dir, i % 8);
		fd = aoki_fs_open(fs, a, O_CREAT | O_EXCL | O_RDWR, 0644);
		if (fd < 0)
			fprintf(stderr, "t%u: open %s: %d\n", t, a, fd);
		T_THREAD_CHECK(failed, fd >= 0);
		fill(buf, 16384, t, i);
		r = (int)aoki_fs_pwrite(fs, fd, buf, 16384, 0);	/* copy-free */
		if (r != 16384)
			fprintf(stderr, "t%u: pwrite %s: %d\n", t, a, r);
		T_THREAD_CHECK(failed, r == 16384);
		fill(want, 3000, t, i + 1);
		r = (int)aoki_fs_pwrite(fs, fd, want, 3000, 16384);	/* an edge */
		T_THREAD_CHECK(failed, r == 3000);
		if (i % 5 == 0) {
			r = aoki_fs_fsync(fs, fd);
			if (r)
				fprintf(stderr, "t%u: fsync %s: %d\n", t, a, r);
			T_THREAD_CHECK(failed, r == 0);
		}
		r = (int)aoki_fs_pread(fs, fd, back, 19384, 0);
		T_THREAD_CHECK(failed, r == 19384);
		if (memcmp(back, buf, 16384)) {
			unsigned k = 0, z = 0;

			while (back[k] == buf[k])
				k++;
			for (unsigned m = k; m < 16384; m++)
				z += back[m] == 0;
			fprintf(stderr, "t%u: %s differs from byte %u (%u zero bytes after)\n", t, a,
				k, z);
		}
		T_THREAD_CHECK(failed, !memcmp(back, buf, 16384));
		T_THREAD_CHECK(failed, !memcmp(back + 16384, want, 3000));
		T_THREAD_CHECK(failed, aoki_fs_close(fs, fd) == 0);
		/* append: exactly once */
		fd = aoki_fs_open(fs, a, O_WRONLY | O_APPEND, 0);
		T_THREAD_CHECK(failed, fd >= 0);
		T_THREAD_CHECK(failed, aoki_fs_write(fs, fd, "tail", 4) == 4);
		T_THREAD_CHECK(failed, aoki_fs_close(fs, fd) == 0);
		r = aoki_fs_rename(fs, a, b);	/* replaces an older g */
		if (r)
			fprintf(stderr, "t%u: rename %s %s: %d\n", t, a, b, r);
		T_THREAD_CHECK(failed, r == 0);
		{
			struct stat st;

			T_THREAD_CHECK(failed, aoki_fs_stat(fs, b, &st) == 0);
			if (st.st_size != 19388)
				fprintf(stderr, "t%u: %s has %lld bytes\n", t, b, (long long)st.st_size);
			T_THREAD_CHECK(failed, st.st_size == 19388);
			T_THREAD_CHECK(failed, aoki_fs_stat(fs, a, &st) == -ENOENT);
		}
		if (i % 3 == 0) {
			r = aoki_fs_unlink(fs, b);
			T_THREAD_CHECK(failed, r == 0);
		}
		atomic_fetch_add(&ops, 1);
	}
	aoki_fs_unmount(fs);
	return NULL;
}

#ifdef T_FS_INPROC
static struct t_fs_stack stack;

static void stack_start(const char *img)
{
	char vol[PATH_MAX + 16];
	const char *bargs[] = { "--volume", vol, NULL };

	snprintf(vol, sizeof(vol), "disk=%s", img);
	stack.blkd = t_blkd_start("blk", bargs);
	stack.fsd = t_fsd_start("fs", "blk", "disk", NULL);
}

static void stack_stop(void)
{
	t_fs_stack_stop(&stack);
}

static uint64_t recoveries(struct aoki_host *h)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	CHECK_EQ(st.drain_failures, 0);
	return st.recoveries;
}

/* Fault number @k: inject it and wait until the server recovered. */
static void crash(unsigned k)
{
	static const int kinds[] = {
		AOKI_HOST_FAULT_NULL, AOKI_HOST_FAULT_ABORT | AOKI_HOST_FAULT_LATE,
		AOKI_HOST_FAULT_ABORT, AOKI_HOST_FAULT_NULL | AOKI_HOST_FAULT_LATE,
	};
	struct aoki_host *h = k % 5 == 4 ? t_blk_host : t_fs_host;
	uint64_t before = recoveries(h);
	/* 20 s: the fault is taken by the next request.  With 5 s this
	 * failed twice (2026-12-04), both times while a benchmark ran fio
	 * and loop mounts on the same disk; not on an idle machine or under
	 * CPU load (0 of 15 runs).  A hang still fails. */
	int64_t end = t_now_ns() + 20000000000ll;

	t_sleep_ms(5 + (unsigned)(rand() % 20));
	CHECK_EQ(aoki_host_inject_fault(h, kinds[k % 4], NULL), 0);
	while (recoveries(h) == before && !atomic_load(&failed)) {
		if (t_now_ns() >= end) {
			/* Say what stands, for a failure seen once under load. */
			struct aoki_host_stats st;

			aoki_host_get_stats(h, &st);
			fprintf(stderr, "fault %u (kind %#x into %s) not taken within 20 s: %llu "
				"recoveries, %llu drain failures\n", k, kinds[k % 4],
				h == t_blk_host ? "blkd" : "fsd", (unsigned long long)st.recoveries,
				(unsigned long long)st.drain_failures);
			CHECK(t_now_ns() < end);
		}
		t_sleep_ms(1);
	}
}
#else
static pid_t initpid, last = -1;

static void stack_start(const char *img)
{
	initpid = t_fs_init_start(img);
}

static void stack_stop(void)
{
	t_fs_init_stop(initpid);
}

/* Kill fsd once the restarted one (a new pid) is up. */
static void crash(unsigned k)
{
	int64_t end = t_now_ns() + 5000000000ll;
	pid_t pid;

	(void)k;
	t_sleep_ms(150 + (unsigned)(rand() % 200));
	while ((pid = t_fs_init_fsd_pid()) <= 0 || pid == last) {
		CHECK(t_now_ns() < end);
		t_sleep_ms(5);
	}
	CHECK_EQ(kill(pid, SIGKILL), 0);
	last = pid;
}
#endif

int main(void)
{
	const char *dir = t_run_dir();
	char img[PATH_MAX];
	struct aoki_fs_stats st;
	struct aoki_fs *fs;
	pthread_t th[THREADS];
	int64_t t0;

	snprintf(img, sizeof(img), "%s/fs.img", dir);
	t_fs_mkfs(img, 256);
	stack_start(img);
	for (unsigned t = 0; t < THREADS; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t), 0);
	t0 = t_now_ns();
	for (unsigned k = 0; k < KILLS && !atomic_load(&failed); k++)
		crash(k);
	printf("note: %d crashes in %.2f s\n", KILLS, (double)(t_now_ns() - t0) / 1e9);
	t_sleep_ms(300);
	atomic_store(&stop, 1);
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	CHECK_EQ(atomic_load(&failed), 0);
	CHECK(atomic_load(&ops) > 20);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_server_stats(fs, &st), 0);
	printf("note: %llu op groups, %d crashes, %llu reruns answered from the reply record "
	       "(since the last), last start replayed %llu transactions\n",
	       (unsigned long long)atomic_load(&ops), KILLS, (unsigned long long)st.dedup_hits,
	       (unsigned long long)st.replayed);
	aoki_fs_unmount(fs);
	stack_stop();
	CHECK_EQ(t_fs_fsck(img), 0);
	return 0;
}
