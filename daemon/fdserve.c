/* The daemon's side of the local fd-passing run (fdserve.h, fdrun.h). */
#include "fdserve.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdrun.h"
#include "job.h"
#include "json.h"
#include "stats.h"

/* Reads the first bytes of a unix connection with any fds passed along.
 * True when they are the fd-passing magic and a request frame header
 * (head then holds those 13 bytes); false for HTTP (head holds *n bytes
 * to continue from; the caller closes any fds). */
bool shunt_fdserve_recv_first(int fd, char *head, size_t *n, int fds[SHUNT_FDS_MAX], int *nfds)
{
	const size_t want = SHUNT_FDRUN_MAGIC_LEN + SHUNT_FDRUN_HDR;
	*n = 0;
	*nfds = 0;
	while (*n < want) {
		union {
			char buf[CMSG_SPACE(SHUNT_FDS_MAX * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {head + *n, want - *n};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = u.buf,
				   .msg_controllen = sizeof(u.buf)};
		ssize_t got = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EINTR)
			continue;
		for (struct cmsghdr *c = got >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c;
		     c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*nfds < SHUNT_FDS_MAX)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		if (got >= 0 && (m.msg_flags & MSG_CTRUNC)) {
			/* more fds than any request has: drop them all */
			for (int i = 0; i < *nfds; i++)
				close(fds[i]);
			*nfds = 0;
		}
		if (got <= 0)
			return false;
		*n += (size_t)got;
		size_t cmp = *n < SHUNT_FDRUN_MAGIC_LEN ? *n : SHUNT_FDRUN_MAGIC_LEN;
		if (memcmp(head, SHUNT_FDRUN_MAGIC, cmp) != 0)
			return false; /* HTTP */
	}
	return true;
}

static void fdrun_refuse(int fd, char type, const char *msg)
{
	(void)shunt_fdrun_send(fd, type, msg, strlen(msg));
	shunt_stats_rejected();
}

/* Parses the fd-passing request (see fdrun.h) into *a; strings point into
 * the returned JSON tree, env/argv are malloc'd arrays of borrowed
 * strings. NULL with msg on error. */
static struct shunt_json *parse_fdrun(const char *body, size_t len, struct shunt_job_ask *a,
				      const char **cwd, char *msg, size_t msglen)
{
	struct shunt_error *e = NULL;
	struct shunt_json *j = shunt_json_parse("request", body, len, &e);
	if (!j) {
		snprintf(msg, msglen, "invalid JSON: %.400s", e ? e->msg : "?");
		shunt_error_free(&e);
		return NULL;
	}
	static const char *const known[] = {"argv",	"line",	     "shell",	"cwd",
					    "env",	"source",    "profile", "runtime",
					    "approved", "workspace", "explicit"};
	memset(a, 0, sizeof(*a));
	a->profile = a->runtime = -1;
	a->source = SHUNT_SOURCE_CLI;
	if (j->type != SHUNT_JSON_OBJECT) {
		snprintf(msg, msglen, "the request must be a JSON object");
		goto bad;
	}
	for (size_t i = 0; i < j->len; i++) {
		size_t k = 0;
		while (k < sizeof(known) / sizeof(*known) && strcmp(j->keys[i], known[k]))
			k++;
		if (k == sizeof(known) / sizeof(*known)) {
			snprintf(msg, msglen, "unknown field '%.64s'", j->keys[i]);
			goto bad;
		}
	}
	const struct shunt_json *v = shunt_json_get(j, "cwd");
	if (!v || v->type != SHUNT_JSON_STRING || v->str[0] != '/' || strlen(v->str) != v->len) {
		snprintf(msg, msglen, "cwd: an absolute path is required");
		goto bad;
	}
	*cwd = v->str;
	const char *names[] = {"argv", "env"};
	char ***outs[] = {&a->argv, &a->env};
	for (int f = 0; f < 2; f++) {
		v = shunt_json_get(j, names[f]);
		if (!v)
			continue;
		if (v->type != SHUNT_JSON_ARRAY || v->len > 65536) {
			snprintf(msg, msglen, "%s: an array of strings is required", names[f]);
			goto bad;
		}
		char **arr = calloc(v->len + 1, sizeof(char *));
		if (!arr) {
			snprintf(msg, msglen, "out of memory");
			goto bad;
		}
		*outs[f] = arr;
		for (size_t i = 0; i < v->len; i++) {
			const struct shunt_json *s = v->items[i];
			if (s->type != SHUNT_JSON_STRING || strlen(s->str) != s->len ||
			    (f == 1 && !strchr(s->str, '='))) {
				snprintf(msg, msglen, "%s[%zu]: a string without NUL bytes%s",
					 names[f], i, f ? " of the form NAME=VALUE" : "");
				goto bad;
			}
			arr[i] = s->str;
		}
	}
	a->line = shunt_json_str(j, "line", NULL);
	a->shell = shunt_json_str(j, "shell", NULL);
	if (!a->line == !a->argv || (a->argv && (!a->argv[0] || !a->argv[0][0])) ||
	    (a->line && (!a->shell || !a->shell[0]))) {
		snprintf(msg, msglen, "either a non-empty argv or line with shell is required");
		goto bad;
	}
	const char *src = shunt_json_str(j, "source", "cli");
	int sv = shunt_source_parse(src);
	const char *p = shunt_json_str(j, "profile", NULL);
	const char *rt = shunt_json_str(j, "runtime", NULL);
	if (sv < 0 || (p && (a->profile = shunt_profile_parse(p)) < 0) ||
	    (rt && (a->runtime = shunt_job_runtime_parse(rt)) < 0)) {
		snprintf(msg, msglen, "source, profile or runtime: unknown name");
		goto bad;
	}
	a->source = (enum shunt_source)sv;
	a->approved = shunt_json_bool(j, "approved", false);
	a->explicit_run = shunt_json_bool(j, "explicit", false);
	a->workspace = shunt_json_str(j, "workspace", NULL);
	if (a->workspace && a->workspace[0] != '/') {
		snprintf(msg, msglen, "workspace: an absolute path is required");
		goto bad;
	}
	return j;
bad:
	free(a->argv);
	free(a->env);
	a->argv = a->env = NULL;
	shunt_json_free(j);
	return NULL;
}

/* Reads the client's frames while the run goes on: signals are passed to
 * the runner (which forwards them into the sandbox like `shunt exec`
 * does in-process); a closed connection kills the run. */
static int fdrun_wait(int fd, pid_t pid, bool *gone, int *sig)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int st = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = *gone ? -1 : fd, .events = POLLIN},
				      {.fd = pfd, .events = POLLIN}};
		/* without a pidfd: look for the exit every 20 ms */
		int n = poll(p, 2, pfd >= 0 ? -1 : 20);
		if (n < 0 && errno != EINTR)
			break;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
		if (n <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char type;
		char *pl = NULL;
		size_t len;
		int r = shunt_fdrun_read(fd, &type, &pl, &len);
		if (r <= 0) {
			*gone = true; /* the client went away: so does the run */
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		} else if (type == SHUNT_FDRUN_SIGNAL) {
			int s = atoi(pl);
			if (s == SIGINT || s == SIGTERM || s == SIGHUP)
				kill(pid, s);
		}
		free(pl);
	}
	if (pfd >= 0)
		close(pfd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* stdin is /dev/null (the warm gVisor sandboxes have nothing else) */
static bool fd_is_null(int fd)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && S_ISCHR(a.st_mode) && stat("/dev/null", &b) == 0 &&
	       a.st_rdev == b.st_rdev;
}

/* The local fd-passing run (fdrun.h): peer check, re-decision, the run
 * with the client's stdio, signals, the exit status. */
void shunt_fdserve_handle(int fd, const unsigned char *head, const int *fds, int nfds)
{
	double t0 = shunt_stats_now();
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	char msg[512];
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
	    (cr.uid != geteuid() && cr.uid != 0)) {
		snprintf(msg, sizeof(msg),
			 "shuntd runs as uid %u and serves only that uid and root, not uid %u",
			 (unsigned)geteuid(), (unsigned)cr.uid);
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE, msg);
		return;
	}
	if (nfds != 3) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE,
			     "the request must carry exactly three fds: stdin, stdout, stderr");
		return;
	}
	const unsigned char *h = head + SHUNT_FDRUN_MAGIC_LEN;
	size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
	if (h[0] != SHUNT_FDRUN_REQUEST || len > SHUNT_FDRUN_MAX) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE, "bad request frame");
		return;
	}
	_cleanup_free_ char *body = malloc(len + 1);
	size_t got = 0;
	while (body && got < len) {
		ssize_t r = read(fd, body + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (!body || got < len) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE, "truncated request");
		return;
	}
	body[len] = 0;
	struct shunt_job_ask a;
	const char *cwd = NULL;
	struct shunt_json *jreq = parse_fdrun(body, len, &a, &cwd, msg, sizeof(msg));
	if (!jreq) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE, msg);
		return;
	}
	struct shunt_job j;
	memset(&j, 0, sizeof(j));
	struct stat st;
	int code = 0;
	if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode) || chdir(cwd) < 0) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE,
			     "cwd: not a directory the daemon can enter");
		goto out;
	}
	if (shunt_job_prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
		fdrun_refuse(fd, code == 403 ? SHUNT_FDRUN_REFUSED : SHUNT_FDRUN_UNAVAILABLE, msg);
		goto out;
	}
	/* a warm gVisor sandbox runs its command with stdin /dev/null and its
	 * output through pipes: it fits only a client with no stdin and no
	 * terminal; a microVM carries no stdin either way */
	bool pool_ok = j.l.runtime != SHUNT_RUNTIME_GVISOR ||
		       (fd_is_null(fds[0]) && !isatty(fds[1]) && !isatty(fds[2]));
	snprintf(msg, sizeof(msg), "%s %s", shunt_runtime_name(j.l.runtime),
		 shunt_profile_name(j.l.profile));
	if (shunt_fdrun_send(fd, SHUNT_FDRUN_ACCEPTED, msg, strlen(msg)) < 0)
		goto out;
	j.l.plan.interactive = isatty(fds[0]);
	pid_t handler = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		(void)dprintf(fds[2], "shuntd: fork failed; the command was not run\n");
		(void)shunt_fdrun_send(fd, SHUNT_FDRUN_EXIT, "125 0", 5);
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		/* the run ends with its connection's handler: a client told
		 * "lost" must not have its command go on behind its back */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != handler)
			_exit(125);
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				_exit(125);
		for (int i = 0; i < 3; i++)
			if (fds[i] > 2)
				close(fds[i]);
		close(fd);
		shunt_stats_observe(j.l.runtime, shunt_stats_now() - t0);
		_exit(shunt_job_run(&j, pool_ok));
	}
	bool gone = false;
	int sig = 0;
	int status = fdrun_wait(fd, pid, &gone, &sig);
	if (!gone) {
		int n = snprintf(msg, sizeof(msg), "%d %d", status, sig);
		(void)shunt_fdrun_send(fd, SHUNT_FDRUN_EXIT, msg, (size_t)n);
	}
	shunt_job_audit(&j, status, t0);
out:
	shunt_job_free(&j);
	free(a.argv);
	free(a.env);
	shunt_json_free(jreq);
}
