/* SPDX-License-Identifier: MIT */
/*
 * ipc-valgrind: a server runs under valgrind's memcheck without a
 * flood of warnings.  Valgrind does not know futex_waitv(2) and warns at
 * every call; a server whose worker sleeps between requests used to make
 * the call, and get the warning, at every sleep.  The library now
 * remembers the ENOSYS and falls back to futex(2): one warning in all.
 *   - aoki-echod under valgrind; 30 calls, each after a pause long past
 *     the worker's spin, so each finds the worker asleep;
 *   - every call answered; at most one "unhandled syscall 449" line.
 * Skips (77) without valgrind.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo.h"
#include "harness.h"
#include "ipc_util.h"

int main(void)
{
	char port[PATH_MAX + 16], log[PATH_MAX + 16], logopt[PATH_MAX + 32], self[PATH_MAX];
	char echod[2 * PATH_MAX], line[512];
	unsigned warnings = 0;
	struct aoki_chan *ch;
	ssize_t n;
	FILE *f;
	pid_t pid;
	int status;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* The server beside us is instrumented too: valgrind cannot run a
	 * sanitizer's runtime. */
	t_skip("SKIP: a sanitizer build (valgrind cannot run it); run it with make test");
#endif
	if (system("valgrind --version >/dev/null 2>&1") != 0)
		t_skip("SKIP: valgrind not installed");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n] = 0;
	snprintf(echod, sizeof(echod), "%s/../bin/aoki-echod", dirname(self));
	if (access(echod, X_OK) != 0)
		t_skip("SKIP: aoki-echod not built");
	snprintf(port, sizeof(port), "%s/echo.sock", t_run_dir());
	snprintf(log, sizeof(log), "%s/valgrind.log", t_run_dir());
	snprintf(logopt, sizeof(logopt), "--log-file=%s", log);
	pid = t_spawn((const char *const[]){ "/usr/bin/valgrind", "-q", logopt, echod, "--port",
					     port, "--quiet", NULL });
	/* Valgrind takes a while to start a program: poll for 5 s. */
	t_wait_accepting(port, pid, 50);
	CHECK_EQ(aoki_connect(port, NULL, &ch), 0);
	for (unsigned i = 0; i < 30; i++) {
		char rep[8];
		size_t len = 0;

		t_sleep_ms(5);	/* the worker spins 50 us, then sleeps */
		CHECK(aoki_call(ch, ECHO_OP_ECHO, "ping", 4, rep, sizeof(rep), &len) >= 0);
		CHECK(len == 4 && !memcmp(rep, "ping", 4));
	}
	aoki_close(ch);
	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	t_child_track(0, pid);
	f = fopen(log, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		warnings += strstr(line, "unhandled amd64-linux syscall: 449") != NULL;
	fclose(f);
	printf("note: %u futex_waitv warning(s) for 30 sleeping calls\n", warnings);
	CHECK(warnings <= 1);
	return 0;
}
