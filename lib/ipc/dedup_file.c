/* SPDX-License-Identifier: MIT */
/*
 * dedup_file.c - creating, validating and mapping an aoki_dedup table
 * (format in dedup_layout.h, use in dedup.c).  The file is hostile until
 * proven otherwise: its header is read into a private copy, every offset
 * is recomputed from the two free parameters and must match, the file
 * size must be exactly the computed one (so no access can SIGBUS), and
 * nothing read from the mapping later is used as an offset or length
 * without a check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dedup_layout.h"

int dd_geometry(uint32_t max_clients, uint32_t window, struct dd_hdr *g)
{
	uint64_t recs;

	if (max_clients < 1 || max_clients > DD_MAX_CLIENTS)
		return -EINVAL;
	if (window < DD_MIN_WINDOW || window > DD_MAX_WINDOW || (window & (window - 1)))
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->magic = DD_MAGIC;
	g->version = DD_VERSION;
	g->hdr_size = DD_HDR_SIZE;
	g->max_clients = max_clients;
	g->window = window;
	g->slot_size = DD_SLOT_SIZE;
	g->rec_size = DD_REC_SIZE;
	g->slots_off = DD_HDR_SIZE;
	g->recs_off = g->slots_off + (uint64_t)max_clients * DD_SLOT_SIZE;
	recs = (uint64_t)max_clients * window * DD_REC_SIZE;	/* < 2^38: no overflow */
	g->total_size = g->recs_off + recs;
	return g->total_size > DD_MAX_TOTAL ? -EINVAL : 0;
}

/* Is the private copy @h of a file's header a table of @size bytes? */
static int header_check(const struct dd_hdr *h, uint64_t size)
{
	struct dd_hdr want;

	if (h->magic != DD_MAGIC || h->version != DD_VERSION ||
	    dd_geometry(h->max_clients, h->window, &want) < 0)
		return -EBADMSG;
	want.salt = h->salt;	/* the one free field */
	if (memcmp(&want, h, sizeof(want)) != 0 || size != want.total_size)
		return -EBADMSG;
	return 0;
}

/* The pins records of live slot @c hold (see dd_rec.held). */
static uint64_t holds_of(const struct aoki_dedup *dd, uint32_t c)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < dd->g.window; i++)
		n += atomic_load_explicit(&dd->recs[(uint64_t)c * dd->g.window + i].held,
					  memory_order_relaxed) != 0;
	return n;	/* <= DD_MAX_WINDOW < 2^DD_BUSY_BITS */
}

/*
 * After a crash: the threads that pinned slots are gone, but a request
 * cut off between begin and the publication of its reply will run again,
 * and its record must survive until then.  So each live slot's busy
 * count becomes the number of its records that hold a pin (released when
 * the rerun's reply is published); a claim cut short leaves a free slot.
 * Run under the flock, before any other thread can see the table.
 * O(max_clients x window) over live slots.
 */
static void sweep(struct aoki_dedup *dd)
{
	for (uint32_t c = 0; c < dd->g.max_clients; c++) {
		_Atomic uint64_t *st = &dd->slots[c].state;
		uint64_t s = atomic_load_explicit(st, memory_order_relaxed);
		enum dd_kind k = dd_kind_of(s) == DD_LIVE ? DD_LIVE : DD_FREE;
		uint64_t busy = k == DD_LIVE ? holds_of(dd, c) : 0;

		/* Relaxed: single-threaded here; aoki_dedup_open's caller
		 * publishes the table to its threads (pthread_create or a
		 * lock does the ordering). */
		if (s != dd_state(dd_ver_of(s), busy, k))
			atomic_store_explicit(st, dd_state(dd_ver_of(s), busy, k),
					      memory_order_relaxed);
	}
}

/* Validate and map the table open on @fd (which this takes over). */
static int map_table(int fd, const struct aoki_dedup_opts *want, struct aoki_dedup **out)
{
	struct aoki_dedup *dd;
	struct stat st;
	struct dd_hdr h;
	int r;

	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	r = -EBADMSG;
	if (!S_ISREG(st.st_mode) || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    header_check(&h, (uint64_t)st.st_size) < 0)
		goto fail;
	r = -EINVAL;
	if ((want->max_clients && want->max_clients != h.max_clients) ||
	    (want->window && want->window != h.window))
		goto fail;
	r = -ENOMEM;
	dd = calloc(1, sizeof(*dd));
	if (!dd)
		goto fail;
	dd->map = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dd->map == MAP_FAILED) {
		r = -errno;
		free(dd);
		goto fail;
	}
	dd->fd = fd;
	dd->g = h;
	dd->slots = (struct dd_slot *)((char *)dd->map + h.slots_off);
	dd->recs = (struct dd_rec *)((char *)dd->map + h.recs_off);
	sweep(dd);
	*out = dd;
	return 0;
fail:
	close(fd);
	return r;
}

/*
 * A new file to become @path: unnamed, in @path's directory (O_TMPFILE;
 * *@tmp = ""), or where @named or the file system says so, the file
 * "<path>.new-<pid>" (its name in *@tmp).
 */
static int create_file(const char *path, int named, char *tmp, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	int fd;

	if (dirlen >= cap)
		return -ENAMETOOLONG;
	if (!named) {
		memcpy(tmp, dirlen ? path : ".", dirlen ? dirlen : 1);
		tmp[dirlen ? dirlen : 1] = 0;
		fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		tmp[0] = 0;
		if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
			return fd >= 0 ? fd : -errno;
	}
	if (snprintf(tmp, cap, "%s.new-%ld", path, (long)getpid()) >= (int)cap)
		return -ENAMETOOLONG;
	unlink(tmp);	/* left by a dead process with our pid */
	fd = open(tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd >= 0 ? fd : -errno;
}

/* Give the complete file @fd (named @tmp, or unnamed) the name @path. */
static int name_file(int fd, const char *tmp, const char *path)
{
	char proc[64];

	if (tmp[0])
		return link(tmp, path) < 0 ? -errno : 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/*
 * Create a fresh table and give it the name @path, atomically: it is
 * complete before it has a name, so a crash leaves no half-written file.
 * Returns its descriptor, -EEXIST if somebody else created @path first,
 * or -errno.
 */
static int create_table(const char *path, const struct dd_hdr *g)
{
	char tmp[PATH_MAX];
	struct dd_hdr h = *g;
	int fd, r = 0;

	if (getrandom(&h.salt, sizeof(h.salt), GRND_NONBLOCK) != (ssize_t)sizeof(h.salt))
		h.salt = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	for (int named = 0; named < 2; named++) {
		fd = create_file(path, named, tmp, sizeof(tmp));
		if (fd < 0)
			return fd;
		if (ftruncate(fd, (off_t)h.total_size) < 0)
			r = -errno;
		else if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			r = -EIO;
		else
			r = name_file(fd, tmp, path);
		if (tmp[0])
			unlink(tmp);
		if (r == 0)
			return fd;
		close(fd);
		/* Without /proc an unnamed file cannot be named: use a name. */
		if (r != -ENOENT || tmp[0])
			break;
	}
	return r;
}

int aoki_dedup_open(const char *path, const struct aoki_dedup_opts *opts,
		    struct aoki_dedup **out)
{
	struct aoki_dedup_opts want = { 0 };
	struct dd_hdr g;
	int fd, r;

	if (!path || !path[0] || !out)
		return -EINVAL;
	if (opts)
		want = *opts;
	r = dd_geometry(want.max_clients ? want.max_clients : DD_DEFAULT_CLIENTS,
			want.window ? want.window : DD_DEFAULT_WINDOW, &g);
	if (r < 0)
		return r;
	/* Open, else create; a creator racing us only makes us open again. */
	for (int tries = 0; tries < 8; tries++) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == ENOENT)
			fd = create_table(path, &g);
		else if (fd < 0)
			fd = -errno;
		if (fd >= 0)
			return map_table(fd, &want, out);
		if (fd != -EEXIST)
			return fd;
	}
	return -EAGAIN;
}

void aoki_dedup_close(struct aoki_dedup *dd)
{
	if (!dd)
		return;
	munmap(dd->map, dd->g.total_size);
	close(dd->fd);	/* drops the flock */
	free(dd);
}

void aoki_dedup_geometry(const struct aoki_dedup *dd, struct aoki_dedup_opts *out)
{
	out->max_clients = dd->g.max_clients;
	out->window = dd->g.window;
}
