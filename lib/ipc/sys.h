/* SPDX-License-Identifier: MIT */
/* sys.h - thin system-call and CPU helpers used by the IPC library. */
#ifndef AOKI_SYS_H
#define AOKI_SYS_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Current CPU (from rseq in glibc >= 2.35: no system call), or 0xffff. */
uint16_t sys_cpu(void);

/*
 * futex_wait_shared - sleep while *@word == @expected, at most @timeout_ns.
 * Shared (not PRIVATE) because the word lives in memory mapped by two
 * processes.  Returns 0 when woken, -EAGAIN if the value differed,
 * -ETIMEDOUT, -EINTR.
 */
int futex_wait_shared(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);

/* futex_wake_shared - wake up to @n sleepers on @word; returns how many. */
int futex_wake_shared(_Atomic uint32_t *word, int n);

/* The same for a word in this process's private memory (cheaper: no
 * shared-mapping lookup in the kernel). */
int futex_wait_private(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
int futex_wake_private(_Atomic uint32_t *word, int n);

/* One entry of a futex_waitv(2) call. */
struct futex_waiter {
	_Atomic uint32_t *word;
	uint32_t expected;
};
#define FUTEX_WAITV_LIMIT 128

/*
 * futex_waitv_shared - sleep until any of @n (<= 128) words changes from
 * its expected value or one is woken, at most @timeout_ns.  Returns the
 * index woken, -EAGAIN (a value already differed), -ETIMEDOUT, -EINTR,
 * -ENOSYS (kernel older than 5.16).
 */
int futex_waitv_shared(const struct futex_waiter *w, unsigned n, int64_t timeout_ns);

/*
 * Checks of descriptors a client hands the server.  Neither asks anything
 * of a file system (fstat on a FUSE file would wait for its daemon, which
 * the client may be): F_GET_SEALS and getsockopt fail on the wrong kind
 * of file before anything else is looked at.
 *
 * sys_memfd_size - @fd is a memfd (shmem or hugetlbfs) sealed with at
 * least @seals and holding at least @min bytes: returns its size.  Else
 * -EBADF (not a memfd), -EPERM (a seal is missing), -ENOSPC (too small).
 * A memfd is also safe to close anywhere: no flush, no linger, no
 * descriptors queued in it.
 */
int64_t sys_memfd_size(int fd, int seals, uint64_t min);

/* sys_unix_dgram - 0 if @fd is an AF_UNIX SOCK_DGRAM socket, else
 * -ENOTSOCK. */
int sys_unix_dgram(int fd);

#endif
