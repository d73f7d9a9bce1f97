/* SPDX-License-Identifier: MIT */
/*
 * ipc-activation: aoki_listen_fd() follows the socket-activation
 * convention.  Each case runs in a forked child that puts a descriptor
 * at 3 (and 4) and sets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES: a matching
 * name gives the descriptor (now non-blocking and close-on-exec), a
 * mismatch or another pid -ENOENT, a descriptor that is not a listening
 * Unix stream socket -ENOTSOCK; errno is left alone.  Last, a server
 * created on the adopted socket answers a client.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ipc_util.h"

enum kind { LISTENER, PIPE, DGRAM, UNLISTENED, TCP };

/* A descriptor of @kind; a LISTENER is bound to port @port. */
static int make_fd(enum kind kind, const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, p[2];

	switch (kind) {
	case PIPE:
		CHECK_EQ(pipe(p), 0);
		return p[0];
	case DGRAM:
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		break;
	case UNLISTENED:
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		break;
	case TCP:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(fd >= 0);
		CHECK_EQ(listen(fd, 1), 0);	/* an ephemeral port on any address */
		return fd;
	default:
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(fd >= 0);
		CHECK(aoki_port_path(port, sa.sun_path, sizeof(sa.sun_path)) > 0);
		unlink(sa.sun_path);
		CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		CHECK_EQ(listen(fd, 8), 0);
		return fd;
	}
	CHECK(fd >= 0);
	return fd;
}

/* Put @fd at @at. */
static void place(int fd, int at)
{
	if (fd != at) {
		CHECK_EQ(dup2(fd, at), at);
		close(fd);
	}
}

static void set_env(long pid, const char *nfds, const char *names)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", nfds, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

/* In a child: fd 3 of @kind (and a listener at 4 when @nfds is "2"),
 * the environment, then aoki_listen_fd(@name) must return @want. */
static void expect(enum kind kind, const char *nfds, const char *names, int other_pid,
		   const char *name, int want)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		int r, fl;

		place(make_fd(kind, "act-a"), 3);
		if (!strcmp(nfds, "2"))
			place(make_fd(LISTENER, "act-b"), 4);
		set_env(other_pid ? (long)getppid() : (long)getpid(), nfds, names);
		errno = 12345;
		r = aoki_listen_fd(name);
		if (errno != 12345) {
			fprintf(stderr, "aoki_listen_fd changed errno\n");
			_exit(1);
		}
		if (r != want) {
			fprintf(stderr, "aoki_listen_fd(%s) with LISTEN_FDS=%s LISTEN_FDNAMES=%s "
				"kind %d: %d, want %d\n", name, nfds, names ? names : "(unset)",
				(int)kind, r, want);
			_exit(1);
		}
		if (r >= 0) {
			fl = fcntl(r, F_GETFL);
			if (!(fl & O_NONBLOCK) || !(fcntl(r, F_GETFD) & FD_CLOEXEC)) {
				fprintf(stderr, "fd %d: not O_NONBLOCK and FD_CLOEXEC\n", r);
				_exit(1);
			}
		}
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/* A server on an activated socket serves a client that connects by name. */
static void serve_adopted(void)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		struct echo_state st = { 0 };
		struct aoki_server_config cfg = { .port = "act-srv", .handler = echo_handler,
						  .handler_arg = &st, .quiet = 1 };
		struct aoki_server *srv;
		struct aoki_chan *ch;

		place(make_fd(LISTENER, "act-srv"), 3);
		set_env(getpid(), "1", "act-srv");
		cfg.listen_fd = aoki_listen_fd("act-srv");
		CHECK_EQ(cfg.listen_fd, 3);
		CHECK_EQ(aoki_server_create(&cfg, &srv), 0);
		CHECK_EQ(aoki_server_start(srv), 0);
		CHECK_EQ(aoki_connect("act-srv", NULL, &ch), 0);
		CHECK(t_echo_ok(ch, 42));
		aoki_close(ch);
		aoki_server_destroy(srv);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
	t_run_dir();

	/* Named: exact match only. */
	expect(LISTENER, "1", "act", 0, "act", 3);
	expect(LISTENER, "1", "act", 0, "ac", -ENOENT);
	expect(LISTENER, "1", "act", 0, "actx", -ENOENT);
	expect(LISTENER, "2", "a:b", 0, "b", 4);
	expect(LISTENER, "2", "a:b", 0, "a", 3);
	expect(LISTENER, "2", "a::b", 0, "b", -ENOENT);	/* b is the 3rd of 2 */
	expect(LISTENER, "1", "", 0, "x", -ENOENT);
	/* Unnamed: one socket serves any port, two serve none. */
	expect(LISTENER, "1", NULL, 0, "whatever", 3);
	expect(LISTENER, "2", NULL, 0, "whatever", -ENOENT);
	/* Not for us, or nothing passed. */
	expect(LISTENER, "1", "act", 1, "act", -ENOENT);
	expect(LISTENER, "0", "act", 0, "act", -ENOENT);
	expect(LISTENER, "x", "act", 0, "act", -ENOENT);
	expect(LISTENER, "-1", "act", 0, "act", -ENOENT);
	/* Passed, but not a listening Unix stream socket. */
	expect(PIPE, "1", "act", 0, "act", -ENOTSOCK);
	expect(DGRAM, "1", "act", 0, "act", -ENOTSOCK);
	expect(UNLISTENED, "1", "act", 0, "act", -ENOTSOCK);
	expect(TCP, "1", "act", 0, "act", -ENOTSOCK);

	serve_adopted();
	return T_EXIT_PASS;
}
