/* SPDX-License-Identifier: MIT */
/*
 * fs-rerun-inproc: operations that must not run twice, rerun after a
 * fault of a hosted aoki-fsd (the in-process layout; fs-rerun is the
 * process one).  Before each create, mkdir, rename, link, symlink and
 * unlink a late fault is injected (AOKI_HOST_FAULT_LATE): fsd's handler
 * carries the operation out and stages it, then faults before its
 * reply.  The compartment is rebuilt (the image remounted: journal and
 * staging ring), the request run again from the channel memory, and the
 * rerun must be answered from the reply record: a create with O_EXCL
 * that succeeded must not come back as -EEXIST, an unlink as -ENOENT, a
 * rename as -ENOENT.  Each fault is checked to have happened (a recovery
 * counted) and its rerun answered from the record (dedup_hits of the
 * new incarnation is 1).  The control: the same operations run again
 * are refused, so the record is what makes the difference.
 */
#define T_FS_INPROC 1
#include "fs_util.h"

static uint64_t recoveries(void)
{
	struct aoki_host_stats st;

	CHECK_EQ(aoki_host_get_stats(t_fs_host, &st), 0);
	CHECK_EQ(st.drain_failures, 0);
	return st.recoveries;
}

static void fault_next(int kind, uint64_t *rec)
{
	*rec = recoveries();
	CHECK_EQ(aoki_host_inject_fault(t_fs_host, kind | AOKI_HOST_FAULT_LATE, NULL), 0);
}

/* The call @what returned @r after a late fault and a rerun answered
 * from the record. */
static void after_fault(struct aoki_fs *fs, const char *what, long r, long want, uint64_t rec)
{
	struct aoki_fs_stats st;

	if (r != want)
		fprintf(stderr, "%s: %ld, want %ld\n", what, r, want);
	CHECK_EQ(r, want);
	CHECK_EQ(recoveries(), rec + 1);	/* it really faulted and came back */
	CHECK_EQ(aoki_fs_server_stats(fs, &st), 0);
	CHECK_EQ(st.dedup_hits, 1);	/* a new incarnation: its first answer */
}

int main(void)
{
	struct t_fs_stack s;
	struct aoki_fs *fs;
	struct stat st;
	uint64_t rec;
	int64_t t0;
	int fd;

	t_fs_stack_start(&s, 64);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);

	fault_next(AOKI_HOST_FAULT_ABORT, &rec);
	t0 = t_now_ns();
	fd = aoki_fs_open(fs, "/a", O_CREAT | O_EXCL | O_RDWR, 0644);
	printf("note: a create across a fault and rebuild of hosted aoki-fsd took %.1f ms\n",
	       (double)(t_now_ns() - t0) / 1e6);
	after_fault(fs, "create /a O_EXCL", fd >= 0 ? 0 : fd, 0, rec);
	CHECK_EQ(aoki_fs_pwrite(fs, fd, "data", 4, 0), 4);	/* the handle is right */
	fault_next(AOKI_HOST_FAULT_NULL, &rec);
	after_fault(fs, "mkdir /d", aoki_fs_mkdir(fs, "/d", 0755), 0, rec);
	fault_next(AOKI_HOST_FAULT_ABORT, &rec);
	after_fault(fs, "rename /a /d/b", aoki_fs_rename(fs, "/a", "/d/b"), 0, rec);
	fault_next(AOKI_HOST_FAULT_NULL, &rec);
	after_fault(fs, "link /d/b /c", aoki_fs_link(fs, "/d/b", "/c"), 0, rec);
	fault_next(AOKI_HOST_FAULT_ABORT, &rec);
	after_fault(fs, "symlink /s", aoki_fs_symlink(fs, "d/b", "/s"), 0, rec);
	fault_next(AOKI_HOST_FAULT_NULL, &rec);
	after_fault(fs, "unlink /c", aoki_fs_unlink(fs, "/c"), 0, rec);
	CHECK_EQ(aoki_fs_stat(fs, "/s", &st), 0);
	CHECK_EQ(st.st_size, 4);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(aoki_fs_stat(fs, "/a", &st), -ENOENT);
	CHECK_EQ(aoki_fs_stat(fs, "/c", &st), -ENOENT);
	/* Control: the same operations run again are refused. */
	CHECK_EQ(aoki_fs_open(fs, "/d/b", O_CREAT | O_EXCL | O_RDWR, 0644), -EEXIST);
	CHECK_EQ(aoki_fs_rename(fs, "/a", "/d/b"), -ENOENT);
	CHECK_EQ(aoki_fs_unlink(fs, "/c"), -ENOENT);
	aoki_fs_unmount(fs);
	t_fs_stack_stop(&s);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	return 0;
}
