/* SPDX-License-Identifier: MIT */
/* size.c - see size.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int util_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kmgt";
	unsigned long long v;
	unsigned shift = 0;
	const char *u;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end && (u = strchr(units, *end | 0x20))) {	/* ASCII lower case */
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (end[0] == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}
