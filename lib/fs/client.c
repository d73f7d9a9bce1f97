/* SPDX-License-Identifier: MIT */
/*
 * client.c - a connection to aoki-fsd: mount and unmount, one request,
 * and the metadata call helper.  A metadata op's arguments, names and
 * output share one area allocated per call from the connection's grants;
 * the request carries only its grant reference (lib/fs/proto.h).
 * Recovery after a server crash is the IPC library's (the request is run
 * again, and the server answers ops that must not run twice from its
 * record), so nothing here retries on an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../ipc/sys.h"
#include "fs.h"

#define DEFAULT_DEPTH 64

/* The process umask from /proc/self/status ("Umask:\t0022"), without
 * umask(2), which would change it for a moment under other threads. */
static mode_t read_umask(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 022;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 022;
	buf[n] = 0;
	p = strstr(buf, "\nUmask:");
	if (!p)
		return 022;
	return (mode_t)strtoul(p + 7, NULL, 8) & 0777;
}

int fs_statfs(struct aoki_fs *fs, struct fs_statfs *out)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, NULL, NULL, sizeof(*out));

	if (r < 0)
		return r;
	r = fs_meta_call(fs, &m, FS_OP_STATFS);
	if (r >= 0)
		fs_meta_out(&m, out, sizeof(*out));
	fs_meta_end(fs, &m);
	if (r < 0)
		return r;
	if (out->bsize < 512 || out->bsize > 65536 || (out->bsize & (out->bsize - 1)) ||
	    out->bfree > out->blocks || out->bavail > out->bfree || out->ffree > out->files)
		return -EPROTO;
	return 0;
}

int aoki_fs_mount(const char *port, const struct aoki_fs_opts *opts, struct aoki_fs **out)
{
	struct aoki_fs_opts o = opts ? *opts : (struct aoki_fs_opts){ 0 };
	struct aoki_chan_opts co = {
		.slots = o.queue_depth, .max_grants = IPC_ARENA_MAX,
		.timeout_ns = o.timeout_ns, .reconnect_ns = o.reconnect_ns,
		.spin_ns = o.spin_ns ? o.spin_ns : AOKI_FS_SPIN_NS,
	};
	struct fs_statfs sf;
	struct aoki_fs *fs;
	int r;

	if (o.timeout_ns < 0)
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->timeout_ns = o.timeout_ns;
	fs->umask = read_umask();
	pthread_mutex_init(&fs->fd_lock, NULL);
	pthread_mutex_init(&fs->async_lock, NULL);
	r = aoki_connect(port ? port : AOKI_FS_PORT, &co, &fs->ch);
	if (r < 0) {
		pthread_mutex_destroy(&fs->async_lock);
		pthread_mutex_destroy(&fs->fd_lock);
		free(fs);
		return r;
	}
	ipc_arenas_init(&fs->arenas, fs->ch, o.arena_size, AOKI_GRANT_READ | AOKI_GRANT_WRITE);
	r = fs_async_init(fs, o.queue_depth ? o.queue_depth : DEFAULT_DEPTH);
	if (r == 0)
		r = fs_statfs(fs, &sf);
	if (r < 0) {
		aoki_fs_unmount(fs);
		return r;
	}
	*out = fs;
	return 0;
}

void aoki_fs_unmount(struct aoki_fs *fs)
{
	if (!fs)
		return;
	aoki_close(fs->ch);	/* unmaps the grants too */
	ipc_arenas_fini(&fs->arenas);
	fs_async_fini(fs);
	fs_fd_fini(fs);
	pthread_mutex_destroy(&fs->async_lock);
	pthread_mutex_destroy(&fs->fd_lock);
	free(fs);
}

int aoki_fs_alloc(struct aoki_fs *fs, size_t len, void **buf)
{
	return ipc_arena_alloc(&fs->arenas, len, buf);
}

void aoki_fs_free(struct aoki_fs *fs, void *buf)
{
	ipc_arena_free(&fs->arenas, buf);
}

int fs_rpc(struct aoki_fs *fs, uint16_t op, const void *req, size_t len, void *rep,
	   size_t rep_cap, size_t *rep_len)
{
	/* aoki_call waits for a slot while other threads' calls hold them
	 * all; -EAGAIN only when async requests hold every one. */
	return aoki_call(fs->ch, op, req, len, rep, rep_cap, rep_len);
}

/* Bytes of a path argument: -ENOENT if empty, -ENAMETOOLONG if too long. */
static int path_len(const char *s, size_t *len)
{
	if (!s)
		return *len = 0, 0;
	*len = strnlen(s, FS_PATH_MAX);
	if (!*len)
		return -ENOENT;
	return *len >= FS_PATH_MAX ? -ENAMETOOLONG : 0;
}

int fs_meta_begin(struct aoki_fs *fs, struct fs_meta *m, const char *name, const char *name2,
		  size_t out_len)
{
	size_t n1, n2, out_off;
	void *area;
	int r;

	if ((r = path_len(name, &n1)) < 0 || (r = path_len(name2, &n2)) < 0)
		return r;
	out_off = (sizeof(struct fs_args) + n1 + n2 + 7) & ~(size_t)7;
	if (out_len > UINT32_MAX - out_off)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->size = out_off + out_len;
	r = ipc_arena_alloc(&fs->arenas, m->size, &area);
	if (r < 0)
		return r == -EINVAL ? -ENOMEM : r;
	m->area = area;
	m->args = area;
	m->out_off = (uint32_t)out_off;
	m->out_len = (uint32_t)out_len;
	memset(m->area, 0, out_off);
	m->args->name_len = (uint16_t)n1;
	m->args->name2_len = (uint16_t)n2;
	m->args->out_offset = m->out_off;
	m->args->out_len = m->out_len;
	if (n1)
		memcpy(m->area + sizeof(struct fs_args), name, n1);
	if (n2)
		memcpy(m->area + sizeof(struct fs_args) + n1, name2, n2);
	return 0;
}

int fs_meta_call(struct aoki_fs *fs, struct fs_meta *m, uint16_t op)
{
	struct fs_meta_req req = {
		.length = (uint32_t)m->size,
		.fh = m->args->fh ? m->args->fh : m->args->dir,
	};
	int r = ipc_arena_find(&fs->arenas, m->area, m->size, &req.grant, &req.grant_offset);

	if (r < 0)
		return r;
	m->rep_len = 0;
	r = fs_rpc(fs, op, &req, sizeof(req), &m->raw, sizeof(m->raw), &m->rep_len);
	if (r >= 0 && m->rep_len > sizeof(m->raw))
		return -EPROTO;
	return r;
}

int fs_meta_handle(const struct fs_meta *m, uint64_t *fh)
{
	if (m->rep_len != sizeof(m->raw) || !FS_FH_INO(m->raw.fh))
		return -EPROTO;
	*fh = m->raw.fh;
	return 0;
}

void fs_meta_out(const struct fs_meta *m, void *dst, size_t len)
{
	/* One copy of what the server wrote; the caller checks the copy. */
	memcpy(dst, m->area + m->out_off, len <= m->out_len ? len : m->out_len);
}

void fs_meta_as(struct fs_meta *m, const struct aoki_fs_cred *as)
{
	if (!as)
		return;
	m->args->cred_flags = FS_CRED_AS;
	m->args->uid = (uint32_t)as->uid;
	m->args->gid = (uint32_t)as->gid;
}

void fs_meta_end(struct aoki_fs *fs, struct fs_meta *m)
{
	ipc_arena_free(&fs->arenas, m->area);
	m->area = NULL;
}

int fs_lookup(struct aoki_fs *fs, uint64_t dir, const char *path, uint32_t flags, uint64_t *fh,
	      struct fs_attr *attr)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, path, NULL, sizeof(*attr));

	if (r < 0)
		return r;
	m.args->dir = dir;
	m.args->flags = flags;
	r = fs_meta_call(fs, &m, FS_OP_LOOKUP);
	if (r >= 0)
		r = fs_meta_handle(&m, fh);
	if (r >= 0 && attr)
		fs_meta_out(&m, attr, sizeof(*attr));
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int fs_getattr(struct aoki_fs *fs, uint64_t fh, struct fs_attr *attr)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, NULL, NULL, sizeof(*attr));

	if (r < 0)
		return r;
	m.args->fh = fh;
	r = fs_meta_call(fs, &m, FS_OP_GETATTR);
	if (r >= 0)
		fs_meta_out(&m, attr, sizeof(*attr));
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int fs_setattr(struct aoki_fs *fs, uint64_t fh, uint32_t set, const struct fs_attr *in)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, NULL, NULL, sizeof(struct fs_attr));

	if (r < 0)
		return r;
	m.args->fh = fh;
	m.args->set = set;
	m.args->attr = *in;
	r = fs_meta_call(fs, &m, FS_OP_SETATTR);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}

int fs_simple(struct aoki_fs *fs, uint16_t op, uint64_t fh, uint32_t flags, uint64_t offset,
	      uint64_t length)
{
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, NULL, NULL, 0);

	if (r < 0)
		return r;
	m.args->fh = fh;
	m.args->flags = flags;
	m.args->offset = offset;
	m.args->length = length;
	r = fs_meta_call(fs, &m, op);
	fs_meta_end(fs, &m);
	return r < 0 ? r : 0;
}
