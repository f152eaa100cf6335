/* Serving stream connections for the network proxy and relay: the accept
 * loop they share (a thread per connection, a bound on their number) and
 * the lingering close that lets a peer read an answer sent while its own
 * request bytes were still unread. */
#ifndef SHUNT_NETSERVE_H
#define SHUNT_NETSERVE_H

#include <stdatomic.h>
#include <stddef.h>

/* Bounds of shunt_netserve_close: what it reads and discards before it
 * closes, and for how long it waits for the peer's end of stream. */
#define SHUNT_NETSERVE_DRAIN_BYTES (64 * 1024)
#define SHUNT_NETSERVE_DRAIN_MS	   2000

/* Accepts the next connection on lfd (CLOEXEC), retrying the errors that
 * concern one connection or pass (EINTR, ECONNABORTED, out of file
 * descriptors or memory). Returns the socket, or -1 (errno set) when the
 * listening socket itself fails. */
int shunt_netserve_accept(int lfd);

/* What shunt_netserve_threads runs. */
struct shunt_netserve {
	void *(*run)(void *conn); /* thread body; gets the socket as (intptr_t) */
	void (*refuse)(int conn); /* optional: answers a connection over the limit */
	size_t stack;		  /* thread stack size */
	atomic_int *conns;	  /* live connections; run decrements it at its end */
	int max;		  /* at most this many at once */
};

/* Accepts connections on lfd forever, each served on a detached thread
 * running s->run. A connection over s->max (or when no thread can be
 * made) is given to s->refuse, if set, then closed with
 * shunt_netserve_close without waiting. Returns -1 (errno set) only when
 * the listening socket fails. */
int shunt_netserve_threads(int lfd, const struct shunt_netserve *s);

/* Closes a connected stream socket after an answer has been written:
 * shuts down writing (the peer sees the end of the answer), then reads
 * and discards what the peer still sends, at most
 * SHUNT_NETSERVE_DRAIN_BYTES and for at most wait_ms, until its end of
 * stream, so that closing with unread bytes does not reset the
 * connection (an RST can make the peer lose the answer, and its pending
 * writes fail). wait_ms 0 discards only what has already arrived. */
void shunt_netserve_close(int fd, int wait_ms);

#endif
