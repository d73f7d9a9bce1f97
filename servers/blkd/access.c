/* SPDX-License-Identifier: MIT */
/* access.c - who may use which volume, and how (see config.c). */
#include <errno.h>

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
