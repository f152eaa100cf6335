#include "childio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int shunt_child_run_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One read's worth from `from` to `to`: 1 copied, 0 EOF, -1 read error,
 * -2 nothing to read now (EINTR, or EAGAIN on a non-blocking fd). */
static int copy_chunk(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -2 : -1;
	if (n == 0)
		return 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 1; /* reader gone: keep draining so the engine isn't blocked */
		}
		off += w;
	}
	return 1;
}

int shunt_child_copy_out(int from, int to)
{
	int rc = copy_chunk(from, to);
	return rc == -2 ? 1 : rc;
}

static volatile sig_atomic_t forward_sig;
static void on_signal(int sig)
{
	forward_sig = sig;
}

/* SIGCHLD wakes the copy loop of a reap_early watch: runsc's helpers may
 * hold the output pipes a little after `runsc run` itself has returned. */
static int chld_pipe[2] = {-1, -1};
static void on_chld(int sig)
{
	(void)sig;
	int saved = errno;
	if (chld_pipe[1] >= 0) {
		ssize_t w = write(chld_pipe[1], "c", 1);
		(void)w;
	}
	errno = saved;
}

/* After the engine returned: copy what is already in the pipe, without
 * waiting for writers that are going away. */
static void drain(int from, int to)
{
	int fl = fcntl(from, F_GETFL);
	if (fl >= 0)
		fcntl(from, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		int rc = copy_chunk(from, to);
		if (rc == 1 || (rc == -2 && errno == EINTR))
			continue;
		return;
	}
}

int shunt_child_watch(const struct shunt_child_watch *w, int *status)
{
	/* without the wake-up pipe the loop still polls every 200 ms */
	if (w->reap_early && chld_pipe[0] < 0 && pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		chld_pipe[0] = chld_pipe[1] = -1;
	struct sigaction chld = {.sa_handler = on_chld, .sa_flags = SA_RESTART | SA_NOCLDSTOP},
			 ochld;
	if (w->reap_early)
		sigaction(SIGCHLD, &chld, &ochld);
	struct sigaction sa = {.sa_handler = on_signal}, oint, oterm, ohup;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	sigaction(SIGHUP, &sa, &ohup);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct pollfd pfd[3] = {{w->out_fd, POLLIN, 0},
				{w->err_fd, POLLIN, 0},
				{w->reap_early ? chld_pipe[0] : -1, POLLIN, 0}};
	int open_fds = 2;
	bool timed_out = false, reaped = false;
	time_t last_kill = 0;
	int st = 0;
	while (open_fds > 0) {
		int r = poll(pfd, 3, 200);
		if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN)) {
			char c[64];
			while (read(chld_pipe[0], c, sizeof(c)) > 0)
				;
		}
		if (w->reap_early && waitpid(w->pid, &st, WNOHANG) == w->pid) {
			reaped = true;
			for (int i = 0; i < 2; i++) {
				if (pfd[i].fd < 0)
					continue;
				drain(pfd[i].fd, i == 0 ? 1 : 2);
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			break;
		}
		if (forward_sig) {
			w->kill(w->ctx, (int)forward_sig);
			forward_sig = 0;
		}
		if (w->timeout) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			time_t past = now.tv_sec - start.tv_sec - (time_t)w->timeout;
			/* the engine's kill fails while its container is still
			 * starting: ask again each second; after 5 s the engine
			 * itself goes (its caller removes what it left) */
			if (past >= 0 && (!timed_out || past > last_kill)) {
				timed_out = true;
				last_kill = past;
				w->kill(w->ctx, SIGKILL);
				if (past >= 5)
					kill(w->pid, SIGKILL);
			}
		}
		if (r <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (shunt_child_copy_out(pfd[i].fd, i == 0 ? 1 : 2) <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	while (!reaped && waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	if (w->reap_early)
		sigaction(SIGCHLD, &ochld, NULL);
	if (timed_out) {
		*status = 124;
		return 1;
	}
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	else
		*status = 1;
	return 0;
}
