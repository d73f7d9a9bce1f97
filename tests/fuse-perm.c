/* SPDX-License-Identifier: MIT */
/*
 * fuse-perm: permissions through an aoki-fuse mount with two users.
 * aoki-fuse runs as root with -o allow_other and passes each caller's uid
 * and gid to aoki-fsd, which checks them; a child of the test becomes
 * uid/gid 65534 (nobody) and meets Linux ext4's answers: EACCES for
 * files, directories and executables it may not use, EPERM for chmod,
 * chown, explicit times and a sticky directory; its new files are its
 * own.  The same calls succeed for the owner or root (the controls: a
 * bridge that refuses everything fails).  Covered on purpose:
 *   - a path through names the kernel has cached (root used them a
 *     moment before) still needs search permission: without
 *     default_permissions the kernel checks none, so aoki-fuse must not
 *     let it cache names (entry_timeout 0) and fsd checks each look-up;
 *   - execute-only programs run (the open of an execve is checked for
 *     execute, not read);
 *   - a write by another user who may write drops set-user-ID and
 *     set-group-ID, and succeeds (the kernel's kill-priv SETATTR);
 *   - with -o default_permissions the kernel refuses too.
 */
#define _GNU_SOURCE
#include "fuse_util.h"

#include <grp.h>

#define NOBODY 65534

static struct t_fuse m;

static const char *P(const char *path)
{
	return t_fuse_at(&m, path);
}

static void put(const char *path, const char *data, mode_t mode)
{
	int fd = open(P(path), O_CREAT | O_WRONLY | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, strlen(data)), (long long)strlen(data));
	CHECK_EQ(close(fd), 0);
	OK(chmod(P(path), mode));
}

/* Run @path with no arguments; its exit status, or -errno of execve. */
static int run(const char *path)
{
	int p[2], status, err = 0;
	pid_t pid;

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		err = errno;
		(void)!write(p[1], &err, sizeof(err));
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != sizeof(err))
		err = 0;
	close(p[0]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return err ? -err : WEXITSTATUS(status);
}

/* Run @fn in a child as nobody; it must pass. */
static void as_nobody(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
			perror("setuid");
			_exit(1);
		}
		umask(022);
		fn();
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void root_setup(void)
{
	char buf[16];
	int fd;

	OK(mkdir(P("priv"), 0700));
	put("priv/s", "secret", 0644);
	put("pub", "public", 0644);
	OK(mkdir(P("open"), 0755));
	OK(chmod(P("open"), 01777));
	put("open/rootfile", "r", 0666);
	put("open/setid", "s", 0666);
	OK(chmod(P("open/setid"), 06777));
	CHECK_EQ(t_sh("cp /bin/true '%s' && cp /bin/true '%s'", P("open/xonly"),
		      P("open/rootonly")), 0);
	OK(chmod(P("open/xonly"), 0711));
	OK(chmod(P("open/rootonly"), 0700));
	/* root walks through priv: the kernel now has "priv/s" cached */
	fd = open(P("priv/s"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 6);
	CHECK_EQ(close(fd), 0);
}

static void nobody_refused(void)
{
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	struct stat st;

	/* search permission, also through names the kernel knows */
	FAILS(open(P("priv/s"), O_RDONLY), EACCES);
	FAILS(stat(P("priv/s"), &st), EACCES);
	FAILS(chdir(P("priv")), EACCES);
	FAILS(opendir(P("priv")) ? 0 : -1, EACCES);
	/* files */
	FAILS(open(P("pub"), O_WRONLY), EACCES);
	FAILS(open(P("pub"), O_RDONLY | O_TRUNC), EACCES);
	FAILS(truncate(P("pub"), 0), EACCES);
	FAILS(access(P("pub"), W_OK), EACCES);
	FAILS(open(P("new"), O_CREAT | O_WRONLY, 0644), EACCES);	/* "/" is root's */
	FAILS(mkdir(P("newdir"), 0755), EACCES);
	FAILS(unlink(P("pub")), EACCES);
	/* owner-only changes */
	FAILS(chmod(P("pub"), 0666), EPERM);
	FAILS(chown(P("pub"), NOBODY, NOBODY), EPERM);
	FAILS(utimensat(AT_FDCWD, P("pub"), ts, 0), EPERM);
	FAILS(utimensat(AT_FDCWD, P("pub"), NULL, 0), EACCES);	/* "now" needs write */
	/* the sticky directory */
	FAILS(unlink(P("open/rootfile")), EPERM);
	FAILS(rename(P("open/rootfile"), P("open/mine")), EPERM);
	/* executables */
	FAILS(open(P("open/xonly"), O_RDONLY), EACCES);
	CHECK_EQ(run(P("open/rootonly")), -EACCES);
}

static void nobody_allowed(void)
{
	char buf[16] = { 0 };
	struct stat st;
	int fd;

	fd = open(P("pub"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 6);
	CHECK_EQ(close(fd), 0);
	OK(access(P("pub"), R_OK));
	CHECK_EQ(run(P("open/xonly")), 0);	/* execute without read */
	/* own files in the sticky directory */
	fd = open(P("open/mine"), O_CREAT | O_EXCL | O_WRONLY, 0640);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "mine", 4), 4);
	CHECK_EQ(close(fd), 0);
	OK(lstat(P("open/mine"), &st));
	CHECK(st.st_uid == NOBODY && st.st_gid == NOBODY && st.st_mode == (S_IFREG | 0640));
	OK(mkdir(P("open/mydir"), 0700));
	OK(symlink("mine", P("open/mylink")));
	OK(lstat(P("open/mylink"), &st));
	CHECK_EQ(st.st_uid, NOBODY);
	OK(chmod(P("open/mine"), 0600));
	OK(utimensat(AT_FDCWD, P("open/mine"), NULL, 0));
	OK(rename(P("open/mine"), P("open/mine2")));
	OK(unlink(P("open/mine2")));
	OK(unlink(P("open/mylink")));
	OK(rmdir(P("open/mydir")));
	/* a write by another user who may write: set-ID bits go, as ext4 */
	fd = open(P("open/setid"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_EQ(close(fd), 0);
	OK(stat(P("open/setid"), &st));
	CHECK_EQ(st.st_mode & 07777, 0777);
}

static void nobody_default_permissions(void)
{
	FAILS(open(t_fuse_at(&m, "priv/s"), O_RDONLY), EACCES);
	FAILS(open(t_fuse_at(&m, "pub"), O_WRONLY), EACCES);
	FAILS(chmod(t_fuse_at(&m, "pub"), 0666), EPERM);
	CHECK_EQ(run(t_fuse_at(&m, "open/xonly")), 0);
}

int main(void)
{
	const char *other[] = { "-o", "allow_other", NULL };
	const char *both[] = { "-o", "allow_other,default_permissions", NULL };
	struct t_fs_stack s;
	struct stat st;
	int fd;

	t_fuse_path();
	if (geteuid() != 0)
		t_skip("SKIP: fuse-perm needs root (allow_other, and to become nobody)");
	umask(022);
	t_fs_stack_start(&s, 64);
	CHECK_EQ(chmod(t_run_dir(), 0755), 0);	/* nobody reaches the mount point */
	t_fuse_mount(&m, "mnt", other);
	root_setup();
	as_nobody(nobody_refused);
	as_nobody(nobody_allowed);
	/* root, the owner of everything here, is refused nothing */
	fd = open(P("priv/s"), O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(close(fd), 0);
	OK(chown(P("pub"), NOBODY, NOBODY));
	OK(lstat(P("pub"), &st));
	CHECK_EQ(st.st_uid, NOBODY);
	OK(chown(P("pub"), 0, 0));
	OK(unlink(P("open/rootfile")));
	t_fuse_unmount(&m);

	t_fuse_mount(&m, "mnt", both);
	as_nobody(nobody_default_permissions);
	t_fuse_unmount(&m);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
