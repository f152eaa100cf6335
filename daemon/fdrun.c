/* The client side of the local fd-passing run, and the framing both sides
 * share (see fdrun.h for the exchange). */
#include "fdrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

static const int passed_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NPASSED (sizeof(passed_signals) / sizeof(passed_signals[0]))

static int sig_w = -1; /* the self-pipe the handler writes signal numbers into */

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;
	if (sig_w >= 0)
		(void)!write(sig_w, &c, 1);
	errno = e;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_full(int fd, char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got ? -2 : 0; /* -2: truncated */
		got += (size_t)r;
	}
	return 1;
}

static void put_hdr(char h[SHUNT_FDRUN_HDR], char type, size_t n)
{
	h[0] = type;
	h[1] = (char)(n >> 24);
	h[2] = (char)(n >> 16);
	h[3] = (char)(n >> 8);
	h[4] = (char)n;
}

int shunt_fdrun_send(int fd, char type, const void *p, size_t n)
{
	if (n > SHUNT_FDRUN_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	char h[SHUNT_FDRUN_HDR];
	put_hdr(h, type, n);
	if (send_all(fd, h, sizeof(h)) < 0 || (n && send_all(fd, p, n) < 0))
		return -1;
	return 0;
}

int shunt_fdrun_read(int fd, char *type, char **payload, size_t *n)
{
	unsigned char h[SHUNT_FDRUN_HDR];
	*payload = NULL;
	int r = read_full(fd, (char *)h, sizeof(h));
	if (r == 0)
		return 0;
	if (r < 0) {
		if (r == -2)
			errno = EPROTO;
		return -1;
	}
	size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
	if (len > SHUNT_FDRUN_MAX) {
		errno = EPROTO;
		return -1;
	}
	char *p = malloc(len + 1);
	if (!p)
		return -1;
	if (len && read_full(fd, p, len) != 1) {
		free(p);
		errno = EPROTO;
		return -1;
	}
	p[len] = 0;
	*type = (char)h[0];
	*payload = p;
	*n = len;
	return 1;
}

static void json_strv(struct shunt_buf *b, char *const *v)
{
	shunt_buf_putc(b, '[');
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, v[i], strlen(v[i]));
	}
	shunt_buf_putc(b, ']');
}

static int build_request(const struct shunt_fdrun_req *r, struct shunt_buf *b)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	shunt_buf_puts(b, "{\"cwd\":");
	shunt_buf_json_str(b, cwd, strlen(cwd));
	if (r->line) {
		const char *sh = r->shell ? r->shell : "/bin/sh";
		shunt_buf_puts(b, ",\"line\":");
		shunt_buf_json_str(b, r->line, strlen(r->line));
		shunt_buf_puts(b, ",\"shell\":");
		shunt_buf_json_str(b, sh, strlen(sh));
	} else {
		shunt_buf_puts(b, ",\"argv\":");
		json_strv(b, r->argv);
	}
	/* the daemon filters it with its own sandbox.env_whitelist */
	shunt_buf_puts(b, ",\"env\":");
	json_strv(b, environ);
	shunt_buf_printf(b, ",\"source\":\"%s\"", shunt_source_name(r->source));
	if (r->profile >= 0)
		shunt_buf_printf(b, ",\"profile\":\"%s\"", shunt_profile_name(r->profile));
	if (r->runtime >= 0)
		shunt_buf_printf(b, ",\"runtime\":\"%s\"", shunt_runtime_name(r->runtime));
	if (r->workspace) {
		shunt_buf_puts(b, ",\"workspace\":");
		shunt_buf_json_str(b, r->workspace, strlen(r->workspace));
	}
	if (r->explicit_run)
		shunt_buf_puts(b, ",\"explicit\":true");
	shunt_buf_printf(b, ",\"approved\":%s}", r->approved ? "true" : "false");
	return b->oom || b->len > SHUNT_FDRUN_MAX ? -1 : 0;
}

/* Sends magic + request with fds 0-2 attached to its first byte. */
static int send_request(int fd, const struct shunt_buf *body)
{
	int fds[3], nul = -1;
	for (int i = 0; i < 3; i++) {
		fds[i] = i;
		if (fcntl(i, F_GETFD) < 0) {
			/* a closed stdio fd cannot be passed; the command gets
			 * /dev/null there instead */
			if (nul < 0 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return -1;
			fds[i] = nul;
		}
	}
	char head[SHUNT_FDRUN_MAGIC_LEN + SHUNT_FDRUN_HDR];
	memcpy(head, SHUNT_FDRUN_MAGIC, SHUNT_FDRUN_MAGIC_LEN);
	put_hdr(head + SHUNT_FDRUN_MAGIC_LEN, SHUNT_FDRUN_REQUEST, body->len);
	struct iovec iov[2] = {{head, sizeof(head)}, {body->data, body->len}};
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr m = {
	    .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ssize_t w;
	while ((w = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int e = errno;
	if (nul >= 0)
		close(nul);
	if (w < 0) {
		errno = e;
		return -1;
	}
	/* the rest of a large request, if the first call took only part */
	size_t total = sizeof(head) + body->len, done = (size_t)w;
	if (done < sizeof(head)) {
		if (send_all(fd, head + done, sizeof(head) - done) < 0)
			return -1;
		done = sizeof(head);
	}
	return send_all(fd, body->data + (done - sizeof(head)), total - done);
}

/* Waits for the EXIT frame, passing signals on. */
static enum shunt_fdrun_result wait_exit(int fd, int *status, struct shunt_buf *msg)
{
	int sp[2];
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) {
		sp[0] = sp[1] = -1;
	}
	sig_w = sp[1];
	struct sigaction sa, old[NPASSED];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NPASSED; i++)
		sigaction(passed_signals[i], &sa, &old[i]);
	enum shunt_fdrun_result res = SHUNT_FDRUN_LOST;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = sp[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			shunt_buf_printf(msg, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			unsigned char sigs[16];
			ssize_t n = read(sp[0], sigs, sizeof(sigs));
			for (ssize_t i = 0; i < n; i++) {
				char num[8];
				int k = snprintf(num, sizeof(num), "%d", sigs[i]);
				/* a daemon that went away shows on the read below */
				(void)shunt_fdrun_send(fd, SHUNT_FDRUN_SIGNAL, num, (size_t)k);
			}
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char type;
		_cleanup_free_ char *pl = NULL;
		size_t n;
		int r = shunt_fdrun_read(fd, &type, &pl, &n);
		if (r <= 0) {
			shunt_buf_puts(msg, r == 0 ? "the connection closed before the exit status"
						   : strerror(errno));
			break;
		}
		if (type != SHUNT_FDRUN_EXIT) {
			shunt_buf_printf(msg, "unexpected frame '%c'", type);
			break;
		}
		char *end;
		long code = strtol(pl, &end, 10);
		if (end == pl || code < 0 || code > 255) {
			shunt_buf_printf(msg, "bad exit status '%.32s'", pl);
			break;
		}
		*status = (int)code;
		res = SHUNT_FDRUN_RAN;
		break;
	}
	for (size_t i = 0; i < NPASSED; i++)
		sigaction(passed_signals[i], &old[i], NULL);
	sig_w = -1;
	if (sp[0] >= 0) {
		close(sp[0]);
		close(sp[1]);
	}
	return res;
}

enum shunt_fdrun_result shunt_fdrun_client(const char *sock, const struct shunt_fdrun_req *r,
					   shunt_fdrun_accepted_fn on_accept, void *ud, int *status,
					   struct shunt_buf *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path))
		return SHUNT_FDRUN_NO_DAEMON;
	strcpy(sa.sun_path, sock);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return SHUNT_FDRUN_NO_DAEMON; /* no daemon: silently run here */
	struct shunt_buf body = {0};
	if (build_request(r, &body) < 0) {
		shunt_buf_free(&body);
		shunt_buf_puts(msg, "the request is too large to send");
		return SHUNT_FDRUN_NO_DAEMON;
	}
	int src = send_request(fd, &body);
	int serr = errno;
	shunt_buf_free(&body);
	/* a daemon that refused early (SO_PEERCRED) may have closed before
	 * reading it all: its answer is still worth reading */
	char type = 0;
	_cleanup_free_ char *pl = NULL;
	size_t n;
	int rr = shunt_fdrun_read(fd, &type, &pl, &n);
	if (rr <= 0) {
		shunt_buf_printf(msg, "no answer (%s)",
				 src < 0   ? strerror(serr)
				 : rr == 0 ? "the connection closed"
					   : strerror(errno));
		return SHUNT_FDRUN_NO_DAEMON;
	}
	switch (type) {
	case SHUNT_FDRUN_REFUSED:
		shunt_buf_puts(msg, pl);
		return SHUNT_FDRUN_POLICY;
	case SHUNT_FDRUN_UNAVAILABLE:
		shunt_buf_puts(msg, pl);
		return SHUNT_FDRUN_NO_DAEMON;
	case SHUNT_FDRUN_ACCEPTED:
		break;
	default:
		shunt_buf_puts(msg, "the daemon does not speak the fd-passing protocol");
		return SHUNT_FDRUN_NO_DAEMON;
	}
	if (on_accept) {
		char *sp = strchr(pl, ' ');
		if (sp)
			*sp++ = 0;
		on_accept(ud, pl, sp ? sp : "?");
	}
	return wait_exit(fd, status, msg);
}
