/* SPDX-License-Identifier: MIT */
/* sys.c - futex wrappers (glibc has none) and the CPU hint. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
struct futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t __reserved;
};
#endif

uint16_t sys_cpu(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0xffff : (uint16_t)cpu;
}

static struct timespec rel_timespec(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	return ts;
}

int futex_wait_shared(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts = rel_timespec(timeout_ns);

	if (syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0) == 0)
		return 0;
	return -errno;
}

int futex_wake_shared(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

int futex_waitv_shared(const struct futex_waiter *w, unsigned n, int64_t timeout_ns)
{
	struct futex_waitv v[FUTEX_WAITV_LIMIT];
	struct timespec abs;
	long r;

	if (n == 0 || n > FUTEX_WAITV_LIMIT)
		return -EINVAL;
	memset(v, 0, sizeof(v[0]) * n);
	for (unsigned i = 0; i < n; i++) {
		v[i].val = w[i].expected;
		v[i].uaddr = (uintptr_t)w[i].word;
		v[i].flags = FUTEX_32;	/* shared: no FUTEX_PRIVATE_FLAG */
	}
	/* futex_waitv takes an absolute timeout on the given clock. */
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_sec += timeout_ns / 1000000000;
	abs.tv_nsec += timeout_ns % 1000000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	r = syscall(SYS_futex_waitv, v, n, 0, &abs, CLOCK_MONOTONIC);
	return r < 0 ? -errno : (int)r;
}
