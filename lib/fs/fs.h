/* SPDX-License-Identifier: MIT */
/*
 * fs.h - the client side of aoki-fsd (private to lib/fs).
 *
 * Files, each calling only those above it:
 *   client.c   mount and unmount; one request (fs_rpc) and the metadata
 *              call helper (fs_meta_*: an args area in a grant); LOOKUP,
 *              GETATTR, SETATTR and the argument-less ops every file uses
 *   fd.c       the descriptor table: {fh, open flags, position}
 *   io.c       pread, pwrite, read, write, lseek (bounced or copy-free)
 *   async.c    submit and reap
 *   attr.c     stat family, setattr family, truncate, fsync, fallocate
 *   meta.c     open, mkdir, rmdir, unlink, rename, link, symlink, readlink
 *   dir.c      opendir, readdir, closedir
 *   statfs.c   statvfs, syncfs, server stats
 *   handle.c   the handle layer (aoki_fs_h*): bridges' calls by handle,
 *              acting for a caller's credentials
 * The wire protocol is lib/fs/proto.h; the buffer areas lib/ipc/arena.h.
 * Everything the server writes (reply payloads, the args area) is read
 * once into private memory and checked before use: a bad reply is -EPROTO.
 */
#ifndef AOKI_LIB_FS_H
#define AOKI_LIB_FS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "aoki/fs.h"
#include "aoki/ipc.h"
#include "../ipc/arena.h"
#include "proto.h"

_Static_assert(AOKI_FS_MAX_IO == FS_MAX_IO, "public and wire I/O limits agree");
_Static_assert(AOKI_FS_PATH_MAX == FS_PATH_MAX, "public and wire path limits agree");

#define FS_FD_CHUNK 64		/* descriptor slots allocated at a time */

/* One descriptor.  Every field but pos_lock is guarded by aoki_fs.fd_lock. */
struct fs_file {
	pthread_mutex_t pos_lock;	/* held across a read, write or lseek */
	uint32_t gen;		/* bumped when the slot is freed */
	int state;		/* FS_FD_FREE, _RESERVED, _OPEN */
	int flags;		/* the open's O_* flags */
	uint64_t fh;
	uint64_t pos;
};
enum { FS_FD_FREE, FS_FD_RESERVED, FS_FD_OPEN };

/* A snapshot of an open descriptor. */
struct fs_fd_info {
	uint64_t fh;
	uint64_t pos;
	uint32_t gen;
	int flags;
};

/* One asynchronous request in flight (async.c). */
struct fs_inflight {
	uint64_t tag;		/* the caller's */
	uint32_t len;		/* bytes asked: a reply above it is -EPROTO */
	uint32_t busy;
};

struct aoki_fs {
	struct aoki_chan *ch;
	struct ipc_arenas arenas;
	int64_t timeout_ns;
	mode_t umask;
	pthread_mutex_t fd_lock;
	struct fs_file *fd_chunks[AOKI_FS_MAX_FDS / FS_FD_CHUNK];
	pthread_mutex_t async_lock;	/* the in-flight table */
	unsigned depth;			/* entries of inflight and free_idx */
	unsigned nfree;
	struct fs_inflight *inflight;
	uint32_t *free_idx;		/* a stack of free inflight indices */
};

/* ------------------------------------------------------------ client.c */

/* One request: aoki_call, waiting for a free slot when other threads'
 * requests hold them all (within timeout_ns).  Returns the status. */
int fs_rpc(struct aoki_fs *fs, uint16_t op, const void *req, size_t len, void *rep,
	   size_t rep_cap, size_t *rep_len);

/* A metadata call in progress: the args area and what came back. */
struct fs_meta {
	char *area;
	size_t size;
	struct fs_args *args;
	uint32_t out_off;
	uint32_t out_len;
	struct fs_handle_rep rep;	/* valid after fs_meta_handle */
	size_t rep_len;
	struct fs_handle_rep raw;	/* the reply payload as received */
};

/*
 * fs_meta_begin - allocate and zero an args area for @name and @name2
 * (each NULL: none; a path: 1 to FS_PATH_MAX - 1 bytes, else -ENOENT /
 * -ENAMETOOLONG) and @out_len bytes of output.  fs_meta_call - run @op
 * on it (args.fh copied into the request for routing); returns the
 * status.  fs_meta_handle - the reply's file handle, -EPROTO if the reply
 * has none.  fs_meta_out - copy @len (<= out_len) output bytes out.
 * fs_meta_end - free the area.
 */
int fs_meta_begin(struct aoki_fs *fs, struct fs_meta *m, const char *name, const char *name2,
		  size_t out_len);
int fs_meta_call(struct aoki_fs *fs, struct fs_meta *m, uint16_t op);
int fs_meta_handle(const struct fs_meta *m, uint64_t *fh);
void fs_meta_out(const struct fs_meta *m, void *dst, size_t len);
void fs_meta_end(struct aoki_fs *fs, struct fs_meta *m);
/* fs_meta_as - make the call act for @as (NULL: the peer; FS_CRED_AS). */
void fs_meta_as(struct fs_meta *m, const struct aoki_fs_cred *as);

/* LOOKUP @path from @dir (FS_LOOKUP_NOFOLLOW in @flags): its handle, and
 * its attributes if @attr.  GETATTR of @fh.  SETATTR of @fh (the @set
 * fields of @in).  An op with only fh, flags, offset and length. */
int fs_lookup(struct aoki_fs *fs, uint64_t dir, const char *path, uint32_t flags, uint64_t *fh,
	      struct fs_attr *attr);
int fs_getattr(struct aoki_fs *fs, uint64_t fh, struct fs_attr *attr);
int fs_setattr(struct aoki_fs *fs, uint64_t fh, uint32_t set, const struct fs_attr *in);
int fs_simple(struct aoki_fs *fs, uint16_t op, uint64_t fh, uint32_t flags, uint64_t offset,
	      uint64_t length);
/* STATFS, checked (a block size that is a power of two in [512, 64 KiB],
 * free counts within the totals), else -EPROTO. */
int fs_statfs(struct aoki_fs *fs, struct fs_statfs *out);

/* ------------------------------------------------------------- attr.c */

/* struct stat from the server's attributes (st_dev 0). */
void fs_attr_to_stat(const struct fs_attr *a, struct stat *st);

/* ---------------------------------------------------------------- fd.c */

/* Reserve the lowest free descriptor (-EMFILE, -ENOMEM); then either
 * install it (fs_fd_install) or give it back (fs_fd_release). */
int fs_fd_reserve(struct aoki_fs *fs);
void fs_fd_install(struct aoki_fs *fs, int fd, uint64_t fh, int flags);
void fs_fd_release(struct aoki_fs *fs, int fd);
/* A snapshot of open descriptor @fd, or -EBADF. */
int fs_fd_get(struct aoki_fs *fs, int fd, struct fs_fd_info *out);
/* The slot of @fd (for its pos_lock), or NULL if out of range / never
 * allocated.  Slots never move or go away before unmount. */
struct fs_file *fs_fd_slot(struct aoki_fs *fs, int fd);
/* Set @fd's position if it is still the open of generation @gen. */
void fs_fd_set_pos(struct aoki_fs *fs, int fd, uint32_t gen, uint64_t pos);
/* The directory handle for an *at call: FS_ROOT_FH for AOKI_FS_CWD. */
int fs_fd_dir(struct aoki_fs *fs, int dirfd, uint64_t *fh);
void fs_fd_fini(struct aoki_fs *fs);

/* ------------------------------------------------------------- async.c */

int fs_async_init(struct aoki_fs *fs, unsigned depth);
void fs_async_fini(struct aoki_fs *fs);

#endif
