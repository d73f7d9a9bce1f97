/* SPDX-License-Identifier: MIT */
/*
 * nodes.c - the table of open files: for each fsd handle this mount holds
 * open, how many opens, and whether its last visible name is gone (an
 * orphan, kept by a hidden name).  A hash table under one mutex, held for
 * a few loads and stores; each node also has its own lock, held across
 * the round trips that orphan it or remove its hidden name, so that the
 * last close and an unlink of the same file do not interleave.  A node
 * lives while it is open or referenced (node_find).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "bridge.h"

#define NBUCKETS 1024

struct node {
	aoki_fs_handle fh;
	unsigned opens;		/* guarded by table_lock */
	unsigned refs;		/* opens + node_find references; table_lock */
	int orphaned;		/* written under lock and table_lock */
	pthread_mutex_t lock;
	struct node *next;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *buckets[NBUCKETS];
static unsigned nopen;		/* nodes with opens > 0 */

static struct node **bucket(aoki_fs_handle fh)
{
	/* The inode number is the high half; mix both halves. */
	return &buckets[(fh ^ (fh >> 32) ^ (fh >> 45)) % NBUCKETS];
}

/* The node of @fh, or NULL; table_lock held. */
static struct node *lookup_locked(aoki_fs_handle fh)
{
	struct node *n;

	for (n = *bucket(fh); n; n = n->next)
		if (n->fh == fh)
			return n;
	return NULL;
}

/* Drop one reference; free the node at the last.  table_lock held. */
static void unref_locked(struct node *n)
{
	struct node **p;

	if (--n->refs)
		return;
	for (p = bucket(n->fh); *p != n; p = &(*p)->next)
		;
	*p = n->next;
	pthread_mutex_destroy(&n->lock);
	free(n);
}

struct node *node_open(aoki_fs_handle fh)
{
	struct node *n;

	pthread_mutex_lock(&table_lock);
	n = lookup_locked(fh);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (n) {
			n->fh = fh;
			pthread_mutex_init(&n->lock, NULL);
			n->next = *bucket(fh);
			*bucket(fh) = n;
		}
	}
	if (n) {
		if (!n->opens++)
			nopen++;
		n->refs++;
	}
	pthread_mutex_unlock(&table_lock);
	return n;
}

void node_close(struct bridge *b, struct node *n)
{
	int last;

	/* The node's lock first: an unlink orphaning this file finishes
	 * before the count can reach 0, so a hidden name it made is seen
	 * and removed here. */
	pthread_mutex_lock(&n->lock);
	pthread_mutex_lock(&table_lock);
	last = !--n->opens;
	if (last)
		nopen--;
	pthread_mutex_unlock(&table_lock);
	if (last && n->orphaned) {
		orphan_drop(b, n->fh);
		node_set_orphaned(n, 0);
	}
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_lock(&table_lock);
	unref_locked(n);
	pthread_mutex_unlock(&table_lock);
}

struct node *node_find(aoki_fs_handle fh)
{
	struct node *n;

	pthread_mutex_lock(&table_lock);
	n = lookup_locked(fh);
	if (n && n->opens)
		n->refs++;
	else
		n = NULL;
	pthread_mutex_unlock(&table_lock);
	return n;
}

void node_put(struct node *n)
{
	pthread_mutex_lock(&table_lock);
	unref_locked(n);
	pthread_mutex_unlock(&table_lock);
}

void node_lock(struct node *n)
{
	pthread_mutex_lock(&n->lock);
}

void node_unlock(struct node *n)
{
	pthread_mutex_unlock(&n->lock);
}

unsigned node_opens(const struct node *n)
{
	unsigned v;

	pthread_mutex_lock(&table_lock);
	v = n->opens;
	pthread_mutex_unlock(&table_lock);
	return v;
}

int node_orphaned(const struct node *n)
{
	return n->orphaned;
}

void node_set_orphaned(struct node *n, int orphaned)
{
	pthread_mutex_lock(&table_lock);
	n->orphaned = orphaned;
	pthread_mutex_unlock(&table_lock);
}

int nodes_any_open(void)
{
	int any;

	pthread_mutex_lock(&table_lock);
	any = nopen > 0;
	pthread_mutex_unlock(&table_lock);
	return any;
}

int node_is_orphan(aoki_fs_handle fh)
{
	struct node *n;
	int r;

	pthread_mutex_lock(&table_lock);
	n = lookup_locked(fh);
	r = n && n->orphaned;
	pthread_mutex_unlock(&table_lock);
	return r;
}
