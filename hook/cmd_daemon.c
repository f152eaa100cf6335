/* shunt daemon: run, start, stop and query shuntd, and run a command
 * through it (libcurl over the unix socket). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "curl_lazy.h"
#include "fsutil.h"
#include "httpfetch.h"
#include "paths.h"
#include "shuntd.h"
#include "types.h"

static const char help[] =
    "usage: shunt daemon run|start|stop|status|exec [options]\n"
    "\n"
    "  run [--socket PATH] [--listen HOST:PORT --auth-token-file FILE]\n"
    "                 serve in the foreground (what the systemd unit runs)\n"
    "  start [same options]\n"
    "                 start in the background and wait until it answers\n"
    "  stop           stop the daemon started for this user\n"
    "  status         exit 0 and print its health when it answers, else exit 3\n"
    "  exec [--socket PATH] [--profile P] [--no-daemon] -- ARGV...\n"
    "                 run ARGV through the daemon, which decides it with its own\n"
    "                 policy and sandboxes it; output streams back as it runs.\n"
    "                 --profile may only ask for a profile equal to or stricter than\n"
    "                 the one the policy grants. With --no-daemon, SHUNT_NO_DAEMON=1\n"
    "                 or no daemon answering, the same decision and\n"
    "                 runner run in this process (a cold start).\n"
    "\n"
    "The socket is $XDG_RUNTIME_DIR/shunt/shuntd.sock (mode 0600). A TCP listener\n"
    "requires a bearer token from --auth-token-file (mode 0600, >= 16 chars).\n"
    "Endpoints: GET /v1/health, POST /v1/run, GET /v1/pools, GET /metrics (Prometheus\n"
    "text). pool: {microvm: N, gvisor: N} in the config keeps warm sandboxes.\n"
    "exec exits with the command's status; 126 when the daemon's policy refuses\n"
    "it; 125 when the daemon or the sandbox failed.\n";

struct client_stream {
	struct shunt_buf pending;
	long http;
	int exit_code;
	bool got_exit;
	bool records;	       /* a /v1/run stream: decode records */
	struct shunt_buf body; /* error body for non-200 */
};

static int write_fd(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct client_stream *s = ud;
	size_t n = size * nmemb;
	if (s->http != 200 || !s->records) {
		if (s->body.len < 65536)
			shunt_buf_append(&s->body, ptr, n);
		return n;
	}
	shunt_buf_append(&s->pending, ptr, n);
	size_t off = 0;
	while (s->pending.len - off >= 5) {
		const unsigned char *h = (const unsigned char *)s->pending.data + off;
		size_t len =
		    ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
		if (s->pending.len - off - 5 < len)
			break;
		const char *p = s->pending.data + off + 5;
		if (h[0] == SHUNT_SHUNTD_REC_STDOUT)
			(void)write_fd(1, p, len);
		else if (h[0] == SHUNT_SHUNTD_REC_STDERR)
			(void)write_fd(2, p, len);
		else if (h[0] == SHUNT_SHUNTD_REC_EXIT && len < 16) {
			char c[16];
			memcpy(c, p, len);
			c[len] = 0;
			s->exit_code = atoi(c);
			s->got_exit = true;
		}
		off += 5 + len;
	}
	if (off) {
		memmove(s->pending.data, s->pending.data + off, s->pending.len - off);
		s->pending.len -= off;
	}
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct client_stream *s = ud;
	size_t n = size * nmemb;
	if (n > 9 && strncmp(ptr, "HTTP/1.1 ", 9) == 0)
		s->http = strtol(ptr + 9, NULL, 10);
	return n;
}

/* Performs one request on the socket. Returns 0 when the daemon answered
 * (s->http set), -1 with *err when it could not be reached (exitcode 3). */
/* Where a request goes: a unix socket, or a remote shuntd's base URL
 * (with its bearer token; TLS verified unless insecure). */
struct endpoint {
	const char *sock;
	const char *base; /* https://host:port, when sock is NULL */
	const char *token;
	const char *ca_file; /* verify the server against this CA bundle */
	bool insecure;
};

static int request_to(const struct endpoint *ep, const char *method, const char *path,
		      const char *body, struct client_stream *s, struct shunt_error **err)
{
	if (shunt_curl_load(err) < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	if (!c)
		return shunt_error_set(err, ENOMEM, "curl_easy_init failed");
	_cleanup_free_ char *url = NULL;
	size_t bl = ep->base ? strlen(ep->base) : 0;
	while (bl && ep->base[bl - 1] == '/')
		bl--;
	if (ep->sock ? asprintf(&url, "http://localhost%s", path) < 0
		     : asprintf(&url, "%.*s%s", (int)bl, ep->base, path) < 0) {
		url = NULL;
		curl_easy_cleanup(c);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	struct curl_slist *h = NULL;
	char auth[1100];
	if (ep->sock) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->sock);
	} else {
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, ep->insecure ? "https,http" : "https");
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, ep->insecure ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, ep->insecure ? 0L : 2L);
		if (ep->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, ep->ca_file);
		if (ep->token) {
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ep->token);
			h = curl_slist_append(h, auth);
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "POST") == 0) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (h)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	explicit_bzero(auth, sizeof(auth));
	if (rc != CURLE_OK && s->http == 0) {
		shunt_error_set(err, ECONNREFUSED, "no daemon answering on %s: %s",
				ep->sock ? ep->sock : ep->base, curl_easy_strerror(rc));
		(*err)->exitcode = 3;
		return -1;
	}
	if (rc != CURLE_OK && s->http == 200 && !s->got_exit) {
		shunt_error_set(err, EPIPE, "the daemon's stream broke off: %s",
				curl_easy_strerror(rc));
		(*err)->exitcode = 125;
		return -1;
	}
	return 0;
}

static int request(const char *sock, const char *method, const char *path, const char *body,
		   struct client_stream *s, struct shunt_error **err)
{
	struct endpoint ep = {.sock = sock};
	return request_to(&ep, method, path, body, s, err);
}

struct dopts {
	const char *socket;
	const char *tcp;
	const char *token_file;
	int profile;
	bool no_daemon;
	char **cmd;
	char **fwd; /* options to pass on from start to run */
	int nfwd;
};

static int parse(int argc, char **argv, struct dopts *o, bool want_cmd, struct shunt_error **err)
{
	int i;
	o->profile = -1;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (strcmp(a, "--no-daemon") == 0) {
			o->no_daemon = true;
			continue;
		}
		if (i + 1 >= argc)
			return shunt_args_usage(err, "%s needs a value (or unknown option)", a);
		const char *v = argv[++i];
		if (strcmp(a, "--socket") == 0)
			o->socket = v;
		else if (strcmp(a, "--listen") == 0)
			o->tcp = v;
		else if (strcmp(a, "--auth-token-file") == 0)
			o->token_file = v;
		else if (strcmp(a, "--profile") == 0) {
			if ((o->profile = shunt_profile_parse(v)) < 0)
				return shunt_args_usage(err, "unknown profile '%s'", v);
		} else
			return shunt_args_usage(err,
						"unknown option '%s' (see shunt daemon --help)", a);
	}
	if (want_cmd) {
		if (i >= argc)
			return shunt_args_usage(err, "no command: shunt daemon exec -- ARGV...");
		o->cmd = &argv[i];
	} else if (i < argc) {
		return shunt_args_usage(err, "unexpected argument '%s'", argv[i]);
	}
	return 0;
}

static char *sock_path(const struct dopts *o)
{
	return o->socket ? strdup(o->socket) : shunt_shuntd_socket_path();
}

static int health(const char *sock, struct client_stream *s, struct shunt_error **err)
{
	memset(s, 0, sizeof(*s));
	s->http = 0;
	return request(sock, "GET", "/v1/health", NULL, s, err);
}

static int cmd_status(const struct dopts *o, struct shunt_error **err)
{
	_cleanup_free_ char *sock = sock_path(o);
	struct client_stream s;
	if (health(sock, &s, err) < 0) {
		shunt_buf_free(&s.body);
		return -1;
	}
	printf("shuntd on %s: %s", sock, s.body.data ? s.body.data : "(no body)\n");
	bool okay = s.http == 200;
	shunt_buf_free(&s.body);
	return okay ? 0 : 3;
}

static int cmd_start(int argc, char **argv, const struct dopts *o, struct shunt_error **err)
{
	_cleanup_free_ char *sock = sock_path(o);
	struct client_stream s;
	struct shunt_error *probe = NULL;
	if (health(sock, &s, &probe) == 0) {
		shunt_buf_free(&s.body);
		printf("shuntd already running on %s\n", sock);
		return 0;
	}
	shunt_error_free(&probe);
	_cleanup_free_ char *logdir = shunt_paths_dir(SHUNT_DIR_STATE);
	_cleanup_free_ char *log = shunt_paths_file(SHUNT_DIR_STATE, "shuntd.log");
	if (!logdir || !log)
		return shunt_error_set(err, ENOMEM, "out of memory");
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "fork");
	if (pid == 0) {
		setsid();
		char *dir = strdup(logdir);
		for (char *p = dir + 1; p && *p; p++)
			if (*p == '/') {
				*p = 0;
				mkdir(dir, 0700);
				*p = '/';
			}
		mkdir(dir, 0700);
		int nul = open("/dev/null", O_RDWR);
		int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(nul, 0);
		dup2(lf >= 0 ? lf : nul, 1);
		dup2(lf >= 0 ? lf : nul, 2);
		char **nargv = calloc((size_t)argc + 2, sizeof(char *));
		nargv[0] = "shunt";
		nargv[1] = "daemon";
		nargv[2] = "run";
		for (int i = 2; i < argc; i++)
			nargv[i + 1] = argv[i];
		execv("/proc/self/exe", nargv);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return shunt_error_set(err, 0, "shuntd exited at start-up; see %s", log);
		if (health(sock, &s, &probe) == 0) {
			shunt_buf_free(&s.body);
			printf("shuntd started (pid %ld) on %s\n", (long)pid, sock);
			return 0;
		}
		shunt_error_free(&probe);
	}
	return shunt_error_set(err, ETIMEDOUT, "shuntd did not answer within 5 s; see %s", log);
}

static int cmd_stop(const struct dopts *o, struct shunt_error **err)
{
	_cleanup_free_ char *pidf = shunt_shuntd_pid_path();
	_cleanup_fclose_ FILE *f = pidf ? fopen(pidf, "re") : NULL;
	long pid = 0;
	if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
		printf("shuntd is not running\n");
		return 0;
	}
	if (kill((pid_t)pid, SIGTERM) < 0) {
		unlink(pidf);
		printf("shuntd is not running (stale pid file removed)\n");
		return 0;
	}
	for (int i = 0; i < 100; i++) {
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			printf("shuntd stopped\n");
			return 0;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return shunt_error_set(err, ETIMEDOUT, "shuntd (pid %ld) did not stop within 5 s", pid);
}

/* No daemon: the same decide-and-run in this process (a cold start). */
static int client_run(const struct endpoint *ep, char **cmd, int profile, int runtime,
		      const char *workspace, bool explicit_run, bool *answered,
		      struct shunt_error **err)
{
	*answered = false;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return shunt_error_sys(err, errno, "getcwd");
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "{\"argv\":[");
	for (int i = 0; cmd[i]; i++) {
		if (i)
			shunt_buf_putc(&b, ',');
		shunt_buf_json_str(&b, cmd[i], strlen(cmd[i]));
	}
	shunt_buf_puts(&b, "],\"cwd\":");
	shunt_buf_json_str(&b, cwd, strlen(cwd));
	if (profile >= 0)
		shunt_buf_printf(&b, ",\"profile\":\"%s\"", shunt_profile_name(profile));
	if (runtime >= 0)
		shunt_buf_printf(&b, ",\"runtime\":\"%s\"", shunt_runtime_name(runtime));
	if (workspace) {
		shunt_buf_puts(&b, ",\"workspace\":");
		shunt_buf_json_str(&b, workspace, strlen(workspace));
	}
	if (explicit_run)
		shunt_buf_puts(&b, ",\"explicit\":true");
	shunt_buf_puts(&b, "}");
	if (!b.data)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (b.len > SHUNT_SHUNTD_MAX_BODY) {
		shunt_buf_free(&b);
		return shunt_error_set(err, E2BIG,
				       "command too large for the daemon (%d bytes max)",
				       SHUNT_SHUNTD_MAX_BODY);
	}
	struct client_stream s;
	memset(&s, 0, sizeof(s));
	s.records = true;
	struct shunt_error *cerr = NULL;
	int rc = request_to(ep, "POST", "/v1/run", b.data, &s, &cerr);
	shunt_buf_free(&b);
	if (rc < 0 && cerr && cerr->exitcode == 3 && s.http == 0) {
		shunt_buf_free(&s.pending);
		shunt_buf_free(&s.body);
		if (ep->base) {
			/* remote means there, never here: fail closed, with curl's
			 * reason (refused, TLS verification, ...) */
			shunt_error_set(
			    err, cerr->code,
			    "the remote shuntd could not be reached (%s); the command "
			    "was not run (check remote.url and remote.ca_file, or run it "
			    "locally with --runtime auto)",
			    cerr->msg);
			shunt_error_free(&cerr);
			(*err)->exitcode = 125;
			return -1;
		}
		/* nobody answering: the caller starts it cold in-process */
		shunt_error_free(&cerr);
		return 0;
	}
	*answered = true;
	if (rc < 0) {
		shunt_buf_free(&s.pending);
		shunt_buf_free(&s.body);
		*err = cerr;
		return -1;
	}
	int code;
	if (s.http == 200 && s.got_exit) {
		code = s.exit_code;
	} else if (s.http == 200) {
		fprintf(stderr, "shunt: the daemon's stream ended without an exit status\n");
		code = 125;
	} else {
		fprintf(stderr, "shunt: %sdaemon refused (%ld): %s", ep->sock ? "" : "the remote ",
			s.http,
			s.http == 401 ? "the token was not accepted; the command was not run\n"
			: s.body.data ? s.body.data
				      : "\n");
		code = s.http == 403 ? 126 : s.http == 400 ? 2 : 125;
	}
	shunt_buf_free(&s.pending);
	shunt_buf_free(&s.body);
	return code;
}

int shunt_daemon_client_run(const char *sock, char **cmd, int profile, int runtime,
			    const char *workspace, bool explicit_run, bool *answered,
			    struct shunt_error **err)
{
	struct endpoint ep = {.sock = sock};
	return client_run(&ep, cmd, profile, runtime, workspace, explicit_run, answered, err);
}

int shunt_daemon_client_remote(const char *url, const char *token_file, const char *ca_file,
			       bool insecure, char **cmd, int profile, struct shunt_error **err)
{
	if (!shunt_http_url_allowed(url, insecure)) {
		shunt_error_set(err, EINVAL, "remote.url %s: https:// is required", url);
		(*err)->exitcode = 2;
		return -1;
	}
	_cleanup_free_ char *token = NULL;
	size_t len = 0;
	if (token_file) {
		struct stat st;
		if (shunt_fs_read(token_file, 4096, &token, &len, err) < 0 ||
		    stat(token_file, &st) < 0) {
			shunt_error_prefix(err, "remote.token_file: ");
			(*err)->exitcode = 125;
			return -1;
		}
		if (st.st_mode & 077) {
			shunt_error_set(err, EPERM,
					"remote.token_file %s is readable by others; chmod 600 it",
					token_file);
			(*err)->exitcode = 125;
			return -1;
		}
		while (len &&
		       (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
			token[--len] = 0;
	}
	if (ca_file && access(ca_file, R_OK) < 0) {
		shunt_error_sys(err, errno, "remote.ca_file %s", ca_file);
		(*err)->exitcode = 125;
		return -1;
	}
	struct endpoint ep = {
	    .base = url, .token = token, .ca_file = ca_file, .insecure = insecure};
	bool answered = false;
	int code = client_run(&ep, cmd, profile, -1, NULL, false, &answered, err);
	if (token)
		explicit_bzero(token, len);
	if (!answered && code == 0) {
		/* runtime: remote means there, never here: fail closed */
		shunt_error_set(err, ECONNREFUSED,
				"the remote shuntd at %s did not answer; the command was not run "
				"(check remote.url, or run it locally with --runtime auto)",
				url);
		(*err)->exitcode = 125;
		return -1;
	}
	return code;
}

static int cmd_exec(const struct dopts *o, struct shunt_error **err)
{
	const char *nd = getenv("SHUNT_NO_DAEMON");
	if (o->no_daemon || (nd && strcmp(nd, "1") == 0))
		return shunt_shuntd_run_local(o->cmd, o->profile, -1, err);
	_cleanup_free_ char *sock = sock_path(o);
	struct stat st;
	if (!sock || stat(sock, &st) < 0)
		return shunt_shuntd_run_local(o->cmd, o->profile, -1, err);
	bool answered = false;
	int code =
	    shunt_daemon_client_run(sock, o->cmd, o->profile, -1, NULL, false, &answered, err);
	if (!answered && code == 0)
		return shunt_shuntd_run_local(o->cmd, o->profile, -1, err);
	return code;
}

int shunt_cmd_daemon(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 2 || shunt_cmd_wants_help(argc, argv)) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	struct dopts o;
	memset(&o, 0, sizeof(o));
	bool is_exec = strcmp(sub, "exec") == 0;
	if (parse(argc, argv, &o, is_exec, err) < 0)
		return -1;
	if (strcmp(sub, "run") == 0) {
		_cleanup_free_ char *pidf = o.socket ? NULL : shunt_shuntd_pid_path();
		struct shunt_shuntd_opts so = {.socket_path = o.socket,
					       .tcp = o.tcp,
					       .token_file = o.token_file,
					       .pidfile = pidf};
		/* forward the audit log from here when audit.forward is set */
		struct shunt_config_opts copts = {0};
		copts.no_workspace = true;
		struct shunt_config cfg;
		if (shunt_config_load(&cfg, &copts, err) < 0)
			return -1;
		so.flush_interval = cfg.audit_forward.url ? cfg.audit_forward.interval : 0;
		shunt_config_free(&cfg);
		return shunt_shuntd_serve(&so, err) < 0 ? -1 : 0;
	}
	if (strcmp(sub, "start") == 0)
		return cmd_start(argc, argv, &o, err);
	if (strcmp(sub, "stop") == 0)
		return cmd_stop(&o, err);
	if (strcmp(sub, "status") == 0)
		return cmd_status(&o, err);
	if (is_exec)
		return cmd_exec(&o, err);
	return shunt_args_usage(err, "unknown daemon command '%s' (run, start, stop, status, exec)",
				sub);
}
