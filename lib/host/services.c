/* SPDX-License-Identifier: MIT */
/* services.c - the servers that can be hosted by name (aoki_host_start). */
#include <string.h>

#include "host.h"

/* servers/blkd/hosted.c, servers/fsd/hosted.c */
extern const struct aoki_host_service aoki__blkd_service;
extern const struct aoki_host_service aoki__fsd_service;

static const struct aoki_host_service *const builtin[] = {
	&aoki__blkd_service,
	&aoki__fsd_service,
};

const struct aoki_host_service *host_service_find(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (!strcmp(builtin[i]->name, name))
			return builtin[i];
	return NULL;
}
