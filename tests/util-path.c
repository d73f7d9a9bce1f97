/* SPDX-License-Identifier: MIT */
/*
 * util-path: util_mkdir_p (lib/util/path.h), the one `mkdir -p` of
 * aoki-init (its run directory) and `aoki up` (a stack's directories):
 * missing parents made, existing directories fine, a file on the way or
 * at the end, an empty or too long path refused with the documented
 * -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "path.h"

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
	char base[] = "/tmp/aoki-util-path-XXXXXX", p[PATH_MAX], q[PATH_MAX + 8];
	int fd;

	CHECK(mkdtemp(base) != NULL);
	snprintf(p, sizeof(p), "%s/a/b/c", base);
	CHECK_EQ(util_mkdir_p(p), 0);
	CHECK(is_dir(p));
	CHECK_EQ(util_mkdir_p(p), 0);			/* there already */
	snprintf(p, sizeof(p), "%s/a//b/d/", base);	/* doubled and trailing '/' */
	CHECK_EQ(util_mkdir_p(p), 0);
	snprintf(p, sizeof(p), "%s/a/b/d", base);
	CHECK(is_dir(p));
	snprintf(p, sizeof(p), "%s/file", base);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/file/x", base);
	CHECK_EQ(util_mkdir_p(p), -ENOTDIR);		/* a file on the way */
	snprintf(p, sizeof(p), "%s/file", base);
	CHECK_EQ(util_mkdir_p(p), -EEXIST);		/* there, but a file */
	CHECK_EQ(util_mkdir_p(""), -ENAMETOOLONG);
	memset(q, 'x', sizeof(q) - 1);
	q[0] = '/';
	q[sizeof(q) - 1] = 0;
	CHECK_EQ(util_mkdir_p(q), -ENAMETOOLONG);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	CHECK_EQ(system(p), 0);
	return T_EXIT_PASS;
}
