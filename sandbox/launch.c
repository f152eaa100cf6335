/* The one launch path (launch.h): runtime choice, fallback, probe,
 * daemon-or-here, plan, warm-or-cold run. */
#include "launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "gvisor.h"
#include "paths.h"
#include "policy.h"

static int not_run(struct shunt_launch *l, const char *why, struct shunt_error **err, int exitcode)
{
	l->unrun = why;
	if (err && *err)
		(*err)->exitcode = exitcode;
	return -1;
}

int shunt_launch_strength(enum shunt_runtime rt)
{
	switch (rt) {
	case SHUNT_RUNTIME_PROCESS:
		return 1;
	case SHUNT_RUNTIME_PODMAN:
	case SHUNT_RUNTIME_DOCKER:
		return 2;
	case SHUNT_RUNTIME_GVISOR:
		return 3;
	case SHUNT_RUNTIME_MICROVM:
		return 4;
	default:
		return 0;
	}
}

/* gVisor's functional probe is cached on disk; once per process here. */
static bool gvisor_usable(int known)
{
	static int probed = -1;
	if (known >= 0)
		return known != 0;
	if (probed < 0)
		probed = shunt_gvisor_usable(NULL, 0);
	return probed != 0;
}

int shunt_launch_runtime(const struct shunt_config *cfg, int profile, int asked,
			 int gvisor_available, bool floor, struct shunt_error **err)
{
	bool asked_set = asked >= 0 && asked != SHUNT_RUNTIME_AUTO && asked != SHUNT_RUNTIME_NONE;
	if (asked_set && !floor)
		return asked;
	enum shunt_runtime mapped =
	    shunt_policy_runtime(cfg->sandbox.runtime, cfg->sandbox.profile_runtime,
				 gvisor_usable(gvisor_available), profile);
	if (!asked_set || asked == (int)mapped)
		return (int)mapped;
	if (shunt_launch_strength((enum shunt_runtime)asked) < shunt_launch_strength(mapped)) {
		shunt_error_set(err, EPERM,
				"runtime %s is weaker than the %s the policy maps %s to",
				shunt_runtime_name(asked), shunt_runtime_name(mapped),
				shunt_profile_name(profile));
		if (err && *err)
			(*err)->exitcode = 126;
		return -1;
	}
	return asked;
}

int shunt_launch_choose(struct shunt_launch *l, struct shunt_error **err)
{
	const struct shunt_plan_opts *o = l->opts;
	l->profile = o && o->profile >= 0 ? o->profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	int rt = shunt_launch_runtime(l->cfg, l->profile, o ? o->runtime : -1, l->gvisor_available,
				      l->runtime_floor, err);
	if (rt < 0)
		return not_run(l, "not-granted", err, 126);
	l->runtime = (enum shunt_runtime)rt;
	l->below_map =
	    !l->runtime_floor &&
	    shunt_launch_runtime(l->cfg, l->profile, rt, l->gvisor_available, true, NULL) < 0;
	l->runner = shunt_runner_get(l->runtime);
	bool system = l->profile >= SHUNT_PROFILE_SYSTEM_WRITE;
	bool accept = l->accept_weaker || (o && o->accept_weaker_isolation) ||
		      l->cfg->sandbox.accept_weaker_isolation;
	l->weaker = l->runner && system && l->runtime == SHUNT_RUNTIME_PROCESS &&
		    (accept || l->map_accepts);
	if (!l->runner && system && accept) {
		/* the weaker-isolation fallback: a throwaway overlay root on the
		 * host kernel instead of the missing runner */
		l->runtime = SHUNT_RUNTIME_PROCESS;
		l->runner = shunt_runner_get(SHUNT_RUNTIME_PROCESS);
		l->weaker = true;
	}
	if (!l->runner) {
		struct shunt_error *pe = NULL;
		if (l->runtime == SHUNT_RUNTIME_MICROVM && shunt_runner_probe(l->runtime, &pe) < 0)
			shunt_error_set(
			    err, ENOSYS,
			    "the microvm runner needed for %s is not available here, so "
			    "the command was not run: %s%s",
			    shunt_profile_name(l->profile), pe ? pe->msg : "",
			    system ? "; to use the process sandbox with a throwaway "
				     "overlay root instead, add --i-accept-weaker-isolation"
				   : "");
		else
			shunt_error_set(
			    err, ENOSYS,
			    "the %s runner needed for %s is not available here, so the "
			    "command was not run (see 'shunt doctor'); %s",
			    shunt_runtime_name(l->runtime), shunt_profile_name(l->profile),
			    system ? "to use the process sandbox with a throwaway overlay "
				     "root instead, add --i-accept-weaker-isolation"
				   : "set sandbox.runtime: process in your config to use "
				     "the built-in process sandbox");
		shunt_error_free(&pe);
		return not_run(l, "no-runner", err, 125);
	}
	/* the process runner's probe forks into new namespaces: only where
	 * the caller wants the answer before its notice */
	struct shunt_error *pe = NULL;
	if (l->probe && l->runner->probe && l->runner->probe(&pe) < 0) {
		shunt_error_set(err, ENOSYS,
				"%s runner unavailable: %s; the command was not run (run 'shunt "
				"doctor' for details)",
				l->runner->name, pe ? pe->msg : "unknown reason");
		shunt_error_free(&pe);
		return not_run(l, "runner-unavailable", err, 125);
	}
	return 0;
}

int shunt_launch_plan(struct shunt_launch *l, struct shunt_error **err)
{
	struct shunt_plan_opts o = l->opts ? *l->opts : shunt_plan_opts_none();
	o.profile = l->profile;
	o.runtime = (int)l->runtime;
	o.env = l->env;
	if (shunt_plan_build(&l->plan, l->cfg, &o, l->argv, err) < 0)
		return not_run(l, "bad-plan", err, err && *err ? (*err)->exitcode : 2);
	l->have_plan = true;
	if (l->weaker)
		l->plan.accept_weaker_isolation = true;
	return 0;
}

char *shunt_launch_socket_path(void)
{
	return shunt_paths_file(SHUNT_DIR_RUNTIME, "shuntd.sock");
}

/* The daemon is asked only when one listens and nobody said not to. */
static int offer_daemon(struct shunt_launch *l, const struct shunt_launch_ops *ops, int *status)
{
	const char *nd = getenv("SHUNT_NO_DAEMON");
	if (!ops || !ops->daemon || l->no_daemon || l->weaker || l->below_map ||
	    (nd && strcmp(nd, "1") == 0))
		return 0;
	_cleanup_free_ char *sock = shunt_launch_socket_path();
	struct stat st;
	if (!sock || stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	int r = ops->daemon(ops->ud, l, sock, status);
	l->via_daemon = r > 0;
	return r;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int shunt_launch_run(struct shunt_launch *l, const struct shunt_launch_ops *ops, int *status,
		     struct shunt_error **err)
{
	*status = 0;
	if (shunt_launch_choose(l, err) < 0)
		return -1;
	if (offer_daemon(l, ops, status) > 0)
		return 0;
	if (shunt_launch_plan(l, err) < 0)
		return -1;
	if (ops && ops->starting)
		ops->starting(ops->ud, l);
	return shunt_launch_exec(l, ops, status, err);
}

int shunt_launch_exec(struct shunt_launch *l, const struct shunt_launch_ops *ops, int *status,
		      struct shunt_error **err)
{
	long long t0 = now_ms();
	bool cold = false;
	int rc = 0;
	l->warm = false;
	if (ops && ops->warm)
		rc = ops->warm(ops->ud, l, &l->warm, &cold, status, err);
	if (!l->warm)
		rc = l->runner->run(&l->plan, status, err);
	if (cold && ops->cold_done)
		ops->cold_done(ops->ud);
	l->ms = now_ms() - t0;
	if (rc == 1)
		*status = 124;
	return rc < 0 ? -1 : rc;
}

void shunt_launch_free(struct shunt_launch *l)
{
	if (l && l->have_plan)
		shunt_plan_free(&l->plan);
	if (l)
		l->have_plan = false;
}
