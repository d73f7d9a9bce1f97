/* SPDX-License-Identifier: MIT */
/*
 * closer.h - a thread that closes the descriptors a client could make
 * slow to close (private).
 *
 * close(2) runs the file's release when it drops the last reference, and
 * the release can block: a TCP socket with SO_LINGER waits for its send
 * queue to drain; a socket drops the descriptors still queued in it (each
 * a last reference in turn); a file on FUSE or NFS flushes.  A client can
 * hand the server any of these (SCM_RIGHTS, or queued on a socket the
 * server holds).  So the acceptor and the workers never close such a
 * descriptor themselves: they push it here.  A stuck close holds only the
 * closes queued behind it, never a thread that serves clients.
 */
#ifndef AOKI_CLOSER_H
#define AOKI_CLOSER_H

struct closer;

/* closer_start - start a closer thread.  Returns 0 with *@out set, or
 * -errno (-ENOMEM, -EAGAIN from pthread_create). */
int closer_start(struct closer **out);

/*
 * closer_push - close @fd on the closer thread, soon.  Ignores @fd < 0.
 * With @c NULL (no closer started) or when the queue cannot grow (out of
 * memory) it closes @fd here instead.  Never waits for a close; takes a
 * mutex that the closer thread holds only to take the queue.  Any thread.
 */
void closer_push(struct closer *c, int fd);

/*
 * closer_finish - the owner is done with @c (NULL: nothing): the thread
 * closes what is queued, then exits and frees @c by itself.  Does not
 * wait for it (a close may take long); @c must not be used afterwards.
 */
void closer_finish(struct closer *c);

#endif
