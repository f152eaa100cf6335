/* One exec, one decision (policy/exec_views.c) and the inherited record
 * (policy/inherit.c): the names an exec is decided under, launcher
 * scripts mapped back to their tool, the strictest view winning on the
 * YAML policy and on its snapshot, and the record's format and limits. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_views.h"
#include "inherit.h"
#include "policy_fixture.h"

static const char *launcher(const char *const *argv)
{
	static char buf[256];
	size_t argc = 0, rest = 0;
	while (argv[argc])
		argc++;
	const char *t = shunt_exec_launcher(argv, argc, buf, sizeof(buf), &rest);
	return t ? t : "(none)";
}

static void test_launcher(void)
{
	is_str(launcher((const char *[]){"node", "/usr/lib/node_modules/npm/bin/npm-cli.js",
					 "install", NULL}),
	       "npm", "node npm-cli.js is npm");
	is_str(launcher((const char *[]){"node", "/usr/bin/npm", "i", NULL}), "npm",
	       "node /usr/bin/npm (after the shebang) is npm");
	is_str(launcher((const char *[]){"node", "--no-warnings", "-r", "ts-node/register",
					 "node_modules/.bin/tsc", NULL}),
	       "tsc", "options and their values are skipped");
	is_str(launcher((const char *[]){"node", "/x/yarn/bin/yarn.js", "add", "x", NULL}), "yarn",
	       "yarn.js is yarn");
	is_str(launcher((const char *[]){"python3", "-m", "pip", "install", "x", NULL}), "pip",
	       "python3 -m pip is pip");
	is_str(launcher((const char *[]){"python3", "-mpip.__main__", "install", NULL}), "pip",
	       "-mMODULE.sub is the top package");
	is_str(launcher((const char *[]){
		   "python3", "/v/lib/python3.12/site-packages/pip/__main__.py", "install", NULL}),
	       "pip", "a package's __main__.py is the package");
	is_str(launcher((const char *[]){"python3", "/root/.pyenv/versions/3.12.0/bin/pip",
					 "install", "x", NULL}),
	       "pip", "a venv's pip script is pip");
	is_str(launcher((const char *[]){"node", "-e", "require('x')", NULL}), "(none)",
	       "inline code launches nothing by name");
	is_str(launcher((const char *[]){"python3", "-c", "print(1)", "x.py", NULL}), "(none)",
	       "python3 -c: inline");
	is_str(launcher((const char *[]){"node", NULL}), "(none)", "a bare REPL");
	ok(shunt_exec_is_interpreter("python3.12") && shunt_exec_is_interpreter("node") &&
	       shunt_exec_is_interpreter("pypy3"),
	   "interpreters are known");
	ok(!shunt_exec_is_interpreter("python3-config") && !shunt_exec_is_interpreter("nodemon"),
	   "look-alikes are not interpreters");
}

static void test_views(void)
{
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_exec_view v[SHUNT_EXEC_VIEWS];
	const char *npm[] = {"npm", "install", "left-pad", NULL};
	size_t n = shunt_exec_views("/usr/bin/npm", "/usr/lib/node_modules/npm/bin/npm-cli.js", npm,
				    3, &a, v);
	is_int(n, 2, "a symlinked launcher: resolved and invoked views");
	is_str(v[0].what, "resolved", "the resolved program first (ties keep today's decision)");
	is_str(v[1].exe, "/usr/bin/npm", "the invoked path");
	n = shunt_exec_views("/usr/lib/node_modules/npm/bin/npx-cli.js",
			     "/usr/lib/node_modules/npm/bin/npx-cli.js", npm, 3, &a, v);
	is_int(n, 2, "a launcher script run by its own path: a script view");
	is_str(v[1].exe, "npx", "npx-cli.js stands for npx");
	const char *ls[] = {"ls", "-l", NULL};
	is_int(shunt_exec_views("/usr/bin/ls", "/usr/bin/ls", ls, 2, &a, v), 1,
	       "a plain program has one view");
	const char *node[] = {"node", "/usr/bin/npm", "install", "x", NULL};
	n = shunt_exec_views("/usr/bin/node", "/usr/bin/node", node, 4, &a, v);
	is_int(n, 2, "an interpreter running a launcher: two views");
	is_str(v[1].what, "launcher", "the launcher view");
	ok(v[1].argc == 3 && strcmp(v[1].argv[0], "npm") == 0 &&
	       strcmp(v[1].argv[1], "install") == 0 && v[1].argv[3] == NULL,
	   "its argv is the tool's: npm install x");
	shunt_arena_release(&a);
}

static struct shunt_decision decide_exec(const struct shunt_policy *p, const char *invoked,
					 const char *resolved, const char *const *argv,
					 struct shunt_exec_view *which)
{
	static struct shunt_arena a;
	static bool init;
	fx_arena_renew(&a, &init);
	struct shunt_request req = {0};
	while (argv[req.argc])
		req.argc++;
	req.argv = argv;
	req.exe = resolved;
	req.cwd = "/w";
	req.workspace = "/w";
	req.home = "/nonexistent-home";
	req.interactive = false;
	req.source = SHUNT_SOURCE_SHIM;
	req.now = time(NULL);
	struct shunt_decision d;
	if (shunt_decide_exec(p, &req, invoked, &a, &d, which) < 0)
		memset(&d, 0xff, sizeof(d));
	return d;
}

static void check_decisions(const struct shunt_policy *p, const char *what)
{
	struct shunt_exec_view w;
	const char *npm[] = {"npm", "install", "left-pad", NULL};
	struct shunt_decision d =
	    decide_exec(p, "/usr/bin/npm", "/usr/lib/node_modules/npm/bin/npm-cli.js", npm, &w);
	IS(d.action, SHUNT_ACTION_SANDBOX, "%s: npm install through its symlink is sandboxed",
	   what);
	ok(d.nrules && strcmp(d.rules[0], "npm-install") == 0, "%s: by npm-install", what);
	const char *node[] = {"node", "/usr/bin/npm", "install", "left-pad", NULL};
	d = decide_exec(p, "/usr/bin/node", "/usr/bin/node", node, &w);
	IS(d.action, SHUNT_ACTION_SANDBOX, "%s: node /usr/bin/npm install is sandboxed", what);
	is_str(w.what, "launcher", "decided as the launcher's tool");
	const char *pip[] = {"python3", "-m", "pip", "install", "x", NULL};
	d = decide_exec(p, "/usr/bin/python3", "/usr/bin/python3.11", pip, &w);
	IS(d.action, SHUNT_ACTION_SANDBOX, "%s: python3 -m pip install is sandboxed", what);
	const char *del[] = {"del", "-rf", "/", NULL};
	d = decide_exec(p, "/tmp/del", "/usr/bin/rm", del, &w);
	IS(d.action, SHUNT_ACTION_BLOCK, "%s: a link named del to rm is still rm", what);
	const char *ls[] = {"ls", "-rf", "/", NULL};
	d = decide_exec(p, "/tmp/x/rm", "/usr/bin/ls", ls, &w);
	IS(d.action, SHUNT_ACTION_BLOCK,
	   "%s: the invoked name counts too: a link named rm is judged as rm (strictest)", what);
	/* an approval remembered under the name the user typed holds for the
	 * exec of that name, whatever the other views say */
	struct shunt_trust_ref tr = {0};
	shunt_trust_key(0, "/w", "python3 -m pip install x", tr.key);
	struct shunt_policy with_trust = *p;
	with_trust.trust = &tr;
	with_trust.ntrust = 1;
	d = decide_exec(&with_trust, "/usr/bin/python3", "/usr/bin/python3.11", pip, &w);
	ok(d.action == SHUNT_ACTION_HOST && d.trusted,
	   "%s: a remembered approval of python3 -m pip install holds through the symlink to "
	   "python3.11",
	   what);
	const char *run[] = {"npm", "run", "build", NULL};
	d = decide_exec(p, "/usr/bin/npm", "/usr/lib/node_modules/npm/bin/npm-cli.js", run, &w);
	IS(d.action, SHUNT_ACTION_HOST, "%s: npm run build stays on the host", what);
}

static struct shunt_decision fake(enum shunt_action act, enum shunt_risk risk, const char *rule,
				  bool remote)
{
	struct shunt_decision d;
	memset(&d, 0, sizeof(d));
	d.action = act;
	d.risk = risk;
	d.remote_effect = remote;
	if (rule) {
		d.rules[0] = rule;
		d.nrules = 1;
	}
	return d;
}

static void test_record(void)
{
	char buf[SHUNT_INHERIT_MAX];
	size_t n = shunt_inherit_format(buf, 's', 2, true, 0xfe00, UINT64_MAX);
	is_str(buf, "SHUNT_DECIDED=1:s:2:1:fe00:ffffffffffffffff", "the record's format");
	is_int(n, strlen(buf), "its length");
	ok(n < SHUNT_INHERIT_MAX, "the largest record fits");
	struct shunt_inherit r;
	ok(shunt_inherit_parse(buf + 14, &r) && r.layer == 's' && r.risk == 2 && r.remote &&
	       r.dev == 0xfe00 && r.ino == UINT64_MAX,
	   "it parses back");
	shunt_inherit_format(buf, 'g', 0, false, 0, 0);
	ok(shunt_inherit_parse(buf + 14, &r) && r.dev == 0 && r.ino == 0, "zero fields");
	const char *bad[] = {
	    "",		 "1:s:4:0:1:1",	 "1:s:1:2:1:1",	  "2:s:1:0:1:1",
	    "1:s:1:0:1", "1:s:1:0:1:1:", "1:s:1:0:xyz:1", "1:s:1:0:11111111111111111:1",
	    NULL};
	for (size_t i = 0; bad[i]; i++)
		ok(!shunt_inherit_parse(bad[i], &r), "malformed record '%s' is refused", bad[i]);
	char *env[] = {"A=1", buf, NULL};
	ok(shunt_inherit_find(env, &r) && r.layer == 'g', "found in an environment");

	/* the record of this very program (the test binary) */
	struct stat st;
	ok(stat("/proc/self/exe", &st) == 0, "stat /proc/self/exe");
	struct shunt_inherit me = {'s', SHUNT_RISK_LOW, false, (uint64_t)st.st_dev,
				   (uint64_t)st.st_ino};
	struct shunt_inherit other = me;
	other.ino++;
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[sl > 0 ? sl : 0] = '\0';
	const char *why;
	struct shunt_decision d = fake(SHUNT_ACTION_SANDBOX, SHUNT_RISK_HIGH, "git-reset-hard", 0);
	/* why is read after the call: argument order is unspecified */
	bool in = shunt_inherit_applies(&me, &d, self, &why);
	ok(in, "the program running itself inherits a high-risk internal exec (%s)", why);
	ok(!shunt_inherit_applies(&other, &d, self, &why),
	   "a record naming another program gives nothing");
	ok(!shunt_inherit_applies(&me, &d, "/usr/bin/rm", &why),
	   "another program above the accepted risk is judged alone");
	d = fake(SHUNT_ACTION_SANDBOX, SHUNT_RISK_MEDIUM, "npm-install", 0);
	struct shunt_inherit med = me;
	med.risk = SHUNT_RISK_MEDIUM;
	ok(shunt_inherit_applies(&med, &d, "/usr/bin/node", &why),
	   "within the accepted risk: inherited");
	d = fake(SHUNT_ACTION_BLOCK, SHUNT_RISK_HIGH, "x", 0);
	ok(!shunt_inherit_applies(&med, &d, self, &why), "a block is never inherited");
	d = fake(SHUNT_ACTION_PROMPT, SHUNT_RISK_CRITICAL, "x", 0);
	struct shunt_inherit all = me;
	all.risk = SHUNT_RISK_CRITICAL;
	all.remote = true;
	ok(!shunt_inherit_applies(&all, &d, self, &why), "a critical risk is never inherited");
	d = fake(SHUNT_ACTION_SANDBOX, SHUNT_RISK_MEDIUM, "secret-file-access", 0);
	ok(!shunt_inherit_applies(&all, &d, self, &why), "reading secrets is never inherited");
	d = fake(SHUNT_ACTION_PROMPT, SHUNT_RISK_HIGH, "env-dump-network", 0);
	ok(!shunt_inherit_applies(&all, &d, self, &why), "sending the env out is never inherited");
	d = fake(SHUNT_ACTION_PROMPT, SHUNT_RISK_MEDIUM, "git-push-force-with-lease", 1);
	ok(!shunt_inherit_applies(&med, &d, self, &why),
	   "a remote effect the parent was not accepted for is judged alone");
	ok(shunt_inherit_applies(&all, &d, self, &why), "one it was accepted for is inherited");
}

int main(void)
{
	test_launcher();
	test_views();
	fx_embedded(check_decisions);
	test_record();
	return done_testing();
}
