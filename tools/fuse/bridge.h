/* SPDX-License-Identifier: MIT */
/*
 * bridge.h - aoki-fuse, the FUSE mount of aoki-fsd (private to
 * tools/fuse).  It translates the kernel's FUSE requests (libfuse3's
 * low-level API, one request per worker thread) into calls of the handle
 * layer of <aoki/fs.h>.
 *
 * Files, each calling only those above it:
 *   args.c      the command line and -o options
 *   reply.c     node ids <-> fsd handles, the caller's credentials,
 *               errno translation, entry and attribute replies
 *   nodes.c     the table of open files: open counts and orphan state
 *   orphans.c   the hidden directory that keeps unlinked open files
 *   ops_attr.c  getattr, setattr, access, readlink, statfs
 *   ops_name.c  lookup, forget, mkdir, mknod, symlink, link, unlink,
 *               rmdir, rename
 *   ops_file.c  create, open, read, write_buf, flush, release, fsync,
 *               fallocate
 *   ops_dir.c   opendir, readdir, readdirplus, releasedir, fsyncdir
 *   session.c   the operation table, connection set-up, mount, the
 *               readiness pipe, the loop, unmount
 *   main.c      aoki-fuse(8)
 *
 * Node ids.  A FUSE node id is the fsd file handle itself (inode number
 * << 32 | generation; the root directory is FUSE_ROOT_ID).  fsd keeps no
 * per-client state and its handles survive its restarts, so aoki-fuse
 * keeps none for looked-up inodes either: FORGET is a no-op and a node id
 * stays valid for as long as its inode lives (then -ESTALE, which the
 * kernel answers by looking the name up again).  The only table is the
 * one of open files (nodes.c), for unlink-while-open.
 *
 * Unlink while open.  fsd frees an inode when its last name goes.  When
 * the last name of a file this mount holds open is removed (unlink, or a
 * rename over it), aoki-fuse first gives the file a name in the hidden
 * directory /.aoki-orphans (a link: the removal stays atomic), reports
 * nlink 0 for it, and removes that name at the last release.  Names left
 * there by a crash are removed at the next mount.
 */
#ifndef AOKI_FUSE_BRIDGE_H
#define AOKI_FUSE_BRIDGE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "aoki/fs.h"

#define ORPHAN_DIR ".aoki-orphans"	/* in the root directory */

/* What the command line asked for (args.c). */
struct bridge_opts {
	const char *mountpoint;
	const char *port;		/* the fsd port; NULL: AOKI_FS_PORT */
	int foreground;			/* -f */
	int debug;			/* -d: libfuse's request log */
	int allow_other;		/* -o allow_other */
	int default_permissions;	/* -o default_permissions */
	int read_only;			/* -o ro */
	double attr_timeout;		/* -o attr_timeout=S (default 1) */
	double entry_timeout;		/* -o entry_timeout=S (default 1; 0 for
					 * allow_other without default_permissions) */
	int entry_timeout_set;		/* given on the command line */
	double negative_timeout;	/* -o negative_timeout=S (default 0) */
	unsigned max_threads;		/* -o max_threads=N (default 10) */
	int64_t reconnect_ns;		/* --reconnect-s S (default 30 s) */
};

/* One open file (the FUSE file handle points at it). */
struct node;
struct open_file {
	struct node *node;
	aoki_fs_handle fh;
	int flags;			/* the open's O_* flags that matter here */
};

/* One open directory (the kernel reads it one call at a time). */
struct open_dir {
	struct aoki_fs_dir *dir;
	int root;			/* the root directory: hide ORPHAN_DIR */
	int pending;			/* ent was read but not yet sent */
	uint64_t at, next;		/* the cookies before and after ent */
	struct aoki_fs_dirent ent;
};

/* The mount. */
struct bridge {
	struct bridge_opts o;
	struct aoki_fs *fs;
	int as_callers;			/* root: act for each caller (FS_CRED_AS) */
	aoki_fs_handle orphans;		/* the hidden directory; 0: none */
	struct fuse_session *se;
};

/* ---------------------------------------------------------------- args.c */

/*
 * bridge_parse_args - fill @o from the command line (aoki-fuse(8)).
 * Returns 0, 1 when --help or --version was answered (exit 0), or -1
 * after printing why the usage is wrong (exit 2).
 */
int bridge_parse_args(int argc, char **argv, struct bridge_opts *o);

/* --------------------------------------------------------------- reply.c */

/* The handle of node @ino, and the node id of handle @fh. */
aoki_fs_handle node_handle(fuse_ino_t ino);
fuse_ino_t node_id(aoki_fs_handle fh);

/* The bridge of @req (its session's user data). */
struct bridge *req_bridge(fuse_req_t req);

/*
 * req_cred - whom @req acts for: the caller's uid and primary gid when
 * aoki-fuse runs as root (fsd trusts them only from root), else NULL
 * (fsd checks aoki-fuse's own ids: only its owner can reach a mount
 * without allow_other).  @buf holds the result.
 */
const struct aoki_fs_cred *req_cred(fuse_req_t req, struct aoki_fs_cred *buf);

/*
 * kernel_errno - the errno to give the kernel for a -errno of <aoki/fs.h>:
 * a lost server (-ETIMEDOUT, -ECONNRESET) or a broken reply (-EPROTO) is
 * -EIO; everything else passes.  Returns a positive errno.
 */
int kernel_errno(int r);

/* Reply an error (a negative -errno of <aoki/fs.h>). */
void reply_err(fuse_req_t req, int r);

/* Fill @e for handle @fh with attributes @st and the mount's timeouts. */
void entry_fill(struct bridge *b, aoki_fs_handle fh, const struct stat *st,
		struct fuse_entry_param *e);

/* Reply a new or found entry (fuse_reply_entry), or the error @r. */
void reply_entry(fuse_req_t req, int r, aoki_fs_handle fh, const struct stat *st);

/* Reply attributes (fuse_reply_attr), with the nlink an orphan has. */
void reply_attr(fuse_req_t req, aoki_fs_handle fh, struct stat *st);

/* Is @name, in directory @parent, the hidden directory? */
int is_hidden(fuse_ino_t parent, const char *name);

/* --------------------------------------------------------------- nodes.c */

/*
 * node_open - count one more open of @fh (creating its entry); returns
 * the node, or NULL (no memory).  node_close - one open fewer; at the
 * last one the entry goes, and, if the file was orphaned, its hidden name
 * is removed (orphans.c).  Both: a short mutex, plus the node's own lock
 * and a round trip for the last close of an orphan.
 */
struct node *node_open(aoki_fs_handle fh);
void node_close(struct bridge *b, struct node *n);

/*
 * node_find - the open node of @fh with a reference, or NULL if the file
 * is not open here; node_put drops the reference.  While referenced, a
 * node stays (node_lock / node_unlock serialise orphaning against the
 * last close).
 */
struct node *node_find(aoki_fs_handle fh);
void node_put(struct node *n);
void node_lock(struct node *n);
void node_unlock(struct node *n);

/* Under node_lock: the open count, and the orphan flag. */
unsigned node_opens(const struct node *n);
int node_orphaned(const struct node *n);
void node_set_orphaned(struct node *n, int orphaned);

/* Any file open at all?  (Removals skip their extra look-up when not.) */
int nodes_any_open(void);

/* Is @fh an orphan (its last visible name removed while open)? */
int node_is_orphan(aoki_fs_handle fh);

/* ------------------------------------------------------------- orphans.c */

/*
 * orphans_setup - find or make the hidden directory (root, 0700) and
 * remove what a crashed aoki-fuse left in it.  Returns 0, or -errno (then
 * unlink-while-open is off: b->orphans stays 0, and a warning says so).
 */
int orphans_setup(struct bridge *b);

/* orphans_teardown - at unmount: no file is open any more; remove every
 * hidden name. */
void orphans_teardown(struct bridge *b);

/*
 * orphan_keep - before the last name of open file @fh is removed, give it
 * its hidden name (a link, as aoki-fuse itself).  orphan_drop - remove the
 * hidden name (after a failed removal, or at the last release).  Return 0
 * or -errno.
 */
int orphan_keep(struct bridge *b, aoki_fs_handle fh);
int orphan_drop(struct bridge *b, aoki_fs_handle fh);

/*
 * orphan_guard - before removing the name @name of @dir for @as (an
 * unlink, or a rename over it): if it is the last name of a file open
 * here, keep the file (orphan_keep) and return its node, locked and
 * referenced, with its handle in *@fh; else NULL (also when the name
 * does not resolve: the removal reports that).  orphan_settle - after
 * the removal returned @r: mark the node an orphan, or undo the keep;
 * unlock and drop the node (NULL: nothing).
 */
struct node *orphan_guard(struct bridge *b, const struct aoki_fs_cred *as, aoki_fs_handle dir,
			  const char *name, aoki_fs_handle *fh);
void orphan_settle(struct bridge *b, struct node *n, aoki_fs_handle fh, int r);

/* ------------------------------------------------------------ ops_*.c */

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
void op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void op_readlink(fuse_req_t req, fuse_ino_t ino);
void op_statfs(fuse_req_t req, fuse_ino_t ino);

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
		  struct fuse_file_info *fi);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi);

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ------------------------------------------------------------ session.c */

/*
 * bridge_run - connect to fsd, mount @b->o.mountpoint, signal readiness
 * (the parent of a daemonised aoki-fuse exits 0 then), serve until
 * unmounted or SIGTERM/SIGINT/SIGHUP, and unmount.  Returns the exit
 * status: 0 after a clean unmount, 1 when it could not mount or serve
 * (said on stderr).
 */
int bridge_run(struct bridge *b);

#endif
