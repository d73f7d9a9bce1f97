/* SPDX-License-Identifier: MIT */
/*
 * blk-basic-inproc: blk-basic with aoki-blkd hosted in the test process (the
 * in-process layout, aoki/host.h) instead of run as a program: the same
 * checks through the same client API (tests/util/blk_util.h).
 */
#define T_BLK_INPROC 1
#include "blk-basic.c"
