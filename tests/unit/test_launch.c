/* The launch path's runtime choice: the one map (shunt_policy_runtime),
 * the isolation floor for an asked runtime, the weaker-isolation
 * fallback and the plan it builds. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "launch.h"
#include "policy.h"
#include "tap.h"

static int choose(struct shunt_config *cfg, int profile, int asked, int gv, bool floor)
{
	struct shunt_error *err = NULL;
	int rt = shunt_launch_runtime(cfg, profile, asked, gv, floor, &err);
	if (rt < 0 && !(err && err->exitcode == 126))
		rt = -2; /* a refusal must say 126 */
	shunt_error_free(&err);
	return rt;
}

int main(void)
{
	struct shunt_config cfg;
	shunt_config_defaults(&cfg);

	/* auto: gVisor when usable, else the process runner */
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, -1, 0, true), SHUNT_RUNTIME_PROCESS,
	       "auto without gVisor: process");
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, -1, 1, true), SHUNT_RUNTIME_GVISOR,
	       "auto with gVisor: gvisor");
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, SHUNT_RUNTIME_AUTO, 0, true),
	       SHUNT_RUNTIME_PROCESS, "asking for auto is the map");

	/* the per-profile map, as the decision reports it */
	cfg.sandbox.profile_runtime[SHUNT_PROFILE_SYSTEM_WRITE] = SHUNT_RUNTIME_MICROVM;
	is_int(choose(&cfg, SHUNT_PROFILE_SYSTEM_WRITE, -1, 1, true), SHUNT_RUNTIME_MICROVM,
	       "SYSTEM_WRITE mapped to microvm");
	is_int(shunt_policy_runtime(cfg.sandbox.runtime, cfg.sandbox.profile_runtime, true,
				    SHUNT_PROFILE_SYSTEM_WRITE),
	       SHUNT_RUNTIME_MICROVM, "the decision's mapping is the same");
	is_int(choose(&cfg, SHUNT_PROFILE_READ_ONLY, -1, 0, true), SHUNT_RUNTIME_PROCESS,
	       "other profiles keep auto");

	/* an asked runtime: stronger or equal passes the floor, weaker not */
	cfg.sandbox.runtime = SHUNT_RUNTIME_GVISOR;
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, SHUNT_RUNTIME_MICROVM, 0, true),
	       SHUNT_RUNTIME_MICROVM, "a stronger runtime than the map: granted");
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, SHUNT_RUNTIME_GVISOR, 0, true),
	       SHUNT_RUNTIME_GVISOR, "the map's own runtime: granted");
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, SHUNT_RUNTIME_PROCESS, 0, true), -1,
	       "a weaker runtime than the map: refused (126)");
	is_int(choose(&cfg, SHUNT_PROFILE_WORKSPACE_WRITE, SHUNT_RUNTIME_PROCESS, 0, false),
	       SHUNT_RUNTIME_PROCESS, "without the floor the asked runtime wins");
	ok(shunt_launch_strength(SHUNT_RUNTIME_MICROVM) >
		   shunt_launch_strength(SHUNT_RUNTIME_GVISOR) &&
	       shunt_launch_strength(SHUNT_RUNTIME_GVISOR) >
		   shunt_launch_strength(SHUNT_RUNTIME_PODMAN) &&
	       shunt_launch_strength(SHUNT_RUNTIME_PODMAN) >
		   shunt_launch_strength(SHUNT_RUNTIME_PROCESS),
	   "strength: microvm > gvisor > podman > process");

	/* a runtime with no runner here: fail closed (no-runner, 125) unless
	 * a system profile accepts the process runner's weaker isolation */
	cfg.sandbox.runtime = SHUNT_RUNTIME_AUTO;
	setenv("SHUNT_VM_CACHE", "/nonexistent/shunt-vm", 1);
	setenv("SHUNT_VM_BACKEND", "qemu", 1);
	/* no guest image and none to build on first use */
	setenv("SHUNT_VM_BUILD_SCRIPT", "/nonexistent/build-guest.sh", 1);
	struct shunt_plan_opts o = shunt_plan_opts_none();
	o.profile = SHUNT_PROFILE_WORKSPACE_WRITE;
	o.runtime = SHUNT_RUNTIME_MICROVM;
	struct shunt_launch l = {.cfg = &cfg, .opts = &o, .gvisor_available = 0};
	struct shunt_error *err = NULL;
	ok(shunt_launch_choose(&l, &err) < 0 && err && err->exitcode == 125 && l.unrun &&
	       strcmp(l.unrun, "no-runner") == 0,
	   "no microVM here, WORKSPACE_WRITE: not run (125, no-runner)");
	shunt_error_free(&err);
	o.profile = SHUNT_PROFILE_SYSTEM_WRITE;
	o.accept_weaker_isolation = true;
	l = (struct shunt_launch){.cfg = &cfg, .opts = &o, .gvisor_available = 0};
	ok(shunt_launch_choose(&l, &err) == 0 && l.runtime == SHUNT_RUNTIME_PROCESS && l.weaker,
	   "SYSTEM_WRITE with the opt-in: the process runner, weaker");
	shunt_error_free(&err);

	shunt_config_free(&cfg);
	return done_testing();
}
