/* The stream pump and the in-sandbox loopback relay (see netrelay.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netproxy.h"
#include "netrelay.h"
#include "netserve.h"

struct direction {
	int src, dst;
	int pipe[2]; /* splice mode */
	char *buf;   /* copy mode */
	size_t cap;  /* bytes the pipe or buffer holds */
	size_t have, off;
	bool eof, done;
	bool rblocked, wblocked; /* the last try would have blocked */
};

static int dir_init(struct direction *d, int src, int dst, bool use_splice)
{
	memset(d, 0, sizeof(*d));
	d->src = src;
	d->dst = dst;
	d->pipe[0] = d->pipe[1] = -1;
	d->cap = SHUNT_NET_BUF;
	if (use_splice && pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		/* a bigger pipe moves more pages per splice; it is kernel
		 * memory, bounded like the buffer, and never touched by us */
		int sz = fcntl(d->pipe[1], F_SETPIPE_SZ, SHUNT_NET_PIPE);
		if (sz < 0)
			sz = fcntl(d->pipe[1], F_GETPIPE_SZ);
		if (sz > 0)
			d->cap = (size_t)sz;
		return 0;
	}
	d->buf = malloc(SHUNT_NET_BUF);
	return d->buf ? 0 : -1;
}

static void dir_free(struct direction *d)
{
	if (d->pipe[0] >= 0) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	free(d->buf);
}

/* Switches a direction from splice to copy mode when the kernel refuses
 * splice for these sockets (only before any byte was moved). */
static int dir_fallback(struct direction *d)
{
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	d->cap = SHUNT_NET_BUF;
	d->buf = malloc(SHUNT_NET_BUF);
	return d->buf ? 0 : -1;
}

/* Reads what src has into the pipe or buffer: -1 on error, 0 otherwise
 * (rblocked when src is drained). */
static int dir_read(struct direction *d)
{
	ssize_t n;
	if (d->pipe[0] >= 0) {
		n = splice(d->src, NULL, d->pipe[1], NULL, d->cap - d->have,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINVAL && d->have == 0) {
			if (dir_fallback(d) < 0)
				return -1;
			return dir_read(d);
		}
	} else {
		n = recv(d->src, d->buf, d->cap, MSG_DONTWAIT);
		d->off = 0;
	}
	if (n < 0) {
		d->rblocked = errno == EAGAIN;
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	if (n == 0)
		d->eof = true;
	d->have += (size_t)n;
	return 0;
}

static int dir_write(struct direction *d)
{
	ssize_t n;
	if (d->pipe[0] >= 0)
		n = splice(d->pipe[0], NULL, d->dst, NULL, d->have,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else
		n = send(d->dst, d->buf + d->off, d->have, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		d->wblocked = errno == EAGAIN;
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	d->have -= (size_t)n;
	d->off += (size_t)n;
	return 0;
}

static bool dir_can_read(const struct direction *d)
{
	if (d->eof)
		return false;
	/* splice keeps reading while the pipe has room */
	return d->pipe[0] >= 0 ? d->have < d->cap : d->have == 0;
}

/* Moves what can move without blocking, alternating reads and writes so
 * a chunk goes out right after it came in (no poll between them). */
static int dir_run(struct direction *d)
{
	for (int spins = 0; spins < 64; spins++) {
		bool moved = false;
		if (!d->rblocked && dir_can_read(d)) {
			size_t before = d->have;
			bool was_eof = d->eof;
			if (dir_read(d) < 0)
				return -1;
			moved |= d->have != before || d->eof != was_eof;
		}
		if (!d->wblocked && d->have > 0) {
			size_t before = d->have;
			if (dir_write(d) < 0)
				return -1;
			moved |= d->have != before;
		}
		if (d->eof && d->have == 0) {
			shutdown(d->dst, SHUT_WR);
			d->done = true;
			return 0;
		}
		if (!moved)
			return 0;
	}
	return 0; /* let the other direction have a turn */
}

int shunt_netrelay_pump(int a, int b, int idle_ms)
{
	struct direction d[2];
	int fl[2] = {fcntl(a, F_GETFL), fcntl(b, F_GETFL)};
	if (fl[0] < 0 || fl[1] < 0)
		return -1;
	if (dir_init(&d[0], a, b, true) < 0)
		return -1;
	if (dir_init(&d[1], b, a, true) < 0) {
		dir_free(&d[0]);
		return -1;
	}
	/* non-blocking sockets: a splice from a blocking socket waits for
	 * data even with SPLICE_F_NONBLOCK */
	fcntl(a, F_SETFL, fl[0] | O_NONBLOCK);
	fcntl(b, F_SETFL, fl[1] | O_NONBLOCK);
	int ret = 0;
	for (;;) {
		bool failed = false;
		for (int i = 0; i < 2 && !failed; i++)
			if (!d[i].done)
				failed = dir_run(&d[i]) < 0;
		if (failed) {
			ret = -1;
			break;
		}
		if (d[0].done && d[1].done)
			break;
		struct pollfd p[2] = {{.fd = a}, {.fd = b}};
		bool busy = false;
		for (int i = 0; i < 2; i++) {
			if (d[i].done)
				continue;
			if (d[i].have > 0 && d[i].wblocked)
				p[1 - i].events |= POLLOUT; /* d[i].dst */
			if (dir_can_read(&d[i]) && d[i].rblocked)
				p[i].events |= POLLIN; /* d[i].src */
			/* could still move without waiting: don't sleep */
			busy |= (d[i].have > 0 && !d[i].wblocked) ||
				(dir_can_read(&d[i]) && !d[i].rblocked);
		}
		for (int i = 0; i < 2; i++)
			if (!p[i].events)
				p[i].fd = -1; /* no busy loop on a hung-up idle side */
		int r = poll(p, 2, busy ? 0 : idle_ms > 0 ? idle_ms : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r == 0 && !busy) {
			errno = ETIMEDOUT;
			ret = -1;
			break;
		}
		for (int i = 0; i < 2; i++) {
			short rev = p[i].revents, wev = p[1 - i].revents;
			if (rev & (POLLIN | POLLERR | POLLHUP))
				d[i].rblocked = false;
			if (wev & (POLLOUT | POLLERR | POLLHUP))
				d[i].wblocked = false;
		}
	}
	int e = errno;
	dir_free(&d[0]);
	dir_free(&d[1]);
	fcntl(a, F_SETFL, fl[0]);
	fcntl(b, F_SETFL, fl[1]);
	errno = e;
	return ret;
}

int shunt_netrelay_listen(uint16_t port, struct shunt_error **err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shunt_error_sys(err, errno, "network relay: socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return shunt_error_sys(err, e, "network relay: listening on 127.0.0.1:%u",
				       (unsigned)port);
	}
	return fd;
}

int shunt_netrelay_hand_over(int c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u < 0 || connect(u, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (u >= 0)
			close(u);
		errno = e;
		return -1;
	}
	char marker = 0;
	struct iovec iov = {.iov_base = &marker, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	memset(&cm, 0, sizeof(cm));
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cm.buf,
			   .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &c, sizeof(int));
	ssize_t n;
	while ((n = sendmsg(u, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int e = errno;
	close(u);
	errno = e;
	return n == 1 ? 0 : -1;
}

static atomic_int g_relay_conns;
static const char *g_relay_name;

/* Copy mode: this connection's bytes through a connection of our own. */
static void *relay_copy(void *arg)
{
	int c = (int)(intptr_t)arg;
	int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, g_relay_name, sizeof(sa.sun_path) - 1);
	if (u >= 0 && connect(u, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		shunt_netrelay_pump(c, u, 0);
	if (u >= 0)
		close(u);
	close(c);
	atomic_fetch_sub(&g_relay_conns, 1);
	return NULL;
}

void shunt_netrelay_serve_copy(int lfd, const char *path)
{
	g_relay_name = path;
	signal(SIGPIPE, SIG_IGN);
	static const struct shunt_netserve how = {.run = relay_copy,
						  .stack = 128 * 1024,
						  .conns = &g_relay_conns,
						  .max = SHUNT_NETRELAY_MAX_CONNS};
	shunt_netserve_threads(lfd, &how);
	_exit(125);
}

void shunt_netrelay_serve(int lfd, int dirfd, const char *name)
{
	if (fchdir(dirfd) < 0)
		_exit(125);
	close(dirfd);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = shunt_netserve_accept(lfd);
		if (c < 0)
			_exit(125);
		shunt_netrelay_hand_over(c, name);
		close(c);
	}
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	errno = e;
	return r;
}

int shunt_netrelay_netns_start(const char *proxy_dir, pid_t *pid, struct shunt_error **err)
{
	*pid = 0;
	int dirfd = open(proxy_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return shunt_error_sys(err, errno, "network relay: opening %s", proxy_dir);
	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0) {
		int e = errno;
		close(dirfd);
		return shunt_error_sys(err, e, "network relay: pipe");
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(dirfd);
		close(sync[0]);
		close(sync[1]);
		return shunt_error_sys(err, e, "network relay: fork");
	}
	if (child == 0) {
		close(sync[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(125);
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		/* the reply: 0 once listening, else the errno and what failed */
		int msg[2] = {0, 0};
		struct shunt_error *e = NULL;
		int lfd = -1;
		if (unshare(CLONE_NEWNET) < 0)
			msg[0] = errno, msg[1] = 1;
		else if (loopback_up() < 0)
			msg[0] = errno, msg[1] = 2;
		else if ((lfd = shunt_netrelay_listen(SHUNT_NETRELAY_PORT, &e)) < 0)
			msg[0] = e ? e->code : EIO, msg[1] = 3;
		shunt_error_free(&e);
		if (write(sync[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg) || msg[0])
			_exit(125);
		close(sync[1]);
		shunt_netrelay_serve(lfd, dirfd, SHUNT_NETPROXY_SOCK);
	}
	close(dirfd);
	close(sync[1]);
	int msg[2] = {EIO, 0};
	ssize_t n;
	while ((n = read(sync[0], msg, sizeof(msg))) < 0 && errno == EINTR)
		;
	close(sync[0]);
	if (n != (ssize_t)sizeof(msg) || msg[0]) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		static const char *const what[] = {"starting", "creating its network namespace",
						   "bringing up loopback", "listening"};
		shunt_error_set(err, msg[0], "network relay: %s: %s%s",
				what[msg[1] >= 0 && msg[1] < 4 ? msg[1] : 0], strerror(msg[0]),
				msg[0] == EPERM ? " (needs root)" : "");
		if (err && *err)
			(*err)->exitcode = 125;
		return -1;
	}
	*pid = child;
	return 0;
}
