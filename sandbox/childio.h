/* Small helpers the runners share for the engine processes they drive
 * (runsc, podman, docker). */
#ifndef SHUNT_CHILDIO_H
#define SHUNT_CHILDIO_H

#include <stdbool.h>
#include <sys/types.h>

/* Runs argv (argv[0] an absolute path) with stdio on /dev/null and waits.
 * Returns its exit status (128 for a signal death), or -1 when it could
 * not be started or waited for. */
int shunt_child_run_quiet(char *const argv[]);

/* Moves one read's worth of data from `from` to `to`. Returns 1 to keep
 * going, 0 at EOF, -1 on a read error. A reader that went away on `to` is
 * ignored, so the engine writing into `from` is never blocked. */
int shunt_child_copy_out(int from, int to);

/* An engine process whose output shunt relays: its pid, the read ends
 * of its stdout/stderr pipes, and how to signal what runs in it. */
struct shunt_child_watch {
	pid_t pid;
	int out_fd, err_fd; /* closed by shunt_child_watch */
	unsigned timeout;   /* seconds, 0 = none */
	/* true: the engine may return while its helpers still hold the pipes
	 * (runsc): reap it as soon as it exits and take only what is already
	 * in the pipes */
	bool reap_early;
	/* Signals the command inside the engine: sig is a forwarded SIGINT,
	 * SIGTERM or SIGHUP, or SIGKILL when the timeout passed. */
	void (*kill)(void *ctx, int sig);
	void *ctx;
};

/* Copies the engine's output to our stdout and stderr until both pipes
 * close (or it exits, reap_early), forwarding SIGINT/SIGTERM/SIGHUP
 * through kill while it runs and killing it once the timeout passed,
 * then reaps it. 0 with *status its exit code (128+N for a signal), or 1
 * with *status 124 when the timeout killed it. */
int shunt_child_watch(const struct shunt_child_watch *w, int *status);

#endif
