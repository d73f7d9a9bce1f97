/* SPDX-License-Identifier: MIT */
/* progress.c - see progress.h. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"

static int shown;	/* a progress line is on the terminal */

void util_progress(const char *fmt, ...)
{
	char line[512];
	struct winsize ws;
	size_t width = sizeof(line) - 1;
	va_list ap;
	int n;

	if (!isatty(STDERR_FILENO))
		return;
	/* Leave the last column free: a line that fills it wraps on some
	 * terminals, and \r would then return to the wrong row. */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
	    (size_t)ws.ws_col - 1 < width)
		width = (size_t)ws.ws_col - 1;
	va_start(ap, fmt);
	n = vsnprintf(line, width + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	shown = 1;
}

void util_progress_end(void)
{
	if (!shown)
		return;
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	shown = 0;
}

int util_progress_shown(void)
{
	return shown;
}
