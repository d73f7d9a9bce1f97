/* SPDX-License-Identifier: MIT */
/*
 * stack.c - one stack per (thread, compartment), allocated on the thread's
 * first entry, tagged with the compartment's key, a PROT_NONE guard page
 * below.  Freed when the compartment is destroyed or the thread exits
 * (pthread key destructor), both under dom_rt.lock so the two never race.
 * Each thread that enters a compartment also gets, with PKU, its protected
 * gate frame stack (gstack.c), and in both modes an alternate signal stack
 * in ordinary memory: with PKU signal handlers run with no compartment
 * rights (kernel rule) and so cannot use the compartment's stack, and a
 * stack overflow in a recoverable compartment leaves none to run on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

struct dom_stack *dom_stack_get(struct aoki_domain *d)
{
	struct dom_stack *s = dom_tls.stacks[d->idx];
	size_t len = d->stack_size + 4096;
	uint8_t *base;

	if (s && dom_tls.stack_gen[d->idx] == d->gen)
		return s;
	s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	base = dom_arena_get(len);
	if (!base) {
		free(s);
		return NULL;
	}
	if (dom_tag(base + 4096, len - 4096, d->pkey) < 0) {
		dom_arena_put(base, len);
		free(s);
		return NULL;
	}
	s->base = base;
	s->len = len;
	s->top = base + len;	/* 16-byte aligned: len is a page multiple */
	s->owner = &dom_tls.stacks[d->idx];
	pthread_mutex_lock(&d->lock);
	s->next = d->stacks;
	d->stacks = s;
	pthread_mutex_unlock(&d->lock);
	dom_tls.stacks[d->idx] = s;
	dom_tls.stack_gen[d->idx] = d->gen;
	return s;
}

/* Caller holds dom_rt.lock; no thread is inside @d. */
void dom_stacks_free(struct aoki_domain *d)
{
	struct dom_stack *s, *n;

	pthread_mutex_lock(&d->lock);
	for (s = d->stacks; s; s = n) {
		n = s->next;
		*s->owner = NULL;	/* the owning thread is alive: it unlinks under dom_rt.lock */
		dom_arena_put(s->base, s->len);
		free(s);
	}
	d->stacks = NULL;
	pthread_mutex_unlock(&d->lock);
}

int dom_thread_setup(void)
{
	stack_t ss, old;
	int r;

	if (pthread_setspecific(dom_rt.tls_key, (void *)1))
		return -ENOMEM;
	if (dom_rt.isolated) {
		r = dom_gstack_thread();	/* where the gates keep their frames */
		if (r < 0)
			return r;
	}
	/* Both modes: a recoverable stack overflow needs a stack to run the
	 * fault handler on. */
	if (sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
		void *p = mmap(NULL, DOM_ALTSTACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -ENOMEM;
		ss.ss_sp = p;
		ss.ss_size = DOM_ALTSTACK;
		ss.ss_flags = 0;
		if (sigaltstack(&ss, NULL)) {
			munmap(p, DOM_ALTSTACK);
			return -ENOMEM;
		}
		dom_tls.altstack = p;
	}
	dom_tls.registered = true;
	return 0;
}

void dom_thread_exit(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dom_rt.lock);
	for (unsigned i = 0; i < AOKI_DOMAIN_MAX; i++) {
		struct dom_stack *s = dom_tls.stacks[i], **pp;
		struct aoki_domain *d = dom_rt.slots[i];

		if (!s)
			continue;
		dom_tls.stacks[i] = NULL;
		if (!d || dom_tls.stack_gen[i] != d->gen)
			continue;	/* freed with its compartment */
		pthread_mutex_lock(&d->lock);
		for (pp = &d->stacks; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
		pthread_mutex_unlock(&d->lock);
		dom_arena_put(s->base, s->len);
		free(s);
	}
	pthread_mutex_unlock(&dom_rt.lock);
	dom_gstack_release();
	if (dom_tls.altstack) {
		stack_t ss = { .ss_flags = SS_DISABLE };

		sigaltstack(&ss, NULL);
		munmap(dom_tls.altstack, DOM_ALTSTACK);
		dom_tls.altstack = NULL;
	}
}
