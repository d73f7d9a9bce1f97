/* SPDX-License-Identifier: MIT */
/*
 * stats.c - aoki-fsd's figures for the stats request of the IPC library
 * (cfg.stats_fn, see aoki_query_stats(3)): its operation counters and
 * the state of its journal (where the live log starts and ends, how much
 * of it is used, whether the image would need recovery now).
 *
 * fsd runs one worker (libext2fs is not thread-safe), and the library
 * calls stats_fn on a worker: this runs on the metadata thread, between
 * requests, so it reads the plain counters and the journal directly.
 */
#include <stdio.h>

#include "fsd.h"

/* Append "key=value\n" to @out if the whole line fits in @cap. */
static void put(char *out, size_t cap, size_t *len, const char *key, uint64_t value)
{
	int n = snprintf(out + *len, cap - *len, "%s=%llu\n", key, (unsigned long long)value);

	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
}

/* Log blocks between the oldest live transaction and the next commit's
 * place, in the circular area [first, blocks); 0 when the log is empty. */
static uint32_t journal_used(const struct journal_info *ji)
{
	uint32_t area = ji->blocks > ji->first ? ji->blocks - ji->first : 0;

	if (!ji->start || !area)
		return 0;
	return (ji->head + area - ji->start) % area;
}

int fsd_stats(void *arg, void *buf, size_t cap)
{
	const struct fsd *d = arg;
	struct journal_info ji = { 0 };
	size_t len = 0;

	if (d->journal)
		journal_get_info(d->journal, &ji);
	put(buf, cap, &len, "ops", d->st.ops);
	put(buf, cap, &len, "data_read", d->st.data_read);
	put(buf, cap, &len, "data_written", d->st.data_written);
	put(buf, cap, &len, "bytes_copied", d->st.bytes_copied);
	put(buf, cap, &len, "dedup_hits", d->st.dedup_hits);
	put(buf, cap, &len, "commits", d->st.commits);
	put(buf, cap, &len, "journal_blocks", d->st.journal_blocks);
	put(buf, cap, &len, "checkpoints", d->st.checkpoints);
	put(buf, cap, &len, "replayed", d->st.replayed);
	put(buf, cap, &len, "journal_size", ji.blocks);
	put(buf, cap, &len, "journal_tail", ji.start);
	put(buf, cap, &len, "journal_head", ji.head);
	put(buf, cap, &len, "journal_used", journal_used(&ji));
	put(buf, cap, &len, "journal_next_tid", ji.next_tid);
	put(buf, cap, &len, "dirty_blocks", d->cache.ndirty);
	put(buf, cap, &len, "uncheckpointed_blocks", d->cache.ncommitted);
	put(buf, cap, &len, "needs_recovery",
	    d->fs && ext2fs_has_feature_journal_needs_recovery(d->fs->super));
	put(buf, cap, &len, "read_only", d->cfg.read_only || d->io_error);
	return (int)len;
}
