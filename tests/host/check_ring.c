/* SPDX-License-Identifier: MIT */
/*
 * check_ring.c - check 7 of tests/host/pku-host.c: a hosted blkd's
 * io_uring mappings (SQ ring, CQ ring, SQEs: "[io_uring]" in
 * /proc/self/smaps) carry its compartment's key, so the application can
 * neither forge requests nor read completions; they are gone (not left
 * keyed) after aoki_host_stop().  Control: a blkd hosted
 * AOKI_HOST_UNISOLATED has its rings in key 0, and the same read from the
 * application goes through.  Before the rings were placed, they were
 * key-0 memory in both cases.
 */
#define _GNU_SOURCE
#include "aoki/blk.h"
#include "htest.h"

#define MAX_RINGS 16

struct rings {
	unsigned n;
	uintptr_t addr[MAX_RINGS];
	int pkey[MAX_RINGS];	/* -1: no ProtectionKey line */
};

/* The io_uring mappings of this process, with their protection keys. */
static void find_rings(struct rings *r)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in_ring = 0;

	CHECK(f);
	r->n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int k;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {	/* a mapping's first line */
			in_ring = strstr(line, "[io_uring]") != NULL && r->n < MAX_RINGS;
			if (in_ring) {
				r->addr[r->n] = lo;
				r->pkey[r->n++] = -1;
			}
			continue;
		}
		if (in_ring && sscanf(line, "ProtectionKey: %d", &k) == 1)
			r->pkey[r->n - 1] = k;
	}
	fclose(f);
}

/* In a forked child, outside any compartment: read @arg.  The runtime's
 * policy for a pkey fault is a report line and abort(). */
static void app_read(void *arg)
{
	fprintf(stderr, "read %#lx\n", (unsigned long)*(volatile unsigned long *)arg);
}

static struct aoki_host *start(unsigned flags, struct aoki_blk **b)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET | flags };
	struct aoki_blk_opts bo = { .timeout_ns = 5000000000 };
	char words[256], path[128];
	struct aoki_host *h;
	void *buf;

	snprintf(path, sizeof(path), "%s/ring.img", test_dir);
	make_file(path, 1 << 20);
	snprintf(words, sizeof(words), "--volume v=%s --port %s/ring.sock --quiet", path,
		 test_dir);
	CHECK_EQ(aoki_host_start("blkd", words, &o, &h), 0);
	snprintf(path, sizeof(path), "%s/ring.sock", test_dir);
	CHECK_EQ(aoki_blk_open(path, "v", AOKI_BLK_RDWR, &bo, b), 0);
	CHECK_EQ(aoki_blk_alloc(*b, 4096, &buf), 0);
	memset(buf, 0x5a, 4096);
	/* The worker and its ring exist once I/O went through. */
	CHECK_EQ(aoki_blk_pwrite(*b, buf, 4096, 0, 0), 4096);
	CHECK_EQ(aoki_blk_pread(*b, buf, 4096, 0), 4096);
	return h;
}

void check_ring_keyed(void)
{
	struct child_result res;
	struct aoki_host *h;
	struct aoki_blk *b;
	struct rings r;
	char want[96];

	init_pku_or_fail();
	/* Control: unisolated, the rings are key-0 memory the application
	 * reads. */
	h = start(AOKI_HOST_UNISOLATED, &b);
	find_rings(&r);
	CHECK(r.n >= 2);
	for (unsigned i = 0; i < r.n; i++)
		CHECK_EQ(r.pkey[i], 0);
	CHECK(in_child(app_read, (void *)r.addr[0], &res) == 0);
	CHECK(res.exited && res.code == 0);
	aoki_blk_close(b);
	aoki_host_stop(h);

	h = start(0, &b);
	CHECK(host_isolated(h));
	find_rings(&r);
	CHECK(r.n >= 2);
	for (unsigned i = 0; i < r.n; i++) {
		printf("note: check 7: io_uring mapping %#lx has key %d\n",
		       (unsigned long)r.addr[i], r.pkey[i]);
		CHECK(r.pkey[i] > 0);
		CHECK_EQ(r.pkey[i], r.pkey[0]);
	}
	CHECK(in_child(app_read, (void *)r.addr[0], &res) == 0);
	snprintf(want, sizeof(want), "(pkey %d, compartment \"host:blkd\")", r.pkey[0]);
	if (res.exited || res.code != SIGABRT || !strstr(res.err, want)) {
		fprintf(stderr, "the application's read of blkd's ring: want a pkey fault %s, "
			"got %s %d: %s\n", want, res.exited ? "exit" : "signal", res.code,
			res.err);
		exit(1);
	}
	printf("note: check 7: app read of the ring -> %s", res.err);
	aoki_blk_close(b);
	aoki_host_stop(h);
	find_rings(&r);
	CHECK_EQ(r.n, 0);
}
