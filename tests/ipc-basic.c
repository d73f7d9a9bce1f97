/* SPDX-License-Identifier: MIT */
/* ipc-basic: one client process, one server process: call, async, errors. */
#include <errno.h>
#include <string.h>

#include "aoki/ipc.h"
#include "echo.h"
#include "harness.h"

int main(void)
{
	struct aoki_chan *ch;
	pid_t srv;
	char buf[AOKI_MSG_PAYLOAD], big[AOKI_MSG_PAYLOAD + 1] = { 0 };
	size_t n;
	uint64_t ab[2] = { 40, 2 }, sum = 0;
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };

	t_run_dir();
	CHECK_EQ(aoki_connect("basic", NULL, &ch), -ENOENT);
	CHECK_EQ(echo_server_spawn("basic", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("basic", NULL, &ch), 0);

	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, "hello", 5, buf, sizeof(buf), &n), 5);
	CHECK_EQ(n, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ADD, ab, sizeof(ab), &sum, sizeof(sum), &n), 0);
	CHECK_EQ(sum, 42);
	CHECK_EQ(aoki_call(ch, 999, NULL, 0, NULL, 0, NULL), -ENOSYS);
	CHECK_EQ(aoki_call(ch, ECHO_OP_ECHO, big, sizeof(big), NULL, 0, NULL), -EMSGSIZE);
	CHECK_EQ(aoki_call(ch, AOKI_OP_RESERVED, NULL, 0, NULL, 0, NULL), -EINVAL);

	/* Many more calls than slots: slots are recycled. */
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t in[2] = { i, i * 3 }, out = 0;

		CHECK_EQ(aoki_call(ch, ECHO_OP_ADD, in, sizeof(in), &out, sizeof(out), NULL), 0);
		CHECK_EQ(out, i * 4);
	}

	aoki_close(ch);
	CHECK_EQ(echo_server_stop(srv), 0);
	return T_EXIT_PASS;
}
