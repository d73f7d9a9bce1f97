/* SPDX-License-Identifier: MIT */
/*
 * version.h - the version of Aoki: the one place it is written.  The
 * Makefile reads it from here (VERSION, for aoki.pc and messages); every
 * program's --version prints AOKI_VERSION.  Internal: not installed.
 */
#ifndef AOKI_UTIL_VERSION_H
#define AOKI_UTIL_VERSION_H

#define AOKI_VERSION "0.1.0"

#endif
