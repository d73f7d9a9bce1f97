/* SPDX-License-Identifier: MIT */
/*
 * aoki/fs.h - client library of aoki-fsd, the Aoki file server.
 *
 * A struct aoki_fs is one connection to an fsd server (a "mount"): one
 * Aoki IPC channel, the buffer areas (grants) it shares with the server,
 * and a client-side table of file descriptors.  The calls are shaped like
 * their POSIX namesakes (open, pread, stat, rename, ...), with liburing's
 * conventions: the caller allocates what it passes in; functions return 0
 * or a non-negative count on success and -errno on failure; errno is
 * never set.  Every function is thread-safe, except that no other thread
 * may use a struct aoki_fs during or after aoki_fs_unmount (nor a struct
 * aoki_fs_dir during or after aoki_fs_closedir).
 *
 * Paths.  Every path names a file of the server's file system; absolute
 * and relative paths both start at its root, or, for the *at calls, at
 * the directory @dirfd (AOKI_FS_CWD: the root).  At most AOKI_FS_PATH_MAX
 * - 1 bytes, each component at most 255.  The server checks each request
 * against the caller's uid and gid, as the kernel would.
 *
 * Data.  Buffers from aoki_fs_alloc() live in grants: the server (and the
 * storage server under it) moves file data straight into and out of them,
 * copy-free.  aoki_fs_pread/pwrite/read/write take any other buffer too,
 * and copy it through an internal grant buffer in chunks of at most
 * AOKI_FS_MAX_IO bytes; the asynchronous calls take aoki_fs_alloc()
 * buffers only.
 *
 * Errors every call may return, besides its own:
 *   -EBADF     (calls taking a descriptor) @fd is not open here
 *   -ENOMEM    no memory, or no room for an internal buffer
 *   -EPROTO    the server's reply broke the protocol (a bad length, record
 *              or name): nothing it wrote was used
 *   -ESTALE    the file the descriptor names was deleted and its inode
 *              reused
 *   -EIO etc.  what the server's file system or device reported
 *   the channel errors of aoki_call(3): -ETIMEDOUT (the mount's deadline
 *   passed; the request may still run), -ECONNRESET (the server dropped
 *   the channel, or died with reconnection off), -EPROTO.
 * and the path errors of path(7): -ENOENT, -ENOTDIR, -ENAMETOOLONG,
 * -ELOOP, -EACCES where a call takes a path.
 *
 * Server restart.  A server that crashes and is restarted (aoki-init) is
 * reconnected by the IPC library: a call in flight sees a delay, not an
 * error.  File handles survive (fsd keeps no open-file state), so
 * descriptors stay valid.  Operations that must not run twice (open with
 * O_CREAT or O_TRUNC, mkdir, rmdir, unlink, rename, link, symlink,
 * appending writes) were recorded with their reply in the
 * server's journal: one the dead server had done gets its original result,
 * never a second run.  Reads, overwrites, attribute changes and
 * truncate/ftruncate (to an absolute size) are simply run again.  Only
 * if the server does not come back within reconnect_ns does a call fail
 * (-ETIMEDOUT), and then every later call too.
 *
 * Progress.  Calls that talk to the server are blocking: they wait for the
 * reply (polling for spin_ns, then sleeping on a futex), at most the
 * mount's timeout_ns when it has one, and they notice a dead server.
 * When other threads' calls hold every slot of the channel, a call waits
 * for one, within timeout_ns; only when asynchronous requests
 * (aoki_fs_submit) hold every slot does it return -EAGAIN (reap first).  Calls that create an
 * internal buffer area may make one more control round trip (5 s
 * deadline).  Descriptor-table work is a short mutex.
 */
#ifndef AOKI_FS_H
#define AOKI_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The port aoki-fsd listens on by default. */
#define AOKI_FS_PORT "fs"

/* For the *at calls: resolve from the root of the file system. */
#define AOKI_FS_CWD (-100)

#define AOKI_FS_PATH_MAX 4096		/* bytes in a path, with its NUL */
#define AOKI_FS_MAX_IO (8u << 20)	/* bytes in one request on the wire */
#define AOKI_FS_MAX_FDS 4096		/* descriptors open at once */

/* Default polling time of a waiting call (as AOKI_BLK_SPIN_NS). */
#define AOKI_FS_SPIN_NS 200000

struct aoki_fs;			/* one connection to a server (opaque) */
struct aoki_fs_dir;		/* an open directory stream (opaque) */

/* Mount options; zero-initialise and set what you need. */
struct aoki_fs_opts {
	unsigned queue_depth;	/* requests in flight at once, a power of
				 * two in [2, 4096]; 0: 64 */
	size_t arena_size;	/* bytes of each buffer area (grant); 0: 8 MiB */
	int64_t timeout_ns;	/* per-request deadline; 0: none */
	int64_t spin_ns;	/* how long a waiting call polls before it
				 * sleeps; <0: never; 0: AOKI_FS_SPIN_NS */
	int64_t reconnect_ns;	/* how long to wait for a crashed server to
				 * come back; 0: 30 s; <0: never */
};

/* ------------------------------------------------------------ mounting */

/*
 * aoki_fs_mount - connect to the fsd server on @port (a name or socket
 * path, see aoki_port_path(3); NULL: AOKI_FS_PORT) and check it with one
 * STATFS round trip.  @opts may be NULL.  Reads the process umask once
 * (from /proc/self/status; 022 if unreadable): it is applied to the modes
 * of files and directories this mount creates.
 * Returns 0 with *@out set, or -ENOENT / -ECONNREFUSED (no server),
 * -EACCES (refused by the server's policy), -EINVAL (bad options),
 * -ENOMEM, -EPROTO (not an fsd, or a bad reply), or a connect error
 * (aoki_connect(3)).
 * Restart: a server that dies during the STATFS is waited for.
 * Progress: blocking; the connect has a 5 s deadline, the round trip the
 * options' timeout_ns.
 */
int aoki_fs_mount(const char *port, const struct aoki_fs_opts *opts, struct aoki_fs **out);

/*
 * aoki_fs_unmount - close the connection: every descriptor, directory
 * stream and buffer of @fs goes (@fs == NULL: nothing).  Data written is
 * not flushed (call aoki_fs_syncfs first for that); requests in flight are
 * abandoned.  Never fails.  Restart: nothing to resume.  Progress:
 * blocking only for close(2).
 */
void aoki_fs_unmount(struct aoki_fs *fs);

/* ------------------------------------------------------------- buffers */

/*
 * aoki_fs_alloc - @len bytes of I/O buffer, 4096-aligned, in a grant
 * shared with the server: I/O on it is copy-free.  Grows by a new grant
 * of arena_size (or @len rounded up) when the areas are full.
 * Returns 0 with *@buf set, -EINVAL (@len 0), -ENOMEM, -ENOSPC (64
 * grants already), or a channel error.
 * Restart: grants are re-registered by the IPC library; the buffer stays.
 * Progress: a short mutex; blocking (one control round trip, 5 s) when it
 * creates a grant.
 */
int aoki_fs_alloc(struct aoki_fs *fs, size_t len, void **buf);

/*
 * aoki_fs_free - return a buffer from aoki_fs_alloc (NULL: nothing).  Its
 * memory stays mapped until aoki_fs_unmount.  Never fails.  Restart: -.
 * Progress: a short mutex.
 */
void aoki_fs_free(struct aoki_fs *fs, void *buf);

/* --------------------------------------------------------- descriptors */

/*
 * aoki_fs_open / aoki_fs_openat - open @path (from @dirfd, or the root)
 * and return a descriptor, the lowest free one here (not a kernel
 * descriptor: it is valid only with this @fs).  @flags: O_RDONLY,
 * O_WRONLY or O_RDWR, with O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW (Linux values); O_CLOEXEC, O_NONBLOCK,
 * O_LARGEFILE, O_NOATIME, O_NOCTTY are ignored; O_SYNC, O_DSYNC,
 * O_DIRECT, O_PATH, O_TMPFILE give -EINVAL.  @mode (with O_CREAT) is
 * masked with the umask.  The position starts at 0.
 * Returns the descriptor, or -EINVAL, -EMFILE (AOKI_FS_MAX_FDS open),
 * -EEXIST (O_CREAT|O_EXCL), -EISDIR (a directory opened for writing),
 * -ENOTDIR, -ELOOP (O_NOFOLLOW on a symbolic link), -EACCES, -ENOSPC,
 * -EROFS, -EDQUOT, -EFBIG, or a common error.
 * Restart: transparent; an O_CREAT or O_TRUNC open the dead server had
 * done gets its original result (no second -EEXIST, no second truncate).
 * Progress: blocking, one round trip.
 */
int aoki_fs_open(struct aoki_fs *fs, const char *path, int flags, mode_t mode);
int aoki_fs_openat(struct aoki_fs *fs, int dirfd, const char *path, int flags, mode_t mode);

/*
 * aoki_fs_close - free descriptor @fd.  The server keeps no open-file
 * state: nothing is flushed (call aoki_fs_fsync for that).  Returns 0 or
 * -EBADF.  Restart: nothing to resume.  Progress: a short mutex, no round
 * trip.
 */
int aoki_fs_close(struct aoki_fs *fs, int fd);

/* ---------------------------------------------------------------- data */

/*
 * aoki_fs_pread - read up to @len bytes of @fd at @offset into @buf.
 * aoki_fs_pwrite - write @len bytes of @buf to @fd at @offset; on an
 * O_APPEND descriptor the data goes to the end of the file whatever
 * @offset (as on Linux).  Neither moves the descriptor's position.
 * Larger than AOKI_FS_MAX_IO, the I/O is split into several requests,
 * done in order; each is atomic on its own, the whole is not.  @buf from
 * aoki_fs_alloc is copy-free; any other buffer is copied through an
 * internal one.
 * Return the bytes moved (fewer than @len only at the end of the file, or
 * when a later request of a split write fails after an earlier one
 * succeeded), or -EBADF (@fd not open for reading / writing), -EISDIR,
 * -EINVAL (@offset past INT64_MAX), -EFBIG, -ENOSPC, -EDQUOT, or a common
 * error.
 * Restart: transparent; a read or an overwrite the dead server had taken
 * is run again (same data, same result); an append gets its original
 * result, never a second append.
 * Progress: blocking, one round trip per AOKI_FS_MAX_IO bytes.
 */
ssize_t aoki_fs_pread(struct aoki_fs *fs, int fd, void *buf, size_t len, uint64_t offset);
ssize_t aoki_fs_pwrite(struct aoki_fs *fs, int fd, const void *buf, size_t len,
		       uint64_t offset);

/*
 * aoki_fs_read / aoki_fs_write - as pread / pwrite at the descriptor's
 * position, which then moves past the bytes moved.  An O_APPEND write
 * sets the position to the end of the data, where the server placed it.
 * Calls that use one descriptor's position are serialised (as Linux's
 * f_pos lock).  Return as pread / pwrite.  Restart and progress: as
 * pread / pwrite.
 */
ssize_t aoki_fs_read(struct aoki_fs *fs, int fd, void *buf, size_t len);
ssize_t aoki_fs_write(struct aoki_fs *fs, int fd, const void *buf, size_t len);

/*
 * aoki_fs_lseek - set @fd's position: @offset from the start (SEEK_SET),
 * the position (SEEK_CUR) or the end of the file (SEEK_END: one GETATTR
 * round trip).  Returns the new position, -EINVAL (bad @whence, or a
 * negative result), -EOVERFLOW, or a common error.  Restart: transparent.
 * Progress: a mutex; blocking for SEEK_END.
 */
int64_t aoki_fs_lseek(struct aoki_fs *fs, int fd, int64_t offset, int whence);

/*
 * aoki_fs_fsync / aoki_fs_fdatasync - make @fd's file durable: its data
 * and metadata (fdatasync does the same as fsync today: a commit of the
 * whole file system).  Returns 0 or a
 * common error (-EIO: a write back failed).
 * Restart: run again by the restarted server (it is safe to).
 * Progress: blocking, one round trip (a journal commit).
 */
int aoki_fs_fsync(struct aoki_fs *fs, int fd);
int aoki_fs_fdatasync(struct aoki_fs *fs, int fd);

/*
 * aoki_fs_ftruncate - set @fd's file size to @length (zeroes past the old
 * end).  aoki_fs_truncate - the same for @path (followed if a link).
 * Return 0, or -EINVAL (negative @length; ftruncate: @fd not open for
 * writing), -EISDIR, -EFBIG, -EACCES, -EPERM, -EROFS, or a common error.
 * Restart: transparent; the dead server's truncation gets its original
 * result.  Progress: blocking, one round trip (truncate: two).
 */
int aoki_fs_ftruncate(struct aoki_fs *fs, int fd, int64_t length);
int aoki_fs_truncate(struct aoki_fs *fs, const char *path, int64_t length);

/*
 * aoki_fs_fallocate - as fallocate(2) on @fd: @mode 0 (allocate, extend
 * the size), or FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE (with or without KEEP_SIZE).
 * Returns 0, or -EBADF (@fd not open for writing), -EINVAL (@len 0, a
 * negative @offset, another @mode), -EOPNOTSUPP, -ENOSPC, -EFBIG, or a
 * common error.  Restart: run again (allocation and zeroing are
 * idempotent).  Progress: blocking, one round trip.
 */
int aoki_fs_fallocate(struct aoki_fs *fs, int fd, int mode, int64_t offset, int64_t len);

/* ---------------------------------------------------------- attributes */

/*
 * aoki_fs_fstat / aoki_fs_stat / aoki_fs_lstat - the attributes of @fd's
 * file, of @path, or of @path itself if it is a symbolic link (lstat),
 * as stat(2) gives them.  st_dev is 0; st_ino the server's inode number.
 * Return 0 or a common error.  Restart: run again.  Progress: blocking,
 * one round trip.
 */
int aoki_fs_fstat(struct aoki_fs *fs, int fd, struct stat *st);
int aoki_fs_stat(struct aoki_fs *fs, const char *path, struct stat *st);
int aoki_fs_lstat(struct aoki_fs *fs, const char *path, struct stat *st);

/*
 * aoki_fs_chmod / aoki_fs_fchmod - set the permission bits (07777) of
 * @path (followed) or @fd's file.  aoki_fs_chown / aoki_fs_fchown - set the
 * owner and group; (uid_t)-1 / (gid_t)-1 leaves one unchanged.
 * Return 0, or -EPERM (not the owner; chown: not root), -EROFS, or a
 * common error.  Restart: run again (setting is idempotent).
 * Progress: blocking, one round trip (a path: two).
 */
int aoki_fs_chmod(struct aoki_fs *fs, const char *path, mode_t mode);
int aoki_fs_fchmod(struct aoki_fs *fs, int fd, mode_t mode);
int aoki_fs_chown(struct aoki_fs *fs, const char *path, uid_t uid, gid_t gid);
int aoki_fs_fchown(struct aoki_fs *fs, int fd, uid_t uid, gid_t gid);

/*
 * aoki_fs_utimensat - set the access and modification times of @path from
 * @dirfd: @ts[0] atime, @ts[1] mtime; tv_nsec UTIME_NOW (the server's
 * clock) or UTIME_OMIT (unchanged); @ts NULL: both now.  @flags 0 or
 * AT_SYMLINK_NOFOLLOW.  aoki_fs_futimens - the same for @fd's file.
 * Return 0, or -EINVAL (a tv_nsec out of range, other @flags), -EACCES,
 * -EPERM, -EROFS, or a common error.  Restart: run again (UTIME_NOW
 * then takes the restarted server's time).  Progress: blocking, one round
 * trip (a path: two).
 */
int aoki_fs_utimensat(struct aoki_fs *fs, int dirfd, const char *path,
		      const struct timespec ts[2], int flags);
int aoki_fs_futimens(struct aoki_fs *fs, int fd, const struct timespec ts[2]);

/* ----------------------------------------------------------- namespace */

/*
 * aoki_fs_mkdir - create directory @path with @mode (masked with the
 * umask).  Returns 0, or -EEXIST, -ENOSPC, -EMLINK, -EROFS, -EDQUOT, or a
 * common error.  Restart: the dead server's mkdir gets its original
 * result (no spurious -EEXIST).  Progress: blocking, one round trip.
 */
int aoki_fs_mkdir(struct aoki_fs *fs, const char *path, mode_t mode);

/*
 * aoki_fs_rmdir - remove the empty directory @path.  aoki_fs_unlink -
 * remove the name @path of a file that is not a directory.
 * Return 0, or -ENOTEMPTY, -EBUSY (the root), -EINVAL (rmdir of "."),
 * -EISDIR (unlink of a directory), -ENOTDIR, -EPERM (sticky directory),
 * -EROFS, or a common error.  Restart: the dead server's removal gets its
 * original result (no spurious -ENOENT).  Progress: blocking, one round
 * trip.
 */
int aoki_fs_rmdir(struct aoki_fs *fs, const char *path);
int aoki_fs_unlink(struct aoki_fs *fs, const char *path);

/*
 * aoki_fs_rename - rename @oldpath to @newpath, replacing it atomically.
 * aoki_fs_renameat2 - the same from two directories, with @flags 0,
 * RENAME_NOREPLACE (-EEXIST if @newpath exists) or RENAME_EXCHANGE (swap
 * the two, both must exist).  Return 0, or -EINVAL (other @flags; a
 * directory moved into itself), -EEXIST, -ENOTEMPTY, -EISDIR, -ENOTDIR,
 * -EXDEV, -EBUSY, -EMLINK, -ENOSPC, -EROFS, or a common error.
 * Restart: the dead server's rename gets its original result.
 * Progress: blocking, one round trip.
 */
int aoki_fs_rename(struct aoki_fs *fs, const char *oldpath, const char *newpath);
int aoki_fs_renameat2(struct aoki_fs *fs, int olddirfd, const char *oldpath, int newdirfd,
		      const char *newpath, unsigned flags);

/*
 * aoki_fs_link - make @newpath a new name of the file @oldpath (not
 * followed if a symbolic link, as Linux's link(2)).  Returns 0, or
 * -EEXIST, -EPERM (a directory), -EMLINK, -ENOSPC, -EROFS, or a common
 * error.  Restart: the dead server's link gets its original result.
 * Progress: blocking, two round trips (look up, link).
 */
int aoki_fs_link(struct aoki_fs *fs, const char *oldpath, const char *newpath);

/*
 * aoki_fs_symlink - create @path, a symbolic link holding @target (at most
 * AOKI_FS_PATH_MAX - 1 bytes, not checked for existence).  Returns 0, or
 * -EEXIST, -ENOSPC, -EROFS, or a common error.  Restart: the dead server's
 * symlink gets its original result.  Progress: blocking, one round trip.
 */
int aoki_fs_symlink(struct aoki_fs *fs, const char *target, const char *path);

/*
 * aoki_fs_readlink - copy the target of symbolic link @path into @buf, at
 * most @cap bytes, without a NUL, as readlink(2).  Returns the bytes
 * copied, or -EINVAL (@path is not a symbolic link, or @cap 0), or a
 * common error.  Restart: run again.  Progress: blocking, two round
 * trips.
 */
ssize_t aoki_fs_readlink(struct aoki_fs *fs, const char *path, char *buf, size_t cap);

/* ---------------------------------------------------------- directories */

/* One directory entry. */
struct aoki_fs_dirent {
	uint64_t ino;
	unsigned char type;	/* DT_REG, DT_DIR, DT_LNK, ...; DT_UNKNOWN */
	char name[256];		/* NUL-terminated */
};

/*
 * aoki_fs_opendir - open directory @path for reading (read permission
 * needed).  It takes no descriptor.  Returns 0 with *@dir set, or
 * -ENOTDIR, -EACCES, -ENOMEM, or a common error.  Restart: run again.
 * Progress: blocking, one round trip.
 */
int aoki_fs_opendir(struct aoki_fs *fs, const char *path, struct aoki_fs_dir **dir);

/*
 * aoki_fs_readdir - the next entry of @dir into @ent ("." and ".."
 * included, in the server's order).  Entries come in batches, resumed by
 * the server's cookie: entries added or removed meanwhile may or may not
 * show, none shows twice.  Returns 1 (an entry), 0 (the end), -EPROTO (a
 * bad record from the server: the stream ends), or a common error (-ESTALE:
 * the directory was removed).  One thread at a time per @dir.
 * Restart: transparent (the cookie stays valid).  Progress: wait-free
 * from the current batch; blocking, one round trip, when it fetches the
 * next.
 */
int aoki_fs_readdir(struct aoki_fs_dir *dir, struct aoki_fs_dirent *ent);

/* aoki_fs_closedir - free @dir (NULL: nothing).  Never fails; no round
 * trip.  Restart: -.  Progress: wait-free (free(3)). */
void aoki_fs_closedir(struct aoki_fs_dir *dir);

/* ---------------------------------------------------------- file system */

/*
 * aoki_fs_statvfs - the file system's size and use, as statvfs(3):
 * f_bsize = f_frsize = the block size; f_fsid and f_flag 0.  Returns 0 or
 * a common error.  Restart: run again.  Progress: blocking, one round
 * trip.
 */
int aoki_fs_statvfs(struct aoki_fs *fs, struct statvfs *st);

/*
 * aoki_fs_syncfs - make everything written to the file system so far, by
 * any client, durable (a journal commit and a device flush).  Returns 0 or
 * a common error.  Restart: run again.  Progress: blocking, one round
 * trip.
 */
int aoki_fs_syncfs(struct aoki_fs *fs);

/* What the server did (mirrors the server's counters); for tools, tests
 * and benchmarks. */
struct aoki_fs_stats {
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

/*
 * aoki_fs_server_stats - the server's counters now (since it started: a
 * restarted server counts from 0).  Returns 0 or a common error.
 * Restart: run again.  Progress: blocking, one round trip.
 */
int aoki_fs_server_stats(struct aoki_fs *fs, struct aoki_fs_stats *out);

/* ------------------------------------------------------------- handles */

/*
 * The handle layer, for bridges that keep their own table of files (the
 * FUSE bridge aoki-fuse; an NFS server).  A handle names one inode:
 * nonzero, stable across server restarts, valid for as long as the inode
 * has a link; after that every call on it gets -ESTALE.  Names are taken
 * from a directory handle (one component, or a relative path resolved
 * from there).  No umask is applied: @mode is used as given.
 *
 * Credentials.  @as NULL: the server checks the call against the
 * connection's own uid and gid (SO_PEERCRED), as every other call of
 * this header.  @as non-NULL: against @as->uid / @as->gid (the caller's
 * primary group; supplementary groups are not passed), and new inodes
 * get those ids: the server accepts this only on a connection made by
 * root, and answers -EPERM to anyone else.  The data calls
 * (aoki_fs_hpread, aoki_fs_hpwrite, aoki_fs_hfsync, aoki_fs_hfallocate)
 * take no @as: check the caller when opening (aoki_fs_hopen), as the
 * kernel does.
 *
 * Each call is one round trip unless it says otherwise, with the
 * common errors above, and the restart behaviour of its path-based
 * namesake (creates, removals, renames, links and appends that the dead
 * server had done get their original result).  Progress: blocking, as
 * the path-based calls.
 */
typedef uint64_t aoki_fs_handle;

/* The root directory's handle. */
#define AOKI_FS_ROOT_HANDLE ((aoki_fs_handle)2 << 32)

/* Whom a handle call acts for (see above). */
struct aoki_fs_cred {
	uid_t uid;
	gid_t gid;
};

/* aoki_fs_hsetattr: which fields of struct aoki_fs_setattr to set. */
#define AOKI_FS_SET_MODE	0x01u
#define AOKI_FS_SET_UID		0x02u
#define AOKI_FS_SET_GID		0x04u
#define AOKI_FS_SET_SIZE	0x08u
#define AOKI_FS_SET_ATIME	0x10u
#define AOKI_FS_SET_MTIME	0x20u
#define AOKI_FS_SET_ATIME_NOW	0x40u	/* the server's clock */
#define AOKI_FS_SET_MTIME_NOW	0x80u

struct aoki_fs_setattr {
	unsigned valid;		/* AOKI_FS_SET_* */
	mode_t mode;		/* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime;
};

/*
 * aoki_fs_hlookup - the handle and attributes (@st may be NULL) of @name
 * in directory @dir, not following a final symbolic link.
 * aoki_fs_hgetattr - the attributes of @fh.
 * Return 0, or -ENOENT, -ENOTDIR, -EACCES (no search permission on
 * @dir), -ENAMETOOLONG, -ESTALE, or a common error.
 */
int aoki_fs_hlookup(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, aoki_fs_handle *fh, struct stat *st);
int aoki_fs_hgetattr(struct aoki_fs *fs, aoki_fs_handle fh, struct stat *st);

/*
 * aoki_fs_hsetattr - set the @sa->valid attributes of @fh (chmod, chown,
 * truncate, utimensat in one), with the permission rules of those calls;
 * the attributes after the change into @st (may be NULL).
 * Returns 0, or -EINVAL (unknown bits in valid, a time out of range),
 * -EPERM, -EACCES, -EISDIR, -EFBIG, -EROFS, or a common error.  Restart:
 * run again (setting is idempotent).
 */
int aoki_fs_hsetattr(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		     const struct aoki_fs_setattr *sa, struct stat *st);

/*
 * aoki_fs_haccess - access(2) on @fh: @mode F_OK, or R_OK | W_OK | X_OK.
 * Returns 0, or -EACCES, -EROFS (W_OK, read-only server), -EINVAL, or a
 * common error.
 */
int aoki_fs_haccess(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		    int mode);

/*
 * aoki_fs_hopen - open @fh with @flags (O_RDONLY, O_WRONLY or O_RDWR, with
 * O_TRUNC, O_DIRECTORY, O_NOFOLLOW; others as aoki_fs_open), checking the
 * access mode as open(2) does; the attributes after the open (a
 * truncation) into @st (may be NULL).  No descriptor is made: use the
 * handle.  aoki_fs_hcreate - open(2) with O_CREAT of @name in @dir:
 * created with @mode if missing (-EEXIST with O_EXCL), its handle into
 * *@fh.  Return 0, or the errors of aoki_fs_open.
 */
int aoki_fs_hopen(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		  int flags, struct stat *st);
int aoki_fs_hcreate(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, int flags, mode_t mode, aoki_fs_handle *fh,
		    struct stat *st);

/*
 * aoki_fs_hmkdir, aoki_fs_hsymlink - make directory @name (with @mode), or
 * a symbolic link @name holding @target, in @dir: the new handle into
 * *@fh and its attributes into @st (may be NULL).  aoki_fs_hlink - give
 * file @fh the new name @name in @dir; its attributes after into @st.
 * Return 0, or the errors of aoki_fs_mkdir, aoki_fs_symlink, aoki_fs_link.
 */
int aoki_fs_hmkdir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		   const char *name, mode_t mode, aoki_fs_handle *fh, struct stat *st);
int aoki_fs_hsymlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		     const char *name, const char *target, aoki_fs_handle *fh, struct stat *st);
int aoki_fs_hlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		  aoki_fs_handle dir, const char *name, struct stat *st);

/*
 * aoki_fs_hunlink, aoki_fs_hrmdir - remove @name from @dir.
 * aoki_fs_hrename - rename @name in @dir to @newname in @newdir, with
 * @flags as aoki_fs_renameat2.  Return 0, or the errors of aoki_fs_unlink,
 * aoki_fs_rmdir, aoki_fs_renameat2.
 */
int aoki_fs_hunlink(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name);
int aoki_fs_hrmdir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		   const char *name);
int aoki_fs_hrename(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle dir,
		    const char *name, aoki_fs_handle newdir, const char *newname,
		    unsigned flags);

/*
 * aoki_fs_hreadlink - the target of symbolic link @fh into @buf (at most
 * @cap bytes, no NUL).  Returns the bytes copied, or -EINVAL (not a
 * link, or @cap 0), or a common error.
 */
ssize_t aoki_fs_hreadlink(struct aoki_fs *fs, aoki_fs_handle fh, char *buf, size_t cap);

/*
 * aoki_fs_hopendir - open directory @fh for reading (read permission
 * checked for @as) as a stream for aoki_fs_readdir.  Returns 0 with *@dir
 * set, or the errors of aoki_fs_opendir.  Restart: run again.
 */
int aoki_fs_hopendir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		     struct aoki_fs_dir **dir);

/*
 * aoki_fs_telldir - where @dir stands: a cookie after the entry the last
 * aoki_fs_readdir returned (0: the start).  aoki_fs_seekdir - go back
 * or on to a cookie telldir gave (0: the start); the next readdir
 * fetches from there.  Cookies stay valid while entries come and go.
 * Never fail; no round trip.  Restart: cookies survive.  Progress:
 * wait-free.  One thread at a time per @dir.
 */
uint64_t aoki_fs_telldir(const struct aoki_fs_dir *dir);
void aoki_fs_seekdir(struct aoki_fs_dir *dir, uint64_t cookie);

/*
 * aoki_fs_hpread - read up to @len bytes of @fh at @offset into @buf.
 * aoki_fs_hpwrite - write @len bytes of @buf to @fh at @offset, or, with
 * @flags O_APPEND, at the end of the file (where the server places it);
 * *@end (may be NULL) is then the offset just past the data written.
 * As aoki_fs_pread / aoki_fs_pwrite otherwise (copy-free from an
 * aoki_fs_alloc buffer).  Return the bytes moved, or -EINVAL (other
 * @flags), -EISDIR, -EFBIG, -ENOSPC, or a common error.
 */
ssize_t aoki_fs_hpread(struct aoki_fs *fs, aoki_fs_handle fh, void *buf, size_t len,
		       uint64_t offset);
ssize_t aoki_fs_hpwrite(struct aoki_fs *fs, aoki_fs_handle fh, const void *buf, size_t len,
			uint64_t offset, int flags, uint64_t *end);

/*
 * aoki_fs_hfsync - as aoki_fs_fsync (@datasync: fdatasync) for @fh.
 * aoki_fs_hfallocate - as aoki_fs_fallocate for @fh.
 */
int aoki_fs_hfsync(struct aoki_fs *fs, aoki_fs_handle fh, int datasync);
int aoki_fs_hfallocate(struct aoki_fs *fs, aoki_fs_handle fh, int mode, int64_t offset,
		       int64_t len);

/* ----------------------------------------------------------- async I/O */

enum aoki_fs_opcode {
	AOKI_FS_OP_READ = 1,
	AOKI_FS_OP_WRITE,
};

/* One asynchronous request.  Positions are not used or moved. */
struct aoki_fs_io {
	uint16_t op;		/* enum aoki_fs_opcode */
	uint16_t flags;		/* 0 */
	uint32_t len;		/* bytes, at most AOKI_FS_MAX_IO */
	int fd;
	uint64_t offset;	/* ignored by a write on an O_APPEND descriptor */
	void *buf;		/* inside an aoki_fs_alloc() buffer */
	uint64_t tag;		/* returned in the completion */
};

/* One completion: @res is what pread / pwrite would return for it. */
struct aoki_fs_cqe {
	uint64_t tag;
	int64_t res;
};

/*
 * aoki_fs_submit - queue up to @n requests, in order.  Returns how many
 * were queued: fewer when queue_depth requests are in flight or the ring
 * is full (reap, then submit the rest).  A bad request is not queued and
 * ends the batch: the count before it is returned, or its error if it was
 * the first: -EINVAL (bad op, flags, len or offset), -EBADF (@fd not open,
 * or not for that direction), -EFAULT (@buf not inside one aoki_fs_alloc
 * buffer area).  Or a lost channel's error.
 * Restart: requests queued or in flight when the server dies are served
 * by the restarted one (appends get their original result).
 * Progress: lock-free per request (aoki_submit(3)) after a short mutex
 * (the in-flight table); wakes the server at most once.
 */
int aoki_fs_submit(struct aoki_fs *fs, const struct aoki_fs_io *ios, unsigned n);

/*
 * aoki_fs_reap - collect up to @max completions, waiting until at least
 * @min_complete are there or @timeout_ns passes (0: do not wait; <0: the
 * mount's timeout_ns, or forever while the server lives).  A completion
 * the server reports with more bytes than were asked has res -EPROTO.
 * Returns the number collected, or a lost channel's error.
 * Restart: completions of a dead server's requests come from the
 * restarted one, as if nothing happened.  Progress: as aoki_reap(3):
 * lock-free when not waiting, else blocking with that deadline.
 */
int aoki_fs_reap(struct aoki_fs *fs, struct aoki_fs_cqe *cqes, unsigned max,
		 unsigned min_complete, int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* AOKI_FS_H */
