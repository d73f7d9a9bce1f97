/* SPDX-License-Identifier: MIT */
/*
 * check_svc.c - checks 1 and 3 of tests/host/pku-host.c, with the test's
 * own hosted service (secret_svc.h), whose secret sits in its
 * compartment's heap:
 *   check 1: the application can neither read nor write it (pkey
 *      fault, the runtime's report names the compartment); control: the
 *      server's own handler reads the same address;
 *   check 3: another hosted server's handler cannot read it (pkey
 *      fault inside that server, recovered: the application goes on);
 *      control: its own handler reads it.
 */
#define _GNU_SOURCE
#include "htest.h"
#include "secret_svc.h"

static char port_a[128], port_b[128];

/* A deadline: a lost request is a failure, not a hang of the guest. */
static const struct aoki_chan_opts chan_opts = { .timeout_ns = 5000000000 };

static void set_ports(void)
{
	snprintf(port_a, sizeof(port_a), "%s/secA.sock", test_dir);
	snprintf(port_b, sizeof(port_b), "%s/secB.sock", test_dir);
}

/* SECRET_OP_READ_AT of @addr on @ch; the value in *@v.  Returns the
 * call's status. */
static int read_at(struct aoki_chan *ch, const uint64_t *addr, uint64_t *v)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	*v = 0;
	return aoki_call(ch, SECRET_OP_READ_AT, &a, sizeof(a), v, sizeof(*v), NULL);
}

static uint64_t read_own(struct aoki_chan *ch)
{
	uint64_t v = 0;

	CHECK_EQ(aoki_call(ch, SECRET_OP_OWN, NULL, 0, &v, sizeof(v), NULL), 0);
	return v;
}

struct probe {
	volatile uint64_t *addr;
	int write;
};

/* In a forked child, outside any compartment: touch the secret.  The
 * runtime's default policy for a pkey fault is a report line and
 * abort(); returning means the access went through. */
static void app_touch(void *arg)
{
	struct probe *p = arg;

	if (p->write)
		*p->addr = 0;
	else
		fprintf(stderr, "read %#llx\n", (unsigned long long)*p->addr);
	fprintf(stderr, "the application reached the server's memory\n");
}

/* The child must die of a pkey fault on slot 0's page, reported with
 * the compartment and key that own it. */
static void expect_app_fault(int write)
{
	struct probe p = { atomic_load(&secret_pub[0].addr), write };
	struct child_result res;
	char want[96];

	CHECK(in_child(app_touch, &p, &res) == 0);
	snprintf(want, sizeof(want), "(pkey %d, compartment \"host:secA\")",
		 atomic_load(&secret_pub[0].pkey));
	if (res.exited || res.code != SIGABRT || !strstr(res.err, want) ||
	    !strstr(res.err, write ? ": write access" : ": read access")) {
		fprintf(stderr, "app %s of the hosted secret: want a pkey fault %s, got %s %d: %s\n",
			write ? "write" : "read", want, res.exited ? "exit" : "signal", res.code,
			res.err);
		exit(1);
	}
	printf("note: check 1: app %s of %p -> %s", write ? "write" : "read", (void *)p.addr,
	       res.err);
}

void check_app_vs_server(void)
{
	struct aoki_chan *ch;
	struct aoki_host *a;
	uint64_t v;

	init_pku_or_fail();
	set_ports();
	CHECK_EQ(secret_start(0, port_a, 0, &a), 0);
	CHECK(host_isolated(a));
	CHECK_EQ(aoki_connect(port_a, &chan_opts, &ch), 0);
	/* Control: inside the server, the secret reads fine, at the very
	 * address the application will try. */
	CHECK_EQ(read_own(ch), SECRET_VALUE(0));
	secret_arm(0);
	CHECK_EQ(read_at(ch, atomic_load(&secret_pub[0].addr), &v), 0);
	CHECK_EQ(v, SECRET_VALUE(0));
	expect_app_fault(0);
	expect_app_fault(1);
	CHECK_EQ(read_own(ch), SECRET_VALUE(0));
	CHECK_EQ(recoveries(a), 0);
	aoki_close(ch);
	aoki_host_stop(a);
}

void check_server_vs_server(void)
{
	struct aoki_chan *ca, *cb;
	struct aoki_host *a, *b;
	uint64_t *secret_b;
	unsigned builds_a;
	uint64_t v;
	double t0;

	init_pku_or_fail();
	set_ports();
	CHECK_EQ(secret_start(0, port_a, 0, &a), 0);
	CHECK_EQ(secret_start(1, port_b, 0, &b), 0);
	CHECK(host_isolated(a) && host_isolated(b));
	CHECK(atomic_load(&secret_pub[0].pkey) != atomic_load(&secret_pub[1].pkey));
	CHECK_EQ(aoki_connect(port_a, &chan_opts, &ca), 0);
	CHECK_EQ(aoki_connect(port_b, &chan_opts, &cb), 0);
	secret_b = atomic_load(&secret_pub[1].addr);
	/* Control: B's own handler reads B's secret at that address. */
	secret_arm(1);
	CHECK_EQ(read_at(cb, secret_b, &v), 0);
	CHECK_EQ(v, SECRET_VALUE(1));

	/* A's handler reads it: a pkey fault inside A.  The gate returns,
	 * A is rebuilt, the request is run again (disarmed: -ECANCELED),
	 * and the application never sees the fault but in the figures. */
	builds_a = atomic_load(&secret_pub[0].builds);
	secret_arm(0);
	t0 = now_ms();
	CHECK_EQ(read_at(ca, secret_b, &v), -ECANCELED);
	printf("note: check 3: secA's read of secB's secret: recovered in %.1f ms\n",
	       now_ms() - t0);
	CHECK_EQ(v, 0);
	CHECK_EQ(recoveries(a), 1);
	CHECK_EQ(recoveries(b), 0);
	CHECK_EQ(atomic_load(&secret_pub[0].builds), builds_a + 1);
	/* The fault was taken on this thread, which drove A. */
	check_pkey_fault("host:secA", "host:secB", atomic_load(&secret_pub[1].pkey));
	/* Both still serve, B's secret unchanged. */
	CHECK_EQ(read_own(ca), SECRET_VALUE(0));
	CHECK_EQ(read_own(cb), SECRET_VALUE(1));
	aoki_close(ca);
	aoki_close(cb);
	aoki_host_stop(a);
	aoki_host_stop(b);
}
