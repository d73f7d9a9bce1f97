/* SPDX-License-Identifier: MIT */
/*
 * fuzz_fsd_mount - aoki-fsd (servers/fsd) over hostile ext4 images: the
 * mount (superblock, group descriptors, bitmaps, the journal and its
 * replay, the reply record), path resolution, READDIR, GETATTR,
 * READLINK, STATFS, and a few writes and a commit, then the unmount.
 * fsd runs in this process over memory (fsd_memblk.c replaces blkio.c).
 *
 * The images: at start-up, mke2fs -d makes a few small populated file
 * systems (4 KiB blocks with metadata_csum, 1 KiB without, ext3 with
 * block maps); each is mounted and unmounted once by fsd (which adds its
 * reply record) to give a clean image, and mounted again, changed and
 * committed but not checkpointed to give a crashed one (needs_recovery,
 * transactions in the journal).  An input picks one and mutates it:
 *
 *   u8 base, u8 flags (bit 0: writes, bit 1: read-only mount),
 *   u16 fail_at (fail that I/O with -EIO; 0: none), then records
 *   u16 where, u16 offset, u8 len, len bytes: `where` < 0x8000 picks a
 *   1 KiB unit among those the image does not hold as zeroes (the
 *   metadata, the journal), else (where & 0x7fff) is a unit number.
 *
 * Properties: no crash, hang, leak or out-of-bounds access (ASan,
 * UBSan); every status is 0, a count, or a documented -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../servers/fsd/fsd.h"
#include "fsd_memblk.h"

#define UNIT 1024

struct base {
	const char *mkfs;	/* mke2fs options */
	unsigned mib;
	int crashed;		/* journal replay pending */
	uint8_t *img;
	size_t size;
	uint32_t *units;	/* the non-zero 1 KiB units */
	unsigned nunits;
};

static struct base bases[] = {
	{ .mkfs = "-t ext4 -b 4096 -J size=4", .mib = 10, .crashed = 0 },
	{ .mkfs = "-t ext4 -b 4096 -J size=4", .mib = 10, .crashed = 1 },
	{ .mkfs = "-t ext4 -b 1024 -J size=2 -O ^metadata_csum", .mib = 6, .crashed = 0 },
	{ .mkfs = "-t ext4 -b 1024 -J size=2 -O ^metadata_csum", .mib = 6, .crashed = 1 },
	{ .mkfs = "-t ext3 -b 1024 -J size=2 -I 256", .mib = 6, .crashed = 0 },
	{ .mkfs = "-t ext3 -b 1024 -J size=2 -I 256", .mib = 6, .crashed = 1 },
};
#define NBASES (sizeof(bases) / sizeof(bases[0]))

static struct fsd d;
static const struct fsd_cred root = { 0, 0 };
static int ready;	/* 0: not set up, 1: ready, -1: cannot (no mke2fs) */

static int documented(int r)
{
	switch (r) {
	case -EUCLEAN: case -EIO: case -EINVAL: case -ENOENT: case -ENOTDIR: case -EISDIR:
	case -ELOOP: case -ENAMETOOLONG: case -ESTALE: case -EACCES: case -EPERM:
	case -ENOSPC: case -EEXIST: case -EFBIG: case -EROFS: case -EOPNOTSUPP:
	case -ERANGE: case -ENOTEMPTY: case -EMLINK: case -EBUSY: case -EXDEV:
	case -EOVERFLOW:
		return 1;
	default:
		return r >= 0;
	}
}

static int check(int r, const char *what)
{
	if (!documented(r)) {
		fprintf(stderr, "fuzz_fsd_mount: %s: undocumented status %d\n", what, r);
		abort();
	}
	return r;
}

/* The argument area of the op being run (READDIR writes its cookie). */
static struct fs_args area;

/* Run metadata op @fn as handler.c's decode_meta sets it up. */
static int run_op(int (*fn)(struct fsd_op *), const struct fs_args *a, const char *name,
		  const char *name2, void *out, size_t out_len)
{
	struct fsd_op o = { .d = &d, .cred = root, .a = *a };

	o.a.name_len = (uint16_t)(name ? strlen(name) : 0);
	o.a.name2_len = (uint16_t)(name2 ? strlen(name2) : 0);
	area = o.a;
	o.name = name ? name : "";
	o.name2 = name2 ? name2 : "";
	o.area = &area;
	o.out = out;
	o.out_len = out_len;
	return check(fn(&o), "op");
}

static uint64_t lookup(const char *path, int nofollow)
{
	struct fs_args a = { .dir = FS_ROOT_FH, .flags = nofollow ? FS_LOOKUP_NOFOLLOW : 0 };
	struct fs_attr at;

	return run_op(op_lookup, &a, path, NULL, &at, sizeof(at)) == 0 ? at.fh : 0;
}

/* READDIR @fh to its end (bounded), GETATTR / READLINK of what it holds,
 * and down into subdirectories to @depth. */
static void walk_dir(uint64_t fh, int depth)
{
	uint8_t buf[512];
	struct fs_args a = { .fh = fh };

	for (int round = 0; round < 16; round++) {
		struct fs_args ga = { 0 };
		char target[FS_PATH_MAX];
		struct fs_attr at;
		int n = run_op(op_readdir, &a, NULL, NULL, buf, sizeof(buf));

		for (int off = 0; n > 0 && off + (int)sizeof(struct fs_dirent) <= n;) {
			struct fs_dirent *e = (struct fs_dirent *)(buf + off);

			if (e->reclen < sizeof(*e) || e->name[e->name_len] || off + e->reclen > n)
				abort();	/* READDIR's own output must be sane */
			off += e->reclen;
			if (!strcmp(e->name, ".") || !strcmp(e->name, "..") || e->ino > UINT32_MAX)
				continue;
			/* The generation is unknown here: GETATTR a stale handle
			 * and LOOKUP the name for the real one. */
			ga.fh = FS_FH(e->ino, 0);
			run_op(op_getattr, &ga, NULL, NULL, &at, sizeof(at));
			ga.dir = fh;
			ga.flags = FS_LOOKUP_NOFOLLOW;
			if (run_op(op_lookup, &ga, e->name, NULL, &at, sizeof(at)) < 0)
				continue;
			ga.fh = at.fh;
			if (LINUX_S_ISLNK(at.mode))
				run_op(op_readlink, &ga, NULL, NULL, target, sizeof(target));
			else if (LINUX_S_ISDIR(at.mode) && depth > 0)
				walk_dir(at.fh, depth - 1);
		}
		if (n <= 0)
			break;
		a.offset = area.offset;
		if (!a.offset)
			break;
	}
}

/* Some changes, then a commit: allocation, directory growth, the
 * journal writer, over whatever the image holds. */
static void writes(void)
{
	static const char pattern[6000] = "aoki";
	struct fs_args a = { .dir = FS_ROOT_FH, .flags = O_CREAT | O_RDWR, .mode = 0644 };
	struct ext2_inode_large in;
	struct fs_attr at;
	ext2_ino_t ino;

	if (run_op(op_open, &a, "new", NULL, &at, sizeof(at)) == 0 &&
	    check(inode_of_fh(&d, at.fh, &ino, &in), "inode_of_fh") == 0)
		check(data_write_bounce(&d, ino, &in, 100, pattern, sizeof(pattern)), "write");
	a.mode = 0755;
	run_op(op_mkdir, &a, "nd", NULL, &at, sizeof(at));
	run_op(op_symlink, &a, "nd/s", "../new", &at, sizeof(at));
	a.dir2 = FS_ROOT_FH;
	a.flags = 0;
	run_op(op_rename, &a, "new", "nd/new2", NULL, 0);
	run_op(op_unlink, &a, "dir/b", NULL, NULL, 0);
	run_op(op_rmdir, &a, "dir/sub", NULL, NULL, 0);
	run_op(op_link, &(struct fs_args){ .fh = lookup("a", 1), .dir2 = FS_ROOT_FH },
	       NULL, "a2", &at, sizeof(at));
	run_op(op_setattr, &(struct fs_args){ .fh = lookup("big", 1), .set = FS_SET_SIZE,
					     .attr.size = 5000 }, NULL, NULL, &at, sizeof(at));
	check(txn_commit(&d), "commit");
}

static void reads(void)
{
	static const char *const paths[] = {
		"/", "a", "/dir/b", "dir/sub/c", "link", "dir/up", "slow", "loop1", "dir/../a",
		"nope", "a/x", "/.aoki-replies", "dir/sub/../../link/", "dir/hard", "many/f7",
		"fifo", "dir/sub/.", "link/x",
	};
	struct fs_statfs st;
	struct fs_args a = { 0 };

	run_op(op_statfs, &a, NULL, NULL, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		lookup(paths[i], 0);
		lookup(paths[i], 1);
	}
	walk_dir(FS_ROOT_FH, 3);
}

/* ------------------------------------------------------------ images */

static uint8_t *work;		/* the image fsd runs on (memblk.img) */
static struct base *cur;	/* what work holds, but for memblk.written */
static FILE *err;		/* the real stderr (fsd's own is silenced) */

static int mount_fresh(int read_only)
{
	memset(&d, 0, sizeof(d));
	d.cfg = (struct fsd_config){ .volume = "fuzz", .read_only = read_only,
				     .commit_ns = FSD_COMMIT_NS };
	if (blkio_open(&d) < 0)
		abort();
	return check(fsd_mount(&d), "mount");
}

static void unmount(void)
{
	check(fsd_unmount(&d), "unmount");
	blkio_close(&d);
}

static void use_base(struct base *b)
{
	if (b != cur) {
		memcpy(work, b->img, b->size);
		memset(memblk.written, 0, memblk.size / MEMBLK_TRACK);
		memblk.size = b->size;
		memblk.ios = 0;
		cur = b;
	} else {
		memblk_restore(b->img);
	}
	memblk.fail_at = 0;
}

/* mke2fs -d @src into @b (its clean or crashed form). */
static void make_base(struct base *b, const char *dir, uint8_t *clean)
{
	char cmd[1024], img[512];
	FILE *f;
	int r;

	b->size = (size_t)b->mib << 20;
	b->img = malloc(b->size);
	if (!b->img)
		abort();
	if (clean) {
		memcpy(b->img, clean, b->size);
	} else {
		snprintf(img, sizeof(img), "%s/img", dir);
		snprintf(cmd, sizeof(cmd), "rm -f %s && truncate -s %uM %s && "
			 "mke2fs -q -F -E root_owner=0:0 %s -d %s/src %s >/dev/null 2>&1",
			 img, b->mib, img, b->mkfs, dir, img);
		if (system(cmd) != 0 || !(f = fopen(img, "rb")) ||
		    fread(b->img, 1, b->size, f) != b->size) {
			fprintf(err, "fuzz_fsd_mount: mke2fs %s failed\n", b->mkfs);
			abort();
		}
		fclose(f);
	}
	cur = NULL;
	use_base(b);
	if ((r = mount_fresh(0)) < 0) {
		fprintf(err, "fuzz_fsd_mount: fsd cannot mount a fresh image (%s): %s\n", b->mkfs,
			strerror(-r));
		abort();
	}
	if (b->crashed) {
		writes();
		memcpy(b->img, work, b->size);	/* committed, not home */
		unmount();
	} else {
		unmount();
		memcpy(b->img, work, b->size);	/* with the reply record */
	}
	cur = NULL;
	for (size_t u = 0; u < b->size / UNIT; u++) {
		const uint8_t *p = b->img + u * UNIT;

		if (p[0] || memcmp(p, p + 1, UNIT - 1))
			b->nunits++;
	}
	b->units = malloc(b->nunits * sizeof(*b->units));
	if (!b->units)
		abort();
	b->nunits = 0;
	for (size_t u = 0; u < b->size / UNIT; u++) {
		const uint8_t *p = b->img + u * UNIT;

		if (p[0] || memcmp(p, p + 1, UNIT - 1))
			b->units[b->nunits++] = (uint32_t)u;
	}
}

static void quiet_com_err(const char *whoami, errcode_t code, const char *fmt, va_list args)
{
}

static int setup(void)
{
	char dir[] = "/tmp/fuzz-fsd-XXXXXX", cmd[2048];
	size_t max = 0;

	err = stderr;
	if (!getenv("FUZZ_FSD_VERBOSE"))
		stderr = fopen("/dev/null", "w");	/* fsd's mount messages */
	set_com_err_hook(quiet_com_err);
	initialize_ext2_error_table();	/* error_message() in fsd's messages */
	if (system("command -v mke2fs >/dev/null 2>&1") != 0) {
		fprintf(err, "fuzz_fsd_mount: mke2fs not installed: nothing to fuzz\n");
		return -1;
	}
	if (!mkdtemp(dir))
		abort();
	/* Small files, a deep path, fast and slow symlinks, a loop, a hard
	 * link, a FIFO, a multi-block directory. */
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; mkdir -p src/dir/sub src/many; cd src; "
		 "head -c 5000 /dev/zero | tr '\\0' a > a; echo b > dir/b; echo c > dir/sub/c; "
		 "head -c 70000 /dev/zero | tr '\\0' z > big; ln a dir/hard; ln -s a link; "
		 "ln -s ../a dir/up; ln -s loop2 loop1; ln -s loop1 loop2; mkfifo fifo; "
		 "ln -s $(printf 'd/%%.0s' $(seq 60))x slow; "
		 "for i in $(seq 60); do echo $i > many/f$i; done",
		 dir);
	if (system(cmd) != 0)
		abort();
	for (size_t i = 0; i < NBASES; i++)
		max = (size_t)bases[i].mib << 20 > max ? (size_t)bases[i].mib << 20 : max;
	work = malloc(max);
	memblk.written = calloc(max / MEMBLK_TRACK, 1);
	if (!work || !memblk.written)
		abort();
	memblk.img = work;
	memblk.size = max;
	for (size_t i = 0; i < NBASES; i++)
		make_base(&bases[i], dir, i && bases[i].crashed ? bases[i - 1].img : NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
	return 1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct base *b;
	unsigned flags;

	if (!ready)
		ready = setup();
	if (ready < 0 || size < 4)
		return 0;
	b = &bases[data[0] % NBASES];
	flags = data[1];
	use_base(b);
	memblk.fail_at = get16(data + 2);
	for (size_t i = 4; i + 5 <= size;) {
		unsigned where = get16(data + i), off = get16(data + i + 2) % UNIT,
			 len = data[i + 4];
		size_t unit = where < 0x8000 ? b->units[where % b->nunits]
					     : (where & 0x7fff) % (b->size / UNIT);
		size_t at = unit * UNIT + off;

		i += 5;
		if (len > size - i)
			len = (unsigned)(size - i);
		if (len > b->size - at)
			len = (unsigned)(b->size - at);
		memcpy(work + at, data + i, len);
		if (getenv("FUZZ_FSD_VERBOSE"))
			fprintf(err, "fuzz_fsd_mount: base %zu: %u bytes at %zu (block %zu of 1K, "
				"%zu of 4K)\n", (size_t)(b - bases), len, at, at / 1024, at / 4096);
		for (size_t c = at / MEMBLK_TRACK; c * MEMBLK_TRACK < at + len; c++)
			memblk.written[c] = 1;
		i += len;
	}
	if (mount_fresh(flags & 2) == 0) {
		reads();
		if ((flags & 3) == 1)
			writes();
		unmount();
	} else {
		blkio_close(&d);
	}
	return 0;
}
