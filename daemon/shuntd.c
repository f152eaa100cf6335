/* shuntd: a minimal HTTP/1.1 server (one request per connection) on a
 * unix socket and optionally TCP. /v1/run re-decides the command with the
 * daemon's own policy, builds the plan with shunt_plan_build and runs it
 * with shunt_runner_get's runner, streaming output as framed records. A
 * unix connection that starts with SHUNT_FDRUN_MAGIC is the fd-passing
 * run instead (fdrun.h): same decision, the client's fds as stdio. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "cleanup.h"
#include "context.h"
#include "fdrun.h"
#include "forward.h"
#include "json.h"
#include "paths.h"
#include "pool.h"
#include "record.h"
#include "launch.h"
#include "runner.h"
#include "shuntd.h"

extern char **environ;

#define NRT 7 /* enum shunt_runtime values */
static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* Shared between the daemon and its per-connection children. */
struct metrics {
	atomic_ulong requests;
	atomic_ulong unauthorized;
	atomic_ulong rejected; /* blocked / not granted / bad request */
	atomic_ulong runs[NRT];
	atomic_ulong lat_bucket[NRT][NBUCKETS];
	atomic_ulong lat_count[NRT];
	atomic_ulong lat_sum_us[NRT];
};

static struct metrics *M;
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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	default:
		return "Error";
	}
}

static void respond(int fd, int code, const char *ctype, const char *body)
{
	struct shunt_buf b = {0};
	size_t n = body ? strlen(body) : 0;
	shunt_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n", code,
			 reason(code), n);
	if (n)
		shunt_buf_printf(&b, "Content-Type: %s\r\n", ctype);
	shunt_buf_puts(&b, "\r\n");
	if (n)
		shunt_buf_append(&b, body, n);
	if (b.data)
		(void)write_all(fd, b.data, b.len);
	shunt_buf_free(&b);
}

static void respond_error(int fd, int code, const char *msg)
{
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "{\"error\":");
	shunt_buf_json_str(&b, msg, strlen(msg));
	shunt_buf_puts(&b, "}\n");
	respond(fd, code, "application/json", b.data);
	shunt_buf_free(&b);
	if (code != 401)
		atomic_fetch_add(&M->rejected, 1);
}

struct request {
	char method[8];
	char path[128];
	long content_length;
	bool chunked;
	char *auth; /* Authorization value (points into head) */
	char head[SHUNT_SHUNTD_MAX_HEADER + 1];
	char *body;
	size_t body_len;
};

/* Reads and validates one request whose first n bytes are already in
 * r->head. Returns 0, or an HTTP status to answer. */
static int read_request(int fd, struct request *r, size_t n)
{
	char *end = NULL;
	r->head[n] = 0;
	if (memchr(r->head, 0, n))
		return 400;
	end = strstr(r->head, "\r\n\r\n");
	while (!end) {
		if (n >= SHUNT_SHUNTD_MAX_HEADER)
			return 431;
		ssize_t got = read(fd, r->head + n, SHUNT_SHUNTD_MAX_HEADER - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? 408 : 400;
		if (got == 0)
			return 400;
		n += (size_t)got;
		r->head[n] = 0;
		if (memchr(r->head, 0, n))
			return 400;
		end = strstr(r->head, "\r\n\r\n");
	}
	size_t hlen = (size_t)(end - r->head) + 4;
	size_t extra = n - hlen;
	*end = 0;

	char *save = NULL;
	char *line = strtok_r(r->head, "\r\n", &save);
	if (!line)
		return 400;
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(r->method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(r->path) || strcmp(sp2 + 1, "HTTP/1.1") != 0)
		return 400;
	memcpy(r->method, line, (size_t)(sp1 - line));
	memcpy(r->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->content_length = -1;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		char *colon = strchr(line, ':');
		if (!colon)
			return 400;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Length") == 0) {
			char *e;
			errno = 0;
			long cl = strtol(v, &e, 10);
			if (errno || e == v || *e || cl < 0)
				return 400;
			if (cl > SHUNT_SHUNTD_MAX_BODY)
				return 413;
			r->content_length = cl;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			r->chunked = true;
		} else if (strcasecmp(line, "Authorization") == 0) {
			r->auth = v;
		}
	}
	if (r->chunked)
		return 411; /* bodies must have a Content-Length */
	if (r->content_length <= 0)
		return 0;
	if (extra > (size_t)r->content_length)
		return 400;
	r->body = malloc((size_t)r->content_length + 1);
	if (!r->body)
		return 500;
	memcpy(r->body, end + 4, extra);
	r->body_len = extra;
	while (r->body_len < (size_t)r->content_length) {
		ssize_t got =
		    read(fd, r->body + r->body_len, (size_t)r->content_length - r->body_len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 && errno == EAGAIN ? 408 : 400;
		r->body_len += (size_t)got;
	}
	r->body[r->body_len] = 0;
	return 0;
}

static void metrics_text(struct shunt_buf *b)
{
	shunt_buf_puts(b, "# HELP shuntd_requests_total HTTP requests received.\n"
			  "# TYPE shuntd_requests_total counter\n");
	shunt_buf_printf(b, "shuntd_requests_total %lu\n", atomic_load(&M->requests));
	shunt_buf_puts(b, "# HELP shuntd_unauthorized_total Requests refused with 401.\n"
			  "# TYPE shuntd_unauthorized_total counter\n");
	shunt_buf_printf(b, "shuntd_unauthorized_total %lu\n", atomic_load(&M->unauthorized));
	shunt_buf_puts(
	    b, "# HELP shuntd_rejected_total Requests refused (invalid, blocked, not granted).\n"
	       "# TYPE shuntd_rejected_total counter\n");
	shunt_buf_printf(b, "shuntd_rejected_total %lu\n", atomic_load(&M->rejected));
	_cleanup_free_ char *spool = shunt_forward_spool_dir();
	shunt_buf_puts(b, "# HELP shuntd_audit_dropped_total Audit records dropped from the "
			  "forwarding spool to keep it under audit.forward.spool_max.\n"
			  "# TYPE shuntd_audit_dropped_total counter\n");
	shunt_buf_printf(b, "shuntd_audit_dropped_total %llu\n",
			 spool ? shunt_forward_dropped(spool) : 0ull);
	shunt_buf_puts(b, "# HELP shuntd_runs_total Commands handed to a runner, by runtime.\n"
			  "# TYPE shuntd_runs_total counter\n");
	for (int rt = 0; rt < NRT; rt++)
		if (shunt_runner_get((enum shunt_runtime)rt) || atomic_load(&M->runs[rt]))
			shunt_buf_printf(b, "shuntd_runs_total{runtime=\"%s\"} %lu\n",
					 shunt_runtime_name(rt), atomic_load(&M->runs[rt]));
	shunt_buf_puts(
	    b, "# HELP shuntd_start_latency_seconds Time from a complete request to the plan "
	       "being handed to the runner (decide, plan, fork).\n"
	       "# TYPE shuntd_start_latency_seconds histogram\n");
	for (int rt = 0; rt < NRT; rt++) {
		if (!shunt_runner_get((enum shunt_runtime)rt) && !atomic_load(&M->lat_count[rt]))
			continue;
		const char *name = shunt_runtime_name(rt);
		for (size_t i = 0; i < NBUCKETS; i++)
			shunt_buf_printf(
			    b,
			    "shuntd_start_latency_seconds_bucket{runtime=\"%s\",le=\"%g\"} %lu\n",
			    name, buckets[i], atomic_load(&M->lat_bucket[rt][i]));
		shunt_buf_printf(
		    b, "shuntd_start_latency_seconds_bucket{runtime=\"%s\",le=\"+Inf\"} %lu\n",
		    name, atomic_load(&M->lat_count[rt]));
		shunt_buf_printf(b, "shuntd_start_latency_seconds_sum{runtime=\"%s\"} %.6f\n", name,
				 (double)atomic_load(&M->lat_sum_us[rt]) / 1e6);
		shunt_buf_printf(b, "shuntd_start_latency_seconds_count{runtime=\"%s\"} %lu\n",
				 name, atomic_load(&M->lat_count[rt]));
	}
}

static void observe_latency(int rt, double secs)
{
	if (rt < 0 || rt >= NRT)
		return;
	atomic_fetch_add(&M->runs[rt], 1);
	for (size_t i = 0; i < NBUCKETS; i++)
		if (secs <= buckets[i])
			atomic_fetch_add(&M->lat_bucket[rt][i], 1);
	atomic_fetch_add(&M->lat_count[rt], 1);
	atomic_fetch_add(&M->lat_sum_us[rt], (unsigned long)(secs * 1e6));
}

/* One chunk holding one record. */
static int send_record(int fd, char type, const char *p, size_t n)
{
	char hdr[32];
	int h = snprintf(hdr, sizeof(hdr), "%zx\r\n%c%c%c%c%c", n + 5, type, (char)(n >> 24),
			 (char)(n >> 16), (char)(n >> 8), (char)n);
	if (write_all(fd, hdr, (size_t)h) < 0 || (n && write_all(fd, p, n) < 0) ||
	    write_all(fd, "\r\n", 2) < 0)
		return -1;
	return 0;
}

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* A runtime a client may ask for (sandboxing ones only), or -1. */
static int runtime_parse(const char *s)
{
	static const enum shunt_runtime ok[] = {SHUNT_RUNTIME_PROCESS, SHUNT_RUNTIME_GVISOR,
						SHUNT_RUNTIME_PODMAN, SHUNT_RUNTIME_DOCKER,
						SHUNT_RUNTIME_MICROVM};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (strcmp(s, shunt_runtime_name(ok[i])) == 0)
			return (int)ok[i];
	return -1;
}

/* Parses and validates {"argv":[...],"cwd":"/abs","profile":"...",
 * "runtime":"..."}. */
static int parse_run(const struct request *r, char ***argv_out, char **cwd_out, int *profile,
		     int *runtime, char **ws_out, bool *explicit_run, char *msg, size_t msglen)
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
		if (rtj->type != SHUNT_JSON_STRING || (*runtime = runtime_parse(rtj->str)) < 0) {
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
			free_argv(argv);
			goto out;
		}
		argv[i] = strdup(s->str);
		if (!argv[i]) {
			free_argv(argv);
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
			if (!gone &&
			    send_record(fd, i ? SHUNT_SHUNTD_REC_STDERR : SHUNT_SHUNTD_REC_STDOUT,
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
	if (send_record(fd, SHUNT_SHUNTD_REC_EXIT, c, (size_t)n) == 0)
		(void)write_all(fd, "0\r\n\r\n", 5);
	return code;
}

static bool stricter_or_equal(int want, int granted)
{
	return want >= 0 && want <= granted;
}

struct job {
	struct shunt_ctx ctx;
	struct shunt_arena arena;
	struct shunt_decision d;
	struct shunt_plan_opts opts;
	struct shunt_launch l; /* l.plan, l.runner, l.runtime, l.profile */
	enum shunt_source source;
	char *cmdline;
	char **env;
	bool have_ctx;
};

/* What a client asks the daemon to run (strings borrowed). */
struct ask {
	char **argv;	   /* or NULL with line */
	const char *line;  /* runs as `shell -c line` */
	const char *shell; /* with line */
	char **env;	   /* the client's environment, NULL: the daemon's */
	enum shunt_source source;
	int profile, runtime;  /* -1: the policy's */
	bool approved;	       /* the client's prompt was answered "sandbox" */
	const char *workspace; /* NULL: the one of cwd */
	bool explicit_run;     /* `shunt run` from our uid: granted as in-process */
};

static void job_free(struct job *j)
{
	shunt_launch_free(&j->l);
	free(j->env);
	if (j->have_ctx) {
		shunt_arena_release(&j->arena);
		shunt_ctx_free(&j->ctx);
	}
	free(j->cmdline);
}

/* Variables the plan builder reads for itself: the daemon's, not a
 * client's. */
static bool daemon_owned(const char *kv)
{
	return strncmp(kv, "HOME=", 5) == 0 || strncmp(kv, "TMPDIR=", 7) == 0 ||
	       strncmp(kv, "XDG_", 4) == 0 || strncmp(kv, "SHUNT_", 6) == 0;
}

/* The client's environment with daemon_owned() variables replaced by
 * ours (strings borrowed; the array is malloc'd, NULL on OOM). */
static char **mix_env(char **client)
{
	size_t n = 0, k = 0;
	for (char **e = client; *e; e++)
		n++;
	for (char **e = environ; e && *e; e++)
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (char **e = client; *e; e++)
		if (!daemon_owned(*e))
			v[k++] = *e;
	for (char **e = environ; e && *e; e++)
		if (daemon_owned(*e))
			v[k++] = *e;
	return v;
}

/* Decides the command with this process's own policy (loaded for the
 * current directory) and builds the plan. On refusal returns -1 with an
 * HTTP status in *code (403: the policy refuses) and the reason in msg;
 * refusals are audited. */
static int prepare(struct job *j, const struct ask *a, int *code, char *msg, size_t msglen)
{
	memset(j, 0, sizeof(*j));
	j->source = a->source;
	int want = a->profile, want_rt = a->runtime;
	struct shunt_buf cl = {0};
	if (a->line)
		shunt_buf_puts(&cl, a->line);
	for (char **v = a->line ? NULL : a->argv; v && *v; v++) {
		if (v != a->argv)
			shunt_buf_putc(&cl, ' ');
		shunt_buf_puts(&cl, *v);
	}
	j->cmdline = cl.oom ? NULL : shunt_buf_steal(&cl);
	shunt_buf_free(&cl);
	*code = 500;
	if (!j->cmdline) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	struct shunt_error *err = NULL;
	/* the policy of the workspace asked for (its .shunt.yaml), as
	 * in-process; then back to the client's directory */
	char here[PATH_MAX];
	bool moved = a->workspace && getcwd(here, sizeof(here)) && chdir(a->workspace) == 0;
	int lrc = shunt_ctx_load(&j->ctx, SHUNT_CTX_NO_SNAPSHOT, &err);
	if (moved && chdir(here) < 0) {
		snprintf(msg, msglen, "cwd: cannot go back to %.400s", here);
		if (lrc == 0)
			shunt_ctx_free(&j->ctx);
		shunt_error_free(&err);
		return -1;
	}
	if (lrc < 0) {
		snprintf(msg, msglen, "loading policy: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		return -1;
	}
	j->have_ctx = true;
	shunt_arena_init_heap(&j->arena);
	/* our own decision; nobody is at a terminal here, except that a
	 * client may say its human chose "sandbox" at a prompt */
	if (shunt_ctx_decide(&j->ctx, a->line, NULL, a->line ? NULL : a->argv, j->source,
			     a->approved, &j->arena, &j->d, &err) < 0) {
		snprintf(msg, msglen, "deciding: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		*code = 400;
		return -1;
	}
	/* an approved prompt may run sandboxed (never on the host): a client
	 * of this uid could have answered "y" and run it unsandboxed */
	if (j->d.action == SHUNT_ACTION_BLOCK ||
	    (j->d.action == SHUNT_ACTION_PROMPT && !a->approved)) {
		snprintf(msg, msglen, "%s by policy: %s",
			 j->d.action == SHUNT_ACTION_BLOCK ? "blocked"
							   : "needs approval (no prompt here)",
			 j->d.why);
		shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
		*code = 403;
		return -1;
	}
	/* host-decided commands still run sandboxed here, in the default
	 * profile; the client may only ask for an equal or stricter one,
	 * except `shunt run` from our own uid: it may run any profile
	 * in-process, so it gets here what it would get there */
	int granted = j->d.profile >= 0 ? j->d.profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	int profile = granted;
	if (want >= 0) {
		if (!a->explicit_run && !stricter_or_equal(want, granted)) {
			snprintf(msg, msglen, "profile %s not granted by policy (at most %s)",
				 shunt_profile_name(want), shunt_profile_name(granted));
			shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
			*code = 403;
			return -1;
		}
		profile = want;
	}
	/* the command's variables come from the client's environment,
	 * filtered by our sandbox.env_whitelist; what shapes the sandbox
	 * (HOME: the secrets hidden; XDG_*, SHUNT_*) stays ours. The runners
	 * run with our environment. */
	if (a->env && !(j->env = mix_env(a->env))) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	j->opts = (struct shunt_plan_opts){.profile = profile,
					   .runtime = want_rt,
					   .workspace = a->workspace,
					   .network = -1,
					   .timeout = -1,
					   .mem_bytes = -1,
					   .cpus = -1,
					   .uid = -1,
					   .gid = -1};
	char *line_argv[] = {(char *)(a->shell ? a->shell : "/bin/sh"), "-c", (char *)a->line,
			     NULL};
	/* never a runtime weaker than our map (an isolation floor, for every
	 * client): the client chose with the same map, so only a client
	 * under another policy meets it */
	j->l = (struct shunt_launch){.cfg = &j->ctx.cfg,
				     .opts = &j->opts,
				     .argv = a->line ? line_argv : a->argv,
				     .env = j->env,
				     .gvisor_available = j->ctx.policy.gvisor_available,
				     .runtime_floor = true,
				     .no_daemon = true};
	if (shunt_launch_choose(&j->l, &err) < 0) {
		snprintf(msg, msglen, "%.480s", err ? err->msg : "no runner");
		if (err && err->exitcode == 126) {
			shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
			*code = 403;
		} else {
			shunt_record_unrun(&j->ctx, j->source, j->cmdline, &j->d, j->l.unrun);
		}
		shunt_error_free(&err);
		return -1;
	}
	if (shunt_launch_plan(&j->l, &err) < 0) {
		snprintf(msg, msglen, "plan: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		shunt_record_unrun(&j->ctx, j->source, j->cmdline, &j->d, "bad-plan");
		return -1;
	}
	j->l.plan.interactive = false;
	return 0;
}

static int pool_warm(void *ud, const struct shunt_launch *l, bool *used, bool *cold, int *status,
		     struct shunt_error **err)
{
	return shunt_pool_run(&l->plan, used, cold, status, err);
}

static void pool_cold_done(void *ud)
{
	shunt_pool_cold_done();
}

/* Runs the prepared plan in this process's stdio (exit code as from a
 * runner: 124 timeout, 125 setup failed). pool_ok false: always cold. */
static int job_run(struct job *j, bool pool_ok)
{
	int status = 0;
	struct shunt_error *rerr = NULL;
	struct shunt_launch_ops ops = {.warm = pool_ok ? pool_warm : NULL,
				       .cold_done = pool_cold_done};
	int rc = shunt_launch_exec(&j->l, &ops, &status, &rerr);
	if (rc < 0) {
		dprintf(2, "shunt: cannot sandbox: %s\nshunt: the command was not run\n",
			rerr ? rerr->msg : "runner failed");
		status = rerr && rerr->exitcode ? rerr->exitcode : 125;
	} else if (rc == 1) {
		dprintf(2, "shunt: timed out after %u s\n", j->l.plan.timeout);
		status = 124;
	}
	shunt_error_free(&rerr);
	return status & 0xff;
}

static void job_audit(struct job *j, int status, double t0)
{
	j->d.profile = j->l.profile;
	j->d.runtime = j->l.runtime;
	shunt_record_sandbox(&j->ctx, j->source, j->cmdline, &j->d, &j->l.plan, status,
			     (long long)((now_s() - t0) * 1000), false, false);
}

int shunt_shuntd_run_local(char **argv, int profile, int runtime, struct shunt_error **err)
{
	double t0 = now_s();
	char msg[512];
	int code = 0;
	struct job j;
	struct ask a = {
	    .argv = argv, .source = SHUNT_SOURCE_CLI, .profile = profile, .runtime = runtime};
	if (prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
		job_free(&j);
		shunt_error_set(err, code == 403 ? EPERM : EINVAL, "%s", msg);
		(*err)->exitcode = code == 403 ? 126 : code == 400 ? 2 : 125;
		return -1;
	}
	int status = job_run(&j, true);
	job_audit(&j, status, t0);
	job_free(&j);
	return status;
}

static void handle_run(int fd, const struct request *r, double t0, bool tcp)
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
		free_argv(argv);
		free(cwd);
		return;
	}
	struct job j;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	/* only a local client is our uid: a remote one gets our policy */
	struct ask a = {.argv = argv,
			.source = SHUNT_SOURCE_CLI,
			.profile = want,
			.runtime = want_rt,
			.workspace = ws,
			.explicit_run = explicit_run && !tcp};
	if (prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
		respond_error(fd, code, msg);
		goto out;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		respond_error(fd, 500, "pipe failed");
		goto out;
	}
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-shunt-stream\r\n"
				   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	if (write_all(fd, head, sizeof(head) - 1) < 0)
		goto out;
	pid_t pid = fork();
	if (pid < 0) {
		(void)send_record(fd, SHUNT_SHUNTD_REC_STDERR, "shuntd: fork failed\n", 20);
		(void)send_record(fd, SHUNT_SHUNTD_REC_EXIT, "125", 3);
		(void)write_all(fd, "0\r\n\r\n", 5);
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(125);
		close(fd);
		observe_latency(j.l.runtime, now_s() - t0);
		_exit(job_run(&j, true));
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	int status = stream(fd, pid, outp[0], errp[0]);
	outp[0] = errp[0] = -1;
	job_audit(&j, status, t0);
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	job_free(&j);
	free_argv(argv);
	free(cwd);
	free(ws);
}

#define SHUNT_FDS_MAX 8 /* fds taken from one message; more is a bad request */

/* Reads the first bytes of a unix connection with any fds passed along.
 * True when they are the fd-passing magic and a request frame header
 * (head then holds those 13 bytes); false for HTTP (head holds *n bytes
 * to continue from; the caller closes any fds). */
static bool recv_first(int fd, char *head, size_t *n, int fds[SHUNT_FDS_MAX], int *nfds)
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
	atomic_fetch_add(&M->rejected, 1);
}

/* Parses the fd-passing request (see fdrun.h) into *a; strings point into
 * the returned JSON tree, env/argv are malloc'd arrays of borrowed
 * strings. NULL with msg on error. */
static struct shunt_json *parse_fdrun(const char *body, size_t len, struct ask *a, const char **cwd,
				      char *msg, size_t msglen)
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
	    (rt && (a->runtime = runtime_parse(rt)) < 0)) {
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
static void handle_fdrun(int fd, const unsigned char *head, const int *fds, int nfds)
{
	double t0 = now_s();
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
	struct ask a;
	const char *cwd = NULL;
	struct shunt_json *jreq = parse_fdrun(body, len, &a, &cwd, msg, sizeof(msg));
	if (!jreq) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE, msg);
		return;
	}
	struct job j;
	memset(&j, 0, sizeof(j));
	struct stat st;
	int code = 0;
	if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode) || chdir(cwd) < 0) {
		fdrun_refuse(fd, SHUNT_FDRUN_UNAVAILABLE,
			     "cwd: not a directory the daemon can enter");
		goto out;
	}
	if (prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
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
		observe_latency(j.l.runtime, now_s() - t0);
		_exit(job_run(&j, pool_ok));
	}
	bool gone = false;
	int sig = 0;
	int status = fdrun_wait(fd, pid, &gone, &sig);
	if (!gone) {
		int n = snprintf(msg, sizeof(msg), "%d %d", status, sig);
		(void)shunt_fdrun_send(fd, SHUNT_FDRUN_EXIT, msg, (size_t)n);
	}
	job_audit(&j, status, t0);
out:
	job_free(&j);
	free(a.argv);
	free(a.env);
	shunt_json_free(jreq);
}

static void handle(int fd, bool tcp)
{
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct request *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	size_t pre = 0;
	if (!tcp) {
		/* the local fd-passing run shares the unix socket */
		int fds[SHUNT_FDS_MAX], nfds = 0;
		bool fdrun = recv_first(fd, r->head, &pre, fds, &nfds);
		if (fdrun) {
			atomic_fetch_add(&M->requests, 1);
			handle_fdrun(fd, (unsigned char *)r->head, fds, nfds);
		}
		for (int i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (fdrun)
			goto out;
	}
	int code = read_request(fd, r, pre);
	double t0 = now_s();
	atomic_fetch_add(&M->requests, 1);
	if (tcp) {
		/* before anything else: no detail leaks to the unauthenticated */
		const char *a = code == 0 ? r->auth : NULL;
		bool okay = a && strncmp(a, "Bearer ", 7) == 0 &&
			    shunt_shuntd_token_equal(a + 7, strlen(a + 7), token, token_len);
		if (!okay) {
			atomic_fetch_add(&M->unauthorized, 1);
			respond(fd, 401, NULL, NULL);
			goto out;
		}
	}
	if (code) {
		respond_error(fd, code, reason(code));
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
		respond(fd, 200, "application/json", body);
	} else if (strcmp(r->path, "/v1/pools") == 0) {
		if (!get) {
			respond_error(fd, 405, "use GET");
			goto out;
		}
		struct shunt_buf b = {0};
		shunt_pool_json(&b);
		respond(fd, 200, "application/json", b.data);
		shunt_buf_free(&b);
	} else if (strcmp(r->path, "/metrics") == 0) {
		if (!get) {
			respond_error(fd, 405, "use GET");
			goto out;
		}
		struct shunt_buf b = {0};
		metrics_text(&b);
		shunt_pool_metrics(&b);
		respond(fd, 200, "text/plain; version=0.0.4", b.data);
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

static int listen_unix(const char *path, struct shunt_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return shunt_error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return shunt_error_sys(err, errno, "creating %s", dir);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shunt_error_sys(err, errno, "socket");
	/* a live daemon answers; a stale socket file is replaced */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return shunt_error_set(err, EADDRINUSE, "a daemon is already listening on %s",
				       path);
	}
	unlink(path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return shunt_error_sys(err, e, "listening on %s", path);
	}
	return fd;
}

static int listen_tcp(const char *spec, struct shunt_error **err)
{
	_cleanup_free_ char *host = strdup(spec);
	if (!host)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *colon = strrchr(host, ':');
	if (!colon || colon == host || !colon[1])
		return shunt_error_set(err, EINVAL, "--listen: HOST:PORT, not '%s'", spec);
	*colon = 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, colon + 1, &hints, &ai);
	if (g)
		return shunt_error_set(err, EINVAL, "--listen %s: %s", spec, gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return shunt_error_sys(err, e, "listening on %s", spec);
	}
	freeaddrinfo(ai);
	return fd;
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
	M = mmap(NULL, sizeof(*M), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (M == MAP_FAILED)
		return shunt_error_sys(err, errno, "mmap");
	/* pool sizes come from the daemon's own configuration */
	struct shunt_ctx pctx;
	if (shunt_ctx_load(&pctx, SHUNT_CTX_NO_SNAPSHOT, err) < 0)
		return shunt_error_prefix(err, "loading the configuration: ");
	int prc = shunt_pool_init(pctx.cfg.pool_size, err);
	shunt_ctx_free(&pctx);
	if (prc < 0)
		return -1;
	int ufd = listen_unix(path, err);
	if (ufd < 0)
		return -1;
	int tfd = -1;
	if (o->tcp && (tfd = listen_tcp(o->tcp, err)) < 0) {
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
	double next_flush = now_s() + (o->flush_interval ? 1 : 0);
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
		if (o->flush_interval && !flush_pid && now_s() >= next_flush) {
			/* audit forwarding runs here, never on the shim's path */
			next_flush = now_s() + o->flush_interval;
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
