/* SPDX-License-Identifier: MIT */
/*
 * fuse-programs: real programs on an aoki-fuse mount over a fresh stack.
 *   tar     this repository's lib/, include/ and docs/ extracted into the
 *           mount, then archived from it and extracted outside: names,
 *           modes, sizes and SHA-256 of every file equal the source's;
 *   git     init, add, two commits, log, gc (packs: renames over open
 *           files, unlinks) and fsck --full;
 *   make    a small C project built with make -j2, its program run from
 *           the mount, rebuilt after a header changes, then up to date;
 *   sqlite3 5000 rows in 25 transactions with a rollback journal, then
 *           2000 in WAL mode (mmap'd shared memory): integrity_check ok
 *           and every row counted.
 * Each program's failure shows its output.  The image is e2fsck-clean
 * afterwards.
 */
#define _GNU_SOURCE
#include "fuse_util.h"

static struct t_fuse m;

/* Run a shell command with the mount as $M and the source as $S; it must
 * exit 0. */
#define SH(...) CHECK_EQ(t_sh("set -e; M='%s'; S='%s'; " __VA_ARGS__), 0)

static void need(const char *prog)
{
	if (t_sh("command -v %s >/dev/null 2>&1", prog) != 0) {
		fprintf(stderr, "%s is not installed: run scripts/deps.sh\n", prog);
		exit(T_EXIT_FAIL);
	}
}

/* A listing of a tree: path, mode, size, SHA-256 per file (into @out). */
#define TREE_SUM "find lib include docs -type f -printf '%%p %%m %%s\\n' | sort; " \
		 "find lib include docs -type f -print0 | sort -z | xargs -0 sha256sum"

static void with_tar(void)
{
	int64_t t0 = t_now_ns();
	const char *out = t_run_dir();

	SH("mkdir \"$M/tar\"; tar -C \"$S\" -cf - lib include docs | tar -C \"$M/tar\" -xpf -",
	   m.mnt, AOKI_SRC_DIR);
	SH("cd \"$S\" && (" TREE_SUM ") > '%s/src.sum'", m.mnt, AOKI_SRC_DIR, out);
	SH("cd \"$M/tar\" && (" TREE_SUM ") > '%s/mnt.sum'", m.mnt, AOKI_SRC_DIR, out);
	SH("cmp '%s/src.sum' '%s/mnt.sum'", m.mnt, AOKI_SRC_DIR, out, out);
	/* and back out: create from the mount, extract elsewhere */
	SH("mkdir '%s/out' && tar -C \"$M/tar\" -cf - lib include docs | tar -C '%s/out' -xpf - "
	   "&& cd '%s/out' && (" TREE_SUM ") > '%s/out.sum' && cmp '%s/src.sum' '%s/out.sum' "
	   "&& rm -rf '%s/out' '%s/src.sum' '%s/mnt.sum' '%s/out.sum'",
	   m.mnt, AOKI_SRC_DIR, out, out, out, out, out, out, out, out, out, out);
	printf("note: tar of lib/ include/ docs/ into and out of the mount: %.2f s\n",
	       (double)(t_now_ns() - t0) / 1e9);
}

static void with_git(void)
{
	int64_t t0 = t_now_ns();

	SH("G=\"git -c user.name=t -c user.email=t@example.org -c init.defaultBranch=main\"; "
	   "cd \"$M\" && $G init -q repo && cd repo && cp -r \"$S/lib\" \"$S/include\" . && "
	   "$G add -A && $G commit -qm one && echo '/* two */' >> include/aoki/fs.h && "
	   "$G commit -qam two && test \"$($G log --oneline | wc -l)\" = 2 && "
	   "$G gc -q && $G fsck --full --no-progress && test -z \"$($G status --porcelain)\" && "
	   "$G show HEAD~1:include/aoki/fs.h | cmp - \"$S/include/aoki/fs.h\"",
	   m.mnt, AOKI_SRC_DIR);
	printf("note: git init/add/commit/gc/fsck on the mount: %.2f s\n",
	       (double)(t_now_ns() - t0) / 1e9);
}

static void with_make(void)
{
	int64_t t0 = t_now_ns();

	SH("mkdir \"$M/proj\" && cd \"$M/proj\" && "
	   "printf '#define GREETING \"hello\"\\nint add(int, int);\\n' > proj.h && "
	   "printf '#include <stdio.h>\\n#include \"proj.h\"\\nint main(void) "
	   "{ printf(\"%%%%s %%%%d\\\\n\", GREETING, add(2, 3)); return 0; }\\n' > main.c && "
	   "printf '#include \"proj.h\"\\nint add(int a, int b) { return a + b; }\\n' > add.c && "
	   "printf 'prog: main.o add.o\\n\\t$(CC) -o $@ main.o add.o\\n"
	   "%%%%.o: %%%%.c proj.h\\n\\t$(CC) -c -o $@ $<\\n' > Makefile && "
	   "make -s -j2 && test \"$(./prog)\" = 'hello 5' && "
	   "sleep 0.01 && sed -i s/hello/again/ proj.h && make -s -j2 && "
	   "test \"$(./prog)\" = 'again 5' && make -q && make -s -j2 2>&1 | "
	   "(! grep -q .)", m.mnt, AOKI_SRC_DIR);
	printf("note: make of a small C project on the mount: %.2f s\n",
	       (double)(t_now_ns() - t0) / 1e9);
}

static void with_sqlite(void)
{
	int64_t t0 = t_now_ns();

	SH("cd \"$M\" && for t in $(seq 25); do echo 'BEGIN;'; for i in $(seq 200); do "
	   "echo \"INSERT INTO t(t, i, v) VALUES($t, $i, hex(randomblob(40)));\"; done; "
	   "echo 'COMMIT;'; done > \"$M/rows.sql\" && "
	   "sqlite3 db 'CREATE TABLE t(t, i, v); CREATE INDEX ti ON t(t, i);' && "
	   "sqlite3 db < rows.sql && "
	   "test \"$(sqlite3 db 'PRAGMA integrity_check')\" = ok && "
	   "test \"$(sqlite3 db 'SELECT count(*) FROM t')\" = 5000 && "
	   "test \"$(sqlite3 db 'PRAGMA journal_mode=WAL')\" = wal && "
	   "head -n 2020 rows.sql | sed 's/VALUES(/VALUES(1000+/' | sqlite3 db && "
	   "test \"$(sqlite3 db 'PRAGMA integrity_check')\" = ok && "
	   "test \"$(sqlite3 db 'SELECT count(*) FROM t')\" = 7000", m.mnt, AOKI_SRC_DIR);
	printf("note: sqlite3 7000 inserts in 35 transactions on the mount: %.2f s\n",
	       (double)(t_now_ns() - t0) / 1e9);
}

int main(void)
{
	struct t_fs_stack s;

	t_fuse_path();
	need("tar");
	need("git");
	need("make");
	need("cc");
	need("sqlite3");
	need("sha256sum");
	umask(022);
	t_fs_stack_start(&s, 512);
	t_fuse_mount(&m, "mnt", NULL);
	with_tar();
	with_git();
	with_make();
	with_sqlite();
	t_fuse_unmount(&m);
	t_fsd_stop(s.fsd);
	s.fsd = 0;
	CHECK_EQ(t_fs_fsck(s.img), 0);
	t_fs_stack_stop(&s);
	return 0;
}
