/* SPDX-License-Identifier: MIT */
/*
 * fuse-mount: aoki-fuse's life cycle and command line.
 *   - usage: no mount point, an unknown option or -o value, a mount point
 *     that is not a directory exit 2; --help exits 0; an aoki-fsd that is
 *     not there exits 1 and leaves nothing mounted;
 *   - detached (no -f), aoki-fuse returns only once the mount is usable,
 *     and fusermount3 -u unmounts it;
 *   - SIGTERM (and SIGINT) unmounts cleanly: exit 0, the mount is gone;
 *   - an aoki-fsd that dies and never comes back: calls on the mount fail
 *     with EIO once the reconnect time (--reconnect-s 1) has passed, not
 *     hang, and the mount still unmounts.
 */
#define _GNU_SOURCE
#include "fuse_util.h"

static struct t_fuse m;

/* aoki-fuse with the arguments in @args (a shell word list): its exit
 * status; stderr to /dev/null unless @show. */
static int fuse_cli(const char *args, int show)
{
	return t_sh("'%s' %s%s", t_fuse_path(), args, show ? "" : " 2>/dev/null >/dev/null");
}

static void command_line(void)
{
	char mnt[PATH_MAX + 8], file[PATH_MAX + 8], args[3 * PATH_MAX];

	snprintf(mnt, sizeof(mnt), "%s/cli", t_run_dir());
	snprintf(file, sizeof(file), "%s/plain", t_run_dir());
	CHECK_EQ(mkdir(mnt, 0755), 0);
	CHECK_EQ(t_sh("touch '%s'", file), 0);
	CHECK_EQ(fuse_cli("", 0), 2);
	CHECK_EQ(fuse_cli("--help", 0), 0);
	snprintf(args, sizeof(args), "'%s' -o bogus", mnt);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s' -o attr_timeout=-1", mnt);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s' -o max_threads=0", mnt);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s' --reconnect-s", mnt);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s' '%s'", mnt, mnt);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s'", file);
	CHECK_EQ(fuse_cli(args, 0), 2);
	snprintf(args, sizeof(args), "'%s/missing'", t_run_dir());
	CHECK_EQ(fuse_cli(args, 0), 2);
	/* no fsd there: status 1, detached or not, nothing mounted */
	snprintf(args, sizeof(args), "'%s' --port nosuchport", mnt);
	CHECK_EQ(fuse_cli(args, 0), 1);
	snprintf(args, sizeof(args), "'%s' -f --port nosuchport", mnt);
	CHECK_EQ(fuse_cli(args, 0), 1);
	CHECK(!t_fuse_mounted(mnt));
	/* detached: usable when it returns */
	snprintf(args, sizeof(args), "'%s'", mnt);
	CHECK_EQ(fuse_cli(args, 1), 0);
	CHECK(t_fuse_mounted(mnt));
	CHECK_EQ(t_sh("echo data > '%s/f' && test \"$(cat '%s/f')\" = data", mnt, mnt), 0);
	CHECK_EQ(t_sh("fusermount3 -u '%s'", mnt), 0);
	CHECK(!t_fuse_mounted(mnt));
	CHECK_EQ(rmdir(mnt), 0);
	CHECK_EQ(unlink(file), 0);
}

/* Stop the foreground aoki-fuse with @sig: exit 0, not mounted. */
static void stop_by_signal(int sig)
{
	int status;

	t_fuse_mount(&m, "mnt", NULL);
	CHECK_EQ(t_sh("echo x > '%s/sig'", m.mnt), 0);
	CHECK_EQ(kill(m.pid, sig), 0);
	CHECK_EQ(waitpid(m.pid, &status, 0), m.pid);
	t_child_track(0, m.pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!t_fuse_mounted(m.mnt));
	CHECK_EQ(rmdir(m.mnt), 0);
}

int main(void)
{
	const char *quick[] = { "--reconnect-s", "1", NULL };
	struct t_fs_stack s;
	struct stat st;
	int64_t t0, took;

	t_fuse_path();
	umask(022);
	t_fs_stack_start(&s, 64);
	command_line();
	stop_by_signal(SIGTERM);
	stop_by_signal(SIGINT);

	/* fsd gone for good: EIO after the reconnect time, never a hang */
	t_fuse_mount(&m, "mnt", quick);
	CHECK_EQ(t_sh("echo x > '%s/before'", m.mnt), 0);
	CHECK_EQ(kill(s.fsd, SIGKILL), 0);
	CHECK_EQ(waitpid(s.fsd, NULL, 0), s.fsd);
	t_child_track(0, s.fsd);
	s.fsd = 0;
	t0 = t_now_ns();
	errno = 0;
	CHECK_EQ(stat(t_fuse_at(&m, "after"), &st), -1);
	CHECK_EQ(errno, EIO);
	took = t_now_ns() - t0;
	printf("note: a lost aoki-fsd: EIO after %.1f s (--reconnect-s 1)\n", (double)took / 1e9);
	CHECK(took < 10000000000ll);
	errno = 0;
	CHECK_EQ(open(t_fuse_at(&m, "new"), O_CREAT | O_WRONLY, 0644), -1);
	CHECK_EQ(errno, EIO);	/* and at once from then on */
	t_fuse_unmount(&m);
	t_fs_stack_stop(&s);
	return 0;
}
