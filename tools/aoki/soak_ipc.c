/* SPDX-License-Identifier: MIT */
/*
 * soak_ipc.c - `aoki soak ipc`: C clients x T threads load aoki-soakd,
 * run by aoki-init, while the soak kills it with SIGKILL N times.  Every
 * request is checked:
 *
 *   ECHO (idempotent)      the reply is the data and its checksum
 *   APPEND (exactly once)  each client's indices are 0..n-1, each once,
 *                          and the server's count for it is n
 *   async batches          every tag completes exactly once
 *
 * and the stall of each kill is measured: from the kill to the first
 * completion of a request submitted after it (which only the restarted
 * server can complete).  Thread 0 of each client submits async batches
 * and reaps them (one reaper per channel); the others make sync calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aoki/ipc.h"
#include "clock.h"
#include "progress.h"
#include "rand.h"
#include "soak.h"
#include "soak_proto.h"	/* servers/soakd (mk/soakd.mk) */

#define BATCH 8
#define RECOVERY_LIMIT_NS 10000000000ll	/* a kill not recovered from: error */

#define PFX "aoki soak ipc"

struct soak_opts {
	struct soak_common c;
	unsigned threads;
};

struct counters {
	_Atomic uint64_t requests, lost, duplicated, wrong, errors;
};

struct client;

struct worker {
	struct client *cl;
	unsigned id;
	pthread_t th;
	uint64_t rng;
	uint64_t *indices;	/* APPEND indices received */
	size_t nindices, cap;
};

struct client {
	struct aoki_chan *ch;
	unsigned id;
	struct worker *w;
};

static struct {
	_Atomic int stop;
	/* Stall measurement: the last kill, and the first completion of a
	 * request submitted after it (0 until there is one). */
	_Atomic int64_t kill_at, first_after;
	struct counters c;
} g;


/* A request submitted at @sub completed now: the first after a kill ends
 * that kill's stall. */
static void completed(int64_t sub)
{
	int64_t k = atomic_load(&g.kill_at), zero = 0;

	atomic_fetch_add_explicit(&g.c.requests, 1, memory_order_relaxed);
	if (k && sub > k && !atomic_load_explicit(&g.first_after, memory_order_relaxed))
		atomic_compare_exchange_strong(&g.first_after, &zero, util_now_ns());
}

/* Count @n failures of one kind and say what happened, on stderr. */
static void fail_n(_Atomic uint64_t *what, uint64_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_n(_Atomic uint64_t *what, uint64_t n, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(what, n);
	va_start(ap, fmt);
	fputs("aoki soak: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#define fail(what, ...) fail_n(what, 1, __VA_ARGS__)

static void keep_index(struct worker *w, uint64_t idx)
{
	if (w->nindices == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		uint64_t *n = realloc(w->indices, cap * sizeof(*n));

		if (!n) {
			fail(&g.c.errors, "out of memory");
			return;
		}
		w->indices = n;
		w->cap = cap;
	}
	w->indices[w->nindices++] = idx;
}

/* ECHO data for @key: 1..SOAK_ECHO_MAX bytes derived from it. */
static size_t echo_data(uint64_t key, uint8_t *buf)
{
	size_t len = 1 + key % SOAK_ECHO_MAX;
	uint64_t x = key;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(util_rnd(&x) >> 56);
	return len;
}

static int echo_ok(uint64_t key, int status, const uint8_t *rep, size_t len)
{
	uint8_t want[SOAK_ECHO_MAX];
	size_t n = echo_data(key, want);
	uint64_t sum = soak_fnv1a64(want, n), got;

	if (status != (int)n || len != n + sizeof(sum) || memcmp(rep, want, n))
		return 0;
	memcpy(&got, rep + n, sizeof(got));
	return got == sum;
}

/* One sync call; -EAGAIN (ring momentarily full) is retried. */
static int call(struct worker *w, uint16_t op, const void *req, size_t len, void *rep,
		size_t *rep_len)
{
	int64_t sub = util_now_ns();
	int r;

	while ((r = aoki_call(w->cl->ch, op, req, len, rep, AOKI_MSG_PAYLOAD, rep_len)) == -EAGAIN)
		sched_yield();
	if (r >= 0)
		completed(sub);
	return r;
}

static void sync_round(struct worker *w)
{
	uint8_t req[SOAK_ECHO_MAX], rep[AOKI_MSG_PAYLOAD];
	uint64_t key = util_rnd(&w->rng), idx;
	size_t len;
	int r;

	if (key % 4) {
		len = echo_data(key, req);
		r = call(w, SOAK_OP_ECHO, req, len, rep, &len);
		if (r < 0)
			fail(&g.c.errors, "client %u: ECHO: %s", w->cl->id, strerror(-r));
		else if (!echo_ok(key, r, rep, len))
			fail(&g.c.wrong, "client %u: wrong ECHO reply", w->cl->id);
		return;
	}
	r = call(w, SOAK_OP_APPEND, &key, sizeof(key), rep, &len);
	if (r < 0) {
		fail(&g.c.errors, "client %u: APPEND: %s", w->cl->id, strerror(-r));
	} else if (r != 0 || len != sizeof(idx)) {
		fail(&g.c.wrong, "client %u: APPEND replied %d with %zu bytes", w->cl->id, r, len);
	} else {
		memcpy(&idx, rep, sizeof(idx));
		keep_index(w, idx);
	}
}

/* Submit a batch (ECHOs and APPENDs) and reap it: every tag once. */
static void async_round(struct worker *w, uint64_t *next_tag)
{
	uint8_t data[BATCH][SOAK_ECHO_MAX];
	uint64_t values[BATCH], idx;
	struct aoki_sqe s[BATCH];
	struct aoki_cqe c[BATCH];
	int done[BATCH] = { 0 };
	uint64_t base = *next_tag;
	unsigned queued = 0, got = 0;
	int64_t sub = util_now_ns(), deadline = sub + 60 * 1000000000ll;

	for (unsigned i = 0; i < BATCH; i++) {
		uint64_t tag = base + i;

		values[i] = tag;
		if (util_rnd(&w->rng) % 4)
			s[i] = (struct aoki_sqe){ .op = SOAK_OP_ECHO, .tag = tag, .data = data[i],
						  .len = (uint16_t)echo_data(tag, data[i]) };
		else
			s[i] = (struct aoki_sqe){ .op = SOAK_OP_APPEND, .tag = tag,
						  .data = &values[i], .len = sizeof(values[i]) };
	}
	*next_tag += BATCH;
	while (got < BATCH) {
		int n;

		if (queued < BATCH) {
			n = aoki_submit(w->cl->ch, s + queued, BATCH - queued);
			if (n < 0) {
				fail(&g.c.errors, "client %u: submit: %s", w->cl->id, strerror(-n));
				atomic_fetch_add(&g.c.lost, BATCH - got);
				return;
			}
			queued += (unsigned)n;
		}
		n = aoki_reap(w->cl->ch, c, BATCH, 1, 100000000);
		if (n < 0 || util_now_ns() > deadline) {
			fail_n(&g.c.lost, BATCH - got, "client %u: %u async requests never completed (%s)",
			       w->cl->id, BATCH - got, n < 0 ? strerror(-n) : "60 s");
			return;
		}
		for (int i = 0; i < n; i++) {
			uint64_t k = c[i].tag - base;

			if (k >= BATCH) {
				fail(&g.c.wrong, "client %u: unknown tag %llu", w->cl->id,
				     (unsigned long long)c[i].tag);
				continue;
			}
			if (done[k]++) {
				fail(&g.c.duplicated, "client %u: tag %llu completed twice",
				     w->cl->id, (unsigned long long)c[i].tag);
				continue;
			}
			got++;
			completed(sub);
			if (s[k].op == SOAK_OP_ECHO) {
				if (!echo_ok(c[i].tag, c[i].status, c[i].payload, c[i].len))
					fail(&g.c.wrong, "client %u: wrong async ECHO reply",
					     w->cl->id);
			} else if (c[i].status != 0 || c[i].len != sizeof(idx)) {
				fail(c[i].status < 0 ? &g.c.errors : &g.c.wrong,
				     "client %u: async APPEND: status %d", w->cl->id, c[i].status);
			} else {
				memcpy(&idx, c[i].payload, sizeof(idx));
				keep_index(w, idx);
			}
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t next_tag = 1;
	int async = w->id == 0;

	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		if (async && util_rnd(&w->rng) % 2)
			async_round(w, &next_tag);
		else
			sync_round(w);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Each index once, all below the server's count, and as many as it. */
static void verify_appends(struct client *cl, unsigned threads)
{
	uint64_t count = 0, *all = NULL;
	size_t n = 0, len;
	int r;

	for (unsigned t = 0; t < threads; t++)
		n += cl->w[t].nindices;
	all = malloc((n ? n : 1) * sizeof(*all));
	if (!all) {
		fail(&g.c.errors, "out of memory");
		return;
	}
	n = 0;
	for (unsigned t = 0; t < threads; t++) {
		memcpy(all + n, cl->w[t].indices, cl->w[t].nindices * sizeof(*all));
		n += cl->w[t].nindices;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	r = aoki_call(cl->ch, SOAK_OP_COUNT, NULL, 0, &count, sizeof(count), &len);
	if (r < 0 || len != sizeof(count)) {
		fail(&g.c.errors, "client %u: COUNT: %s", cl->id, strerror(r < 0 ? -r : EBADMSG));
	} else {
		for (size_t i = 0; i < n; i++) {
			if (all[i] >= count || (i && all[i] == all[i - 1]))
				fail(&g.c.wrong, "client %u: index %llu given %s", cl->id,
				     (unsigned long long)all[i],
				     all[i] >= count ? "beyond the count" : "twice");
		}
		if (count > n)
			fail_n(&g.c.duplicated, count - n, "client %u: the server applied %llu "
			       "appends for %zu requests", cl->id, (unsigned long long)count, n);
		if (count < n)
			fail_n(&g.c.lost, n - count, "client %u: the server kept %llu of %zu "
			       "acknowledged appends", cl->id, (unsigned long long)count, n);
	}
	free(all);
}

/* Kill the server @kills times at random moments; stall of each in @stall. */
static int kill_loop(const struct soak_init *si, const struct soak_opts *o, double *stall)
{
	uint64_t rng = o->c.seed ^ 0x5eed;

	pid_t last = 0;

	for (unsigned k = 0; k < o->c.kills; k++) {
		int64_t at, first;
		pid_t pid;

		soak_sleep_ms(soak_gap_ms(&o->c, &rng));
		pid = soak_new_pid(si, NULL, last, RECOVERY_LIMIT_NS, PFX);
		if (pid < 0)
			return -1;
		atomic_store(&g.first_after, 0);
		at = util_now_ns();
		atomic_store(&g.kill_at, at);
		if (soak_kill_wait(pid, 5000, PFX) < 0)
			return -1;
		last = pid;
		while (!(first = atomic_load(&g.first_after)) &&
		       util_now_ns() - at < RECOVERY_LIMIT_NS)
			soak_sleep_ms(1);
		if (!first) {
			fail(&g.c.errors, "kill %u: no completion within 10 s", k + 1);
			return -1;
		}
		stall[k] = (first - at) / 1e6;
		soak_progress(&o->c, PFX, k + 1, NULL, stall[k],
			      (unsigned long long)atomic_load(&g.c.requests), "requests");
	}
	util_progress_end();
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki soak ipc [--kills N] [--clients C] [--threads T] [--seed S] [--json]\n"
		"                     [--verbose] [--keep]\n"
		"\n"
		"Starts aoki-init with aoki-soakd in a private directory, loads it with C\n"
		"clients x T threads (sync ECHO/APPEND calls; thread 0 of each client also\n"
		"async batches), and kills the server with SIGKILL N times at random moments\n"
		"(every 20-60 ms of load).  Checks that no request is lost, duplicated,\n"
		"answered wrongly or failed, and measures each kill's stall: from the kill\n"
		"to the first completion of a request submitted after it.\n"
		"\n"
		"  --kills N     kills (default 30)\n"
		"  --clients C   client channels (default 4)\n"
		"  --threads T   threads per client (default 2)\n"
		"  --seed S      random seed (default: from the clock; printed)\n"
		"  --json        one JSON object on stdout\n"
		"  --verbose     a line for every kill (on stderr; else, on a terminal, one\n"
		"                line that updates)\n"
		"  --keep        keep the run directory (init.log)\n"
		"\n"
		"Exit status 0 when lost, duplicated, wrong and errors are all 0; 1\n"
		"otherwise; 2 for bad usage.\n");
}

static int parse(int argc, char **argv, struct soak_opts *o)
{
	static const struct option lo[] = {
		SOAK_COMMON_LONGOPTS,
		{ "threads", required_argument, NULL, 't' },
		{ 0 },
	};
	int c;

	soak_common_defaults(&o->c, 30, 4, 20, 60);
	o->threads = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, SOAK_COMMON_SHORT "t:", lo, NULL)) != -1) {
		uint64_t v = 0;

		if (optarg && soak_parse_number(PFX, optarg, &v) < 0)
			return 2;
		if (soak_common_option(&o->c, c, v))
			continue;
		switch (c) {
		case 't': o->threads = v > 64 ? 65 : (unsigned)v; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (soak_common_check(&o->c, 256, PFX) < 0)
		return 2;
	if (!o->threads || o->threads > 64) {
		fprintf(stderr, PFX ": --threads 1..64\n");
		return 2;
	}
	return -1;
}

static void report(const struct soak_opts *o, double *stall, unsigned nstall, double secs)
{
	struct soak_stalls st = soak_stalls(stall, nstall);

	if (o->c.json) {
		printf("{\"kills\": %u, \"clients\": %u, \"threads\": %u, \"seed\": %llu, "
		       "\"seconds\": %.1f, \"requests\": %llu, \"lost\": %llu, \"duplicated\": %llu, "
		       "\"wrong\": %llu, \"errors\": %llu, ",
		       nstall, o->c.clients, o->threads, (unsigned long long)o->c.seed, secs,
		       (unsigned long long)g.c.requests, (unsigned long long)g.c.lost,
		       (unsigned long long)g.c.duplicated, (unsigned long long)g.c.wrong,
		       (unsigned long long)g.c.errors);
		soak_stalls_json(&st);
		printf("}\n");
		return;
	}
	printf("%u kills, %u clients x %u threads, %.1f s (seed %llu)\n"
	       "requests %llu: lost %llu, duplicated %llu, wrong %llu, errors %llu\n",
	       nstall, o->c.clients, o->threads, secs, (unsigned long long)o->c.seed,
	       (unsigned long long)g.c.requests, (unsigned long long)g.c.lost,
	       (unsigned long long)g.c.duplicated, (unsigned long long)g.c.wrong,
	       (unsigned long long)g.c.errors);
	soak_stalls_text(&st);
}

int soak_ipc_main(int argc, char **argv)
{
	char bindir[PATH_MAX], exec[2 * PATH_MAX + 64], port[PATH_MAX + 16];
	struct aoki_chan_opts co = { .slots = 64 };
	struct soak_init si;
	struct soak_opts o;
	struct client *cl;
	double *stall;
	int64_t t0;
	int r, ok;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (soak_init_bindir(bindir, sizeof(bindir)) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	cl = calloc(o.c.clients, sizeof(*cl));
	stall = calloc(o.c.kills ? o.c.kills : 1, sizeof(*stall));
	if (!cl || !stall)
		return 1;
	if (!o.c.json)
		fprintf(stderr, "aoki soak: seed %llu\n", (unsigned long long)o.c.seed);
	/* %%s: the run directory, where the server keeps its durable state. */
	snprintf(exec, sizeof(exec), "%s/aoki-soakd --port soak --workers 2 --quiet --state %%s/state",
		 bindir);
	r = soak_init_start(&si, "soakd", exec, "soak", o.c.kills + 10);
	if (r < 0)
		return 1;
	snprintf(port, sizeof(port), "%s/soak.sock", si.dir);
	t0 = util_now_ns();
	for (unsigned i = 0; i < o.c.clients; i++) {
		cl[i].id = i;
		cl[i].w = calloc(o.threads, sizeof(*cl[i].w));
		r = cl[i].w ? aoki_connect(port, &co, &cl[i].ch) : -ENOMEM;
		if (r < 0) {
			fprintf(stderr, "aoki soak: connect %s: %s\n", port, strerror(-r));
			si.keep = 1;
			soak_init_stop(&si);
			return 1;
		}
		for (unsigned t = 0; t < o.threads; t++) {
			struct worker *w = &cl[i].w[t];

			w->cl = &cl[i];
			w->id = t;
			w->rng = o.c.seed * 1000003 + i * 64 + t;
			if (pthread_create(&w->th, NULL, worker_main, w)) {
				fprintf(stderr, "aoki soak: cannot start threads\n");
				return 1;
			}
		}
	}
	r = kill_loop(&si, &o, stall);
	soak_sleep_ms(50);
	atomic_store(&g.stop, 1);
	for (unsigned i = 0; i < o.c.clients; i++)
		for (unsigned t = 0; t < o.threads; t++)
			pthread_join(cl[i].w[t].th, NULL);
	for (unsigned i = 0; i < o.c.clients; i++) {
		verify_appends(&cl[i], o.threads);
		aoki_close(cl[i].ch);
		for (unsigned t = 0; t < o.threads; t++)
			free(cl[i].w[t].indices);
		free(cl[i].w);
	}
	ok = r == 0 && !g.c.lost && !g.c.duplicated && !g.c.wrong && !g.c.errors;
	si.keep = o.c.keep || !ok;
	soak_init_stop(&si);
	report(&o, stall, r == 0 ? o.c.kills : 0, (util_now_ns() - t0) / 1e9);
	free(cl);
	free(stall);
	return ok ? 0 : 1;
}
