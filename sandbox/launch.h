/* The one launch path of a sandboxed command. The hook (act.c), `shunt
 * run` (cmd_run.c) and shuntd all go through shunt_launch_run: it picks
 * the runtime the policy maps the profile to (and the weaker-isolation
 * fallback), probes its runner, hands the run to shuntd when one answers
 * (ops->daemon), builds the plan from the environment it is given, tries
 * a warm sandbox (ops->warm: the daemon's pool) and runs it. The
 * decision is made once, by the caller; a daemon only re-checks it. */
#ifndef SHUNT_LAUNCH_H
#define SHUNT_LAUNCH_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "runner.h"

struct shunt_launch;

/* How the caller hands a run elsewhere; every member may be NULL. */
struct shunt_launch_ops {
	void *ud;
	/* Offers the run to shuntd (socket: its unix socket). 1 when that
	 * settled it (*status the command's exit code, or 125/126 when the
	 * daemon refused or went away: never run again here), 0 to run it
	 * in this process. */
	int (*daemon)(void *ud, const struct shunt_launch *l, const char *socket, int *status);
	/* Runs l->plan in a warm sandbox when one is ready (*used = true;
	 * result as from struct shunt_runner.run); *cold: call cold_done
	 * once the cold start that follows has finished. */
	int (*warm)(void *ud, const struct shunt_launch *l, bool *used, bool *cold, int *status,
		    struct shunt_error **err);
	void (*cold_done)(void *ud);
	/* The plan is ready and about to run here (the caller's notice). */
	void (*starting)(void *ud, const struct shunt_launch *l);
};

/* One launch: the caller fills the inputs, shunt_launch_run the rest. */
struct shunt_launch {
	/* inputs */
	const struct shunt_config *cfg;
	const struct shunt_plan_opts *opts; /* profile, runtime (-1: the map) and the rest */
	char *const *argv;
	char *const *env;     /* the command's environment; NULL: ours */
	int gvisor_available; /* -1: probe it here */
	bool runtime_floor;   /* refuse an asked runtime weaker than the map's */
	bool accept_weaker;   /* the caller accepts the process runner's isolation */
	bool map_accepts;     /* a system profile the map sends to the process runner
			       * runs there, weaker (the hook: its policy chose it) */
	bool no_daemon;	      /* never hand it to shuntd */
	bool probe;	      /* probe the runner before the run (a clear "cannot
			       * sandbox" first; the run fails closed without) */
	/* results */
	int profile;
	enum shunt_runtime runtime;
	const struct shunt_runner *runner;
	bool weaker;	   /* runs on the process runner by the weaker-isolation fallback */
	bool below_map;	   /* asked for a runtime weaker than the map: never via shuntd,
			    * whose floor would refuse what this process runs */
	bool via_daemon;   /* shuntd ran it */
	bool warm;	   /* a warm sandbox ran it */
	bool have_plan;	   /* plan is built (free with shunt_launch_free) */
	const char *unrun; /* when not run: no-runner, runner-unavailable, bad-plan */
	long long ms;	   /* the run's wall time */
	struct shunt_plan plan;
};

/* The runtime profile runs on: asked unless -1/AUTO, else the config's
 * map (gvisor_available -1: probed once per process). With floor, an
 * asked runtime weaker than the map's is refused (-1, *err exitcode
 * 126). Returns the runtime, never AUTO or NONE. */
int shunt_launch_runtime(const struct shunt_config *cfg, int profile, int asked,
			 int gvisor_available, bool floor, struct shunt_error **err);

/* How strong a runtime's isolation boundary is (higher is stronger). */
int shunt_launch_strength(enum shunt_runtime rt);

/* Picks the runtime and its runner for l (the weaker-isolation fallback
 * included) and, with l->probe, probes it. 0, or -1 with *err (exitcode 125, l->unrun
 * set): the command must not run. */
int shunt_launch_choose(struct shunt_launch *l, struct shunt_error **err);

/* Builds l->plan for the chosen runtime (after shunt_launch_choose). 0,
 * or -1 with *err (exitcode 2 for a usage error). */
int shunt_launch_plan(struct shunt_launch *l, struct shunt_error **err);

/* The whole launch: choose, offer to the daemon (unless l->no_daemon or
 * SHUNT_NO_DAEMON=1), build the plan, warm or cold run. Returns 0 with
 * *status the command's exit code, 1 when the plan's timeout killed it
 * (*status 124), -1 with *err when it did not run (exitcode 125: no
 * sandbox; 126/127: the command could not be executed; 2: usage). */
int shunt_launch_run(struct shunt_launch *l, const struct shunt_launch_ops *ops, int *status,
		     struct shunt_error **err);

/* The run step of shunt_launch_run for a launch already chosen and
 * planned (shuntd answers its client in between): warm or cold, same
 * results. */
int shunt_launch_exec(struct shunt_launch *l, const struct shunt_launch_ops *ops, int *status,
		      struct shunt_error **err);

/* shuntd's unix socket, $XDG_RUNTIME_DIR/shunt/shuntd.sock (malloc'd,
 * NULL on OOM). */
char *shunt_launch_socket_path(void);

/* Frees what l owns (the plan). */
void shunt_launch_free(struct shunt_launch *l);

#endif
