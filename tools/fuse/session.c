/* SPDX-License-Identifier: MIT */
/*
 * session.c - the life of a mount: detach (unless -f) with a readiness
 * pipe, connect to aoki-fsd, prepare the hidden directory, mount, serve
 * with libfuse's multi-threaded loop until unmounted or signalled, then
 * unmount, drop what is left in the hidden directory and sync.  The
 * parent of a detached aoki-fuse exits only when the mount is usable
 * (0), or with the child's status when it is not: a script may use the
 * mount as soon as aoki-fuse returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge.h"

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* O_TRUNC in OPEN, checked and recorded by fsd as one operation. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* No splice: libfuse would splice every request into a pipe and
	 * copy all but writes out again (a system call more per request);
	 * a write's data is copied once, from libfuse's buffer into a grant,
	 * either way. */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
	/* Cached pages go when another client changed the file. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* The kernel clears set-ID bits on write with a SETATTR (op_setattr);
	 * writes go write-through to fsd, so O_APPEND is fsd's and sizes are
	 * fsd's; locks stay local to this mount. */
	conn->want &= ~(unsigned)(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_WRITEBACK_CACHE);
	conn->time_gran = 1;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.access = op_access,
	.readlink = op_readlink,
	.statfs = op_statfs,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.link = op_link,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	/* No xattr ops: the kernel gets ENOSYS once and answers EOPNOTSUPP
	 * from then on (fsd has no extended attributes). */
};

/*
 * Detach: fork; the parent waits for one byte on a pipe (the child's
 * "ready") and exits 0, or, if the pipe closes first, with the child's
 * exit status.  The child gets the pipe's write end in *@ready.
 */
static int detach(int *ready)
{
	int p[2], status;
	unsigned char byte;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		perror("aoki-fuse: cannot detach");
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	close(p[0]);
	setsid();
	*ready = p[1];
	return 0;
}

/* Tell the waiting parent the mount is usable; leave the terminal. */
static void signal_ready(int *ready)
{
	int null;

	if (*ready < 0)
		return;
	(void)!write(*ready, "", 1);
	close(*ready);
	*ready = -1;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	(void)!chdir("/");
}

/* libfuse's arguments: the mount options and -d; NULL on no memory. */
static char *mount_options(const struct bridge_opts *o)
{
	const char *port = o->port ? o->port : AOKI_FS_PORT;
	char *s = NULL;

	/* A port with a comma or backslash would split the option list. */
	if (strpbrk(port, ",\\"))
		port = "";
	if (asprintf(&s, "fsname=aoki-fsd%s%s,subtype=aoki%s%s%s", *port ? ":" : "", port,
		     o->allow_other ? ",allow_other" : "",
		     o->default_permissions ? ",default_permissions" : "",
		     o->read_only ? ",ro" : "") < 0)
		return NULL;
	return s;
}

/* Mount and serve; returns libfuse's loop result, or -1. */
static int serve(struct bridge *b, int *ready)
{
	char *opts = mount_options(&b->o);
	char *argv[] = { "aoki-fuse", "-o", opts, b->o.debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(b->o.debug ? 4 : 3, argv);
	struct fuse_loop_config *cfg = NULL;
	int r = -1;

	if (!opts) {
		fprintf(stderr, "aoki-fuse: no memory\n");
		return -1;
	}
	b->se = fuse_session_new(&args, &ops, sizeof(ops), b);
	if (!b->se)
		goto out;	/* libfuse said why */
	if (fuse_set_signal_handlers(b->se) < 0)
		goto out_session;
	if (fuse_session_mount(b->se, b->o.mountpoint) < 0) {
		fprintf(stderr, "aoki-fuse: cannot mount on %s\n", b->o.mountpoint);
		goto out_signals;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fprintf(stderr, "aoki-fuse: no memory\n");
		goto out_unmount;
	}
	fuse_loop_cfg_set_max_threads(cfg, b->o.max_threads);
	fuse_loop_cfg_set_idle_threads(cfg, (b->o.max_threads + 1) / 2);
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	signal_ready(ready);
	r = fuse_session_loop_mt(b->se, cfg);
	fuse_loop_cfg_destroy(cfg);
out_unmount:
	fuse_session_unmount(b->se);
out_signals:
	fuse_remove_signal_handlers(b->se);
out_session:
	fuse_session_destroy(b->se);
	b->se = NULL;
out:
	fuse_opt_free_args(&args);
	free(opts);
	return r;
}

int bridge_run(struct bridge *b)
{
	struct aoki_fs_opts fo = { .reconnect_ns = b->o.reconnect_ns };
	int ready = -1, r;

	if (!b->o.foreground && detach(&ready) < 0)
		return 1;
	r = aoki_fs_mount(b->o.port, &fo, &b->fs);
	if (r < 0) {
		fprintf(stderr, "aoki-fuse: cannot reach aoki-fsd on port %s: %s\n",
			b->o.port ? b->o.port : AOKI_FS_PORT, strerror(-r));
		return 1;
	}
	/* fsd trusts a caller's ids only from root: as anyone else, every
	 * request is fsd's check of aoki-fuse's own ids. */
	b->as_callers = geteuid() == 0;
	if (!b->o.read_only)
		orphans_setup(b);
	r = serve(b, &ready);
	orphans_teardown(b);
	if (!b->o.read_only)
		aoki_fs_syncfs(b->fs);	/* as umount(8): what was written is durable */
	aoki_fs_unmount(b->fs);
	b->fs = NULL;
	/* The loop returns the number of the signal that stopped it. */
	return r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP ? 0 : 1;
}
