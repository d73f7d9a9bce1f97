/* SPDX-License-Identifier: MIT */
/* sys.c - futex wrappers (glibc has none), the CPU hint, descriptor checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

int futex_wait_private(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts = rel_timespec(timeout_ns);

	if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0) == 0)
		return 0;
	return -errno;
}

int futex_wake_private(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

/* Set once futex_waitv answered ENOSYS (a kernel before 5.16, or
 * valgrind, which does not know the call and warns at each try): callers
 * fall back at once, and the call is never tried again.  Relaxed: a
 * stale 0 costs one more ENOSYS. */
static _Atomic int waitv_missing;

int futex_waitv_shared(const struct futex_waiter *w, unsigned n, int64_t timeout_ns)
{
	struct futex_waitv v[FUTEX_WAITV_LIMIT];
	struct timespec abs;
	long r;

	if (atomic_load_explicit(&waitv_missing, memory_order_relaxed))
		return -ENOSYS;
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
	if (r < 0 && errno == ENOSYS)
		atomic_store_explicit(&waitv_missing, 1, memory_order_relaxed);
	return r < 0 ? -errno : (int)r;
}

int64_t sys_memfd_size(int fd, int seals, uint64_t min)
{
	struct stat sb;
	int have = fcntl(fd, F_GET_SEALS);

	/* First: only shmem and hugetlbfs files answer F_GET_SEALS, so the
	 * fstat below never reaches a file system a client serves. */
	if (have < 0)
		return -EBADF;
	if ((have & seals) != seals)
		return -EPERM;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EBADF;
	if ((uint64_t)sb.st_size < min)
		return -ENOSPC;
	return sb.st_size;
}

int sys_unix_dgram(int fd)
{
	int domain = 0, type = 0;
	socklen_t dl = sizeof(domain), tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return -ENOTSOCK;
	return domain == AF_UNIX && type == SOCK_DGRAM ? 0 : -ENOTSOCK;
}
