/* SPDX-License-Identifier: MIT */
/* demo_stack.h - the parts of `aoki demo` (demo.c dispatches). */
#ifndef AOKI_DEMO_STACK_H
#define AOKI_DEMO_STACK_H

/*
 * demo_stack - `aoki demo [stack]`, what `make run` runs: aoki up on a
 * fresh image in a temporary directory, this source tree copied into the
 * FUSE mount and built there with make -j2 while aoki-fsd and aoki-blkd
 * are SIGKILLed several times, aoki status, aoki down, e2fsck -fn and a
 * read-only kernel loop mount whose tree checksum must equal the one seen
 * through the mount.  Progress and a summary on stdout.  Returns the exit
 * status: 0 all good, 1 a step failed (the directory is then kept), 2 bad
 * usage.
 */
int demo_stack(int argc, char **argv);

/* demo_pieces - `aoki demo pieces`: the example echo server, its clients
 * and a crash, then aoki-blkd (demo_blk); the demo before the stack. */
int demo_pieces(int argc, char **argv);

#endif
