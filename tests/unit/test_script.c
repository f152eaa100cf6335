/* The code an interpreter runs (policy/script.c) and how the decision
 * judges it: which word is code or a script for each interpreter, here-
 * document bodies from the lexer, shell strings handed to system() & co.,
 * script files read up to script_max (shell scripts under the shim only
 * via busybox), and effect: system. Through the real decide with the
 * embedded packs, from YAML and from the snapshot. */
#include <sys/stat.h>
#include <unistd.h>

#include "policy_fixture.h"
#include "script.h"

/* The code shunt_script_find finds in the first command of line. */
static const char *code_of(const char *line, bool *is_path)
{
	static struct shunt_arena a;
	static bool init;
	static char out[256];
	if (init)
		shunt_arena_release(&a);
	shunt_arena_init_heap(&a);
	init = true;
	struct shunt_lex_ctx ctx = {"/home/u", "/home/u/proj", "/home/u/proj"};
	struct shunt_cmdline cl;
	struct shunt_code c;
	*is_path = false;
	if (shunt_lex_line(line, strlen(line), &ctx, &a, &cl) < 0 || cl.n == 0 ||
	    !shunt_script_find(&cl.cmds[cl.n - 1], &c))
		return NULL;
	if (c.path) {
		*is_path = true;
		return c.path;
	}
	snprintf(out, sizeof(out), "%.*s", (int)c.len, c.text);
	return out;
}

/* s with newlines written \n, for a one-line test name */
static void flat(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
}

static void finding(void)
{
	static const struct {
		const char *line, *code;
		bool path;
	} cases[] = {
	    {"python3 -c 'print(1)'", "print(1)", false},
	    {"python3 -u -c 'x'", "x", false},
	    {"python3 -uc 'x'", "x", false},
	    {"python3 -W ignore x.py", "x.py", true},
	    {"python3 -m pytest", NULL, false},
	    {"python3.11 build.py --fast", "build.py", true},
	    {"perl -ne 'print if /a/' f.txt", "print if /a/", false},
	    {"perl -pi.bak -e 's/a/b/' f", "s/a/b/", false},
	    {"perl -e'print 1'", "print 1", false},
	    {"perl -I lib x.pl", "lib", true}, /* -I takes an attached value only */
	    {"ruby -rjson -e 'p 1'", "p 1", false},
	    {"node --eval 'console.log(1)'", "console.log(1)", false},
	    {"node --eval=1+1", "1+1", false},
	    {"node -r ts-node/register app.ts", "app.ts", true},
	    {"node -p process.version", "process.version", false},
	    {"php -r 'echo 1;'", "echo 1;", false},
	    {"php -f x.php", "x.php", true},
	    {"awk -F: '{print $1}' /etc/passwd", "{print $1}", false},
	    {"awk -v x=1 -f prog.awk data", "prog.awk", true},
	    {"gawk --source 'BEGIN{}'", "BEGIN{}", false},
	    {"bash -x s.sh arg", "s.sh", true},
	    {"sh -o errexit s.sh", "s.sh", true},
	    {"bash -c 'echo hi'", NULL, false}, /* the lexer unwraps -c itself */
	    {"busybox sh s.sh", "s.sh", true},
	    {"python3 - <<'EOF'\nprint(2)\nEOF", "print(2)\n", false},
	    {"python3 <<<'print(3)'", "print(3)", false},
	    {"bash < s.sh", "s.sh", true},
	    {"cat x.py | python3", NULL, false}, /* a pipe: nothing to read */
	    {"gcc -c x.c", NULL, false},
	    {"python-config --cflags", NULL, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool path;
		const char *got = code_of(cases[i].line, &path);
		char name[128], want[64], gotn[300];
		flat(name, sizeof(name), cases[i].line);
		flat(want, sizeof(want), cases[i].code ? cases[i].code : "");
		flat(gotn, sizeof(gotn), got ? got : "(none)");
		if (!cases[i].code) {
			ok(got == NULL, "'%s': no code (%s)", name, gotn);
			continue;
		}
		ok(got && strcmp(got, cases[i].code) == 0 && path == cases[i].path,
		   "'%s': %s '%s' (got %s '%s')", name, cases[i].path ? "file" : "code", want,
		   path ? "file" : "code", gotn);
	}
}

static void spawns(void)
{
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	const char *py = "import os; os.system('rm -rf ~'); subprocess.run(\"ls \\\"x\\\"\", "
			 "shell=True); print('system(no)'); foo.exec(1)";
	size_t pos = 0, n;
	const char *cmd;
	ok(shunt_script_next_spawn(SHUNT_LANG_PYTHON, py, strlen(py), &pos, &a, &cmd, &n) &&
	       strcmp(cmd, "rm -rf ~") == 0,
	   "os.system('rm -rf ~') hands 'rm -rf ~' to a shell");
	ok(shunt_script_next_spawn(SHUNT_LANG_PYTHON, py, strlen(py), &pos, &a, &cmd, &n) &&
	       strcmp(cmd, "ls \"x\"") == 0,
	   "subprocess.run(\"ls \\\"x\\\"\"): escapes undone (%s)", cmd);
	ok(!shunt_script_next_spawn(SHUNT_LANG_PYTHON, py, strlen(py), &pos, &a, &cmd, &n),
	   "a string that mentions system( is not a call; exec(1) has no string");
	const char *pl = "print `id`; system \"x\"";
	pos = 0;
	ok(shunt_script_next_spawn(SHUNT_LANG_PERL, pl, strlen(pl), &pos, &a, &cmd, &n) &&
	       strcmp(cmd, "id") == 0,
	   "perl backticks");
	const char *open = "system('never closed";
	pos = 0;
	ok(!shunt_script_next_spawn(SHUNT_LANG_RUBY, open, strlen(open), &pos, &a, &cmd, &n) &&
	       pos == strlen(open),
	   "an unclosed string ends the scan");
	shunt_arena_release(&a);
}

static struct shunt_decision decide_in(const struct shunt_policy *p, const char *line,
				       const char *dir, size_t script_max, enum shunt_source src)
{
	static struct shunt_arena a;
	static bool init;
	fx_arena_renew(&a, &init);
	struct shunt_request req = {0};
	req.line = line;
	req.line_len = strlen(line);
	req.cwd = dir;
	req.workspace = dir;
	req.home = "/nonexistent-home";
	req.source = src;
	req.script_max = script_max;
	struct shunt_decision d;
	if (shunt_decide(p, &req, &a, &d) < 0)
		memset(&d, 0xff, sizeof(d));
	return d;
}

static bool has_rule(const struct shunt_decision *d, const char *id)
{
	for (size_t i = 0; i < d->nrules; i++)
		if (strcmp(d->rules[i], id) == 0)
			return true;
	return false;
}

static char dir[64];

static void decisions(const struct shunt_policy *p, const char *what)
{
	struct shunt_decision d =
	    fx_decide(p, "python3 -c \"import shutil; shutil.rmtree('/x/y')\"", "/w", "/w", false);
	ok(d.action == SHUNT_ACTION_SANDBOX && has_rule(&d, "inline-delete"),
	   "%s: python3 -c rmtree: sandbox by inline-delete (%s)", what, d.why);
	ok(d.nmatches && d.matches[0].subject && strstr(d.matches[0].subject, "shutil.rmtree"),
	   "%s: the match keeps the code as its subject", what);
	d = fx_decide(p, "perl -e 'system(\"rm -rf /etc\")'", "/w", "/w", false);
	ok(d.action == SHUNT_ACTION_BLOCK && has_rule(&d, "rm-rf-system-dir"),
	   "%s: perl system(\"rm -rf /etc\"): the string is judged as a line (%s)", what, d.why);
	d = fx_decide(p, "bash <<'EOF'\necho hi\nrm -rf /etc\nEOF", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_BLOCK, "%s: bash <<EOF: the body is lexed as shell", what);
	d = fx_decide(p, "cat <<'EOF'\nrm -rf /etc\nEOF", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_HOST, "%s: cat <<EOF: a here-document to cat is data", what);
	d = fx_decide(p, "python3 -c 'print(\"rm -rf /\")'", "/w", "/w", false);
	IS(d.action, SHUNT_ACTION_HOST, "%s: a string that is printed is data", what);
	d = fx_decide(p, "systemctl stop nginx", "/w", "/w", false);
	ok(d.action == SHUNT_ACTION_BLOCK && d.system_effect &&
	       strstr(d.why, "changes the running machine"),
	   "%s: effect system, no terminal: block with the reason (%s)", what, d.why);
	d = fx_decide(p, "systemctl stop nginx", "/w", "/w", true);
	ok(d.action == SHUNT_ACTION_PROMPT && strstr(d.why, "a sandbox cannot contain it"),
	   "%s: effect system, with a terminal: prompt (%s)", what, d.why);

	/* script files */
	d = decide_in(p, "bash s.sh", dir, 0, SHUNT_SOURCE_CLI);
	ok(d.action == SHUNT_ACTION_HOST && !d.read_script,
	   "%s: script_max 0: the script is not read", what);
	d = decide_in(p, "bash s.sh", dir, 4096, SHUNT_SOURCE_CLI);
	ok(d.action == SHUNT_ACTION_BLOCK && d.read_script,
	   "%s: bash s.sh: its rm -rf /etc is judged (%s)", what, d.why);
	d = decide_in(p, "bash dyn.sh", dir, 4096, SHUNT_SOURCE_CLI);
	IS(d.action, SHUNT_ACTION_HOST, "%s: a script's \"$cmd\" lines are ordinary", what);
	d = decide_in(p, "bash s.sh", dir, 4096, SHUNT_SOURCE_SHIM);
	ok(d.action == SHUNT_ACTION_HOST && !d.read_script,
	   "%s: under the shim a shell script is not read (its execs are)", what);
	d = decide_in(p, "busybox sh s.sh", dir, 4096, SHUNT_SOURCE_SHIM);
	IS(d.action, SHUNT_ACTION_BLOCK, "%s: ... but under busybox it is", what);
	d = decide_in(p, "python3 x.py", dir, 4096, SHUNT_SOURCE_SHIM);
	ok(d.action == SHUNT_ACTION_SANDBOX && d.read_script,
	   "%s: python3 x.py: its rmtree outside is seen (%s)", what, d.why);
	d = decide_in(p, "python3 x.py", dir, 8, SHUNT_SOURCE_CLI);
	IS(d.action, SHUNT_ACTION_HOST, "%s: only script_max bytes are read", what);
	d = decide_in(p, "python3 missing.py", dir, 4096, SHUNT_SOURCE_CLI);
	IS(d.action, SHUNT_ACTION_HOST, "%s: a missing script: host", what);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	finding();
	spawns();
	snprintf(dir, sizeof(dir), "/tmp/shunt-test-script.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	write_file("s.sh", "echo start\nrm -rf /etc\n");
	write_file("dyn.sh", "cmd=$1\n\"$cmd\" --version\n$CC -c x.c\n");
	write_file("x.py", "import shutil\n\n\nshutil.rmtree('/srv/data')\n");
	fx_embedded(decisions);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);

	char msg[1024];
	ok(fx_load_err("rules:\n  - id: t\n    description: d\n    match: x\n    risk: low\n"
		       "    scope: cod\n",
		       msg, sizeof(msg)) < 0 &&
	       strstr(msg, "x.yaml:6:12: ") && strstr(msg, "code") && strstr(msg, "inline"),
	   "bad scope: file:line:col and the choices (%s)", msg);
	return done_testing();
}
