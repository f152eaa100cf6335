/* The microVM command channel: framing, the real guest agent
 * (build/bin/shunt-vm-agent) over an AF_UNIX socketpair, and Firecracker's
 * vsock handshake against a unix-socket peer that speaks it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firecracker.h"
#include "fsutil.h"
#include "tap.h"
#include "vmchan.h"

static char agent[PATH_MAX + 64];
static char tmpdir[] = "/tmp/shunt-test-vmchan.XXXXXX";
static struct shunt_vmchan_frame fr;

static void find_agent(void)
{
	const char *env = getenv("SHUNT_VM_AGENT");
	if (env) {
		snprintf(agent, sizeof(agent), "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(agent, sizeof(agent), "%s/../bin/shunt-vm-agent", exe);
}

static void test_framing(void)
{
	int sv[2];
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	ok(shunt_vmchan_write(sv[0], SHUNT_VMCHAN_ARG, "hello", 5) == 0, "small frame written");
	ok(shunt_vmchan_write(sv[0], SHUNT_VMCHAN_RUN, "", 0) == 0, "empty frame written");
	ok(shunt_vmchan_read(sv[1], &fr, 0) == 1 && fr.type == SHUNT_VMCHAN_ARG && fr.len == 5 &&
	       strcmp(fr.data, "hello") == 0,
	   "small frame read back");
	ok(shunt_vmchan_read(sv[1], &fr, 0) == 1 && fr.type == SHUNT_VMCHAN_RUN && fr.len == 0,
	   "empty frame read back");
	static char big[SHUNT_VMCHAN_MAX + 1];
	memset(big, 'b', sizeof(big));
	is_int(shunt_vmchan_write(sv[0], SHUNT_VMCHAN_OUT, big, sizeof(big)), -EMSGSIZE,
	       "a frame over the limit is refused");
	/* a full-size frame needs a reader: write from a child */
	pid_t pid = fork();
	if (pid == 0)
		_exit(shunt_vmchan_write_all(sv[0], SHUNT_VMCHAN_OUT, big, sizeof(big)) == 0 ? 0
											     : 1);
	int r1 = shunt_vmchan_read(sv[1], &fr, 0);
	size_t l1 = fr.len;
	int r2 = shunt_vmchan_read(sv[1], &fr, 0);
	ok(r1 == 1 && l1 == SHUNT_VMCHAN_MAX && r2 == 1 && fr.len == 1,
	   "write_all splits into maximal frames (%zu + %u)", l1, fr.len);
	int ws;
	waitpid(pid, &ws, 0);
	is_int(shunt_vmchan_read(sv[1], &fr, shunt_vmchan_now_ms() + 50), -ETIMEDOUT,
	       "read honours its deadline");

	/* malformed input */
	ok(write(sv[0], "XV\x10\0\0\0\0\1x", 9) == 9, "bad magic sent");
	is_int(shunt_vmchan_read(sv[1], &fr, 0), -EPROTO, "bad magic rejected");
	close(sv[0]);
	close(sv[1]);
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	ok(write(sv[0], "SV\x10\0\x7f\0\0\0", 8) == 8, "oversized length sent");
	is_int(shunt_vmchan_read(sv[1], &fr, 0), -EPROTO, "oversized frame rejected");
	close(sv[0]);
	close(sv[1]);
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	ok(write(sv[0], "SV\x10\0\0\0\0\x64partial", 15) == 15, "truncated frame sent");
	close(sv[0]);
	is_int(shunt_vmchan_read(sv[1], &fr, 0), -EPROTO, "truncated payload rejected");
	close(sv[1]);
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	ok(write(sv[0], "SV\x10", 3) == 3, "truncated header sent");
	close(sv[0]);
	is_int(shunt_vmchan_read(sv[1], &fr, 0), -EPROTO, "truncated header rejected");
	close(sv[1]);
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	close(sv[0]);
	is_int(shunt_vmchan_read(sv[1], &fr, 0), 0, "end of stream at a boundary is clean");
	close(sv[1]);
}

static pid_t spawn_agent(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(fd, 3) < 0)
			_exit(120);
		execl(agent, "shunt-vm-agent", "--fd", "3", (char *)NULL);
		_exit(121);
	}
	return pid;
}

struct result {
	int rc, status;
	char *out, *err;
	size_t outlen, errlen;
	char msg[1100];
};

static void slurp(const char *path, char **data, size_t *len)
{
	struct shunt_error *e = NULL;
	*data = NULL;
	*len = 0;
	if (shunt_fs_read(path, 64 << 20, data, len, &e) < 0)
		shunt_error_free(&e);
}

/* Runs argv through the agent over a socketpair; output into files. */
static struct result run_agent(char *const *argv, char *const *env, const char *cwd)
{
	struct result r = {.rc = -2, .status = -1};
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return r;
	pid_t pid = spawn_agent(sv[1]);
	close(sv[1]);
	char op[PATH_MAX], ep[PATH_MAX];
	snprintf(op, sizeof(op), "%s/out", tmpdir);
	snprintf(ep, sizeof(ep), "%s/err", tmpdir);
	int of = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ef = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct shunt_vmchan_request req = {.cwd = cwd, .argv = argv, .env = env};
	struct shunt_error *e = NULL;
	r.rc = shunt_firecracker_exchange(sv[0], &req, of, ef, 0, shunt_vmchan_now_ms() + 60000,
					  &r.status, &e);
	if (e)
		snprintf(r.msg, sizeof(r.msg), "%s", e->msg);
	shunt_error_free(&e);
	close(sv[0]);
	close(of);
	close(ef);
	waitpid(pid, NULL, 0);
	slurp(op, &r.out, &r.outlen);
	slurp(ep, &r.err, &r.errlen);
	return r;
}

static void free_result(struct result *r)
{
	free(r->out);
	free(r->err);
}

static void test_agent(void)
{
	if (access(agent, X_OK) != 0) {
		ok(0, "the agent is built (%s)", agent);
		return;
	}
	char *env[] = {"PATH=/usr/bin:/bin", "FOO=bar baz", NULL};
	char *a1[] = {"sh", "-c", "echo out; echo err >&2; echo \"$FOO\"; pwd; exit 42", NULL};
	struct result r = run_agent(a1, env, tmpdir);
	is_int(r.rc, 0, "agent: the exchange completes");
	is_int(r.status, 42, "agent: exit code 42 comes through");
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "out\nbar baz\n%s\n", tmpdir);
	is_str(r.out, want, "agent: stdout, env and cwd");
	is_str(r.err, "err\n", "agent: stderr kept separate");
	free_result(&r);

	char *a2[] = {"sh", "-c", "seq 1 20000", NULL};
	r = run_agent(a2, env, "/");
	char *expect = NULL;
	size_t elen = 0;
	FILE *m = open_memstream(&expect, &elen);
	for (int i = 1; i <= 20000; i++)
		fprintf(m, "%d\n", i);
	fclose(m);
	ok(r.rc == 0 && r.status == 0 && r.outlen == elen && memcmp(r.out, expect, elen) == 0,
	   "agent: 20000 lines arrive complete and in order (%zu bytes)", r.outlen);
	free(expect);
	free_result(&r);

	char *a3[] = {"sh", "-c", "head -c 3000000 /dev/zero | tr '\\000' x; echo e >&2", NULL};
	r = run_agent(a3, env, "/");
	bool allx = r.outlen == 3000000;
	for (size_t i = 0; allx && i < r.outlen; i++)
		allx = r.out[i] == 'x';
	ok(r.rc == 0 && r.status == 0 && allx, "agent: 3 MB of output, byte-exact (%zu)", r.outlen);
	is_str(r.err, "e\n", "agent: stderr alongside big stdout");
	free_result(&r);

	/* output that imitates an EXIT frame (status 0) and a text marker */
	char *a4[] = {"sh", "-c",
		      "printf 'SV\\022\\000\\000\\000\\000\\004\\000\\000\\000\\000'; "
		      "echo SHUNT-EXIT-0 0; exit 7",
		      NULL};
	r = run_agent(a4, env, "/");
	is_int(r.status, 7, "agent: a fake exit frame in the output does not fool the host");
	ok(r.outlen == 12 + 15 && memcmp(r.out, "SV\022\0\0\0\0\004\0\0\0\0", 12) == 0,
	   "agent: the fake frame is passed through as output bytes");
	free_result(&r);

	char *a5[] = {"sh", "-c", "kill -9 $$", NULL};
	r = run_agent(a5, env, "/");
	is_int(r.status, 137, "agent: death by SIGKILL is 128+9");
	free_result(&r);

	char *a6[] = {"no-such-command-shunt", NULL};
	r = run_agent(a6, env, "/");
	is_int(r.status, 127, "agent: a missing command is 127");
	ok(r.err && strstr(r.err, "no-such-command-shunt"), "agent: and says so on stderr");
	free_result(&r);

	char *a7[] = {"sh", "-c", "sleep 30 & echo started", NULL};
	r = run_agent(a7, env, "/");
	ok(r.rc == 0 && r.status == 0 && r.out && strcmp(r.out, "started\n") == 0,
	   "agent: a background leftover holding the pipes does not hang the run");
	free_result(&r);
}

/* A peer that fails mid-stream: sends one complete OUT frame, then part
 * of another, then hangs up. */
static void test_truncated_peer(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		shunt_vmchan_write(sv[1], SHUNT_VMCHAN_HELLO, "", 0);
		while (shunt_vmchan_read(sv[1], &fr, 0) == 1 && fr.type != SHUNT_VMCHAN_RUN)
			;
		shunt_vmchan_write(sv[1], SHUNT_VMCHAN_OUT, "whole\n", 6);
		if (write(sv[1], "SV\x10\0\0\0\0\x20half", 12) != 12)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	char op[PATH_MAX];
	snprintf(op, sizeof(op), "%s/tout", tmpdir);
	int of = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *argv[] = {"true", NULL};
	struct shunt_vmchan_request req = {.argv = argv};
	struct shunt_error *e = NULL;
	int status = -1;
	int rc = shunt_firecracker_exchange(sv[0], &req, of, of, 0, 0, &status, &e);
	ok(rc < 0 && e && e->code == EPROTO, "a truncated frame from the guest is an error");
	shunt_error_free(&e);
	close(of);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	char *data = NULL;
	size_t len = 0;
	slurp(op, &data, &len);
	is_str(data, "whole\n", "only complete frames reached the output");
	free(data);

	/* hang-up before any exit status */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		shunt_vmchan_write(sv[1], SHUNT_VMCHAN_HELLO, "", 0);
		while (shunt_vmchan_read(sv[1], &fr, 0) == 1 && fr.type != SHUNT_VMCHAN_RUN)
			;
		_exit(0);
	}
	close(sv[1]);
	rc = shunt_firecracker_exchange(sv[0], &req, 1, 2, 0, 0, &status, &e);
	ok(rc < 0 && e && strstr(e->msg, "hung up"), "a guest hanging up without a status fails");
	shunt_error_free(&e);
	close(sv[0]);
	waitpid(pid, NULL, 0);

	/* an agent that never greets; output before the greeting */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	rc = shunt_firecracker_exchange(sv[0], &req, 1, 2, shunt_vmchan_now_ms() + 100, 0, &status,
					&e);
	ok(rc < 0 && e && e->code == ETIMEDOUT, "no greeting by the boot deadline: error");
	shunt_error_free(&e);
	rc = shunt_firecracker_exchange(sv[0], &req, 1, 2, shunt_vmchan_now_ms() + 5000,
					shunt_vmchan_now_ms() + 100, &status, &e);
	is_int(rc, 1, "the run's deadline before the greeting: timed out");
	shunt_vmchan_write(sv[1], SHUNT_VMCHAN_OUT, "early", 5);
	rc = shunt_firecracker_exchange(sv[0], &req, 1, 2, 0, 0, &status, &e);
	ok(rc < 0 && e && e->code == EPROTO, "output before the greeting is a protocol error");
	shunt_error_free(&e);
	close(sv[0]);
	close(sv[1]);
}

/* Firecracker's host-initiated vsock: connect to the unix socket, send
 * "CONNECT <port>\n", get "OK <n>\n", then the stream is the guest's.
 * The peer refuses the first attempt (agent not listening yet), like
 * Firecracker closing the connection, then hands the stream to the
 * real agent. */
static void serve_vsock_mux(int ls, unsigned port)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			_exit(1);
		char line[64];
		size_t n = 0;
		while (n + 1 < sizeof(line) && read(c, line + n, 1) == 1 && line[n] != '\n')
			n++;
		line[n] = 0;
		char want[32];
		snprintf(want, sizeof(want), "CONNECT %u", port);
		if (strcmp(line, want) != 0)
			_exit(2);
		if (attempt == 0) {
			close(c);
			continue;
		}
		if (write(c, "OK 1073741824\n", 14) != 14)
			_exit(3);
		dup2(c, 3);
		execl(agent, "shunt-vm-agent", "--fd", "3", (char *)NULL);
		_exit(4);
	}
}

static void test_vsock(const char *dir)
{
	char uds[PATH_MAX];
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char cwd[PATH_MAX];
	/* bind through the directory: the path may be too long for sun_path */
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0) {
		ok(0, "chdir %s", dir);
		return;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "v.sock");
	int b = bind(ls, (struct sockaddr *)&a, sizeof(a));
	if (chdir(cwd) < 0 || b < 0 || listen(ls, 4) < 0) {
		ok(0, "listening on %s", uds);
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		serve_vsock_mux(ls, SHUNT_VMCHAN_PORT);
	close(ls);
	struct shunt_error *e = NULL;
	int fd =
	    shunt_firecracker_connect(uds, SHUNT_VMCHAN_PORT, shunt_vmchan_now_ms() + 20000, &e);
	ok(fd >= 0, "vsock: connected after a refused first attempt (path %zu chars)", strlen(uds));
	if (fd < 0) {
		diag("%s", e->msg);
		shunt_error_free(&e);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}
	char *argv[] = {"sh", "-c", "echo via-vsock; exit 3", NULL};
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	struct shunt_vmchan_request req = {.argv = argv, .env = env};
	int status = -1, p[2];
	if (pipe(p) < 0)
		return;
	int rc = shunt_firecracker_exchange(fd, &req, p[1], 2, 0, shunt_vmchan_now_ms() + 30000,
					    &status, &e);
	close(p[1]);
	char out[64] = "";
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	ok(rc == 0 && status == 3, "vsock: the agent's exit code (%d, %d)", rc, status);
	is_str(out, "via-vsock\n", "vsock: the agent's output");
	shunt_error_free(&e);
	close(fd);
	int ws = 0;
	waitpid(pid, &ws, 0);
	is_int(WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, 0, "vsock: the agent finished cleanly");

	fd = shunt_firecracker_connect("/nonexistent-shunt/v.sock", SHUNT_VMCHAN_PORT,
				       shunt_vmchan_now_ms() + 100, &e);
	ok(fd < 0 && e && e->code == ETIMEDOUT, "vsock: no VMM socket by the deadline: timeout");
	shunt_error_free(&e);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	find_agent();
	if (!mkdtemp(tmpdir))
		return 1;
	test_framing();
	test_agent();
	test_truncated_peer();
	test_vsock(tmpdir);
	char deep[PATH_MAX];
	snprintf(deep, sizeof(deep),
		 "%s/a-rather-long-directory-name-for-the-job/"
		 "another-long-component-to-pass-108-chars",
		 tmpdir);
	struct shunt_error *e = NULL;
	if (shunt_fs_mkdirs(deep, 0700, &e) == 0)
		test_vsock(deep);
	shunt_error_free(&e);
	shunt_fs_rmtree(tmpdir, &e);
	shunt_error_free(&e);
	return done_testing();
}
