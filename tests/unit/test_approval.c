/* The approval channel with real processes: a server in the parent, a
 * forked child asking, and forgeries that must be refused. The test
 * binary itself plays the gate (its /proc/self/exe is the "shunt"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "approval.h"
#include "lex.h"
#include "policy.h"
#include "tap.h"

static char gate[PATH_MAX];

/* Runs fn in a child with SHUNT_APPROVAL_FD=fd_env (NULL: unset) and
 * returns its exit status, serving s meanwhile when s is non-NULL. */
static int in_child(struct shunt_approval_server *s, const char *fd_env, int (*fn)(void *),
		    void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (fd_env)
			setenv(SHUNT_APPROVAL_ENV, fd_env, 1);
		else
			unsetenv(SHUNT_APPROVAL_ENV);
		_exit(fn(arg));
	}
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, s ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (s)
			shunt_approval_server_poll(s, 50);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int ask_key(void *arg)
{
	return shunt_approval_check(gate, arg);
}

static int ask_key_wrong_gate(void *arg)
{
	return shunt_approval_check("/usr/bin/true", arg);
}

/* The child forges its own channel: a socketpair it made itself, with the
 * variable pointing at it, and a helper that answers 'Y' to everything. */
static int forge_own_socketpair(void *arg)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 10;
	char num[16];
	snprintf(num, sizeof(num), "%d", sv[1]);
	setenv(SHUNT_APPROVAL_ENV, num, 1);
	pid_t h = fork();
	if (h == 0) {
		/* a fake server that approves anything */
		struct shunt_approval_server fake = {.fd = sv[0], .child_fd = -1};
		uint8_t all[1][32];
		memcpy(all[0], arg, 32);
		fake.keys = all;
		fake.nkeys = 1;
		for (int i = 0; i < 40; i++)
			shunt_approval_server_poll(&fake, 50);
		_exit(0);
	}
	int r = shunt_approval_check(gate, arg);
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	return r;
}

static int forge_pipe(void *arg)
{
	int p[2];
	if (pipe(p) < 0)
		return 10;
	char num[16];
	snprintf(num, sizeof(num), "%d", p[0]);
	setenv(SHUNT_APPROVAL_ENV, num, 1);
	return shunt_approval_check(gate, arg);
}

static int forge_file(void *arg)
{
	int fd = open("/dev/null", O_RDWR);
	char num[16];
	snprintf(num, sizeof(num), "%d", fd);
	setenv(SHUNT_APPROVAL_ENV, num, 1);
	return shunt_approval_check(gate, arg);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", gate, sizeof(gate) - 1);
	if (n <= 0) {
		printf("Bail out! readlink /proc/self/exe\n");
		return 1;
	}
	gate[n] = '\0';
	signal(SIGPIPE, SIG_IGN);

	uint8_t k_ls[32], k_rm[32], k_line[32], tk[32];
	shunt_approval_key("ls -l", k_ls);
	shunt_approval_key("rm -rf ~/canary", k_rm);
	shunt_trust_key(1, NULL, "ls -l", tk);
	ok(memcmp(k_ls, tk, 32) == 0, "approval key is the global trust key of the norm");

	/* keys from a lexed line: whole line + each simple command */
	struct shunt_simple cmds[2] = {{.norm = "ls -l"}, {.norm = "ls -l"}};
	struct shunt_cmdline cl = {.cmds = cmds, .n = 2, .line = "ls -l; ls -l"};
	uint8_t(*keys)[32] = NULL;
	size_t nkeys = 0;
	struct shunt_error *err = NULL;
	ok(shunt_approval_keys_from_cmdline(&cl, &keys, &nkeys, &err) == 0, "keys from cmdline");
	is_int(nkeys, 2, "duplicates removed (line + one distinct command)");
	shunt_approval_key("ls -l; ls -l", k_line);
	int has_ls = 0, has_line = 0;
	for (size_t i = 0; i < nkeys; i++) {
		has_ls |= memcmp(keys[i], k_ls, 32) == 0;
		has_line |= memcmp(keys[i], k_line, 32) == 0;
	}
	ok(has_ls && has_line, "both the command and the line are approved");

	struct shunt_approval_server s;
	int cfd = shunt_approval_server_start(&s, (const uint8_t(*)[32])keys, nkeys, &err);
	free(keys);
	ok(cfd >= 0, "server starts");
	ok(!(fcntl(cfd, F_GETFD) & FD_CLOEXEC), "child end survives exec");
	ok(fcntl(shunt_approval_server_fd(&s), F_GETFD) & FD_CLOEXEC,
	   "server end is close-on-exec");
	char num[16];
	snprintf(num, sizeof(num), "%d", cfd);

	is_int(in_child(&s, num, ask_key, k_ls), 1, "child: approved command -> yes");
	is_int(in_child(&s, num, ask_key, k_rm), 0, "child: other command -> no");
	is_int(in_child(&s, NULL, ask_key, k_ls), 0, "child without the variable -> no");
	is_int(in_child(&s, "abc", ask_key, k_ls), 0, "garbage variable -> no");
	is_int(in_child(&s, num, ask_key_wrong_gate, k_ls), 0,
	       "server is not the expected gate binary -> no");
	ok(s.answered >= 2, "server answered the queries (%lu)", s.answered);

	/* forgeries by the child itself */
	is_int(in_child(&s, NULL, forge_own_socketpair, k_rm), 0,
	       "forged: own socketpair + approving helper -> no");
	is_int(in_child(&s, NULL, forge_pipe, k_ls), 0,
	       "forged: variable pointing at a pipe -> no");
	is_int(in_child(&s, NULL, forge_file, k_ls), 0,
	       "forged: variable pointing at a file -> no");

	/* a sibling holding the server end answers instead of its creator: the
	 * reply carries the sibling's pid and is refused */
	fflush(stdout);
	pid_t sib = fork();
	if (sib == 0) {
		for (int i = 0; i < 100; i++)
			shunt_approval_server_poll(&s, 50);
		_exit(0);
	}
	is_int(in_child(NULL, num, ask_key, k_ls), 0,
	       "answer from a process other than the creator -> no");
	kill(sib, SIGKILL);
	waitpid(sib, NULL, 0);

	/* nobody answers: times out, not approved */
	is_int(in_child(NULL, num, ask_key, k_ls), 0, "no answer within the timeout -> no");

	/* server still works afterwards (the timed-out query is answered late
	 * into a closed reply socket without harm) */
	is_int(in_child(&s, num, ask_key, k_ls), 1, "server still answers after a dead client");

	shunt_approval_server_stop(&s);
	shunt_approval_server_stop(&s);
	ok(s.fd == -1 && s.child_fd == -1, "stop is idempotent");
	errno = 1234;
	ok(shunt_approval_check_fd(-1, gate, k_ls) == 0 && errno == 1234, "errno preserved");
	shunt_error_free(&err);
	return done_testing();
}
