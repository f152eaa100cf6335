/* The long-lived checker behind the shell hooks (protocol in serve.h). */
#include "serve.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "config.h"
#include "context.h"
#include "policy.h"
#include "split.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct serve_state {
	const struct shunt_serve_opts *o;
	int out;
	struct shunt_ctx ctx;
	bool loaded;
	char *last_cwd; /* the CWD field last applied */
	/* the request being read: 0 id, 1 cwd, 2 line */
	struct shunt_buf field[3];
	bool over[3];
	int cur;
};

static const size_t field_max[3] = {SHUNT_SERVE_ID_MAX, PATH_MAX, SHUNT_SERVE_LINE_MAX};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool id_ok(const struct shunt_buf *b, bool over)
{
	if (over || b->len == 0)
		return false;
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* fast: may use the shim's snapshot. Not after a change was seen: the
 * snapshot's freshness is judged by mtimes, and an edit in the same clock
 * tick as the snapshot's write would go unnoticed. */
static int serve_reload(struct serve_state *s, bool fast, struct shunt_error **err)
{
	if (s->loaded)
		shunt_ctx_free(&s->ctx);
	s->loaded = false;
	if (shunt_ctx_load(&s->ctx, fast ? SHUNT_CTX_FAST : 0, err) < 0)
		return -1;
	s->loaded = true;
	return 0;
}

/* Follows the shell into CWD. The workspace (and so its .shunt.yaml layer)
 * may change with it; then the context is rebuilt. */
static int serve_enter(struct serve_state *s, const char *cwd, struct shunt_error **err)
{
	if (!*cwd || (s->last_cwd && strcmp(cwd, s->last_cwd) == 0))
		return 0;
	if (chdir(cwd) < 0)
		return shunt_error_sys(err, errno, "cannot enter %s", cwd);
	free(s->last_cwd);
	s->last_cwd = strdup(cwd);
	char buf[PATH_MAX];
	if (!s->last_cwd || !getcwd(buf, sizeof(buf)))
		return shunt_error_sys(err, errno ? errno : ENOMEM, "getcwd");
	if (!s->loaded)
		return 0;
	_cleanup_free_ char *ws = shunt_config_workspace_root(buf);
	_cleanup_free_ char *dup = strdup(buf);
	if (!ws || !dup)
		return shunt_error_sys(err, ENOMEM, "out of memory");
	if (strcmp(ws, s->ctx.workspace) != 0)
		return serve_reload(s, true, err);
	free(s->ctx.cwd);
	s->ctx.cwd = steal_pointer(&dup);
	return 0;
}

static int serve_decide(struct serve_state *s, struct shunt_buf *out, struct shunt_error **err)
{
	const char *line = s->field[2].data ? s->field[2].data : "";
	if (s->over[1])
		return shunt_error_set(err, ENAMETOOLONG, "working directory too long");
	if (s->over[2])
		return shunt_error_set(err, E2BIG, "line too long (more than %d bytes)",
				       SHUNT_SERVE_LINE_MAX);
	const char *cwd = s->field[1].data ? s->field[1].data : "";
	char pcwd[PATH_MAX];
	if (!*cwd && s->o->parent > 0) {
		/* the shell's real directory: $PWD can be set to anything */
		char link[64];
		snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)s->o->parent);
		ssize_t n = readlink(link, pcwd, sizeof(pcwd) - 1);
		if (n < 0)
			return shunt_error_sys(err, errno, "cannot read the shell's directory");
		pcwd[n] = '\0';
		cwd = pcwd;
	}
	if (serve_enter(s, cwd, err) < 0)
		return -1;
	if ((!s->loaded || shunt_ctx_inputs_changed(&s->ctx)) && serve_reload(s, false, err) < 0)
		return -1;
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int interactive = s->o->interactive < 0 ? s->ctx.interactive : s->o->interactive;
	int rc =
	    shunt_ctx_decide(&s->ctx, line, NULL, NULL, s->o->source, interactive, &a, &d, err);
	if (rc == 0 && s->o->split && !s->o->json && d.action != SHUNT_ACTION_HOST)
		rc = shunt_split_line(&s->ctx, line, &d, s->o->source, interactive, out, err);
	if (rc == 0) {
		if (s->o->json)
			shunt_decision_json(&d, out);
		else
			shunt_buf_puts(out, shunt_action_name(d.action));
	}
	if (rc > 0)
		rc = 0;
	shunt_arena_release(&a);
	return rc;
}

/* Answers the request just read; -1 when the reply cannot be written. */
static int serve_request(struct serve_state *s)
{
	struct shunt_buf out = {0};
	bool good_id = id_ok(&s->field[0], s->over[0]);
	shunt_buf_append(&out, good_id ? s->field[0].data : "-", good_id ? s->field[0].len : 1);
	shunt_buf_putc(&out, ' ');
	struct shunt_error *e = NULL;
	size_t mark = out.len;
	if (!good_id)
		shunt_error_set(&e, EINVAL, "bad request id");
	else if (serve_decide(s, &out, &e) == 0)
		e = NULL;
	if (e || out.len == mark) {
		out.len = mark;
		shunt_buf_puts(&out, "error ");
		/* one reply line whatever the message holds */
		for (const char *m = e ? e->msg : "no decision"; *m; m++)
			shunt_buf_putc(&out, *m == '\n' || *m == '\r' ? ' ' : *m);
	}
	shunt_error_free(&e);
	/* a split answer ends with its NUL-terminated line */
	if (out.len == 0 || out.data[out.len - 1] != '\0')
		shunt_buf_putc(&out, '\n');
	int rc = out.oom ? write_all(s->out, "- error out of memory\n", 22)
			 : write_all(s->out, out.data, out.len);
	shunt_buf_free(&out);
	for (int i = 0; i < 3; i++) {
		s->field[i].len = 0;
		if (s->field[i].data)
			s->field[i].data[0] = '\0';
		s->over[i] = false;
	}
	s->cur = 0;
	return rc;
}

/* Splits a chunk of input on NULs into the current request's fields. */
static int serve_feed(struct serve_state *s, const char *p, size_t n)
{
	while (n > 0) {
		const char *nul = memchr(p, '\0', n);
		size_t seg = nul ? (size_t)(nul - p) : n;
		struct shunt_buf *f = &s->field[s->cur];
		if (!s->over[s->cur] && f->len + seg <= field_max[s->cur])
			shunt_buf_append(f, p, seg);
		else
			s->over[s->cur] = true; /* keep reading to the NUL, drop the bytes */
		if (f->oom)
			s->over[s->cur] = true;
		p += seg;
		n -= seg;
		if (!nul)
			break;
		p++;
		n--;
		if (++s->cur == 3 && serve_request(s) < 0)
			return -1;
	}
	return 0;
}

/* Ctrl-C or Ctrl-Z at the prompt goes to the terminal's foreground group;
 * a new session keeps us out of it, and the signals are ignored in case
 * we stay in one (setsid fails for a group leader). */
static void serve_detach(void)
{
	(void)setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGPIPE, SIG_IGN); /* a gone reader is EPIPE: exit cleanly */
}

/* Watching the parent: PDEATHSIG when it is our parent, plus a pidfd (bash
 * starts us through a short-lived subshell, so the shell is not always
 * the parent). Returns the pidfd, -1 when unavailable (then poll times
 * out each second to check), -2 when the parent is already gone. */
static int serve_watch(pid_t parent)
{
	if (parent <= 0)
		return -1;
	if (getppid() == parent) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			return -2;
	}
	int fd = (int)syscall(SYS_pidfd_open, parent, 0);
	if (fd < 0 && errno == ESRCH)
		return -2;
	return fd;
}

int shunt_serve_run(int in, int out, const struct shunt_serve_opts *o, struct shunt_error **err)
{
	serve_detach();
	int pidfd = serve_watch(o->parent);
	if (pidfd == -2)
		return 0;
	struct serve_state s = {.o = o, .out = out};
	int rc = 0;
	char hello[64];
	int hn = snprintf(hello, sizeof(hello), "shunt-serve 1 %ld\n", (long)getpid());
	if (write_all(out, hello, (size_t)hn) < 0)
		goto out;
	/* load now, so the first request only pays for its decision */
	struct shunt_error *e = NULL;
	if (serve_reload(&s, true, &e) < 0)
		shunt_error_free(&e); /* answered per request until it loads */
	static char chunk[65536];
	for (;;) {
		struct pollfd pf[2] = {{.fd = in, .events = POLLIN},
				       {.fd = pidfd, .events = POLLIN}};
		int pr = poll(pf, pidfd >= 0 ? 2 : 1, pidfd >= 0 || o->parent <= 0 ? -1 : 1000);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = shunt_error_sys(err, errno, "poll");
			break;
		}
		if (pidfd >= 0 && (pf[1].revents & POLLIN))
			break; /* the shell is gone */
		if (pr == 0) {
			if (kill(o->parent, 0) < 0 && errno == ESRCH)
				break;
			continue;
		}
		ssize_t n = read(in, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* EOF (or a broken stdin): the shell closed its end */
		if (serve_feed(&s, chunk, (size_t)n) < 0)
			break;
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 3; i++)
		shunt_buf_free(&s.field[i]);
	free(s.last_cwd);
	if (s.loaded)
		shunt_ctx_free(&s.ctx);
	return rc;
}
