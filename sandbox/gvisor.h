/* The gVisor (runsc) runner. */
#ifndef SHUNT_GVISOR_H
#define SHUNT_GVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "runner.h"

/* 0 when runsc is installed; -1 with how to install it. */
int shunt_gvisor_probe(struct shunt_error **err);

/* Runs the plan in a fresh OCI bundle under runsc; *status is the
 * command's exit code (128+N for a signal). Returns 1 with *status 124 when the timeout
 * killed it. -1 when the
 * sandbox could not be set up: the command did not run. */
int shunt_gvisor_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

/* Removes the bundles and containers of runs whose shunt died; returns
 * how many it removed. */
int shunt_gvisor_sweep(const char *runsc, const char *bundles, const char *state);

/* Appends the config.json the plan would produce (for --dry-run). */
int shunt_gvisor_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			  struct shunt_error **err);

/* A sandbox started ahead of its command for shuntd's warm pool: its
 * init printed SHUNT_GVISOR_WARM_READY on stdout and reads one line of
 * shell from stdin, which becomes the command. */
struct shunt_gvisor_warm {
	long pid;	    /* `runsc run` (a child of whoever booted it) */
	int out_fd, err_fd; /* read ends of the container's stdout/stderr */
	int ctl_fd;	    /* write end of its stdin */
	char id[64];
	char bundle[4300];
};

#define SHUNT_GVISOR_WARM_READY "shunt-warm-ready\n"

/* The boot template of plan for a warm sandbox: runsc flags and the
 * config.json whose process is the waiting init (cwd, argv and the
 * command's env come later). 0, or -1 when plan cannot use one (network
 * other than none) or on OOM. */
int shunt_gvisor_warm_template(const struct shunt_plan *plan, struct shunt_buf *out);

/* Starts a warm sandbox from a template under container id; its fds are
 * close-on-exec. 0, or -1 with *err. */
int shunt_gvisor_warm_boot(const char *tmpl, const char *id, struct shunt_gvisor_warm *w,
			   struct shunt_error **err);

/* The line that hands plan's command to a warm sandbox (stdin /dev/null). */
void shunt_gvisor_warm_command(const struct shunt_plan *plan, struct shunt_buf *out);

/* Kills every process of a warm sandbox (its `runsc run` then returns). */
void shunt_gvisor_warm_kill(const struct shunt_gvisor_warm *w);

/* Closes a warm sandbox's fds; the sandbox is not stopped. */
void shunt_gvisor_warm_close_fds(struct shunt_gvisor_warm *w);

/* Removes what is left of a warm sandbox once its `runsc run` returned
 * (or kills it first when it still runs): container state, bundle. */
void shunt_gvisor_warm_destroy(struct shunt_gvisor_warm *w);

/* True when runsc is installed AND runs ordinary commands correctly here
 * (a functional probe, cached per runsc binary in $XDG_CACHE_HOME/shunt).
 * When false, why (if given) says what failed and what to do.
 * SHUNT_GVISOR_USABLE=1|0 overrides (tests). */
bool shunt_gvisor_usable(char *why, size_t whylen);

#endif
