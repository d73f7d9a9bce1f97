/* SPDX-License-Identifier: MIT */
/*
 * ipc-contract - promises of the API that a new user relies on:
 *
 *   handler    the handler's return contract (aoki_handler_fn): 0 sends
 *              the reply set; -errno sends that status with no payload;
 *              any other value (2, 1000, INT_MAX, AOKI_DEFERRED without
 *              aoki_req_defer, -5000) is the handler's bug and the client
 *              gets -EIO (before: 2..N became a silent 0, the reply sent);
 *   fork       a channel used in a child of fork() fails at once with
 *              -EBADFD (before: the child hung forever, or stole the
 *              parent's replies); the parent's channel is unaffected and
 *              the child can connect its own.
 */
#define _GNU_SOURCE
#include <limits.h>

#include "ipc_util.h"

#define PORT "contract"

/* The handler returns @ret after setting a reply of status 7, "xyz". */
static int call_returning(struct aoki_chan *ch, int32_t ret, size_t *got)
{
	uint8_t req[sizeof(ret) + 3], rep[AOKI_MSG_PAYLOAD];

	memcpy(req, &ret, sizeof(ret));
	memcpy(req + sizeof(ret), "xyz", 3);
	*got = 999;
	return aoki_call(ch, ECHO_OP_RETURN, req, sizeof(req), rep, sizeof(rep), got);
}

static void handler_contract(struct aoki_chan *ch)
{
	static const int32_t bad[] = { 2, 1000, INT_MAX, AOKI_DEFERRED, -5000, INT_MIN };
	size_t got;

	CHECK_EQ(call_returning(ch, 0, &got), 7);
	CHECK_EQ(got, 3);
	CHECK_EQ(call_returning(ch, -ENOSPC, &got), -ENOSPC);
	CHECK_EQ(got, 0);
	CHECK_EQ(call_returning(ch, -4095, &got), -4095);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(call_returning(ch, bad[i], &got), -EIO);
		CHECK_EQ(got, 0);
	}
	CHECK(t_echo_ok(ch, 1));
}

static void fork_child(struct aoki_chan *ch)
{
	struct aoki_sqe sqe = { .op = ECHO_OP_ECHO };
	struct aoki_cqe cqe;
	struct aoki_chan *mine;
	int64_t t0 = t_now_ns();

	/* Everything on the parent's channel fails at once. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "a", 1, NULL, 0, NULL), -EBADFD);
	CHECK_EQ(aoki_submit(ch, &sqe, 1), -EBADFD);
	CHECK_EQ(aoki_reap(ch, &cqe, 1, 1, -1), -EBADFD);
	CHECK(t_now_ns() - t0 < 1000000000);
	/* Closing it here leaves the parent's alone (checked there). */
	aoki_close(ch);
	CHECK_EQ(aoki_connect(PORT, NULL, &mine), 0);
	CHECK(t_echo_ok(mine, 5));
	aoki_close(mine);
}

static void fork_rule(struct aoki_chan *ch)
{
	int status;
	pid_t pid;

	CHECK(t_echo_ok(ch, 2));
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20);
		fork_child(ch);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (uint64_t k = 0; k < 100; k++)
		CHECK(t_echo_ok(ch, 100 + k));
}

int main(void)
{
	struct echo_state st;
	struct aoki_server *srv;
	struct aoki_chan *ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srv = t_echo_inproc(PORT, 1, &st, NULL, NULL);
	CHECK_EQ(aoki_connect(PORT, NULL, &ch), 0);
	handler_contract(ch);
	fork_rule(ch);
	aoki_close(ch);
	aoki_server_destroy(srv);
	return 0;
}
