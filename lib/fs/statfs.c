/* SPDX-License-Identifier: MIT */
/* statfs.c - the whole file system: statvfs, syncfs, the server's counters. */
#include <errno.h>
#include <string.h>

#include "fs.h"

int aoki_fs_statvfs(struct aoki_fs *fs, struct statvfs *st)
{
	struct fs_statfs s;
	int r = fs_statfs(fs, &s);

	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->f_bsize = s.bsize;
	st->f_frsize = s.bsize;
	st->f_blocks = s.blocks;
	st->f_bfree = s.bfree;
	st->f_bavail = s.bavail;
	st->f_files = s.files;
	st->f_ffree = s.ffree;
	st->f_favail = s.ffree;
	st->f_namemax = s.namemax;
	return 0;
}

int aoki_fs_syncfs(struct aoki_fs *fs)
{
	return fs_simple(fs, FS_OP_SYNCFS, 0, 0, 0, 0);
}

int aoki_fs_server_stats(struct aoki_fs *fs, struct aoki_fs_stats *out)
{
	struct fs_server_stats s;
	struct fs_meta m;
	int r = fs_meta_begin(fs, &m, NULL, NULL, sizeof(s));

	if (r < 0)
		return r;
	r = fs_meta_call(fs, &m, FS_OP_STATS);
	if (r >= 0)
		fs_meta_out(&m, &s, sizeof(s));
	fs_meta_end(fs, &m);
	if (r < 0)
		return r;
	*out = (struct aoki_fs_stats){
		.ops = s.ops, .data_read = s.data_read, .data_written = s.data_written,
		.bytes_copied = s.bytes_copied, .bytes_zeroed = s.bytes_zeroed,
		.commits = s.commits, .journal_blocks = s.journal_blocks,
		.checkpoints = s.checkpoints, .dedup_hits = s.dedup_hits,
		.replayed = s.replayed, .sequence = s.sequence,
	};
	return 0;
}
