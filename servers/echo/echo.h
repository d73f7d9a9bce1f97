/* SPDX-License-Identifier: MIT */
/*
 * echo.h - the example server used by `aoki demo`, the tests and the
 * benchmarks.  Small, but it exercises every part of the IPC library:
 * inline payloads, grants in both directions, deferred completion.
 */
#ifndef AOKI_ECHO_H
#define AOKI_ECHO_H

#include <stdint.h>
#include <sys/types.h>

#include "aoki/ipc.h"

enum echo_op {
	ECHO_OP_ECHO = 1,	/* reply = request payload */
	ECHO_OP_ADD = 2,	/* payload: u64 a, u64 b; reply: u64 a + b */
	ECHO_OP_SLEEP = 3,	/* payload: u32 microseconds; sleeps, replies 0 */
	ECHO_OP_GRANT_SUM = 4,	/* payload: aoki_grant_ref; reply: u64 byte sum */
	ECHO_OP_GRANT_FILL = 5,	/* payload: aoki_grant_ref, u8 value; fills it */
	ECHO_OP_DEFER = 6,	/* deferred echo: completed by the next request */
	ECHO_OP_PID = 7,	/* reply: the server's pid (u32) */
	ECHO_OP_RETURN = 8,	/* payload: i32 r, then a reply; the handler
				 * sets that reply and returns r (tests the
				 * handler return contract) */
};

/* The handler; @arg is a struct echo_state (may be shared by workers). */
int echo_handler(struct aoki_req *req, void *arg);

struct echo_state {
	uint32_t sleep_max_us;	/* longest ECHO_OP_SLEEP allowed; 0: 10 s */
};

/* Complete the calling worker thread's parked ECHO_OP_DEFER request, if
 * any (for harnesses that drive a worker by hand). */
void echo_flush_deferred(void);

/* Options for echo_server_spawn(). */
struct echo_opts {
	unsigned workers;	/* 0: 1 */
	int64_t spin_ns;	/* 0: library default */
	int cpu;		/* pin the server process to this CPU; -1: no pin */
	int quiet;
};

/*
 * echo_server_spawn - fork a process that serves @port with the echo
 * handler until SIGTERM/SIGKILL.  Returns once the port accepts
 * connections, with *@pid the child's pid.  Returns 0 or -errno.
 */
int echo_server_spawn(const char *port, const struct echo_opts *opts, pid_t *pid);

/* echo_server_stop - SIGTERM @pid and reap it; returns its wait status. */
int echo_server_stop(pid_t pid);

#endif
