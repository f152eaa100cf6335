/* The accept loop and lingering close of the proxy and relay (see
 * netserve.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netserve.h"

int shunt_netserve_accept(int lfd)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE &&
		    errno != ENOBUFS && errno != ENOMEM)
			return -1;
	}
}

int shunt_netserve_threads(int lfd, const struct shunt_netserve *s)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, s->stack);
	for (;;) {
		int c = shunt_netserve_accept(lfd);
		if (c < 0) {
			int e = errno;
			pthread_attr_destroy(&attr);
			errno = e;
			return -1;
		}
		pthread_t t;
		if (atomic_fetch_add(s->conns, 1) < s->max &&
		    pthread_create(&t, &attr, s->run, (void *)(intptr_t)c) == 0)
			continue;
		atomic_fetch_sub(s->conns, 1);
		if (s->refuse)
			s->refuse(c);
		/* no waiting here: the loop serves every other connection */
		shunt_netserve_close(c, 0);
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void shunt_netserve_close(int fd, int wait_ms)
{
	shutdown(fd, SHUT_WR);
	char sink[4096];
	size_t left = SHUNT_NETSERVE_DRAIN_BYTES;
	long long deadline = now_ms() + wait_ms;
	while (left > 0) {
		ssize_t n = recv(fd, sink, left < sizeof(sink) ? left : sizeof(sink), MSG_DONTWAIT);
		if (n == 0)
			break; /* the peer's end of stream: nothing unread */
		if (n > 0) {
			left -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		long long rest = deadline - now_ms();
		if (rest <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)rest);
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	close(fd);
}
