/* SPDX-License-Identifier: MIT */
/* soak_util.c - what the soaks share (see soak.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "rand.h"
#include "soak.h"
#include "stats.h"

void soak_common_defaults(struct soak_common *o, unsigned kills, unsigned clients,
			  unsigned min_gap_ms, unsigned max_gap_ms)
{
	*o = (struct soak_common){ .kills = kills, .clients = clients, .min_gap_ms = min_gap_ms,
				   .max_gap_ms = max_gap_ms, .seed = (uint64_t)util_now_ns() };
}

int soak_common_option(struct soak_common *o, int c, uint64_t v)
{
	switch (c) {
	/* Out-of-range values stay out of range, for soak_common_check. */
	case 'k': o->kills = v > SOAK_MAX_KILLS ? SOAK_MAX_KILLS + 1 : (unsigned)v; return 1;
	case 'c': o->clients = v > 65536 ? 65537 : (unsigned)v; return 1;
	case 's': o->seed = v; return 1;
	case 'j': o->json = 1; return 1;
	case 'v': o->verbose = 1; return 1;
	case 'K': o->keep = 1; return 1;
	}
	return 0;
}

int soak_common_check(const struct soak_common *o, unsigned max_clients, const char *who)
{
	if (o->kills > SOAK_MAX_KILLS || !o->clients || o->clients > max_clients) {
		fprintf(stderr, "%s: --kills at most %u, --clients 1..%u\n", who, SOAK_MAX_KILLS,
			max_clients);
		return -1;
	}
	return 0;
}

void soak_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

unsigned soak_gap_ms(const struct soak_common *o, uint64_t *rng)
{
	return o->min_gap_ms + (unsigned)(util_rnd(rng) % (o->max_gap_ms - o->min_gap_ms + 1));
}

pid_t soak_new_pid(const struct soak_init *si, const char *name, pid_t last,
		   int64_t limit_ns, const char *who)
{
	int64_t end = util_now_ns() + limit_ns;
	pid_t pid;

	do {
		pid = name ? soak_init_pid_of(si, name) : soak_init_server_pid(si);
		if (pid > 0 && pid != last && kill(pid, 0) == 0)
			return pid;
		soak_sleep_ms(1);
	} while (util_now_ns() < end);
	fprintf(stderr, "%s: no new %s pid in %s: %s\n", who, name ? name : si->server, si->dir,
		pid < 0 ? strerror(-pid) : "still the killed one");
	return -1;
}

int soak_kill_wait(pid_t pid, unsigned limit_ms, const char *who)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), r;
	struct pollfd p;

	if (fd < 0) {
		fprintf(stderr, "%s: pidfd_open %d: %s\n", who, (int)pid, strerror(errno));
		return -1;
	}
	r = kill(pid, SIGKILL);
	if (r < 0)
		fprintf(stderr, "%s: kill %d: %s\n", who, (int)pid, strerror(errno));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (r == 0 && poll(&p, 1, (int)limit_ms) != 1) {
		fprintf(stderr, "%s: server %d still alive %u ms after SIGKILL\n", who, (int)pid,
			limit_ms);
		r = -1;
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

void soak_progress(const struct soak_common *o, const char *who, unsigned k, const char *what,
		   double stall_ms, unsigned long long count, const char *unit)
{
	char victim[40] = "";

	if (what)
		snprintf(victim, sizeof(victim), " (%s)", what);
	if (o->verbose)
		fprintf(stderr, "%s: kill %u/%u%s: stall %.1f ms, %llu %s so far\n", who, k,
			o->kills, victim, stall_ms, count, unit);
	else
		util_progress("%s: kill %u/%u%s: stall %.1f ms, %llu %s", who, k, o->kills,
			      victim, stall_ms, count, unit);
}

struct soak_stalls soak_stalls(double *ms, unsigned n)
{
	struct soak_stalls s = { .n = n, .ms = ms };

	s.p50 = util_percentile_double(ms, n, 50);
	s.p99 = util_percentile_double(ms, n, 99);
	s.max = n ? ms[n - 1] : 0;
	return s;
}

void soak_stalls_text(const struct soak_stalls *s)
{
	printf("stall: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", s->p50, s->p99, s->max);
}

void soak_stalls_json(const struct soak_stalls *s)
{
	printf("\"stall_p50_ms\": %.2f, \"stall_p99_ms\": %.2f, \"stall_max_ms\": %.2f, "
	       "\"stall_ms\": [", s->p50, s->p99, s->max);
	for (unsigned i = 0; i < s->n; i++)
		printf("%s%.3f", i ? ", " : "", s->ms[i]);
	printf("]");
}
