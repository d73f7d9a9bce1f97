/* SPDX-License-Identifier: MIT */
/*
 * progress.h - one line of progress on a terminal for long work (the
 * benchmarks, the soaks): the line is rewritten in place (\r, then erase
 * to the end of the line) on stderr while the work runs, and nothing at
 * all is printed when stderr is not a terminal (logs, CI, pipes), so that
 * what those record is the results only.  Internal: not installed.
 *
 * One thread of a program reports progress; these functions keep one
 * static flag and are not meant to be called from several threads.
 */
#ifndef AOKI_UTIL_PROGRESS_H
#define AOKI_UTIL_PROGRESS_H

/*
 * util_progress - show @fmt (printf-style) as the progress line: on a
 * terminal, it replaces what the line showed, cut to the terminal's width
 * (a wrapped line could not be rewritten); elsewhere nothing.  Cannot
 * fail (a failed write is ignored: progress is a courtesy).  Progress:
 * one write(2) to stderr, which may block while the terminal does.
 */
void util_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * util_progress_end - erase the progress line, if one is shown, so that
 * the next output starts on a clean line; call it before printing
 * anything else (results, an error).  Does nothing when none is shown.
 * Cannot fail; at most one write(2).
 */
void util_progress_end(void);

/* util_progress_shown - 1 while a progress line is on the terminal (for
 * code that must end it with a newline of its own), else 0. */
int util_progress_shown(void);

#endif
