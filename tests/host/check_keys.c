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
 */
#define _GNU_SOURCE
#include <dirent.h>

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


void check_keys_come_back(void)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	struct aoki_blk_opts bo = { .timeout_ns = 5000000000 };
	struct aoki_host *h;
	struct aoki_blk *b;
	unsigned i, total, blocking;
	char words[256], path[128], ids[256];
	ssize_t r = 0;
	void *buf;

	init_pku_or_fail();
	snprintf(path, sizeof(path), "%s/keys.img", test_dir);
	make_file(path, 1 << 20);
	snprintf(words, sizeof(words), "--volume v=%s --port %s/keys.sock --quiet", path,
		 test_dir);
	CHECK_EQ(aoki_host_start("blkd", words, &o, &h), 0);
	snprintf(path, sizeof(path), "%s/keys.sock", test_dir);
	CHECK_EQ(aoki_blk_open(path, "v", AOKI_BLK_RDWR, &bo, &b), 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &buf), 0);
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
