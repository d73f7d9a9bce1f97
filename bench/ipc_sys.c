/* SPDX-License-Identifier: MIT */
/*
 * ipc_sys.c - syscalls_per_call: the system calls a request costs under
 * steady load, counted, not estimated.
 *
 * Method.  The benchmark process forks an echo server (pinned to the
 * server CPU) and a client process (pinned to the client CPU) that calls
 * ECHO_OP_ECHO in a loop.  Once the client is warm, the benchmark
 * PTRACE_SEIZEs every thread of both processes (PTRACE_O_TRACESYSGOOD |
 * PTRACE_O_TRACECLONE, so threads created later are followed too),
 * interrupts each and resumes it with PTRACE_SYSCALL, so that every
 * kernel entry of every thread stops in the tracer.  It then opens the
 * window (a flag in shared memory); the client makes exactly sys_window
 * calls, sets "done", and makes one marker system call (getppid).  Every
 * syscall-entry stop (PTRACE_GET_SYSCALL_INFO says entry) the tracer
 * sees between opening the window and the marker is counted, the marker
 * included.  syscalls_per_call = (client + server entries) / sys_window.
 *
 * Error bound: a stop that happened just before the window opened may be
 * counted (at most one per thread), and the marker is counted; both only
 * ever raise the figure, by a few in sys_window (200 000 by default).
 * Being traced makes each system call slower, never more frequent, so
 * the count is that of the untraced program, unless a spin or timeout is
 * tuned so finely that the slowdown changes which path runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "ipc_bench.h"

#define MAX_TIDS 64
#define MAX_NR 512

enum { WHO_CLIENT, WHO_SERVER };

struct sys_shared {
	alignas(64) _Atomic uint32_t ready;	/* client: connected and warm */
	alignas(64) _Atomic uint32_t go;	/* tracer: the window is open */
	alignas(64) _Atomic uint32_t done;	/* client: window calls made */
	_Atomic int32_t err;			/* client: first error */
	uint32_t window;
	char port[128];
};

struct tracer {
	struct { pid_t tid; int who; } t[MAX_TIDS];
	unsigned ntids;
	pid_t pid[2];		/* the client and server processes */
	int counting;
	uint64_t count[2];
	uint32_t by_nr[2][MAX_NR];
};

/* ------------------------------------------------------------ client */

static int sys_echo(struct aoki_chan *ch)
{
	uint8_t buf[BENCH_MSG_BYTES] = { 0x5a };
	size_t len = 0;
	int r = aoki_call(ch, ECHO_OP_ECHO, buf, sizeof(buf), buf, sizeof(buf), &len);

	return r == BENCH_MSG_BYTES && len == BENCH_MSG_BYTES ? 0 : (r < 0 ? r : -EBADMSG);
}

static void sys_client(void *arg)
{
	struct sys_shared *sh = arg;
	struct aoki_chan *ch = NULL;
	int r = aoki_connect(sh->port, NULL, &ch);

	for (unsigned i = 0; r == 0 && i < 20000; i++)	/* warm-up */
		r = sys_echo(ch);
	/* Release pairs with the tracer's acquire poll of ready. */
	atomic_store_explicit(&sh->ready, 1, memory_order_release);
	/* Keep the load steady while the tracer attaches. */
	while (r == 0 && !atomic_load_explicit(&sh->go, memory_order_acquire))
		r = sys_echo(ch);
	for (uint32_t i = 0; r == 0 && i < sh->window; i++)
		r = sys_echo(ch);
	atomic_store_explicit(&sh->err, r, memory_order_relaxed);
	/* Release pairs with the tracer's acquire load of done at the
	 * marker stop: err is visible by then. */
	atomic_store_explicit(&sh->done, 1, memory_order_release);
	syscall(SYS_getppid);	/* the marker: the window ends here */
	for (;;)
		pause();
}

/* ------------------------------------------------------------ tracer */

static int tracer_who(struct tracer *tr, pid_t tid)
{
	char path[64], line[128];
	FILE *f;
	int tgid = -1;

	for (unsigned i = 0; i < tr->ntids; i++)
		if (tr->t[i].tid == tid)
			return tr->t[i].who;
	/* A thread born after the attach (PTRACE_O_TRACECLONE). */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	if (tr->ntids == MAX_TIDS || tgid < 0)
		return WHO_SERVER;
	tr->t[tr->ntids].tid = tid;
	tr->t[tr->ntids].who = tgid == tr->pid[WHO_CLIENT] ? WHO_CLIENT : WHO_SERVER;
	return tr->t[tr->ntids++].who;
}

/* Seize every thread of @pid not seized yet; returns how many were new. */
static int seize_threads(struct tracer *tr, int who)
{
	const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
	char path[64];
	struct dirent *d;
	DIR *dir;
	int added = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tr->pid[who]);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		pid_t tid = (pid_t)atoi(d->d_name);
		unsigned i;

		for (i = 0; i < tr->ntids && tr->t[i].tid != tid; i++)
			;
		if (tid <= 0 || i < tr->ntids || tr->ntids == MAX_TIDS)
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, opts) < 0) {
			added = -errno;
			fprintf(stderr, "aoki bench ipc: PTRACE_SEIZE of thread %d: %s "
				"(is ptrace forbidden here: seccomp, Yama ptrace_scope 3?)\n",
				(int)tid, strerror(-added));
			break;
		}
		tr->t[tr->ntids].tid = tid;
		tr->t[tr->ntids++].who = who;
		added++;
	}
	closedir(dir);
	return added;
}

/* Seize both processes, then stop each thread once and restart it with
 * syscall tracing on. */
static int tracer_attach(struct tracer *tr)
{
	int r;

	for (int who = WHO_CLIENT; who <= WHO_SERVER; who++)
		do {
			r = seize_threads(tr, who);
			if (r < 0)
				return r;
		} while (r > 0);
	for (unsigned i = 0; i < tr->ntids; i++) {
		int st;

		if (ptrace(PTRACE_INTERRUPT, tr->t[i].tid, 0, 0) < 0)
			return -errno;
		if (waitpid(tr->t[i].tid, &st, __WALL) < 0)
			return -errno;
		if (ptrace(PTRACE_SYSCALL, tr->t[i].tid, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Handle one stop; returns 1 when the client's marker ends the window,
 * 0 to go on, -errno on failure.
 */
static int tracer_stop(struct tracer *tr, struct sys_shared *sh, pid_t tid, int st)
{
	struct __ptrace_syscall_info info;
	int sig = 0, end = 0;

	if (WIFEXITED(st) || WIFSIGNALED(st))
		return tid == tr->pid[0] || tid == tr->pid[1] ? -ECHILD : 0;
	if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) > 0 &&
		    info.op == PTRACE_SYSCALL_INFO_ENTRY && tr->counting) {
			int who = tracer_who(tr, tid);

			tr->count[who]++;
			if (info.entry.nr < MAX_NR)
				tr->by_nr[who][info.entry.nr]++;
			/* Acquire pairs with the client's release of done. */
			if (who == WHO_CLIENT && info.entry.nr == SYS_getppid &&
			    atomic_load_explicit(&sh->done, memory_order_acquire))
				end = 1;
		}
	} else if (st >> 16) {
		/* PTRACE_EVENT_CLONE, or the first stop of a new thread. */
		tracer_who(tr, tid);
	} else {
		sig = WSTOPSIG(st);	/* a signal for the tracee: deliver it */
	}
	if (ptrace(PTRACE_SYSCALL, tid, 0, sig) < 0 && errno != ESRCH)
		return -errno;
	return end;
}

static const char *sys_name(unsigned nr)
{
	switch (nr) {
	case SYS_futex: return "futex";
#ifdef SYS_futex_waitv
	case SYS_futex_waitv: return "futex_waitv";
#endif
	case SYS_read: return "read";
	case SYS_write: return "write";
	case SYS_poll: return "poll";
	case SYS_ppoll: return "ppoll";
	case SYS_clock_gettime: return "clock_gettime";
	case SYS_getcpu: return "getcpu";
	case SYS_sched_yield: return "sched_yield";
	case SYS_getppid: return "getppid";
	case SYS_rt_sigtimedwait: return "rt_sigtimedwait";
	case SYS_restart_syscall: return "restart_syscall";
	case SYS_epoll_wait: return "epoll_wait";
	case SYS_epoll_pwait: return "epoll_pwait";
	case SYS_recvmsg: return "recvmsg";
	case SYS_sendmsg: return "sendmsg";
	case SYS_nanosleep: return "nanosleep";
	case SYS_clock_nanosleep: return "clock_nanosleep";
	default: return NULL;
	}
}

/* "futex 3/0, getppid 1/0": entries by number, client/server. */
static void describe(const struct tracer *tr, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned nr = 0; nr < MAX_NR && off < cap; nr++) {
		const char *name = sys_name(nr);
		char num[16];

		if (!tr->by_nr[0][nr] && !tr->by_nr[1][nr])
			continue;
		if (!name) {
			snprintf(num, sizeof(num), "nr%u", nr);
			name = num;
		}
		off += (size_t)snprintf(buf + off, cap - off, "%s%s %u/%u", off ? ", " : "",
					name, tr->by_nr[0][nr], tr->by_nr[1][nr]);
	}
}

static void tracer_finish(struct tracer *tr)
{
	int left = 2, st;

	kill(tr->pid[WHO_CLIENT], SIGKILL);
	kill(tr->pid[WHO_SERVER], SIGKILL);
	while (left) {
		pid_t p = waitpid(-1, &st, __WALL);

		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;	/* ECHILD */
		}
		if ((p == tr->pid[0] || p == tr->pid[1]) && (WIFEXITED(st) || WIFSIGNALED(st)))
			left--;
	}
}

static int wait_ready(struct sys_shared *sh)
{
	struct timespec ms = { 0, 1000000 };

	/* Acquire pairs with the client's release store of ready. */
	for (int i = 0; i < 20000; i++) {
		if (atomic_load_explicit(&sh->ready, memory_order_acquire))
			return atomic_load_explicit(&sh->err, memory_order_relaxed);
		if (atomic_load_explicit(&sh->done, memory_order_acquire))
			return atomic_load_explicit(&sh->err, memory_order_relaxed);
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

int bench_syscalls(const struct ipc_bench_cfg *cfg, struct bench_sys_result *out)
{
	struct sys_shared *sh = bench_shared_alloc(sizeof(*sh));
	struct echo_opts eo = { .cpu = cfg->srv_cpu, .quiet = 1 };
	struct tracer *tr = calloc(1, sizeof(*tr));
	int r = sh && tr ? 0 : -ENOMEM;

	if (r == 0) {
		sh->window = cfg->sys_window;
		bench_port(cfg, "sys", sh->port, sizeof(sh->port));
		r = echo_server_spawn(sh->port, &eo, &tr->pid[WHO_SERVER]);
	}
	if (r == 0) {
		r = bench_peer_spawn(cfg->cli_cpu, sys_client, sh, &tr->pid[WHO_CLIENT]);
		if (r < 0)
			bench_peer_kill(tr->pid[WHO_SERVER]);
	}
	if (r == 0) {
		r = wait_ready(sh);
		if (r == 0)
			r = tracer_attach(tr);
		tr->counting = 1;
		/* Release: nothing to publish; the client only polls it. */
		atomic_store_explicit(&sh->go, 1, memory_order_release);
		while (r == 0) {
			int st;
			pid_t tid = waitpid(-1, &st, __WALL);

			if (tid < 0)
				r = errno == EINTR ? 0 : -errno;
			else if ((r = tracer_stop(tr, sh, tid, st)) == 1)
				break;
		}
		if (r == 1)
			r = atomic_load_explicit(&sh->err, memory_order_relaxed);
		tracer_finish(tr);
	}
	if (r == 0) {
		out->calls = cfg->sys_window;
		out->client = tr->count[WHO_CLIENT];
		out->server = tr->count[WHO_SERVER];
		out->per_call = (double)(out->client + out->server) / (double)out->calls;
		describe(tr, out->detail, sizeof(out->detail));
	}
	if (r == 0)
		(void)unlink(sh->port);	/* the server was killed: no cleanup */
	free(tr);
	bench_shared_free(sh, sizeof(*sh));
	return r;
}
