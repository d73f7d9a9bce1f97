/* SPDX-License-Identifier: MIT */
/*
 * fs-cred: acting for another user (the handle layer's @as, FS_CRED_AS
 * on the wire), which aoki-fsd honours only from a root peer.
 *   - root acting for uid 4242 is checked as 4242 (EACCES on root's
 *     private file; new files belong to 4242);
 *   - root acting for root reaches the private file (the control: the
 *     protected file is reachable with root's identity);
 *   - an unprivileged client (uid 4242) that names root, or anyone, as
 *     whom it acts for gets EPERM on every call, with no effect, while
 *     its own calls without @as still work (and get EACCES on the file).
 * Without the peer check the unprivileged client would read root's file.
 */
#define _GNU_SOURCE
#include "fs_util.h"

#include <grp.h>

#define USER 4242

static struct aoki_fs *fs;

static void unprivileged(void)
{
	const struct aoki_fs_cred root = { 0, 0 }, self = { USER, USER };
	aoki_fs_handle dir, fh;
	struct stat st;

	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	/* its own identity: the directory is root's 0700 */
	CHECK_EQ(aoki_fs_hlookup(fs, NULL, AOKI_FS_ROOT_HANDLE, "priv/s", &fh, &st), -EACCES);
	CHECK_EQ(aoki_fs_hlookup(fs, NULL, AOKI_FS_ROOT_HANDLE, "pub", &fh, &st), 0);
	/* borrowing root's: refused, whatever the call */
	CHECK_EQ(aoki_fs_hlookup(fs, &root, AOKI_FS_ROOT_HANDLE, "priv/s", &fh, &st), -EPERM);
	CHECK_EQ(aoki_fs_hlookup(fs, &self, AOKI_FS_ROOT_HANDLE, "pub", &fh, &st), -EPERM);
	CHECK_EQ(aoki_fs_hcreate(fs, &root, AOKI_FS_ROOT_HANDLE, "evil", O_WRONLY, 0644, &fh,
				 &st), -EPERM);
	CHECK_EQ(aoki_fs_hlookup(fs, NULL, AOKI_FS_ROOT_HANDLE, "evil", &fh, &st), -ENOENT);
	CHECK_EQ(aoki_fs_hlookup(fs, NULL, AOKI_FS_ROOT_HANDLE, "pub", &dir, &st), 0);
	CHECK_EQ(aoki_fs_haccess(fs, &root, dir, R_OK), -EPERM);
	CHECK_EQ(aoki_fs_hsetattr(fs, &root, dir,
				  &(struct aoki_fs_setattr){ .valid = AOKI_FS_SET_MODE,
							     .mode = 0777 }, &st), -EPERM);
	CHECK_EQ(aoki_fs_hunlink(fs, &root, AOKI_FS_ROOT_HANDLE, "pub"), -EPERM);
	CHECK_EQ(aoki_fs_hgetattr(fs, dir, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0644);
	aoki_fs_unmount(fs);
}

int main(void)
{
	const struct aoki_fs_cred user = { USER, USER }, root = { 0, 0 };
	struct t_fs_stack s;
	aoki_fs_handle fh;
	struct stat st;
	pid_t pid;
	int status, fd;

	if (geteuid() != 0)
		t_skip("SKIP: fs-cred needs root (a root peer, and another user)");
	t_fs_stack_start(&s, 64);
	CHECK_EQ(chmod(t_run_dir(), 0755), 0);
	CHECK_EQ(t_sh("chmod a+rw '%s'/* 2>/dev/null; true", t_run_dir()), 0);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/priv", 0700), 0);
	fd = aoki_fs_open(fs, "/priv/s", O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	fd = aoki_fs_open(fs, "/pub", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub", 0644), 0);

	/* root acting for the user is checked as the user */
	CHECK_EQ(aoki_fs_hlookup(fs, &user, AOKI_FS_ROOT_HANDLE, "priv/s", &fh, &st), -EACCES);
	CHECK_EQ(aoki_fs_hlookup(fs, &user, AOKI_FS_ROOT_HANDLE, "pub", &fh, &st), 0);
	CHECK_EQ(aoki_fs_hopen(fs, &user, fh, O_WRONLY, NULL), -EACCES);
	CHECK_EQ(aoki_fs_hopen(fs, &user, fh, O_RDONLY, NULL), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/", 0777), 0);
	CHECK_EQ(aoki_fs_hcreate(fs, &user, AOKI_FS_ROOT_HANDLE, "his", O_WRONLY | O_EXCL, 0640,
				 &fh, &st), 0);
	CHECK(st.st_uid == USER && st.st_gid == USER && st.st_mode == (S_IFREG | 0640));
	CHECK_EQ(aoki_fs_chmod(fs, "/", 0755), 0);
	/* the control: root's own identity, given as @as, reaches the file */
	CHECK_EQ(aoki_fs_hlookup(fs, &root, AOKI_FS_ROOT_HANDLE, "priv/s", &fh, &st), 0);
	CHECK_EQ(aoki_fs_hopen(fs, &root, fh, O_RDWR, NULL), 0);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(USER) || setuid(USER))
			_exit(1);
		unprivileged();
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	aoki_fs_unmount(fs);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
