/* Unit tests for the lexer/normaliser (policy/lex.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"
#include "tap.h"

static struct shunt_arena A;
static struct shunt_cmdline CL;
static const struct shunt_lex_ctx CTX = {
    .home = "/home/u", .cwd = "/home/u/proj", .workspace = "/home/u/proj"};

static int lex(const char *line)
{
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	return shunt_lex_line(line, strlen(line), &CTX, &A, &CL);
}

static int lexn(const char *line, size_t len)
{
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	return shunt_lex_line(line, len, &CTX, &A, &CL);
}

/* Index of the first command whose norm is exactly norm, or -1. */
static long find(const char *norm)
{
	for (size_t k = 0; k < CL.n; k++)
		if (!strcmp(CL.cmds[k].norm, norm))
			return (long)k;
	return -1;
}

static bool has(const char *norm)
{
	return find(norm) >= 0;
}

static unsigned flags_of(const char *norm)
{
	long k = find(norm);
	return k < 0 ? 0u : CL.cmds[k].flags;
}

static void dump(void)
{
	diag("line: [%s]", CL.line);
	for (size_t k = 0; k < CL.n; k++)
		diag("  cmd %zu: [%s] prog=[%s] flags=%#x via=%s", k, CL.cmds[k].norm,
		     CL.cmds[k].prog, CL.cmds[k].flags, CL.cmds[k].via ? CL.cmds[k].via : "-");
}

#define expect_cmd(line, norm)                                                                     \
	do {                                                                                       \
		lex(line);                                                                         \
		if (!ok(has(norm), "%s -> has [%s]", line, norm))                                  \
			dump();                                                                    \
	} while (0)

#define expect_line(src, want)                                                                     \
	do {                                                                                       \
		lex(src);                                                                          \
		is_str(CL.line, want, "line of: " src);                                            \
	} while (0)

static void test_quoting(void)
{
	const char *forms[] = {"rm -rf ~",	 "r\\m -rf ~",	     "'r'm -rf ~",
			       "\"rm\" -rf ~",	 "$'rm' -rf ~",	     "$'\\x72m' -rf ~",
			       "r''m -rf ~",	 "\"r\"'m' -rf '~'", "rm -rf $HOME",
			       "rm -rf ${HOME}", "rm -rf \"$HOME\"", "rm -rf /home/u",
			       "/bin/rm -rf ~",	 "rm -r\\f ~",	     "rm -rf /home/u/"};
	for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		lex(forms[k]);
		const char *want = k == 14 ? "rm -rf ~/" : "rm -rf ~";
		ok(CL.n == 1 && !strcmp(CL.cmds[0].norm, want), "quoting form %s -> %s", forms[k],
		   want);
		if (CL.n)
			is_str(CL.cmds[0].prog, "rm", "prog is rm");
	}
	lex("echo 'a  b' \"c\\\"d\" e\\ f");
	is_int(CL.n, 1, "one command");
	is_int(CL.cmds[0].argc, 4, "argc 4");
	is_str(CL.cmds[0].argv[1], "a  b", "single-quoted keeps spaces");
	is_str(CL.cmds[0].argv[2], "c\"d", "escaped dquote");
	is_str(CL.cmds[0].argv[3], "e f", "escaped space");
	ok(CL.cmds[0].argv[4] == NULL, "argv NUL-terminated");
	lex("echo \"\" x");
	is_str(CL.cmds[0].norm, "echo '' x", "empty word written ''");
	lex("echo $'a\\tb\\nc'");
	is_str(CL.cmds[0].argv[1], "a\tb\nc", "ANSI-C escapes decoded");
	is_str(CL.cmds[0].norm, "echo a b c", "control bytes become spaces in norm");
	lex("echo 'unterminated ; rm -rf ~");
	is_int(CL.n, 1, "unterminated quote runs to end of line");
}

static void test_operators(void)
{
	lex("a | b && c || d ; e & f |& g");
	is_int(CL.n, 7, "seven commands");
	is_str(CL.line, "a | b && c || d ; e & f |& g", "line keeps operators");
	ok(flags_of("a") & SHUNT_CMD_PIPE_OUT, "a pipes out");
	ok(flags_of("b") & SHUNT_CMD_PIPE_IN, "b pipes in");
	ok(!(flags_of("c") & (SHUNT_CMD_PIPE_IN | SHUNT_CMD_PIPE_OUT)), "c no pipe");
	ok(flags_of("e") & SHUNT_CMD_BACKGROUND, "e backgrounded");
	ok(CL.cmds[find("a")].pipeline == CL.cmds[find("b")].pipeline, "a,b same pipeline");
	ok(CL.cmds[find("b")].pipeline != CL.cmds[find("c")].pipeline, "c new pipeline");
	expect_line("a\nb\n\nc;", "a ; b ; c");
	expect_line("echo hi # ; rm -rf ~", "echo hi");
	expect_line("echo a#b", "echo a#b");
	expect_line("(cd /tmp && rm -rf x) | { cat; }", "( cd /tmp && rm -rf x ) | { cat }");
	ok(flags_of("rm -rf x") & SHUNT_CMD_SUBSHELL, "subshell flag");
	ok(flags_of("cat") & SHUNT_CMD_SUBSHELL, "group flag");
	expect_line("if curl x | sh; then :; else echo no; fi", "curl x | sh ; : ; echo no");
	expect_line("while true; do rm -rf /tmp/x; done", "true ; rm -rf /tmp/x");
	expect_line("for f in $(ls); do rm \"$f\"; done", "rm $f");
	ok(flags_of("ls") & SHUNT_CMD_SUBST, "for-list substitution is a command");
	expect_line("case $x in a|b) rm a;; (c) echo c;; esac; echo done",
		    "rm a ; echo c ; echo done");
	ok(!has("a") && !has("b") && !has("c"), "case patterns are not commands");
	expect_line("f() { rm -rf ~; }", "{ rm -rf ~ }");
	ok(flags_of("rm -rf ~") & SHUNT_CMD_FUNCDEF, "function body flagged");
	expect_line("function g { ls; }; g", "{ ls } ; g");
	expect_line("! grep -q x f", "grep -q x f");
	expect_line("x=(rm -rf ~); echo", "x=(rm -rf ~) ; echo");
	ok(!has("rm -rf ~"), "array assignment is not a command");
}

static void test_substitution(void)
{
	lex("echo $(curl -fsSL x) `id -u`");
	ok(has("curl -fsSL x") && has("id -u"), "inner commands emitted");
	ok(flags_of("curl -fsSL x") & SHUNT_CMD_SUBST, "SUBST flag");
	is_str(CL.cmds[find("echo $(curl -fsSL x) $(id -u)")].argv[1], "$(curl -fsSL x)",
	       "word keeps $(..) text");
	expect_cmd("echo \"$(rm -rf ~)\"", "rm -rf ~");
	expect_cmd("echo \"`rm -rf ~`\"", "rm -rf ~");
	expect_cmd("echo `echo \\`rm -rf ~\\``", "rm -rf ~");
	expect_cmd("diff <(ls a) >(tee b)", "tee b");
	ok(has("ls a"), "<(..) inner");
	expect_cmd("echo $(echo $(echo $(rm -rf ~)))", "rm -rf ~");
	ok(CL.cmds[find("rm -rf ~")].depth == 3, "depth 3");
	lex("echo $((1+2)) $(( $(id -u) + 1 ))");
	ok(has("id -u"), "substitution inside arithmetic");
	is_int(CL.n, 2, "arithmetic is not a command");
	lex("$(echo rm) -rf ~");
	ok(CL.cmds[CL.n - 1].flags & SHUNT_CMD_DYNAMIC_NAME, "$(..) name is dynamic");
	lex("$cmd -rf ~");
	ok(CL.cmds[0].flags & SHUNT_CMD_DYNAMIC_NAME, "$var name is dynamic");
	lex("${c} x");
	ok(CL.cmds[0].flags & SHUNT_CMD_DYNAMIC_NAME, "${var} name is dynamic");
	lex("`echo rm` x");
	ok(CL.cmds[CL.n - 1].flags & SHUNT_CMD_DYNAMIC_NAME, "backtick name is dynamic");
	lex("rm $x");
	ok(!(CL.cmds[0].flags & SHUNT_CMD_DYNAMIC_NAME), "$x as argument is not a dynamic name");
}

static void test_download_to_shell(void)
{
	expect_line("curl x | sh", "curl x | sh");
	expect_line("wget -qO- x | bash", "wget -qO- x | bash");
	expect_line("curl x | sudo bash", "curl x | sudo bash");
	ok(flags_of("bash") & SHUNT_CMD_PIPE_IN, "unwrapped bash still pipes in");
	expect_line("sh <(curl x)", "sh <(curl x)");
	expect_line("bash -c \"$(curl -fsSL x)\"", "bash -c $(curl -fsSL x) ; $(curl -fsSL x)");
	ok(has("curl -fsSL x"), "curl inner command");
	expect_line("eval \"$(curl x)\"", "eval $(curl x) ; $(curl x)");
	expect_line("sh -c 'curl  x|\"sh\"'", "sh -c curl  x|\"sh\" ; curl x | sh");
}

static void test_redirections(void)
{
	expect_cmd("echo x >> ~/.bashrc", "echo x >> ~/.bashrc");
	expect_cmd("echo x >>\"$HOME/.bashrc\" 2>&1", "echo x >> ~/.bashrc 2>&1");
	lex("> ~/.bashrc");
	ok(CL.n == 1 && !strcmp(CL.cmds[0].prog, "") && !strcmp(CL.cmds[0].norm, "> ~/.bashrc"),
	   "bare redirection emitted with empty prog");
	lex("cmd <in 2>/dev/null 3<>rw >&2 1>&- >| f &>> all &>o >&file <<< \"a b\"");
	is_str(CL.cmds[0].norm,
	       "cmd < in 2> /dev/null 3<> rw >&2 1>&- > f &>> all &> o &> file <<< a b",
	       "all redirection forms");
	is_int(CL.cmds[0].nredirs, 10, "ten redirections");
	is_int(CL.cmds[0].redirs[1].fd, 2, "explicit fd");
	is_int(CL.cmds[0].redirs[0].fd, -1, "implicit fd -1");
	is_int(CL.cmds[0].redirs[3].kind, SHUNT_REDIR_DUP, "dup kind");
	ok(CL.cmds[0].redirs[6].both, "&>> both");
	lex("cat <<EOF\nrm -rf /\nEOF\necho ok");
	ok(!has("rm -rf /"), "heredoc body is not a command");
	ok(has("cat <<EOF") && has("echo ok"), "heredoc: command and next line");
	is_int(CL.cmds[0].redirs[0].kind, SHUNT_REDIR_HEREDOC, "heredoc kind");
	is_str(CL.cmds[0].redirs[0].target, "EOF", "heredoc delimiter recorded");
	lex("cat <<-'E' | sh\n\trm -rf /\n\tE\nls");
	ok(!has("rm -rf /") && has("ls") && has("cat <<E"), "<<- quoted delimiter");
	lex("cat <<X\n$(rm -rf ~)\nX");
	ok(has("rm -rf ~"), "unquoted heredoc body substitution still runs");
	expect_cmd("while read l; do echo $l; done < <(curl x)", "curl x");
}

static void test_assignments(void)
{
	lex("LD_PRELOAD=/x.so A=\"b c\" ls -l");
	is_int(CL.n, 1, "one command");
	is_int(CL.cmds[0].nassigns, 2, "two assignments");
	is_str(CL.cmds[0].assigns[0], "LD_PRELOAD=/x.so", "assign 0");
	is_str(CL.cmds[0].norm, "ls -l", "norm starts with prog");
	is_str(CL.line, "LD_PRELOAD=/x.so A=b c ls -l", "line keeps assignments");
	lex("PATH=/tmp:$PATH");
	is_str(CL.line, "PATH=/tmp:$PATH", "assignment-only line");
	lex("ls A=b");
	is_int(CL.cmds[0].nassigns, 0, "A=b after the name is an argument");
	expect_cmd("export PATH=/tmp:$PATH", "export PATH=/tmp:$PATH");
	expect_cmd("alias ls='rm -rf ~'", "alias ls=rm -rf ~");
	expect_cmd("source ~/.bashrc", "source ~/.bashrc");
}

static void test_wrappers(void)
{
	lex("sudo -u root -E -- rm -rf /");
	long k = find("rm -rf /");
	ok(k >= 0 && (CL.cmds[k].flags & SHUNT_CMD_UNWRAPPED), "sudo unwrapped");
	if (k >= 0)
		is_str(CL.cmds[k].via, "sudo", "via sudo");
	ok(has("sudo -u root -E -- rm -rf /"), "wrapper kept");
	lex("sudo env -i A=1 -u B nice -n 5 rm -rf /");
	k = find("rm -rf /");
	ok(k >= 0, "chain unwrapped");
	if (k >= 0)
		is_str(CL.cmds[k].via, "sudo env nice", "via chain");
	expect_cmd("doas -u root rm -rf /", "rm -rf /");
	expect_cmd("nohup rm -rf / &", "rm -rf /");
	expect_cmd("timeout -s KILL -k 5 10 rm -rf /", "rm -rf /");
	expect_cmd("command -p rm -rf /", "rm -rf /");
	lex("command -v rm");
	is_int(CL.n, 1, "command -v does not run its argument");
	expect_cmd("exec -a foo rm -rf /", "rm -rf /");
	expect_cmd("time -p rm -rf /", "rm -rf /");
	expect_cmd("stdbuf -o L rm -rf /", "rm -rf /");
	expect_cmd("ionice -c 3 rm -rf /", "rm -rf /");
	expect_cmd("chroot /mnt rm -rf /", "rm -rf /");
	expect_cmd("env -S 'rm -rf' ~", "rm -rf ~");
	expect_cmd("env --split-string=\"bash -c 'rm -rf ~'\"", "rm -rf ~");
	lex("env LD_PRELOAD=/x.so ls");
	k = find("ls");
	ok(k >= 0 && CL.cmds[k].nassigns == 1, "env NAME=VAL become assigns of the inner command");
	expect_cmd("ls | xargs -0 -I {} -n 1 -P 4 rm -rf {}", "rm -rf {}");
	ok(flags_of("rm -rf {}") & SHUNT_CMD_UNWRAPPED, "xargs unwrapped");
	lex("find . -name '*.o' -exec rm -f {} \\; -execdir sh -c 'echo {}' + -delete");
	ok(has("rm -f {}"), "find -exec command");
	ok(has("echo {}"), "find -execdir sh -c string lexed");
	ok(has("find . -name *.o -exec rm -f {} ; -execdir sh -c echo {} + -delete"),
	   "find itself kept with -delete");
	expect_cmd("find / -ok shred {} \\;", "shred {}");
	const char *shells[] = {"bash -c 'rm -rf ~'",	     "sh -lc 'rm -rf ~'",
				"zsh -ec 'rm -rf ~'",	     "dash -xc 'rm -rf ~'",
				"bash --norc -c 'rm -rf ~'", "ksh -c 'rm -rf ~' arg0"};
	for (size_t j = 0; j < 6; j++) {
		lex(shells[j]);
		k = find("rm -rf ~");
		ok(k >= 0 && (CL.cmds[k].flags & SHUNT_CMD_UNWRAPPED), "%s unwrapped", shells[j]);
	}
	lex("bash script.sh -c x");
	is_int(CL.n, 1, "bash SCRIPT is not a -c string");
	expect_cmd("eval 'rm' -rf '~'", "rm -rf ~");
	expect_cmd("su -c 'rm -rf /' root", "rm -rf /");
	lex("sudo sh -c 'echo hi > /etc/x'");
	k = find("echo hi > /etc/x");
	ok(k >= 0, "redirect inside sudo sh -c");
	if (k >= 0)
		is_str(CL.cmds[k].via, "sudo sh", "via sudo sh");
	lex("sudo sudo sudo sudo sudo sudo sudo sudo sudo sudo rm -rf /");
	ok(CL.truncated, "wrapper recursion depth-limited and truncated");
	lex("bash -c \"bash -c \\\"bash -c 'rm -rf ~'\\\"\"");
	ok(has("rm -rf ~"), "nested bash -c");
}

static void test_paths(void)
{
	expect_cmd("rm -rf /home/u/proj/build", "rm -rf ./build");
	expect_cmd("rm -rf /home/u/proj", "rm -rf .");
	expect_cmd("rm -rf build/ ../x", "rm -rf build/ ../x");
	expect_cmd("rm -rf /home/u/projx", "rm -rf ~/projx");
	expect_cmd("rm -rf $HOME/proj/x", "rm -rf ./x");
	expect_cmd("rm -rf /home/other/x ~other", "rm -rf /home/other/x ~other");
	expect_cmd("cp x --target-directory=/home/u/.ssh", "cp x --target-directory=~/.ssh");
	/* climbing out with "..", "." and "//" are resolved (issue 23) */
	expect_cmd("ls /etc//passwd", "ls /etc/passwd");
	expect_cmd("rm -rf /tmp/../etc", "rm -rf /etc");
	expect_cmd("rm -rf \"$TMPDIR/../etc\" ${TMP}/../../usr/", "rm -rf /etc /usr/");
	expect_cmd("rm -rf ~/../.. $HOME/../u/proj/./src", "rm -rf / ./src");
	expect_cmd("rm -rf /home/u/proj/../proj/x /../../", "rm -rf ./x /");
	expect_cmd("rm -rf ../x ./a/../b https://h/a/../b",
		   "rm -rf ../x ./a/../b https://h/a/../b");
	expect_cmd("cp x --target-directory=/tmp/../root/.ssh",
		   "cp x --target-directory=/root/.ssh");
	/* a workspace that is HOME or above it must not hide ~ */
	struct shunt_lex_ctx c2 = {.home = "/home/u", .workspace = "/home/u"};
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	shunt_lex_line("rm -rf /home/u", 14, &c2, &A, &CL);
	is_str(CL.cmds[0].norm, "rm -rf ~", "workspace == HOME keeps ~");
	struct shunt_lex_ctx c3 = {.home = "/home/u/", .workspace = "/"};
	shunt_lex_line("rm -rf /home/u/x /etc", 21, &c3, &A, &CL);
	is_str(CL.cmds[0].norm, "rm -rf ~/x /etc", "workspace / ignored, home trailing slash");
	struct shunt_lex_ctx c4 = {0};
	shunt_lex_line("rm -rf $HOME", 12, &c4, &A, &CL);
	is_str(CL.cmds[0].norm, "rm -rf ~", "$HOME -> ~ even without ctx");
}

static void test_argv(void)
{
	const char *av[] = {"ls", "-rf", "/home/u"};
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	int rc = shunt_lex_argv("/usr/bin/rm", av, 3, &CTX, &A, &CL);
	is_int(rc, 0, "argv rc");
	is_str(CL.cmds[0].prog, "rm", "prog from exe, not spoofed argv[0]");
	is_str(CL.cmds[0].norm, "rm -rf ~", "argv norm");
	is_str(CL.cmds[0].argv[0], "ls", "argv[0] kept as given");
	const char *sh[] = {"sh", "-c", "rm -rf ~; echo $(id)"};
	shunt_lex_argv("/bin/sh", sh, 3, &CTX, &A, &CL);
	ok(has("rm -rf ~") && has("id"), "argv sh -c lexed");
	ok(strstr(CL.line, " ; rm -rf ~ ; echo $(id)") != NULL, "argv line has -c string");
	const char *su[] = {"sudo", "rm", "-rf", "/"};
	shunt_lex_argv("/usr/bin/sudo", su, 4, &CTX, &A, &CL);
	ok(has("rm -rf /") && (flags_of("rm -rf /") & SHUNT_CMD_UNWRAPPED), "argv sudo unwrapped");
	const char *q[] = {"echo", "a b;c", "$(x)"};
	shunt_lex_argv("/bin/echo", q, 3, &CTX, &A, &CL);
	is_int(CL.n, 1, "argv words are not lexed");
}

static void test_robustness(void)
{
	/* NUL must not hide what follows */
	static const char nul[] = "echo hi\0; rm -rf ~";
	lexn(nul, sizeof(nul) - 1);
	ok(has("rm -rf ~"), "text after NUL is examined");
	static const char nul2[] = "bash -c 'echo\0; rm -rf ~'";
	lexn(nul2, sizeof(nul2) - 1);
	ok(has("rm -rf ~"), "NUL inside a quoted -c string dropped, not truncating");
	static const char bad[] = "echo \xff\xfe\xc3 ; r\xc3m x";
	lexn(bad, sizeof(bad) - 1);
	is_int(CL.n, 2, "invalid UTF-8 tolerated");

	/* deep nesting ends in a result */
	size_t depth = 5000;
	char *deep = malloc(depth * 2 + 16);
	size_t p = 0;
	for (size_t k = 0; k < depth; k++)
		deep[p++] = '$', deep[p++] = '(';
	memcpy(deep + p, "rm", 2);
	p += 2;
	int rc = lexn(deep, p);
	ok(rc == 0 && CL.truncated, "deep $( nesting truncates");
	for (size_t k = 0; k < depth * 2; k++)
		deep[k] = '(';
	rc = lexn(deep, depth * 2);
	is_int(rc, 0, "deep subshell nesting ok");
	free(deep);

	/* 1 MB line and 100 000 args with a heap arena */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	for (size_t k = 0; k < n; k++)
		big[k] = (k % 10 == 9) ? ' ' : 'a';
	memcpy(big, "echo ", 5);
	memcpy(big + n - 10, "; rm -rf ~", 10);
	rc = lexn(big, n);
	is_int(rc, 0, "1 MB line lexes");
	ok(has("rm -rf ~"), "command at the end of 1 MB is seen");
	ok(CL.cmds[0].argc > 100000, "100 000+ words in one command");
	/* separators everywhere: 100 000 commands */
	for (size_t k = 0; k < n; k++)
		big[k] = (k % 8 == 7) ? ';' : (k % 8 == 6 ? ' ' : 'b');
	rc = lexn(big, n);
	ok(rc == 0 && CL.n == n / 8, "131072 commands");
	/* quotes and substitutions over 1 MB */
	for (size_t k = 0; k < n; k++)
		big[k] = "a'\"$(`\\|"[k % 11 % 8];
	rc = lexn(big, n);
	ok(rc == 0 || rc == -ENOMEM, "1 MB of quote noise ends");
	free(big);

	const char **av = malloc(100000 * sizeof(*av));
	for (size_t k = 0; k < 100000; k++)
		av[k] = "x";
	shunt_arena_release(&A);
	shunt_arena_init_heap(&A);
	rc = shunt_lex_argv("/bin/echo", av, 100000, &CTX, &A, &CL);
	ok(rc == 0 && CL.cmds[0].argc == 100000, "100 000 argv");
	free(av);
}

/* Found by fuzz_lex: $(..) text re-lexed by env -S at every level used to
 * grow the output exponentially (256 MiB from 152 bytes). */
static void test_blowup(void)
{
	static const char in[] = "\x65\x6e\x76\x20\x2d\x53\x24\x28\x28\x61\x74\x20\x3c\x41\x5b\x7c"
				 "\x3c\x5b\x7c\x7c\x3c\x5b\x7c\x65\x6e\x76\x20\x2d\x53\x24\x28\x28"
				 "\x65\x6e\x76\x20\x2d\x53\x24\x28\x28\x61\x74\x20\x3c\x3c\x3c\x5b"
				 "\x7c\x3c\x5b\x7c\x65\x6e\x76\x20\x2d\x53\x24\x28\x28\x61\x74\x7c"
				 "\x65\x6e\x76\x20\x2d\x53\x24\x28\x28\x65\x6e\x76\x20\x0e\x5b\x08"
				 "\x20\x62\x61\x73\x27\x0d\x3e\x28\x74\x65";
	int rc = lexn(in, sizeof(in) - 1);
	is_int(rc, 0, "nested env -S $(( .. )) lexes");
	ok(A.total <= 4 * 1024 * 1024, "and stays small (%zu bytes)", A.total);
	/* many sibling -c strings each holding a substitution */
	char line[4096];
	size_t p = 0;
	for (int k = 0; k < 8; k++)
		p += (size_t)snprintf(line + p, sizeof(line) - p, "sh -c \"env -S$(echo ");
	p += (size_t)snprintf(line + p, sizeof(line) - p, "x");
	rc = lexn(line, p);
	ok(rc == 0 && A.total <= 16 * 1024 * 1024, "nested sh -c/env -S/$( stays bounded");
}

static void test_fixed_arena(void)
{
	static char small[2048];
	struct shunt_arena fa;
	shunt_arena_init_fixed(&fa, small, sizeof(small));
	struct shunt_cmdline cl;
	char line[8192];
	size_t p = 0;
	while (p + 12 < sizeof(line)) {
		memcpy(line + p, "echo a b c; ", 12);
		p += 12;
	}
	int rc = shunt_lex_line(line, p, &CTX, &fa, &cl);
	is_int(rc, -ENOMEM, "small fixed arena: -ENOMEM");
	ok(cl.truncated, "truncated set on ENOMEM");
	ok(cl.line != NULL, "line never NULL");
	bool sane = true;
	for (size_t k = 0; k < cl.n; k++)
		if (!cl.cmds[k].norm || !cl.cmds[k].argv || cl.cmds[k].argv[cl.cmds[k].argc])
			sane = false;
	ok(sane, "partial output is consistent");

	static char big[64 * 1024];
	shunt_arena_init_fixed(&fa, big, sizeof(big));
	rc = shunt_lex_line("sudo rm -rf ~", 13, &CTX, &fa, &cl);
	ok(rc == 0 && cl.n == 2, "64 KiB fixed arena is enough for a normal line");
}

int main(void)
{
	shunt_arena_init_heap(&A);
	test_quoting();
	test_operators();
	test_substitution();
	test_download_to_shell();
	test_redirections();
	test_assignments();
	test_wrappers();
	test_paths();
	test_argv();
	test_robustness();
	test_blowup();
	test_fixed_arena();
	shunt_arena_release(&A);
	return done_testing();
}
