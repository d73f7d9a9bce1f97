/* SPDX-License-Identifier: MIT */
/*
 * fs-crashprefix: what aoki-fsd has acknowledged as durable survives a
 * power cut at any point, and the image is always a consistent ext4 file
 * system after its journal is replayed.
 *
 * 1. aoki-blkd runs with --record LOG (every completed write, discard and
 *    flush, in completion order); aoki-fsd on it serves a fresh image.
 *    A single-threaded workload on 12 names in two directories creates,
 *    writes (aligned, unaligned, copy-free and copied), appends,
 *    truncates, renames (also over an existing name), unlinks, fsyncs and
 *    syncfs'es, against a model of every name's content.  After each
 *    fsync or syncfs returns it notes a durable point: the records in LOG
 *    at that moment and what is then durable (fsync: that name and its
 *    content; syncfs: every name, present or absent, and its content).
 *    Each operation also notes the records in LOG when it started.
 * 2. For C cut points K (uniform over 0..records): the image at K is the
 *    initial image + every record before the last FLUSH before K, in
 *    order; of the records from that FLUSH up to K, FUA writes are kept,
 *    every other write is kept or dropped per 4 KiB piece, discards and
 *    write-zeroes kept or dropped, at random (a device may lose or tear
 *    unflushed writes; applying the kept pieces in log order gives every
 *    state a reordering device can leave, since of two writes to one
 *    sector only the later can win once both completed).  Then
 *      e2fsck -E journal_only -y    replays the journal (exit >= 4: fail)
 *      e2fsck -fn                   must exit 0 (strict: no repairs at all)
 *      debugfs rdump /a /b          the files, compared with the model:
 *    each name's expected state is that of the latest durable point at or
 *    before K that covers it, unless an operation touching the name
 *    started after that point and before K (then it may be either: not
 *    checked).
 *
 * Environment: AOKI_CRASHPREFIX_CUTS (default 100; `make crashprefix`
 * runs 1000), AOKI_CRASHPREFIX_OPS (300), AOKI_CRASHPREFIX_SEED (from the
 * clock; printed), AOKI_CRASHPREFIX_JOBS (processors).  On a failure the
 * record log and the initial image are kept and their directory printed.
 */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "fs_util.h"
#include "hash.h"
#include "../../servers/blkd/record.h"

#define IMG_MIB 32u
#define NDIRS 2
#define PER_DIR 6
#define NNAMES (NDIRS * PER_DIR)
#define MAXF (96u << 10)	/* largest file the workload makes */
#define PIECE 4096u		/* unit of a torn unflushed write */
#define MAX_MSG 30

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	return util_fnv1a64(p, n);
}

/* ------------------------------------------------------------- model */

struct file {
	int exists;
	size_t size;
	uint8_t *data;		/* MAXF bytes */
};

/* What a durable point says about one name. */
struct fstate {
	int exists;
	size_t size;
	uint64_t hash;
};

struct point {
	uint64_t nrec;		/* records in the log when the sync returned */
	uint64_t op;		/* the operation index of the sync */
	int name;		/* fsync: the name; syncfs: -1 (all) */
	struct fstate st[NNAMES];
};

struct opnote {
	uint64_t nrec;		/* records in the log when it started */
	uint64_t touched;	/* bit per name it may change */
	char what[128];
};

static struct file model[NNAMES];
static struct point *points;
static unsigned npoints;
static struct opnote *ops;
static unsigned nops;
static int logfd = -1;
static uint64_t *rec_end;	/* byte offset after each record */
static uint64_t nrecs;

static void name_of(int n, char *buf, size_t cap)
{
	snprintf(buf, cap, "/%c/f%d", 'a' + n / PER_DIR, n % PER_DIR);
}

static uint64_t log_bytes(void)
{
	struct stat st;

	CHECK_EQ(fstat(logfd, &st), 0);
	return (uint64_t)st.st_size;
}

static struct fstate state_of(int n)
{
	struct file *f = &model[n];

	return (struct fstate){ f->exists, f->exists ? f->size : 0,
				f->exists ? fnv(f->data, f->size) : 0 };
}

/* Notes are in log bytes while the workload runs, records afterwards. */
static void note_point(int name)
{
	struct point *p = &points[npoints++];

	p->nrec = log_bytes();
	p->op = nops;
	p->name = name;
	for (int i = 0; i < NNAMES; i++)
		p->st[i] = state_of(i);
}

static struct opnote *note_op(uint64_t touched, const char *what)
{
	struct opnote *o = &ops[nops++];

	o->nrec = log_bytes();
	o->touched = touched;
	snprintf(o->what, sizeof(o->what), "%s", what);
	return o;
}

/* ---------------------------------------------------------- workload */

static void fill(uint8_t *p, size_t n, uint64_t *rng)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd(rng);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* One random operation on name @n.  @gbuf: a 128 KiB aoki_fs_alloc
 * buffer (copy-free writes); @mbuf: plain memory (copied writes). */
static void one_op(struct aoki_fs *fs, uint64_t *rng, uint8_t *gbuf, uint8_t *mbuf)
{
	int n = (int)(rnd(rng) % NNAMES), m, fd;
	struct file *f = &model[n];
	unsigned kind = (unsigned)(rnd(rng) % 100);
	uint8_t *buf = rnd(rng) & 1 ? gbuf : mbuf;
	char path[16], path2[16], what[128];
	size_t off, len;

	name_of(n, path, sizeof(path));
	if (!f->exists) {
		len = rnd(rng) % 40000;
		if (rnd(rng) % 4 == 0)
			len = (len / 4096 + 1) * 4096;
		snprintf(what, sizeof(what), "create %s %zu", path, len);
		note_op(1ull << n, what);
		fill(buf, len, rng);
		fd = aoki_fs_open(fs, path, O_CREAT | O_EXCL | O_RDWR, 0644);
		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, len, 0), (ssize_t)len);
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
		f->exists = 1;
		f->size = len;
		memcpy(f->data, buf, len);
		return;
	}
	if (kind < 25) {			/* overwrite / extend */
		int aligned = rnd(rng) % 3 == 0;

		off = f->size ? rnd(rng) % (f->size + 1) : 0;
		len = 1 + rnd(rng) % 20000;
		if (aligned) {
			off &= ~(size_t)4095;
			len = (len / 4096 + 1) * 4096;
		}
		if (off + len > MAXF)
			len = MAXF - off;
		if (!len)
			return;
		snprintf(what, sizeof(what), "pwrite %s %zu+%zu", path, off, len);
		note_op(1ull << n, what);
		fill(buf, len, rng);
		fd = aoki_fs_open(fs, path, O_RDWR, 0);
		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_pwrite(fs, fd, buf, len, off), (ssize_t)len);
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
		if (off > f->size)
			memset(f->data + f->size, 0, off - f->size);
		memcpy(f->data + off, buf, len);
		f->size = off + len > f->size ? off + len : f->size;
	} else if (kind < 40) {			/* append */
		len = 1 + rnd(rng) % 12000;
		if (f->size + len > MAXF)
			return;
		snprintf(what, sizeof(what), "append %s %zu", path, len);
		note_op(1ull << n, what);
		fill(buf, len, rng);
		fd = aoki_fs_open(fs, path, O_WRONLY | O_APPEND, 0);
		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_write(fs, fd, buf, len), (ssize_t)len);
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
		memcpy(f->data + f->size, buf, len);
		f->size += len;
	} else if (kind < 50) {			/* truncate */
		len = rnd(rng) % (f->size + 8192 + 1);
		if (len > MAXF)
			len = MAXF;
		snprintf(what, sizeof(what), "truncate %s %zu", path, len);
		note_op(1ull << n, what);
		CHECK_EQ(aoki_fs_truncate(fs, path, (int64_t)len), 0);
		if (len > f->size)
			memset(f->data + f->size, 0, len - f->size);
		f->size = len;
	} else if (kind < 62) {			/* rename, maybe over a file */
		m = (int)(rnd(rng) % NNAMES);
		if (m == n)
			return;
		name_of(m, path2, sizeof(path2));
		snprintf(what, sizeof(what), "rename %s %s", path, path2);
		note_op(1ull << n | 1ull << m, what);
		CHECK_EQ(aoki_fs_rename(fs, path, path2), 0);
		memcpy(model[m].data, f->data, f->size);
		model[m].size = f->size;
		model[m].exists = 1;
		f->exists = 0;
		f->size = 0;
	} else if (kind < 70) {			/* unlink */
		snprintf(what, sizeof(what), "unlink %s", path);
		note_op(1ull << n, what);
		CHECK_EQ(aoki_fs_unlink(fs, path), 0);
		f->exists = 0;
		f->size = 0;
	} else if (kind < 82) {			/* fsync */
		snprintf(what, sizeof(what), "fsync %s", path);
		note_op(0, what);
		fd = aoki_fs_open(fs, path, O_RDONLY, 0);
		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_fsync(fs, fd), 0);
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
		note_point(n);
	} else if (kind < 90) {			/* syncfs */
		note_op(0, "syncfs");
		CHECK_EQ(aoki_fs_syncfs(fs), 0);
		note_point(-1);
	} else {				/* read back */
		uint8_t *back = malloc(MAXF + 1);
		struct stat sb;

		CHECK(back != NULL);
		note_op(0, "read");
		fd = aoki_fs_open(fs, path, O_RDONLY, 0);
		CHECK(fd >= 0);
		CHECK_EQ(aoki_fs_fstat(fs, fd, &sb), 0);
		CHECK_EQ((size_t)sb.st_size, f->size);
		CHECK_EQ(aoki_fs_pread(fs, fd, back, MAXF + 1, 0), (ssize_t)f->size);
		CHECK(!memcmp(back, f->data, f->size));
		CHECK_EQ(aoki_fs_close(fs, fd), 0);
		free(back);
	}
}

/* ------------------------------------------------------------- replay */

struct cutter {
	const uint8_t *log;
	uint64_t loglen;
	uint8_t *flushed;	/* the image with records [0, applied) */
	uint64_t applied;
	uint8_t *img;
	uint64_t img_size;
	const char *dir;
	unsigned worker;
	unsigned failures;
};

static const struct blkd_record *rec_at(const struct cutter *c, uint64_t i)
{
	return (const struct blkd_record *)(c->log + (i ? rec_end[i - 1] : 0));
}

/* Apply record @r to @img; for a WRITE, only the pieces @keep says. */
static void apply(uint8_t *img, uint64_t size, const struct blkd_record *r, uint64_t *rng)
{
	const uint8_t *data = (const uint8_t *)(r + 1);

	if (r->type == BLKD_REC_FLUSH || r->offset + r->length > size)
		return;
	if (r->type != BLKD_REC_WRITE) {	/* discard, write-zeroes */
		if (!rng || rnd(rng) & 1)
			memset(img + r->offset, 0, r->length);
		return;
	}
	for (uint32_t at = 0; at < r->length; at += PIECE) {
		uint32_t n = r->length - at < PIECE ? r->length - at : PIECE;

		if (!rng || (r->flags & BLKD_REC_FUA) || rnd(rng) & 1)
			memcpy(img + r->offset + at, data + at, n);
	}
}

static void fail_cut(struct cutter *c, uint64_t k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_cut(struct cutter *c, uint64_t k, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	c->failures++;
	if (c->failures > MAX_MSG)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL cut %llu/%llu: %s\n", (unsigned long long)k,
		(unsigned long long)nrecs, line);
}

/* Read @path (at most MAXF + 1 bytes) into @buf: its size, or -1. */
static ssize_t slurp(const char *path, uint8_t *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + got, MAXF + 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	return got;
}

/* check_names - compare the files rdump wrote under @out with what the
 * durable points up to cut @k promise. */
static void check_names(struct cutter *c, uint64_t k, const char *out)
{
	uint8_t *buf = malloc(MAXF + 1);

	CHECK(buf != NULL);
	for (int n = 0; n < NNAMES; n++) {
		const struct point *p = NULL;
		char name[16], path[PATH_MAX + 32];
		ssize_t got;

		for (unsigned i = 0; i < npoints && points[i].nrec <= k; i++)
			if (points[i].name < 0 || points[i].name == n)
				p = &points[i];
		if (!p)
			continue;
		/* Touched since, by an operation that had started by K? */
		int loose = 0;

		for (uint64_t o = p->op; o < nops && ops[o].nrec < k && !loose; o++)
			loose = !!(ops[o].touched & (1ull << n));
		if (loose)
			continue;
		name_of(n, name, sizeof(name));
		snprintf(path, sizeof(path), "%s%s", out, name);
		got = slurp(path, buf);
		if (got < 0 && p->st[n].exists)
			fail_cut(c, k, "%s missing, durable since record %llu (%s point)", name,
				 (unsigned long long)p->nrec, p->name < 0 ? "syncfs" : "fsync");
		else if (got >= 0 && !p->st[n].exists)
			fail_cut(c, k, "%s present (%zd bytes), removed durably at record %llu",
				 name, got, (unsigned long long)p->nrec);
		else if (got >= 0 && ((size_t)got != p->st[n].size ||
				      fnv(buf, (size_t)got) != p->st[n].hash))
			fail_cut(c, k, "%s: %zd bytes, not the %zu durable since record %llu%s",
				 name, got, p->st[n].size, (unsigned long long)p->nrec,
				 (size_t)got == p->st[n].size ? " (same size, other content)" : "");
	}
	free(buf);
}

/* One cut point @k: build its image, fsck it, check the names. */
static void one_cut(struct cutter *c, uint64_t k, uint64_t seed)
{
	uint64_t rng = seed ^ (k * 0x9e3779b97f4a7c15ull), last_flush = 0;
	char img[PATH_MAX], out[PATH_MAX + 8];
	int fd, r;

	/* The last FLUSH before K: everything up to it is on the device. */
	for (uint64_t i = k; i > 0; i--)
		if (rec_at(c, i - 1)->type == BLKD_REC_FLUSH) {
			last_flush = i;
			break;
		}
	for (; c->applied < last_flush; c->applied++)
		apply(c->flushed, c->img_size, rec_at(c, c->applied), NULL);
	memcpy(c->img, c->flushed, c->img_size);
	for (uint64_t i = last_flush; i < k; i++)
		apply(c->img, c->img_size, rec_at(c, i), &rng);
	snprintf(img, sizeof(img), "%s/cut%u.img", c->dir, c->worker);
	snprintf(out, sizeof(out), "%s/cut%u.out", c->dir, c->worker);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, c->img, c->img_size, 0), (ssize_t)c->img_size);
	close(fd);
	r = t_sh("e2fsck -E journal_only -y '%s' >/dev/null 2>&1", img);
	if (r < 0 || r >= 4) {
		fail_cut(c, k, "journal replay (e2fsck -E journal_only -y) exited %d", r);
		return;
	}
	r = t_sh("e2fsck -fn '%s' >'%s.fsck' 2>&1", img, img);
	if (r != 0) {
		fail_cut(c, k, "e2fsck -fn after replay exited %d:", r);
		if (c->failures <= MAX_MSG)
			t_sh("grep -v '^Pass\\|^e2fsck\\|^Checking' '%s.fsck' | head -n 8 >&2", img);
		return;
	}
	CHECK_EQ(t_sh("rm -rf '%s' && mkdir '%s'", out, out), 0);
	r = t_sh("debugfs -R 'rdump /a /b %s' '%s' >/dev/null 2>&1", out, img);
	if (r != 0) {
		fail_cut(c, k, "debugfs rdump exited %d", r);
		return;
	}
	/* rdump puts /a at OUT/a: what check_names reads as OUT + "/a/f0". */
	check_names(c, k, out);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t env_num(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

int main(void)
{
	uint64_t seed = env_num("AOKI_CRASHPREFIX_SEED", (uint64_t)time(NULL) ^ (uint64_t)getpid());
	unsigned ncuts = (unsigned)env_num("AOKI_CRASHPREFIX_CUTS", 100);
	unsigned nwork = (unsigned)env_num("AOKI_CRASHPREFIX_OPS", 300);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned jobs = (unsigned)env_num("AOKI_CRASHPREFIX_JOBS", cpus > 0 ? (uint64_t)cpus : 1);
	const char *dir;
	char img[PATH_MAX], base[PATH_MAX + 16], logp[PATH_MAX + 16], vol[PATH_MAX + 16];
	char logarg[PATH_MAX + 16];
	const char *bargs[] = { "--volume", vol, "--record", logarg, NULL };
	struct cutter c = { 0 };
	uint64_t rng = seed, *cuts;
	struct aoki_fs *fs;
	uint8_t *gbuf, *mbuf;
	pid_t blkd, fsd;
	unsigned failures = 0;
	struct stat st;

	if (t_sh("command -v debugfs >/dev/null 2>&1 && command -v e2fsck >/dev/null 2>&1"))
		t_skip("SKIP: e2fsprogs (debugfs, e2fsck) not installed");
	fprintf(stderr, "seed %llu, %u operations, %u cut points, %u jobs\n",
		(unsigned long long)seed, nwork, ncuts, jobs);
	dir = t_run_dir();
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	snprintf(base, sizeof(base), "%s/base.img", dir);
	snprintf(logp, sizeof(logp), "%s/record.log", dir);
	snprintf(vol, sizeof(vol), "disk=%s", img);
	snprintf(logarg, sizeof(logarg), "%s", logp);
	t_fs_mkfs(img, IMG_MIB);
	CHECK_EQ(t_sh("cp '%s' '%s'", img, base), 0);

	/* ---- 1. the workload, recorded */
	blkd = t_blkd_start("blk", bargs);
	fsd = t_fsd_start("fs", "blk", "disk", NULL);
	logfd = open(logp, O_RDONLY | O_CLOEXEC);
	CHECK(logfd >= 0);
	points = calloc(nwork + 2, sizeof(*points));
	ops = calloc(nwork + 2, sizeof(*ops));
	mbuf = malloc(128 << 10);
	CHECK(points && ops && mbuf);
	for (int i = 0; i < NNAMES; i++)
		CHECK((model[i].data = calloc(1, MAXF)) != NULL);
	CHECK_EQ(aoki_fs_mount("fs", NULL, &fs), 0);
	CHECK_EQ(aoki_fs_alloc(fs, 128 << 10, (void **)&gbuf), 0);
	note_op(0, "mkdir /a /b");
	CHECK_EQ(aoki_fs_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(aoki_fs_mkdir(fs, "/b", 0755), 0);
	CHECK_EQ(aoki_fs_syncfs(fs), 0);
	note_point(-1);
	while (nops < nwork + 1)
		one_op(fs, &rng, gbuf, mbuf);
	aoki_fs_unmount(fs);
	t_fsd_stop(fsd);
	t_blkd_stop(blkd);
	CHECK_EQ(t_fs_fsck(img), 0);

	/* ---- 2. the log: record boundaries; notes from bytes to records */
	{
		int fd = open(logp, O_RDONLY | O_CLOEXEC);
		uint64_t at = 0;

		CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0);
		c.loglen = (uint64_t)st.st_size;
		c.log = mmap(NULL, c.loglen, PROT_READ, MAP_PRIVATE, fd, 0);
		CHECK(c.log != MAP_FAILED);
		close(fd);
		rec_end = malloc((c.loglen / sizeof(struct blkd_record) + 1) * sizeof(*rec_end));
		CHECK(rec_end != NULL);
		while (at + sizeof(struct blkd_record) <= c.loglen) {
			const struct blkd_record *r = (const void *)(c.log + at);
			uint64_t next = at + sizeof(*r) + (r->type == BLKD_REC_WRITE ? r->length : 0);

			CHECK_EQ(r->magic, BLKD_RECORD_MAGIC);
			CHECK_EQ(r->seq, nrecs);
			CHECK_EQ(r->volume, 0);
			if (next > c.loglen)
				break;
			rec_end[nrecs++] = at = next;
		}
	}
	for (unsigned i = 0; i < npoints; i++) {
		uint64_t n = 0;

		while (n < nrecs && rec_end[n] <= points[i].nrec)
			n++;
		points[i].nrec = n;
	}
	for (unsigned i = 0; i < nops; i++) {
		uint64_t n = 0;

		while (n < nrecs && rec_end[n] <= ops[i].nrec)
			n++;
		ops[i].nrec = n;
	}
	fprintf(stderr, "%llu records (%.1f MiB), %u durable points, %u operations\n",
		(unsigned long long)nrecs, c.loglen / 1048576.0, npoints, nops);

	/* ---- 3. the cut points, split among @jobs processes */
	cuts = malloc(ncuts * sizeof(*cuts));
	CHECK(cuts != NULL);
	for (unsigned i = 0; i < ncuts; i++)
		cuts[i] = rnd(&rng) % (nrecs + 1);
	qsort(cuts, ncuts, sizeof(*cuts), cmp_u64);
	c.img_size = (uint64_t)IMG_MIB << 20;
	c.dir = dir;
	for (unsigned w = 0; w < jobs; w++) {
		pid_t pid = fork();
		int fd;

		CHECK(pid >= 0);
		if (pid > 0)
			continue;
		c.worker = w;
		c.flushed = malloc(c.img_size);
		c.img = malloc(c.img_size);
		fd = open(base, O_RDONLY | O_CLOEXEC);
		if (!c.flushed || !c.img || fd < 0 ||
		    pread(fd, c.flushed, c.img_size, 0) != (ssize_t)c.img_size)
			_exit(255);
		close(fd);
		for (unsigned i = w; i < ncuts; i += jobs)
			one_cut(&c, cuts[i], seed);
		_exit(c.failures > 250 ? 250 : (int)c.failures);
	}
	for (unsigned w = 0; w < jobs; w++) {
		int status;

		CHECK(wait(&status) > 0);
		failures += WIFEXITED(status) ? (unsigned)WEXITSTATUS(status) : 1000;
	}
	if (failures) {
		char keep[PATH_MAX];
		const char *tmp = getenv("TMPDIR");

		snprintf(keep, sizeof(keep), "%s/aoki-crashprefix.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(keep) && t_sh("cp '%s' '%s' '%s/'", base, logp, keep) == 0)
			fprintf(stderr, "kept the initial image and the record log in %s "
				"(seed %llu)\n", keep, (unsigned long long)seed);
		fprintf(stderr, "%u of %u cut points failed\n", failures, ncuts);
		return T_EXIT_FAIL;
	}
	printf("note: %u cut points of %llu records clean (%u durable points, seed %llu)\n",
	       ncuts, (unsigned long long)nrecs, npoints, (unsigned long long)seed);
	free(cuts);
	free(mbuf);
	return 0;
}
