/* SPDX-License-Identifier: MIT */
/*
 * supervise.c - the supervisor's event loop: one thread, one epoll set
 * holding a signalfd (SIGTERM, SIGINT, SIGHUP, SIGCHLD) and a pidfd per
 * running server.  Restart delays are deadlines: epoll_wait sleeps until
 * the nearest one.  A server exit is seen through its pidfd; SIGCHLD is
 * the backup (a kernel without pidfd_open) and reaps children that are
 * not servers (aoki-init as PID 1 of a container adopts orphans).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "init.h"

#define SIGFD_KEY UINT64_MAX	/* epoll key of the signalfd; servers: their index */

enum srv_state {
	SRV_RUNNING,		/* a process is up */
	SRV_WAITING,		/* exited; restart at restart_at_ns */
	SRV_COOLING,		/* crash limit: ports removed; new ones and a
				 * restart at restart_at_ns (cool-down-s) */
	SRV_DONE,		/* exited for good, or stopped */
	SRV_FAILED,		/* gave up, or failed under restart = never */
};

struct server {
	const struct init_server_conf *conf;
	struct init_socket socks[INIT_MAX_PORTS];
	int fds[INIT_MAX_PORTS];
	char fdnames[INIT_MAX_PORTS * INIT_NAME_MAX];	/* "a:b:c" */
	struct init_backoff backoff;
	enum srv_state state;
	pid_t pid;			/* 0 when no process */
	int pidfd;			/* -1 when none */
	int64_t started_ns, restart_at_ns, kill_at_ns;
	unsigned starts;
	int pidfile;			/* we wrote <run dir>/<name>.pid */
	int statusfile;			/* we wrote <run dir>/<name>.status */
	int64_t started_wall_ns;	/* of the last start, for the status file */
	char last_exit[96];		/* how the last process ended; "" none */
	int64_t last_exit_wall_ns;
	int term_sent, kill_sent;	/* during shutdown */
};

struct init_sup {
	const struct init_config *cfg;
	char *run_dir;
	struct server *srv;
	unsigned n;
	int epfd, sigfd;
	int stopping;
	int stop_idx;			/* next server to stop, counting down */
	int failed;			/* the exit status will be 1 */
};

/* Rewrite <run dir>/<name>.status after a change of @s (aoki status
 * reads it: restarts and the last cause are known only here). */
static void status_update(struct init_sup *sup, struct server *s)
{
	static const char *const names[] = {
		[SRV_RUNNING] = "running", [SRV_WAITING] = "restarting",
		[SRV_COOLING] = "cooling",
		[SRV_DONE] = "stopped", [SRV_FAILED] = "failed",
	};
	struct init_status st = {
		.state = names[s->state], .pid = s->pid, .starts = s->starts,
		.started_ns = s->started_wall_ns, .last_exit = s->last_exit,
		.last_exit_ns = s->last_exit_wall_ns,
	};

	s->statusfile = init_status_write(sup->run_dir, s->conf->name, &st) == 0 ||
			s->statusfile;
}

/* A server that will not run again gives its sockets up: clients then
 * fail at once (-ENOENT) instead of waiting in a backlog nobody reads. */
static void settle(struct init_sup *sup, struct server *s, enum srv_state state)
{
	s->state = state;
	if (state == SRV_FAILED)
		sup->failed = 1;
	for (unsigned i = 0; i < s->conf->nports; i++)
		init_socket_close(&s->socks[i]);
}

/* Only ours: another aoki-init may run the same names elsewhere. */
static void pidfile_remove(struct init_sup *sup, struct server *s)
{
	if (s->pidfile)
		init_pidfile_remove(sup->run_dir, s->conf->name);
	s->pidfile = 0;
}

/* The crash limit is reached: give up, or remove the ports for
 * cool-down-s and then try again.  Either way clients fail at once
 * (-ENOENT) instead of waiting out their reconnect deadline. */
static void crash_limit(struct init_sup *sup, struct server *s, const char *who,
			const char *how, int64_t now)
{
	const struct init_server_conf *c = s->conf;

	if (!c->cool_down_s) {
		init_log("%s %s; giving up: %u crashes within %u s (crash-limit); its ports "
			 "are removed and it stays down until aoki-init restarts (cool-down-s = 0)",
			 who, how, c->crash_limit, c->crash_window_s);
		settle(sup, s, SRV_FAILED);
		return;
	}
	init_log("%s %s; %u crashes within %u s (crash-limit): its ports are removed; "
		 "new ones and a restart in %u s (cool-down-s)", who, how, c->crash_limit,
		 c->crash_window_s, c->cool_down_s);
	for (unsigned i = 0; i < c->nports; i++)
		init_socket_close(&s->socks[i]);
	s->state = SRV_COOLING;
	s->restart_at_ns = now + (int64_t)c->cool_down_s * 1000000000;
}

/* The cool-down of @s is over: new sockets, a fresh crash count.
 * Returns 0, or -errno after giving @s up. */
static int cooled(struct init_sup *sup, struct server *s)
{
	const struct init_server_conf *c = s->conf;

	for (unsigned i = 0; i < c->nports; i++) {
		int r = init_socket_open(sup->run_dir, c->ports[i], &s->socks[i]);

		if (r < 0) {
			init_log("server %s: port %s: cannot create %s/%s.sock again: %s; "
				 "giving up", c->name, c->ports[i], sup->run_dir, c->ports[i],
				 r == -EADDRINUSE ? "another process listens there" : strerror(-r));
			settle(sup, s, SRV_FAILED);
			status_update(sup, s);
			return r;
		}
		s->fds[i] = s->socks[i].fd;
	}
	init_backoff_reset(&s->backoff);
	init_log("server %s: cool-down over; ports created again", c->name);
	return 0;
}

/*
 * @s's process is gone (or never started): log @how and decide.  @code is
 * its exit status, or -1 (killed by a signal, or not started).
 */
static void exited(struct init_sup *sup, struct server *s, const char *how, int code,
		   int64_t now)
{
	int clean = code == 0;
	const struct init_server_conf *c = s->conf;
	char who[INIT_NAME_MAX + 32];
	long delay;

	if (s->pid > 0)
		snprintf(who, sizeof(who), "server %s (pid %d)", c->name, s->pid);
	else
		snprintf(who, sizeof(who), "server %s", c->name);
	s->pid = 0;
	snprintf(s->last_exit, sizeof(s->last_exit), "%s", how);
	s->last_exit_wall_ns = util_wall_ns();
	if (s->pidfd >= 0)
		close(s->pidfd);	/* leaves the epoll set (see reap_server) */
	s->pidfd = -1;
	pidfile_remove(sup, s);
	if (sup->stopping || s->term_sent) {
		init_log("%s stopped: %s", who, how);
		settle(sup, s, SRV_DONE);
		return;
	}
	if (code > 0 && (unsigned)code == c->no_restart_status) {
		/* The s6 convention (there: 125): the server says running it
		 * again is pointless, e.g. its configuration is wrong. */
		init_log("%s %s; not restarted: exit status %d means a usage or configuration "
			 "error (no-restart-status)", who, how, code);
		settle(sup, s, SRV_FAILED);
		return;
	}
	if (c->restart == INIT_RESTART_NEVER || (clean && c->restart == INIT_RESTART_ON_FAILURE)) {
		init_log("%s %s; not restarted (restart = %s)", who, how,
			 c->restart == INIT_RESTART_NEVER ? "never" : "on-failure");
		settle(sup, s, clean ? SRV_DONE : SRV_FAILED);
		return;
	}
	delay = init_backoff_crash(&s->backoff, now, now - s->started_ns);
	if (delay < 0) {
		crash_limit(sup, s, who, how, now);
		return;
	}
	init_log("%s %s; restart in %ld ms", who, how, delay);
	s->state = SRV_WAITING;
	s->restart_at_ns = now + delay * 1000000;
}

static void start(struct init_sup *sup, struct server *s, int64_t now)
{
	const struct init_server_conf *c = s->conf;
	struct epoll_event ev = { .events = EPOLLIN };
	char how[128];
	pid_t pid;
	int r;

	pid = init_spawn(c->argv, s->fds, c->nports, s->fdnames, sup->run_dir);
	s->started_ns = now;
	s->started_wall_ns = util_wall_ns();
	if (pid < 0) {
		snprintf(how, sizeof(how), "could not be started (fork: %s)", strerror((int)-pid));
		exited(sup, s, how, -1, now);
		status_update(sup, s);
		return;
	}
	s->pid = pid;
	s->state = SRV_RUNNING;
	s->pidfd = pidfd_open(pid, 0);
	ev.data.u64 = (uint64_t)(s - sup->srv);
	if (s->pidfd >= 0 && epoll_ctl(sup->epfd, EPOLL_CTL_ADD, s->pidfd, &ev) < 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
	/* Without a pidfd the exit still arrives as SIGCHLD. */
	r = init_pidfile_write(sup->run_dir, c->name, pid);
	s->pidfile = r == 0;
	if (r < 0)
		init_log("server %s: cannot write its pid file in %s: %s", c->name, sup->run_dir,
			 strerror(-r));
	if (s->starts++)
		init_log("server %s restarted (pid %d, restart %u)", c->name, pid, s->starts - 1);
	else
		init_log("server %s started (pid %d)", c->name, pid);
	status_update(sup, s);
}

/* @s's process exited with @status (reaped). */
static void reap(struct init_sup *sup, struct server *s, int status)
{
	char how[96];

	init_wait_status(status, how, sizeof(how));
	exited(sup, s, how, WIFEXITED(status) ? WEXITSTATUS(status) : -1, util_now_ns());
	status_update(sup, s);
}

/*
 * @s's pidfd is readable: reap it.  The event may be stale: a child
 * forked before the pidfd was closed holds a copy of it until its exec,
 * which keeps the epoll registration alive; by then @s may have no
 * process, or a new one that has not exited.  Hence WNOHANG on s->pid.
 */
static void reap_server(struct init_sup *sup, struct server *s)
{
	int status;

	if (s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid)
		reap(sup, s, status);
}

/* Every exited child: servers are handled, other children only reaped. */
static void reap_any(struct init_sup *sup)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < sup->n; i++) {
			if (sup->srv[i].pid == pid) {
				reap(sup, &sup->srv[i], status);
				break;
			}
		}
	}
}

static void read_signals(struct init_sup *sup)
{
	struct signalfd_siginfo si;

	while (read(sup->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_any(sup);
			break;
		case SIGHUP:
			init_log("SIGHUP ignored (no reload: restart aoki-init to change servers)");
			break;
		default:	/* SIGTERM, SIGINT */
			if (sup->stopping) {
				init_log("SIG%s: already stopping", sigabbrev_np((int)si.ssi_signo));
				break;
			}
			init_log("SIG%s: stopping the servers", sigabbrev_np((int)si.ssi_signo));
			sup->stopping = 1;
			sup->stop_idx = (int)sup->n - 1;
			break;
		}
	}
}

static void earliest(int64_t *next, int64_t t)
{
	if (*next < 0 || t < *next)
		*next = t;
}

/* Restart what is due.  Returns how many servers still run or wait. */
static unsigned restart_due(struct init_sup *sup, int64_t now, int64_t *next)
{
	unsigned live = 0;

	for (unsigned i = 0; i < sup->n; i++) {
		struct server *s = &sup->srv[i];

		if (s->state == SRV_COOLING && now >= s->restart_at_ns && cooled(sup, s) == 0)
			s->state = SRV_WAITING;
		if (s->state == SRV_WAITING && now >= s->restart_at_ns)
			start(sup, s, now);
		if (s->state == SRV_WAITING || s->state == SRV_COOLING)
			earliest(next, s->restart_at_ns);
		live += s->state == SRV_RUNNING || s->state == SRV_WAITING ||
			s->state == SRV_COOLING;
	}
	return live;
}

/* Stop the servers one at a time, last first.  Returns 1 when all are. */
static int stop_step(struct init_sup *sup, int64_t now, int64_t *next)
{
	for (; sup->stop_idx >= 0; sup->stop_idx--) {
		struct server *s = &sup->srv[sup->stop_idx];
		const struct init_server_conf *c = s->conf;

		if (s->pid <= 0) {
			if (s->state == SRV_WAITING || s->state == SRV_COOLING)
				settle(sup, s, SRV_DONE);
			continue;
		}
		if (!s->term_sent) {
			/* A deliberate stop: the ports go now, not when the
			 * process is gone.  New clients then fail at once
			 * (-ENOENT) instead of joining a backlog nobody will
			 * serve, and so do clients of the stopping server that
			 * try to reconnect.  (The server keeps its own copy of
			 * each socket until it exits.) */
			for (unsigned i = 0; i < c->nports; i++)
				init_socket_close(&s->socks[i]);
			init_log("stopping server %s (pid %d): SIGTERM", c->name, s->pid);
			kill(s->pid, SIGTERM);
			s->term_sent = 1;
			s->kill_at_ns = now + (int64_t)c->stop_timeout_ms * 1000000;
		} else if (!s->kill_sent && now >= s->kill_at_ns) {
			init_log("server %s (pid %d) did not stop within %u ms: SIGKILL", c->name,
				 s->pid, c->stop_timeout_ms);
			kill(s->pid, SIGKILL);
			s->kill_sent = 1;
		}
		if (!s->kill_sent)
			earliest(next, s->kill_at_ns);
		return 0;	/* wait for its exit */
	}
	return 1;
}

int init_sup_run(struct init_sup *sup)
{
	struct epoll_event ev[16];

	for (;;) {
		int64_t now = util_now_ns(), next = -1;
		int timeout = -1, n;

		if (sup->stopping) {
			if (stop_step(sup, now, &next))
				break;
		} else if (!restart_due(sup, now, &next)) {
			init_log("no server left to run");
			break;
		}
		if (next >= 0) {
			int64_t ms = (next - now + 999999) / 1000000;

			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		n = epoll_wait(sup->epfd, ev, sizeof(ev) / sizeof(ev[0]), timeout);
		if (n < 0 && errno != EINTR) {
			init_log("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == SIGFD_KEY)
				read_signals(sup);
			else
				reap_server(sup, &sup->srv[ev[i].data.u64]);
		}
	}
	init_log("exiting with status %d", sup->failed);
	return sup->failed;
}

unsigned init_sup_start(struct init_sup *sup)
{
	unsigned started = 0;

	for (unsigned i = 0; i < sup->n; i++) {
		start(sup, &sup->srv[i], util_now_ns());
		started += sup->srv[i].state == SRV_RUNNING;
	}
	return started;
}

/* Sockets, names and backoff state of one server. */
static int server_open(struct init_sup *sup, struct server *s, char *err, size_t errcap)
{
	const struct init_server_conf *c = s->conf;
	char *names = s->fdnames;
	int r;

	s->pidfd = -1;
	for (unsigned i = 0; i < INIT_MAX_PORTS; i++)
		s->socks[i].fd = -1;
	for (unsigned i = 0; i < c->nports; i++) {
		r = init_socket_open(sup->run_dir, c->ports[i], &s->socks[i]);
		if (r == -EADDRINUSE) {
			snprintf(err, errcap, "server %s: port %s: %s/%s.sock: another process "
				 "listens there", c->name, c->ports[i], sup->run_dir, c->ports[i]);
			return r;
		}
		if (r < 0) {
			snprintf(err, errcap, "server %s: port %s: %s/%s.sock: %s", c->name,
				 c->ports[i], sup->run_dir, c->ports[i], strerror(-r));
			return r;
		}
		s->fds[i] = s->socks[i].fd;
		names += sprintf(names, "%s%s", i ? ":" : "", c->ports[i]);	/* fits */
	}
	r = init_backoff_init(&s->backoff, c);
	if (r < 0)
		snprintf(err, errcap, "server %s: %s", c->name, strerror(-r));
	return r;
}

int init_sup_open(const struct init_config *cfg, const char *run_dir,
		  struct init_sup **out, char *err, size_t errcap)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SIGFD_KEY };
	struct init_sup *sup = calloc(1, sizeof(*sup));
	sigset_t sigs;
	int r = -ENOMEM;

	if (sup)
		sup->epfd = sup->sigfd = -1;
	if (!sup || !(sup->run_dir = strdup(run_dir)) ||
	    !(sup->srv = calloc(cfg->nservers, sizeof(*sup->srv)))) {
		snprintf(err, errcap, "%s", strerror(ENOMEM));
		goto fail;
	}
	sup->cfg = cfg;
	for (; sup->n < cfg->nservers; sup->n++) {
		sup->srv[sup->n].conf = &cfg->servers[sup->n];
		r = server_open(sup, &sup->srv[sup->n], err, errcap);
		if (r < 0) {
			sup->n++;	/* close what it opened */
			goto fail;
		}
	}
	/* Signals are read from a signalfd, in the loop: no handler runs
	 * between two steps of a restart. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a ready fd whose reader left */
	sup->epfd = epoll_create1(EPOLL_CLOEXEC);
	sup->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sup->epfd < 0 || sup->sigfd < 0 ||
	    epoll_ctl(sup->epfd, EPOLL_CTL_ADD, sup->sigfd, &ev) < 0) {
		r = -errno;
		snprintf(err, errcap, "epoll/signalfd: %s", strerror(-r));
		goto fail;
	}
	*out = sup;
	return 0;
fail:
	if (sup)
		init_sup_close(sup);
	return r;
}

void init_sup_close(struct init_sup *sup)
{
	for (unsigned i = 0; i < sup->n; i++) {
		struct server *s = &sup->srv[i];

		for (unsigned j = 0; j < s->conf->nports; j++)
			init_socket_close(&s->socks[j]);
		if (s->pidfd >= 0)
			close(s->pidfd);
		pidfile_remove(sup, s);
		if (s->statusfile)
			init_runfile_remove(sup->run_dir, s->conf->name, "status");
		init_backoff_free(&s->backoff);
	}
	if (sup->epfd >= 0)
		close(sup->epfd);
	if (sup->sigfd >= 0)
		close(sup->sigfd);
	free(sup->srv);
	free(sup->run_dir);
	free(sup);
}
