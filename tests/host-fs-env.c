/* SPDX-License-Identifier: MIT */
/*
 * host-fs-env: an unmodified file-system client (this binary,
 * re-executed) with AOKI_HOST='blkd: ...; fsd: ...' hosts both servers
 * from the environment and works on the image: fsd, itself a client of
 * blkd, connects while AOKI_HOST is being read (that deadlocked: the
 * nested aoki_connect waited on the pthread_once it ran inside; the
 * child's alarm fails the test).  Nothing listens at the ports; a second
 * process finds the first one's directory; fsd named before the blkd it
 * needs fails to be hosted (every mount then fails).  A child that
 * returns from main() leaves the image clean (the servers AOKI_HOST
 * hosted are stopped at exit: before, the image was left to journal
 * recovery and what was acknowledged sat in the staging ring of that run
 * directory only); a run in another run directory sees its directory.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "fs_util.h"

static int child(const char *run_dir)
{
	struct aoki_fs *fs;
	struct stat sb;
	char sock[PATH_MAX + 16];
	int r;

	alarm(20);
	r = aoki_fs_mount("fs", NULL, &fs);
	if (r < 0) {
		printf("env child: mount: %s\n", strerror(-r));
		return 1;
	}
	r = aoki_fs_mkdir(fs, "/hosted", 0755);
	if (r < 0 && r != -EEXIST) {
		printf("env child: mkdir: %s\n", strerror(-r));
		return 1;
	}
	r = aoki_fs_stat(fs, "/hosted", &sb);
	aoki_fs_unmount(fs);
	if (r < 0 || !S_ISDIR(sb.st_mode))
		return 1;
	/* Served in-process: nothing listens at either port. */
	snprintf(sock, sizeof(sock), "%s/fs", run_dir);
	if (stat(sock, &sb) == 0)
		return 2;
	snprintf(sock, sizeof(sock), "%s/blk", run_dir);
	return stat(sock, &sb) == 0 ? 2 : 0;
}

static void exit_now(int sig)
{
	(void)sig;
	exit(0);	/* the atexit stop runs here, maybe inside a turn */
}

/* Write files until a CPU-time timer's handler calls exit(): with the
 * thread inside a hosted server's turn, most of the time.  The stop at
 * exit used to wait there for the worker lock this thread holds. */
static int child_exit_in_handler(void)
{
	struct itimerval it = { .it_value = { 0, 200000 } };
	struct aoki_fs *fs;
	char name[32];

	alarm(20);
	if (aoki_fs_mount("fs", NULL, &fs) < 0)
		return 1;
	signal(SIGPROF, exit_now);
	setitimer(ITIMER_PROF, &it, NULL);
	for (unsigned i = 0;; i++) {
		int fd;

		snprintf(name, sizeof(name), "/sig%u", i % 64);
		fd = aoki_fs_open(fs, name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd >= 0)
			aoki_fs_close(fs, fd);
	}
}

static int run_child_mode(const char *self, const char *env, const char *mode)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		setenv("AOKI_HOST", env, 1);
		execl(self, self, mode, t_run_dir(), (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fprintf(stderr, "child killed by signal %d (a hang: the alarm)\n",
			WTERMSIG(status));
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int run_child(const char *self, const char *env)
{
	return run_child_mode(self, env, "--child");
}

int main(int argc, char **argv)
{
	char img[PATH_MAX], env[2 * PATH_MAX];

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--child-sig"))
		return child_exit_in_handler();
	snprintf(img, sizeof(img), "%s/fs.img", t_run_dir());
	t_fs_mkfs(img, 64);
	snprintf(env, sizeof(env), "blkd: --volume disk=%s --quiet; fsd: --volume disk --quiet",
		 img);
	CHECK_EQ(run_child(argv[0], env), 0);
	/* Stopped at exit: a clean image, which a tool without our run
	 * directory reads as it is. */
	CHECK_EQ(t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q needs_recovery", img), 1);
	CHECK_EQ(t_sh("debugfs -R 'stat /hosted' '%s' 2>/dev/null | grep -q 'Type: directory'",
		      img), 0);
	/* A second process finds the first one's directory. */
	CHECK_EQ(run_child(argv[0], env), 0);
	/* exit() from a signal handler, 5 times: never a hang (the
	 * child's alarm); before, the stop at exit waited for itself. */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(run_child_mode(argv[0], env, "--child-sig"), 0);
	/* fsd before the blkd it needs: it cannot be hosted (-EINVAL). */
	snprintf(env, sizeof(env), "fsd: --volume disk --quiet; blkd: --volume disk=%s", img);
	CHECK_EQ(run_child(argv[0], env), 1);
	return 0;
}
