/* SPDX-License-Identifier: MIT */
/*
 * ipc-grant: grants against an echo server process.
 *   - in-bounds FILL then SUM: the server's writes are visible here, and
 *     our writes there; sub-ranges touch exactly their bytes;
 *   - out of bounds (offset past the end, length past the end,
 *     offset + length overflowing near UINT64_MAX) -> -EFAULT; wrong
 *     rights -> -EACCES; unknown id -> -ENOENT; revoked -> -ENOENT;
 *   - thousands of random references, each status predicted here;
 *   - a revoke is ordered after the requests submitted before it;
 *   - registration refusals: unsealed memfd (-EPERM), not a file, empty
 *     file, bad rights, full table;
 *   - the server survives all of it and exits cleanly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_util.h"

#define GSIZE 8192

struct fill_req {
	struct aoki_grant_ref ref;
	uint8_t value;
};

static int gsum(struct aoki_chan *ch, uint32_t id, uint64_t off, uint32_t len,
		uint64_t *sum)
{
	struct aoki_grant_ref ref = { .grant = id, .offset = off, .length = len };
	size_t n = 0;
	int r;

	*sum = ~0ull;
	r = aoki_call(ch, ECHO_OP_GRANT_SUM, &ref, sizeof(ref), sum, sizeof(*sum), &n);
	if (r == 0)
		CHECK_EQ(n, sizeof(*sum));
	else
		CHECK_EQ(n, 0);
	return r;
}

static int gfill(struct aoki_chan *ch, uint32_t id, uint64_t off, uint32_t len, uint8_t v)
{
	struct fill_req f;

	memset(&f, 0, sizeof(f));
	f.ref = (struct aoki_grant_ref){ .grant = id, .offset = off, .length = len };
	f.value = v;
	return aoki_call(ch, ECHO_OP_GRANT_FILL, &f, sizeof(f.ref) + 1, NULL, 0, NULL);
}

static uint64_t local_sum(const uint8_t *p, size_t off, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[off + i];
	return s;
}

static void in_bounds(struct aoki_chan *ch, uint32_t id, uint8_t *mem)
{
	uint64_t sum;

	CHECK_EQ(gfill(ch, id, 0, GSIZE, 0x5a), 0);
	for (size_t i = 0; i < GSIZE; i++)
		CHECK_EQ(mem[i], 0x5a);
	CHECK_EQ(gsum(ch, id, 0, GSIZE, &sum), 0);
	CHECK_EQ(sum, (uint64_t)GSIZE * 0x5a);

	/* A sub-range fill touches exactly its bytes. */
	CHECK_EQ(gfill(ch, id, 100, 28, 0x01), 0);
	for (size_t i = 0; i < GSIZE; i++)
		CHECK_EQ(mem[i], i >= 100 && i < 128 ? 0x01 : 0x5a);
	/* The last byte, and empty ranges at both ends, are in bounds. */
	CHECK_EQ(gfill(ch, id, GSIZE - 1, 1, 0xff), 0);
	CHECK_EQ(mem[GSIZE - 1], 0xff);
	CHECK_EQ(gsum(ch, id, GSIZE, 0, &sum), 0);
	CHECK_EQ(sum, 0);
	CHECK_EQ(gsum(ch, id, 0, 0, &sum), 0);
	CHECK_EQ(sum, 0);

	/* Our writes are what the server reads. */
	for (size_t i = 0; i < GSIZE; i++)
		mem[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ(gsum(ch, id, 0, GSIZE, &sum), 0);
	CHECK_EQ(sum, local_sum(mem, 0, GSIZE));
	CHECK_EQ(gsum(ch, id, 1000, 333, &sum), 0);
	CHECK_EQ(sum, local_sum(mem, 1000, 333));
}

static void out_of_bounds(struct aoki_chan *ch, uint32_t id)
{
	static const struct {
		uint64_t off;
		uint32_t len;
	} bad[] = {
		{ GSIZE + 1, 0 },		/* offset past the end */
		{ GSIZE, 1 },			/* one byte past the end */
		{ 0, GSIZE + 1 },		/* length past the end */
		{ GSIZE - 1, 2 },
		{ 4096, UINT32_MAX },
		{ UINT64_MAX, 0 },		/* offset + length overflow ... */
		{ UINT64_MAX, 2 },
		{ UINT64_MAX - 1, 4 },
		{ UINT64_MAX - GSIZE + 1, GSIZE },
		{ 1ull << 63, 16 },
		{ (1ull << 32) + 16, 16 },	/* would alias offset 16 if truncated */
	};
	uint64_t sum;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gsum(ch, id, bad[i].off, bad[i].len, &sum) != -EFAULT ||
		    gfill(ch, id, bad[i].off, bad[i].len, 0) != -EFAULT) {
			fprintf(stderr, "ref off %#llx len %u not refused\n",
				(unsigned long long)bad[i].off, bad[i].len);
			CHECK(0);
		}
	}
	/* Unknown ids, in the table and past it. */
	CHECK_EQ(gsum(ch, 7, 0, 1, &sum), -ENOENT);
	CHECK_EQ(gsum(ch, 1000, 0, 1, &sum), -ENOENT);
	CHECK_EQ(gsum(ch, UINT32_MAX, 0, 1, &sum), -ENOENT);
	CHECK_EQ(gfill(ch, UINT32_MAX, 0, 1, 0), -ENOENT);
	/* A truncated reference is refused by the handler. */
	CHECK_EQ(aoki_call(ch, ECHO_OP_GRANT_SUM, &id, sizeof(id), NULL, 0, NULL), -EINVAL);
}

static void rights(struct aoki_chan *ch)
{
	uint32_t ro, wo;
	uint8_t *rmem, *wmem;
	uint64_t sum;

	CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_READ, &ro, (void **)&rmem), 0);
	CHECK_EQ(aoki_grant_create(ch, 4096, AOKI_GRANT_WRITE, &wo, (void **)&wmem), 0);
	CHECK(ro != wo);
	memset(rmem, 2, 4096);
	CHECK_EQ(gsum(ch, ro, 0, 4096, &sum), 0);
	CHECK_EQ(sum, 8192);
	CHECK_EQ(gfill(ch, ro, 0, 4096, 9), -EACCES);	/* write to read-only */
	CHECK_EQ(gfill(ch, ro, 0, 1, 9), -EACCES);
	CHECK_EQ(rmem[0], 2);
	CHECK_EQ(gfill(ch, wo, 0, 4096, 3), 0);
	CHECK_EQ(wmem[4095], 3);
	CHECK_EQ(gsum(ch, wo, 0, 4096, &sum), -EACCES);	/* read from write-only */
	CHECK_EQ(gsum(ch, wo, 0, 0, &sum), -EACCES);
	/* Rights are checked before bounds. */
	CHECK_EQ(gsum(ch, wo, UINT64_MAX, 1, &sum), -EACCES);
	CHECK_EQ(aoki_grant_revoke(ch, ro), 0);
	CHECK_EQ(aoki_grant_revoke(ch, wo), 0);
}

/* Random references, async, each status and sum predicted locally. */
static void random_refs(struct aoki_chan *ch, uint32_t id, const uint8_t *mem)
{
	struct aoki_sqe sqes[16];
	struct aoki_grant_ref refs[16];
	struct aoki_cqe cqes[16];
	uint64_t x = 12345;
	unsigned counts[3] = { 0 };

	for (unsigned round = 0; round < 300; round++) {
		int n, got = 0;

		for (unsigned i = 0; i < 16; i++) {
			struct aoki_grant_ref *r = &refs[i];

			x = x * 6364136223846793005ull + 1442695040888963407ull;
			r->grant = (x >> 60) == 0 ? (uint32_t)(x >> 20) % 32 : id;
			switch ((x >> 40) % 4) {
			case 0: r->offset = (x >> 8) % (GSIZE + 64); break;
			case 1: r->offset = UINT64_MAX - (x >> 8) % 64; break;
			default: r->offset = (x >> 8) % GSIZE;
			}
			r->length = (uint32_t)((x >> 24) % ((x >> 50) % 2 ? GSIZE + 64 : 256));
			sqes[i] = (struct aoki_sqe){ .op = ECHO_OP_GRANT_SUM, .tag = i,
						     .len = sizeof(*r), .data = r };
		}
		n = aoki_submit(ch, sqes, 16);
		CHECK_EQ(n, 16);
		while (got < 16) {
			n = aoki_reap(ch, cqes, 16, 1, 2000000000);
			CHECK(n > 0);
			for (int i = 0; i < n; i++) {
				const struct aoki_grant_ref *r = &refs[cqes[i].tag];
				int want = 0;

				if (r->grant != id)
					want = -ENOENT;
				else if (r->offset > GSIZE || r->length > GSIZE - r->offset)
					want = -EFAULT;
				CHECK_EQ(cqes[i].status, want);
				if (want == 0) {
					uint64_t s;

					CHECK_EQ(cqes[i].len, sizeof(s));
					memcpy(&s, cqes[i].payload, sizeof(s));
					CHECK_EQ(s, local_sum(mem, r->offset, r->length));
				}
				counts[want == 0 ? 0 : want == -EFAULT ? 1 : 2]++;
			}
			got += n;
		}
	}
	/* The generator covered every outcome. */
	CHECK(counts[0] > 100 && counts[1] > 100 && counts[2] > 10);
	printf("note: random refs: %u ok, %u -EFAULT, %u -ENOENT\n", counts[0], counts[1],
	       counts[2]);
}

static void revoke_order(struct aoki_chan *ch, uint32_t id, uint8_t *mem)
{
	struct aoki_sqe sqes[8];
	struct aoki_grant_ref ref = { .grant = id, .offset = 0, .length = GSIZE };
	struct aoki_cqe cqes[8];
	uint64_t want = local_sum(mem, 0, GSIZE), sum;
	uint8_t *mem2;
	uint32_t id2;

	/* Requests submitted before the revoke still see the grant. */
	for (unsigned i = 0; i < 8; i++)
		sqes[i] = (struct aoki_sqe){ .op = ECHO_OP_GRANT_SUM, .tag = i,
					     .len = sizeof(ref), .data = &ref };
	CHECK_EQ(aoki_submit(ch, sqes, 8), 8);
	CHECK_EQ(aoki_grant_revoke(ch, id), 0);
	CHECK_EQ(aoki_reap(ch, cqes, 8, 8, 2000000000), 8);
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(cqes[i].status, 0);
		memcpy(&sum, cqes[i].payload, sizeof(sum));
		CHECK_EQ(sum, want);
	}
	/* After it, every use fails, and a second revoke too. */
	CHECK_EQ(gsum(ch, id, 0, 1, &sum), -ENOENT);
	CHECK_EQ(gfill(ch, id, 0, 1, 0), -ENOENT);
	CHECK_EQ(aoki_grant_revoke(ch, id), -ENOENT);
	CHECK_EQ(aoki_grant_revoke(ch, 5), -ENOENT);
	CHECK_EQ(aoki_grant_revoke(ch, 100000), -ENOENT);

	/* The id may be reused; it then names the new region only. */
	CHECK_EQ(aoki_grant_create(ch, 64, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &id2,
				   (void **)&mem2), 0);
	CHECK_EQ(gfill(ch, id2, 0, 64, 4), 0);
	CHECK_EQ(gsum(ch, id2, 0, 64, &sum), 0);
	CHECK_EQ(sum, 256);
	CHECK_EQ(gsum(ch, id2, 0, 65, &sum), -EFAULT);
	CHECK_EQ(mem2[63], 4);
	CHECK_EQ(aoki_grant_revoke(ch, id2), 0);
}

static void registration(struct aoki_chan *ch)
{
	int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING), p[2];
	uint32_t id, ids[3];
	uint8_t *m;
	uint64_t sum;
	void *mems[3];

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	/* Not sealed against shrinking: the server could take SIGBUS. */
	CHECK_EQ(aoki_grant_register_fd(ch, fd, AOKI_GRANT_READ, &id), -EPERM);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
	CHECK_EQ(aoki_grant_register_fd(ch, fd, AOKI_GRANT_READ, &id), -EPERM);
	/* Sealed: accepted, and shared both ways. */
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK_EQ(aoki_grant_register_fd(ch, fd, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &id), 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 1, 4096);
	CHECK_EQ(gsum(ch, id, 0, 4096, &sum), 0);
	CHECK_EQ(sum, 4096);
	CHECK_EQ(gfill(ch, id, 4000, 96, 0), 0);
	CHECK_EQ(local_sum(m, 0, 4096), 4000);
	CHECK_EQ(aoki_grant_revoke(ch, id), 0);
	/* Our mapping of a registered fd is ours: revoke leaves it. */
	CHECK_EQ(m[0], 1);
	munmap(m, 4096);
	close(fd);

	/* An empty sealed memfd, a pipe: refused, the channel lives on. */
	fd = memfd_create("empty", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK(aoki_grant_register_fd(ch, fd, AOKI_GRANT_READ, &id) < 0);
	close(fd);
	CHECK_EQ(pipe(p), 0);
	CHECK(aoki_grant_register_fd(ch, p[0], AOKI_GRANT_READ, &id) < 0);
	close(p[0]);
	close(p[1]);

	/* Argument checks. */
	CHECK_EQ(aoki_grant_register_fd(ch, -1, AOKI_GRANT_READ, &id), -EINVAL);
	CHECK_EQ(aoki_grant_register_fd(ch, 0, 0, &id), -EINVAL);
	CHECK_EQ(aoki_grant_register_fd(ch, 0, 4, &id), -EINVAL);
	CHECK_EQ(aoki_grant_create(ch, 0, AOKI_GRANT_READ, &id, (void **)&m), -EINVAL);
	CHECK_EQ(aoki_grant_create(ch, 64, 0, &id, (void **)&m), -EINVAL);
	CHECK_EQ(aoki_grant_create(ch, 64, 0x10, &id, (void **)&m), -EINVAL);

	/* A full table (this channel has 2 grants). */
	struct aoki_chan_opts o = { .max_grants = 2 };
	struct aoki_chan *small;

	CHECK_EQ(aoki_connect("grant", &o, &small), 0);
	CHECK_EQ(aoki_grant_create(small, 64, AOKI_GRANT_READ, &ids[0], &mems[0]), 0);
	CHECK_EQ(aoki_grant_create(small, 64, AOKI_GRANT_READ, &ids[1], &mems[1]), 0);
	CHECK_EQ(aoki_grant_create(small, 64, AOKI_GRANT_READ, &ids[2], &mems[2]), -ENOSPC);
	CHECK_EQ(aoki_grant_revoke(small, ids[0]), 0);
	CHECK_EQ(aoki_grant_create(small, 64, AOKI_GRANT_READ, &ids[2], &mems[2]), 0);
	memset(mems[2], 3, 64);
	CHECK_EQ(gsum(small, ids[2], 0, 64, &sum), 0);
	CHECK_EQ(sum, 192);
	aoki_close(small);
}

int main(void)
{
	struct echo_opts eo = { .cpu = -1, .quiet = 1 };
	struct aoki_chan *ch, *other;
	pid_t srv;
	uint32_t id;
	uint8_t *mem;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* no buffered notes across fork */
	t_run_dir();
	CHECK_EQ(echo_server_spawn("grant", &eo, &srv), 0);
	CHECK_EQ(aoki_connect("grant", NULL, &ch), 0);
	CHECK_EQ(aoki_connect("grant", NULL, &other), 0);
	CHECK_EQ(aoki_grant_create(ch, GSIZE, AOKI_GRANT_READ | AOKI_GRANT_WRITE, &id,
				   (void **)&mem), 0);
	in_bounds(ch, id, mem);
	out_of_bounds(ch, id);
	/* Grant ids are per channel: another channel cannot use ours. */
	uint64_t sum;
	CHECK_EQ(gsum(other, id, 0, 1, &sum), -ENOENT);
	rights(ch);
	random_refs(ch, id, mem);
	revoke_order(ch, id, mem);
	registration(ch);

	/* The server is healthy: both channels still serve, it exits 0. */
	for (uint64_t i = 0; i < 200; i++) {
		CHECK(t_echo_ok(ch, i));
		CHECK(t_echo_ok(other, i << 32));
	}
	aoki_close(ch);
	aoki_close(other);
	CHECK_EQ(kill(srv, 0), 0);
	status = echo_server_stop(srv);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_EXIT_PASS;
}
