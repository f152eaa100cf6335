/* effect: remote - a command that acts on a remote system is prompted, or
 * refused with a reason when no one is at a terminal, never sandboxed (a
 * sandbox has no credentials and no remote). Through the real decide with
 * the embedded packs (git push) and a test pack, from YAML and from the
 * snapshot the shim reads. */
#include "policy_fixture.h"

static struct shunt_decision decide(const struct shunt_policy *p, const char *line,
				    bool interactive)
{
	return fx_decide(p, line, "/home/u/proj", "/home/u/proj", interactive);
}

static void pushes(const struct shunt_policy *p, const char *what)
{
	static const char *const remote[] = {"git push --force-with-lease",
					     "git push --force-with-lease origin feat",
					     "git push -f origin main", "git push origin +main",
					     "git push -f git@github.com:o/r.git main"};
	for (size_t i = 0; i < sizeof(remote) / sizeof(*remote); i++) {
		struct shunt_decision d = decide(p, remote[i], true);
		IS(d.action, SHUNT_ACTION_PROMPT, "%s: '%s' with a terminal: prompt", what,
		   remote[i]);
		ok(d.remote_effect && strstr(d.why, "acts on a remote system"),
		   "%s: and says it acts on a remote system (%s)", what, d.why);
		d = decide(p, remote[i], false);
		IS(d.action, SHUNT_ACTION_BLOCK, "%s: '%s' without a terminal: block, not sandbox",
		   what, remote[i]);
		ok(strstr(d.why, "sandbox cannot contain") && strstr(d.why, "shunt trust add"),
		   "%s: with a reason an agent can act on (%s)", what, d.why);
		IS(d.profile, SHUNT_PROFILE_NONE, "%s: a block has no profile", what);
	}
	/* a push to a repository on disk is a local effect: as before */
	static const char *const local[] = {"git push --force-with-lease ../bare.git main",
					    "git push --force-with-lease /srv/repo.git main",
					    "git push -f file:///srv/r.git main"};
	for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++) {
		struct shunt_decision d = decide(p, local[i], false);
		IS(d.action, SHUNT_ACTION_SANDBOX, "%s: '%s' without a terminal: sandbox as before",
		   what, local[i]);
		ok(!d.remote_effect, "%s: not a remote effect", what);
	}
	IS(decide(p, "git push --force-with-lease ../bare.git main", true).action,
	   SHUNT_ACTION_SANDBOX, "%s: local lease push with a terminal: sandbox as before", what);
	IS(decide(p, "git push -f /srv/repo.git main", true).action, SHUNT_ACTION_PROMPT,
	   "%s: local force push with a terminal: prompt as before (high)", what);
	IS(decide(p, "git push origin main", false).action, SHUNT_ACTION_HOST,
	   "%s: a plain push stays on the host", what);
	IS(decide(p, "git push ../bare.git main", false).action, SHUNT_ACTION_HOST,
	   "%s: a plain push to disk stays on the host", what);
}

static const char pack[] = "rules:\n"
			   "  - id: t-remote\n"
			   "    description: deploys\n"
			   "    match: '^deploy'\n"
			   "    risk: medium\n"
			   "    effect: remote\n"
			   "  - id: t-local\n"
			   "    description: builds\n"
			   "    match: '^build'\n"
			   "    risk: medium\n"
			   "    effect: local\n";

int main(void)
{
	fx_embedded(pushes);

	struct shunt_config cfg;
	struct shunt_ruleset ts = {0};
	struct shunt_policy tp;
	struct shunt_error *err = NULL;
	shunt_config_defaults(&cfg);
	/* the mechanism on its own */
	ok(shunt_rules_load_buf(&ts, "t.yaml", pack, strlen(pack), &err) == 0, "test pack loads");
	ok(shunt_policy_build(&tp, &cfg, &ts, &err) == 0, "test policy builds");
	IS(decide(&tp, "deploy prod", true).action, SHUNT_ACTION_PROMPT, "remote medium: prompt");
	IS(decide(&tp, "deploy prod", false).action, SHUNT_ACTION_BLOCK,
	   "remote medium, no terminal: block");
	IS(decide(&tp, "build all", false).action, SHUNT_ACTION_SANDBOX,
	   "effect local: sandbox as without the key");
	tp.mode = SHUNT_MODE_NEVER;
	IS(decide(&tp, "deploy prod", true).action, SHUNT_ACTION_HOST,
	   "mode never: a medium remote effect stays host (the mode says so)");
	tp.mode = SHUNT_MODE_AUTO;
	tp.allowlist = (const char *const[]){"deploy prod"};
	tp.nallowlist = 1;
	IS(decide(&tp, "deploy prod", false).action, SHUNT_ACTION_HOST,
	   "allowlisted: host, no prompt");

	char msg[1024];
	ok(fx_load_err("rules:\n  - id: t\n    description: d\n    match: x\n    risk: low\n"
		       "    effect: remote-ish\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:6:13: ") && strstr(msg, "local | remote"),
	   "bad effect: file:line:col and the choices (%s)", msg);
	ok(fx_load_err("rules:\n  - id: t\n    description: d\n    match: x\n    risk: low\n"
		       "    efect: remote\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "did you mean 'effect'"),
	   "misspelt effect is suggested (%s)", msg);

	shunt_error_free(&err);
	shunt_policy_free(&tp);
	shunt_ruleset_free(&ts);
	shunt_config_free(&cfg);
	return done_testing();
}
