/* The stream pump behind the proxy and the relays: bytes both ways
 * between real loopback TCP connections and between unix sockets, a
 * checksum-equal transfer much larger than the pipe, half-closes passed
 * on, the idle time-out, and the sockets' flags restored afterwards;
 * the lingering close that lets a peer read an answer to the end. */
#include <signal.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netrelay.h"
#include "netserve.h"
#include "tap.h"

#define BIG (24u * 1024 * 1024)

/* A connected pair of loopback TCP sockets: out[0] client, out[1] server. */
static int tcp_pair(int out[2])
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	out[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(out[0], (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	out[1] = accept(l, NULL, NULL);
	close(l);
	return out[1] < 0 ? -1 : 0;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 131u + (i >> 12)) & 0xff);
}

struct job {
	int fd;
	size_t n;
	size_t got;
	int bad;
};

static void *writer(void *arg)
{
	struct job *j = arg;
	unsigned char buf[65536];
	for (size_t off = 0; off < j->n;) {
		size_t k = j->n - off < sizeof(buf) ? j->n - off : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(off + i);
		ssize_t w = write(j->fd, buf, k);
		if (w <= 0)
			return NULL;
		off += (size_t)w;
	}
	shutdown(j->fd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct job *j = arg;
	unsigned char buf[65536];
	for (;;) {
		ssize_t r = read(j->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			j->bad += buf[i] != pattern(j->got + (size_t)i);
		j->got += (size_t)r;
	}
	return NULL;
}

struct pump_args {
	int a, b, idle, ret, err;
};

static void *pump(void *arg)
{
	struct pump_args *p = arg;
	p->ret = shunt_netrelay_pump(p->a, p->b, p->idle);
	p->err = errno;
	return NULL;
}

/* Pumps between x[1] and y[1]; BIG bytes x[0] -> y[0] and BIG/3 back. */
static void both_ways(int x[2], int y[2], const char *what)
{
	struct pump_args pa = {.a = x[1], .b = y[1], .idle = 20000};
	int fl = fcntl(x[1], F_GETFL);
	pthread_t tp, t[4];
	pthread_create(&tp, NULL, pump, &pa);
	struct job down_w = {.fd = x[0], .n = BIG}, down_r = {.fd = y[0]};
	struct job up_w = {.fd = y[0], .n = BIG / 3}, up_r = {.fd = x[0]};
	pthread_create(&t[0], NULL, writer, &down_w);
	pthread_create(&t[1], NULL, reader, &down_r);
	pthread_create(&t[2], NULL, writer, &up_w);
	pthread_create(&t[3], NULL, reader, &up_r);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(tp, NULL);
	is_int(pa.ret, 0, "pump ends cleanly after both half-closes");
	is_int(down_r.got, BIG, "all bytes arrive one way");
	is_int(down_r.bad, 0, "and unchanged");
	is_int(up_r.got, BIG / 3, "all bytes arrive the other way");
	is_int(up_r.bad, 0, "and unchanged");
	is_int(fcntl(x[1], F_GETFL), fl, "the socket's flags are restored");
	diag("%s done", what);
	for (int i = 0; i < 2; i++) {
		close(x[i]);
		close(y[i]);
	}
}

/* The server end srv answers, then closes with shunt_netserve_close
 * after the client end cli sent `sent` bytes it never read. Returns what
 * the client's reads end with: 0 at EOF, else the errno. */
static int answer_unread(size_t sent, int wait_ms, char *ans, size_t cap)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return -1;
	static char junk[96 * 1024];
	memset(junk, 'j', sizeof(junk));
	if (sent > sizeof(junk) || write(sp[0], junk, sent) != (ssize_t)sent)
		return -1;
	if (write(sp[1], "answer", 6) != 6)
		return -1;
	shunt_netserve_close(sp[1], wait_ms);
	size_t got = 0;
	ssize_t r = 0;
	while (got + 1 < cap && (r = read(sp[0], ans + got, cap - 1 - got)) > 0)
		got += (size_t)r;
	ans[got] = '\0';
	int e = r < 0 ? errno : 0;
	close(sp[0]);
	return e;
}

int main(void)
{
	/* like the proxy and relay processes: a peer closing early is EPIPE */
	signal(SIGPIPE, SIG_IGN);
	int x[2], y[2];
	if (tcp_pair(x) < 0 || tcp_pair(y) < 0) {
		skip("no loopback TCP here");
		return done_testing();
	}
	both_ways(x, y, "tcp <-> tcp (splice)");

	/* closing after an answer with the request partly unread */
	char ans[64];
	ok(answer_unread(3000, 0, ans, sizeof(ans)) == 0 && strcmp(ans, "answer") == 0,
	   "lingering close: unread bytes drained, the peer reads the answer and EOF");
	ok(answer_unread(SHUNT_NETSERVE_DRAIN_BYTES + 16 * 1024, 0, ans, sizeof(ans)) == ECONNRESET,
	   "lingering close drains a bounded amount (more unread: the peer sees a reset)");
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return 1;
	shunt_netserve_close(sp[1], 50);
	char c;
	ok(read(sp[0], &c, 1) == 0, "lingering close ends on time when the peer stays open");
	close(sp[0]);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, x) < 0 || tcp_pair(y) < 0)
		return 1;
	both_ways(x, y, "unix <-> tcp");

	/* idle limit: nothing moves, the pump gives up with ETIMEDOUT */
	if (tcp_pair(x) < 0 || tcp_pair(y) < 0)
		return 1;
	struct pump_args pa = {.a = x[1], .b = y[1], .idle = 200};
	pump(&pa);
	ok(pa.ret == -1 && pa.err == ETIMEDOUT, "idle connection times out (ETIMEDOUT)");
	for (int i = 0; i < 2; i++) {
		close(x[i]);
		close(y[i]);
	}

	/* a peer that resets: the pump ends instead of spinning */
	if (tcp_pair(x) < 0 || tcp_pair(y) < 0)
		return 1;
	struct pump_args pr = {.a = x[1], .b = y[1], .idle = 5000};
	pthread_t tp;
	pthread_create(&tp, NULL, pump, &pr);
	if (write(x[0], "abc", 3) != 3)
		return 1;
	char b3[3];
	ok(read(y[0], b3, 3) == 3 && memcmp(b3, "abc", 3) == 0, "small write passes at once");
	close(y[0]);
	close(x[0]);
	pthread_join(tp, NULL);
	ok(pr.err != ETIMEDOUT, "pump ends when both peers are gone (no idle wait)");
	close(x[1]);
	close(y[1]);
	return done_testing();
}
