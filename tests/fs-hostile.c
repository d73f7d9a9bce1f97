/* SPDX-License-Identifier: MIT */
/*
 * fs-hostile: aoki-fsd against clients that break the protocol, through
 * the raw IPC API (lib/fs/proto.h): wrong payload sizes, unknown
 * opcodes and grants, grants without the rights an op needs, areas and
 * output windows that do not fit, names with a NUL inside, handles with
 * a wrong generation or of reserved inodes, fsd's hidden reply file, and
 * a client that scribbles over its argument area while its requests run.
 * Each case gets its documented error, and after each a well-behaved
 * client is still served.  Then fsd on damaged images (a garbage
 * superblock, zeroed group descriptors, a root inode that is not a
 * directory) exits 1 or 2 with a message, or (a directory block of
 * garbage) serves and answers -EUCLEAN: never a signal.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fs_util.h"
#include "../lib/fs/proto.h"

#define AREA 65536

static struct aoki_chan *ch;
static uint32_t g_rw, g_ro, g_wo;	/* read-write, read-only, write-only grants */
static uint8_t *m_rw;
static struct aoki_fs *good;	/* the well-behaved client */

/* Lay out args + names at the start of the read-write grant, output
 * right after the names. */
static size_t layout(const struct fs_args *a, const char *name, const char *name2,
		     uint32_t out_len)
{
	struct fs_args *x = (struct fs_args *)m_rw;
	size_t n1 = name ? strlen(name) : 0, n2 = name2 ? strlen(name2) : 0;
	size_t off = (sizeof(*x) + n1 + n2 + 7) & ~(size_t)7;

	*x = *a;
	x->name_len = (uint16_t)n1;
	x->name2_len = (uint16_t)n2;
	x->out_offset = (uint32_t)off;
	x->out_len = out_len;
	memcpy(m_rw + sizeof(*x), name ? name : "", n1);
	memcpy(m_rw + sizeof(*x) + n1, name2 ? name2 : "", n2);
	return off + out_len;
}

static int call_meta(uint16_t op, uint32_t grant, uint32_t length, uint64_t goff)
{
	struct fs_meta_req m = { .grant = grant, .length = length, .grant_offset = goff };
	struct fs_handle_rep rep;

	return aoki_call(ch, op, &m, sizeof(m), &rep, sizeof(rep), NULL);
}

/* A well-formed meta op from the hostile channel. */
static int meta(uint16_t op, const struct fs_args *a, const char *name, const char *name2,
		uint32_t out_len)
{
	return call_meta(op, g_rw, (uint32_t)layout(a, name, name2, out_len), 0);
}

static struct fs_attr *out_attr(void)
{
	return (struct fs_attr *)(m_rw + ((struct fs_args *)m_rw)->out_offset);
}

/* The fh of @path (LOOKUP from the root, no follow), or 0. */
static uint64_t fh_of_path(const char *path)
{
	struct fs_args a = { .dir = FS_ROOT_FH, .flags = FS_LOOKUP_NOFOLLOW };

	return meta(FS_OP_LOOKUP, &a, path, NULL, sizeof(struct fs_attr)) == 0 ? out_attr()->fh
									      : 0;
}

static int io(uint16_t op, uint32_t grant, uint64_t goff, uint32_t len, uint64_t fh,
	      uint64_t off)
{
	struct fs_io_req r = { .grant = grant, .length = len, .grant_offset = goff, .fh = fh,
			       .offset = off };
	int64_t at;

	return aoki_call(ch, op, &r, sizeof(r), &at, sizeof(at), NULL);
}

/* fsd still serves a well-behaved client correctly. */
static void still_serves(int line)
{
	static unsigned n;
	char path[64], buf[64], back[64];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "/ok-%u", n++);
	snprintf(buf, sizeof(buf), "still serving after line %d", line);
	fd = aoki_fs_open(good, path, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd < 0)
		fprintf(stderr, "after line %d: open %d\n", line, fd);
	CHECK(fd >= 0);
	CHECK_EQ(aoki_fs_pwrite(good, fd, buf, sizeof(buf), 10), (ssize_t)sizeof(buf));
	CHECK_EQ(aoki_fs_pread(good, fd, back, sizeof(back), 10), (ssize_t)sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(buf)));
	CHECK_EQ(aoki_fs_close(good, fd), 0);
	CHECK_EQ(aoki_fs_stat(good, path, &sb), 0);
	CHECK_EQ(aoki_fs_unlink(good, path), 0);
}
#define STILL_SERVES() still_serves(__LINE__)

static void malformed_requests(void)
{
	struct fs_meta_req m = { .grant = g_rw, .length = sizeof(struct fs_args) };
	struct fs_args a = { .dir = FS_ROOT_FH };
	uint8_t junk[AOKI_MSG_PAYLOAD] = { 0 };
	uint32_t len;

	/* Payload sizes: short, empty, one byte off. */
	CHECK_EQ(aoki_call(ch, FS_OP_GETATTR, &m, sizeof(m) - 1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, FS_OP_STATFS, NULL, 0, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(aoki_call(ch, FS_OP_READ, junk, sizeof(struct fs_io_req) - 8, NULL, 0, NULL),
		 -EINVAL);
	CHECK_EQ(aoki_call(ch, FS_OP_WRITE, junk, 0, NULL, 0, NULL), -EINVAL);
	STILL_SERVES();
	/* Unknown opcodes, at and around the ranges' edges. */
	CHECK_EQ(aoki_call(ch, FS_OP_STATFS - 1, &m, sizeof(m), NULL, 0, NULL), -EOPNOTSUPP);
	CHECK_EQ(aoki_call(ch, FS_OP_META_LAST + 1, &m, sizeof(m), NULL, 0, NULL), -EOPNOTSUPP);
	CHECK_EQ(aoki_call(ch, FS_OP_END, junk, sizeof(junk), NULL, 0, NULL), -EOPNOTSUPP);
	CHECK_EQ(aoki_call(ch, 0, NULL, 0, NULL, 0, NULL), -EOPNOTSUPP);
	CHECK_EQ(aoki_call(ch, 0x7fff, NULL, 0, NULL, 0, NULL), -EOPNOTSUPP);
	STILL_SERVES();
	/* reserved must be 0; the area must hold the args. */
	m.reserved = 1;
	CHECK_EQ(aoki_call(ch, FS_OP_STATFS, &m, sizeof(m), NULL, 0, NULL), -EINVAL);
	layout(&a, NULL, NULL, 0);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, sizeof(struct fs_args) - 1, 0), -EINVAL);
	/* Grants: none such, read-only or write-only for an area fsd must
	 * read and write, beyond the grant. */
	len = (uint32_t)layout(&a, NULL, NULL, sizeof(struct fs_statfs));
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, 0), 0);
	CHECK_EQ(call_meta(FS_OP_STATFS, 999, len, 0), -ENOENT);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_ro, len, 0), -EACCES);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_wo, len, 0), -EACCES);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, AREA - len + 1), -EFAULT);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, AREA + 1, 0), -EFAULT);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, UINT64_MAX - 8), -EFAULT);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, UINT32_MAX, 0), -EFAULT);
	STILL_SERVES();
	/* Output window: past the area, wrapping, too small. */
	len = (uint32_t)layout(&a, NULL, NULL, sizeof(struct fs_statfs));
	((struct fs_args *)m_rw)->out_offset = len;
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, 0), -EINVAL);
	((struct fs_args *)m_rw)->out_offset = UINT32_MAX;
	((struct fs_args *)m_rw)->out_len = 2;
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, 0), -EINVAL);
	len = (uint32_t)layout(&a, NULL, NULL, sizeof(struct fs_statfs) - 1);
	CHECK_EQ(call_meta(FS_OP_STATFS, g_rw, len, 0), -ERANGE);
	/* Names: longer than the area, than a path, with a NUL inside. */
	len = (uint32_t)layout(&a, "abc", NULL, 0);
	((struct fs_args *)m_rw)->name_len = 4000;
	CHECK_EQ(call_meta(FS_OP_LOOKUP, g_rw, len, 0), -EINVAL);
	((struct fs_args *)m_rw)->name_len = FS_PATH_MAX;
	CHECK_EQ(call_meta(FS_OP_LOOKUP, g_rw, AREA, 0), -ENAMETOOLONG);
	((struct fs_args *)m_rw)->name_len = UINT16_MAX;
	((struct fs_args *)m_rw)->name2_len = UINT16_MAX;
	CHECK_EQ(call_meta(FS_OP_LOOKUP, g_rw, AREA, 0), -ENAMETOOLONG);
	len = (uint32_t)layout(&a, "ab", NULL, 0);
	m_rw[sizeof(struct fs_args) + 1] = 0;
	CHECK_EQ(call_meta(FS_OP_OPEN, g_rw, len, 0), -EINVAL);
	len = (uint32_t)layout(&(struct fs_args){ .dir = FS_ROOT_FH, .dir2 = FS_ROOT_FH }, "ok-a",
			       "b", 0);
	m_rw[sizeof(struct fs_args) + 4] = 0;	/* name2 "\0" */
	CHECK_EQ(call_meta(FS_OP_RENAME, g_rw, len, 0), -EINVAL);
	CHECK_EQ(meta(FS_OP_LOOKUP, &a, "", NULL, 0), -ENOENT);
	STILL_SERVES();
}

static void bad_handles(void)
{
	struct fs_args a = { .dir = FS_ROOT_FH, .flags = O_CREAT | O_RDWR, .mode = 0644 };
	uint64_t fh;

	CHECK_EQ(meta(FS_OP_OPEN, &a, "file", NULL, sizeof(struct fs_attr)), 0);
	fh = out_attr()->fh;
	CHECK(FS_FH_INO(fh) > 11);
	CHECK_EQ(io(FS_OP_WRITE, g_rw, 0, 4096, fh, 0), 4096);
	/* Wrong generation, reserved inodes, inode 0, past the table. */
	a = (struct fs_args){ .fh = FS_FH(FS_FH_INO(fh), FS_FH_GEN(fh) + 1) };
	CHECK_EQ(meta(FS_OP_GETATTR, &a, NULL, NULL, sizeof(struct fs_attr)), -ESTALE);
	CHECK_EQ(io(FS_OP_READ, g_rw, 0, 4096, a.fh, 0), -ESTALE);
	CHECK_EQ(io(FS_OP_WRITE, g_rw, 0, 4096, a.fh, 0), -ESTALE);
	for (uint32_t ino = 0; ino < 11; ino++) {
		if (ino == 2)
			continue;
		for (uint32_t gen = 0; gen < 2; gen++) {
			a = (struct fs_args){ .fh = FS_FH(ino, gen), .dir = FS_FH(ino, gen) };
			CHECK_EQ(meta(FS_OP_GETATTR, &a, NULL, NULL, sizeof(struct fs_attr)),
				 -ESTALE);
			CHECK_EQ(meta(FS_OP_READDIR, &a, NULL, NULL, 4096), -ESTALE);
			CHECK_EQ(meta(FS_OP_LOOKUP, &a, "x", NULL, sizeof(struct fs_attr)),
				 -ESTALE);
			CHECK_EQ(io(FS_OP_READ, g_rw, 0, 4096, a.fh, 0), -ESTALE);
			CHECK_EQ(io(FS_OP_WRITE, g_rw, 0, 512, a.fh, 0), -ESTALE);
		}
	}
	a = (struct fs_args){ .fh = FS_FH(UINT32_MAX, 0) };
	CHECK_EQ(meta(FS_OP_GETATTR, &a, NULL, NULL, sizeof(struct fs_attr)), -ESTALE);
	STILL_SERVES();
	/* Data I/O: grants without the rights (READ puts data into the
	 * grant: it needs write access; WRITE needs read access), out of
	 * range, past the grant, past the largest I/O. */
	CHECK_EQ(io(FS_OP_READ, g_ro, 0, 4096, fh, 0), -EACCES);
	CHECK_EQ(io(FS_OP_WRITE, g_wo, 0, 4096, fh, 0), -EACCES);
	CHECK_EQ(io(FS_OP_READ, 999, 0, 4096, fh, 0), -ENOENT);
	CHECK_EQ(io(FS_OP_READ, g_rw, AREA - 100, 4096, fh, 0), -EFAULT);
	CHECK_EQ(io(FS_OP_READ, g_rw, UINT64_MAX - 100, 4096, fh, 0), -EFAULT);
	CHECK_EQ(io(FS_OP_WRITE, g_rw, UINT64_MAX, 2, fh, 0), -EFAULT);
	CHECK_EQ(io(FS_OP_READ, g_rw, 0, FS_MAX_IO + 1, fh, 0), -EINVAL);
	CHECK_EQ(io(FS_OP_READ, g_rw, 0, 4096, fh, UINT64_MAX - 10), 0);
	CHECK_EQ(io(FS_OP_WRITE, g_rw, 0, 4096, fh, UINT64_MAX - 10), -EFBIG);
	CHECK_EQ(io(FS_OP_WRITE, g_rw, 0, 4096, fh, (uint64_t)1 << 62), -EFBIG);
	CHECK_EQ(io(FS_OP_READ, g_rw, 0, 4096, FS_ROOT_FH, 0), -EISDIR);
	STILL_SERVES();
}

/* fsd's reply record is no client's business. */
static void hidden_file(void)
{
	struct fs_args a = { .dir = FS_ROOT_FH, .dir2 = FS_ROOT_FH, .flags = O_RDONLY };
	uint8_t *p, *end;
	int n;

	CHECK_EQ(meta(FS_OP_LOOKUP, &a, "/.aoki-replies", NULL, sizeof(struct fs_attr)),
		 -ENOENT);
	CHECK_EQ(meta(FS_OP_LOOKUP, &a, "/./.aoki-replies", NULL, sizeof(struct fs_attr)),
		 -ENOENT);
	CHECK_EQ(meta(FS_OP_LOOKUP, &a, "/../.aoki-replies", NULL, sizeof(struct fs_attr)),
		 -ENOENT);
	CHECK_EQ(meta(FS_OP_OPEN, &a, "/.aoki-replies", NULL, sizeof(struct fs_attr)), -ENOENT);
	a.flags = O_CREAT | O_RDWR | O_TRUNC;
	CHECK_EQ(meta(FS_OP_OPEN, &a, ".aoki-replies", NULL, sizeof(struct fs_attr)), -EPERM);
	CHECK_EQ(meta(FS_OP_UNLINK, &a, ".aoki-replies", NULL, 0), -EPERM);
	CHECK_EQ(meta(FS_OP_MKDIR, &a, ".aoki-replies", NULL, sizeof(struct fs_attr)), -EPERM);
	a.flags = 0;
	CHECK_EQ(meta(FS_OP_RENAME, &a, ".aoki-replies", "stolen", 0), -EPERM);
	CHECK_EQ(meta(FS_OP_RENAME, &a, "file", ".aoki-replies", 0), -EPERM);
	CHECK_EQ(meta(FS_OP_SYMLINK, &a, ".aoki-replies", "x", sizeof(struct fs_attr)), -EPERM);
	a.fh = fh_of_path("file");
	CHECK(a.fh != 0);
	CHECK_EQ(meta(FS_OP_LINK, &a, NULL, ".aoki-replies", sizeof(struct fs_attr)), -EPERM);
	/* A symlink to it does not lead there either. */
	CHECK_EQ(meta(FS_OP_SYMLINK, &a, "sneaky", "/.aoki-replies", sizeof(struct fs_attr)), 0);
	a.flags = O_RDONLY;
	CHECK_EQ(meta(FS_OP_OPEN, &a, "sneaky", NULL, sizeof(struct fs_attr)), -ENOENT);
	CHECK_EQ(meta(FS_OP_UNLINK, &a, "sneaky", NULL, 0), 0);
	/* Not listed; every inode not listed is stale by handle. */
	a = (struct fs_args){ .fh = FS_ROOT_FH };
	n = meta(FS_OP_READDIR, &a, NULL, NULL, 8192);
	CHECK(n > 0);
	p = m_rw + ((struct fs_args *)m_rw)->out_offset;
	end = p + n;
	for (uint8_t *q = p; q < end; q += ((struct fs_dirent *)q)->reclen)
		CHECK(strcmp(((struct fs_dirent *)q)->name, ".aoki-replies") != 0);
	for (uint32_t ino = 11; ino < 32; ino++) {
		int listed = 0;

		for (uint8_t *q = p; q < end; q += ((struct fs_dirent *)q)->reclen)
			listed |= ((struct fs_dirent *)q)->ino == ino;
		a = (struct fs_args){ .fh = FS_FH(ino, 0) };
		if (!listed)
			for (uint32_t gen = 0; gen < 4; gen++) {
				a.fh = FS_FH(ino, gen);
				CHECK_EQ(meta(FS_OP_GETATTR, &a, NULL, NULL,
					      sizeof(struct fs_attr)), -ESTALE);
			}
	}
	STILL_SERVES();
}

/* A client that rewrites its argument area while fsd reads it. */
static atomic_int scribbling;

static void *scribbler(void *arg)
{
	volatile uint8_t *p = m_rw;
	uint64_t x = 88172645463325252ull;

	while (atomic_load(&scribbling)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* The args (name lengths, output window), the names, and
		 * sometimes everything as 0xff. */
		p[x % (sizeof(struct fs_args) + 64)] = (uint8_t)(x >> 32);
		if (x % 1024 == 0)
			memset((void *)p, 0xff, sizeof(struct fs_args));
	}
	return NULL;
}

static void scribbled(void)
{
	static const uint16_t ops[] = { FS_OP_LOOKUP, FS_OP_GETATTR, FS_OP_OPEN,
					FS_OP_READDIR, FS_OP_READLINK, FS_OP_STATFS,
					FS_OP_MKDIR, FS_OP_UNLINK, FS_OP_RENAME };
	/* Looked up before the scribbling starts: the reply area is the
	 * scribbled one, so its out_offset cannot be trusted meanwhile. */
	uint64_t file_fh = fh_of_path("file");
	pthread_t t;
	unsigned ok = 0;

	atomic_store(&scribbling, 1);
	CHECK_EQ(pthread_create(&t, NULL, scribbler, NULL), 0);
	for (unsigned i = 0; i < 4000; i++) {
		struct fs_args a = { .dir = FS_ROOT_FH, .dir2 = FS_ROOT_FH,
				     .fh = i % 2 ? FS_ROOT_FH : file_fh,
				     /* (no SETATTR: a scribbled handle may name the
				      * root, whose mode the good client needs) */
				     .flags = O_RDONLY, .mode = 0755 };
		int r;

		layout(&a, i % 3 ? "file" : "dir-x", "renamed", 512);
		r = call_meta(ops[i % (sizeof(ops) / sizeof(ops[0]))], g_rw, AREA, 0);
		ok += r >= 0;
		/* Whatever the area held: a status, never a dead server. */
		CHECK(r != -ECONNRESET && r != -ETIMEDOUT && r != -EPROTO);
	}
	atomic_store(&scribbling, 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	printf("note: %u of 4000 scribbled requests succeeded\n", ok);
	STILL_SERVES();
}

/* ---------------------------------------------------- damaged images */

/* Run fsd on volume @vol of the blkd on "blk"; give it 10 s.  Returns
 * its exit status (1 or 2), or 0 if it came up and served (stat of
 * @probe gives @want; then stopped with SIGTERM); a signal fails the
 * test. */
static int fsd_on(const char *vol, const char *what, const char *probe, int want)
{
	const char *argv[] = { t_fsd_path(), "--port", "fs2", "--blk-port", "blk", "--volume",
			       vol, "--quiet", NULL };
	pid_t pid = t_spawn(argv);
	int64_t deadline = t_now_ns() + 10000000000ll;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		struct aoki_fs *fs;

		if (w == pid)
			break;
		CHECK_EQ(w, 0);
		if (aoki_fs_mount("fs2", NULL, &fs) == 0) {
			struct stat sb;
			int r = aoki_fs_stat(fs, probe, &sb);

			printf("note: %s: fsd serves: stat %s %d\n", what, probe, r);
			CHECK_EQ(r, want);
			aoki_fs_unmount(fs);
			kill(pid, SIGTERM);
			CHECK_EQ(waitpid(pid, &st, 0), pid);
			t_child_track(0, pid);
			CHECK(WIFEXITED(st));
			return 0;
		}
		if (t_now_ns() > deadline) {
			fprintf(stderr, "%s: fsd neither serves nor exits\n", what);
			kill(pid, SIGKILL);
			CHECK(0);
		}
		usleep(20000);
	}
	t_child_track(0, pid);
	if (!WIFEXITED(st))
		fprintf(stderr, "%s: fsd died of signal %d\n", what, WTERMSIG(st));
	CHECK(WIFEXITED(st));
	printf("note: %s: fsd exits %d\n", what, WEXITSTATUS(st));
	CHECK(WEXITSTATUS(st) == 1 || WEXITSTATUS(st) == 2);
	return WEXITSTATUS(st);
}

static void damaged_images(void)
{
	const char *dir = t_run_dir();
	char img[5][512], v[5][600];
	const char *bargs[] = { "--volume", v[0], "--volume", v[1], "--volume", v[2],
				"--volume", v[3], "--volume", v[4], NULL };
	pid_t blkd;

	for (int i = 0; i < 5; i++) {
		snprintf(img[i], sizeof(img[i]), "%.400s/bad%d.img", dir, i);
		snprintf(v[i], sizeof(v[i]), "bad%d=%.512s", i, img[i]);
		t_fs_mkfs(img[i], 16);
	}
	/* Garbage over the superblock (magic kept, so it reaches libext2fs). */
	CHECK_EQ(t_sh("dd if=/dev/urandom of='%s' bs=1024 seek=1 count=1 conv=notrunc "
		      "status=none && printf '\\123\\357' | dd of='%s' bs=1 seek=1080 "
		      "conv=notrunc status=none", img[0], img[0]), 0);
	/* Zeroed group descriptors (block 1 of a 4 KiB-block image). */
	CHECK_EQ(t_sh("dd if=/dev/zero of='%s' bs=4096 seek=1 count=1 conv=notrunc status=none",
		      img[1]), 0);
	/* The root inode made a regular file with garbage block pointers. */
	CHECK_EQ(t_sh("debugfs -w -R 'sif <2> mode 0100644' '%s' >/dev/null 2>&1 && "
		      "debugfs -w -R 'sif <2> block[2] 0xfffffff0' '%s' >/dev/null 2>&1",
		      img[2], img[2]), 0);
	/* A directory block of garbage: fsd serves, and says -EUCLEAN for
	 * what is inside. */
	CHECK_EQ(t_sh("debugfs -w -R 'mkdir d' '%s' >/dev/null 2>&1 && "
		      "b=$(debugfs -R 'bmap d 0' '%s' 2>/dev/null) && [ \"$b\" -gt 0 ] && "
		      "dd if=/dev/urandom of='%s' bs=4096 seek=$b count=1 conv=notrunc status=none",
		      img[3], img[3], img[3]), 0);
	/* A feature fsd cannot keep consistent: refused as a configuration
	 * error (exit 2), before anything is written.  (Control: the same
	 * image without it serves, bad3 above and every other test.) */
	CHECK_EQ(t_sh("rm -f '%s' && truncate -s 16M '%s' && mke2fs -q -t ext4 -b 4096 "
		      "-O inline_data -F '%s'", img[4], img[4], img[4]), 0);
	blkd = t_blkd_start("blk", bargs);
	CHECK(fsd_on("bad0", "garbage superblock", "/", 0) != 0);
	CHECK(fsd_on("bad1", "zeroed group descriptors", "/", 0) != 0);
	fsd_on("bad2", "root inode not a directory", "/x", -ENOTDIR);
	CHECK_EQ(fsd_on("bad3", "a directory block of garbage", "/d/x", -EUCLEAN), 0);
	CHECK_EQ(fsd_on("bad4", "inline_data", "/", 0), 2);
	t_blkd_stop(blkd);
}

int main(void)
{
	struct t_fs_stack s;
	void *mem;

	t_fs_stack_start(&s, 32);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &good), 0);
	CHECK_EQ(aoki_connect("fs", NULL, &ch), 0);
	CHECK_EQ(aoki_grant_create(ch, AREA, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &g_rw, &mem), 0);
	m_rw = mem;
	CHECK_EQ(aoki_grant_create(ch, AREA, AOKI_GRANT_READ, &g_ro, &mem), 0);
	CHECK_EQ(aoki_grant_create(ch, AREA, AOKI_GRANT_WRITE, &g_wo, &mem), 0);
	STILL_SERVES();
	malformed_requests();
	bad_handles();
	hidden_file();
	scribbled();
	aoki_close(ch);
	aoki_fs_unmount(good);
	t_fs_stack_stop(&s);
	CHECK_EQ(t_fs_fsck(s.img), 0);
	damaged_images();
	return 0;
}
