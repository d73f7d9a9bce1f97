/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the wire protocol of aoki-fsd, shared by the server
 * (servers/fsd) and the client library (lib/fs).  Private: clients use
 * include/aoki/fs.h.  Every message is one Aoki IPC request with a 32-byte
 * inline payload; names, attributes and file data travel through grants.
 * Integers are native (little-endian on every supported target).
 *
 * Two message shapes:
 *
 *   struct fs_io_req    READ, WRITE, APPEND: the data buffer (a grant
 *                       reference), the file handle and the file offset.
 *                       Status: bytes moved (>= 0) or -errno.  Reply
 *                       payload: READ/WRITE none; APPEND the u64 offset
 *                       at which the data landed.
 *   struct fs_meta_req  every other op: a grant reference to one
 *                       struct fs_args (plus the names that follow it),
 *                       which the server reads (a private copy) and into
 *                       which it writes the op's output (struct fs_attr,
 *                       directory entries, a link target) where the op
 *                       has one.  The args area must be granted
 *                       read-write.  Status: 0 or a count, or -errno.
 *                       Reply payload: struct fs_handle_rep for the ops
 *                       that name a new inode (OPEN, MKDIR, SYMLINK,
 *                       LINK, LOOKUP).
 *
 *   op               args used                        output in the area
 *   FS_OP_STATFS     -                                struct fs_statfs
 *   FS_OP_LOOKUP     dir, name, flags(NOFOLLOW)       struct fs_attr
 *   FS_OP_GETATTR    fh                               struct fs_attr
 *   FS_OP_OPEN       dir, name, flags(O_*), mode      struct fs_attr
 *                    (no name: open fh itself; flags
 *                    without O_CREAT)
 *   FS_OP_SETATTR    fh, set (FS_SET_*), attr fields  struct fs_attr
 *   FS_OP_MKDIR      dir, name, mode                  struct fs_attr
 *   FS_OP_RMDIR      dir, name                        -
 *   FS_OP_UNLINK     dir, name                        -
 *   FS_OP_RENAME     dir, name, dir2, name2, flags    -
 *   FS_OP_LINK       fh (the existing inode), dir2, name2   struct fs_attr
 *   FS_OP_SYMLINK    dir, name, name2 = target        struct fs_attr
 *   FS_OP_READLINK   fh                               the target (status: length)
 *   FS_OP_READDIR    fh, offset = cookie              struct fs_dirent records
 *                                                     (status: bytes), args.offset
 *                                                     = next cookie (0: end)
 *   FS_OP_FSYNC      fh, flags (FS_FSYNC_DATA)        -
 *   FS_OP_FALLOCATE  fh, flags (mode), offset, length -
 *   FS_OP_SYNCFS     -                                -
 *   FS_OP_STATS      -                                struct fs_server_stats
 *   FS_OP_ACCESS     fh, flags (R_OK|W_OK|X_OK)       -
 *
 * Names are paths relative to dir (absolute ones start at the root of the
 * file system, whatever dir is); every component is resolved with the
 * caller's search permission.  A file handle is (inode << 32 | inode
 * generation): fsd keeps no open-file state, so handles survive a server
 * restart, and every request is checked against the inode's owner and
 * mode for the peer's uid/gid (as NFSv3 does).  A handle whose inode was
 * freed (or reused) gets -ESTALE.
 *
 * Acting for another user.  A metadata request whose args.cred_flags has
 * FS_CRED_AS is checked against args.uid / args.gid instead of the
 * peer's, and new inodes get those ids; the server honours it only from
 * a peer whose uid is 0 (-EPERM for anyone else): a bridge running as
 * root (aoki-fuse) passes its callers' ids.  READ, WRITE and APPEND
 * always act for the peer (a bridge checked the caller at open, as the
 * kernel does).
 *
 * Ops that must not run twice (OPEN with O_CREAT or O_TRUNC, MKDIR, RMDIR,
 * UNLINK, RENAME, LINK, SYMLINK, APPEND, SETATTR with a size) record their
 * status and reply payload in the same journal transaction as their
 * metadata, keyed by (channel identity, sequence): a request run again
 * after a server crash gets the recorded reply.
 */
#ifndef AOKI_FS_PROTO_H
#define AOKI_FS_PROTO_H

#include <stdint.h>

#include "aoki/ipc.h"

enum fs_op {
	FS_OP_STATFS = 0x200,
	FS_OP_LOOKUP,
	FS_OP_GETATTR,
	FS_OP_OPEN,
	FS_OP_SETATTR,
	FS_OP_MKDIR,
	FS_OP_RMDIR,
	FS_OP_UNLINK,
	FS_OP_RENAME,
	FS_OP_LINK,
	FS_OP_SYMLINK,
	FS_OP_READLINK,
	FS_OP_READDIR,
	FS_OP_FSYNC,
	FS_OP_FALLOCATE,
	FS_OP_SYNCFS,
	FS_OP_STATS,
	FS_OP_ACCESS,
	FS_OP_META_LAST = FS_OP_ACCESS,
	FS_OP_READ = 0x280,
	FS_OP_WRITE,
	FS_OP_APPEND,
	FS_OP_END
};

/* The root directory's handle (inode 2, any generation). */
#define FS_ROOT_FH ((uint64_t)2 << 32)
#define FS_FH(ino, gen) (((uint64_t)(ino) << 32) | (uint32_t)(gen))
#define FS_FH_INO(fh) ((uint32_t)((fh) >> 32))
#define FS_FH_GEN(fh) ((uint32_t)(fh))

#define FS_NAME_MAX 255		/* bytes in one path component */
#define FS_PATH_MAX 4096	/* bytes in a path or a link target, with NUL */
#define FS_MAX_IO (8u << 20)	/* most bytes in one READ or WRITE */

/* READ, WRITE, APPEND. */
struct fs_io_req {
	uint32_t grant;		/* the data buffer: grant id, */
	uint32_t length;	/* bytes, */
	uint64_t grant_offset;	/* and where it starts in the grant */
	uint64_t fh;
	uint64_t offset;	/* file offset; ignored by APPEND */
};

/* Every other op: where its struct fs_args is. */
struct fs_meta_req {
	uint32_t grant;
	uint32_t length;	/* bytes of the area: args, names, output */
	uint64_t grant_offset;
	uint64_t fh;		/* a copy of args.fh / args.dir (routing) */
	uint64_t reserved;	/* 0 */
};

/* OPEN, MKDIR, SYMLINK, LINK, LOOKUP reply payload. */
struct fs_handle_rep {
	uint64_t fh;
	uint64_t size;
	uint32_t mode;
	uint32_t reserved;
};

/* Attributes, as fstat(2) gives them. */
struct fs_attr {
	uint64_t fh;
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;	/* 512-byte units */
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint32_t rdev;
	uint32_t blksize;
	int64_t atime_ns;	/* nanoseconds since the epoch */
	int64_t mtime_ns;
	int64_t ctime_ns;
	int64_t btime_ns;	/* creation */
};

/* SETATTR: which fields of args.attr to set. */
#define FS_SET_MODE  0x01u
#define FS_SET_UID   0x02u
#define FS_SET_GID   0x04u
#define FS_SET_SIZE  0x08u
#define FS_SET_ATIME 0x10u
#define FS_SET_MTIME 0x20u
#define FS_SET_ATIME_NOW 0x40u
#define FS_SET_MTIME_NOW 0x80u

/* LOOKUP flags. */
#define FS_LOOKUP_NOFOLLOW 0x1u	/* do not follow a final symbolic link */
/* FSYNC flags. */
#define FS_FSYNC_DATA 0x1u	/* fdatasync: skip a pure timestamp change */
/* RENAME flags: as renameat2(2). */
#define FS_RENAME_NOREPLACE 0x1u
#define FS_RENAME_EXCHANGE  0x2u
/* args.cred_flags. */
#define FS_CRED_AS 0x1u		/* act for args.uid / args.gid (root peers only) */
/* FALLOCATE flags: as fallocate(2). */
#define FS_FALLOC_KEEP_SIZE  0x01u
#define FS_FALLOC_PUNCH_HOLE 0x02u
#define FS_FALLOC_ZERO_RANGE 0x10u

/*
 * The argument area of a metadata op.  name (name_len bytes, no NUL)
 * follows the struct at offset sizeof(struct fs_args); name2 follows
 * name.  The op's output is written at offset out_offset of the area
 * (at most out_len bytes).
 */
struct fs_args {
	uint64_t fh;		/* the object (GETATTR, SETATTR, READDIR, ...) */
	uint64_t dir;		/* where name resolves from */
	uint64_t dir2;		/* where name2 resolves from (RENAME, LINK) */
	uint64_t offset;	/* READDIR cookie, FALLOCATE offset */
	uint64_t length;	/* FALLOCATE length */
	uint32_t flags;		/* op flags (for OPEN: the O_* flags) */
	uint32_t mode;		/* OPEN/MKDIR mode, before the umask (the
				 * client applies its umask) */
	uint32_t set;		/* SETATTR: FS_SET_* */
	uint16_t name_len;
	uint16_t name2_len;
	uint32_t out_offset;
	uint32_t out_len;
	struct fs_attr attr;	/* SETATTR input (mode, uid, gid, size, times) */
	uint32_t cred_flags;	/* FS_CRED_*; 0: act for the peer */
	uint32_t uid;		/* with FS_CRED_AS: whom the op acts for */
	uint32_t gid;
	uint32_t reserved;	/* 0 */
};

/* One READDIR record; records are 8-byte aligned, reclen apart. */
struct fs_dirent {
	uint64_t ino;
	uint64_t cookie;	/* READDIR offset to resume after this entry */
	uint16_t reclen;
	uint8_t type;		/* DT_* */
	uint8_t name_len;
	char name[];		/* name_len bytes, NUL-terminated */
};

/* STATFS output. */
struct fs_statfs {
	uint64_t blocks;	/* in bsize units */
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint32_t bsize;
	uint32_t namemax;
};

/* STATS output: what the server did, for tools, tests and benchmarks. */
struct fs_server_stats {
	uint64_t ops;			/* requests served */
	uint64_t data_read;		/* file bytes read for clients */
	uint64_t data_written;		/* file bytes written for clients */
	uint64_t bytes_copied;		/* data bytes fsd copied itself
					 * (unaligned edges only) */
	uint64_t bytes_zeroed;		/* bytes of holes it zero-filled */
	uint64_t commits;		/* journal transactions committed */
	uint64_t journal_blocks;	/* metadata blocks journaled */
	uint64_t checkpoints;
	uint64_t dedup_hits;		/* reruns answered from the record */
	uint64_t replayed;		/* transactions replayed at start */
	uint64_t sequence;		/* next transaction id */
};

_Static_assert(sizeof(struct fs_io_req) == AOKI_MSG_PAYLOAD, "io fits a slot");
_Static_assert(sizeof(struct fs_meta_req) == AOKI_MSG_PAYLOAD, "meta fits a slot");
_Static_assert(sizeof(struct fs_handle_rep) <= AOKI_MSG_PAYLOAD, "handle fits a slot");
_Static_assert(sizeof(struct fs_args) % 8 == 0, "names start aligned");

#endif
