/* SPDX-License-Identifier: MIT */
/* soak_log.c - aoki-soakd's durable per-client append logs (soak_log.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "soak_log.h"

struct soak_log {
	uid_t uid;
	uint8_t id[AOKI_CLIENT_ID_LEN];
	struct soak_log_hdr *hdr;	/* the mapping */
	struct soak_log_entry *ent;
};

struct soak_logs {
	const char *dir;
	pthread_mutex_t lock;
	struct soak_log *tab[SOAK_LOGS_MAX];	/* open addressing; never removed */
	unsigned n;
};

int soak_logs_open(const char *dir, struct soak_logs **out)
{
	struct soak_logs *logs = calloc(1, sizeof(*logs));

	if (!logs)
		return -ENOMEM;
	logs->dir = dir;
	pthread_mutex_init(&logs->lock, NULL);
	*out = logs;
	return 0;
}

void soak_logs_close(struct soak_logs *logs)
{
	if (!logs)
		return;
	for (unsigned i = 0; i < SOAK_LOGS_MAX; i++) {
		if (logs->tab[i]) {
			munmap(logs->tab[i]->hdr, SOAK_LOG_FILE_SIZE);
			free(logs->tab[i]);
		}
	}
	pthread_mutex_destroy(&logs->lock);
	free(logs);
}

/* Open (or create) and map one log file. */
static int log_map(const char *dir, uid_t uid, const uint8_t id[AOKI_CLIENT_ID_LEN],
		   int create, struct soak_log **out)
{
	char path[PATH_MAX], hex[2 * AOKI_CLIENT_ID_LEN + 1];
	struct soak_log *log;
	struct stat st;
	void *map;
	int fd, r = 0;

	for (unsigned i = 0; i < AOKI_CLIENT_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if (snprintf(path, sizeof(path), "%s/log-%u-%s", dir, (unsigned)uid, hex) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EBADMSG;
	else if (st.st_size == 0 && ftruncate(fd, (off_t)SOAK_LOG_FILE_SIZE) < 0)
		r = -errno;	/* new, or its creation was cut short: all zero is empty */
	else if (st.st_size != 0 && (uint64_t)st.st_size != SOAK_LOG_FILE_SIZE)
		r = -EBADMSG;
	if (r < 0) {
		close(fd);
		return r;
	}
	map = mmap(NULL, SOAK_LOG_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	log = calloc(1, sizeof(*log));
	if (!log) {
		munmap(map, SOAK_LOG_FILE_SIZE);
		return -ENOMEM;
	}
	log->uid = uid;
	memcpy(log->id, id, AOKI_CLIENT_ID_LEN);
	log->hdr = map;
	log->ent = (struct soak_log_entry *)(log->hdr + 1);
	*out = log;
	return 0;
}

int soak_log_get(struct soak_logs *logs, uid_t uid, const uint8_t id[AOKI_CLIENT_ID_LEN],
		 int create, struct soak_log **out)
{
	uint64_t h = (uint64_t)uid * 0x9e3779b97f4a7c15ull;
	unsigned i;
	int r = -ENOSPC;

	h = util_fnv1a64_add(h, id, AOKI_CLIENT_ID_LEN);
	pthread_mutex_lock(&logs->lock);
	for (unsigned n = 0; n < SOAK_LOGS_MAX; n++) {
		struct soak_log *l;

		i = (unsigned)((h + n) % SOAK_LOGS_MAX);
		l = logs->tab[i];
		if (l && l->uid == uid && !memcmp(l->id, id, AOKI_CLIENT_ID_LEN)) {
			*out = l;
			r = 0;
			break;
		}
		if (!l) {
			r = log_map(logs->dir, uid, id, create, &logs->tab[i]);
			if (r == 0)
				*out = logs->tab[i];
			break;
		}
	}
	pthread_mutex_unlock(&logs->lock);
	return r;
}

uint64_t soak_log_count(const struct soak_log *log)
{
	/* Acquire: pairs with the append's release, so the entries below
	 * the count are complete. */
	return atomic_load_explicit(&log->hdr->count, memory_order_acquire);
}

uint64_t soak_log_append(struct soak_log *log, uint64_t seq, uint64_t value)
{
	uint64_t n = soak_log_count(log);
	struct soak_log_entry *e = &log->ent[n % SOAK_LOG_RING];

	e->seq = seq;
	e->value = value;
	/* Release: the entry precedes the count that includes it, for the
	 * readers and for the next server after a crash (program order is
	 * what survives a SIGKILL). */
	atomic_store_explicit(&log->hdr->count, n + 1, memory_order_release);
	return n;
}

int soak_log_find(const struct soak_log *log, uint64_t seq, uint64_t tail, uint64_t *index)
{
	uint64_t n = soak_log_count(log);

	if (tail > SOAK_LOG_RING)
		tail = SOAK_LOG_RING;
	for (uint64_t i = n; i > 0 && n - i < tail; i--) {
		if (log->ent[(i - 1) % SOAK_LOG_RING].seq == seq) {
			*index = i - 1;
			return 0;
		}
	}
	return -ENOENT;
}
