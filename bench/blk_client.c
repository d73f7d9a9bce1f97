/* SPDX-License-Identifier: MIT */
/* blk_client.c - `aoki bench blk`: the aoki side: aoki-blkd started (as a
 * process, or hosted in this one) for a measurement, the client threads
 * that keep its requests in flight, their latency histogram, and the CPU
 * client and server use. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/blk.h"
#include "aoki/host.h"
#include "blk.h"
#include "clock.h"

#define STALL_NS 10000000000ll	/* no completion for this long: an error */
#define NS 1000000000.0

/* ------------------------------------------------------ latency buckets */

static void hist_add(struct hist *h, uint64_t v)
{
	unsigned e, i = (unsigned)v;

	if (v >= HIST_SUB) {
		e = 63 - (unsigned)__builtin_clzll(v);
		i = (e - 4) * HIST_SUB + (unsigned)((v >> (e - 5)) & (HIST_SUB - 1));
	}
	h->n[i]++;
	h->count++;
}

/* bb_hist_pct - the @p quantile (0 < p <= 1) of @h in microseconds (the
 * middle of its bucket); NAN when empty. */
double bb_hist_pct(const struct hist *h, double p)
{
	uint64_t want = (uint64_t)ceil(p * (double)h->count), sum = 0;
	unsigned i;

	if (!h->count)
		return NAN;
	if (!want)
		want = 1;
	for (i = 0; i < HIST_BUCKETS && (sum += h->n[i]) < want; i++)
		;
	if (i < HIST_SUB)
		return (i + 0.5) / 1000;
	return ldexp(HIST_SUB + i % HIST_SUB + 0.5, (int)(i / HIST_SUB) - 1) / 1000;
}

/* ---------------------------------------------------------- aoki client */

static int job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void bb_job_init(struct job *j, const struct cfg *c, const struct workload *w,
		     struct hist *lat)
{
	memset(j, 0, sizeof(*j));
	j->c = c;
	j->w = w;
	j->lat = lat;
	j->rng = ((uint64_t)util_now_ns() ^ (uintptr_t)j) | 1;
}

/* The smallest power of two >= @qd and >= 2 (aoki_blk_opts.queue_depth). */
static unsigned qd_pow2(unsigned qd)
{
	unsigned q = 2;

	while (q < qd)
		q <<= 1;
	return q;
}

/* job_check_info - can the volume run @j's workload as fio does? */
static int job_check_info(struct job *j, const struct aoki_blk_info *in)
{
	if (in->size < j->c->size)
		return job_fail(j, "volume has %llu bytes, fewer than --size %llu",
				(unsigned long long)in->size, (unsigned long long)j->c->size);
	if (!in->block_size || 4096 % in->block_size || in->mem_align > 4096)
		return job_fail(j, "volume block size %u / alignment %u: not 4 KiB-compatible",
				in->block_size, in->mem_align);
	if (in->max_io < j->w->bs)
		return job_fail(j, "volume max_io %u < %u", in->max_io, j->w->bs);
	j->direct = !!(in->flags & AOKI_BLK_INFO_DIRECT);
	return 0;
}

/* spin_ns - aoki_blk_opts.spin_ns for --poll-us: 0 (the library's
 * default) when not given, -1 (never poll) for 0. */
static int64_t spin_ns(const struct cfg *c)
{
	if (c->poll_us < 0)
		return 0;
	return c->poll_us ? (int64_t)c->poll_us * 1000 : -1;
}

/* job_open - open the volume for @j's workload (polling as --poll-us
 * says) and allocate one buffer per slot (writes: filled with non-zero
 * data).  0 or -1 (j->msg). */
static int job_open(struct job *j, struct aoki_blk **b)
{
	struct aoki_blk_opts o = { .queue_depth = qd_pow2(j->w->qd), .reconnect_ns = -1,
				   .spin_ns = spin_ns(j->c) };
	struct aoki_blk_info info;
	int r = aoki_blk_open(j->c->sock, VOLUME, j->w->write ? AOKI_BLK_RDWR : 0, &o, b);

	if (r < 0)
		return job_fail(j, "aoki_blk_open: %s", strerror(-r));
	aoki_blk_get_info(*b, &info);
	if (job_check_info(j, &info) < 0)
		return -1;
	for (unsigned i = 0; i < j->w->qd; i++) {
		r = aoki_blk_alloc(*b, j->w->bs, &j->buf[i]);
		if (r < 0)
			return job_fail(j, "aoki_blk_alloc %u bytes: %s", j->w->bs, strerror(-r));
		memset(j->buf[i], 0xa5 ^ (int)i, j->w->bs);
		j->freel[j->nfree++] = i;
	}
	return 0;
}

static uint64_t next_offset(struct job *j)
{
	uint64_t bs = j->w->bs, o;

	if (!j->w->seq)
		return bb_xorshift(&j->rng) % (j->c->size / bs) * bs;
	o = j->pos;
	j->pos = j->pos + 2 * bs > j->c->size ? 0 : j->pos + bs;
	return o;
}

/* job_submit - queue a request on every free slot.  0 or -1. */
static int job_submit(struct job *j, struct aoki_blk *b)
{
	struct aoki_blk_io io[QD_MAX];
	unsigned n = j->nfree;
	int64_t t = util_now_ns();
	int r;

	for (unsigned k = 0; k < n; k++) {
		unsigned s = j->freel[n - 1 - k];

		io[k] = (struct aoki_blk_io){
			.op = j->w->write ? AOKI_BLK_OP_WRITE : AOKI_BLK_OP_READ,
			.len = j->w->bs, .offset = j->off[s] = next_offset(j),
			.buf = j->buf[s], .tag = s,
		};
		j->sent[s] = t;
	}
	r = n ? aoki_blk_submit(b, io, n) : 0;
	if (r < 0)
		return job_fail(j, "aoki_blk_submit: %s", strerror(-r));
	if (j->w->seq && (unsigned)r < n)
		j->pos = io[r].offset;	/* not queued: issue it again next */
	for (int k = 0; k < r; k++)
		j->busy[io[k].tag] = 1;
	j->nfree -= (unsigned)r;
	return 0;
}

/* job_complete - check completion @q, count it if it ended in the timed
 * window [@warm, @end), and free its slot.  0 or -1. */
static int job_complete(struct job *j, const struct aoki_blk_cqe *q, int64_t now,
			int64_t warm, int64_t end)
{
	uint64_t s = q->tag;

	if (s >= j->w->qd || !j->busy[s])
		return job_fail(j, "completion with tag %llu, which is not in flight",
				(unsigned long long)s);
	if (q->res != (int64_t)j->w->bs)
		return job_fail(j, "%s of %u bytes at offset %llu returned %lld%s%s",
				j->w->write ? "write" : "read", j->w->bs,
				(unsigned long long)j->off[s], (long long)q->res,
				q->res < 0 ? ": " : "",
				q->res < 0 ? strerror((int)-q->res) : "");
	if (now >= warm && now < end) {
		j->ios++;
		j->bytes += j->w->bs;
		if (j->lat)
			hist_add(j->lat, (uint64_t)(now - j->sent[s]));
	}
	j->busy[s] = 0;
	j->freel[j->nfree++] = (unsigned)s;
	return 0;
}

/* job_mark - with j->cpu, at the first completion in the timed window
 * and at the first after it (@now), note the time and the CPU used so
 * far by this process (all its threads: the client thread, and the
 * hosted server's if any) and by the aoki-blkd process (none in-process). */
static void job_mark(struct job *j, int64_t now, int64_t warm, int64_t end)
{
	struct cpu_mark *m;

	if (!j->cpu || j->marks >= 2 || now < (j->marks ? end : warm))
		return;
	m = &j->mark[j->marks++];
	m->client_s = bb_self_cpu_s();
	m->server_s = j->layout == L_PROCESS ? bb_proc_cpu_s(bb_cl.pid[PID_BLKD]) : 0;
	m->ns = util_now_ns();
}

/* job_loop - warm up, run the timed window, then drain.  0 or -1. */
static int job_loop(struct job *j, struct aoki_blk *b)
{
	int64_t warm = util_now_ns() + (int64_t)(j->c->warmup * NS);
	int64_t end = warm + (int64_t)(j->c->runtime * NS), now = 0;
	struct aoki_blk_cqe q[QD_MAX];
	int n;

	for (;;) {
		if (now < end && job_submit(j, b) < 0)
			return -1;
		if (j->nfree == j->w->qd)
			return now < end ? job_fail(j, "aoki_blk_submit queued nothing") : 0;
		n = aoki_blk_reap(b, q, QD_MAX, 1, STALL_NS);
		if (n < 0)
			return job_fail(j, "aoki_blk_reap: %s", strerror(-n));
		if (n == 0)
			return job_fail(j, "no completion in %lld s with %u requests in flight",
					STALL_NS / 1000000000ll, j->w->qd - j->nfree);
		now = util_now_ns();
		job_mark(j, now, warm, end);
		for (int i = 0; i < n; i++)
			if (job_complete(j, &q[i], now, warm, end) < 0)
				return -1;
	}
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct aoki_blk *b = NULL;
	int r = job_open(j, &b);

	pthread_barrier_wait(j->start);
	if (r == 0)
		r = job_loop(j, b);
	if (b)
		aoki_blk_close(b);
	j->err = r;
	return NULL;
}

/* bb_run_jobs - run @n jobs at once, one thread each, their timed windows
 * starting together.  Returns 0 or -1 (each failure reported). */
int bb_run_jobs(struct job *jobs, unsigned n)
{
	pthread_barrier_t start;
	unsigned started = 0;
	int r = 0;

	pthread_barrier_init(&start, NULL, n);
	for (; started < n; started++) {
		jobs[started].start = &start;
		if (pthread_create(&jobs[started].th, NULL, job_main, &jobs[started]))
			break;
	}
	if (started < n) {
		/* cannot happen short of memory; the started ones would wait
		 * at the barrier forever */
		bb_err("pthread_create failed");
		abort();
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(jobs[i].th, NULL);
		if (jobs[i].err)
			r = bb_err("aoki %s: %s", jobs[i].w->name, jobs[i].msg);
	}
	pthread_barrier_destroy(&start);
	return r;
}

/* bb_blkd_start - start aoki-blkd serving the backing file as volume "bench"
 * on c->sock (with --poll-us N: --spin-us N), and wait until it opens the
 * volume.  0 or -1 (reported; the caller stops the server in any case). */
int bb_blkd_start(const struct cfg *c)
{
	char vol[PATH_MAX + 8], spin[24];
	char *argv[] = { (char *)c->blkd, "--port", (char *)c->sock, "--volume", vol,
			 "--quiet", "--spin-us", spin, NULL };
	int64_t deadline = util_now_ns() + START_NS;
	struct aoki_blk *b;
	pid_t pid;
	int r;

	snprintf(vol, sizeof(vol), VOLUME "=%s", c->file);
	snprintf(spin, sizeof(spin), "%ld", c->poll_us);
	if (c->poll_us < 0)
		argv[6] = NULL;		/* aoki-blkd's default */
	pid = bb_spawn(argv, NULL, NULL);
	if (pid < 0)
		return bb_err("cannot start %s: %s", c->blkd, strerror((int)-pid));
	bb_cl.pid[PID_BLKD] = pid;
	for (;;) {
		if (bb_child_gone(PID_BLKD))
			return -1;
		r = aoki_blk_open(c->sock, VOLUME, 0, NULL, &b);
		if (r == 0) {
			aoki_blk_close(b);
			return 0;
		}
		if ((r != -ENOENT && r != -ECONNREFUSED) || util_now_ns() > deadline)
			return bb_err("aoki-blkd on %s: volume " VOLUME ": %s", c->sock,
				      strerror(-r));
		usleep(5000);
	}
}

/* job_cpu - the CPU use between @j's marks into @r (r->iops set): client
 * and server in percent of one CPU over the marks' wall time, and per
 * I/O; NAN without both marks. */
static void job_cpu(const struct job *j, struct rate *r)
{
	const struct cpu_mark *a = &j->mark[0], *b = &j->mark[1];
	double wall = (double)(b->ns - a->ns) / NS;

	if (j->marks < 2 || wall <= 0)
		wall = NAN;
	r->cli_pct = 100 * (b->client_s - a->client_s) / wall;
	r->srv_pct = 100 * (b->server_s - a->server_s) / wall;
	r->cpu_pct = r->cli_pct + r->srv_pct;
	r->cpu_us_io = r->cpu_pct * 1e4 / r->iops;
}

const char *bb_layout_name(int l, int isolated)
{
	if (l == L_PROCESS)
		return "process";
	if (l == L_UNISOLATED)
		return "inproc unisolated";
	return isolated ? "inproc (isolated)" : "inproc (unprotected: no PKU)";
}

/* host_start - host aoki-blkd in this process, serving the backing file as
 * volume "bench" for port c->sock (with --poll-us N: --spin-us N), in a
 * compartment or (L_UNISOLATED) without one; whether the compartment is
 * enforced into *@isolated.  0 or -1 (reported). */
static int host_start(const struct cfg *c, int layout, struct aoki_host **h, int *isolated)
{
	struct aoki_host_opts o = { .flags = AOKI_HOST_QUIET };
	struct aoki_host_stats st;
	char words[2 * PATH_MAX];
	int r;

	if (layout == L_UNISOLATED)
		o.flags |= AOKI_HOST_UNISOLATED;
	/* split at white space: run_all has refused paths with blanks */
	r = snprintf(words, sizeof(words), "--port %s --volume " VOLUME "=%s --quiet", c->sock,
		     c->file);
	if (c->poll_us >= 0 && r > 0 && (size_t)r < sizeof(words))
		r += snprintf(words + r, sizeof(words) - (size_t)r, " --spin-us %ld", c->poll_us);
	if (r < 0 || (size_t)r >= sizeof(words))
		return bb_err("in-process layout: configuration too long");
	r = aoki_host_start("blkd", words, &o, h);
	if (r < 0)
		return bb_err("aoki_host_start(\"blkd\", \"%s\"%s): %s", words,
			      layout == L_UNISOLATED ? ", AOKI_HOST_UNISOLATED" : "", strerror(-r));
	aoki_host_get_stats(*h, &st);
	*isolated = st.isolated;
	return 0;
}

/* host_stop - stop hosting @h; faults it recovered from (there should be
 * none: the benchmark injects none) are reported and added to
 * res->recoveries. */
static void host_stop(struct aoki_host *h, struct results *res)
{
	struct aoki_host_stats st;

	if (!h)
		return;
	aoki_host_get_stats(h, &st);
	if (st.recoveries)
		bb_err("warning: the hosted aoki-blkd recovered from %llu fault(s) during the "
		       "measurement", (unsigned long long)st.recoveries);
	res->recoveries += st.recoveries;
	aoki_host_stop(h);
}

/* bb_aoki_once - workload @w through a fresh aoki-blkd in layout @layout,
 * its rate and the CPU client and server used in the timed window into
 * *@out; res->aoki_direct is cleared if the server's volume is not
 * O_DIRECT.  0 or -1. */
int bb_aoki_once(const struct cfg *c, const struct workload *w, int layout, struct rate *out,
		 struct results *res)
{
	struct job *j = malloc(sizeof(*j));
	struct aoki_host *h = NULL;
	int r, isolated = 0;

	if (!j)
		r = bb_err("out of memory");
	else if (layout == L_PROCESS)
		r = bb_blkd_start(c);
	else
		r = host_start(c, layout, &h, &isolated);
	if (r == 0) {
		bb_job_init(j, c, w, NULL);
		j->cpu = 1;
		j->layout = layout;
		r = bb_run_jobs(j, 1);
	}
	bb_stop_child(PID_BLKD);
	host_stop(h, res);
	if (r == 0) {
		out->iops = (double)j->ios / c->runtime;
		out->mbps = (double)j->bytes / c->runtime / 1e6;
		job_cpu(j, out);
		res->aoki_direct &= j->direct;
		if (layout == L_INPROC && isolated != res->isolated)
			r = bb_err("the hosted aoki-blkd's compartment is %s, though aoki_domain_"
				   "isolated() said otherwise", isolated ? "enforced" : "not enforced");
	}
	free(j);
	return r;
}
