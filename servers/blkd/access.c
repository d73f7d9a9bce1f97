/* SPDX-License-Identifier: MIT */
/*
 * access.c - who may use which volume, and how (see config.c), and who
 * may connect at all (the IPC policy: anybody some volume admits).
 */
#include <errno.h>
#include <unistd.h>

#include "blkd.h"

int blkd_access(const struct blkd *d, const struct blkd_volume *v, uid_t uid, int write)
{
	int may = 0, may_write = 0;

	if (!v->nallow) {
		may = may_write = uid == d->uid || uid == 0;
	} else {
		for (unsigned i = 0; i < v->nallow; i++)
			if (v->allow[i].any || v->allow[i].uid == uid) {
				may = 1;
				may_write |= v->allow[i].write;
			}
	}
	if (!may)
		return -EACCES;
	if (write && v->read_only)
		return -EROFS;
	return write && !may_write ? -EACCES : 0;
}

int blkd_policy(const struct aoki_peer *peer, void *arg)
{
	const struct blkd *d = arg;

	/* The library's default set (the server's user and root) stays
	 * admitted whatever the volumes say: tools that only ask for the
	 * server's figures keep working. */
	if (peer->uid == 0 || peer->uid == d->uid || peer->uid == geteuid())
		return 0;
	for (unsigned i = 0; i < d->nvol; i++)
		if (blkd_access(d, &d->vol[i], peer->uid, 0) == 0)
			return 0;
	return -EACCES;
}

int blkd_admits_others(const struct blkd *d)
{
	for (unsigned i = 0; i < d->nvol; i++)
		for (unsigned j = 0; j < d->vol[i].nallow; j++)
			if (d->vol[i].allow[j].any ||
			    (d->vol[i].allow[j].uid != 0 && d->vol[i].allow[j].uid != d->uid))
				return 1;
	return 0;
}
