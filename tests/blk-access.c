/* SPDX-License-Identifier: MIT */
/*
 * blk-access: aoki-blkd's allow lists for users other than its own.
 * The test runs as root (else it skips) and runs each client as another
 * user in a forked child (setresgid, setresuid).  blkd, as root, serves
 * one file as three volumes: "priv" (no allow line: root), "pub"
 * (allow = 65534:ro) and "shared" (allow = 65534 and root, read-write).
 *   - blkd binds its socket so that other users can connect (0777);
 *   - uid 65534 connects; opens "pub" read-only and reads what root wrote
 *     through "priv"; a read-write open of "pub" is EACCES, and so is a
 *     raw write through a handle with its read-only bit cleared (the
 *     per-request check); "priv" is EACCES; "shared" opens read-write and
 *     its write reaches the file;
 *   - uid 65533, in no allow list, is refused at connect (EACCES), while
 *     65534 on the same socket gets in (the control: the refusal is the
 *     policy's, not the socket's mode).
 * Before blkd had a policy of its own, the library's default (same uid
 * or root) refused 65534 at connect, so no allow list could work.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/stat.h>

#include "blk_util.h"
#include "proto.h"

#define SIZE (1u << 20)
#define NOBODY 65534
#define STRANGER 65533

static char dir[PATH_MAX], port[PATH_MAX + 16], file[PATH_MAX + 16], conf[PATH_MAX + 16];

/* Run @fn as @uid (and gid @uid, no supplementary groups) in a child;
 * check that it exits 0. */
static void as_user(uid_t uid, void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			perror("blk-access: becoming another user");
			_exit(T_EXIT_FAIL);
		}
		fn();
		_exit(T_EXIT_PASS);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "blk-access: the client as uid %u failed\n", (unsigned)uid);
		exit(T_EXIT_FAIL);
	}
}

static void nobody_client(void)
{
	struct aoki_chan_opts co = { .reconnect_ns = -1 };
	struct blk_open_req o = { .name = "pub" };
	struct blk_info_rep rep;
	struct aoki_blk *b;
	struct aoki_chan *raw;
	uint32_t grant;
	size_t got;
	void *buf, *mem;

	CHECK_EQ(getuid(), NOBODY);
	CHECK_EQ(aoki_blk_open(port, "pub", 0, NULL, &b), 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &buf), 0);
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, 8192), 4096);
	for (unsigned i = 0; i < 8; i++)
		CHECK(t_blk_check((char *)buf + i * 512, 16 + i, 3));
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 0, 0), -EROFS);
	aoki_blk_close(b);
	CHECK_EQ(aoki_blk_open(port, "pub", AOKI_BLK_RDWR, NULL, &b), -EACCES);
	CHECK_EQ(aoki_blk_open(port, "priv", 0, NULL, &b), -EACCES);

	/* A raw client that clears the handle's read-only bit: the server
	 * checks the uid's right to write on the request itself. */
	CHECK_EQ(aoki_connect(port, &co, &raw), 0);
	CHECK_EQ(aoki_grant_create(raw, 4096, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &grant, &mem),
		 0);
	CHECK_EQ(aoki_call(raw, BLK_OP_OPEN, &o, sizeof(o), &rep, sizeof(rep), &got), 0);
	CHECK(rep.handle & BLK_HANDLE_RDONLY);
	{
		struct blk_io_req w = { .handle = rep.handle & ~BLK_HANDLE_RDONLY,
					.grant = grant, .offset = 0, .length = 4096 };

		CHECK_EQ(aoki_call(raw, BLK_OP_WRITE, &w, sizeof(w), NULL, 0, NULL), -EACCES);
		w.handle = rep.handle;
		CHECK_EQ(aoki_call(raw, BLK_OP_READ, &w, sizeof(w), NULL, 0, NULL), 4096);
	}
	aoki_close(raw);

	CHECK_EQ(aoki_blk_open(port, "shared", AOKI_BLK_RDWR, NULL, &b), 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &buf), 0);
	for (unsigned i = 0; i < 8; i++)
		t_blk_fill((char *)buf + i * 512, 40 + i, 5);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 20480, AOKI_BLK_FUA), 4096);
	aoki_blk_close(b);
}

static void stranger_client(void)
{
	struct aoki_chan_opts co = { .reconnect_ns = -1 };
	struct aoki_chan *ch;
	struct aoki_blk *b;

	CHECK_EQ(getuid(), STRANGER);
	CHECK_EQ(aoki_connect(port, &co, &ch), -EACCES);
	CHECK_EQ(aoki_blk_open(port, "pub", 0, NULL, &b), -EACCES);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

int main(void)
{
	char text[4 * PATH_MAX], check[4096];
	struct aoki_blk *b;
	struct stat st;
	void *buf;
	pid_t pid;
	int fd;

	if (geteuid() != 0)
		t_skip("blk-access runs clients as other users: needs root");
	snprintf(dir, sizeof(dir), "%s", t_run_dir());
	CHECK_EQ(chmod(dir, 0711), 0);	/* other users reach the socket */
	snprintf(port, sizeof(port), "%s/blk.sock", dir);
	snprintf(file, sizeof(file), "%s/vol.img", dir);
	snprintf(conf, sizeof(conf), "%s/blkd.conf", dir);
	t_blk_file(file, SIZE);
	snprintf(text, sizeof(text),
		 "[volume priv]\npath = %s\n\n"
		 "[volume pub]\npath = %s\nallow = %u:ro\n\n"
		 "[volume shared]\npath = %s\nallow = %u 0\n",
		 file, file, NOBODY, file, NOBODY);
	write_file(conf, text);
	pid = t_blkd_start(port, (const char *const[]){ "-c", conf, NULL });
	CHECK_EQ(stat(port, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0777);

	/* Root writes through "priv" what nobody reads through "pub". */
	CHECK_EQ(aoki_blk_open(port, "priv", AOKI_BLK_RDWR, NULL, &b), 0);
	CHECK_EQ(aoki_blk_alloc(b, 4096, &buf), 0);
	for (unsigned i = 0; i < 8; i++)
		t_blk_fill((char *)buf + i * 512, 16 + i, 3);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 8192, AOKI_BLK_FUA), 4096);
	aoki_blk_close(b);

	as_user(NOBODY, nobody_client);
	as_user(STRANGER, stranger_client);

	/* nobody's write through "shared" is in the file. */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, check, sizeof(check), 20480), (ssize_t)sizeof(check));
	close(fd);
	for (unsigned i = 0; i < 8; i++)
		CHECK(t_blk_check(check + i * 512, 40 + i, 5));
	CHECK_EQ(waitpid(pid, NULL, WNOHANG), 0);	/* alive */
	t_blkd_stop(pid);
	return T_EXIT_PASS;
}
