/* SPDX-License-Identifier: MIT */
/*
 * tmpdir.h - a private run directory for a program that starts its own
 * servers (aoki demo, the tests): sockets and pid files of one run do not
 * meet another's.  Internal: not installed.
 */
#ifndef AOKI_UTIL_TMPDIR_H
#define AOKI_UTIL_TMPDIR_H

/*
 * util_private_run_dir - create /tmp/aoki-@prefix-XXXXXX (once per
 * process; later calls return the same), point $AOKI_RUN_DIR at it and
 * remove it and the files in it at exit of the creating process (not of
 * its forked children).  Returns its path, or NULL with errno set.
 */
const char *util_private_run_dir(const char *prefix);

#endif
