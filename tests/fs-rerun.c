/* SPDX-License-Identifier: MIT */
/*
 * fs-rerun: operations that must not run twice, rerun after a crash.
 * aoki-fsd runs under aoki-init with AOKI_FSD_TEST_CRASH, which makes it
 * SIGKILL itself right after each create, mkdir, rename, link, symlink or
 * unlink has run and been staged, before the reply goes out.  The
 * restarted fsd gets the request again (IPC resume) and must answer it
 * from the reply record: a create with O_EXCL that succeeded must not
 * come back as -EEXIST, an unlink as -ENOENT, a rename as -ENOENT.  The
 * control: the same sequence run twice by hand gives those errors, so
 * the record is what makes the difference.  Each crash is checked to have
 * happened (a new fsd pid) and to have been answered from the record
 * (dedup_hits counts up).
 */
#include "fs_util.h"

/* The call @what returned @r after a crash of fsd and a rerun answered
 * from the record. */
static void after_crash(struct aoki_fs *fs, const char *what, long r, long want, pid_t *pid,
			uint64_t *hits)
{
	struct aoki_fs_stats st;
	pid_t now = t_fs_init_fsd_pid();

	if (r != want)
		fprintf(stderr, "%s: %ld, want %ld\n", what, r, want);
	CHECK_EQ(r, want);
	CHECK(now > 0 && now != *pid);	/* it really died and came back */
	*pid = now;
	CHECK_EQ(aoki_fs_server_stats(fs, &st), 0);
	CHECK_EQ(st.dedup_hits, 1);	/* a new fsd: its first answer */
	*hits += st.dedup_hits;
}

int main(void)
{
	char img[PATH_MAX];
	struct aoki_fs_opts opts = { .reconnect_ns = 10000000000ll };
	struct aoki_fs *fs;
	struct stat st;
	uint64_t hits = 0;
	int64_t t0;
	pid_t initpid, pid;
	int fd;

	snprintf(img, sizeof(img), "%s/fs.img", t_run_dir());
	t_fs_mkfs(img, 64);
	setenv("AOKI_FSD_TEST_CRASH", "1", 1);
	initpid = t_fs_init_start(img);
	CHECK_EQ(aoki_fs_mount("fs", &opts, &fs), 0);
	pid = t_fs_init_fsd_pid();
	CHECK(pid > 0);

	t0 = t_now_ns();
	fd = aoki_fs_open(fs, "/a", O_CREAT | O_EXCL | O_RDWR, 0644);
	printf("note: a create across a crash and restart of aoki-fsd took %.1f ms\n",
	       (double)(t_now_ns() - t0) / 1e6);
	after_crash(fs, "create /a O_EXCL", fd >= 0 ? 0 : fd, 0, &pid, &hits);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, "data", 4, 0), 4);	/* the handle is right */
	after_crash(fs, "mkdir /d", aoki_fs_mkdir(fs, "/d", 0755), 0, &pid, &hits);
	after_crash(fs, "rename /a /d/b", aoki_fs_rename(fs, "/a", "/d/b"), 0, &pid, &hits);
	after_crash(fs, "link /d/b /c", aoki_fs_link(fs, "/d/b", "/c"), 0, &pid, &hits);
	after_crash(fs, "symlink /s", aoki_fs_symlink(fs, "d/b", "/s"), 0, &pid, &hits);
	after_crash(fs, "unlink /c", aoki_fs_unlink(fs, "/c"), 0, &pid, &hits);
	CHECK_EQ(aoki_fs_stat(fs, "/s", &st), 0);
	CHECK_EQ(st.st_size, 4);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(aoki_fs_stat(fs, "/a", &st), -ENOENT);
	CHECK_EQ(aoki_fs_stat(fs, "/c", &st), -ENOENT);
	printf("note: 6 operations rerun after a crash, %llu answered from the reply record\n",
	       (unsigned long long)hits);
	/* Control: the same operations run again are refused. */
	CHECK_EQ(aoki_fs_open(fs, "/d/b", O_CREAT | O_EXCL | O_RDWR, 0644), -EEXIST);
	CHECK_EQ(aoki_fs_rename(fs, "/a", "/d/b"), -ENOENT);
	CHECK_EQ(aoki_fs_unlink(fs, "/c"), -ENOENT);
	aoki_fs_unmount(fs);
	t_fs_init_stop(initpid);
	CHECK_EQ(t_fs_fsck(img), 0);
	return 0;
}
