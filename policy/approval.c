/* The no-double-prompt approval channel; the design is in approval.h.
 * The check side runs inside the shim (possibly between vfork and exec),
 * so it uses raw syscalls only: no malloc, no stdio, no locks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "approval.h"
#include "lex.h"
#include "policy.h"

extern char **environ;

void shunt_approval_key(const char *norm, uint8_t out[32])
{
	shunt_trust_key(1, NULL, norm ? norm : "", out);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Sorts and removes duplicates; returns the new count. */
static size_t keys_sort_unique(uint8_t (*keys)[32], size_t n)
{
	if (n == 0)
		return 0;
	qsort(keys, n, 32, key_cmp);
	size_t w = 1;
	for (size_t r = 1; r < n; r++) {
		if (memcmp(keys[r], keys[w - 1], 32) != 0) {
			if (w != r)
				memcpy(keys[w], keys[r], 32);
			w++;
		}
	}
	return w;
}

int shunt_approval_keys_from_cmdline(const struct shunt_cmdline *cl, uint8_t (**keys)[32],
				     size_t *n, struct shunt_error **err)
{
	*keys = NULL;
	*n = 0;
	size_t cap = cl->n + 1;
	uint8_t(*k)[32] = calloc(cap, 32);
	if (!k)
		return shunt_error_sys(err, ENOMEM, "approval keys");
	size_t m = 0;
	if (cl->line)
		shunt_approval_key(cl->line, k[m++]);
	for (size_t i = 0; i < cl->n; i++) {
		if (cl->cmds[i].norm)
			shunt_approval_key(cl->cmds[i].norm, k[m++]);
	}
	*n = keys_sort_unique(k, m);
	*keys = k;
	return 0;
}

int shunt_approval_server_start(struct shunt_approval_server *s, const uint8_t (*keys)[32],
				size_t n, struct shunt_error **err)
{
	memset(s, 0, sizeof(*s));
	s->fd = s->child_fd = -1;
	if (n > 0) {
		s->keys = malloc(n * 32);
		if (!s->keys)
			return shunt_error_sys(err, ENOMEM, "approval server");
		memcpy(s->keys, keys, n * 32);
		s->nkeys = keys_sort_unique(s->keys, n);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = errno;
		free(s->keys);
		s->keys = NULL;
		s->nkeys = 0;
		return shunt_error_sys(err, e, "approval socketpair");
	}
	/* the child end must survive exec */
	int fl = fcntl(sv[1], F_GETFD);
	if (fl < 0 || fcntl(sv[1], F_SETFD, fl & ~FD_CLOEXEC) < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		free(s->keys);
		s->keys = NULL;
		s->nkeys = 0;
		return shunt_error_sys(err, e, "approval socketpair");
	}
	s->fd = sv[0];
	s->child_fd = sv[1];
	return s->child_fd;
}

void shunt_approval_server_close_child(struct shunt_approval_server *s)
{
	if (s && s->child_fd >= 0) {
		close(s->child_fd);
		s->child_fd = -1;
	}
}

int shunt_approval_server_fd(const struct shunt_approval_server *s)
{
	return s ? s->fd : -1;
}

void shunt_approval_server_stop(struct shunt_approval_server *s)
{
	if (!s)
		return;
	shunt_approval_server_close_child(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->keys);
	s->keys = NULL;
	s->nkeys = 0;
}

static bool server_has(const struct shunt_approval_server *s, const uint8_t key[32])
{
	return s->nkeys > 0 && bsearch(key, s->keys, s->nkeys, 32, key_cmp) != NULL;
}

/* Receives one query; returns 1 answered, 0 nothing pending, -1 error. */
static int serve_one(struct shunt_approval_server *s)
{
	uint8_t key[33];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = key, .iov_len = sizeof(key)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t r = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	if (r == 0)
		return 0; /* every child end closed */
	int reply = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[8];
			if (nfd > 8)
				nfd = 8;
			memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
			for (size_t i = 0; i < nfd; i++) {
				if (reply < 0)
					reply = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	if (reply < 0)
		return 1; /* malformed: nowhere to answer */
	char ans = (r == 32 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && server_has(s, key))
		       ? 'Y'
		       : 'N';
	(void)send(reply, &ans, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(reply);
	s->answered++;
	return 1;
}

int shunt_approval_server_poll(struct shunt_approval_server *s, int timeout_ms)
{
	if (!s || s->fd < 0)
		return 0;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	int pr = poll(&p, 1, timeout_ms);
	if (pr < 0)
		return -1;
	if (pr == 0 || !(p.revents & POLLIN))
		return 0;
	int n = 0;
	for (;;) {
		int r = serve_one(s);
		if (r < 0)
			return n > 0 ? n : -1;
		if (r == 0)
			return n;
		n++;
	}
}

/* ---- check side: async-signal-safe from here on ---- */

static const char *env_get(const char *name)
{
	size_t nl = strlen(name);
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, name, nl) == 0 && (*e)[nl] == '=')
			return *e + nl + 1;
	}
	return NULL;
}

/* Parses a small non-negative decimal; -1 on anything else. */
static long parse_num(const char *s, const char **end)
{
	long v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > 0x7fffffff)
			return -1;
		p++;
	}
	if (end)
		*end = p;
	return v;
}

/* "/proc/<pid>/<leaf>" into buf. */
static void proc_path(char *buf, size_t cap, long pid, const char *leaf)
{
	char digits[24];
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && nd < (int)sizeof(digits));
	size_t o = 0;
	const char *pre = "/proc/";
	while (*pre && o + 1 < cap)
		buf[o++] = *pre++;
	while (nd > 0 && o + 1 < cap)
		buf[o++] = digits[--nd];
	if (o + 1 < cap)
		buf[o++] = '/';
	while (*leaf && o + 1 < cap)
		buf[o++] = *leaf++;
	buf[o] = '\0';
}

/* Parent pid of pid from /proc/<pid>/stat (field after the last ')'). */
static long proc_ppid(long pid)
{
	char path[64], buf[512];
	proc_path(path, sizeof(path), pid, "stat");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *rp = NULL;
	for (char *p = buf; *p; p++)
		if (*p == ')')
			rp = p;
	/* ") S 1234 ..." */
	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return -1;
	return parse_num(rp + 4, NULL);
}

static bool is_ancestor(long anc)
{
	long pid = getppid();
	for (int depth = 0; depth < 128 && pid > 0; depth++) {
		if (pid == anc)
			return true;
		if (pid == 1)
			return false;
		pid = proc_ppid(pid);
	}
	return false;
}

/* Same file, not same spelling: the shim finds the gate as
 * "<lib>/../bin/shunt", /proc shows the canonical path. */
static bool exe_is_gate(long pid, const char *gate_path)
{
	char path[64];
	proc_path(path, sizeof(path), pid, "exe");
	struct stat a, b;
	if (stat(path, &a) < 0 || stat(gate_path, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(a.st_mode);
}

static int check_fd(int fd, const char *gate_path, const uint8_t key[32])
{
	if (fd < 0 || !gate_path || gate_path[0] != '/')
		return 0;
	int type = 0;
	socklen_t tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
		return 0;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cl != sizeof(cr) ||
	    cr.pid <= 0)
		return 0;
	if (cr.uid != getuid() && cr.uid != geteuid())
		return 0;
	if (!exe_is_gate(cr.pid, gate_path) || !is_ancestor(cr.pid))
		return 0;

	int rp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0)
		return 0;
	int on = 1;
	int ok = 0;
	if (setsockopt(rp[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		goto out;
	{
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		memset(&u, 0, sizeof(u));
		struct iovec iov = {.iov_base = (void *)key, .iov_len = 32};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &rp[1], sizeof(int));
		if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != 32)
			goto out;
	}
	close(rp[1]);
	rp[1] = -1;
	{
		struct pollfd p = {.fd = rp[0], .events = POLLIN};
		int pr;
		do
			pr = poll(&p, 1, SHUNT_APPROVAL_TIMEOUT_MS);
		while (pr < 0 && errno == EINTR);
		if (pr <= 0 || !(p.revents & POLLIN))
			goto out;
		char ans = 0;
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov = {.iov_base = &ans, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t r = recvmsg(rp[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r != 1)
			goto out;
		bool from_server = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
				struct ucred sc;
				memcpy(&sc, CMSG_DATA(c), sizeof(sc));
				if (sc.pid == cr.pid)
					from_server = true;
			} else if (c->cmsg_type == SCM_RIGHTS) {
				/* nobody should send us fds: close them */
				size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < nfd && i < 4; i++) {
					int x;
					memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(x);
				}
			}
		}
		ok = (from_server && ans == 'Y') ? 1 : 0;
	}
out:
	close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	return ok;
}

int shunt_approval_check_fd(int fd, const char *gate_path, const uint8_t key[32])
{
	int saved = errno;
	int r = check_fd(fd, gate_path, key);
	errno = saved;
	return r;
}

int shunt_approval_check(const char *gate_path, const uint8_t key[32])
{
	const char *v = env_get(SHUNT_APPROVAL_ENV);
	if (!v)
		return 0;
	const char *end = NULL;
	long fd = parse_num(v, &end);
	if (fd < 0 || *end != '\0' || fd > 65535)
		return 0;
	return shunt_approval_check_fd((int)fd, gate_path, key);
}
