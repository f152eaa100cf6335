/* The line splitter of the line hook (hook/split.c): which lines it places
 * command by command, where each command's name starts, what it refuses,
 * and the decision that goes to `shunt exec --decided`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "split.h"
#include "tap.h"

static size_t scan(const char *line, struct shunt_split_seg *segs)
{
	return shunt_split_scan(line, strlen(line), segs, 8);
}

static void test_scan(void)
{
	struct shunt_split_seg s[8];
	const char *l = "npm install --no-save x && export AFTER=yes";
	is_int(scan(l, s), 2, "a && list has two commands");
	is_int(s[0].start, 0, "first starts at 0");
	is_int(s[0].end, 23, "... ends before the blanks and &&");
	is_int(s[1].name, 27, "second's name is export");
	ok(s[1].state && s[1].builtin, "export changes the shell's state");
	ok(!s[0].state && !s[0].builtin, "npm does not");

	l = "FOO=1 BAR='a b' npm ci || false; cd sub;";
	is_int(scan(l, s), 3, "|| and ; and a trailing ; are a list");
	is_int(s[0].start, 0, "assignments start the command");
	is_int(s[0].name, 16, "... its name comes after them");
	ok(s[2].state, "cd changes the shell's state");

	l = "echo \"a;b && c\" 'x||y' $'z;' a\\;b 2>&1 >log";
	is_int(scan(l, s), 1, "operators inside quotes and escapes are words");
	ok(s[0].redir, "redirections are seen");
	is_int(scan("X=1", s), 1, "an assignment alone is a command");
	ok(s[0].state, "... that changes the shell's state");

	static const char *const refused[] = {"a | b",
					      "a & b",
					      "a &",
					      "(a)",
					      "{ a; }",
					      "a && ",
					      "a ||",
					      "&& a",
					      ";",
					      "",
					      "   ",
					      "if a; then b; fi",
					      "for i in 1; do a; done",
					      "echo $(date) && a",
					      "echo `date`",
					      "a <<EOF",
					      "a <<<x",
					      "diff <(a) b",
					      "echo ${x:-a b} && a",
					      "echo \"$(a)\"",
					      "echo 'open",
					      "echo \"open",
					      "a \\",
					      "a\nb",
					      "a # c",
					      "!!",
					      "echo hi!",
					      "a[1]=x b",
					      "a;;b",
					      "a &> f",
					      "f() { a; }",
					      "time a",
					      "a |& b",
					      "! a",
					      "echo $((1+1))"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ok(scan(refused[i], s) == 0, "refused: %s",
		   strchr(refused[i], '\n') ? "a NL b" : refused[i]);

	/* more commands than the caller has room for: refused, not cut */
	is_int(shunt_split_scan("a;b;c", 5, s, 2), 0, "a list longer than max is refused");
}

static void test_spec(void)
{
	struct shunt_decision d = {.action = SHUNT_ACTION_SANDBOX,
				   .risk = SHUNT_RISK_MEDIUM,
				   .score = 40,
				   .profile = SHUNT_PROFILE_WORKSPACE_WRITE,
				   .runtime = SHUNT_RUNTIME_PROCESS,
				   .rules = {"npm-install", "x"},
				   .nrules = 2};
	struct shunt_buf b = {0};
	shunt_split_spec_format(&d, &b);
	is_str(b.data, "sandbox:process:WORKSPACE_WRITE:1:40:npm-install,x", "spec format");
	struct shunt_decision p;
	struct shunt_error *e = NULL;
	ok(shunt_split_spec_parse(b.data, &p, &e) == 0, "spec parses back");
	ok(p.action == d.action && p.risk == d.risk && p.score == 40 && p.profile == d.profile &&
	       p.runtime == d.runtime && p.nrules == 2 && strcmp(p.rules[1], "x") == 0,
	   "... to the same decision");
	shunt_buf_free(&b);

	static const char *const bad[] = {"host:-:-:0:0:",
					  "sandbox:-:-:1:40:r",
					  "prompt:process:WORKSPACE_WRITE:9:40:r",
					  "block:-:-:3:101:r",
					  "block:-:-:3:90",
					  "nope:-:-:0:0:",
					  "sandbox:warp:WORKSPACE_WRITE:1:40:r",
					  "sandbox:microvm:GODMODE:1:40:r"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = strdup(bad[i]);
		ok(shunt_split_spec_parse(s, &p, &e) < 0, "refused spec: %s", bad[i]);
		shunt_error_free(&e);
		free(s);
	}
	char blk[] = "block:-:-:3:90:";
	ok(shunt_split_spec_parse(blk, &p, &e) == 0 && p.action == SHUNT_ACTION_BLOCK &&
	       p.nrules == 0,
	   "a block without rules parses");
}

/* decides: the real built-in rules, from a private HOME */
static void test_line(void)
{
	char home[] = "/tmp/shunt-test-split.XXXXXX";
	if (!mkdtemp(home)) {
		skip("mkdtemp");
		return;
	}
	setenv("HOME", home, 1);
	setenv("SHUNT_NO_SYSTEM_CONFIG", "1", 1);
	unsetenv("SHUNT_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	if (chdir(home) < 0) {
		skip("chdir");
		return;
	}
	struct shunt_ctx ctx;
	struct shunt_error *e = NULL;
	if (shunt_ctx_load(&ctx, SHUNT_CTX_DEFAULTS | SHUNT_CTX_NO_SNAPSHOT, &e) < 0) {
		diag("ctx: %s", e ? e->msg : "?");
		skip("cannot load the built-in policy");
		shunt_error_free(&e);
		return;
	}
	const char *line = "npm install left-pad && export AFTER=yes";
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision whole;
	ok(shunt_ctx_decide(&ctx, line, NULL, NULL, SHUNT_SOURCE_HOOK, true, &a, &whole, &e) == 0,
	   "the whole line is decided");
	if (whole.action == SHUNT_ACTION_HOST) {
		skip("npm install is decided host by the built-in rules");
	} else {
		struct shunt_buf out = {0};
		int rc = shunt_split_line(&ctx, line, &whole, SHUNT_SOURCE_HOOK, true, &out, &e);
		is_int(rc, 1, "npm install && export is split");
		ok(out.len > 8 && strncmp(out.data, "split 1\n", 8) == 0, "one command is wrapped");
		const char *p = out.data + 8;
		ok(strncmp(p, shunt_action_name(whole.action),
			   strlen(shunt_action_name(whole.action))) == 0,
		   "its spec carries the line's action");
		p += strlen(p) + 1; /* spec */
		p += strlen(p) + 1; /* why */
		is_str(p, "__shunt_cmd 1 npm install left-pad && export AFTER=yes",
		       "the rewritten line");
		is_int((long)(p + strlen(p) + 1 - out.data), (long)out.len, "... ends the answer");
		shunt_buf_free(&out);

		/* a cd before the risky command: its decision did not see it */
		out = (struct shunt_buf){0};
		is_int(shunt_split_line(&ctx, "cd /tmp && npm install left-pad", &whole,
					SHUNT_SOURCE_HOOK, true, &out, &e),
		       0, "a risky command after cd goes as a whole");
		is_int(shunt_split_line(&ctx, "npm install left-pad > log", &whole,
					SHUNT_SOURCE_HOOK, true, &out, &e),
		       0, "a risky command with a redirection goes as a whole");
		is_int(shunt_split_line(&ctx, "npm install x && __shunt_cmd 1 rm -rf ~", &whole,
					SHUNT_SOURCE_HOOK, true, &out, &e),
		       0, "a line that names the wrapper itself goes as a whole");
		is_int(shunt_split_line(&ctx, "ls && echo hi", &whole, SHUNT_SOURCE_HOOK, true,
					&out, &e),
		       0, "no risky command: nothing to split (the verdict came from the line)");
		is_int((long)out.len, 0, "... and nothing is written");
		shunt_buf_free(&out);
	}
	shunt_arena_release(&a);
	shunt_ctx_free(&ctx);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd) != 0)
		diag("could not remove %s", home);
}

int main(void)
{
	test_scan();
	test_spec();
	test_line();
	return done_testing();
}
