/* shuntd: the listeners, the accept loop and the routes of a minimal
 * HTTP/1.1 server (one request per connection; httpd.h) on a unix socket
 * and optionally TCP. /v1/run re-checks the command with the daemon's own
 * policy and launches it (job.h), streaming output as framed records. A
 * unix connection that starts with SHUNT_FDRUN_MAGIC is the fd-passing
 * run instead (fdserve.h): same re-check, the client's fds as stdio. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "context.h"
#include "fdserve.h"
#include "httpd.h"
#include "job.h"
#include "json.h"
#include "launch.h"
#include "paths.h"
#include "pool.h"
#include "shuntd.h"
#include "stats.h"

static volatile sig_atomic_t stopping;
static char *token;
static size_t token_len;

char *shunt_shuntd_socket_path(void)
{
	return shunt_launch_socket_path();
}

char *shunt_shuntd_pid_path(void)
{
	return shunt_paths_file(SHUNT_DIR_RUNTIME, "shuntd.pid");
}

bool shunt_shuntd_token_equal(const char *a, size_t la, const char *b, size_t lb)
{
	volatile unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < lb; i++) {
		unsigned char ca = i < la ? (unsigned char)a[i] : 0;
		diff |= (unsigned char)(ca ^ (unsigned char)b[i]);
	}
	return diff == 0;
}

static void respond_error(int fd, int code, const char *msg)
{
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "{\"error\":");
	shunt_buf_json_str(&b, msg, strlen(msg));
	shunt_buf_puts(&b, "}\n");
	shunt_httpd_respond(fd, code, "application/json", b.data);
	shunt_buf_free(&b);
	if (code != 401)
		shunt_stats_rejected();
}

/* Parses and validates {"argv":[...],"cwd":"/abs","profile":"...",
 * "runtime":"..."}. */
static int parse_run(const struct shunt_httpd_request *r, char ***argv_out, char **cwd_out,
		     int *profile, int *runtime, char **ws_out, bool *explicit_run, char *msg,
		     size_t msglen)
{
	struct shunt_error *e = NULL;
	struct shunt_json *j = shunt_json_parse("request", r->body ? r->body : "", r->body_len, &e);
	if (!j) {
		snprintf(msg, msglen, "invalid JSON: %.400s", e ? e->msg : "?");
		shunt_error_free(&e);
		return -1;
	}
	int rc = -1;
	const struct shunt_json *av = shunt_json_get(j, "argv");
	const struct shunt_json *cwd = shunt_json_get(j, "cwd");
	const struct shunt_json *prof = shunt_json_get(j, "profile");
	const struct shunt_json *rtj = shunt_json_get(j, "runtime");
	const struct shunt_json *wsj = shunt_json_get(j, "workspace");
	const struct shunt_json *exj = shunt_json_get(j, "explicit");
	if (j->type != SHUNT_JSON_OBJECT || !av || av->type != SHUNT_JSON_ARRAY || av->len == 0 ||
	    av->len > 4096) {
		snprintf(msg, msglen,
			 "argv: a non-empty array of at most 4096 strings is required");
		goto out;
	}
	for (size_t i = 0; i < j->len; i++)
		if (strcmp(j->keys[i], "argv") && strcmp(j->keys[i], "cwd") &&
		    strcmp(j->keys[i], "profile") && strcmp(j->keys[i], "runtime") &&
		    strcmp(j->keys[i], "workspace") && strcmp(j->keys[i], "explicit")) {
			snprintf(msg, msglen,
				 "unknown field '%.64s' (argv, cwd, profile, runtime, workspace, "
				 "explicit)",
				 j->keys[i]);
			goto out;
		}
	if (wsj && (wsj->type != SHUNT_JSON_STRING || wsj->str[0] != '/' ||
		    strlen(wsj->str) != wsj->len)) {
		snprintf(msg, msglen, "workspace: an absolute path is required");
		goto out;
	}
	if (exj && exj->type != SHUNT_JSON_BOOL) {
		snprintf(msg, msglen, "explicit: true or false");
		goto out;
	}
	*explicit_run = exj && exj->b;
	if (!cwd || cwd->type != SHUNT_JSON_STRING || cwd->str[0] != '/' ||
	    strlen(cwd->str) != cwd->len) {
		snprintf(msg, msglen, "cwd: an absolute path is required");
		goto out;
	}
	*profile = -1;
	if (prof && prof->type != SHUNT_JSON_NULL) {
		if (prof->type != SHUNT_JSON_STRING ||
		    (*profile = shunt_profile_parse(prof->str)) < 0) {
			snprintf(msg, msglen,
				 "profile: READ_ONLY, WORKSPACE_WRITE, SYSTEM_WRITE or GODMODE");
			goto out;
		}
	}
	*runtime = -1;
	if (rtj && rtj->type != SHUNT_JSON_NULL) {
		if (rtj->type != SHUNT_JSON_STRING ||
		    (*runtime = shunt_job_runtime_parse(rtj->str)) < 0) {
			snprintf(msg, msglen,
				 "runtime: process, gvisor, podman, docker or microvm");
			goto out;
		}
	}
	char **argv = calloc(av->len + 1, sizeof(char *));
	if (!argv) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < av->len; i++) {
		const struct shunt_json *s = av->items[i];
		if (s->type != SHUNT_JSON_STRING || strlen(s->str) != s->len ||
		    (i == 0 && s->len == 0)) {
			snprintf(msg, msglen, "argv[%zu]: a string without NUL bytes is required",
				 i);
			shunt_job_free_argv(argv);
			goto out;
		}
		argv[i] = strdup(s->str);
		if (!argv[i]) {
			shunt_job_free_argv(argv);
			snprintf(msg, msglen, "out of memory");
			goto out;
		}
	}
	*cwd_out = strdup(cwd->str);
	*ws_out = wsj ? strdup(wsj->str) : NULL;
	*argv_out = argv;
	rc = 0;
out:
	shunt_json_free(j);
	return rc;
}

/* Streams the grandchild's stdout/stderr, then its exit code. */
static int stream(int fd, pid_t pid, int outfd, int errfd)
{
	struct pollfd p[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
	int open_fds = 2;
	char buf[16384];
	bool gone = false;
	while (open_fds > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			if (!gone && shunt_httpd_send_record(
					 fd, i ? SHUNT_SHUNTD_REC_STDERR : SHUNT_SHUNTD_REC_STDOUT,
					 buf, (size_t)n) < 0) {
				gone = true; /* client went away: stop the command */
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
			}
		}
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (gone)
		return code;
	char c[16];
	int n = snprintf(c, sizeof(c), "%d", code);
	if (shunt_httpd_send_record(fd, SHUNT_SHUNTD_REC_EXIT, c, (size_t)n) == 0)
		(void)shunt_httpd_write_all(fd, "0\r\n\r\n", 5);
	return code;
}

static void handle_run(int fd, const struct shunt_httpd_request *r, double t0, bool tcp)
{
	char msg[512];
	char **argv = NULL;
	char *cwd = NULL, *ws = NULL;
	int want = -1, want_rt = -1, code = 0;
	bool explicit_run = false;
	if (parse_run(r, &argv, &cwd, &want, &want_rt, &ws, &explicit_run, msg, sizeof(msg)) < 0) {
		respond_error(fd, 400, msg);
		return;
	}
	struct stat st;
	if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode) || chdir(cwd) < 0) {
		respond_error(fd, 400, "cwd: not a directory the daemon can enter");
		shunt_job_free_argv(argv);
		free(cwd);
		return;
	}
	struct shunt_job j;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	/* only a local client is our uid: a remote one gets our policy */
	struct shunt_job_ask a = {.argv = argv,
				  .source = SHUNT_SOURCE_CLI,
				  .profile = want,
				  .runtime = want_rt,
				  .workspace = ws,
				  .explicit_run = explicit_run && !tcp};
	if (shunt_job_prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
		respond_error(fd, code, msg);
		goto out;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		respond_error(fd, 500, "pipe failed");
		goto out;
	}
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-shunt-stream\r\n"
				   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	if (shunt_httpd_write_all(fd, head, sizeof(head) - 1) < 0)
		goto out;
	pid_t pid = fork();
	if (pid < 0) {
		(void)shunt_httpd_send_record(fd, SHUNT_SHUNTD_REC_STDERR, "shuntd: fork failed\n",
					      20);
		(void)shunt_httpd_send_record(fd, SHUNT_SHUNTD_REC_EXIT, "125", 3);
		(void)shunt_httpd_write_all(fd, "0\r\n\r\n", 5);
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(125);
		close(fd);
		shunt_stats_observe(j.l.runtime, shunt_stats_now() - t0);
		_exit(shunt_job_run(&j, true));
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	int status = stream(fd, pid, outp[0], errp[0]);
	outp[0] = errp[0] = -1;
	shunt_job_audit(&j, status, t0);
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	shunt_job_free(&j);
	shunt_job_free_argv(argv);
	free(cwd);
	free(ws);
}

static void handle(int fd, bool tcp)
{
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct shunt_httpd_request *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	size_t pre = 0;
	if (!tcp) {
		/* the local fd-passing run shares the unix socket */
		int fds[SHUNT_FDS_MAX], nfds = 0;
		bool fdrun = shunt_fdserve_recv_first(fd, r->head, &pre, fds, &nfds);
		if (fdrun) {
			shunt_stats_request();
			shunt_fdserve_handle(fd, (unsigned char *)r->head, fds, nfds);
		}
		for (int i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (fdrun)
			goto out;
	}
	int code = shunt_httpd_read_request(fd, r, pre);
	double t0 = shunt_stats_now();
	shunt_stats_request();
	if (tcp) {
		/* before anything else: no detail leaks to the unauthenticated */
		const char *a = code == 0 ? r->auth : NULL;
		bool okay = a && strncmp(a, "Bearer ", 7) == 0 &&
			    shunt_shuntd_token_equal(a + 7, strlen(a + 7), token, token_len);
		if (!okay) {
			shunt_stats_unauthorized();
			shunt_httpd_respond(fd, 401, NULL, NULL);
			goto out;
		}
	}
	if (code) {
		respond_error(fd, code, shunt_httpd_reason(code));
		goto out;
	}
	bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (strcmp(r->path, "/v1/health") == 0) {
		if (!get) {
			respond_error(fd, 405, "use GET");
			goto out;
		}
		char body[128];
		snprintf(body, sizeof(body), "{\"status\":\"ok\",\"pid\":%ld,\"version\":\"%s\"}\n",
			 (long)getppid(), SHUNT_VERSION);
		shunt_httpd_respond(fd, 200, "application/json", body);
	} else if (strcmp(r->path, "/v1/pools") == 0) {
		if (!get) {
			respond_error(fd, 405, "use GET");
			goto out;
		}
		struct shunt_buf b = {0};
		shunt_pool_json(&b);
		shunt_httpd_respond(fd, 200, "application/json", b.data);
		shunt_buf_free(&b);
	} else if (strcmp(r->path, "/metrics") == 0) {
		if (!get) {
			respond_error(fd, 405, "use GET");
			goto out;
		}
		struct shunt_buf b = {0};
		shunt_stats_text(&b);
		shunt_pool_metrics(&b);
		shunt_httpd_respond(fd, 200, "text/plain; version=0.0.4", b.data);
		shunt_buf_free(&b);
	} else if (strcmp(r->path, "/v1/run") == 0) {
		if (!post)
			respond_error(fd, 405, "use POST");
		else if (r->content_length < 0)
			respond_error(fd, 411, "Content-Length required");
		else
			handle_run(fd, r, t0, tcp);
	} else {
		respond_error(fd, 404,
			      "no such endpoint (/v1/health, /v1/run, /v1/pools, /metrics)");
	}
out:
	free(r->body);
	free(r);
}

static void on_stop(int sig)
{
	stopping = 1;
}

static int load_token(const char *path, struct shunt_error **err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return shunt_error_sys(err, errno, "--auth-token-file %s", path);
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		return shunt_error_set(
		    err, EPERM, "--auth-token-file %s is readable by others; chmod 600 it", path);
	}
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (n < 16)
		return shunt_error_set(
		    err, EINVAL, "--auth-token-file %s: the token must be at least 16 characters",
		    path);
	token = strdup(buf);
	token_len = n;
	return token ? 0 : shunt_error_set(err, ENOMEM, "out of memory");
}

int shunt_shuntd_serve(const struct shunt_shuntd_opts *o, struct shunt_error **err)
{
	_cleanup_free_ char *def = NULL;
	const char *path = o->socket_path;
	if (!path && !(path = def = shunt_shuntd_socket_path()))
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (o->tcp && !o->token_file)
		return shunt_error_set(err, EINVAL, "--listen needs --auth-token-file");
	if (o->tcp && load_token(o->token_file, err) < 0)
		return -1;
	if (shunt_stats_init(err) < 0)
		return -1;
	/* pool sizes come from the daemon's own configuration */
	struct shunt_ctx pctx;
	if (shunt_ctx_load(&pctx, SHUNT_CTX_NO_SNAPSHOT, err) < 0)
		return shunt_error_prefix(err, "loading the configuration: ");
	int prc = shunt_pool_init(pctx.cfg.pool_size, err);
	shunt_ctx_free(&pctx);
	if (prc < 0)
		return -1;
	int ufd = shunt_httpd_listen_unix(path, err);
	if (ufd < 0)
		return -1;
	int tfd = -1;
	if (o->tcp && (tfd = shunt_httpd_listen_tcp(o->tcp, err)) < 0) {
		close(ufd);
		unlink(path);
		return -1;
	}
	if (o->pidfile) {
		FILE *f = fopen(o->pidfile, "we");
		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct pollfd p[2] = {{.fd = ufd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
	int active = 0;
	pid_t flush_pid = 0;
	double next_flush = shunt_stats_now() + (o->flush_interval ? 1 : 0);
	while (!stopping) {
		pid_t w;
		int wst = 0;
		while ((w = waitpid(-1, &wst, WNOHANG)) > 0) {
			if (shunt_pool_reaped(w, wst))
				continue;
			if (w == flush_pid)
				flush_pid = 0;
			else
				active--;
		}
		if (o->flush_interval && !flush_pid && shunt_stats_now() >= next_flush) {
			/* audit forwarding runs here, never on the shim's path */
			next_flush = shunt_stats_now() + o->flush_interval;
			flush_pid = fork();
			if (flush_pid == 0) {
				close(ufd);
				if (tfd >= 0)
					close(tfd);
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGPIPE, SIG_DFL);
				execl("/proc/self/exe", "shunt", "audit", "flush", (char *)NULL);
				_exit(127);
			}
			if (flush_pid < 0)
				flush_pid = 0;
		}
		int n = poll(p, tfd >= 0 ? 2 : 1, shunt_pool_tick());
		if (n <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & POLLIN))
				continue;
			int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			if (active >= SHUNT_SHUNTD_MAX_CLIENTS) {
				/* over the cap: refuse rather than fork without bound */
				static const char busy[] =
				    "HTTP/1.1 503 Service Unavailable\r\n"
				    "Content-Length: 0\r\nConnection: close\r\n\r\n";
				(void)!write(c, busy, sizeof(busy) - 1);
				close(c);
				continue;
			}
			pid_t pid = fork();
			if (pid > 0)
				active++;
			if (pid == 0) {
				close(ufd);
				if (tfd >= 0)
					close(tfd);
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				/* the daemon's wake-up handler would only make the
				 * runners' blocking calls fail with EINTR */
				signal(SIGCHLD, SIG_DFL);
				handle(c, i == 1);
				shutdown(c, SHUT_WR);
				close(c);
				_exit(0);
			}
			close(c);
		}
	}
	close(ufd);
	if (tfd >= 0)
		close(tfd);
	shunt_pool_stop();
	unlink(path);
	if (o->pidfile)
		unlink(o->pidfile);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}
