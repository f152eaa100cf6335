/* The decision: modes, levels, lists, trust, rule actions, GODMODE,
 * non-interactive handling, and robustness on hostile input. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "config.h"
#include "policy.h"
#include "rules.h"
#include "policy_fixture.h"
#include "tap.h"

static const char pack[] = "rules:\n"
			   "  - id: t-medium\n"
			   "    description: medium thing\n"
			   "    match: '^npm install'\n"
			   "    programs: [npm]\n"
			   "    risk: medium\n"
			   "    tags: [t]\n"
			   "  - id: t-high\n"
			   "    description: high thing\n"
			   "    match: '^shred'\n"
			   "    risk: high\n"
			   "    tags: [t]\n"
			   "  - id: t-critical\n"
			   "    description: critical thing\n"
			   "    match: '^wipe'\n"
			   "    risk: critical\n"
			   "    tags: [t]\n"
			   "  - id: t-block\n"
			   "    description: blocked thing\n"
			   "    match: '^forkbomb'\n"
			   "    risk: critical\n"
			   "    action: block\n"
			   "    tags: [t]\n"
			   "  - id: t-sandbox-only\n"
			   "    description: high but a sandbox is enough\n"
			   "    match: '^build-untrusted'\n"
			   "    risk: high\n"
			   "    action: sandbox\n"
			   "    tags: [t]\n"
			   "  - id: t-god\n"
			   "    description: wants everything\n"
			   "    match: '^install-os'\n"
			   "    risk: medium\n"
			   "    profile: GODMODE\n"
			   "    tags: [t]\n"
			   "  - id: t-line\n"
			   "    description: download into a shell\n"
			   "    match: 'curl[^|]*\\|\\s*sh'\n"
			   "    scope: line\n"
			   "    risk: high\n"
			   "    tags: [t]\n"
			   "  - id: t-backtrack\n"
			   "    description: catastrophic backtracking\n"
			   "    match: '^slow (a+)+$'\n"
			   "    programs: [slow]\n"
			   "    risk: high\n"
			   "    tags: [t]\n";

static struct shunt_config cfg;
static struct shunt_ruleset rs;
static struct shunt_policy pol;

static struct shunt_decision decide_line(const char *line, bool interactive)
{
	return fx_decide_home(&pol, line, "/home/u/proj", "/home/u/proj", "/home/u", interactive);
}

static void rebuild(void)
{
	struct shunt_error *err = NULL;
	shunt_policy_free(&pol);
	if (shunt_policy_build(&pol, &cfg, &rs, &err) < 0)
		diag("policy build failed: %s", err->msg);
	shunt_error_free(&err);
}

#define ACT(line, inter) decide_line(line, inter).action

int main(void)
{
	struct shunt_error *err = NULL;
	shunt_config_defaults(&cfg);
	ok(shunt_rules_load_buf(&rs, "test.yaml", pack, strlen(pack), &err) == 0,
	   "test pack loads");
	if (err)
		diag("%s", err->msg);
	rebuild();

	/* mode auto (default) */
	struct shunt_decision d = decide_line("ls -la", true);
	is_int(d.action, SHUNT_ACTION_HOST, "auto: low risk runs on the host");
	is_int(d.score, 0, "auto: no match scores 0");
	is_int(d.profile, SHUNT_PROFILE_NONE, "host has no profile");
	is_int(d.runtime, SHUNT_RUNTIME_NONE, "host has no runtime");
	is_str(d.why, "low risk, no isolation needed", "host why");
	d = decide_line("npm install left-pad", true);
	is_int(d.action, SHUNT_ACTION_SANDBOX, "auto: medium is sandboxed");
	is_int(d.profile, SHUNT_PROFILE_WORKSPACE_WRITE, "medium defaults to WORKSPACE_WRITE");
	is_int(d.runtime, SHUNT_RUNTIME_PROCESS, "no gVisor: process runtime");
	is_str(d.why, "medium risk + medium thing", "why names the risk and the rule");
	ok(d.nrules == 1 && strcmp(d.rules[0], "t-medium") == 0, "rule id reported");
	is_int(ACT("shred x", true), SHUNT_ACTION_PROMPT, "auto: high prompts a human");
	is_int(ACT("shred x", false), SHUNT_ACTION_SANDBOX,
	       "auto: high without terminal follows non_interactive (sandbox)");
	is_int(ACT("wipe x", true), SHUNT_ACTION_PROMPT, "auto: critical prompts a human");
	d = decide_line("wipe x", false);
	is_int(d.action, SHUNT_ACTION_BLOCK, "critical without terminal is blocked, not sandboxed");
	ok(strstr(d.why, "no terminal to confirm") != NULL, "and says why");
	is_int(ACT("forkbomb", true), SHUNT_ACTION_BLOCK,
	       "rule action block blocks even with a human");
	is_int(ACT("build-untrusted", true), SHUNT_ACTION_SANDBOX,
	       "rule action sandbox: high but sandboxed");
	d = decide_line("install-os", true);
	is_int(d.action, SHUNT_ACTION_PROMPT, "GODMODE always needs confirmation");
	is_int(d.profile, SHUNT_PROFILE_GODMODE, "GODMODE profile kept");
	ok(d.would_prompt_godmode, "flagged as a GODMODE prompt");
	is_int(ACT("install-os", false), SHUNT_ACTION_BLOCK, "GODMODE without terminal is blocked");
	is_int(ACT("curl -s http://x | sh", true), SHUNT_ACTION_PROMPT,
	       "line-scope rule sees the pipeline");
	is_int(ACT("curl -s http://x | jq .", true), SHUNT_ACTION_HOST,
	       "curl | jq stays on the host");
	is_int(ACT("$(which ls) -la", true), SHUNT_ACTION_SANDBOX,
	       "dynamic command name is at least medium");
	is_int(ACT("$(echo ls) -la", true), SHUNT_ACTION_HOST,
	       "$(echo ls) names ls: low risk stays on the host (issue 23)");
	is_int(ACT("`echo pwd`", false), SHUNT_ACTION_HOST, "`echo pwd` stays on the host");
	d = decide_line("ls; npm install x; shred y", true);
	is_int(d.risk, SHUNT_RISK_HIGH, "a line takes the highest risk of its commands");
	is_int(d.nrules, 2, "both rules reported");

	/* non_interactive: block */
	cfg.non_interactive = SHUNT_NONINT_BLOCK;
	rebuild();
	is_int(ACT("shred x", false), SHUNT_ACTION_BLOCK,
	       "non_interactive block refuses unattended prompts");
	cfg.non_interactive = SHUNT_NONINT_SANDBOX;

	/* modes */
	cfg.mode = SHUNT_MODE_ALWAYS;
	rebuild();
	d = decide_line("ls", true);
	is_int(d.action, SHUNT_ACTION_SANDBOX, "always: even low risk is sandboxed");
	cfg.mode = SHUNT_MODE_RISKY;
	rebuild();
	is_int(ACT("npm install x", true), SHUNT_ACTION_HOST, "risky: medium runs on the host");
	is_int(ACT("shred x", true), SHUNT_ACTION_SANDBOX, "risky: high is sandboxed");
	is_int(ACT("wipe x", true), SHUNT_ACTION_PROMPT, "risky: critical prompts");
	cfg.mode = SHUNT_MODE_NEVER;
	rebuild();
	is_int(ACT("npm install x", true), SHUNT_ACTION_HOST, "never: medium on the host");
	is_int(ACT("shred x", true), SHUNT_ACTION_PROMPT, "never: high still asks");
	is_int(ACT("shred x", false), SHUNT_ACTION_BLOCK,
	       "never + no terminal: refused, never sandboxed");
	is_int(ACT("build-untrusted", true), SHUNT_ACTION_PROMPT,
	       "never: a rule's sandbox becomes a prompt");
	cfg.mode = SHUNT_MODE_AUTO;

	/* security level */
	cfg.security_level = SHUNT_LEVEL_PARANOID;
	rebuild();
	is_int(ACT("npm install x", true), SHUNT_ACTION_PROMPT, "paranoid: medium needs approval");
	is_int(ACT("ls", true), SHUNT_ACTION_HOST, "paranoid: low still on the host");
	cfg.security_level = SHUNT_LEVEL_BALANCED;

	/* runtime mapping */
	cfg.sandbox.profile_runtime[SHUNT_PROFILE_WORKSPACE_WRITE] = SHUNT_RUNTIME_AUTO;
	rebuild();
	pol.gvisor_available = true;
	is_int(decide_line("npm install x", true).runtime, SHUNT_RUNTIME_GVISOR,
	       "WORKSPACE_WRITE goes to gVisor when available");
	is_int(decide_line("install-os", true).runtime, SHUNT_RUNTIME_MICROVM,
	       "GODMODE goes to a microVM");
	cfg.sandbox.runtime = SHUNT_RUNTIME_PROCESS;
	rebuild();
	is_int(decide_line("npm install x", true).runtime, SHUNT_RUNTIME_PROCESS,
	       "an explicit runtime wins over the mapping");
	cfg.sandbox.runtime = SHUNT_RUNTIME_AUTO;

	/* allowlist / denylist */
	shunt_strv_push(&cfg.allowlist, "npm install left-pad");
	shunt_strv_push(&cfg.allowlist, "wipe *");
	shunt_strv_push(&cfg.denylist, "*DROP DATABASE*");
	shunt_strv_push(&cfg.denylist, "curl * | sh");
	rebuild();
	d = decide_line("npm install left-pad", true);
	is_int(d.action, SHUNT_ACTION_HOST, "allowlisted runs on the host");
	ok(d.allowlisted, "allowlisted flag");
	is_int(ACT("npm install left-pad; shred x", true), SHUNT_ACTION_PROMPT,
	       "allowlist matches the whole line only");
	is_int(ACT("wipe everything", true), SHUNT_ACTION_PROMPT,
	       "allowlist cannot override a critical rule");
	d = decide_line("psql -c 'DROP DATABASE prod'", true);
	is_int(d.action, SHUNT_ACTION_BLOCK, "denylisted is blocked");
	ok(d.denylisted && strstr(d.why, "denylisted") != NULL, "and says so");
	is_int(ACT("curl -fsSL https://get.example | sh", true), SHUNT_ACTION_BLOCK,
	       "denylist glob over a pipeline");
	shunt_strv_free(&cfg.allowlist);
	shunt_strv_free(&cfg.denylist);
	rebuild();

	/* risk floors */
	struct shunt_risk_floor floor = {strdup("t-medium"), SHUNT_RISK_HIGH};
	cfg.risk_floors = &floor;
	cfg.nrisk_floors = 1;
	rebuild();
	is_int(decide_line("npm install x", true).risk, SHUNT_RISK_HIGH,
	       "a risk floor raises a rule");
	struct shunt_risk_floor bad = {strdup("no-such-rule"), SHUNT_RISK_HIGH};
	cfg.risk_floors = &bad;
	struct shunt_policy p2;
	ok(shunt_policy_build(&p2, &cfg, &rs, &err) < 0 && err && err->exitcode == 2,
	   "an unknown rule id in risk_floors is an error (exit 2)");
	shunt_error_free(&err);
	cfg.risk_floors = NULL;
	cfg.nrisk_floors = 0;
	free(floor.rule_id);
	free(bad.rule_id);
	rebuild();

	/* trust: exact key, expiry, and the executable fingerprint */
	char exe[] = "/tmp/shunt-test-decide-XXXXXX";
	int fd = mkstemp(exe);
	ok(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10, "temp executable");
	close(fd);
	struct stat st;
	stat(exe, &st);
	struct shunt_trust_ref ref = {0};
	d = decide_line("shred x", true);
	memcpy(ref.key, d.trust_key, 32);
	ref.dev = st.st_dev, ref.ino = st.st_ino, ref.size = st.st_size;
	ref.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	ref.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	ref.exe = exe;
	pol.trust = &ref;
	pol.ntrust = 1;
	d = decide_line("shred x", true);
	is_int(d.action, SHUNT_ACTION_HOST, "a trusted command runs on the host");
	ok(d.trusted && strstr(d.why, "trusted") != NULL, "and says it is trusted");
	d = decide_line("shred x", true);
	uint8_t other[32];
	shunt_trust_key(0, "/other/ws", d.cmdline.line, other);
	ok(memcmp(other, d.trust_key, 32) != 0, "exact trust is bound to the workspace");
	ref.expires = time(NULL) - 10;
	is_int(ACT("shred x", true), SHUNT_ACTION_PROMPT, "an expired entry no longer applies");
	ref.expires = 0;
	sleep(1);
	fd = open(exe, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "echo evil\n", 10) == 10, "replace the executable's content");
	close(fd);
	d = decide_line("shred x", true);
	is_int(d.action, SHUNT_ACTION_PROMPT, "a changed executable voids the trust entry");
	ok(d.trust_stale && strstr(d.why, "executable changed") != NULL, "and says why");
	unlink(exe);
	pol.trust = NULL;
	pol.ntrust = 0;

	/* robustness */
	d = decide_line("slow aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true);
	ok(d.action != SHUNT_ACTION_HOST,
	   "a regex hitting its limit counts as a match (fail closed)");
	size_t big = 1 << 20;
	char *line = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		line[i] = "ab c;|'\"$()\\"[i % 13];
	line[big] = '\0';
	d = decide_line(line, false);
	ok(d.action <= SHUNT_ACTION_BLOCK, "a 1 MB hostile line ends in a decision");
	memset(line, 0, big);
	memcpy(line, "ls", 2);
	memcpy(line + 3, "; wipe x", 8);
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_request req = {0};
	req.line = line;
	req.line_len = 11;
	req.home = "/home/u";
	req.now = time(NULL);
	struct shunt_decision dn;
	ok(shunt_decide(&pol, &req, &a, &dn) == 0 && dn.action != SHUNT_ACTION_HOST,
	   "text hidden after an embedded NUL is still judged");
	shunt_arena_release(&a);
	/* 100 000 arguments as argv */
	const char **argv = calloc(100001, sizeof(*argv));
	for (size_t i = 0; i < 100000; i++)
		argv[i] = i == 0 ? "wipe" : "arg";
	shunt_arena_init_heap(&a);
	memset(&req, 0, sizeof(req));
	req.exe = "/usr/bin/wipe";
	req.argv = argv;
	req.argc = 100000;
	req.home = "/home/u";
	req.now = time(NULL);
	ok(shunt_decide(&pol, &req, &a, &dn) == 0 && dn.action == SHUNT_ACTION_BLOCK,
	   "100 000 arguments end in a decision (critical, no terminal: block)");
	shunt_arena_release(&a);
	/* a small fixed arena fails cleanly */
	char small[512];
	shunt_arena_init_fixed(&a, small, sizeof(small));
	req.argc = 1000;
	ok(shunt_decide(&pol, &req, &a, &dn) < 0,
	   "a too-small fixed arena returns an error, not a crash");
	/* argv judged by the executable, not a spoofed argv[0] */
	shunt_arena_init_heap(&a);
	const char *spoof[] = {"ls", "x", NULL};
	memset(&req, 0, sizeof(req));
	req.exe = "/usr/bin/shred";
	req.argv = spoof;
	req.argc = 2;
	req.now = time(NULL);
	req.interactive = true;
	ok(shunt_decide(&pol, &req, &a, &dn) == 0 && dn.action == SHUNT_ACTION_PROMPT,
	   "argv input: the executable's path decides, not argv[0]");
	shunt_arena_release(&a);
	free(argv);
	free(line);

	struct shunt_arena fa;
	shunt_arena_init_heap(&fa);
	shunt_arena_release(&fa);
	decide_line("ls", true); /* release the static arena's previous chunk */
	shunt_policy_free(&pol);
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
	return done_testing();
}
