/* SPDX-License-Identifier: MIT */
/*
 * path.h - directories on the way to a path.  Internal: not installed.
 */
#ifndef AOKI_UTIL_PATH_H
#define AOKI_UTIL_PATH_H

/*
 * util_mkdir_p - create directory @dir and its missing parents (mode 0755,
 * less the umask), as `mkdir -p` does; directories that exist already are
 * fine.  Returns 0, -ENAMETOOLONG (empty, or PATH_MAX or longer), -EEXIST
 * (@dir itself is there but not a directory), or the -errno of the
 * mkdir(2) that failed (-ENOTDIR where a parent is a file, -EACCES, ...);
 * the parents made before a failure stay.  Progress: one mkdir(2) per
 * component (and a stat(2) if @dir exists), no waiting of its own.
 */
int util_mkdir_p(const char *dir);

#endif
