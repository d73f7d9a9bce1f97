/* SPDX-License-Identifier: MIT */
/*
 * soakd.c - aoki-soakd: the server that soak tests kill (SIGKILL, at any
 * instruction) and restart under load.  Protocol in soak_proto.h.  Its
 * state lives in --state DIR and survives its death:
 *   DIR/dedup        the aoki_dedup(3) table (exactly-once APPEND)
 *   DIR/log-*        one append log per client (soak_log.h)
 * It takes its listening socket from socket activation when one is
 * passed for its port, and binds the port itself otherwise.  SIGTERM or
 * SIGINT stops it cleanly (exit 0).  --crash makes it kill itself at a
 * chosen point of an APPEND, for tests of the exactly-once path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aoki/dedup.h"
#include "aoki/ipc.h"
#include "daemon.h"
#include "soak_log.h"
#include "soak_proto.h"

/* Where --crash kills the server in its Nth APPEND (for tests). */
enum crash_point { CRASH_NONE, CRASH_APPLIED, CRASH_COMMITTED };

struct soakd {
	struct aoki_dedup *dd;
	struct soak_logs *logs;
	enum crash_point crash;
	unsigned crash_at;
	_Atomic unsigned appends;	/* APPENDs begun NEW or INTERRUPTED */
};

/* --crash: die as a SIGKILL would, at @point of the crash_at-th APPEND,
 * before its reply is published. */
static void crash_point(struct soakd *sd, enum crash_point point, unsigned nth)
{
	if (sd->crash == point && nth == sd->crash_at)
		raise(SIGKILL);
}

static int caller_log(struct soakd *sd, struct aoki_req *req, int create, struct soak_log **log)
{
	uint8_t id[AOKI_CLIENT_ID_LEN];

	aoki_req_client(req, id);
	return soak_log_get(sd->logs, aoki_req_peer(req)->uid, id, create, log);
}

/* Apply an APPEND, or on INTERRUPTED find whether the dead server did. */
static int append_apply(struct soakd *sd, struct aoki_req *req, int state, uint64_t value,
			uint64_t *index)
{
	struct soak_log *log;
	int r = caller_log(sd, req, 1, &log);

	if (r < 0)
		return r;
	if (state == AOKI_DEDUP_INTERRUPTED &&
	    soak_log_find(log, aoki_req_seq(req), aoki_req_window(req), index) == 0)
		return 0;
	*index = soak_log_append(log, aoki_req_seq(req), value);
	return 0;
}

static int op_append(struct soakd *sd, struct aoki_req *req, const void *data, size_t len)
{
	uint64_t value, index;
	unsigned nth;
	int state, r;

	if (len != sizeof(value))
		return -EINVAL;
	memcpy(&value, data, sizeof(value));
	state = aoki_dedup_begin(sd->dd, req);
	if (state < 0 || state == AOKI_DEDUP_DONE)
		return state < 0 ? state : 0;
	nth = atomic_fetch_add_explicit(&sd->appends, 1, memory_order_relaxed) + 1;
	r = append_apply(sd, req, state, value, &index);
	crash_point(sd, CRASH_APPLIED, nth);
	/* The outcome, errors included, is what a rerun must see again. */
	if (r < 0)
		aoki_req_reply(req, r, NULL, 0);
	else
		aoki_req_reply(req, 0, &index, sizeof(index));
	r = aoki_dedup_commit(sd->dd, req);
	crash_point(sd, CRASH_COMMITTED, nth);
	return r;
}

static int op_count(struct soakd *sd, struct aoki_req *req)
{
	struct soak_log *log;
	uint64_t n = 0;
	int r = caller_log(sd, req, 0, &log);

	if (r == 0)
		n = soak_log_count(log);
	else if (r != -ENOENT)
		return r;
	return aoki_req_reply(req, 0, &n, sizeof(n));
}

static int soak_handler(struct aoki_req *req, void *arg)
{
	struct soakd *sd = arg;
	size_t len;
	const uint8_t *data = aoki_req_data(req, &len);
	uint8_t rep[SOAK_ECHO_MAX + sizeof(uint64_t)];
	uint64_t sum;
	uint32_t us, pid;

	switch (aoki_req_opcode(req)) {
	case SOAK_OP_ECHO:
		if (len > SOAK_ECHO_MAX)
			return -EINVAL;
		sum = soak_fnv1a64(data, len);
		memcpy(rep, data, len);
		memcpy(rep + len, &sum, sizeof(sum));
		return aoki_req_reply(req, (int32_t)len, rep, len + sizeof(sum));
	case SOAK_OP_APPEND:
		return op_append(sd, req, data, len);
	case SOAK_OP_COUNT:
		return len ? -EINVAL : op_count(sd, req);
	case SOAK_OP_SLEEP:
		if (len != sizeof(us))
			return -EINVAL;
		memcpy(&us, data, sizeof(us));
		if (us > SOAK_SLEEP_MAX_US)
			return -EINVAL;
		usleep(us);
		return aoki_req_reply(req, 0, NULL, 0);
	case SOAK_OP_PID:
		pid = (uint32_t)getpid();
		return aoki_req_reply(req, 0, &pid, sizeof(pid));
	default:
		return -ENOSYS;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: aoki-soakd --state DIR [--port NAME] [--workers N] [--quiet]\n"
		"                  [--crash WHEN:N]\n"
		"\n"
		"Serve the soak protocol (aoki-soakd(8)) on port NAME\n"
		"(default \"soak\", or the socket passed for NAME by socket activation),\n"
		"keeping its durable state (dedup table, append logs) in DIR, which a\n"
		"restarted aoki-soakd picks up.  Stops on SIGTERM/SIGINT (exit 0).\n"
		"\n"
		"  -s, --state DIR    state directory (created if missing)\n"
		"  -p, --port NAME    port name or socket path\n"
		"  -w, --workers N    worker threads, 1..64 (default 1)\n"
		"  -q, --quiet        do not log connections\n"
		"      --crash WHEN:N kill itself (SIGKILL) in the Nth APPEND it runs, after\n"
		"                     its log entry (WHEN = applied) or after recording its\n"
		"                     result (committed), before replying: for tests\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n");
}

/* --crash applied:N | committed:N */
static int parse_crash(const char *s, struct soakd *sd)
{
	const char *colon = strchr(s, ':');

	if (!colon || daemon_parse_uint(colon + 1, 1, UINT_MAX, &sd->crash_at) < 0)
		return -EINVAL;
	if (colon - s == 7 && !strncmp(s, "applied", 7))
		sd->crash = CRASH_APPLIED;
	else if (colon - s == 9 && !strncmp(s, "committed", 9))
		sd->crash = CRASH_COMMITTED;
	else
		return -EINVAL;
	return 0;
}

/* Parse options into @cfg, *@state and @sd; returns -1 to go on, else an
 * exit code. */
static int parse_args(int argc, char **argv, struct aoki_server_config *cfg,
		      const char **state, struct soakd *sd)
{
	static const struct option longopts[] = {
		DAEMON_LONGOPTS,
		{ "state", required_argument, NULL, 's' },
		{ "crash", required_argument, NULL, 'c' },
		{ 0 }
	};
	int c, r;

	while ((c = getopt_long(argc, argv, DAEMON_SHORT "s:", longopts, NULL)) != -1) {
		r = daemon_option("aoki-soakd", c, optarg, cfg);
		if (r < 0)
			return 2;
		if (r == 2)
			return 0;	/* --version */
		if (r > 0)
			continue;
		switch (c) {
		case 's':
			*state = optarg;
			break;
		case 'c':
			if (parse_crash(optarg, sd) < 0) {
				fprintf(stderr, "aoki-soakd: --crash %s: not applied:N or committed:N\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		fprintf(stderr, "aoki-soakd: unexpected argument '%s'\n", argv[optind]);
	else if (!*state)
		fprintf(stderr, "aoki-soakd: --state DIR is required\n");
	else
		return -1;
	usage(stderr);
	return 2;
}

/* Open the durable state in @dir. */
static int state_open(const char *dir, struct soakd *sd)
{
	char path[PATH_MAX];
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(path, sizeof(path), "%s/dedup", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* Zero options: the defaults for a new table, the file's geometry
	 * for an existing one. */
	r = aoki_dedup_open(path, NULL, &sd->dd);
	if (r < 0)
		return r;
	r = soak_logs_open(dir, &sd->logs);
	if (r < 0)
		aoki_dedup_close(sd->dd);
	return r;
}

int main(int argc, char **argv)
{
	struct soakd sd = { 0 };
	struct aoki_server_config cfg = {
		.port = SOAK_PORT, .listen_fd = -1, .handler = soak_handler,
		.handler_arg = &sd, .workers = 1,
	};
	const char *state = NULL;
	char what[PATH_MAX + 16];
	int r;

	r = parse_args(argc, argv, &cfg, &state, &sd);
	if (r >= 0)
		return r;
	r = state_open(state, &sd);
	if (r < 0) {
		fprintf(stderr, "aoki-soakd: state %s: %s\n", state, strerror(-r));
		return 1;
	}
	snprintf(what, sizeof(what), ", state %s", state);
	r = daemon_serve("aoki-soakd", &cfg, what);
	soak_logs_close(sd.logs);
	aoki_dedup_close(sd.dd);
	return r;
}
