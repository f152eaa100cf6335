/* unless_installed: running a tool the project already installed
 * (node_modules/.bin) is not a networked install. Through the real
 * decide, with the embedded packs, in a temporary workspace; the loader's
 * checks of the key; the snapshot keeps it. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_fixture.h"

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

/* Decides line with cwd = ws/sub (or ws when sub is "") and the
 * workspace ws (ws_override when set). */
static struct shunt_decision decide(const struct shunt_policy *p, const char *line, const char *sub)
{
	static char cwd[512];
	snprintf(cwd, sizeof(cwd), "%s%s%s", ws, *sub ? "/" : "", sub);
	return fx_decide(p, line, cwd, ws_override ? ws_override : ws, true);
}

#define RULE_HEAD "rules:\n  - id: t\n    description: d\n    risk: medium\n    programs: [npx]\n"

static void loader_checks(void)
{
	char msg[1024];
	ok(fx_load_err(RULE_HEAD
		       "    match: '^npx\\s+(\\S+)'\n    unless_installed: node_modules/.bin\n",
		       msg, sizeof(msg)) == 0,
	   "unless_installed with a capture group loads");
	ok(fx_load_err(RULE_HEAD
		       "    match: '^npx\\s+\\S+'\n    unless_installed: node_modules/.bin\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:7:23: ") && strstr(msg, "capture group"),
	   "no capture group: file:line:col error (%s)", msg);
	ok(fx_load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: /usr/bin\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:7:23: ") && strstr(msg, "relative"),
	   "absolute directory refused (%s)", msg);
	ok(fx_load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: ../bin\n", msg,
		       sizeof(msg)) < 0 &&
	       strstr(msg, "'..'"),
	   "'..' refused (%s)", msg);
	ok(fx_load_err(RULE_HEAD "    match: '^npx\\s+(\\S+)'\n    unless_installed: [a]\n", msg,
		       sizeof(msg)) < 0 &&
	       strstr(msg, "must be a string"),
	   "a list refused (%s)", msg);
	ok(fx_load_err(RULE_HEAD "    match: '(\\S+)'\n    scope: line\n"
				 "    unless_installed: node_modules/.bin\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "scope command"),
	   "scope line refused (%s)", msg);
	ok(fx_load_err(RULE_HEAD
		       "    match: '^npx\\s+(\\S+)'\n    unless_instaled: node_modules/.bin\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "did you mean 'unless_installed'"),
	   "misspelt key suggests unless_installed (%s)", msg);
}

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

	fx_embedded(decisions);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	(void)!system(cmd);
	return done_testing();
}
