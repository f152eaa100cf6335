/* Parsed commands (policy/cmdparse.c) and the rules that match them
 * (command: in a pack): option splitting and aliases, value options,
 * path normalisation, read-only and destroy verbs; then every example of
 * issue 23 (false positives, local work thrown away, flag spellings, path
 * traversal, the generic fallback) and the effects of issue 18, decided
 * through the real shunt_decide with the embedded packs, from YAML and
 * from the snapshot the shim reads. */
#include "cmdparse.h"
#include "policy_fixture.h"

static struct shunt_arena A;
static struct shunt_parsed P;

static const struct shunt_lex_ctx CTX = {"/home/u", "/home/u/proj", "/home/u/proj"};

/* Lexes line and parses its first command into P. */
static void parse(const char *line)
{
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	struct shunt_cmdline cl;
	memset(&P, 0, sizeof(P));
	if (shunt_lex_line(line, strlen(line), &CTX, &A, &cl) < 0 || cl.n == 0 ||
	    shunt_cmdparse(cl.cmds[0].prog, cl.cmds[0].argv, cl.cmds[0].argc, &CTX, &A, &P) < 0)
		memset(&P, 0, sizeof(P));
}

/* The positionals of P, normalised, joined by spaces. */
static const char *pos(void)
{
	static char b[512];
	if (shunt_cmdparse_operands(&P) < 0)
		return "(ENOMEM)";
	size_t at = 0;
	b[0] = '\0';
	for (size_t i = 0; i < P.npos && at < sizeof(b) - 1; i++)
		at += (size_t)snprintf(b + at, sizeof(b) - at, "%s%s", i ? " " : "", P.pos[i]);
	return b;
}

/* The options of P as "name[=value]" joined by spaces. */
static const char *opts(void)
{
	static char b[512];
	size_t at = 0;
	b[0] = '\0';
	for (size_t i = 0; i < P.nopts && at < sizeof(b) - 1; i++)
		at += (size_t)snprintf(b + at, sizeof(b) - at, "%s%s%s%s", i ? " " : "",
				       P.opts[i].name, P.opts[i].value ? "=" : "",
				       P.opts[i].value ? P.opts[i].value : "");
	return b;
}

static void test_parse(void)
{
	parse("docker rm -vf web");
	is_str(opts(), "-v -f", "clustered short flags are split");
	is_str(pos(), "rm web", "positionals: subcommand then operand");
	parse("docker rm --force --volumes web");
	is_str(opts(), "-f -v", "docker's long options are their short aliases");
	parse("kubectl -n prod delete ns x");
	is_str(pos(), "delete ns x", "kubectl -n takes a value: the subcommand is delete");
	is_str(opts(), "-n=prod", "and the value stays with its option");
	parse("kubectl --namespace=prod delete ns x");
	is_str(opts(), "--namespace=prod", "--opt=value is split");
	parse("kubectl -nprod get pods");
	is_str(opts(), "-n=prod", "an attached short value");
	parse("git -C dir push --force origin main");
	is_str(pos(), "push origin main", "git -C dir push: subcommand push");
	ok(shunt_cmdparse_has_opt(&P, "-f") && shunt_cmdparse_has_opt(&P, "--force"),
	   "--force is -f for git, either spelling asks");
	parse("git commit -m \"Fix git push --force detection\"");
	is_str(pos(), "commit", "a -m message is a value, not words of the command");
	ok(!shunt_cmdparse_has_opt(&P, "--force"), "and --force inside it is no option");
	parse("git add reset --hard");
	is_str(pos(), "add reset", "git add reset --hard: the subcommand is add");
	parse("curl -XDELETE https://api/x");
	is_str(opts(), "-X=DELETE", "curl -XDELETE: the method is -X's value");
	parse("rm -Rf -- -weird /tmp/../etc");
	is_str(opts(), "-r -f", "rm -R is -r");
	is_str(pos(), "-weird /etc", "after -- everything is an operand; paths normalised");
	parse("rm -rf \"$TMPDIR/../etc\" ~/x/../y ./../../..");
	is_str(pos(), "/etc ~/y ../../..", "$TMPDIR, ~ and .. in operands");
	parse("rm -rf /home/u/proj/build");
	is_str(pos(), "./build", "workspace paths as in norm");
	parse("sudo -u root ls -la /root");
	is_str(pos(), "ls -la /root", "sudo: options end at the command it runs");
	parse("terraform destroy -auto-approve -var-file=x.tfvars");
	is_str(opts(), "-auto-approve -var-file=x.tfvars", "terraform options are not clusters");
	parse("find . -name x -delete");
	ok(shunt_cmdparse_has_opt(&P, "-delete"), "find -delete is one option");
	parse("ls");
	is_int(P.npos + P.nopts, 0, "a bare command has nothing");
}

static void test_verbs(void)
{
	static const char *const ro[] = {"ls -la",
					 "git status",
					 "git log -p",
					 "kubectl get pods",
					 "systemctl status x",
					 "docker ps",
					 "docker image ls",
					 "cat /etc/hosts",
					 "journalctl -u x",
					 "apt list --installed",
					 "find . -name x"};
	for (size_t i = 0; i < sizeof(ro) / sizeof(*ro); i++) {
		parse(ro[i]);
		ok(shunt_cmdparse_readonly(&P), "read-only: %s", ro[i]);
	}
	static const char *const rw[] = {"rm -rf x",
					 "git push",
					 "systemctl stop x",
					 "find . -delete",
					 "journalctl --vacuum-time=1d",
					 "docker rm x",
					 "find . -exec rm {} ;",
					 "kubectl delete ns x",
					 "sudo ls",
					 "ssh host ls"};
	for (size_t i = 0; i < sizeof(rw) / sizeof(*rw); i++) {
		parse(rw[i]);
		ok(!shunt_cmdparse_readonly(&P), "not read-only: %s", rw[i]);
	}
	static const char *const destroy[][2] = {
	    {"heroku apps:destroy x", "destroy"},
	    {"doctl compute droplet delete web", "delete"},
	    {"aws secretsmanager delete-secret --secret-id s", "delete"},
	    {"mytool --profile prod delete x", "delete"},
	    {"restic forget --keep-last 1 --prune", "forget"},
	    {"fly apps destroy x", "destroy"},
	    {"vercel remove site", "remove"}};
	for (size_t i = 0; i < sizeof(destroy) / sizeof(*destroy); i++) {
		parse(destroy[i][0]);
		const char *v = shunt_cmdparse_destroy_verb(&P);
		ok(v && !strcmp(v, destroy[i][1]), "destroy verb of %s: %s", destroy[i][0],
		   v ? v : "(none)");
	}
	static const char *const local[] = {"git rm x",
					    "docker rm x",
					    "npm uninstall x",
					    "brew remove x",
					    "pip uninstall x",
					    "tput reset",
					    "mytool list",
					    "cat delete",
					    "rm -rf x",
					    "make ./delete",
					    "ls drop/x",
					    "mytool a b c delete",
					    "mkdir remove",
					    "python3 -m pip uninstall x",
					    "cp delete x",
					    "sort remove",
					    "gcc -o remove remove.c",
					    "tee reset"};
	for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++) {
		parse(local[i]);
		ok(!shunt_cmdparse_destroy_verb(&P), "no generic destroy verb: %s", local[i]);
	}
	is_str(shunt_cmdparse_family_hint("heroku"), "paas", "heroku belongs to paas");
	is_str(shunt_cmdparse_canon("docker", "--force"), "-f", "canon docker --force");
	is_str(shunt_cmdparse_canon("unknown", "--force"), "--force", "no alias without a tool");
}

/* Every example of issue 23, decided for real. */
static void issue23(const struct shunt_policy *p, const char *what)
{
	static const char *const host[] = {"git commit -m \"Fix git push --force detection\"",
					   "git add reset --hard",
					   "$(echo hello)",
					   "`echo pwd`",
					   "sudo ls -la",
					   "sudo git status",
					   "echo 'docker rm -f x'",
					   "grep -r 'git push --force' .",
					   "printf 'rm -rf /'",
					   "git rm file.txt",
					   "mytool list",
					   "docker rm web",
					   "rsync -a src/ dst/"};
	for (size_t i = 0; i < sizeof(host) / sizeof(*host); i++) {
		struct shunt_decision d =
		    fx_decide(p, host[i], "/home/u/proj", "/home/u/proj", false);
		IS(d.action, SHUNT_ACTION_HOST, "%s: '%s' stays on the host (%s)", what, host[i],
		   d.why);
	}
	static const char *const guarded[] = {
	    "git checkout -- .",
	    "git restore .",
	    "git stash drop",
	    "git reset --merge",
	    "git branch -f main HEAD~1",
	    "git worktree remove --force ../wt",
	    "git gc --prune=now",
	    "git reflog expire --expire=now --all && git gc --prune=now",
	    "rsync -a --delete src/ dst/",
	    "rm -rf .*",
	    "docker rm --force x",
	    "docker rm -vf x",
	    "docker rm -fv x",
	    "docker rmi -f img",
	    "docker image prune",
	    "pip uninstall -y boto3",
	    "npm uninstall lodash",
	    "ssh-keygen -R host",
	    "docker rm -f x",
	    "sudo rm -rf /var/lib/x",
	    "sudo ls > /etc/motd"};
	for (size_t i = 0; i < sizeof(guarded) / sizeof(*guarded); i++) {
		struct shunt_decision d =
		    fx_decide(p, guarded[i], "/home/u/proj", "/home/u/proj", false);
		ok(d.action != SHUNT_ACTION_HOST && d.nrules > 0, "%s: '%s' is guarded (%s: %s)",
		   what, guarded[i], shunt_action_name(d.action), d.why);
	}
	static const char *const blocked[] = {"rm -rf /tmp/../etc", "rm -rf \"$TMPDIR/../etc\"",
					      "rm -rf ./../../..",  "sudo rm -rf /etc",
					      "rm -rf ~root",	    "sudo rm -rf /tmp/../usr"};
	for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++) {
		struct shunt_decision d =
		    fx_decide(p, blocked[i], "/home/u/proj", "/home/u/proj", true);
		IS(d.action, SHUNT_ACTION_BLOCK, "%s: '%s' is blocked even at a terminal (%s)",
		   what, blocked[i], d.why);
	}
	/* the generic fallback: prompt at a terminal, block with a reason without */
	static const char *const generic[] = {"rancher cluster delete x", "koyeb apps:destroy x",
					      "stackit server delete x", "upcloud server delete web"};
	for (size_t i = 0; i < sizeof(generic) / sizeof(*generic); i++) {
		struct shunt_decision d =
		    fx_decide(p, generic[i], "/home/u/proj", "/home/u/proj", true);
		IS(d.action, SHUNT_ACTION_PROMPT, "%s: '%s' prompts at a terminal", what,
		   generic[i]);
		ok(d.nrules == 1 && !strcmp(d.rules[0], "generic-destroy-verb"),
		   "%s: by the generic fallback", what);
		d = fx_decide(p, generic[i], "/home/u/proj", "/home/u/proj", false);
		IS(d.action, SHUNT_ACTION_BLOCK, "%s: '%s' blocks with no terminal", what,
		   generic[i]);
		ok(strstr(d.why, "remote system") != NULL, "%s: saying why (%s)", what, d.why);
	}
	/* a program a pack names is left to that pack */
	struct shunt_decision d =
	    fx_decide(p, "git branch delete-me", "/home/u/proj", "/home/u/proj", false);
	IS(d.action, SHUNT_ACTION_HOST, "%s: git branch delete-me: git is local, no fallback",
	   what);
	/* git's own programs, as git runs them (git bisect reset under the shim) */
	d = fx_decide(p, "/usr/lib/git-core/git-bisect reset -q", "/home/u/proj", "/home/u/proj",
		      false);
	IS(d.action, SHUNT_ACTION_HOST, "%s: git-bisect reset: git's own program is local", what);
}

static struct shunt_policy *build(const char *yaml, struct shunt_ruleset *rs,
				  struct shunt_config *cfg)
{
	static struct shunt_policy pol;
	struct shunt_error *err = NULL;
	shunt_config_defaults(cfg);
	int rc = shunt_rules_load_buf(rs, "t.yaml", yaml, strlen(yaml), &err);
	if (rc == 0)
		rc = shunt_policy_build(&pol, cfg, rs, &err);
	if (err)
		diag("%s", err->msg);
	shunt_error_free(&err);
	return rc == 0 ? &pol : NULL;
}

static void effects_check(const struct shunt_policy *p, const char *what)
{
	struct shunt_decision d = fx_decide(p, "readsecret x", "/w", "/w", true);
	IS(d.action, SHUNT_ACTION_PROMPT, "%s: credentials effect: prompt, not sandbox", what);
	ok(strstr(d.why, "credentials") != NULL, "%s: why names credentials (%s)", what, d.why);
	d = fx_decide(p, "readsecret x", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_BLOCK, "%s: credentials with no terminal: block", what);
	d = fx_decide(p, "svc stop x", "/w", "/w", false);
	/* a sandbox cannot reach systemd or the kernel: refused with no terminal */
	IS(d.action, SHUNT_ACTION_BLOCK, "%s: system effect with no terminal: block", what);
	ok(strstr(d.why, "running machine") != NULL, "%s: why names the machine (%s)", what, d.why);
	ok(d.effects == 1u << SHUNT_EFFECT_SYSTEM, "%s: effects say system", what);
	d = fx_decide(p, "fetch x", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_SANDBOX, "%s: network effect: sandboxed", what);
	d = fx_decide(p, "svc status x", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_HOST, "%s: subcommand must match", what);
	d = fx_decide(p, "tool wipe a b /etc", "/w", "/w", false);
	ok(d.nrules == 1 && !strcmp(d.rules[0], "t-ops"), "%s: operands_match sees the operands",
	   what);
	d = fx_decide(p, "tool wipe /etc a", "/w", "/w", false);
	ok(d.nrules == 0, "%s: ... only after the subcommand, anchored (%zu)", what, d.nrules);
	d = fx_decide(p, "tool -x wipe", "/w", "/w", false);
	ok(d.nrules == 1 && !strcmp(d.rules[0], "t-both"), "%s: match and command both hold", what);
	d = fx_decide(p, "tool -y wipe", "/w", "/w", false);
	ok(d.nrules == 0, "%s: ... and not when the regex fails", what);
}

static void test_effects(void)
{
	static const char yaml[] =
	    "family: test\n"
	    "rules:\n"
	    "  - {id: t-cred, description: reads a secret, risk: medium, effect: credentials,\n"
	    "     command: {program: readsecret}}\n"
	    "  - {id: t-sys, description: stops a service, risk: medium, effect: system,\n"
	    "     command: {program: svc, subcommand: [stop, disable]}}\n"
	    "  - {id: t-net, description: fetches, risk: medium, effect: network,\n"
	    "     command: {program: fetch}}\n"
	    "  - {id: t-ops, description: wipes etc, risk: medium,\n"
	    "     command: {program: tool, subcommand: wipe, operands_match: '^\\S+ \\S+ /etc$'}}\n"
	    "  - {id: t-both, description: x and wipe, risk: medium, match: '^tool -x',\n"
	    "     command: {program: tool, subcommand: wipe}}\n";
	struct shunt_ruleset rs = {0};
	struct shunt_config cfg;
	struct shunt_policy *p = build(yaml, &rs, &cfg);
	ok(p != NULL, "a pack with effects and command: loads");
	if (!p)
		return;
	is_str(rs.rules[0].family, "test", "pack-level family: reaches its rules");
	fx_both(p, effects_check);
	shunt_policy_free(p);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
}

static void test_load_errors(void)
{
	char msg[1100];
	static const struct {
		const char *yaml, *want;
	} bad[] = {
	    {"rules:\n  - {id: a, description: d, risk: low, command: {program: x, optons_any: "
	     "[-f]}}\n",
	     "t.yaml:2:62: unknown key 'optons_any' in command, did you mean 'options_any'?"},
	    {"rules:\n  - {id: a, description: d, risk: low, command: {subcommand: rm}}\n",
	     "needs a 'program'"},
	    {"rules:\n  - {id: a, description: d, risk: low, command: {program: x, options_any: "
	     "[f]}}\n",
	     "'f' is not an option"},
	    {"rules:\n  - {id: a, description: d, risk: low, command: {program: x, operands_match: "
	     "'('}}\n",
	     "invalid operands_match at offset"},
	    {"rules:\n  - {id: a, description: d, risk: low, command: {program: x, subcommand: ' "
	     "rm'}}\n",
	     "must be words"},
	    {"rules:\n  - {id: a, description: d, risk: low}\n", "has no 'match' and no 'command'"},
	    {"rules:\n  - {id: a, description: d, risk: low, effect: cloud, match: x}\n",
	     "invalid effect 'cloud' (expected local | remote | network | credentials | system)"},
	    {"family: Bad Name\nrules: []\n", "'family' must be a name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct shunt_ruleset t = {0};
		struct shunt_error *err = NULL;
		int rc = shunt_rules_load_buf(&t, "t.yaml", bad[i].yaml, strlen(bad[i].yaml), &err);
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		ok(rc < 0 && strstr(msg, bad[i].want), "load error: %s (got: %s)", bad[i].want,
		   msg);
		ok(err && err->exitcode == 2, "exit code 2");
		shunt_error_free(&err);
		shunt_ruleset_free(&t);
	}
}

int main(void)
{
	shunt_arena_init_heap(&A);
	test_parse();
	test_verbs();
	fx_embedded(issue23);
	test_effects();
	test_load_errors();
	shunt_arena_release(&A);
	return done_testing();
}
