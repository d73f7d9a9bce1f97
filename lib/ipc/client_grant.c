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

int aoki_grant_register_fd(struct aoki_chan *ch, int memfd, unsigned rights,
			   uint32_t *id)
{
	struct ctl_msg m = { .rights = rights };
	int fds[CTL_MAX_FDS];
	unsigned nfds = 0;
	int r;

	if (!rights || (rights & ~(AOKI_GRANT_READ | AOKI_GRANT_WRITE)) || memfd < 0)
		return -EINVAL;
	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return -ECONNRESET;
	pthread_mutex_lock(&ch->ctl_lock);
	r = ctl_send(ch->ctl_fd, CTL_GRANT_ADD, &m, &memfd, 1);
	if (r == 0)
		r = ctl_recv(ch->ctl_fd, &m, fds, &nfds, CTL_TIMEOUT_MS);
	pthread_mutex_unlock(&ch->ctl_lock);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == -EPIPE || r == -ECONNRESET) {
		atomic_store_explicit(&ch->dead, 1, memory_order_relaxed);
		return -ECONNRESET;
	}
	if (r < 0)
		return r;
	if (m.type != CTL_GRANT_ACK)
		return -EBADMSG;
	if (m.status < 0)
		return m.status;
	if (m.id >= ch->geom.max_grants)
		return -EBADMSG;
	*id = m.id;
	return 0;
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
	r = aoki_grant_register_fd(ch, fd, rights, id);
	close(fd);	/* the mapping and the server's copy keep it alive */
	if (r < 0) {
		munmap(p, size);
		return r;
	}
	pthread_mutex_lock(&ch->ctl_lock);
	ch->grants[*id] = (struct client_grant){ .mem = p, .size = size };
	pthread_mutex_unlock(&ch->ctl_lock);
	*mem = p;
	return 0;
}

int aoki_grant_revoke(struct aoki_chan *ch, uint32_t id)
{
	struct client_grant g = { 0 };
	int64_t deadline;
	int r;

	if (id >= ch->geom.max_grants)
		return -ENOENT;
	/* Take our record of the grant *before* the revoke: once the server
	 * has revoked it, another thread's aoki_grant_create may get the
	 * same id and store its own mapping here, which we must not unmap.
	 * Until the revoke succeeds the server cannot hand the id out, so
	 * the record taken now is the one being revoked. */
	pthread_mutex_lock(&ch->ctl_lock);
	g = ch->grants[id];
	ch->grants[id] = (struct client_grant){ 0 };
	pthread_mutex_unlock(&ch->ctl_lock);
	/* Blocking, as documented: -EAGAIN (the slot at our ring position
	 * still holds another thread's reply) is waited out, within the
	 * control deadline, instead of being returned. */
	deadline = now_ns() + (int64_t)CTL_TIMEOUT_MS * 1000000;
	while ((r = chan_call(ch, OP_GRANT_REVOKE, &id, sizeof(id), NULL, 0, NULL)) == -EAGAIN) {
		if (now_ns() > deadline) {
			r = -ETIMEDOUT;
			break;
		}
		sched_yield();
	}
	if (r < 0) {
		/* Not revoked (or not known to be): keep the mapping.  Only
		 * if the id was reused meanwhile (a timed-out revoke that
		 * went through after all) is ours stale: unmap it. */
		pthread_mutex_lock(&ch->ctl_lock);
		if (!ch->grants[id].mem)
			ch->grants[id] = g;
		else if (g.mem)
			munmap(g.mem, g.size);
		pthread_mutex_unlock(&ch->ctl_lock);
		return r;
	}
	if (g.mem)
		munmap(g.mem, g.size);
	return 0;
}
