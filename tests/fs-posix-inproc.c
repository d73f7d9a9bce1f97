/* SPDX-License-Identifier: MIT */
/*
 * fs-posix-inproc: fs-posix with aoki-blkd and aoki-fsd hosted in the test
 * process (the in-process layout, aoki/host.h) instead of run as
 * programs: the same checks through the same client API
 * (tests/util/fs_util.h).
 */
#define T_FS_INPROC 1
#include "fs-posix.c"
