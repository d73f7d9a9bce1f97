/* SPDX-License-Identifier: MIT */
/* closer.c - closing client-supplied descriptors off the serving threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "closer.h"

struct closer {
	pthread_mutex_t lock;
	pthread_cond_t more;
	int *fds;		/* queued, under lock */
	unsigned n, cap;
	int finishing;		/* the owner is gone: drain, exit, free */
	pthread_t thread;
};

static void closer_free(struct closer *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->more);
	free(c->fds);
	free(c);
}

static void *closer_main(void *arg)
{
	struct closer *c = arg;
	int *batch = NULL;
	unsigned n, batch_cap = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->n && !c->finishing)
			pthread_cond_wait(&c->more, &c->lock);
		if (!c->n)
			break;	/* finishing and drained */
		/* Take the whole queue; the pushers get the last batch's
		 * (empty) array, so that a push rarely allocates. */
		int *tmp = c->fds;
		unsigned tmp_cap = c->cap;

		n = c->n;
		c->fds = batch;
		c->cap = batch_cap;
		c->n = 0;
		batch = tmp;
		batch_cap = tmp_cap;
		pthread_mutex_unlock(&c->lock);
		for (unsigned i = 0; i < n; i++)
			close(batch[i]);	/* may block: that is why we are here */
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	free(batch);
	closer_free(c);
	return NULL;
}

int closer_start(struct closer **out)
{
	struct closer *c = calloc(1, sizeof(*c));
	sigset_t all, old;
	int r;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->more, NULL);
	/* No signal handler of the application runs on this thread.  But
	 * SIGRTMAX: the compartment runtime's revocation signal
	 * (aoki/domain.h), which every thread must take for the keys of
	 * destroyed compartments to be reused (a hosted server rebuilt after
	 * a fault destroys one each time).  Nobody else sends it. */
	sigfillset(&all);
	sigdelset(&all, SIGRTMAX);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&c->thread, NULL, closer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		closer_free(c);
		return -r;
	}
	pthread_detach(c->thread);	/* it frees itself (closer_finish) */
	*out = c;
	return 0;
}

void closer_push(struct closer *c, int fd)
{
	if (fd < 0)
		return;
	if (!c) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 64;
		int *fds = realloc(c->fds, cap * sizeof(*fds));

		if (!fds) {
			pthread_mutex_unlock(&c->lock);
			close(fd);	/* out of memory: better late than leaked */
			return;
		}
		c->fds = fds;
		c->cap = cap;
	}
	c->fds[c->n++] = fd;
	if (c->n == 1)
		pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
}

void closer_finish(struct closer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->finishing = 1;
	pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
}
