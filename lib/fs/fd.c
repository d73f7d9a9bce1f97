/* SPDX-License-Identifier: MIT */
/*
 * fd.c - the client-side descriptor table.  A descriptor is an index into
 * slots allocated FS_FD_CHUNK at a time and never moved or freed before
 * unmount, so a slot's pos_lock can be held without the table lock.  Each
 * slot has a generation, bumped when it is freed: an operation that
 * snapshotted a descriptor updates its position only if the same open is
 * still there.  All other fields are guarded by fs->fd_lock, held for a
 * few loads and stores at a time.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs.h"

#define NCHUNKS (AOKI_FS_MAX_FDS / FS_FD_CHUNK)

struct fs_file *fs_fd_slot(struct aoki_fs *fs, int fd)
{
	struct fs_file *chunk;

	if (fd < 0 || fd >= AOKI_FS_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&fs->fd_lock);
	chunk = fs->fd_chunks[fd / FS_FD_CHUNK];
	pthread_mutex_unlock(&fs->fd_lock);
	return chunk ? &chunk[fd % FS_FD_CHUNK] : NULL;
}

int fs_fd_reserve(struct aoki_fs *fs)
{
	int r = -EMFILE;

	pthread_mutex_lock(&fs->fd_lock);
	for (unsigned c = 0; c < NCHUNKS && r == -EMFILE; c++) {
		struct fs_file *chunk = fs->fd_chunks[c];

		if (!chunk) {
			chunk = calloc(FS_FD_CHUNK, sizeof(*chunk));
			if (!chunk) {
				r = -ENOMEM;
				break;
			}
			for (unsigned i = 0; i < FS_FD_CHUNK; i++)
				pthread_mutex_init(&chunk[i].pos_lock, NULL);
			fs->fd_chunks[c] = chunk;
		}
		for (unsigned i = 0; i < FS_FD_CHUNK; i++) {
			if (chunk[i].state == FS_FD_FREE) {
				chunk[i].state = FS_FD_RESERVED;
				r = (int)(c * FS_FD_CHUNK + i);
				break;
			}
		}
	}
	pthread_mutex_unlock(&fs->fd_lock);
	return r;
}

/* The slot of @fd; the caller holds fd_lock. */
static struct fs_file *slot_locked(struct aoki_fs *fs, int fd)
{
	struct fs_file *chunk;

	if (fd < 0 || fd >= AOKI_FS_MAX_FDS)
		return NULL;
	chunk = fs->fd_chunks[fd / FS_FD_CHUNK];
	return chunk ? &chunk[fd % FS_FD_CHUNK] : NULL;
}

void fs_fd_install(struct aoki_fs *fs, int fd, uint64_t fh, int flags)
{
	struct fs_file *f;

	pthread_mutex_lock(&fs->fd_lock);
	f = slot_locked(fs, fd);
	f->fh = fh;
	f->flags = flags;
	f->pos = 0;
	f->state = FS_FD_OPEN;
	pthread_mutex_unlock(&fs->fd_lock);
}

void fs_fd_release(struct aoki_fs *fs, int fd)
{
	struct fs_file *f;

	pthread_mutex_lock(&fs->fd_lock);
	f = slot_locked(fs, fd);
	f->state = FS_FD_FREE;
	f->gen++;
	pthread_mutex_unlock(&fs->fd_lock);
}

int fs_fd_get(struct aoki_fs *fs, int fd, struct fs_fd_info *out)
{
	struct fs_file *f;
	int r = -EBADF;

	pthread_mutex_lock(&fs->fd_lock);
	f = slot_locked(fs, fd);
	if (f && f->state == FS_FD_OPEN) {
		*out = (struct fs_fd_info){ f->fh, f->pos, f->gen, f->flags };
		r = 0;
	}
	pthread_mutex_unlock(&fs->fd_lock);
	return r;
}

void fs_fd_set_pos(struct aoki_fs *fs, int fd, uint32_t gen, uint64_t pos)
{
	struct fs_file *f;

	pthread_mutex_lock(&fs->fd_lock);
	f = slot_locked(fs, fd);
	if (f && f->state == FS_FD_OPEN && f->gen == gen)
		f->pos = pos;
	pthread_mutex_unlock(&fs->fd_lock);
}

int fs_fd_dir(struct aoki_fs *fs, int dirfd, uint64_t *fh)
{
	struct fs_fd_info info;
	int r;

	if (dirfd == AOKI_FS_CWD) {
		*fh = FS_ROOT_FH;
		return 0;
	}
	r = fs_fd_get(fs, dirfd, &info);
	if (r == 0)
		*fh = info.fh;
	return r;
}

int aoki_fs_close(struct aoki_fs *fs, int fd)
{
	struct fs_file *f;
	int r = -EBADF;

	pthread_mutex_lock(&fs->fd_lock);
	f = slot_locked(fs, fd);
	if (f && f->state == FS_FD_OPEN) {
		f->state = FS_FD_FREE;
		f->gen++;
		r = 0;
	}
	pthread_mutex_unlock(&fs->fd_lock);
	return r;
}

void fs_fd_fini(struct aoki_fs *fs)
{
	for (unsigned c = 0; c < NCHUNKS; c++) {
		struct fs_file *chunk = fs->fd_chunks[c];

		if (!chunk)
			continue;
		for (unsigned i = 0; i < FS_FD_CHUNK; i++)
			pthread_mutex_destroy(&chunk[i].pos_lock);
		free(chunk);
		fs->fd_chunks[c] = NULL;
	}
}
