/* SPDX-License-Identifier: MIT */
/*
 * blk-errors: bad input to aoki-blkd gets a clear error and affects
 * nothing else.
 *   - raw protocol requests (a hostile client, not the library): unknown
 *     handle, op, flags and lengths; ranges past the end or overflowing;
 *     misaligned offsets, lengths and buffers on an O_DIRECT volume; grant
 *     references that do not exist, lack the right or run outside the
 *     grant; writes, discards and zeroing of a read-only volume;
 *   - access control from a configuration file: a volume this user may
 *     not open, and one it may open read-only only;
 *   - the library's own checks (read-only handle, foreign buffer, name);
 *   - aoki_blk_open: no server (no socket, or a stale one) is
 *     -ECONNREFUSED, no such volume -ENOENT;
 *   - meanwhile a second client's data is intact and the server lives;
 *   - aoki-blkd's command line: bad configuration (FILE:LINE, exit 2), a
 *     missing backing file (exit 1), --check, --help.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "blk_util.h"
#include "proto.h"

#define SIZE (4u << 20)

static char dir[PATH_MAX], port[PATH_MAX + 16], file[PATH_MAX + 16], conf[PATH_MAX + 16];
static struct aoki_chan *raw;
static uint32_t grant_rw, grant_ro;

static int call(uint16_t op, const void *req, size_t len)
{
	return aoki_call(raw, op, req, len, NULL, 0, NULL);
}

static int io(uint16_t op, uint32_t handle, uint32_t grant, uint64_t goff, uint64_t off,
	      uint32_t len, uint32_t flags)
{
	struct blk_io_req r = { handle, grant, goff, off, len, flags };

	return call(op, &r, sizeof(r));
}

static uint32_t open_raw(const char *name, uint32_t flags, int want)
{
	struct blk_open_req o = { .flags = flags };
	struct blk_info_rep rep;
	size_t got;

	snprintf(o.name, sizeof(o.name), "%s", name);
	CHECK_EQ(aoki_call(raw, BLK_OP_OPEN, &o, sizeof(o), &rep, sizeof(rep), &got), want);
	return want == 0 ? rep.handle : ~0u;
}

static void hostile_requests(void)
{
	struct blk_open_req o = { 0 };
	uint32_t h, ro, bad = 1000;
	uint64_t big = ~0ull - 100;
	void *mem;

	CHECK_EQ(aoki_connect(port, NULL, &raw), 0);
	CHECK_EQ(aoki_grant_create(raw, 1 << 20, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &grant_rw,
				   &mem), 0);
	CHECK_EQ(aoki_grant_create(raw, 1 << 20, AOKI_GRANT_READ, &grant_ro, &mem), 0);
	h = open_raw("vol", BLK_OPEN_WRITE, 0);
	ro = open_raw("rovol", 0, 0);
	/* OPEN and INFO. */
	open_raw("nosuch", 0, -ENOENT);
	open_raw("rovol", BLK_OPEN_WRITE, -EROFS);
	memset(o.name, 'x', sizeof(o.name));	/* no NUL */
	CHECK_EQ(call(BLK_OP_OPEN, &o, sizeof(o)), -EINVAL);
	o = (struct blk_open_req){ .flags = 0x80, .name = "vol" };
	CHECK_EQ(call(BLK_OP_OPEN, &o, sizeof(o)), -EINVAL);
	CHECK_EQ(call(BLK_OP_OPEN, &o, 3), -EINVAL);
	CHECK_EQ(call(BLK_OP_INFO, &bad, sizeof(bad)), -EBADF);
	CHECK_EQ(call(0x7777, NULL, 0), -ENOSYS);
	/* Reads: every field wrong in turn. */
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 0, 4096, 0), 4096);
	CHECK_EQ(io(BLK_OP_READ, bad, grant_rw, 0, 0, 4096, 0), -EBADF);
	/* The index of another volume with this one's name bits: stale. */
	CHECK_EQ(io(BLK_OP_READ, (h & ~BLK_HANDLE_INDEX) | 1, grant_rw, 0, 0, 4096, 0), -ESTALE);
	CHECK_EQ(io(BLK_OP_READ, h & BLK_HANDLE_INDEX, grant_rw, 0, 0, 4096, 0), -ESTALE);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 0, 16u << 20, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, SIZE, 4096, 0), -ERANGE);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, SIZE - 2048, 4096, 0), -ERANGE);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, big, 4096, 0), -ERANGE);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 100, 4096, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 0, 4000, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 100, 0, 4096, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 0, 0, 4096, AOKI_BLK_FUA), -EINVAL);
	CHECK_EQ(io(BLK_OP_READ, h, 99, 0, 0, 4096, 0), -EBADF);
	CHECK_EQ(io(BLK_OP_READ, h, 12345678, 0, 0, 4096, 0), -EBADF);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, 1 << 20, 0, 4096, 0), -EFAULT);
	CHECK_EQ(io(BLK_OP_READ, h, grant_rw, big, 0, 4096, 0), -EFAULT);
	CHECK_EQ(io(BLK_OP_READ, h, grant_ro, 0, 0, 4096, 0), -EACCES);	/* we would write it */
	CHECK_EQ(io(BLK_OP_WRITE, h, grant_ro, 0, 0, 4096, 0), 4096);	/* we only read it */
	CHECK_EQ(io(BLK_OP_WRITE, h, grant_rw, 0, 0, 4096, 0x10), -EINVAL);
	/* The read-only volume. */
	CHECK_EQ(io(BLK_OP_READ, ro, grant_rw, 0, 0, 4096, 0), 4096);
	CHECK_EQ(io(BLK_OP_WRITE, ro, grant_rw, 0, 0, 4096, 0), -EROFS);
	CHECK_EQ(io(BLK_OP_DISCARD, ro, 0, 0, 0, 4096, 0), -EROFS);
	CHECK_EQ(io(BLK_OP_WRITE_ZEROES, ro, 0, 0, 0, 4096, 0), -EROFS);
	CHECK_EQ(io(BLK_OP_FLUSH, ro, 0, 0, 0, 0, 0), 0);
	/* A writable volume opened read-only: the handle says so. */
	ro = open_raw("vol", 0, 0);
	CHECK(ro & BLK_HANDLE_RDONLY);
	CHECK_EQ(io(BLK_OP_READ, ro, grant_rw, 0, 0, 4096, 0), 4096);
	CHECK_EQ(io(BLK_OP_WRITE, ro, grant_rw, 0, 0, 4096, 0), -EROFS);
	CHECK_EQ(io(BLK_OP_WRITE_ZEROES, ro, 0, 0, 0, 4096, 0), -EROFS);
	/* Range operations. */
	CHECK_EQ(io(BLK_OP_DISCARD, h, 0, 0, SIZE - 4096, 8192, 0), -ERANGE);
	CHECK_EQ(io(BLK_OP_WRITE_ZEROES, h, 0, 0, 512, 0, 0), -EINVAL);
	CHECK_EQ(io(BLK_OP_WRITE_ZEROES, h, 0, 0, 100, 512, 0), -EINVAL);
	CHECK_EQ(call(BLK_OP_READ, "short", 5), -EINVAL);
	aoki_close(raw);
}

static void access_control(void)
{
	struct aoki_blk *b;

	CHECK_EQ(aoki_blk_open(port, "nobody", 0, NULL, &b), -EACCES);
	CHECK_EQ(aoki_blk_open(port, "readers", AOKI_BLK_RDWR, NULL, &b), -EACCES);
	CHECK_EQ(aoki_blk_open(port, "readers", 0, NULL, &b), 0);
	aoki_blk_close(b);
}

/* No server and no such volume are different errors: -ECONNREFUSED
 * (no socket at the port, or a socket nobody listens on) and -ENOENT. */
static void open_errors(void)
{
	char nosock[PATH_MAX + 32], stale[PATH_MAX + 32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct aoki_blk *b;
	int fd;

	snprintf(nosock, sizeof(nosock), "%s/nobody-here.sock", dir);
	CHECK_EQ(aoki_blk_open(nosock, "vol", 0, NULL, &b), -ECONNREFUSED);
	snprintf(stale, sizeof(stale), "%s/stale.sock", dir);
	CHECK(strlen(stale) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, stale, strlen(stale) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);	/* bound, never listened on: the file stays */
	CHECK_EQ(aoki_blk_open(stale, "vol", 0, NULL, &b), -ECONNREFUSED);
	CHECK_EQ(aoki_blk_open(port, "nosuch", 0, NULL, &b), -ENOENT);
	CHECK_EQ(aoki_blk_open(port, "nosuch", AOKI_BLK_RDWR, NULL, &b), -ENOENT);
}

static void library_checks(void)
{
	struct aoki_blk *b, *w;
	char stack[4096];
	void *buf;

	CHECK_EQ(aoki_blk_open(port, "a-name-that-is-longer-than-27-bytes", 0, NULL, &b),
		 -ENAMETOOLONG);
	CHECK_EQ(aoki_blk_open(port, "", 0, NULL, &b), -EINVAL);
	CHECK_EQ(aoki_blk_open(port, "vol", 0x40, NULL, &b), -EINVAL);
	CHECK_EQ(aoki_blk_open(port, "vol", 0, NULL, &b), 0);	/* read-only handle */
	CHECK_EQ(aoki_blk_alloc(b, 8192, &buf), 0);
	CHECK_EQ(aoki_blk_alloc(b, 0, &buf), -EINVAL);
	CHECK_EQ(aoki_blk_pwrite(b, buf, 4096, 0, 0), -EROFS);
	CHECK_EQ(aoki_blk_discard(b, 0, 4096), -EROFS);
	CHECK_EQ(aoki_blk_pread(b, stack, 4096, 0), -EFAULT);	/* not a grant */
	CHECK_EQ(aoki_blk_pread(b, buf, 4096, 0), 4096);
	CHECK_EQ(aoki_blk_open(port, "vol", AOKI_BLK_RDWR, NULL, &w), 0);
	CHECK_EQ(aoki_blk_pwrite(w, buf, 4096, 0, 0), -EFAULT);	/* b's buffer */
	aoki_blk_close(w);
	aoki_blk_close(b);
}

/* Run aoki-blkd with @args; returns its exit status, its stderr in @out. */
static int run_blkd(const char *const *args, char *out, size_t cap)
{
	char cmd[4 * PATH_MAX];
	size_t n = (size_t)snprintf(cmd, sizeof(cmd), "%s", t_blkd_path());
	FILE *p;
	int status;

	for (; *args && n < sizeof(cmd); args++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " '%s'", *args);
	snprintf(cmd + n, sizeof(cmd) - n, " 2>&1");
	p = popen(cmd, "r");
	CHECK(p != NULL);
	n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static void command_line(void)
{
	char out[4096], bad[PATH_MAX + 16], missing[PATH_MAX + 32];

	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	write_file(bad, "[volume ok]\npath = /dev/null\n\n[volume x]\ncolour = blue\n");
	CHECK_EQ(run_blkd((const char *[]){ "-c", bad, NULL }, out, sizeof(out)), 2);
	CHECK(strstr(out, "bad.conf:5: unknown key \"colour\""));
	write_file(bad, "[volume a]\npath = /x\nallow = nosuchuser-here\n");
	CHECK_EQ(run_blkd((const char *[]){ "-c", bad, NULL }, out, sizeof(out)), 2);
	CHECK(strstr(out, "bad.conf:3: allow: no such user"));
	write_file(bad, "[volume a]\nread-only = yes\n");
	CHECK_EQ(run_blkd((const char *[]){ "-c", bad, NULL }, out, sizeof(out)), 2);
	CHECK(strstr(out, "volume \"a\" has no path"));
	CHECK_EQ(run_blkd((const char *[]){ "--volume", "novalue", NULL }, out, sizeof(out)), 2);
	CHECK(strstr(out, "expected NAME=PATH"));
	CHECK_EQ(run_blkd((const char *[]){ NULL }, out, sizeof(out)), 2);
	CHECK(strstr(out, "no volumes"));
	snprintf(missing, sizeof(missing), "m=%s/missing.img", dir);
	CHECK_EQ(run_blkd((const char *[]){ "--volume", missing, "--check", NULL }, out,
			  sizeof(out)), 1);
	CHECK(strstr(out, "missing.img: No such file or directory"));
	CHECK_EQ(run_blkd((const char *[]){ "-c", conf, "--check", NULL }, out, sizeof(out)), 0);
	CHECK(strstr(out, "4 volumes OK"));
	CHECK_EQ(run_blkd((const char *[]){ "--help", NULL }, out, sizeof(out)), 0);
	CHECK(strstr(out, "Usage: aoki-blkd"));
}

int main(void)
{
	struct aoki_blk *good;
	char text[5 * PATH_MAX], *buf;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s", t_run_dir());
	snprintf(port, sizeof(port), "%s/blk.sock", dir);
	snprintf(file, sizeof(file), "%s/vol.img", dir);
	snprintf(conf, sizeof(conf), "%s/blkd.conf", dir);
	t_blk_file(file, SIZE);
	snprintf(text, sizeof(text),
		 "# volumes for blk-errors\n[volume vol]\npath = %s\n\n"
		 "[volume rovol]\npath = %s\nread-only = yes\n\n"
		 "[volume nobody]\npath = %s\nallow = 4242\n\n"
		 "[volume readers]\npath = %s\nallow = 4242 *:ro\n",
		 file, file, file, file);
	write_file(conf, text);
	pid = t_blkd_start(port, (const char *const[]){ "-c", conf, NULL });

	/* A good client writes first, and checks its data at the end. */
	CHECK_EQ(aoki_blk_open(port, "vol", AOKI_BLK_RDWR, NULL, &good), 0);
	CHECK_EQ(aoki_blk_alloc(good, 65536, (void **)&buf), 0);
	for (unsigned i = 0; i < 128; i++)
		t_blk_fill(buf + i * 512, i, 7);
	CHECK_EQ(aoki_blk_pwrite(good, buf, 65536, SIZE - 65536, 0), 65536);

	hostile_requests();
	access_control();
	open_errors();
	library_checks();
	command_line();

	memset(buf, 0, 65536);
	CHECK_EQ(aoki_blk_pread(good, buf, 65536, SIZE - 65536), 65536);
	for (unsigned i = 0; i < 128; i++)
		CHECK(t_blk_check(buf + i * 512, i, 7));
	aoki_blk_close(good);
	CHECK(t_blkd_alive(pid));
	t_blkd_stop(pid);
	return 0;
}
