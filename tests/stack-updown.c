/* SPDX-License-Identifier: MIT */
/*
 * stack-updown: `aoki up`, `aoki status`, `aoki down` on a stack in the
 * test's run directory.
 *   - bad configurations are refused with FILE:LINE and exit 2, an image
 *     that is not ext4 with exit 1 before anything starts;
 *   - aoki up makes the image on first use and returns once blkd and fsd
 *     answer (and the FUSE mount is there, when aoki-fuse is built and
 *     /dev/fuse usable); a second aoki up is refused;
 *   - aoki status --json: both running, no restarts; after a SIGKILL of
 *     fsd, its restart and the cause (aoki-init's status file) and a new
 *     pid that answers; the figures of both servers (stats request);
 *   - aoki down: exit 0, and dumpe2fs -h shows needs_recovery cleared and
 *     the journal empty (start 0); e2fsck -fn clean; status then says the
 *     stack is not up (exit 1);
 *   - aoki-fuse SIGKILLed: not restarted, status says failed and the
 *     mount not answering, aoki down removes the dead mount;
 *   - control: a stack that dies as a whole (servers SIGKILLed, aoki-init
 *     unable to restart them) leaves needs_recovery set - dumpe2fs sees
 *     it and aoki down reports it (exit 1) - and the next aoki up / aoki
 *     down replays the journal and leaves the image clean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_util.h"

static char bindir[PATH_MAX], conf[PATH_MAX + 32], dir[PATH_MAX], img[PATH_MAX + 32];
static int with_mount;

/* Run `aoki ARGS` with its stdout into @out (may be NULL); exit status. */
static int aoki(char *out, size_t cap, const char *args)
{
	char cmd[4 * PATH_MAX];
	FILE *p;
	size_t n = 0;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/aoki' %s", bindir, args);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (out) {
		n = fread(out, 1, cap - 1, p);
		out[n] = 0;
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	fputs(text, f);
	CHECK_EQ(fclose(f), 0);
}

/* A configuration that must be refused, with @what in the message. */
static void bad_conf(const char *text, const char *what)
{
	char path[PATH_MAX + 32], out[4096], args[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	write_file(path, text);
	snprintf(args, sizeof(args), "up -c '%s' 2>&1", path);
	CHECK_EQ(aoki(out, sizeof(out), args), 2);
	if (!strstr(out, what) || !strstr(out, "bad.conf:")) {
		fprintf(stderr, "expected '%s' in: %s\n", what, out);
		CHECK(0);
	}
}

/* An image that is not ext4 is refused before anything starts. */
static void test_bad_image(void)
{
	char path[PATH_MAX + 32], junk[PATH_MAX + 32], out[4096], args[PATH_MAX + 64];

	snprintf(junk, sizeof(junk), "%s/junk.img", dir);
	CHECK_EQ(t_sh("head -c 1M /dev/zero > '%s'", junk), 0);
	snprintf(path, sizeof(path), "%s/junk.conf", dir);
	write_file(path, "[stack]\nrun-dir = junkrun\n[volume]\nimage = junk.img\n");
	snprintf(args, sizeof(args), "up -c '%s' 2>&1", path);
	CHECK_EQ(aoki(out, sizeof(out), args), 1);
	CHECK(strstr(out, "not an ext4 image") != NULL);
	CHECK_EQ(t_sh("test -e '%s/junkrun/stack.pid'", dir), 1);	/* nothing started */
}

static void test_bad_configs(void)
{
	bad_conf("[volume]\nimage = x.img\nsize = 1k\n", "size");
	bad_conf("[volume]\nimage = x.img\ncolour = blue\n", "unknown key 'colour'");
	bad_conf("[sound]\n", "unknown section");
	bad_conf("[stack]\nrun-dir = /tmp\n", "image is required");
	bad_conf("[volume]\nimage = x.img\n[fsd]\nport = blk\n", "same port");
	bad_conf("[volume]\nimage = x.img\n[restart]\ncrash-limit = many\n", "crash-limit");
	/* Relative: inside the test's directory, whatever happens. */
	bad_conf("[stack]\nrun-dir = run/a-directory-name-long-enough-that-no-socket-path-"
		 "inside-it-fits-in-the-108-bytes-of-a-sockaddr-un-whatever-the-test-dir\n"
		 "[volume]\nimage = x.img\n", "too long for a socket path");
}

/* Wait until `aoki status --json` contains @want (fsd's restart lands in
 * aoki-init's status file a moment after the kill). */
static void status_wait(char *out, size_t cap, const char *want)
{
	char args[PATH_MAX + 64];
	int64_t end = t_now_ns() + 10000000000ll;

	snprintf(args, sizeof(args), "status -c '%s' --json --interval 0", conf);
	for (;;) {
		CHECK_EQ(aoki(out, cap, args), 0);
		if (strstr(out, want))
			return;
		if (t_now_ns() > end) {
			fprintf(stderr, "expected '%s' in: %s\n", want, out);
			CHECK(0);
		}
		t_sleep_ms(50);
	}
}

/* The number after "@key": in the part of @json that follows
 * "name":"@srv"; -1 if missing. */
static long long json_num(const char *json, const char *srv, const char *key)
{
	char want[96];
	const char *p;

	snprintf(want, sizeof(want), "\"name\":\"%s\"", srv);
	p = strstr(json, want);
	snprintf(want, sizeof(want), "\"%s\":", key);
	p = p ? strstr(p, want) : NULL;
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

static pid_t pid_of(const char *name)
{
	char path[PATH_MAX + 64], text[32] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/run/%s.pid", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, text, sizeof(text) - 1) < 0)
		text[0] = 0;
	close(fd);
	return atoi(text);
}

/* dumpe2fs -h: 1 if @image says needs_recovery or a non-empty journal. */
static int image_dirty(void)
{
	return t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q 'features:.*needs_recovery'", img) ==
		       0 ||
	       t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -Eq '^Journal start: +[1-9]'", img) == 0;
}

static void test_up_status_down(void)
{
	char out[16384], args[PATH_MAX + 64], want[128], file[PATH_MAX + 64];
	pid_t fsd;

	snprintf(args, sizeof(args), "up -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	CHECK(strstr(out, "making") != NULL);	/* the image, on first use */
	CHECK(access(img, R_OK) == 0);
	snprintf(args, sizeof(args), "up -c '%s' 2>&1", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 1);
	CHECK(strstr(out, "already up") != NULL);

	status_wait(out, sizeof(out), "\"name\":\"fsd\",\"state\":\"running\"");
	CHECK(strstr(out, "\"name\":\"blkd\",\"state\":\"running\"") != NULL);
	CHECK(strstr(out, "\"up\":true") != NULL);
	CHECK(strstr(out, "\"restarts\":0,\"last_exit\":null") != NULL);
	/* The servers' own figures (stats request): fsd mounted the image
	 * through blkd, which read it; the journal is live. */
	CHECK(json_num(out, "blkd", "reads") > 0);
	CHECK(json_num(out, "blkd", "read_bytes") >= json_num(out, "blkd", "reads"));
	CHECK(json_num(out, "fsd", "journal_size") > 0);
	CHECK_EQ(json_num(out, "fsd", "needs_recovery"), 1);
	CHECK_EQ(json_num(out, "fsd", "pid"), pid_of("fsd"));
	if (with_mount) {
		CHECK(strstr(out, "\"mounted\":true") != NULL);
		snprintf(file, sizeof(file), "%s/mnt/hello.txt", dir);
		write_file(file, "hello through the mount\n");
	}

	/* A crash of fsd: aoki-init restarts it; status says so and why. */
	fsd = pid_of("fsd");
	CHECK(fsd > 0);
	CHECK_EQ(kill(fsd, SIGKILL), 0);
	status_wait(out, sizeof(out),
		    "\"restarts\":1,\"last_exit\":\"killed by signal 9 (SIGKILL)\"");
	snprintf(want, sizeof(want), "\"name\":\"fsd\",\"state\":\"running\",\"pid\":%d",
		 (int)pid_of("fsd"));
	status_wait(out, sizeof(out), want);
	CHECK(pid_of("fsd") != fsd);
	CHECK(strstr(out, "\"name\":\"fsd\"") && strstr(strstr(out, "\"name\":\"fsd\""),
							    "\"answered\":true"));
	snprintf(args, sizeof(args), "status -c '%s' --interval 100", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);	/* the table */
	CHECK(strstr(out, "aoki-fsd") && strstr(out, "SIGKILL") && strstr(out, "journal"));

	snprintf(args, sizeof(args), "down -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	CHECK(strstr(out, "clean") != NULL);
	CHECK(!image_dirty());
	CHECK_EQ(t_fs_fsck(img), 0);
	if (with_mount) {
		/* Through the kernel: what was written through FUSE is there. */
		CHECK_EQ(t_sh("debugfs -R 'cat /hello.txt' '%s' 2>/dev/null | "
			      "grep -q 'hello through the mount'", img), 0);
	}
	snprintf(args, sizeof(args), "status -c '%s' 2>&1", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 1);
	CHECK(strstr(out, "not up") != NULL);
}

/* aoki-fuse killed: not restarted (a mount dies with its process); status
 * says so and that the mount no longer answers; aoki down removes it. */
static void test_fuse_crash(void)
{
	char out[16384], args[PATH_MAX + 64], mnt[PATH_MAX + 16];
	pid_t fuse;

	snprintf(args, sizeof(args), "up -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	fuse = pid_of("fuse");
	CHECK(fuse > 0);
	CHECK_EQ(kill(fuse, SIGKILL), 0);
	status_wait(out, sizeof(out), "\"name\":\"fuse\",\"state\":\"failed\"");
	CHECK(strstr(out, "\"mounted\":true,\"answering\":false") != NULL);
	snprintf(args, sizeof(args), "down -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	CHECK(strstr(out, "removed the FUSE mount") != NULL);
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	CHECK_EQ(t_sh("grep -q ' %s ' /proc/self/mountinfo", mnt), 1);
	CHECK(!image_dirty());
}

static void test_crash_control(void)
{
	char out[8192], args[PATH_MAX + 64];
	pid_t init, blkd, fsd;

	snprintf(args, sizeof(args), "up -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	init = pid_of("stack");
	blkd = pid_of("blkd");
	fsd = pid_of("fsd");
	CHECK(init > 0 && blkd > 0 && fsd > 0);
	/* The whole stack dies at once: aoki-init stopped first so that it
	 * restarts nothing, then everyone SIGKILLed. */
	CHECK_EQ(kill(init, SIGSTOP), 0);
	CHECK_EQ(kill(fsd, SIGKILL), 0);
	CHECK_EQ(kill(blkd, SIGKILL), 0);
	CHECK_EQ(kill(init, SIGKILL), 0);
	t_sleep_ms(200);
	CHECK(image_dirty());	/* the control: without aoki down's stop, it is */
	snprintf(args, sizeof(args), "down -c '%s' 2>&1", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 1);
	CHECK(strstr(out, "needs_recovery") != NULL);
	/* The next stack replays the journal; its aoki down leaves it clean. */
	snprintf(args, sizeof(args), "up -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	snprintf(args, sizeof(args), "down -c '%s'", conf);
	CHECK_EQ(aoki(out, sizeof(out), args), 0);
	CHECK(!image_dirty());
	CHECK_EQ(t_fs_fsck(img), 0);
}

int main(void)
{
	char self[PATH_MAX], fuse[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CHECK(n > 0);
	self[n] = 0;
	snprintf(bindir, sizeof(bindir), "%s/../bin", dirname(self));
	t_fsd_path();	/* skips when the servers are not built */
	if (t_sh("command -v mke2fs dumpe2fs e2fsck debugfs >/dev/null 2>&1") != 0)
		t_skip("SKIP: e2fsprogs not installed");
	snprintf(dir, sizeof(dir), "%s", t_run_dir());
	snprintf(conf, sizeof(conf), "%s/stack.conf", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(fuse, sizeof(fuse), "%s/aoki-fuse", bindir);
	with_mount = access(fuse, X_OK) == 0 && access("/dev/fuse", R_OK | W_OK) == 0;
	write_file(conf, with_mount ? "[stack]\nrun-dir = run\ntimeout-s = 20\n"
				      "[volume]\nimage = disk.img\nsize = 64M\n"
				      "[mount]\npath = mnt\n"
				      "[restart]\nbackoff-max-ms = 20\ncrash-limit = 100\n"
				    : "[stack]\nrun-dir = run\ntimeout-s = 20\n"
				      "[volume]\nimage = disk.img\nsize = 64M\n"
				      "[restart]\nbackoff-max-ms = 20\ncrash-limit = 100\n");
	printf("note: %s\n", with_mount ? "with the aoki-fuse mount"
				       : "aoki-fuse or /dev/fuse missing: no mount in the stack");
	test_bad_configs();
	test_bad_image();
	test_up_status_down();
	if (with_mount)
		test_fuse_crash();
	test_crash_control();
	return T_EXIT_PASS;
}
