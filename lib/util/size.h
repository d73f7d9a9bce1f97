/* SPDX-License-Identifier: MIT */
/*
 * size.h - sizes as people write them on command lines and in
 * configuration files.  Internal: not installed.
 */
#ifndef AOKI_UTIL_SIZE_H
#define AOKI_UTIL_SIZE_H

#include <stdint.h>

/*
 * util_parse_size - "4096", "512M", "1G", "2GiB", "64k": decimal digits
 * and an optional binary unit K, M, G or T (any case), which may be
 * followed by "B" or "iB".  Returns 0 with *@out set, or -EINVAL for
 * anything else (a sign, blanks, a fraction, another suffix) and -ERANGE
 * for a size that does not fit 64 bits.
 */
int util_parse_size(const char *s, uint64_t *out);

#endif
