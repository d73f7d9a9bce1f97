/* SPDX-License-Identifier: MIT */
/*
 * inproc.c - the registry of servers hosted in this process (inproc.h).
 * A short list under a mutex: it is read at connect and reconnect only,
 * never on the request path.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "inproc.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inproc_port *registry;
/* Set once the first server is hosted: until then a connect costs no
 * lock.  Relaxed: a connect racing with the first registration may miss
 * it either way (it did not happen before the connect). */
static _Atomic int registry_used;
/* The process the registry belongs to: a child of fork() has copies of
 * the entries but not the servers' threads, so it connects to the socket
 * ports instead. */
static pid_t registry_pid;

int inproc_register(struct inproc_port *p)
{
	pthread_mutex_lock(&registry_lock);
	for (struct inproc_port *q = registry; q; q = q->next) {
		if (!strcmp(q->path, p->path)) {
			pthread_mutex_unlock(&registry_lock);
			return -EEXIST;
		}
	}
	atomic_store_explicit(&p->refs, 1, memory_order_relaxed);
	registry_pid = getpid();
	p->next = registry;
	registry = p;
	atomic_store_explicit(&registry_used, 1, memory_order_relaxed);
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

void inproc_unregister(struct inproc_port *p)
{
	int found = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct inproc_port **q = &registry; *q; q = &(*q)->next) {
		if (*q == p) {
			*q = p->next;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (found)
		inproc_put(p);
}

struct inproc_port *inproc_lookup(const char *path)
{
	struct inproc_port *found = NULL;

	if (!atomic_load_explicit(&registry_used, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&registry_lock);
	for (struct inproc_port *q = registry; q && registry_pid == getpid(); q = q->next) {
		if (!strcmp(q->path, path)) {
			/* Relaxed: the lock orders it before any unregister. */
			atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
			found = q;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

void inproc_put(struct inproc_port *p)
{
	/* acq_rel: every user's accesses happen before the release hook. */
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		p->release(p);
}
