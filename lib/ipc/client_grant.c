/* SPDX-License-Identifier: MIT */
/* client_grant.c - registering and revoking grants (client side). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "sys.h"

static void grant_release(struct client_grant *g)
{
	if (g->mem)
		munmap(g->mem, g->size);
	if (g->fd >= 0)
		close(g->fd);
}

/*
 * Register @memfd and record it under the id the server chose, with a copy
 * of the descriptor to hand to a restarted server, in one hold of ctl_lock
 * so that a reconnect sees either none of it or all of it.  A server that
 * dies during the round trip is reconnected and asked again.
 */
static int grant_add(struct aoki_chan *ch, int memfd, unsigned rights, void *mem,
		     size_t size, uint32_t *id)
{
	struct ctl_msg m;
	int fds[CTL_MAX_FDS];
	unsigned nfds;
	int r, mine;

	if (!rights || (rights & ~(AOKI_GRANT_READ | AOKI_GRANT_WRITE)) || memfd < 0)
		return -EINVAL;
	mine = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return -errno;
	pthread_mutex_lock(&ch->ctl_lock);
	for (;;) {
		uint32_t gen = atomic_load_explicit(&ch->conn_gen, memory_order_relaxed);

		r = chan_lost(ch);
		if (r < 0)
			break;
		m = (struct ctl_msg){ .rights = rights };
		nfds = 0;
		r = ctl_send(ch->ctl_fd, CTL_GRANT_ADD, &m, &memfd, 1);
		if (r == 0)
			r = ctl_recv(ch->ctl_fd, &m, fds, &nfds, CTL_TIMEOUT_MS);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (r != -EPIPE && r != -ECONNRESET)
			break;
		if (!chan_recover_locked(ch, gen)) {
			r = chan_lost(ch);
			break;
		}
	}
	if (r == 0 && m.type == CTL_BYE) {
		/* Dropped for a protocol violation while we asked. */
		chan_set_lost(ch, -ECONNRESET);
		r = -ECONNRESET;
	}
	if (r == 0 && m.type != CTL_GRANT_ACK)
		r = -EBADMSG;
	if (r == 0 && m.status < 0)
		r = m.status;
	if (r == 0 && m.id >= ch->geom.max_grants)
		r = -EBADMSG;
	if (r == 0) {
		*id = m.id;
		/* A record still here is from a revoke that timed out but went
		 * through after all: its id was free to hand out again. */
		grant_release(&ch->grants[m.id]);
		ch->grants[m.id] = (struct client_grant){
			.mem = mem, .size = size, .fd = mine, .rights = rights,
			.serial = ++ch->grant_serial };
	}
	pthread_mutex_unlock(&ch->ctl_lock);
	if (r < 0)
		close(mine);
	return r;
}

int aoki_grant_register_fd(struct aoki_chan *ch, int memfd, unsigned rights,
			   uint32_t *id)
{
	return grant_add(ch, memfd, rights, NULL, 0, id);
}

int aoki_grant_create(struct aoki_chan *ch, size_t size, unsigned rights,
		      uint32_t *id, void **mem)
{
	void *p;
	int fd, r;

	if (!size || !id || !mem)
		return -EINVAL;
	fd = memfd_create("aoki-grant", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	r = grant_add(ch, fd, rights, p, size, id);
	close(fd);	/* grant_add keeps its own copy */
	if (r < 0) {
		munmap(p, size);
		return r;
	}
	*mem = p;
	return 0;
}

/*
 * Queue the in-band revoke of grant @id and note its position in the
 * grant's record, both under ctl_lock: a reconnect then either sees no
 * revoke (and restores the grant), or the revoke's position, and restores
 * the grant only while the revoke is not done.  -EAGAIN (the ring full)
 * is waited out until @deadline.
 */
static int revoke_submit(struct aoki_chan *ch, uint32_t id, uint64_t serial,
			 int64_t deadline, struct chan_ticket *t)
{
	int r;

	for (;;) {
		pthread_mutex_lock(&ch->ctl_lock);
		r = chan_lost(ch);
		if (r == 0 && ch->grants[id].serial != serial)
			r = -ENOENT;	/* released meanwhile */
		if (r == 0)
			r = chan_submit_one(ch, OP_GRANT_REVOKE, &id, sizeof(id), 0, 0, 0, t);
		if (r == 0) {
			ch->grants[id].revoke_pos = t->pos + 1;
			ch->grants[id].revoke_idx = t->idx;
		}
		pthread_mutex_unlock(&ch->ctl_lock);
		if (r != -EAGAIN)
			return r;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}

int aoki_grant_revoke(struct aoki_chan *ch, uint32_t id)
{
	struct client_grant g;
	struct chan_ticket t;
	int64_t deadline;
	int r;

	if (id >= ch->geom.max_grants)
		return -ENOENT;
	/* Take the mapping out of the record *before* the revoke: once the
	 * server has revoked the grant, another thread's aoki_grant_create
	 * may get the same id, and its record must not be confused with
	 * ours (the serial tells them apart).  The descriptor stays: until
	 * the revoke is done, a reconnect must hand the grant to the next
	 * server, since requests queued before the revoke may use it. */
	pthread_mutex_lock(&ch->ctl_lock);
	g = ch->grants[id];
	if (g.fd >= 0 && g.revoke_pos && chan_request_done(ch, g.revoke_idx, g.revoke_pos - 1)) {
		/* An earlier revoke that timed out has gone through since. */
		ch->grants[id] = (struct client_grant){ .fd = -1 };
		grant_release(&g);
		pthread_mutex_unlock(&ch->ctl_lock);
		return 0;
	}
	if (g.fd >= 0 && !g.revoke_pos)
		ch->grants[id].mem = NULL;
	pthread_mutex_unlock(&ch->ctl_lock);
	if (g.fd < 0)
		return -ENOENT;
	if (g.revoke_pos)
		return -EBUSY;	/* another revoke of it is in flight */
	/* Blocking, as documented: a full ring is waited out, within the
	 * control deadline, instead of being returned. */
	deadline = now_ns() + (int64_t)CTL_TIMEOUT_MS * 1000000;
	r = revoke_submit(ch, id, g.serial, deadline, &t);
	if (r == 0)
		r = chan_wait_reply(ch, &t, NULL, 0, NULL);
	pthread_mutex_lock(&ch->ctl_lock);
	if (ch->grants[id].serial != g.serial) {
		/* Our record was released and the id reused meanwhile (a
		 * revoke that timed out went through): only the mapping is
		 * left to undo. */
		if (g.mem)
			munmap(g.mem, g.size);
	} else if (r == 0) {
		ch->grants[id] = (struct client_grant){ .fd = -1 };
		grant_release(&g);
	} else {
		/* Not revoked, or not known to be: keep the mapping.  A revoke
		 * still queued keeps its position (a reconnect must know). */
		ch->grants[id].mem = g.mem;
		if (r == -ENOENT)
			ch->grants[id].revoke_pos = 0;
	}
	pthread_mutex_unlock(&ch->ctl_lock);
	return r;
}
