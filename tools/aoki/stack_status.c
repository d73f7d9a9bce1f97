/* SPDX-License-Identifier: MIT */
/*
 * stack_status.c - `aoki status`: what each server of the stack is doing.
 * aoki-init's status files give state, pid, restarts and how the last
 * process ended; the stats request of the IPC library gives each server's
 * counters and own figures, sampled twice to turn counters into rates;
 * the mount table tells whether the FUSE mount is there.  Printed as a
 * table or as one JSON object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "stack.h"

/* The figure of each server that counts its payload bytes. */
static const char *const byte_keys[STACK_NSRV][2] = {
	[STACK_BLKD] = { "read_bytes", "write_bytes" },
	[STACK_FSD] = { "data_read", "data_written" },
};

static uint64_t bytes_of(enum stack_srv s, const struct stack_kv *kv)
{
	if (!byte_keys[s][0])
		return 0;
	return (uint64_t)stack_kv_num(kv, byte_keys[s][0], 0) +
	       (uint64_t)stack_kv_num(kv, byte_keys[s][1], 0);
}

/* aoki-init's view of @s, into @v. */
static void init_view(const struct stack_conf *c, enum stack_srv s, struct stack_srv_view *v)
{
	struct stack_kv kv;
	const char *text;

	v->uptime_ns = -1;
	if (stack_srv_status(c, s, &kv) < 0)
		return;
	v->known = 1;
	text = stack_kv_get(&kv, "state");
	snprintf(v->state, sizeof(v->state), "%s", text ? text : "?");
	v->pid = (pid_t)stack_kv_num(&kv, "pid", 0);
	v->restarts = (unsigned)stack_kv_num(&kv, "restarts", 0);
	snprintf(v->last_exit, sizeof(v->last_exit), "%s",
		 (text = stack_kv_get(&kv, "last_exit")) ? text : "");
	v->last_exit_ns = stack_kv_num(&kv, "last_exit_ns", 0);
	if (v->pid > 0)
		v->started_ns = stack_kv_num(&kv, "started_ns", 0);
}

int stack_view_collect(const struct stack_conf *c, int64_t interval_ms, struct stack_view *v)
{
	struct aoki_server_stats first[2];
	struct stack_kv first_kv[2];
	int64_t t[2][2] = { { 0 } };	/* [server][sample] */

	memset(v, 0, sizeof(*v));
	v->interval_ms = interval_ms;
	v->init_pid = stack_init_pid(c);
	if (!v->init_pid)
		return -ESRCH;
	for (int s = 0; s < STACK_NSRV; s++) {
		init_view(c, s, &v->srv[s]);
		v->srv[s].req_per_s = v->srv[s].bytes_per_s = NAN;	/* aoki-fuse: none */
	}
	/* Two samples of each server, @interval_ms apart. */
	for (int round = 0; round < (interval_ms > 0 ? 2 : 1); round++) {
		if (round)
			usleep((useconds_t)interval_ms * 1000);
		for (int s = STACK_BLKD; s <= STACK_FSD; s++) {
			struct stack_srv_view *sv = &v->srv[s];
			char port[PATH_MAX + 16];

			if (round && !sv->answered)
				continue;
			snprintf(port, sizeof(port), "%s/%s.sock", c->run_dir, c->port[s]);
			sv->err = stack_query(port, 2000, &sv->st, &sv->figures);
			sv->answered = sv->err == 0;
			t[s][round] = util_now_ns();
			if (!round && sv->answered) {
				first[s] = sv->st;
				first_kv[s] = sv->figures;
			}
		}
	}
	for (int s = STACK_BLKD; s <= STACK_FSD; s++) {
		struct stack_srv_view *sv = &v->srv[s];
		double dt = (double)(t[s][1] - t[s][0]) / 1e9;

		sv->req_per_s = sv->bytes_per_s = NAN;
		if (!sv->answered)
			continue;
		/* The query's own channel is one of the channels. */
		sv->clients = sv->st.channels ? sv->st.channels - 1 : 0;
		if (sv->st.uptime_ns > 0)
			sv->uptime_ns = sv->st.uptime_ns;
		/* Rates only between two samples of one process: a restart
		 * in between starts the counters again. */
		if (interval_ms <= 0 || first[s].pid != sv->st.pid || dt <= 0)
			continue;
		/* Each query is a stats request and a grant revoke: the first
		 * query's two fall inside the window; they are not the load. */
		sv->req_per_s = 0;
		if (sv->st.requests >= first[s].requests + 2)
			sv->req_per_s = (double)(sv->st.requests - first[s].requests - 2) / dt;
		sv->bytes_per_s = (double)(bytes_of(s, &sv->figures) - bytes_of(s, &first_kv[s])) /
				  dt;
	}
	/* Without an answer (aoki-fuse), uptime from aoki-init's start time,
	 * taken now as the answers' were. */
	for (int s = 0; s < STACK_NSRV; s++)
		if (!v->srv[s].answered && v->srv[s].started_ns > 0)
			v->srv[s].uptime_ns = util_wall_ns() - v->srv[s].started_ns;
	if (c->mount[0]) {
		struct statfs sf;

		/* statfs always reaches the FUSE server (stat may be answered
		 * from the kernel's attribute cache). */
		v->mounted = stack_mounted(c->mount, v->fstype, sizeof(v->fstype)) == 1;
		if (v->mounted && statfs(c->mount, &sf) < 0)
			v->mount_err = -errno;
	}
	return 0;
}

/* "3d04h", "2h05m", "4m07s", "12.3s" */
static const char *human_time(int64_t ns, char *buf, size_t cap)
{
	double s = (double)ns / 1e9;

	if (ns < 0)
		snprintf(buf, cap, "-");
	else if (s < 60)
		snprintf(buf, cap, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
	else
		snprintf(buf, cap, "%dd%02dh", (int)s / 86400, (int)s % 86400 / 3600);
	return buf;
}

static const char *rate(double v, const char *fmt, char *buf, size_t cap)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, fmt, v);
	return buf;
}

static void print_table(const struct stack_conf *c, const struct stack_view *v)
{
	char up[32], rq[32], bw[32], cl[16], ago[32];
	const struct stack_srv_view *fsd = &v->srv[STACK_FSD];

	printf("stack %s: aoki-init pid %d, run dir %s\n", c->file, (int)v->init_pid, c->run_dir);
	printf("%-10s %-10s %7s %9s %8s %7s %9s %9s  %s\n", "SERVER", "STATE", "PID", "UPTIME",
	       "RESTARTS", "CLIENTS", "REQ/S", "MiB/S", "LAST EXIT");
	for (int s = 0; s < STACK_NSRV; s++) {
		const struct stack_srv_view *sv = &v->srv[s];

		if (s == STACK_FUSE && !c->mount[0])
			continue;
		if (sv->answered)
			snprintf(cl, sizeof(cl), "%llu", (unsigned long long)sv->clients);
		else
			snprintf(cl, sizeof(cl), "-");
		ago[0] = 0;
		if (sv->last_exit_ns > 0)
			snprintf(ago, sizeof(ago), " (%s ago)",
				 human_time(util_wall_ns() - sv->last_exit_ns, up, sizeof(up)));
		printf("aoki-%-5s %-10s %7d %9s %8u %7s %9s %9s  %s%s\n", stack_srv_names[s],
		       sv->known ? sv->state : "unknown", (int)sv->pid,
		       human_time(sv->uptime_ns, up, sizeof(up)), sv->restarts, cl,
		       rate(sv->req_per_s, "%.0f", rq, sizeof(rq)),
		       rate(sv->bytes_per_s / (1 << 20), "%.2f", bw, sizeof(bw)),
		       sv->last_exit[0] ? sv->last_exit : "-", ago);
		if (s <= STACK_FSD && !sv->answered && sv->known)
			printf("           (stats request not answered: %s)\n", strerror(-sv->err));
	}
	if (c->mount[0])
		printf("mount      %s: %s%s%s%s\n", c->mount, v->mounted ? "mounted, " : "not mounted",
		       v->mounted ? v->fstype : "", v->mount_err ? ", not answering: " : "",
		       v->mount_err ? strerror(-v->mount_err) : "");
	if (fsd->answered) {
		const struct stack_kv *f = &fsd->figures;

		printf("journal    %lld of %lld blocks in use (tail %lld, head %lld), "
		       "next tid %lld; %lld commits, %lld checkpoints; %lld blocks dirty, "
		       "%lld not checkpointed; needs_recovery %s\n",
		       (long long)stack_kv_num(f, "journal_used", -1),
		       (long long)stack_kv_num(f, "journal_size", -1),
		       (long long)stack_kv_num(f, "journal_tail", -1),
		       (long long)stack_kv_num(f, "journal_head", -1),
		       (long long)stack_kv_num(f, "journal_next_tid", -1),
		       (long long)stack_kv_num(f, "commits", -1),
		       (long long)stack_kv_num(f, "checkpoints", -1),
		       (long long)stack_kv_num(f, "dirty_blocks", -1),
		       (long long)stack_kv_num(f, "uncheckpointed_blocks", -1),
		       stack_kv_num(f, "needs_recovery", 0) ? "on (cleared by aoki down)" : "off");
	}
	if (v->interval_ms > 0)
		printf("rates over %lld ms, without the status queries themselves\n",
		       (long long)v->interval_ms);
}

/* @s as a JSON string. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* A decimal integer that JSON can carry as is. */
static int is_int(const char *s)
{
	size_t digits;

	s += *s == '-';
	digits = strspn(s, "0123456789");
	return digits > 0 && digits < 20 && !s[digits] && (s[0] != '0' || digits == 1);
}

static void json_num(double v)
{
	if (isnan(v))
		printf("null");
	else
		printf("%.3f", v);
}

static void print_json(const struct stack_conf *c, const struct stack_view *v)
{
	printf("{\"config\":");
	json_str(c->file);
	printf(",\"run_dir\":");
	json_str(c->run_dir);
	printf(",\"up\":%s,\"init_pid\":%d,\"interval_ms\":%lld,\"servers\":[",
	       v->init_pid ? "true" : "false", (int)v->init_pid, (long long)v->interval_ms);
	for (int s = 0, first = 1; v->init_pid && s < STACK_NSRV; s++) {
		const struct stack_srv_view *sv = &v->srv[s];

		if (s == STACK_FUSE && !c->mount[0])
			continue;
		printf("%s{\"name\":\"%s\",\"state\":", first ? "" : ",", stack_srv_names[s]);
		first = 0;
		json_str(sv->known ? sv->state : "unknown");
		printf(",\"pid\":%d,\"uptime_s\":", (int)sv->pid);
		json_num(sv->uptime_ns >= 0 ? (double)sv->uptime_ns / 1e9 : NAN);
		printf(",\"restarts\":%u,\"last_exit\":", sv->restarts);
		if (sv->last_exit[0])
			json_str(sv->last_exit);
		else
			printf("null");
		printf(",\"last_exit_ns\":%lld", (long long)sv->last_exit_ns);
		if (s == STACK_FUSE) {
			printf(",\"mount\":");
			json_str(c->mount);
			printf(",\"mounted\":%s,\"answering\":%s}", v->mounted ? "true" : "false",
			       v->mounted && !v->mount_err ? "true" : "false");
			continue;
		}
		printf(",\"answered\":%s", sv->answered ? "true" : "false");
		if (!sv->answered) {
			printf(",\"error\":");
			json_str(strerror(-sv->err));
			printf("}");
			continue;
		}
		printf(",\"clients\":%llu,\"requests_per_s\":", (unsigned long long)sv->clients);
		json_num(sv->req_per_s);
		printf(",\"bytes_per_s\":");
		json_num(sv->bytes_per_s);
		printf(",\"stats\":{\"requests\":%llu,\"channels\":%llu,\"accepted\":%llu,"
		       "\"dropped\":%llu,\"refused\":%llu,\"resumed\":%llu,\"rerun\":%llu,"
		       "\"epoch\":%llu,\"workers\":%llu,\"start_ns\":%lld},\"figures\":{",
		       (unsigned long long)sv->st.requests, (unsigned long long)sv->st.channels,
		       (unsigned long long)sv->st.accepted, (unsigned long long)sv->st.dropped,
		       (unsigned long long)sv->st.refused, (unsigned long long)sv->st.resumed,
		       (unsigned long long)sv->st.rerun, (unsigned long long)sv->st.epoch,
		       (unsigned long long)sv->st.workers, (long long)sv->st.start_ns);
		for (unsigned i = 0; i < sv->figures.n; i++) {
			printf("%s", i ? "," : "");
			json_str(sv->figures.key[i]);
			/* Figures are integers by contract; anything else is text. */
			putchar(':');
			if (is_int(sv->figures.val[i]))
				printf("%s", sv->figures.val[i]);
			else
				json_str(sv->figures.val[i]);
		}
		printf("}}");
	}
	printf("]}\n");
}

void stack_view_print(const struct stack_conf *c, const struct stack_view *v, int json)
{
	if (json)
		print_json(c, v);
	else
		print_table(c, v);
	fflush(stdout);
}

static int usage(FILE *f)
{
	fprintf(f, "Usage: aoki status [-c FILE] [--json] [--interval MS]\n"
		   "Show each server of the stack FILE describes (default %s): state,\n"
		   "pid, uptime, restarts and the last exit (from aoki-init), clients, requests/s\n"
		   "and MiB/s (two samples of the stats request MS apart; default 1000, 0: one\n"
		   "sample, no rates), the FUSE mount and aoki-fsd's journal.  Exit status 0,\n"
		   "1 when the stack is not up, 2 for bad usage.\n", STACK_CONF_DEFAULT);
	return f == stdout ? 0 : 2;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *file = STACK_CONF_DEFAULT;
	char err[PATH_MAX + 256], *end;
	struct stack_conf c;
	struct stack_view v;
	long interval = 1000;
	int opt, json = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:ji:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || !*optarg || interval < 0 || interval > 60000) {
				fprintf(stderr, "aoki status: --interval %s: ms from 0 to 60000\n",
					optarg);
				return 2;
			}
			break;
		default:
			return usage(opt == 'h' ? stdout : stderr);
		}
	}
	if (optind < argc)
		return usage(stderr);
	if (stack_conf_load(file, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "aoki status: %s\n", err);
		return 2;
	}
	if (stack_view_collect(&c, interval, &v) < 0) {
		if (json)
			stack_view_print(&c, &v, 1);
		fprintf(stderr, "aoki status: the stack of %s is not up (no aoki-init in %s)\n",
			file, c.run_dir);
		return 1;
	}
	stack_view_print(&c, &v, json);
	return 0;
}
