/* SPDX-License-Identifier: MIT */
/* path.c - see path.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "path.h"

int util_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);
	struct stat st;

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* There already: fine if it is a directory (or a link to one). */
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -EEXIST;
}
