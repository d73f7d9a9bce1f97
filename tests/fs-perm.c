/* SPDX-License-Identifier: MIT */
/*
 * fs-perm: permission checks of aoki-fsd with two unprivileged users.
 * The test runs as root and forks children that become user A (4242:4242)
 * or user B (4343:4343) and mount the same fsd, which knows them by
 * SO_PEERCRED.  B is refused A's private files (EACCES), directories
 * without search or write permission, A's files in a sticky directory
 * (EPERM), chmod, chown and explicit times of A's files (EPERM); A, doing
 * the same, is not (the control: a server refusing everything fails).
 * New files get the creator's ids, or a set-group-ID directory's group.
 * Every expected errno is Linux ext4's.
 */
#define _GNU_SOURCE
#include "fs_util.h"

#include <grp.h>
#include <sys/stat.h>

#define A_ID 4242
#define B_ID 4343
#define SG_GID 5555

#define FAILS(call, e) CHECK_EQ((call), -(e))

static struct aoki_fs *fs;

static struct stat st_of(const char *path)
{
	struct stat st;

	CHECK_EQ(aoki_fs_stat(fs, path, &st), 0);
	return st;
}

static void mkfile(const char *path, mode_t mode, const char *data)
{
	int fd = aoki_fs_open(fs, path, O_CREAT | O_EXCL | O_WRONLY, mode);

	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_write(fs, fd, data, strlen(data)), (long long)strlen(data));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(aoki_fs_chmod(fs, path, mode), 0);	/* past the umask */
}

/* Open @path with @flags; 0 if it opened (and was closed), else -errno. */
static int try_open(const char *path, int flags)
{
	int fd = aoki_fs_open(fs, path, flags, 0644);

	if (fd < 0)
		return fd;
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	return 0;
}

/* Run @fn in a child as @uid:@gid, with its own mount; it must pass. */
static void as_user(uid_t uid, gid_t gid, void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
			perror("setuid");
			_exit(1);
		}
		CHECK(getuid() == uid && geteuid() == uid && getgid() == gid);
		umask(022);
		CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
		fn();
		aoki_fs_unmount(fs);
		/* _exit: the parent's mount, copied by fork, is not ours to
		 * free (LeakSanitizer would count it). */
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A makes its files. */
static void a_setup(void)
{
	struct stat st;

	mkfile("/pub/a600", 0600, "secret");
	mkfile("/pub/a644", 0644, "public");
	st = st_of("/pub/a600");
	CHECK_EQ(st.st_uid, A_ID);	/* the creator's ids */
	CHECK_EQ(st.st_gid, A_ID);
	CHECK_EQ(st.st_mode, S_IFREG | 0600);
	CHECK_EQ(aoki_fs_mkdir(fs, "/pub/anox", 0755), 0);	/* no search for others */
	mkfile("/pub/anox/f", 0644, "x");
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/anox", 0744), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/pub/anow", 0755), 0);	/* no write for others */
	mkfile("/pub/anow/f", 0666, "w");
	CHECK_EQ(aoki_fs_mkdir(fs, "/pub/anor", 0755), 0);	/* no read for others */
	mkfile("/pub/anor/f", 0644, "r");
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/anor", 0711), 0);
	st = st_of("/pub/anow");
	CHECK_EQ(st.st_uid, A_ID);
	CHECK_EQ(st.st_gid, A_ID);
	mkfile("/sticky/afile", 0666, "sticky");
	mkfile("/sticky/afile2", 0644, "sticky2");
	/* A write by a non-root user drops set-user-ID, and set-group-ID
	 * where the group may execute (Linux); control: 02755 without the
	 * write keeps its bits. */
	mkfile("/pub/asid", 0644, "x");
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/asid", 06775), 0);
	CHECK_EQ(st_of("/pub/asid").st_mode, S_IFREG | 06775);
	{
		int fd = aoki_fs_open(fs, "/pub/asid", O_WRONLY, 0);

		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_pwrite(fs, fd, "y", 1, 0), 1);
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
	}
	CHECK_EQ(st_of("/pub/asid").st_mode, S_IFREG | 0775);
}

/* B is refused what is A's. */
static void b_refused(void)
{
	struct timespec ts[2] = { { 100, 0 }, { 200, 0 } };
	struct timespec now_omit[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	struct aoki_fs_dir *dir;
	struct stat st;
	char buf[16];
	int fd;

	/* 0600: neither read nor write */
	FAILS(try_open("/pub/a600", O_RDONLY), EACCES);
	FAILS(try_open("/pub/a600", O_WRONLY), EACCES);
	FAILS(try_open("/pub/a600", O_RDWR), EACCES);
	FAILS(try_open("/pub/a600", O_CREAT | O_WRONLY), EACCES);
	FAILS(aoki_fs_truncate(fs, "/pub/a600", 0), EACCES);
	CHECK_EQ(aoki_fs_stat(fs, "/pub/a600", &st), 0);	/* stat needs no read */
	/* 0644: read, not write */
	fd = aoki_fs_open(fs, "/pub/a644", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_read(fs, fd, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "public", 6));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	FAILS(try_open("/pub/a644", O_WRONLY), EACCES);
	FAILS(try_open("/pub/a644", O_RDWR), EACCES);
	FAILS(try_open("/pub/a644", O_RDONLY | O_TRUNC), EACCES);
	FAILS(aoki_fs_truncate(fs, "/pub/a644", 0), EACCES);
	CHECK_EQ(st_of("/pub/a644").st_size, 6);
	/* a directory without search permission: nothing below it */
	FAILS(aoki_fs_stat(fs, "/pub/anox/f", &st), EACCES);
	FAILS(try_open("/pub/anox/f", O_RDONLY), EACCES);
	FAILS(try_open("/pub/anox/new", O_CREAT | O_WRONLY), EACCES);
	FAILS(aoki_fs_unlink(fs, "/pub/anox/f"), EACCES);
	CHECK_EQ(aoki_fs_opendir(fs, "/pub/anox", &dir), 0);	/* read is there */
	aoki_fs_closedir(dir);
	/* without read permission: no listing, but lookups work */
	FAILS(aoki_fs_opendir(fs, "/pub/anor", &dir), EACCES);
	CHECK_EQ(aoki_fs_stat(fs, "/pub/anor/f", &st), 0);
	/* without write permission: no new names, no removal, no rename */
	FAILS(try_open("/pub/anow/new", O_CREAT | O_WRONLY), EACCES);
	FAILS(aoki_fs_mkdir(fs, "/pub/anow/d", 0755), EACCES);
	FAILS(aoki_fs_symlink(fs, "x", "/pub/anow/l"), EACCES);
	FAILS(aoki_fs_link(fs, "/pub/a644", "/pub/anow/l"), EACCES);
	FAILS(aoki_fs_unlink(fs, "/pub/anow/f"), EACCES);
	FAILS(aoki_fs_rename(fs, "/pub/anow/f", "/pub/bmoved"), EACCES);
	FAILS(aoki_fs_rename(fs, "/sticky/bfile", "/pub/anow/g"), EACCES);
	CHECK_EQ(try_open("/pub/anow/f", O_RDWR), 0);	/* the file itself is 0666 */
	/* sticky directory: A's files stay A's */
	FAILS(aoki_fs_unlink(fs, "/sticky/afile"), EPERM);
	FAILS(aoki_fs_rename(fs, "/sticky/afile", "/sticky/stolen"), EPERM);
	FAILS(aoki_fs_rename(fs, "/sticky/bfile", "/sticky/afile"), EPERM);
	FAILS(aoki_fs_renameat2(fs, AOKI_FS_CWD, "/sticky/bfile", AOKI_FS_CWD, "/sticky/afile",
				RENAME_EXCHANGE), EPERM);
	CHECK_EQ(st_of("/sticky/afile").st_uid, A_ID);
	/* ... but B's are B's */
	CHECK_EQ(aoki_fs_rename(fs, "/sticky/bfile", "/sticky/bfile2"), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/sticky/bfile2"), 0);
	/* chmod, chown of A's file */
	FAILS(aoki_fs_chmod(fs, "/pub/a644", 0666), EPERM);
	FAILS(aoki_fs_chmod(fs, "/sticky/afile", 0600), EPERM);	/* even with write */
	FAILS(aoki_fs_chown(fs, "/pub/a644", B_ID, (gid_t)-1), EPERM);
	FAILS(aoki_fs_chown(fs, "/pub/a644", (uid_t)-1, B_ID), EPERM);
	CHECK_EQ(st_of("/pub/a644").st_mode, S_IFREG | 0644);
	/* chown of its own file: not to another user, not to a group it
	 * is not in; to its own group, yes */
	mkfile("/pub/bfile", 0644, "b");
	FAILS(aoki_fs_chown(fs, "/pub/bfile", A_ID, (gid_t)-1), EPERM);
	FAILS(aoki_fs_chown(fs, "/pub/bfile", (uid_t)-1, A_ID), EPERM);
	CHECK_EQ(aoki_fs_chown(fs, "/pub/bfile", B_ID, B_ID), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/bfile", 0640), 0);
	/* times: "now" with write permission; anything else needs the owner */
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/sticky/afile", NULL, 0), 0);
	FAILS(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/sticky/afile", ts, 0), EPERM);
	FAILS(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/sticky/afile", now_omit, 0), EPERM);
	FAILS(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/pub/a644", NULL, 0), EACCES);
	FAILS(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/pub/a644", ts, 0), EPERM);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/pub/bfile", ts, 0), 0);
	CHECK_EQ(st_of("/pub/bfile").st_mtim.tv_sec, 200);
	/* a set-group-ID directory: its group, inherited by directories */
	mkfile("/sg/bf", 02755, "g");
	CHECK_EQ(aoki_fs_mkdir(fs, "/sg/bd", 0755), 0);
	st = st_of("/sg/bf");
	CHECK_EQ(st.st_uid, B_ID);
	CHECK_EQ(st.st_gid, SG_GID);
	st = st_of("/sg/bd");
	CHECK_EQ(st.st_uid, B_ID);
	CHECK_EQ(st.st_gid, SG_GID);
	CHECK_EQ(st.st_mode & 07777, 02755);
	mkfile("/sg/bd/deeper", 0644, "d");
	CHECK_EQ(st_of("/sg/bd/deeper").st_gid, SG_GID);
	/* new files are B's */
	st = st_of("/pub/bfile");
	CHECK_EQ(st.st_uid, B_ID);
	CHECK_EQ(st.st_gid, B_ID);
}

/* B makes a file in the sticky directory (before b_refused). */
static void b_setup(void)
{
	mkfile("/sticky/bfile", 0644, "bee");
}

/* The control: A may do what B was refused. */
static void a_allowed(void)
{
	struct timespec ts[2] = { { 100, 0 }, { 300, 0 } };
	struct aoki_fs_dir *dir;
	char buf[16];
	int fd;

	fd = aoki_fs_open(fs, "/pub/a600", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_read(fs, fd, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "secret", 6));
	CHECK_EQ(aoki_fs_pwrite(fs, fd, "S", 1, 0), 1);
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(try_open("/pub/a644", O_RDWR), 0);
	CHECK_EQ(aoki_fs_truncate(fs, "/pub/a644", 3), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/anox", 0755), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/anox", 0700), 0);
	CHECK_EQ(try_open("/pub/anox/f", O_RDONLY), 0);	/* its owner may search */
	CHECK_EQ(aoki_fs_opendir(fs, "/pub/anor", &dir), 0);
	aoki_fs_closedir(dir);
	CHECK_EQ(try_open("/pub/anow/new", O_CREAT | O_WRONLY), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/pub/anow/d", 0755), 0);
	CHECK_EQ(aoki_fs_rename(fs, "/pub/anow/f", "/pub/anow/g"), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/pub/anow/g"), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub/a644", 0640), 0);
	CHECK_EQ(st_of("/pub/a644").st_mode, S_IFREG | 0640);
	CHECK_EQ(aoki_fs_chown(fs, "/pub/a644", (uid_t)-1, A_ID), 0);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/pub/a644", ts, 0), 0);
	CHECK_EQ(st_of("/pub/a644").st_mtim.tv_sec, 300);
	CHECK_EQ(aoki_fs_utimensat(fs, AOKI_FS_CWD, "/pub/a644", NULL, 0), 0);
	/* its own files in the sticky directory */
	CHECK_EQ(aoki_fs_rename(fs, "/sticky/afile2", "/sticky/afile3"), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/sticky/afile3"), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/sticky/afile"), 0);
	/* a file A makes in the set-group-ID directory gets its group;
	 * A, not in that group, cannot keep the set-group-ID bit on it */
	mkfile("/sg/af", 02755, "a");
	CHECK_EQ(st_of("/sg/af").st_gid, SG_GID);
	CHECK_EQ(st_of("/sg/af").st_mode, S_IFREG | 0755);
}

int main(void)
{
	struct t_fs_stack s;
	struct stat st;
	char buf[16];
	int fd;

	if (geteuid() != 0)
		t_skip("SKIP: fs-perm needs root (to become two other users)");
	umask(022);
	t_fs_stack_start(&s, 64);
	/* The children must reach the run directory and the sockets. */
	CHECK_EQ(chmod(t_run_dir(), 0755), 0);
	CHECK_EQ(t_sh("chmod a+rw '%s'/* 2>/dev/null; true", t_run_dir()), 0);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/pub", 0755), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/pub", 0777), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/sticky", 0755), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/sticky", 01777), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/sg", 0755), 0);
	CHECK_EQ(aoki_fs_chown(fs, "/sg", 0, SG_GID), 0);
	CHECK_EQ(aoki_fs_chmod(fs, "/sg", 02777), 0);

	as_user(A_ID, A_ID, a_setup);
	as_user(B_ID, B_ID, b_setup);
	as_user(B_ID, B_ID, b_refused);
	/* root reads and writes A's private file */
	fd = aoki_fs_open(fs, "/pub/a600", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_read(fs, fd, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "secret", 6));
	CHECK_EQ(aoki_fs_close(fs, fd), 0);
	CHECK_EQ(aoki_fs_stat(fs, "/pub/anox/f", &st), 0);
	as_user(A_ID, A_ID, a_allowed);
	/* root may unlink anything in the sticky directory */
	CHECK_EQ(aoki_fs_stat(fs, "/pub/a600", &st), 0);
	CHECK_EQ(st.st_size, 6);
	mkfile("/sticky/rootfile", 0644, "r");
	CHECK_EQ(aoki_fs_chown(fs, "/sticky/rootfile", A_ID, A_ID), 0);
	CHECK_EQ(aoki_fs_unlink(fs, "/sticky/rootfile"), 0);
	aoki_fs_unmount(fs);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
