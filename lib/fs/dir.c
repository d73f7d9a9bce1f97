/* SPDX-License-Identifier: MIT */
/*
 * dir.c - directory streams.  READDIR fills the args area with a batch of
 * struct fs_dirent records and the cookie to resume from; the batch is
 * copied out once, into the stream's own buffer, and every record is
 * checked there (length, alignment, name) before it is used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define DIR_BATCH 32768		/* bytes of records per READDIR */
#define DIRENT_HDR offsetof(struct fs_dirent, name)

struct aoki_fs_dir {
	struct aoki_fs *fs;
	uint64_t fh;
	uint64_t cookie;	/* where the next batch starts */
	uint64_t tell;		/* the cookie after the last entry returned */
	int eof;		/* no batch after this one */
	size_t len, pos;	/* bytes of the batch in buf, and the next record */
	char buf[DIR_BATCH];
};

/* A stream of directory @fh, which an OPEN just checked. */
static int new_stream(struct aoki_fs *fs, uint64_t fh, struct aoki_fs_dir **out)
{
	struct aoki_fs_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fs = fs;
	d->fh = fh;
	*out = d;
	return 0;
}

int aoki_fs_opendir(struct aoki_fs *fs, const char *path, struct aoki_fs_dir **out)
{
	struct fs_meta m;
	uint64_t fh;
	int r = fs_meta_begin(fs, &m, path, NULL, sizeof(struct fs_attr));

	if (r < 0)
		return r;
	m.args->dir = FS_ROOT_FH;
	m.args->flags = O_RDONLY | O_DIRECTORY;
	r = fs_meta_call(fs, &m, FS_OP_OPEN);
	if (r >= 0)
		r = fs_meta_handle(&m, &fh);
	fs_meta_end(fs, &m);
	return r < 0 ? r : new_stream(fs, fh, out);
}

int aoki_fs_hopendir(struct aoki_fs *fs, const struct aoki_fs_cred *as, aoki_fs_handle fh,
		     struct aoki_fs_dir **out)
{
	int r = aoki_fs_hopen(fs, as, fh, O_RDONLY | O_DIRECTORY, NULL);

	return r < 0 ? r : new_stream(fs, fh, out);
}

uint64_t aoki_fs_telldir(const struct aoki_fs_dir *d)
{
	return d->tell;
}

void aoki_fs_seekdir(struct aoki_fs_dir *d, uint64_t cookie)
{
	d->cookie = d->tell = cookie;
	d->len = d->pos = 0;
	d->eof = 0;
}

/* Fetch the next batch into d->buf. */
static int fetch(struct aoki_fs_dir *d)
{
	struct fs_meta m;
	uint64_t next;
	int r = fs_meta_begin(d->fs, &m, NULL, NULL, DIR_BATCH);

	if (r < 0)
		return r;
	m.args->fh = d->fh;
	m.args->offset = d->cookie;
	r = fs_meta_call(d->fs, &m, FS_OP_READDIR);
	/* One read of the cookie the server wrote back into the area. */
	memcpy(&next, (char *)m.args + offsetof(struct fs_args, offset), sizeof(next));
	if (r > DIR_BATCH)
		r = -EPROTO;
	if (r >= 0)
		fs_meta_out(&m, d->buf, (size_t)r);
	fs_meta_end(d->fs, &m);
	if (r < 0)
		return r;
	d->len = (size_t)r;
	d->pos = 0;
	d->cookie = next;
	d->eof = !r || !next;	/* an empty batch ends the stream too */
	return 0;
}

/* Parse the record at d->pos into @ent; -EPROTO if it is malformed. */
static int parse(struct aoki_fs_dir *d, struct aoki_fs_dirent *ent)
{
	struct fs_dirent h;
	const char *name;

	if (d->len - d->pos < DIRENT_HDR)
		return -EPROTO;
	memcpy(&h, d->buf + d->pos, DIRENT_HDR);
	name = d->buf + d->pos + DIRENT_HDR;
	if (!h.name_len || h.reclen % 8 || h.reclen < DIRENT_HDR + h.name_len + 1u ||
	    h.reclen > d->len - d->pos || name[h.name_len] ||
	    memchr(name, 0, h.name_len) || memchr(name, '/', h.name_len))
		return -EPROTO;
	ent->ino = h.ino;
	ent->type = h.type;
	d->tell = h.cookie;
	memcpy(ent->name, name, h.name_len);
	ent->name[h.name_len] = 0;
	d->pos += h.reclen;
	return 0;
}

int aoki_fs_readdir(struct aoki_fs_dir *d, struct aoki_fs_dirent *ent)
{
	int r;

	if (d->pos >= d->len) {
		if (d->eof)
			return 0;
		r = fetch(d);
		if (r < 0)
			return r;
		if (!d->len)
			return 0;
	}
	r = parse(d, ent);
	if (r < 0) {
		d->eof = 1;	/* nothing after a bad record can be trusted */
		d->len = d->pos = 0;
		return r;
	}
	return 1;
}

void aoki_fs_closedir(struct aoki_fs_dir *d)
{
	free(d);
}
