/* SPDX-License-Identifier: MIT */
/*
 * fs_data.c - `aoki bench fs`: the data workloads.  On a mount (kernel,
 * fuse2fs): fio, io_uring, O_DIRECT where the file system takes it, its
 * terse output read back.  On aoki: one client thread keeping the same
 * queue depth in flight with aoki_fs_submit/aoki_fs_reap on buffers from
 * aoki_fs_alloc (copy-free).  Both sides write the data file sequentially
 * (1 MiB, QD8, then fsync), read it back, then read and overwrite it at
 * random (4 KiB, QD32) for a timed window after a warm-up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aoki/fs.h"
#include "argv.h"
#include "blk.h"
#include "clock.h"
#include "fs.h"

#define DATA_FILE "data"
#define SEQ_BS (1u << 20)
#define SEQ_QD 8
#define RAND_BS 4096u
#define RAND_QD 32
#define NS 1e9

/* The shape of each data workload, by WL_*. */
static const struct {
	const char *fio_rw;
	int write, seq;
	unsigned bs, qd;
} shapes[] = {
	[WL_SEQWRITE] = { "write", 1, 1, SEQ_BS, SEQ_QD },
	[WL_SEQREAD] = { "read", 0, 1, SEQ_BS, SEQ_QD },
	[WL_RANDREAD] = { "randread", 0, 0, RAND_BS, RAND_QD },
	[WL_RANDWRITE] = { "randwrite", 1, 0, RAND_BS, RAND_QD },
};

/* ----------------------------------------------------------------- fio */

/* terse_field - field @i (1-based) of fio's terse (version 3) line @out,
 * as a number; NAN if absent. */
static double terse_field(const char *out, unsigned i)
{
	const char *p = out;

	while (p && --i)
		p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL;
	return p ? strtod(p, NULL) : NAN;
}

/* Terse v3 fields: error 5; read KiB/s 7, IOPS 8; write KiB/s 48, IOPS 49;
 * CPU usr% 88, sys% 89. */
enum { T_ERR = 5, T_RBW = 7, T_RIOPS = 8, T_WBW = 48, T_WIOPS = 49, T_USR = 88, T_SYS = 89 };

static int fio_run(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f)
{
	const char *nl;
	struct util_argv a = { .n = 0 };
	char *out = NULL;
	double srv0 = bf_srv_cpu_s(s), srv1, wall, v, cpu_pct;
	int64_t t0 = util_now_ns();
	int code;

	util_argv_add(&a, "fio");
	util_argv_add(&a, "--output-format=terse");
	util_argv_add(&a, "--terse-version=3");
	util_argv_add(&a, "--name=%s", bf_wls[wl].name);
	util_argv_add(&a, "--filename=%s/" DATA_FILE, s->root);
	util_argv_add(&a, "--ioengine=io_uring");
	util_argv_add(&a, "--direct=%d", s->fio_direct);
	util_argv_add(&a, "--rw=%s", shapes[wl].fio_rw);
	util_argv_add(&a, "--bs=%u", shapes[wl].bs);
	util_argv_add(&a, "--iodepth=%u", shapes[wl].qd);
	util_argv_add(&a, "--size=%llu", (unsigned long long)c->file);
	util_argv_add(&a, "--fallocate=none");
	if (wl == WL_SEQWRITE)
		util_argv_add(&a, "--end_fsync=1");
	if (!shapes[wl].seq) {
		util_argv_add(&a, "--time_based");
		util_argv_add(&a, "--runtime=%lldms", (long long)llround(c->runtime * 1000));
		util_argv_add(&a, "--ramp_time=%lldms", (long long)llround(c->warmup * 1000));
		util_argv_add(&a, "--norandommap");
		util_argv_add(&a, "--randrepeat=0");
	}
	if (a.overflow)
		return bf_err("fio %s: command line too long", bf_wls[wl].name);
	code = bb_run_capture(a.v, c->err, &out);
	srv1 = bf_srv_cpu_s(s);
	wall = (double)(util_now_ns() - t0) / NS;
	if (code != 0) {
		bf_err("fio %s failed (%s %d):", bf_wls[wl].name, code < 0 ? "error" : "exit code",
		       code < 0 ? -code : code);
		bb_dump_file(c->err);
		free(out);
		return -1;
	}
	/* fio may print notes before its terse line: take the line that
	 * starts with "3;". */
	for (nl = out; nl && strncmp(nl, "3;", 2); nl = strchr(nl, '\n') ? strchr(nl, '\n') + 1 : NULL)
		;
	if (!nl || terse_field(nl, T_ERR) != 0) {
		bf_err("fio %s: no terse line with error 0:", bf_wls[wl].name);
		fprintf(stderr, "  | %.2000s\n", out);
		free(out);
		return -1;
	}
	if (shapes[wl].seq)
		v = terse_field(nl, shapes[wl].write ? T_WBW : T_RBW) / 1024;	/* MiB/s */
	else
		v = terse_field(nl, shapes[wl].write ? T_WIOPS : T_RIOPS);
	cpu_pct = terse_field(nl, T_USR) + terse_field(nl, T_SYS);
	/* The server's CPU over fio's whole run (it has no timed window of
	 * its own), as a share of the wall time, per operation. */
	if (s->srv[0] > 0)
		cpu_pct += 100 * (srv1 - srv0) / wall;
	f->v = v;
	f->cpu_us = cpu_pct * 1e4 / v;
	free(out);
	return 0;
}

/* ---------------------------------------------------------------- aoki */

/* aoki_run - workload @wl through the mount @s->fs; see the top. */
static int aoki_run(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f)
{
	unsigned qd = shapes[wl].qd, bs = shapes[wl].bs, nfree = 0, freel[RAND_QD];
	int write = shapes[wl].write, seq = shapes[wl].seq, fd, r, timing = 0;
	uint64_t next = 0, done = 0, rng = 0x2545f4914f6cdd1dull ^ (uint64_t)wl, blocks;
	int64_t start = util_now_ns(), t0 = start, t1 = 0, warm_ns, end_ns;
	double cpu0 = 0, cpu1 = 0;
	void *buf[RAND_QD];
	struct aoki_fs_cqe cqe[RAND_QD];
	unsigned inflight = 0;

	warm_ns = seq ? 0 : (int64_t)(c->warmup * NS);
	end_ns = warm_ns + (int64_t)(c->runtime * NS);
	blocks = c->file / bs;
	fd = aoki_fs_open(s->fs, DATA_FILE, write ? O_WRONLY | (wl == WL_SEQWRITE ? O_CREAT : 0)
					     : O_RDONLY, 0644);
	if (fd < 0)
		return bf_err("aoki_fs_open " DATA_FILE ": %s", strerror(-fd));
	for (unsigned i = 0; i < qd; i++) {
		r = aoki_fs_alloc(s->fs, bs, &buf[i]);
		if (r < 0) {
			aoki_fs_close(s->fs, fd);
			return bf_err("aoki_fs_alloc: %s", strerror(-r));
		}
		memset(buf[i], 0x5a + (int)i, bs);
		freel[nfree++] = i;
	}
	if (seq) {
		timing = 1;
		cpu0 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
	}
	for (;;) {
		int64_t now = util_now_ns() - start;
		int more = seq ? next < blocks : now < end_ns;

		if (!seq && !timing && now >= warm_ns) {
			timing = 1;
			done = 0;
			t0 = util_now_ns();
			cpu0 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
		}
		if (!seq && timing && !more && !t1) {
			t1 = util_now_ns();
			cpu1 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
		}
		while (more && nfree) {
			unsigned slot = freel[--nfree];
			uint64_t blk = seq ? next++ : bb_xorshift(&rng) % blocks;
			struct aoki_fs_io io = {
				.op = write ? AOKI_FS_OP_WRITE : AOKI_FS_OP_READ,
				.len = bs, .fd = fd, .offset = blk * bs, .buf = buf[slot], .tag = slot,
			};

			r = aoki_fs_submit(s->fs, &io, 1);
			if (r != 1) {
				freel[nfree++] = slot;
				if (seq)
					next--;
				if (r < 0) {
					bf_err("aoki_fs_submit: %s", strerror(-r));
					goto out;
				}
				break;
			}
			inflight++;
			more = seq ? next < blocks : 1;
		}
		if (!inflight)
			break;
		r = aoki_fs_reap(s->fs, cqe, RAND_QD, 1, -1);
		if (r < 0) {
			bf_err("aoki_fs_reap: %s", strerror(-r));
			goto out;
		}
		for (int i = 0; i < r; i++) {
			if (cqe[i].res != (int64_t)bs) {
				bf_err("aoki %s: a request returned %lld", bf_wls[wl].name,
				       (long long)cqe[i].res);
				r = -1;
				goto out;
			}
			freel[nfree++] = (unsigned)cqe[i].tag;
			inflight--;
			done += timing && !t1;
		}
	}
	r = 0;
	if (wl == WL_SEQWRITE && (r = aoki_fs_fsync(s->fs, fd)) < 0)
		bf_err("aoki_fs_fsync: %s", strerror(-r));
	if (seq) {
		t1 = util_now_ns();
		cpu1 = bb_thread_cpu_s() + bf_srv_cpu_s(s);
		done = blocks;
	}
out:
	for (unsigned i = 0; i < qd; i++)
		aoki_fs_free(s->fs, buf[i]);
	aoki_fs_close(s->fs, fd);
	if (r < 0)
		return -1;
	/* Operations per second; the seq rows count 1 MiB operations, so
	 * their value is MiB/s. */
	f->v = (double)done / ((double)(t1 - t0) / NS);
	f->cpu_us = (cpu1 - cpu0) * 1e6 / (double)done;
	return 0;
}

int bf_data(const struct bf_cfg *c, const struct bf_side *s, int wl, struct bf_fig *f)
{
	if (!shapes[wl].write)
		bf_drop_cache(c, s);
	return bf_aoki_client(s) ? aoki_run(c, s, wl, f) : fio_run(c, s, wl, f);
}
