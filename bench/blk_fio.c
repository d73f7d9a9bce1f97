/* SPDX-License-Identifier: MIT */
/* blk_fio.c - `aoki bench blk`: the fio side: its command lines, running
 * it, and reading its JSON output. */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "blk.h"

/* ----------------------------------------------------------------- fio */

/* fio_filename - @path for fio's --filename, where ':' separates files
 * (escaped as "\:").  Returns @out. */
static const char *fio_filename(const char *path, char *out, size_t cap)
{
	size_t j = 0;

	for (; *path && j + 3 < cap; path++) {
		if (*path == ':')
			out[j++] = '\\';
		out[j++] = *path;
	}
	out[j] = 0;
	return out;
}

/* fio_global - the options every fio run shares (before any --name, so
 * they apply to every job): JSON output, the timing, the offsets, and
 * io_uring with O_DIRECT on the backing file or (@nbd_sock set) the nbd
 * engine on that socket. */
static void fio_global(const struct cfg *c, const char *nbd_sock, struct util_argv *a)
{
	char name[2 * PATH_MAX];

	memset(a, 0, offsetof(struct util_argv, buf));	/* buf needs no zeroing */
	util_argv_add(a, "fio");
	util_argv_add(a, "--output-format=json");
	util_argv_add(a, "--numjobs=1");
	util_argv_add(a, "--time_based");
	util_argv_add(a, "--runtime=%lldms", (long long)llround(c->runtime * 1000));
	util_argv_add(a, "--ramp_time=%lldms", (long long)llround(c->warmup * 1000));
	util_argv_add(a, "--norandommap");
	util_argv_add(a, "--randrepeat=0");
	util_argv_add(a, "--size=%llu", (unsigned long long)c->size);
	if (nbd_sock) {
		util_argv_add(a, "--ioengine=nbd");
		util_argv_add(a, "--uri=nbd+unix:///?socket=%s", nbd_sock);
		return;
	}
	util_argv_add(a, "--ioengine=io_uring");
	util_argv_add(a, "--direct=1");
	util_argv_add(a, "--fixedbufs");
	util_argv_add(a, "--registerfiles");
	util_argv_add(a, "--filename=%s", fio_filename(c->file, name, sizeof(name)));
}

/* fio_args - the fio command of workload @w (see fio_global). */
static void fio_args(const struct cfg *c, const struct workload *w, const char *nbd_sock,
		     struct util_argv *a)
{
	fio_global(c, nbd_sock, a);
	util_argv_add(a, "--rw=%s", w->fio_rw);
	util_argv_add(a, "--bs=%u", w->bs);
	util_argv_add(a, "--iodepth=%u", w->qd);
	util_argv_add(a, "--name=%s", w->name);
}

/* fio_fair_args - the --fairness baseline: job "qd1" (4 KiB random reads,
 * QD1) alone, or (@shared) beside job "qd32" at once, with latency
 * percentiles (submission to completion). */
static void fio_fair_args(const struct cfg *c, int shared, struct util_argv *a)
{
	fio_global(c, NULL, a);
	util_argv_add(a, "--rw=randread");
	util_argv_add(a, "--bs=4096");
	util_argv_add(a, "--lat_percentiles=1");
	util_argv_add(a, "--name=qd1");
	util_argv_add(a, "--iodepth=1");
	if (shared) {
		util_argv_add(a, "--name=qd32");
		util_argv_add(a, "--iodepth=32");
	}
}

/* json_key - in JSON text @from, the value of the first member named
 * @key: a pointer past its ':' and blanks, or NULL. */
static const char *json_key(const char *from, const char *key)
{
	char pat[64];
	size_t n = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);

	while (from && (from = strstr(from, pat))) {
		from += n;
		from += strspn(from, " \t\r\n");
		if (*from == ':')
			return from + 1 + strspn(from + 1, " \t\r\n");
	}
	return NULL;
}

/* json_number - the number at @p into *@v; 0, or -1 if there is none. */
static int json_number(const char *p, double *v)
{
	char *end;

	if (!p)
		return -1;
	*v = strtod(p, &end);
	return end == p || !isfinite(*v) ? -1 : 0;
}

/* fio_job - in fio's JSON output @out, job @name (NULL: the first), from
 * its "jobname" member's value on; NULL if absent. */
static const char *fio_job(const char *out, const char *name)
{
	const char *p = json_key(strchr(out, '{'), "jobs");
	char quoted[64];
	size_t n = name ? (size_t)snprintf(quoted, sizeof(quoted), "\"%s\"", name) : 0;

	do
		p = json_key(p, "jobname");
	while (name && p && strncmp(p, quoted, n));
	return p;
}

/* job_number - member @key of fio job @job (as fio_job finds it) into
 * *@v: the first after @job and before the next job's "jobname", so
 * never another job's.  0, or -1 if the job has none. */
static int job_number(const char *job, const char *key, double *v)
{
	const char *p = json_key(job, key), *next = json_key(job, "jobname");

	if (p && next && p > next)
		return -1;
	return json_number(p, v);
}

/* fio_cpu - job @job's CPU use (usr_cpu + sys_cpu: percent of one CPU
 * over its timed runtime, the ramp left out) and per I/O of @r->iops into
 * @r; NAN where fio does not say. */
static void fio_cpu(const char *job, struct rate *r)
{
	double usr, sys;

	if (job_number(job, "usr_cpu", &usr) < 0 || job_number(job, "sys_cpu", &sys) < 0)
		usr = sys = NAN;
	r->cpu_pct = r->cli_pct = usr + sys;
	r->srv_pct = 0;
	r->cpu_us_io = r->cpu_pct * 1e4 / r->iops;
}

/*
 * fio_parse - from fio's --output-format=json text @out, job @name (NULL:
 * the first): its "read" or "write" section's iops and bw_bytes into *@r,
 * with its CPU use (fio_cpu), and with @lat its submission-to-completion
 * p50 and p99 in us (needs --lat_percentiles=1).  fio may print notes
 * before the object; the job must report error 0.  Returns 0 or -1.
 */
static int fio_parse(const char *out, const char *name, int write, struct rate *r,
		     double lat[2])
{
	const char *job = fio_job(out, name), *sec = job, *pct;
	double e, iops, bw;

	if (json_number(json_key(job, "error"), &e) < 0 || e != 0)
		return -1;
	while ((sec = json_key(sec, write ? "write" : "read")) && *sec != '{')
		;
	if (json_number(json_key(sec, "iops"), &iops) < 0 ||
	    json_number(json_key(sec, "bw_bytes"), &bw) < 0)
		return -1;
	r->iops = iops;
	r->mbps = bw / 1e6;
	fio_cpu(job, r);
	if (!lat)
		return 0;
	pct = json_key(json_key(sec, "lat_ns"), "percentile");
	if (json_number(json_key(pct, "50.000000"), &lat[0]) < 0 ||
	    json_number(json_key(pct, "99.000000"), &lat[1]) < 0)
		return -1;
	lat[0] /= 1000;
	lat[1] /= 1000;
	return 0;
}

/* fio_exec - run fio with @a; its JSON output into *@out (the caller
 * frees).  Returns 0, or -1 (reported as @what, with fio's stderr). */
static int fio_exec(const struct cfg *c, struct util_argv *a, const char *what, char **out)
{
	int code;

	if (a->overflow)
		return bb_err("fio command line too long");
	code = bb_run_capture(a->v, c->fio_err, out);
	if (code == 0)
		return 0;
	if (code < 0)
		bb_err("cannot run fio: %s", strerror(-code));
	else
		bb_err("fio %s failed (exit code %d):", what, code);
	bb_dump_file(c->fio_err);
	free(*out);
	return -1;
}

/* fio_bad_output - report output @out that fio_parse could not read. */
static int fio_bad_output(const struct cfg *c, const char *what, const char *out)
{
	bb_err("fio %s: no iops, bw_bytes (or latency) with error 0 in its JSON output:", what);
	bb_dump_file(c->fio_err);
	fprintf(stderr, "  | %.2000s\n", out);
	return -1;
}

/* bb_run_fio - run workload @w with fio (@nbd_sock: through nbd) and parse
 * its rate and CPU use into *@r (through nbd the CPU use is NAN: fio's
 * alone is not that path's).  Returns 0 or -1 (reported). */
int bb_run_fio(const struct cfg *c, const struct workload *w, const char *nbd_sock,
		   struct rate *r)
{
	struct util_argv a;
	char *out;
	int ret;

	fio_args(c, w, nbd_sock, &a);
	if (fio_exec(c, &a, w->name, &out) < 0)
		return -1;
	ret = fio_parse(out, NULL, w->write, r, NULL);
	if (ret < 0)
		fio_bad_output(c, w->name, out);
	if (nbd_sock)
		r->cpu_pct = r->cli_pct = r->srv_pct = r->cpu_us_io = NAN;
	free(out);
	return ret;
}

/* bb_fio_fair - the --fairness baseline with fio, alone or (@shared) beside
 * a QD32 job; its figures into @v (F_ALONE_* or F_SHARED_*, F_QD32_IOPS).
 * Returns 0 or -1 (reported). */
int bb_fio_fair(const struct cfg *c, int shared, double v[F_COUNT])
{
	unsigned at = shared ? F_SHARED_IOPS : F_ALONE_IOPS;
	struct rate r1, r32;
	struct util_argv a;
	char *out;
	int ret;

	fio_fair_args(c, shared, &a);
	if (fio_exec(c, &a, "fairness", &out) < 0)
		return -1;
	ret = fio_parse(out, "qd1", 0, &r1, &v[at + 1]);
	if (ret == 0 && shared)
		ret = fio_parse(out, "qd32", 0, &r32, NULL);
	if (ret < 0)
		fio_bad_output(c, "fairness", out);
	free(out);
	v[at] = r1.iops;
	if (shared)
		v[F_QD32_IOPS] = r32.iops;
	return ret;
}

/* bb_fio_version - "fio-3.33" from `fio --version`, into @out. */
void bb_fio_version(const struct cfg *c, char *out, size_t cap)
{
	char *argv[] = { "fio", "--version", NULL }, *o;

	snprintf(out, cap, "unknown");
	if (bb_run_capture(argv, c->fio_err, &o) == 0 && o) {
		o[strcspn(o, "\n")] = 0;
		snprintf(out, cap, "%s", o);
	}
	free(o);
}
