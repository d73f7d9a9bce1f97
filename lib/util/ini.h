/* SPDX-License-Identifier: MIT */
/*
 * ini.h - the one reader of the tree's configuration files (aoki-init,
 * aoki-blkd, aoki-fsd, `aoki up`): it splits a file into section headers
 * and "key = value" lines, with their line numbers, and prefixes every
 * error with "FILE:LINE: ".  What the sections and keys mean is the
 * caller's.  Internal: not installed.
 *
 * Syntax, the same for every file:
 *   - Lines end at '\n'; a '\r' before it is ignored.  A line longer than
 *     INI_LINE_MAX bytes, or one holding a NUL byte, is an error.
 *   - Comments: a line whose first non-blank is '#' or ';', and the rest
 *     of a line from a '#' that follows a blank (space or tab) outside
 *     double quotes.  (A value holding " #" must quote it; inside quotes
 *     \" and \\ are skipped over, so an escaped quote does not end them.)
 *   - Blank lines are ignored.
 *   - "[TEXT]": a section header.  TEXT is trimmed and passed on as is
 *     ("server echo", "volume disk0", "fsd"); nothing may follow the ']'.
 *   - "KEY = VALUE": KEY and VALUE are trimmed of blanks; KEY is not
 *     empty; VALUE may be (the caller decides); quotes are kept.
 *   - Anything else is an error.
 */
#ifndef AOKI_UTIL_INI_H
#define AOKI_UTIL_INI_H

#include <stddef.h>
#include <stdio.h>

#define INI_LINE_MAX 4096	/* bytes in a line, with its newline */

/* One thing the reader found. */
struct ini_item {
	unsigned line;		/* 1-based */
	const char *section;	/* the text of the last header; "" before any */
	const char *key;	/* NULL: this item is the header of @section */
	const char *value;	/* with @key */
};

/*
 * ini_fn - called for each header and key of the file, in order.
 * Returns 0 to go on, or -errno to stop the reading; then it has written
 * the error to the reader's @err (ini_error() gives it the file and the
 * line, @it->line or another, such as that of a section's header).  An
 * error it leaves unwritten reads "FILE:LINE: strerror".
 */
typedef int (*ini_fn)(void *ctx, const struct ini_item *it);

/*
 * ini_read - read @f (named @fname in messages) to its end, calling @fn
 * with @ctx for each item.  Returns 0; -EINVAL with "FILE:LINE: what" in
 * @err (at most @errcap bytes) for a syntax error; -EIO on a read error;
 * -ENOMEM; or what @fn returned to stop.  Allocates nothing that outlives
 * the call; progress: one pass, bounded by the file's size.
 */
int ini_read(FILE *f, const char *fname, ini_fn fn, void *ctx, char *err, size_t errcap);

/* ini_load - ini_read() of the file at @path; also -errno of fopen, with
 * "PATH: reason" in @err. */
int ini_load(const char *path, ini_fn fn, void *ctx, char *err, size_t errcap);

/*
 * ini_error - write "FILE:LINE: " and the printf-style message to @err
 * (for errors a caller finds after the fact, such as a section that
 * lacks a key, at the line of its header).  Returns -EINVAL.
 */
int ini_error(char *err, size_t errcap, const char *fname, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ini_yes_no - 1 for yes/true/1, 0 for no/false/0, -EINVAL otherwise. */
int ini_yes_no(const char *value);

#endif
