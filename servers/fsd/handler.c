/* SPDX-License-Identifier: MIT */
/*
 * handler.c - a request, from its 32 bytes to an operation.  Everything
 * a client sends is checked here before use: the message size, the grant
 * (present, with the rights the op needs, holding the whole area), the
 * argument area (a private copy is taken before anything is validated:
 * the client may change its memory at any time), name lengths, and the
 * output window.  Ops that must not run twice answer a rerun from the
 * reply record (replies.c).  One worker thread runs every request: it
 * owns the ext2_filsys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aoki/host.h"
#include "fsd.h"

enum { ONCE = 1, WRITES = 2 };

static const struct meta_op {
	int (*fn)(struct fsd_op *o);
	unsigned flags;
} meta_ops[FS_OP_META_LAST - FS_OP_STATFS + 1] = {
	[FS_OP_STATFS - FS_OP_STATFS] = { op_statfs, 0 },
	[FS_OP_LOOKUP - FS_OP_STATFS] = { op_lookup, 0 },
	[FS_OP_GETATTR - FS_OP_STATFS] = { op_getattr, 0 },
	[FS_OP_OPEN - FS_OP_STATFS] = { op_open, 0 },	/* ONCE/WRITES by flags */
	[FS_OP_SETATTR - FS_OP_STATFS] = { op_setattr, WRITES },
	[FS_OP_MKDIR - FS_OP_STATFS] = { op_mkdir, ONCE | WRITES },
	[FS_OP_RMDIR - FS_OP_STATFS] = { op_rmdir, ONCE | WRITES },
	[FS_OP_UNLINK - FS_OP_STATFS] = { op_unlink, ONCE | WRITES },
	[FS_OP_RENAME - FS_OP_STATFS] = { op_rename, ONCE | WRITES },
	[FS_OP_LINK - FS_OP_STATFS] = { op_link, ONCE | WRITES },
	[FS_OP_SYMLINK - FS_OP_STATFS] = { op_symlink, ONCE | WRITES },
	[FS_OP_READLINK - FS_OP_STATFS] = { op_readlink, 0 },
	[FS_OP_READDIR - FS_OP_STATFS] = { op_readdir, 0 },
	[FS_OP_FSYNC - FS_OP_STATFS] = { op_fsync, 0 },
	[FS_OP_FALLOCATE - FS_OP_STATFS] = { op_fallocate, WRITES },
	[FS_OP_SYNCFS - FS_OP_STATFS] = { op_syncfs, 0 },
	[FS_OP_STATS - FS_OP_STATFS] = { op_stats, 0 },
	[FS_OP_ACCESS - FS_OP_STATFS] = { op_access, 0 },
};

static int decode_meta(struct fsd_op *o, const void *data, size_t len)
{
	/* The names of the op being served (one worker: one at a time). */
	char *name_buf = o->d->name_buf, *name2_buf = o->d->name2_buf;
	struct fs_meta_req m;
	struct aoki_grant_ref ref;
	uint8_t *area;
	void *ptr;
	uint64_t names_end;
	int r;

	if (len != sizeof(m))
		return -EINVAL;
	memcpy(&m, data, sizeof(m));
	if (m.reserved || m.length < sizeof(struct fs_args))
		return -EINVAL;
	ref = (struct aoki_grant_ref){ m.grant, m.length, m.grant_offset };
	r = aoki_req_grant(o->req, &ref, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &ptr);
	if (r < 0)
		return r;
	area = ptr;
	memcpy(&o->a, area, sizeof(o->a));	/* private copy, then check */
	names_end = sizeof(o->a) + (uint64_t)o->a.name_len + o->a.name2_len;
	if (o->a.name_len >= FS_PATH_MAX || o->a.name2_len >= FS_PATH_MAX || names_end > m.length)
		return o->a.name_len >= FS_PATH_MAX || o->a.name2_len >= FS_PATH_MAX ? -ENAMETOOLONG
										  : -EINVAL;
	if ((uint64_t)o->a.out_offset + o->a.out_len > m.length)
		return -EINVAL;
	memcpy(name_buf, area + sizeof(o->a), o->a.name_len);
	name_buf[o->a.name_len] = 0;
	memcpy(name2_buf, area + sizeof(o->a) + o->a.name_len, o->a.name2_len);
	name2_buf[o->a.name2_len] = 0;
	if (strlen(name_buf) != o->a.name_len || strlen(name2_buf) != o->a.name2_len)
		return -EINVAL;	/* a NUL inside a name */
	o->name = name_buf;
	o->name2 = name2_buf;
	o->area = area;
	o->out = area + o->a.out_offset;
	o->out_len = o->a.out_len;
	return 0;
}

/*
 * Whom the op acts for: the peer (SO_PEERCRED), or, with FS_CRED_AS, the
 * ids in the args, which only a root peer may name (a bridge such as
 * aoki-fuse passing its callers' ids); anyone else gets -EPERM, so an
 * unprivileged client cannot borrow another user's rights.
 */
static int decode_cred(struct fsd_op *o)
{
	const struct aoki_peer *peer = aoki_req_peer(o->req);

	o->cred = (struct fsd_cred){ peer->uid, peer->gid };
	if ((o->a.cred_flags & ~FS_CRED_AS) || o->a.reserved)
		return -EINVAL;
	if (!(o->a.cred_flags & FS_CRED_AS))
		return 0;
	if (peer->uid != 0)
		return -EPERM;
	o->cred = (struct fsd_cred){ o->a.uid, o->a.gid };
	return 0;
}

static int check_dir(struct fsd *d, uint64_t dirfh, const char *name, size_t len)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;

	if (!len || name[0] == '/')
		return 0;
	return inode_of_fh(d, dirfh, &ino, &in);
}

/* A rerun of an op already done: its recorded reply.  1 if answered. */
static int answer_rerun(struct fsd_op *o, int32_t *status)
{
	size_t len = 0;

	if (!aoki_req_rerun(o->req) || !replies_find(o->d, o->req, status, &o->hrep, &len))
		return 0;
	o->d->st.dedup_hits++;
	o->has_hrep = len == sizeof(o->hrep);
	if (o->has_hrep && o->out_len >= sizeof(struct fs_attr)) {
		/* The attributes as they are now (the op's own output area
		 * may not hold what the first run wrote). */
		struct ext2_inode_large in;
		ext2_ino_t ino;
		struct fs_attr a;

		if (inode_of_fh(o->d, o->hrep.fh, &ino, &in) == 0) {
			attr_fill(o->d, ino, &in, &a);
			memcpy(o->out, &a, sizeof(a));
		}
	}
	return 1;
}

static int handle_meta(struct fsd *d, struct aoki_req *req, uint16_t op, const void *data,
		       size_t len)
{
	struct fsd_op o = { .d = d, .req = req };
	const struct meta_op *m = &meta_ops[op - FS_OP_STATFS];
	unsigned flags = m->flags;
	int32_t status;
	int r;

	r = decode_meta(&o, data, len);
	if (r == 0)
		r = decode_cred(&o);
	if (r < 0)
		return r;
	/* A relative name starts at a directory handle: it must name a live
	 * inode of that generation (a guessed inode number gets -ESTALE; it
	 * would skip the search permission on the directory's ancestors). */
	r = check_dir(d, o.a.dir, o.name, o.a.name_len);
	if (r == 0 && (op == FS_OP_RENAME || op == FS_OP_LINK))
		r = check_dir(d, o.a.dir2, o.name2, o.a.name2_len);
	if (r < 0)
		return r;
	if (op == FS_OP_OPEN && (o.a.flags & (O_CREAT | O_TRUNC)))
		flags |= ONCE | WRITES;
	if ((flags & WRITES) && (d->cfg.read_only || d->io_error))
		return -EROFS;
	if ((flags & ONCE) && answer_rerun(&o, &status))
		return aoki_req_reply(req, status, o.has_hrep ? &o.hrep : NULL,
				      o.has_hrep ? sizeof(o.hrep) : 0) ?: 0;
	status = m->fn(&o);
	if ((flags & ONCE) && status >= 0 &&
	    replies_record(d, req, status, o.has_hrep ? &o.hrep : NULL,
			   o.has_hrep ? sizeof(o.hrep) : 0) == 0)
		d->rerun_point = 1;
	if (status < 0)
		return status;
	aoki_req_reply(req, status, o.has_hrep ? &o.hrep : NULL, o.has_hrep ? sizeof(o.hrep) : 0);
	return 0;
}

static int handle_io(struct fsd *d, struct aoki_req *req, uint16_t op, const void *data,
		     size_t len)
{
	struct fsd_cred c = { aoki_req_peer(req)->uid, aoki_req_peer(req)->gid };
	struct fs_io_req io;

	if (len != sizeof(io))
		return -EINVAL;
	memcpy(&io, data, sizeof(io));
	if (op == FS_OP_READ)
		return data_read(d, req, &c, &io);
	if (op == FS_OP_APPEND && aoki_req_rerun(req)) {
		int32_t status;
		int64_t at;
		size_t n = 0;

		if (replies_find(d, req, &status, &at, &n) && n == sizeof(at)) {
			d->st.dedup_hits++;
			return aoki_req_reply(req, status, &at, sizeof(at)) ?: 0;
		}
	}
	return data_write(d, req, &c, &io, op == FS_OP_APPEND);
}

int fsd_policy_any(const struct aoki_peer *peer, void *arg)
{
	return 0;
}

int fsd_handle(struct aoki_req *req, void *arg)
{
	struct fsd *d = arg;
	uint16_t op = aoki_req_opcode(req);
	size_t len;
	const void *data = aoki_req_data(req, &len);
	int r = -EOPNOTSUPP;

	/* Hosted in an application: a test may ask this handler to fault
	 * (aoki_host_inject_fault); one relaxed load otherwise. */
	if (d->host)
		aoki_host_check_fault(d->host);
	d->st.ops++;
	if (op >= FS_OP_STATFS && op <= FS_OP_META_LAST)
		r = handle_meta(d, req, op, data, len);
	else if (op >= FS_OP_READ && op <= FS_OP_APPEND)
		r = handle_io(d, req, op, data, len);
	/* Before the reply goes out (writes stage themselves before their
	 * completion can be published). */
	stage_request(d);
	if (d->rerun_point) {
		/* An op that must not run twice, done, recorded and staged,
		 * not answered: where fault injection tests its rerun, which
		 * the next fsd must answer from the record.  Hosted: a late
		 * injected fault (aoki_host_inject_fault), taken here only,
		 * so that the requests before the op (a client's LOOKUP) do
		 * not use it up.  The daemon (tests only, AOKI_FSD_TEST_CRASH):
		 * die as a SIGKILL would. */
		d->rerun_point = 0;
		if (d->host)
			aoki_host_check_fault_late(d->host);
		if (d->test_crash)
			raise(SIGKILL);
	}
	return r;
}

/* ------------------------------------------------------ worker hooks */

static unsigned fsd_poll(void *wctx)
{
	struct fsd *d = wctx;
	unsigned n = blkio_poll(d, 0);

	txn_maybe_commit(d);
	return n;
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct fwaitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};

/*
 * Sleep: with data I/O in flight, wait for its completions (briefly, so
 * that new requests are seen); with an open transaction, sleep on the
 * doorbells only until it is due; else let the worker sleep as usual.
 */
static int fsd_sleep(void *wctx, const struct aoki_wait_word *w, unsigned n, int64_t timeout_ns)
{
	struct fsd *d = wctx;
	struct fwaitv v[64];
	struct timespec ts;
	int64_t due;
	long r;

	if (d->inflight) {
		blkio_poll_wait(d, timeout_ns > 0 && timeout_ns < 100000 ? timeout_ns : 100000);
		return 0;
	}
	if (!d->cache.ndirty || n > 64)
		return -ENOSYS;
	due = d->cache.dirty_since + d->cfg.commit_ns - now_real_ns();
	if (due <= 0)
		return -ETIMEDOUT;
	if (timeout_ns > 0 && timeout_ns < due)
		due = timeout_ns;
	for (unsigned i = 0; i < n; i++)
		v[i] = (struct fwaitv){ w[i].expected, (uintptr_t)w[i].word, 2 /* U32 */, 0 };
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (ts.tv_nsec + due) / 1000000000;
	ts.tv_nsec = (ts.tv_nsec + due) % 1000000000;
	r = syscall(SYS_futex_waitv, v, n, 0, &ts, CLOCK_MONOTONIC);
	if (r >= 0)
		return (int)r;
	return errno == EAGAIN ? -EAGAIN : errno == ETIMEDOUT ? -ETIMEDOUT : -ENOSYS;
}

static void fsd_grant_gone(void *wctx, uint64_t serial)
{
	blkio_grant_gone(wctx, serial);
}

static int fsd_start(void *arg, unsigned worker, void **wctx)
{
	*wctx = arg;
	return 0;
}

static void fsd_stop(void *wctx)
{
	blkio_drain(wctx, 0);
}

const struct aoki_worker_ops fsd_worker_ops = {
	.start = fsd_start,
	.poll = fsd_poll,
	.sleep = fsd_sleep,
	.grant_gone = fsd_grant_gone,
	.stop = fsd_stop,
};
