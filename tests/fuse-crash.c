/* SPDX-License-Identifier: MIT */
/*
 * fuse-crash: aoki-fsd killed with SIGKILL while programs copy files into
 * an aoki-fuse mount; aoki-init restarts it and the programs never see
 * an error.  A source tree (this repository's lib/, include/, docs/ and
 * 24 MiB of generated files of odd sizes) is copied into the mount with
 * cp -a, three times or more, and fsd is killed during each copy (until
 * 6 kills at least in all); then every copied file's SHA-256 equals the source's, a
 * tar of the mount extracts the same tree, and the image is e2fsck-clean
 * after a clean stop.  How long each kill stalled the copy is reported.
 */
#define _GNU_SOURCE
#include "fuse_util.h"

#define KILLS 6		/* at least, in all */
#define ROUNDS 8	/* copies at most */

static struct t_fuse m;

/* Generated files: sizes from 0 to ~3 MiB, unaligned, random bytes. */
static void make_source(const char *dir)
{
	CHECK_EQ(t_sh("set -e; mkdir -p '%s/gen'; cp -r '%s/lib' '%s/include' '%s/docs' '%s'; "
		      "for i in $(seq 0 47); do head -c $(( (i * 524287) %% 3300000 )) "
		      "/dev/urandom > '%s/gen/f$i'; done", dir, AOKI_SRC_DIR, AOKI_SRC_DIR,
		      AOKI_SRC_DIR, dir, dir), 0);
}

/* A look-up through the mount that fsd must answer (a name never
 * cached): returns once aoki-fuse's channel is served again. */
static void through_mount(void)
{
	struct stat st;

	errno = 0;
	CHECK_EQ(stat(t_fuse_at(&m, "no-such-name"), &st), -1);
	CHECK_EQ(errno, ENOENT);
}

/*
 * Kill fsd while the copy (@cp, a child) runs: 40 ms in, then again 80
 * ms after the mount is served again, until the copy ends.  Returns the
 * kills made; *@stall_ms is the longest time from a kill to a served
 * look-up.
 */
static unsigned kill_during(pid_t cp, int *status, int64_t *stall_ms)
{
	unsigned kills = 0;
	pid_t fsd, got;

	*stall_ms = 0;
	for (int64_t wait = 40;; wait = 80) {
		int64_t t0;

		t_sleep_ms((unsigned)wait);
		got = waitpid(cp, status, WNOHANG);
		CHECK(got >= 0);
		if (got == cp)
			return kills;
		fsd = t_fs_init_fsd_pid();
		if (fsd <= 0 || kill(fsd, SIGKILL) != 0)
			continue;
		t0 = t_now_ns();
		kills++;
		through_mount();
		if ((t_now_ns() - t0) / 1000000 > *stall_ms)
			*stall_ms = (t_now_ns() - t0) / 1000000;
	}
}

int main(void)
{
	char img[PATH_MAX + 16], src[PATH_MAX + 16], cmd[4 * PATH_MAX];
	const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	unsigned kills = 0;
	pid_t init, cp;
	int status, rounds;

	t_fuse_path();
	if (t_sh("command -v sha256sum >/dev/null && command -v tar >/dev/null") != 0) {
		fprintf(stderr, "sha256sum or tar missing: run scripts/deps.sh\n");
		return T_EXIT_FAIL;
	}
	umask(022);
	snprintf(img, sizeof(img), "%s/fs.img", t_run_dir());
	snprintf(src, sizeof(src), "%s/src", t_run_dir());
	t_fs_mkfs(img, 512);
	make_source(src);
	init = t_fs_init_start(img);
	t_fuse_mount(&m, "mnt", NULL);
	for (rounds = 0; rounds < ROUNDS && (rounds < 3 || kills < KILLS); rounds++) {
		int r = rounds;
		int64_t t0 = t_now_ns(), stall;
		unsigned k;

		snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s/copy%d'", src, m.mnt, r);
		cp = t_spawn(sh);
		k = kill_during(cp, &status, &stall);
		t_child_track(0, cp);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		printf("note: round %d: cp -a with %u fsd kills: %.2f s, longest stall %lld ms\n",
		       r, k, (double)(t_now_ns() - t0) / 1e9, (long long)stall);
		kills += k;
	}
	CHECK(kills >= KILLS);
	for (int r = 0; r < rounds; r++)
		CHECK_EQ(t_sh("cd '%s' && find . -type f -print0 | sort -z | xargs -0 sha256sum > "
			      "'%s.sum' && cd '%s/copy%d' && sha256sum --quiet -c '%s.sum'",
			      src, src, m.mnt, r, src), 0);
	CHECK_EQ(t_sh("B='%s/back'; mkdir \"$B\" && tar -C '%s/copy0' -cf - . | "
		      "tar -C \"$B\" -xf - && diff -r '%s' \"$B\" && rm -rf \"$B\" '%s' '%s.sum'",
		      t_run_dir(), m.mnt, src, src, src), 0);
	t_fuse_unmount(&m);
	t_fs_init_stop(init);
	CHECK_EQ(t_fs_fsck(img), 0);
	return 0;
}
