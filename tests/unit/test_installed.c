/* unless_installed: running a tool the project already installed
 * (node_modules/.bin) is not a networked install. Through the real
 * decide, with the embedded packs, in a temporary workspace; the loader's
 * checks of the key; the snapshot keeps it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "rules.h"
#include "snapshot.h"
#include "tap.h"

static char ws[256];
static const char *ws_override; /* the workspace, when not ws */

static void mkfile(const char *rel, int mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		(void)!write(fd, "#!/bin/sh\n", 10);
		close(fd);
	}
	chmod(p, mode);
}

static void mkdirs(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	for (char *s = p + strlen(ws) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
}

/* Decides an argv line with cwd = ws/sub (or ws when sub is "") and the
 * workspace ws. */
static struct shunt_decision decide(const struct shunt_policy *p, const char *line, const char *sub)
{
	static struct shunt_arena a;
	static bool init;
	static char cwd[512];
	if (init)
		shunt_arena_release(&a);
	shunt_arena_init_heap(&a);
	init = true;
	snprintf(cwd, sizeof(cwd), "%s%s%s", ws, *sub ? "/" : "", sub);
	struct shunt_request req = {0};
	req.line = line;
	req.line_len = strlen(line);
	req.cwd = cwd;
	req.workspace = ws_override ? ws_override : ws;
	req.home = "/nonexistent-home";
	req.interactive = true;
	req.source = SHUNT_SOURCE_CLI;
	req.now = time(NULL);
	struct shunt_decision d;
	if (shunt_decide(p, &req, &a, &d) < 0)
		memset(&d, 0xff, sizeof(d));
	return d;
}

static int load_err(const char *yaml, char *msg, size_t cap)
{
	struct shunt_ruleset t = {0};
	struct shunt_error *err = NULL;
	int rc = shunt_rules_load_buf(&t, "x.yaml", yaml, strlen(yaml), &err);
	snprintf(msg, cap, "%s", err ? err->msg : "");
	shunt_error_free(&err);
	shunt_ruleset_free(&t);
	return rc;
}

#define RULE_HEAD "rules:\n  - id: t\n    description: d\n    risk: medium\n    programs: [npx]\n"

static void loader_checks(void)
{
	char msg[1024];
	ok(load_err(RULE_HEAD
		    "    match: '^npx\\s+(\\S+)'\n    unless_installed: node_modules/.bin\n",
		    msg, sizeof(msg)) == 0,
	   "unless_installed with a capture group loads");
	ok(load_err(RULE_HEAD
		    "    match: '^npx\\s+\\S+'\n    unless_installed: node_modules/.bin\n",
		    msg, sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:7:23: ") && strstr(msg, "capture group"),
	   "no capture group: file:line:col error (%s)", msg);
	ok(load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: /usr/bin\n", msg,
		    sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:7:23: ") && strstr(msg, "relative"),
	   "absolute directory refused (%s)", msg);
	ok(load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: ../bin\n", msg,
		    sizeof(msg)) < 0 &&
	       strstr(msg, "'..'"),
	   "'..' refused (%s)", msg);
	ok(load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: [a]\n", msg,
		    sizeof(msg)) < 0 &&
	       strstr(msg, "must be a string"),
	   "a list refused (%s)", msg);
	ok(load_err(RULE_HEAD "    match: '(\\S+)'\n    scope: line\n"
			      "    unless_installed: node_modules/.bin\n",
		    msg, sizeof(msg)) < 0 &&
	       strstr(msg, "scope command"),
	   "scope line refused (%s)", msg);
	ok(load_err(RULE_HEAD
		    "    match: '^npx\\s+(\\S+)'\n    unless_instaled: node_modules/.bin\n",
		    msg, sizeof(msg)) < 0 &&
	       strstr(msg, "did you mean 'unless_installed'"),
	   "misspelt key suggests unless_installed (%s)", msg);
}

/* is_int with a formatted name */
#define IS(a, b, ...) ok((int)(a) == (int)(b), __VA_ARGS__)

static void decisions(const struct shunt_policy *p, const char *what)
{
	struct shunt_decision d = decide(p, "npx tsc --version", "");
	IS(d.action, SHUNT_ACTION_HOST, "%s: npx tsc with node_modules/.bin/tsc: host", what);
	ok(d.nrules == 0, "%s: and no rule reported", what);
	ok(d.cwd_dependent, "%s: the decision says it read the cwd", what);
	IS(decide(p, "npx tsc --version", "sub/deep").action, SHUNT_ACTION_HOST,
	   "%s: from a subdirectory, found in the workspace root", what);
	IS(decide(p, "npm exec -- tsc --version", "").action, SHUNT_ACTION_HOST,
	   "%s: npm exec -- tsc: host", what);
	IS(decide(p, "npm x tsc", "").action, SHUNT_ACTION_HOST, "%s: npm x tsc: host", what);
	IS(decide(p, "bunx tsc", "").action, SHUNT_ACTION_HOST, "%s: bunx tsc: host", what);

	d = decide(p, "npx -y cowsay hi", "");
	IS(d.action, SHUNT_ACTION_SANDBOX, "%s: npx -y cowsay (not installed): sandbox", what);
	ok(d.nrules == 1 && strcmp(d.rules[0], "npx-package") == 0, "%s: as npx-package", what);
	IS(decide(p, "npm exec cowsay", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: npm exec cowsay (not installed): sandbox", what);
	IS(decide(p, "npx -p typescript tsc", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: npx -p PKG fetches PKG even with the bin installed", what);
	IS(decide(p, "pnpx tsc", "").action, SHUNT_ACTION_SANDBOX, "%s: pnpx always fetches", what);
	IS(decide(p, "npx notexec", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: a bin without the exec bit is not installed", what);
	IS(decide(p, "npx ..", "").action, SHUNT_ACTION_SANDBOX, "%s: '..' is never a bin name",
	   what);
	IS(decide(p, "npx nested/tsc", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: a word with '/' is not looked up", what);
	IS(decide(p, "npx outside", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: a bin above the workspace root does not count", what);
	IS(decide(p, "npx tsc && npm install left-pad", "").action, SHUNT_ACTION_SANDBOX,
	   "%s: another rule of the line still applies", what);
	/* installed elsewhere does not count: a project of its own below */
	char other[300];
	snprintf(other, sizeof(other), "%s/other", ws);
	ws_override = other;
	IS(decide(p, "npx tsc --version", "other").action, SHUNT_ACTION_SANDBOX,
	   "%s: a nested project without tsc: sandbox", what);
	ws_override = NULL;

	/* runners that never fetch stay on the host */
	IS(decide(p, "pnpm exec tsc", "").action, SHUNT_ACTION_HOST, "%s: pnpm exec: host", what);
	IS(decide(p, "yarn tsc", "").action, SHUNT_ACTION_HOST, "%s: yarn tsc: host", what);
	IS(decide(p, "uv run pytest", "").action, SHUNT_ACTION_HOST, "%s: uv run pytest: host",
	   what);
	d = decide(p, "ls -la", "");
	ok(!d.cwd_dependent, "%s: a decision that read no cwd says so", what);
}

int main(void)
{
	loader_checks();

	/* parent/ws (.git), ws/node_modules/.bin/{tsc,notexec}, ws/sub/deep,
	 * ws/other (a project of its own), parent/node_modules/.bin/outside */
	char parent[] = "/tmp/shunt-installed-XXXXXX";
	if (!mkdtemp(parent))
		return 1;
	snprintf(ws, sizeof(ws), "%s", parent);
	mkdirs("node_modules/.bin");
	mkfile("node_modules/.bin/outside", 0755);
	snprintf(ws, sizeof(ws), "%s/ws", parent);
	mkdir(ws, 0700);
	mkdirs(".git");
	mkdirs("node_modules/.bin");
	mkdirs("sub/deep");
	mkdirs("other/.git");
	mkfile("node_modules/.bin/tsc", 0755);
	mkfile("node_modules/.bin/notexec", 0644);

	struct shunt_config cfg;
	struct shunt_ruleset rs = {0};
	struct shunt_policy pol;
	struct shunt_error *err = NULL;
	shunt_config_defaults(&cfg);
	ok(shunt_rules_load_embedded(&rs, &err) == 0, "embedded rules load");
	ok(shunt_policy_build(&pol, &cfg, &rs, &err) == 0, "policy builds");
	shunt_error_free(&err);
	decisions(&pol, "yaml");

	/* the shim decides from the snapshot: the key must survive it */
	void *data = NULL;
	size_t len = 0;
	struct shunt_snapshot s;
	ok(shunt_snapshot_encode(&pol, &data, &len, &err) == 0, "snapshot encodes");
	if (data && shunt_snapshot_load_mem(data, len, true, &s) == 0) {
		decisions(&s.policy, "snapshot");
		shunt_snapshot_unload(&s);
	} else {
		ok(0, "snapshot loads");
	}
	free(data);
	shunt_error_free(&err);
	shunt_policy_free(&pol);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	(void)!system(cmd);
	return done_testing();
}
