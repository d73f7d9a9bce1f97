/* SPDX-License-Identifier: MIT */
/*
 * fsd.h - aoki-fsd, the Aoki file system server (private to servers/fsd).
 *
 * One worker thread owns the ext2_filsys (libext2fs is not thread-safe);
 * file data never passes through it: the worker maps file blocks to
 * device blocks and hands the client's own buffer to aoki-blkd.
 *
 * The same code runs as the daemon (main.c) or hosted in an application
 * (hosted.c, aoki/host.h), in a compartment of its own.  Everything an
 * instance holds hangs off its struct fsd (nothing per instance is
 * static: two fsds may be hosted in one process), and its memory comes
 * from its context (mem.h: libc, or the compartment's heap).
 *
 *   mem.c      fsd's own memory: libc or the compartment's heap (mem.h)
 *   crc32c.c   crc32c for the journal and the staging ring
 *   journal.c  jbd2 writer and replayer (knows nothing of libext2fs)
 *   cache.c    the block cache and overlay: clean, dirty (the open
 *              transaction) and committed-not-checkpointed blocks
 *   iomgr.c    the libext2fs io_manager over the cache and aoki-blkd
 *   txn.c      transactions: commit (ordered data first), checkpoint
 *   stage.c    the staging ring: what a crash of fsd alone must not lose
 *   alloc.c    block allocation that never reuses a block freed since the
 *              last checkpoint
 *   mount.c    opening the image: features, recovery, journal start,
 *              clean shutdown; releasing it without a write (a fault)
 *   blkio.c    the two aoki-blkd connections: metadata (synchronous) and
 *              data (asynchronous, with client grants imported)
 *   perm.c     POSIX permission checks against the peer's credentials
 *   namei.c    path resolution, handles, inode helpers
 *   dcache.c   directory entries in memory
 *   data.c     READ / WRITE / APPEND: mapping, the copy-free path, edges
 *   truncate.c size changes, punch, fallocate, freeing inodes
 *   ops_*.c    the metadata operations
 *   replies.c  the reply record of operations that must not run twice
 *   handler.c  request decoding and dispatch
 *   stats.c    the stats request's figures
 *   config.c   the configuration file (options.h)
 *   options.c  the options, shared by the daemon and the hosted server
 *              (options.h)
 *   hosted.c   the hosted service aoki__fsd_service (aoki/host.h)
 *   main.c     aoki-fsd(8), the daemon (not in libaoki)
 */
#ifndef AOKI_FSD_H
#define AOKI_FSD_H

#include <ext2fs/ext2fs.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoki/blk.h"
#include "aoki/ipc.h"
#include "proto.h"	/* lib/fs: the wire protocol, one home (mk/fsd.mk) */
#include "journal.h"
#include "mem.h"

#define FSD_COMMIT_NS 50000000	/* a transaction stays open at most 50 ms:
				 * a commit stalls the metadata thread ~2 ms,
				 * and the staging ring already keeps what
				 * a crash of fsd alone would lose */
#define FSD_TXN_MAX_BLOCKS 4096	/* ... or until it holds this many blocks */
#define FSD_CACHE_BLOCKS 16384	/* clean metadata blocks kept (64 MiB at 4K) */
#define FSD_MAX_INFLIGHT 256	/* data requests in flight to blkd */
#define FSD_REPLIES_NAME ".aoki-replies"	/* in the root directory */
#define FSD_REPLY_SLOTS 16384

struct fsd_config {
	const char *volume;	/* blkd volume holding the image */
	const char *stage_path;	/* the staging ring (stage.c); NULL: none */
	const char *blk_port;	/* NULL: "blk" */
	int read_only;
	int64_t commit_ns;	/* 0: FSD_COMMIT_NS */
};

/* One metadata block in the cache. */
enum cache_state { CB_CLEAN, CB_DIRTY, CB_COMMITTED };
struct cache_block {
	uint64_t blk;
	uint8_t *data;
	enum cache_state state;
	uint8_t *shadow;	/* a dirty block that a committed, not yet
				 * checkpointed transaction also holds: that
				 * transaction's image, for the checkpoint */
	uint8_t ref;		/* clock bit */
	uint8_t in_op;		/* changed by the current request (stage.c) */
	struct cache_block *hnext;	/* hash chain */
	struct cache_block *lnext, *lprev;	/* dirty or committed list */
};

struct cache {
	struct aoki_host *host;	/* its memory (mem.h) */
	unsigned bsize;
	unsigned nbuckets;
	struct cache_block **hash;
	struct cache_block **clock;	/* every block, for eviction */
	unsigned nclock, clock_hand, capacity;
	struct cache_block *dirty;	/* the open transaction */
	unsigned ndirty;
	struct cache_block *committed;	/* committed, not checkpointed */
	unsigned ncommitted;
	unsigned nshadow;		/* dirty blocks with a shadow */
	int64_t dirty_since;		/* when the transaction got its first block */
};

/* A data request in flight to blkd. */
struct fsd_pending {
	struct aoki_req *req;	/* the deferred client request (NULL: internal) */
	unsigned parts;		/* blk requests not completed */
	int64_t result;		/* bytes, or the first error */
	int64_t reply_off;	/* APPEND: the offset the data went to */
	int ordered;		/* a write into newly allocated blocks */
	int submitting;		/* its handler still holds it */
	struct fsd_pending *next;	/* free list */
};

/* A client grant passed on to blkd. */
struct fsd_import {
	uint64_t serial;	/* aoki_grant_info.serial; 0: empty */
	uint32_t id;		/* aoki_blk_import id */
};
#define FSD_IMPORTS 4096

/* A block the current request changed, as stage.c notes it. */
struct stage_ref {
	struct cache_block *b;
	uint64_t blk;
};

struct fsd_stats {
	uint64_t ops, data_read, data_written, bytes_copied, bytes_zeroed;
	uint64_t commits, journal_blocks, checkpoints, dedup_hits, replayed;
};

/* dcache.c's tables (struct dtable is its own). */
#define FSD_DCACHE_DIRS 1024	/* buckets of directories */
struct dtable;
struct dcache {
	struct dtable *dirs[FSD_DCACHE_DIRS];
	unsigned total;		/* entries in every table */
};

struct fsd {
	struct aoki_host *host;	/* hosted in an application (hosted.c);
				 * NULL: the daemon.  Its memory: mem.h */
	struct fsd_config cfg;
	ext2_filsys fs;
	struct aoki_blk *meta;	/* synchronous: metadata, journal, edges */
	struct aoki_blk *data;	/* asynchronous: client data */
	int claim_fd;		/* claim.c: this fsd's lock on the volume; -1 */
	struct aoki_blk_info info;
	unsigned bsize;		/* file-system block size */
	void *bounce;		/* FSD_BOUNCE_BLOCKS blocks in a blk arena */
	struct cache cache;
	struct journal *journal;
	uint64_t *journal_map;
	int bypass;		/* iomgr: write through (mount, recovery) */
	int io_error;		/* a metadata write failed: read-only now */
	ext2fs_block_bitmap avoid;	/* in use, or freed since checkpoint */
	ext2_ino_t replies_ino;	/* the reply record file */
	uint64_t *replies_map;	/* device block of each of its blocks */
	unsigned replies_blocks;	/* 0: no record (not yet open) */
	struct dcache dcache;
	/* Names of the op being served (handler.c; one at a time). */
	char name_buf[FS_PATH_MAX], name2_buf[FS_PATH_MAX];
	struct fsd_pending pend[FSD_MAX_INFLIGHT];
	struct fsd_pending *pend_free;
	unsigned inflight;	/* blk data requests in flight */
	unsigned ordered_inflight;	/* of those, writes into new blocks */
	struct fsd_import imports[FSD_IMPORTS];
	struct fsd_stats st;
	void *stage;		/* the staging ring (NULL: none) */
	struct stage_ref *op;	/* blocks the current request changed */
	unsigned nop, op_cap;
	int stage_lost;		/* a note failed: commit instead of staging */
	unsigned staged_applied;	/* records applied at start */
	int test_crash;		/* AOKI_FSD_TEST_CRASH set: see handler.c */
	unsigned txn_limit;	/* most blocks in a transaction (txn.c) */
	int rerun_point;	/* handler.c: this request recorded its reply */
	uint32_t stage_last;	/* mount: the last tid the journal held */
	int stage_uuid_ok;	/* mount: a replay ran; the ring may apply */
	int stage_apply;	/* mount: the ring is valid: apply it */
	uint8_t stage_uuid[16];
};
#define FSD_BOUNCE_BLOCKS 64	/* blocks written home in one request */
#define FSD_BOUNCE_BYTES (1u << 20)	/* fsd's own I/O buffer */

/* cache.c: @host is where its memory comes from (mem.h). */
int cache_init(struct cache *c, struct aoki_host *host, unsigned bsize, unsigned capacity);
void cache_destroy(struct cache *c);
struct cache_block *cache_find(struct cache *c, uint64_t blk);
/* Insert a block (clean); may evict a clean block.  NULL on -ENOMEM. */
struct cache_block *cache_insert(struct cache *c, uint64_t blk);
/* Before changing @b's data: make it part of the open transaction (a
 * committed block keeps its committed image as a shadow).  -ENOMEM. */
int cache_mark_dirty(struct cache *c, struct cache_block *b, int64_t now);
/* Forget @blk whatever its state (a block that became file data). */
void cache_forget(struct cache *c, uint64_t blk);
/* Move every dirty block to committed. */
void cache_dirty_to_committed(struct cache *c);
/* Every committed block is home: make them clean. */
void cache_committed_to_clean(struct cache *c);

/* iomgr.c: open it with ext2fs_open2(fsd_io_name(), ...); its channel
 * reaches @d through the name (no global: two fsds may share a process).
 * fsd_io_name writes the name into @buf (FSD_IO_NAME_MAX bytes). */
extern io_manager fsd_io_manager;
#define FSD_IO_NAME_MAX 40
void fsd_io_name(struct fsd *d, char buf[FSD_IO_NAME_MAX]);

/* blkio.c */
int blkio_open(struct fsd *d);
void blkio_close(struct fsd *d);
/* Synchronous metadata I/O of whole file-system blocks (bounced). */
int blkio_read(struct fsd *d, uint64_t blk, unsigned count, void *buf);
int blkio_write(struct fsd *d, uint64_t blk, unsigned count, const void *buf, int fua);
int blkio_flush(struct fsd *d);
/* Asynchronous data I/O into or out of a client grant (imported). */
int blkio_import(struct fsd *d, struct aoki_req *req, uint32_t grant, uint32_t *id);
void blkio_grant_gone(struct fsd *d, uint64_t serial);
/* @len bytes, in as many requests of at most max_io as needed. */
int blkio_submit(struct fsd *d, struct fsd_pending *p, int write, uint32_t import,
		 uint64_t import_off, uint64_t dev_off, uint64_t len);
/* Reap data completions, completing client requests; returns how many
 * client requests completed.  @wait: block until one completion. */
unsigned blkio_poll(struct fsd *d, int wait);
/* As blkio_poll, waiting at most @timeout_ns (<0: forever) for one. */
unsigned blkio_poll_wait(struct fsd *d, int64_t timeout_ns);
/* The submitter is done with @p: it completes once its parts have. */
void blkio_release(struct fsd *d, struct fsd_pending *p);
/* Wait until no data I/O (or no ordered write, @ordered_only) is in flight. */
int blkio_drain(struct fsd *d, int ordered_only);
struct fsd_pending *pending_get(struct fsd *d);
void pending_put(struct fsd *d, struct fsd_pending *p);

/* txn.c */
int txn_commit(struct fsd *d);		/* close the open transaction */
int txn_checkpoint(struct fsd *d);	/* write committed blocks home */
int txn_maybe_commit(struct fsd *d);	/* on the timer / size limit */
int txn_sync(struct fsd *d);		/* commit + flush: durable now */

/* txn.c: push libext2fs's in-memory metadata into the cache. */
int txn_flush_fs(struct fsd *d);

/* stage.c: what a crash of the fsd process alone must not lose. */
int stage_open(struct fsd *d, const char *path);
/* Unmap the ring (none: nothing), writing nothing to it: what it holds
 * stays for the next start.  With @own, free the request's notes (fsd's
 * memory) too; without, only forget them (fsd_release). */
void stage_close(struct fsd *d, int own);
/* Does the ring hold what the crashed process staged after transaction
 * @last_tid (the journal's last), in this boot, for this file system?
 * (Its base, the transaction it belongs to, is after @last_tid.) */
int stage_valid(struct fsd *d, uint32_t last_tid, const uint8_t fs_uuid[16]);
/* Its records into the cache as the open transaction. */
int stage_apply(struct fsd *d, unsigned *applied);
void stage_reset(struct fsd *d, uint32_t base);
/* The journal restarted at tid @base with nothing committed: the ring
 * (applied, not yet committed) now belongs to that transaction. */
void stage_rebase(struct fsd *d, uint32_t base);
void stage_note(struct fsd *d, struct cache_block *b);
/* After a request, before its reply: append the blocks it changed. */
int stage_request(struct fsd *d);

/* alloc.c */
int alloc_init(struct fsd *d);
void alloc_fini(struct fsd *d);
int alloc_reset(struct fsd *d);		/* after a checkpoint */

/* mount.c: fsd_mount opens the image (blkio_open first): 0, or -errno with
 * everything it took released: -EINVAL / -EOPNOTSUPP (an image fsd
 * cannot serve: the daemon's exit 2), -EUCLEAN (damaged), -ENOMEM, or an
 * I/O error.  fsd_unmount closes it cleanly (commit, checkpoint, journal
 * empty, needs_recovery cleared) and frees what the mount took: 0, or
 * -errno when the image was not left clean (the next mount replays). */
int fsd_mount(struct fsd *d);

/* claim.c: fsd_claim - take the volume for this fsd alone (read-write
 * mounts): 0, -EBUSY (another fsd has it: said on stderr), or -errno of
 * the port's path.  fsd_unclaim - let it go (fsd_release). */
int fsd_claim(struct fsd *d);
void fsd_unclaim(struct fsd *d);
int fsd_unmount(struct fsd *d);
/* fsd_release - free what the mount took, writing nothing to the image,
 * the journal or the staging ring (a failed mount; a fault).  With
 * @own 0 only what lies outside fsd's own memory (mem.h) is freed:
 * libext2fs's objects and the ring's mapping, walking none of fsd's own
 * structures, which may be damaged after a fault (hosted.c: the
 * compartment's heap goes as a whole).  Safe on a struct fsd never
 * mounted (zeroed) and twice. */
void fsd_release(struct fsd *d, int own);

/* Owner fields of an inode (32-bit ids split in two halves). */
#define inode_uid_set(in, v)                                                   \
	do {                                                                   \
		(in).i_uid = (uint16_t)(v);                                    \
		ext2fs_set_i_uid_high(in, (uint32_t)(v) >> 16);                \
	} while (0)
#define inode_gid_set(in, v)                                                   \
	do {                                                                   \
		(in).i_gid = (uint16_t)(v);                                    \
		ext2fs_set_i_gid_high(in, (uint32_t)(v) >> 16);                \
	} while (0)

/* The directory-entry file type of inode mode @mode (EXT2_FT_*). */
static inline int ext2_file_type(unsigned mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	default: return EXT2_FT_UNKNOWN;
	}
}

/* perm.c: credentials */
struct fsd_cred {
	uid_t uid;
	gid_t gid;
};
#define MAY_READ 4
#define MAY_WRITE 2
#define MAY_EXEC 1
int perm_check(const struct fsd_cred *c, const struct ext2_inode_large *in, int mask);
int perm_owner(const struct fsd_cred *c, const struct ext2_inode_large *in);
int perm_sticky(const struct fsd_cred *c, const struct ext2_inode_large *dir,
		const struct ext2_inode_large *victim);

/* namei.c */
int fsd_errno(errcode_t e);
int inode_read(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in);
int inode_write(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in);
/* The inode a handle names: -ESTALE if freed or reused. */
int inode_of_fh(struct fsd *d, uint64_t fh, ext2_ino_t *ino, struct ext2_inode_large *in);
uint64_t fh_of(ext2_ino_t ino, const struct ext2_inode_large *in);
void attr_fill(struct fsd *d, ext2_ino_t ino, const struct ext2_inode_large *in,
	       struct fs_attr *a);
int64_t now_real_ns(void);
void inode_set_time(struct ext2_inode_large *in, int which, int64_t ns);
int64_t inode_get_time(const struct ext2_inode_large *in, int which);
enum { T_ATIME, T_MTIME, T_CTIME, T_CRTIME };
void inode_touch(struct ext2_inode_large *in, int mtime);
/*
 * Resolve @path (len bytes, not NUL-terminated) from directory @dir for
 * @c.  With @parent: resolve all but the last component and return the
 * directory in *@ino and the last component in @last (NUL-terminated);
 * else the object itself, following a final symlink unless @nofollow.
 */
int namei(struct fsd *d, const struct fsd_cred *c, ext2_ino_t dir, const char *path,
	  size_t len, int nofollow, ext2_ino_t *ino);
int namei_parent(struct fsd *d, const struct fsd_cred *c, ext2_ino_t dir, const char *path,
		 size_t len, ext2_ino_t *parent, char last[FS_NAME_MAX + 1]);
int dir_lookup(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t *ino);
/* The target of symlink @ino (NUL-terminated in @buf); its length, or
 * -EINVAL if not a symlink. */
int fsd_readlink(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, char *buf,
		 size_t cap);

/* dcache.c: directory entries in memory (libext2fs's lookups read the
 * whole directory).  Every change of an entry by fsd goes through
 * dcache_add / dcache_del; a freed directory is dropped. */
int dcache_lookup(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t *ino);
void dcache_add(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t ino);
void dcache_del(struct fsd *d, ext2_ino_t dir, const char *name);
void dcache_drop(struct fsd *d, ext2_ino_t dir);
void dcache_clear(struct fsd *d);

/* data.c */
int data_read(struct fsd *d, struct aoki_req *req, const struct fsd_cred *c,
	      const struct fs_io_req *io);
int data_write(struct fsd *d, struct aoki_req *req, const struct fsd_cred *c,
	       const struct fs_io_req *io, int append);
/* Write @len bytes of @src (fsd memory) at file offset @off of an
 * inode's mapped or newly allocated blocks, bouncing: for edges, zeroing
 * and small internal writes. */
int data_write_bounce(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		      uint64_t off, const void *src, size_t len);

/* The device block of each of the first @n blocks of a file (0: a hole
 * or unwritten), extent by extent (ext2fs_bmap2 per block costs an
 * extent walk each: 4096 of them for a journal). */
int file_map(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t *map,
	     uint64_t n);

/* truncate.c */
int file_set_size(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t size);
int file_fallocate(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		   unsigned mode, uint64_t off, uint64_t len);
int inode_release(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in);
/* Allocate file blocks [lblk, lblk + n) where unmapped (initialised
 * extents, not zeroed): the caller writes them before the commit. */
int file_alloc_range(struct fsd *d, ext2_ino_t ino, struct ext2_inode_large *in,
		     uint64_t lblk, uint64_t n, int *allocated);

/* replies.c */
int replies_open(struct fsd *d);
/* Free the record's block map (mount.c, at unmount). */
void replies_close(struct fsd *d);
/* A recorded reply for (client, seq): 1 and the reply, 0 none. */
int replies_find(struct fsd *d, struct aoki_req *req, int32_t *status, void *rep,
		 size_t *len);
int replies_record(struct fsd *d, struct aoki_req *req, int32_t status, const void *rep,
		   size_t len);

/* handler.c: fsd_policy_any lets every peer connect (each op is
 * checked against its credentials). */
int fsd_policy_any(const struct aoki_peer *peer, void *arg);
/* handler.c */
int fsd_handle(struct aoki_req *req, void *arg);
extern const struct aoki_worker_ops fsd_worker_ops;

/* stats.c: the server's figures for the stats request (cfg.stats_fn;
 * @arg is the struct fsd): counters and journal state. */
int fsd_stats(void *arg, void *buf, size_t cap);

/* ops_*.c: the metadata ops; each gets the args (a private copy), its
 * names and the output area, and returns a status. */
struct fsd_op {
	struct fsd *d;
	struct aoki_req *req;
	struct fsd_cred cred;
	struct fs_args a;
	const char *name, *name2;	/* NUL-terminated private copies */
	void *area;			/* the args area, in the client's grant */
	void *out;			/* in the client's grant */
	size_t out_len;
	struct fs_handle_rep hrep;	/* reply payload, if has_hrep */
	int has_hrep;
};
/* ops_attr.c: output @ino's attributes and set the handle reply. */
int op_reply_attr(struct fsd_op *o, ext2_ino_t ino, const struct ext2_inode_large *in);
/* ops_create.c: add entry @name -> @ino to @dir, growing it if full. */
int dir_add(struct fsd *d, ext2_ino_t dir, const char *name, ext2_ino_t ino, unsigned mode);
int op_statfs(struct fsd_op *o);
int op_lookup(struct fsd_op *o);
int op_getattr(struct fsd_op *o);
int op_open(struct fsd_op *o);
int op_setattr(struct fsd_op *o);
int op_mkdir(struct fsd_op *o);
int op_rmdir(struct fsd_op *o);
int op_unlink(struct fsd_op *o);
int op_rename(struct fsd_op *o);
int op_link(struct fsd_op *o);
int op_symlink(struct fsd_op *o);
int op_readlink(struct fsd_op *o);
int op_readdir(struct fsd_op *o);
int op_fsync(struct fsd_op *o);
int op_fallocate(struct fsd_op *o);
int op_syncfs(struct fsd_op *o);
int op_stats(struct fsd_op *o);
int op_access(struct fsd_op *o);

#endif
