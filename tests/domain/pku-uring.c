/* SPDX-License-Identifier: MIT */
/*
 * domain-uring - io_uring reaches compartment memory behind PKRU's back
 * (issue 13, hole 2).  Policy: the hardening mode refuses io_uring_setup,
 * io_uring_enter and io_uring_register outside the runtime (seccomp.c), so
 * neither probe gets a ring.  Without hardening both work:
 *   - io-wq workers keep the PKRU of the thread whose request created
 *     them: compartment "victim" does one async write inside its gate;
 *     later, code without rights on the victim submits an async write
 *     *from the victim's memory* to a pipe, and the worker performs it;
 *   - IORING_OP_MADVISE(MADV_DONTNEED) zeroes the victim's page (the
 *     kernel's madvise does not look at keys).
 * On the old filter the hardened runs got their ring and read or zeroed
 * the secret, so both fail there.  Raw system calls (ring.h): no liburing
 * in the static test binaries.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <time.h>

#include "hardtest.h"
#include "ring.h"

static struct ring ring;
static int pipefd[2];

/* Inside the victim's gate: the first async request creates the io-wq
 * worker, a copy of this thread with the victim's PKRU. */
static long victim_async_io(void *arg)
{
	long v = 1;

	(void)arg;
	return ring_do(&ring, IORING_OP_WRITE, IOSQE_ASYNC, pipefd[1], &v, sizeof(v), 0);
}

static void worker_rights(unsigned flags)
{
	long out = 0;
	int r;

	victim_setup(flags);
	if (ring_init(&ring) < 0) {
		if (errno == EPERM && (flags & AOKI_DOMAIN_HARDEN))
			_exit(ATTACK_BLOCKED);
		_exit(1);
	}
	CHECK_EQ(pipe(pipefd), 0);
	/* A busy machine may not have the victim's worker idle when the
	 * second request comes: io-wq then creates another one, a copy of
	 * this thread (no rights: -EFAULT).  Try a few times. */
	for (int i = 0; i < 20; i++) {
		struct timespec idle = { 0, 20 * 1000 * 1000 };

		CHECK_EQ(aoki_domain_call(A, victim_async_io, NULL), sizeof(long));
		CHECK_EQ(read(pipefd[0], &out, sizeof(out)), sizeof(out));
		nanosleep(&idle, NULL);
		/* Outside, no rights on the victim: the submitting thread
		 * cannot read the buffer, the worker it hands it to can. */
		r = ring_do(&ring, IORING_OP_WRITE, IOSQE_ASYNC, pipefd[1], secret, sizeof(long), 0);
		if (r == -EFAULT)
			continue;
		CHECK_EQ(r, sizeof(long));
		CHECK_EQ(read(pipefd[0], &out, sizeof(out)), sizeof(out));
		if (out == SECRET)
			_exit(ATTACK_WORKED);
		_exit(1);
	}
	fprintf(stderr, "async write from the victim's memory: -EFAULT 20 times\n");
	_exit(1);
}

static void madvise_op(unsigned flags)
{
	victim_setup(flags);
	if (ring_init(&ring) < 0) {
		if (errno == EPERM && (flags & AOKI_DOMAIN_HARDEN))
			_exit(ATTACK_BLOCKED);
		_exit(1);
	}
	CHECK_EQ(ring_do(&ring, IORING_OP_MADVISE, 0, -1,
			 (void *)((uintptr_t)secret & ~4095ul), 4096, MADV_DONTNEED), 0);
	if (aoki_domain_call(A, get_secret, secret) == 0)
		_exit(ATTACK_WORKED);
	_exit(1);
}

/* A ring the program set up before init (trusted) is unusable after a
 * hardened init: io_uring_enter is refused too. */
static void ring_before_init(void *arg)
{
	(void)arg;
	CHECK_EQ(ring_init(&ring), 0);
	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_HARDEN | AOKI_DOMAIN_QUIET), 0);
	CHECK_EQ(syscall(SYS_io_uring_enter, ring.fd, 0, 0, 0, NULL, 0), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(syscall(SYS_io_uring_register, ring.fd, IORING_UNREGISTER_BUFFERS, NULL, 0), -1);
	CHECK_EQ(errno, EPERM);
}

int main(void)
{
	static const struct attack list[] = {
		{ "io-wq worker created inside a gate writes the victim's memory to a pipe", worker_rights, 0 },
		{ "IORING_OP_MADVISE(MADV_DONTNEED) wipes a compartment page", madvise_op, 0 },
	};
	struct child_result r;
	int rc = run_attacks(list, sizeof(list) / sizeof(list[0]));

	if (rc)
		return rc;
	CHECK_CHILD_OK(ring_before_init, NULL, &r);
	OK("a ring made before hardening init: io_uring_enter and _register refused (EPERM)");
	return 0;
}
