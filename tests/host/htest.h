/* SPDX-License-Identifier: MIT */
/*
 * htest.h - helpers of the in-process hosting tests that need PKU
 * (tests/host/pku-host.c): static binaries, run in the QEMU guest when
 * this CPU has no PKU, so libc and libaoki only.
 */
#ifndef AOKI_HTEST_H
#define AOKI_HTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>

#include "aoki/host.h"
#include "../domain/dtest.h"

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

/* A fresh directory for the run's files (volumes, ports, and TMPDIR for
 * the hosted servers' private sockets); pku-host.c makes and removes it. */
extern char test_dir[64];

/* Each check (and each process of one) at most, by alarm(): a hang fails
 * that check only, within the guest's time.  About 1 s in the guest. */
#define CHECK_SECONDS 20

/* The checks (check_*.c); each runs in a child process of its own and
 * exits non-zero (a message on stderr) when it fails. */
void check_app_vs_server(void);		/* 1: check_svc.c */
void check_server_vs_app(void);		/* 2: check_blk.c */
void check_server_vs_server(void);	/* 3: check_svc.c */
void check_faults_under_load(void);	/* 4: check_blk.c */
void check_keys_come_back(void);	/* 5: check_keys.c (known bug) */
void check_workers_keep_keys(void);	/* 6: check_keys.c */
void check_ring_keyed(void);		/* 7: check_ring.c */
void check_fsd_hosted(void);		/* 8: check_fsd.c */

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline uint64_t recoveries(const struct aoki_host *h)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	return st.recoveries;
}

static inline int host_isolated(const struct aoki_host *h)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(h, &st), 0);
	return st.isolated;
}

/* Compartments with PKU, or the check fails: the guest has PKU, so
 * unprotected mode here means the test proves nothing. */
static inline void init_pku_or_fail(void)
{
	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_QUIET), 0);
	if (!aoki_domain_isolated()) {
		fprintf(stderr, "FAIL: aoki_domain_isolated() is false: no PKU\n");
		exit(1);
	}
}

/* A zeroed file of @size bytes (the guest's /tmp is its RAM file
 * system: blkd falls back from O_DIRECT to buffered I/O). */
static inline void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, size), 0);
	close(fd);
}

/*
 * The calling thread's last fault must be a pkey fault taken in
 * compartment @in, on a page of compartment @owner whose key is @pkey:
 * the proof that PKU stopped the access (not some other fault).
 */
static inline void check_pkey_fault(const char *in, const char *owner, int pkey)
{
	struct aoki_domain_fault f;

	CHECK_EQ(aoki_domain_last_fault(&f), 0);
	printf("note: fault report: in \"%s\", %c access to a page of \"%s\", pkey %d, "
	       "signal %d code %d\n", f.domain, f.access ? f.access : '?', f.owner, f.pkey,
	       f.signo, f.code);
	CHECK_EQ(f.signo, SIGSEGV);
	CHECK_EQ(f.code, SEGV_PKUERR);
	CHECK_EQ(f.pkey, pkey);
	CHECK(pkey > 0);
	CHECK(!strcmp(f.domain, in));
	CHECK(!strcmp(f.owner, owner));
}

#endif
