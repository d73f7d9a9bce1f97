/* SPDX-License-Identifier: MIT */
/*
 * runtime.c - initialisation, the compartment table, rights and gates.
 *
 * aoki__pkru_table[idx] is the PKRU of compartment idx inside a gate.  It
 * is a page of its own, read-only except while the runtime updates it
 * under dom_rt.lock, and addressed RIP-relative by gate.S, so neither a
 * pointer nor the table can be redirected by code holding only key 0.
 * Its last slots (DOM_RO_*) hold what the gates need to find and check
 * the protected frame stacks (gstack.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

__attribute__((aligned(4096), visibility("hidden")))
uint32_t aoki__pkru_table[DOM_TABLE_LEN];

struct dom_rt dom_rt = { .lock = PTHREAD_MUTEX_INITIALIZER };
__thread struct dom_tls dom_tls;

int dom_table_set(unsigned idx, uint32_t pkru)
{
	int r;

	if (!dom_rt.isolated) {
		aoki__pkru_table[idx] = pkru;
		return 0;
	}
	r = dom_mprotect(aoki__pkru_table, sizeof(aoki__pkru_table), PROT_READ | PROT_WRITE);
	if (r < 0)
		return r;
	aoki__pkru_table[idx] = pkru;
	/* The mprotect system call orders the store before the page turns
	 * read-only; gates on other threads read the entry afterwards under
	 * the same page-table state, no fence needed beyond the syscall. */
	return dom_mprotect(aoki__pkru_table, sizeof(aoki__pkru_table), PROT_READ);
}

uint32_t dom_pkru_of(const struct aoki_domain *d)
{
	uint32_t v = PKRU_ALL_DENIED;

	if (d->pkey > 0)
		v &= ~(PKRU_AD(d->pkey) | PKRU_WD(d->pkey));
	for (unsigned j = 0; j < AOKI_DOMAIN_MAX; j++) {
		struct aoki_domain *t = dom_rt.slots[j];

		if (!d->attach[j] || !t || t->pkey <= 0)
			continue;
		v &= ~PKRU_AD(t->pkey);
		if (d->attach[j] == AOKI_DOMAIN_RW)
			v &= ~PKRU_WD(t->pkey);
	}
	return v;
}

int aoki_domain_init(unsigned flags)
{
	const char *why = NULL;
	int r = 0;

	pthread_mutex_lock(&dom_rt.lock);
	if (atomic_load_explicit(&dom_rt.inited, memory_order_relaxed))
		goto out;
	dom_rt.flags = flags;
	if (flags & AOKI_DOMAIN_NO_PKU) {
		why = "disabled by the caller";
	} else if (!dom_cpu_has_pku()) {
		why = "the CPU or kernel lacks PKU (CPUID PKU/OSPKE)";
	} else {
		int k = dom_pkey_alloc(0);

		if (k < 0)
			why = "pkey_alloc failed";
		else
			dom_pkey_free(k);
	}
	dom_rt.isolated = !why;
	if (why && (flags & AOKI_DOMAIN_HARDEN)) {
		r = -EOPNOTSUPP;	/* nothing to harden without PKU */
		goto out;
	}
	r = dom_arena_init();
	if (r < 0)
		goto out;
	if (pthread_key_create(&dom_rt.tls_key, dom_thread_exit)) {
		r = -EAGAIN;
		goto out;
	}
	for (unsigned i = 0; i < DOM_TABLE_LEN; i++)
		aoki__pkru_table[i] = PKRU_ALL_DENIED;
	if (dom_rt.isolated) {
		/* The frame key and region; fills the table page's gate slots
		 * before the page turns read-only. */
		r = dom_gstack_init();
		if (r < 0)
			goto out;
		r = dom_mprotect(aoki__pkru_table, sizeof(aoki__pkru_table), PROT_READ);
		if (r < 0)
			goto out;
		r = dom_revoke_install();
		if (r < 0)
			goto out;
	} else if (!(flags & AOKI_DOMAIN_QUIET)) {
		fprintf(stderr, "aoki: compartments are NOT isolated (unprotected mode): %s\n", why);
	}
	/* Both modes: pkey-fault reports and recoverable compartments. */
	r = dom_fault_install();
	if (r < 0)
		goto out;
	if (flags & AOKI_DOMAIN_HARDEN) {
		r = dom_scan_self(flags & AOKI_DOMAIN_HARDEN_REPORT);
		if (r < 0)
			goto out;
		/* Before the filter: Landlock's system calls come from libc. */
		r = dom_landlock_install(flags & AOKI_DOMAIN_HARDEN_REPORT);
		if (r < 0)
			goto out;
		r = dom_seccomp_install();
		if (r < 0)
			goto out;
		dom_rt.hardened = true;
	}
	/* Release: a thread that sees inited also sees the mode and table. */
	atomic_store_explicit(&dom_rt.inited, true, memory_order_release);
out:
	pthread_mutex_unlock(&dom_rt.lock);
	return r;
}

bool aoki_domain_isolated(void)
{
	/* Acquire pairs with the release in aoki_domain_init(). */
	return atomic_load_explicit(&dom_rt.inited, memory_order_acquire) && dom_rt.isolated;
}

bool aoki_domain_hardened(void)
{
	return atomic_load_explicit(&dom_rt.inited, memory_order_acquire) && dom_rt.hardened;
}

int aoki_domain_create(const char *name, const struct aoki_domain_opts *opts,
		       struct aoki_domain **out)
{
	struct aoki_domain_opts o = { 0 };
	struct aoki_domain *d;
	int idx = -1, r;

	if (!atomic_load_explicit(&dom_rt.inited, memory_order_acquire) || !name || !*name || !out)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (o.flags & ~(AOKI_DOMAIN_SHARED | AOKI_DOMAIN_RECOVERABLE | AOKI_DOMAIN_SUCCESSOR))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->flags = o.flags;
	d->stack_size = o.stack_size ? (o.stack_size + 4095) & ~(size_t)4095 : 128 * 1024;
	pthread_mutex_init(&d->lock, NULL);

	pthread_mutex_lock(&dom_rt.lock);
	for (int i = 0; i < AOKI_DOMAIN_MAX; i++) {
		if (!dom_rt.slots[i]) {
			idx = i;
			break;
		}
	}
	r = -ENOSPC;
	if (idx < 0)
		goto fail;
	d->idx = idx;
	d->pkey = -1;
	if (dom_rt.isolated) {
		/* A key of a destroyed compartment only once no thread holds
		 * rights on it (revoke.c); else a fresh one, PKEY_DISABLE_ACCESS:
		 * the creating thread gets no rights. */
		d->pkey = dom_revoke_take_key(d->name, o.flags & AOKI_DOMAIN_SUCCESSOR);
		if (d->pkey < 0) {
			r = d->pkey;
			goto fail;
		}
		dom_pkru_update(0, PKRU_AD(d->pkey) | PKRU_WD(d->pkey));
	}
	r = dom_heap_init(&d->heap, o.heap_size ? o.heap_size : 4u << 20, d->pkey);
	if (r < 0)
		goto fail_key;
	d->pkru = dom_pkru_of(d);
	r = dom_table_set((unsigned)idx, d->pkru);
	if (r < 0)
		goto fail_heap;
	dom_rt.gen[idx]++;
	d->gen = dom_rt.gen[idx];
	dom_rt.slots[idx] = d;
	pthread_mutex_unlock(&dom_rt.lock);
	*out = d;
	return 0;
fail_heap:
	dom_heap_fini(&d->heap);
fail_key:
	if (d->pkey > 0)
		dom_revoke_quarantine(d->pkey, d->name);
fail:
	pthread_mutex_unlock(&dom_rt.lock);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return r;
}

int aoki_domain_destroy(struct aoki_domain *d)
{
	if (!d)
		return -EINVAL;
	for (int i = 0; i < dom_tls.depth; i++)
		if (dom_tls.frames[i].d == d)
			return -EBUSY;
	pthread_mutex_lock(&dom_rt.lock);
	if (d->nattached) {
		pthread_mutex_unlock(&dom_rt.lock);
		return -EBUSY;
	}
	for (unsigned j = 0; j < AOKI_DOMAIN_MAX; j++)
		if (d->attach[j] && dom_rt.slots[j])
			dom_rt.slots[j]->nattached--;
	dom_rt.slots[d->idx] = NULL;
	dom_rt.gen[d->idx]++;
	dom_table_set((unsigned)d->idx, PKRU_ALL_DENIED);
	dom_stacks_free(d);
	dom_heap_fini(&d->heap);
	for (unsigned i = 0; i < d->nplaces; i++)
		dom_tag(d->places[i].addr, d->places[i].len, d->pkey > 0 ? 0 : -1);
	if (d->pkey > 0) {
		/* Leave the caller with the state a fresh key starts in.  The
		 * key is not freed: other threads, and gate frames, may still
		 * hold rights on it (revoke.c). */
		aoki_domain_grant(d, AOKI_DOMAIN_NONE);
		dom_revoke_quarantine(d->pkey, d->name);
	}
	pthread_mutex_unlock(&dom_rt.lock);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return 0;
}

const char *aoki_domain_name(const struct aoki_domain *d)
{
	return d->name;
}

int aoki_domain_pkey(const struct aoki_domain *d)
{
	return d->pkey;
}

struct aoki_domain *aoki_domain_current(void)
{
	return dom_tls.depth ? dom_tls.frames[dom_tls.depth - 1].d : NULL;
}

int aoki_domain_place(struct aoki_domain *d, void *addr, size_t len)
{
	int r;

	if (!d || !len || ((uintptr_t)addr | len) & (AOKI_DOMAIN_PAGE - 1))
		return -EINVAL;
	pthread_mutex_lock(&dom_rt.lock);
	r = -ENOMEM;
	if (d->nplaces == DOM_MAX_PLACES)
		goto out;
	r = -EINVAL;
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++) {
		struct aoki_domain *o = dom_rt.slots[i];

		for (unsigned j = 0; o && j < o->nplaces; j++)
			if ((uint8_t *)addr < (uint8_t *)o->places[j].addr + o->places[j].len &&
			    (uint8_t *)o->places[j].addr < (uint8_t *)addr + len)
				goto out;
	}
	if (dom_rt.hardened) {
		r = dom_seccomp_protect(addr, len);
		if (r < 0)
			goto out;
	}
	r = dom_tag(addr, len, d->pkey);
	if (r < 0)
		goto out;
	d->places[d->nplaces].addr = addr;
	d->places[d->nplaces].len = len;
	d->nplaces++;
out:
	pthread_mutex_unlock(&dom_rt.lock);
	return r;
}

int aoki_domain_unplace(struct aoki_domain *d, void *addr, size_t len)
{
	int r = -ENOENT;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&dom_rt.lock);
	for (unsigned i = 0; i < d->nplaces; i++) {
		if (d->places[i].addr != addr || d->places[i].len != len)
			continue;
		/* The seccomp filter that keeps a placed range from being
		 * remapped cannot be taken back: the range stays placed. */
		r = -EPERM;
		if (dom_rt.hardened)
			break;
		r = dom_tag(addr, len, d->pkey > 0 ? 0 : -1);
		if (r < 0)
			break;
		d->places[i] = d->places[--d->nplaces];
		break;
	}
	pthread_mutex_unlock(&dom_rt.lock);
	return r;
}

int aoki_domain_attach(struct aoki_domain *d, struct aoki_domain *target, unsigned rights)
{
	uint8_t old;
	int r;

	if (!d || !target || d == target || (d->flags & AOKI_DOMAIN_SHARED) ||
	    (rights != AOKI_DOMAIN_NONE && rights != AOKI_DOMAIN_READ && rights != AOKI_DOMAIN_RW))
		return -EINVAL;
	pthread_mutex_lock(&dom_rt.lock);
	old = d->attach[target->idx];
	d->attach[target->idx] = (uint8_t)rights;
	if (!old && rights)
		target->nattached++;
	else if (old && !rights)
		target->nattached--;
	d->pkru = dom_pkru_of(d);
	r = dom_table_set((unsigned)d->idx, d->pkru);
	pthread_mutex_unlock(&dom_rt.lock);
	return r;
}

/* ------------------------------------------------------------- rights */

int aoki_domain_grant(struct aoki_domain *d, unsigned rights)
{
	uint32_t clear = 0, set = 0;

	if (!d || (rights != AOKI_DOMAIN_NONE && rights != AOKI_DOMAIN_READ && rights != AOKI_DOMAIN_RW))
		return -EINVAL;
	if (d->pkey > 0) {
		*(rights & AOKI_DOMAIN_READ ? &clear : &set) |= PKRU_AD(d->pkey);
		*(rights == AOKI_DOMAIN_RW ? &clear : &set) |= PKRU_WD(d->pkey);
		dom_pkru_update(clear, set);
	}
	dom_tls.rights[d->idx] = (uint8_t)rights;
	return 0;
}

int aoki_domain_rights(const struct aoki_domain *d)
{
	struct aoki_domain *cur;
	uint32_t v;

	if (d->pkey > 0) {
		v = aoki__rdpkru();
		if (v & PKRU_AD(d->pkey))
			return AOKI_DOMAIN_NONE;
		return (v & PKRU_WD(d->pkey)) ? AOKI_DOMAIN_READ : AOKI_DOMAIN_RW;
	}
	/* Unprotected mode: what PKRU would say. */
	cur = aoki_domain_current();
	if (cur == d)
		return AOKI_DOMAIN_RW;
	if (cur)
		return cur->attach[d->idx];
	return dom_tls.rights[d->idx];
}

int aoki_domain_revoke_all(void)
{
	uint32_t v = 0;

	memset(dom_tls.rights, 0, sizeof(dom_tls.rights));
	if (!aoki_domain_isolated())
		return 0;
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++) {
		struct aoki_domain *d = dom_rt.slots[i];

		if (d && d->pkey > 0)
			v |= PKRU_AD(d->pkey) | PKRU_WD(d->pkey);
	}
	dom_pkru_update(0, v);
	return 0;
}

struct start_args {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct start_args a = *(struct start_args *)p;

	free(p);
	aoki_domain_revoke_all();
	return a.fn(a.arg);
}

int aoki_domain_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg)
{
	struct start_args *a = malloc(sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->fn = fn;
	a->arg = arg;
	r = pthread_create(thread, attr, thread_start, a);
	if (r) {
		free(a);
		return -r;
	}
	return 0;
}

/* --------------------------------------------------------------- gates */

/* Both gates: the checks, the stack, the key-0 frame; then the protected
 * gate, or with @light the light one (PKU mode only: without PKU both are
 * the same stack switch). */
static long call(struct aoki_domain *d, aoki_domain_fn fn, void *arg, bool light)
{
	struct dom_stack *s;
	struct dom_frame *f;
	void *top;
	long r;

	if (!d || !fn || (d->flags & AOKI_DOMAIN_SHARED) || dom_rt.slots[d->idx] != d)
		return -EINVAL;
	if (dom_tls.depth >= DOM_MAX_DEPTH)
		return -ELOOP;
	if (!dom_tls.registered) {
		r = dom_thread_setup();
		if (r < 0)
			return r;
	}
	s = dom_stack_get(d);
	if (!s)
		return -ENOMEM;
	top = s->top;
	/* Re-entry (A calls A, or A calls B calls A): continue below the
	 * live part of d's stack instead of overwriting it from the top. */
	for (int i = dom_tls.depth - 1; i >= 0; i--) {
		if (dom_tls.frames[i].d != d)
			continue;
		if (i == dom_tls.depth - 1)	/* we run on d's stack right now */
			top = (uint8_t *)__builtin_frame_address(0) - 2048;
		else				/* d called out through frame i + 1 */
			top = (uint8_t *)dom_tls.frames[i + 1].caller_rsp - 128;
		top = (void *)((uintptr_t)top & ~(uintptr_t)15);
		break;
	}
	f = &dom_tls.frames[dom_tls.depth];
	f->d = d;
	f->top = top;	/* the fault handler's test for "the callee runs" */
	f->light = light && dom_rt.isolated;	/* how the fault handler leaves */
	/* The fault handler (a signal on this thread, not another CPU) trusts
	 * frames[depth - 1] once depth counts it: a compiler barrier keeps
	 * the frame's stores before the increment. */
	__asm__ volatile("" ::: "memory");
	/* The fault handler reads depth on this thread only (a signal, not
	 * another CPU): a compiler barrier keeps the store before the gate. */
	dom_tls.depth++;
	__asm__ volatile("" ::: "memory");
	if (f->light)
		r = aoki__gate_enter_light(f, (unsigned)d->idx, top, fn, arg);
	else if (dom_rt.isolated)
		r = aoki__gate_enter(f, (unsigned)d->idx, top, fn, arg, dom_tls.gstack);
	else
		r = aoki__gate_enter_nopku(f, top, fn, arg);
	__asm__ volatile("" ::: "memory");
	dom_tls.depth--;
	return r;
}

long aoki_domain_call(struct aoki_domain *d, aoki_domain_fn fn, void *arg)
{
	return call(d, fn, arg, false);
}

long aoki_domain_call_light(struct aoki_domain *d, aoki_domain_fn fn, void *arg)
{
	return call(d, fn, arg, true);
}
