/* SPDX-License-Identifier: MIT */
/*
 * domain-unprotected - the whole compartment API in unprotected mode
 * (forced with AOKI_DOMAIN_NO_PKU, so it runs natively on any CPU).  On a
 * CPU without PKU a single rdpkru/wrpkru would raise SIGILL here, so
 * passing also shows none is executed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dtest.h"

static struct aoki_domain *A, *B, *C, *S;
static uintptr_t main_stack;

static long in_c(void *arg)
{
	long x = (long)arg;

	CHECK(aoki_domain_current() == C);
	return x * 3;
}

static long in_b(void *arg)
{
	int local = 0;

	CHECK(aoki_domain_current() == B);
	/* B runs on its own stack, far from the thread's stack. */
	CHECK((uintptr_t)&local - main_stack > (1 << 20) || main_stack - (uintptr_t)&local > (1 << 20));
	return aoki_domain_call(C, in_c, arg) + 1;
}

static long in_a(void *arg)
{
	CHECK(aoki_domain_current() == A);
	return aoki_domain_call(B, in_b, arg) + 10;
}

static long recurse(void *arg)
{
	long n = (long)arg;

	if (n == 0)
		return 0;
	return aoki_domain_call(A, recurse, (void *)(n - 1));
}

static void *thread_fn(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_call(A, in_a, (void *)2L), 17);
	return NULL;
}

static void heap_stress(struct aoki_domain *d)
{
	enum { N = 2000 };
	static void *p[N];
	static size_t sz[N];
	unsigned seed = 1;
	void *q;

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 1103515245 + 12345;
			sz[i] = 1 + (seed >> 8) % (i % 50 == 0 ? 40000 : 3000);
			if (aoki_domain_alloc(d, sz[i], &p[i]) < 0) {
				p[i] = NULL;
				continue;
			}
			CHECK(((uintptr_t)p[i] & 15) == 0);
			memset(p[i], (int)(i & 0xff), sz[i]);
		}
		for (int i = 0; i < N; i++) {
			if (!p[i])
				continue;
			for (size_t j = 0; j < sz[i]; j += 97)
				CHECK_EQ(((unsigned char *)p[i])[j], i & 0xff);
			if ((i + round) % 3)
				continue;
			CHECK_EQ(aoki_domain_free(d, p[i]), 0);
			p[i] = NULL;
		}
		for (int i = 0; i < N; i++) {
			if (p[i])
				CHECK_EQ(aoki_domain_free(d, p[i]), 0);
			p[i] = NULL;
		}
	}
	CHECK_EQ(aoki_domain_alloc(d, 100, &q), 0);
	CHECK_EQ(aoki_domain_free(d, q), 0);
	CHECK_EQ(aoki_domain_free(d, q), -EINVAL);	/* double free */
	CHECK_EQ(aoki_domain_alloc(d, 100, &q), 0);
	CHECK_EQ(aoki_domain_free(d, (char *)q + 16), -EINVAL);	/* interior */
	CHECK_EQ(aoki_domain_free(d, &seed), -EINVAL);	/* foreign */
	CHECK_EQ(aoki_domain_alloc(d, 0, &q), -EINVAL);
	CHECK_EQ(aoki_domain_alloc(d, 1u << 30, &q), -ENOMEM);
	OK("heap: size classes, large blocks, free, double/interior/foreign free refused");
}

static AOKI_DOMAIN_GLOBALS(struct { long counter; }, a_globals);

static void notice(void *arg)
{
	(void)arg;
	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_NO_PKU), 0);
}

/* The hardening mode's Landlock rule (lib/domain/landlock.c), which does
 * not need PKU, on this kernel: /proc/<pid>/mem in every spelling is
 * refused, the rest of /proc/self and the file system stay open. */
int dom_landlock_install(bool report_only);	/* internal */

static int open_errno(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void landlock_child(void *arg)
{
	char mem[64], task[80], comm[80];
	long pid = getpid(), tid = syscall(SYS_gettid);
	int r;

	(void)arg;
	snprintf(mem, sizeof(mem), "/proc/%ld/mem", pid);
	snprintf(task, sizeof(task), "/proc/%ld/task/%ld/mem", pid, tid);
	snprintf(comm, sizeof(comm), "/proc/self/task/%ld/comm", tid);
	CHECK_EQ(open_errno("/proc/self/mem"), 0);
	r = dom_landlock_install(false);
	if (r == -EOPNOTSUPP)
		_exit(77);
#ifdef __SANITIZE_THREAD__
	if (r == -EBUSY)	/* another thread: ThreadSanitizer's own */
		_exit(78);
#endif
	CHECK_EQ(r, 0);
	CHECK_EQ(open_errno("/proc/self/mem"), EACCES);
	CHECK_EQ(open_errno("/proc/thread-self/mem"), EACCES);
	CHECK_EQ(open_errno(mem), EACCES);
	CHECK_EQ(open_errno(task), EACCES);
	CHECK_EQ(open_errno(comm), EACCES);	/* collateral: task/ is closed */
	CHECK_EQ(open_errno("/proc/self/maps"), 0);
	CHECK_EQ(open_errno("/proc/self/status"), 0);
	CHECK_EQ(open_errno("/proc/meminfo"), 0);
	CHECK_EQ(open_errno("/proc/self/exe"), 0);
	CHECK_EQ(open_errno("/"), 0);
	_exit(0);
}

int main(void)
{
	struct aoki_domain_opts shared = { .flags = AOKI_DOMAIN_SHARED };
	struct aoki_domain_fault f;
	struct child_result res;
	unsigned char code[4096] __attribute__((aligned(4096)));
	int local;
	pthread_t t;
	void *p;

	main_stack = (uintptr_t)&local;
	CHECK_EQ(aoki_domain_create("x", NULL, &A), -EINVAL);	/* not initialised */
	CHECK(!aoki_domain_isolated());
	/* Hardening needs PKU. */
	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_HARDEN | AOKI_DOMAIN_NO_PKU), -EOPNOTSUPP);
	/* The one-line notice. */
	CHECK_CHILD_OK(notice, NULL, &res);
	CHECK(strstr(res.err, "NOT isolated (unprotected mode)"));
	CHECK(!strchr(res.err, '\n') || strchr(res.err, '\n') == res.err + strlen(res.err) - 1);
	OK("one-line notice");

	CHECK(in_child(landlock_child, NULL, &res) == 0);
	if (res.exited && res.code == 77) {
		printf("note: no Landlock on this kernel: hardening would refuse to start\n");
	} else if (res.exited && res.code == 78) {
		printf("note: Landlock rule not tested: ThreadSanitizer runs a thread of its own\n");
	} else if (!res.exited || res.code != 0) {
		fprintf(stderr, "landlock: %s %d: %s\n", res.exited ? "exit" : "signal", res.code, res.err);
		return 1;
	} else {
		OK("Landlock rule: /proc/<pid>/mem refused in every spelling, the rest open");
	}

	CHECK_EQ(aoki_domain_init(AOKI_DOMAIN_NO_PKU | AOKI_DOMAIN_QUIET), 0);
	CHECK(!aoki_domain_isolated());
	CHECK(!aoki_domain_hardened());
	CHECK_EQ(aoki_domain_create("alpha", NULL, &A), 0);
	CHECK_EQ(aoki_domain_create("beta", NULL, &B), 0);
	CHECK_EQ(aoki_domain_create("gamma", NULL, &C), 0);
	CHECK_EQ(aoki_domain_create("shared", &shared, &S), 0);
	CHECK(!strcmp(aoki_domain_name(A), "alpha"));
	CHECK_EQ(aoki_domain_pkey(A), -1);
	CHECK(aoki_domain_current() == NULL);
	OK("create in unprotected mode");

	CHECK_EQ(aoki_domain_call(A, in_a, (void *)2L), 17);	/* 2*3 + 1 + 10 */
	CHECK_EQ(aoki_domain_call(A, recurse, (void *)31L), 0);
	CHECK_EQ(aoki_domain_call(A, recurse, (void *)40L), -ELOOP);
	CHECK_EQ(aoki_domain_call(S, in_c, NULL), -EINVAL);
	CHECK(aoki_domain_current() == NULL);
	OK("gates: nesting A->B->C, own stacks, depth limit, no gate into a shared region");

	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_READ), 0);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_READ);
	CHECK_EQ(aoki_domain_grant(A, 7), -EINVAL);
	CHECK_EQ(aoki_domain_revoke_all(), 0);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_NONE);
	CHECK_EQ(aoki_domain_attach(B, S, AOKI_DOMAIN_READ), 0);
	CHECK_EQ(aoki_domain_attach(S, B, AOKI_DOMAIN_READ), -EINVAL);
	CHECK_EQ(aoki_domain_attach(B, B, AOKI_DOMAIN_READ), -EINVAL);
	CHECK_EQ(aoki_domain_destroy(S), -EBUSY);	/* attached */
	CHECK_EQ(aoki_domain_attach(B, S, AOKI_DOMAIN_NONE), 0);
	CHECK_EQ(aoki_domain_grant(A, AOKI_DOMAIN_RW), 0);
	CHECK_EQ(aoki_domain_thread_create(&t, NULL, thread_fn, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(aoki_domain_rights(A), AOKI_DOMAIN_RW);
	OK("rights recorded per thread; new threads start with none; attach/detach");

	CHECK_EQ(aoki_domain_place(A, &a_globals, sizeof(a_globals)), 0);
	CHECK_EQ(aoki_domain_place(B, &a_globals, sizeof(a_globals)), -EINVAL);
	CHECK_EQ(aoki_domain_place(B, (char *)&a_globals + 1, 4096), -EINVAL);
	a_globals.v.counter = 5;
	CHECK_EQ(aoki_domain_unplace(B, &a_globals, sizeof(a_globals)), -ENOENT);
	CHECK_EQ(aoki_domain_unplace(A, &a_globals, 4096 * 2), -ENOENT);
	CHECK_EQ(aoki_domain_unplace(A, &a_globals, sizeof(a_globals)), 0);
	CHECK_EQ(aoki_domain_place(B, &a_globals, sizeof(a_globals)), 0);	/* free again */
	CHECK_EQ(aoki_domain_unplace(B, &a_globals, sizeof(a_globals)), 0);
	CHECK_EQ(aoki_domain_place(A, &a_globals, sizeof(a_globals)), 0);
	OK("globals placement, unplace");

	heap_stress(A);
	CHECK_EQ(aoki_domain_last_fault(&f), -ENOENT);

	memset(code, 0x90, sizeof(code));
	CHECK_EQ(aoki_domain_scan(code, sizeof(code), NULL), 0);
	code[100] = 0x0f, code[101] = 0x01, code[102] = 0xef;	/* WRPKRU */
	code[200] = 0x0f, code[201] = 0xae, code[202] = 0x2f;	/* XRSTOR (%rdi) */
	code[300] = 0x0f, code[301] = 0xae, code[302] = 0xe8;	/* LFENCE: fine */
	{
		uintptr_t first = 0;

		CHECK_EQ(aoki_domain_scan(code, sizeof(code), &first), 2);
		CHECK(first == (uintptr_t)&code[100]);
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memcpy(p, code, 4096);
	CHECK_EQ(aoki_domain_map_exec(p, 4096), -EPERM);
	CHECK_EQ(mprotect(p, 4096, PROT_READ | PROT_WRITE), 0);
	memset(p, 0xc3, 4096);	/* ret */
	CHECK_EQ(aoki_domain_map_exec(p, 4096), 0);
	((void (*)(void))p)();
	OK("scanner: WRPKRU and XRSTOR found, LFENCE not; map_exec refuses gadgets");

	CHECK_EQ(aoki_domain_destroy(A), 0);
	CHECK_EQ(aoki_domain_destroy(B), 0);
	CHECK_EQ(aoki_domain_destroy(C), 0);
	CHECK_EQ(aoki_domain_destroy(S), 0);
	CHECK_EQ(aoki_domain_create("again", NULL, &A), 0);
	CHECK_EQ(aoki_domain_call(A, recurse, (void *)3L), 0);
	CHECK_EQ(aoki_domain_destroy(A), 0);
	OK("destroy and re-create");
	return 0;
}
