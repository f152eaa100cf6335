/* The lexer's wrapper knowledge: what sudo, env, sh -c, find -exec,
 * xargs and the others run, added as commands of their own (see
 * shunt_lex_line in lex.h). Async-signal-safe like lex.c. */
#include "lex_int.h"

/* ---- unwrapping ---- */

static bool in_list(const char *s, const char *const *list)
{
	for (size_t k = 0; list && list[k]; k++)
		if (streq(s, list[k]))
			return true;
	return false;
}

static bool looks_assign(const char *a)
{
	if (!is_name_start(a[0]))
		return false;
	size_t k = 1;
	while (is_name_char(a[k]))
		k++;
	return a[k] == '=';
}

/* Skips getopt-style options from av[1]: argopts are short options that
 * take a separate value when not attached, longarg the long ones (without
 * "--") that take one when written without '='. Returns the index of the
 * first operand. */
static size_t skip_opts(struct lx *lx, const char **av, size_t ac, const char *argopts,
			const char *const *longarg, struct pvec *asg)
{
	size_t k = 1;
	while (k < ac) {
		const char *a = av[k];
		if (streq(a, "--"))
			return k + 1;
		if (a[0] == '-' && a[1] == '-') {
			if (!strchr(a, '=') && in_list(a + 2, longarg))
				k++;
			k++;
			continue;
		}
		if (a[0] == '-' && a[1]) {
			bool takes = false;
			for (size_t j = 1; a[j]; j++)
				if (strchr(argopts, a[j])) {
					takes = a[j + 1] == '\0';
					break;
				}
			k += takes ? 2 : 1;
			continue;
		}
		if (asg && looks_assign(a)) {
			pv_push(lx, asg, a);
			k++;
			continue;
		}
		break;
	}
	return k;
}

static const char *via_for(struct lx *lx, const struct shunt_simple *w)
{
	if (!w->via)
		return w->prog;
	struct sbuf b = {0};
	sb_puts(lx, &b, w->via);
	sb_putc(lx, &b, ' ');
	sb_puts(lx, &b, w->prog);
	return sb_str(&b);
}

static unsigned inner_flags(const struct shunt_simple *w)
{
	return (w->flags & ~(SHUNT_CMD_DYNAMIC_NAME)) | SHUNT_CMD_UNWRAPPED;
}

/* Adds av[0..ac) as the command the wrapper at idx runs. */
static void emit_inner(struct parser *p, size_t idx, const char **av, size_t ac, bool copy,
		       struct pvec *asg)
{
	struct lx *lx = p->lx;
	if (!ac || lx->err)
		return;
	struct shunt_simple w = lx->out->cmds[idx];
	if (copy) {
		struct pvec v = {0};
		for (size_t k = 0; k < ac; k++)
			pv_push(lx, &v, av[k]);
		av = v.v;
	}
	unsigned fl = inner_flags(&w);
	if (strchr(av[0], '$') || strchr(av[0], '`'))
		fl |= SHUNT_CMD_DYNAMIC_NAME;
	long ni = shunt_lex_add_cmd(lx, av, ac, asg ? asg->v : NULL, asg ? asg->n : 0, w.redirs,
				    w.nredirs, NULL, fl, w.depth + 1, via_for(lx, &w), w.pipeline);
	if (ni >= 0)
		shunt_lex_unwrap(p, (size_t)ni);
}

/* Lexes a string the wrapper at idx executes (sh -c, eval, env -S) and
 * appends its line to the parser's extras. */
static void exec_string(struct parser *p, size_t idx, const char *str, size_t len)
{
	struct lx *lx = p->lx;
	struct shunt_simple w = lx->out->cmds[idx];
	const char *inner = "";
	size_t ml = 0;
	if (len > lx->budget) {
		lx->out->truncated = true;
		return;
	}
	lx->budget -= len;
	unsigned fl =
	    inner_flags(&w) & ~(SHUNT_CMD_PIPE_IN | SHUNT_CMD_PIPE_OUT | SHUNT_CMD_BACKGROUND);
	shunt_lex_parse(lx, str, len, 0, 0, w.depth + 1, fl, via_for(lx, &w), &inner, &ml);
	if (*inner) {
		sb_puts(lx, &p->extra, " ; ");
		sb_puts(lx, &p->extra, inner);
	}
}

static const char *join_args(struct lx *lx, const char **av, size_t ac, bool quote, size_t *len)
{
	struct sbuf b = {0};
	for (size_t k = 0; k < ac; k++) {
		if (k)
			sb_putc(lx, &b, ' ');
		if (!quote) {
			sb_puts(lx, &b, av[k]);
			continue;
		}
		sb_putc(lx, &b, '\'');
		for (const char *q = av[k]; *q; q++) {
			if (*q == '\'')
				sb_puts(lx, &b, "'\\''");
			else
				sb_putc(lx, &b, *q);
		}
		sb_putc(lx, &b, '\'');
	}
	*len = b.len;
	return sb_str(&b);
}

static bool is_shell(const char *prog)
{
	static const char *const shells[] = {"sh",  "bash",  "zsh",  "dash",  "ksh",  "mksh",
					     "ash", "rbash", "yash", "pdksh", "oksh", NULL};
	return in_list(prog, shells);
}

static void unwrap_shell(struct parser *p, size_t idx, const char **av, size_t ac)
{
	size_t k = 1;
	bool c = false;
	while (k < ac) {
		const char *a = av[k];
		if (streq(a, "--") || streq(a, "-")) {
			k++;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			if (streq(a, "--rcfile") || streq(a, "--init-file"))
				k++;
			k++;
			continue;
		}
		if ((a[0] == '-' || a[0] == '+') && a[1]) {
			size_t j = 1;
			for (; a[j]; j++)
				if (a[j] == 'c')
					c = true;
			if (a[j - 1] == 'o' || a[j - 1] == 'O')
				k++;
			k++;
			continue;
		}
		break;
	}
	if (c && k < ac)
		exec_string(p, idx, av[k], strlen(av[k]));
}

static void unwrap_env(struct parser *p, size_t idx, const char **av, size_t ac)
{
	struct lx *lx = p->lx;
	struct pvec asg = {0};
	const char *split = NULL;
	size_t k = 1;
	while (k < ac) {
		const char *a = av[k];
		if (streq(a, "--")) {
			k++;
			break;
		}
		if (streq(a, "-")) {
			k++;
			continue;
		}
		if (!strncmp(a, "--split-string", 14)) {
			if (a[14] == '=')
				split = a + 15;
			else if (k + 1 < ac)
				split = av[++k];
			k++;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			static const char *const la[] = {"unset",	  "chdir",
							 "block-signal",  "default-signal",
							 "ignore-signal", NULL};
			if (!strchr(a, '=') && in_list(a + 2, la))
				k++;
			k++;
			continue;
		}
		if (a[0] == '-' && a[1]) {
			bool takes = false, is_s = false;
			for (size_t j = 1; a[j]; j++) {
				if (a[j] == 'S') {
					is_s = true;
					if (a[j + 1])
						split = a + j + 1;
					else if (k + 1 < ac)
						split = av[++k];
					break;
				}
				if (a[j] == 'u' || a[j] == 'C') {
					takes = a[j + 1] == '\0';
					break;
				}
			}
			k += takes ? 2 : 1;
			if (is_s)
				break;
			continue;
		}
		if (looks_assign(a)) {
			pv_push(lx, &asg, a);
			k++;
			continue;
		}
		break;
	}
	if (split) {
		/* env -S splits its string into words, roughly as a shell would */
		size_t rl = 0;
		const char *rest = join_args(lx, av + k, k < ac ? ac - k : 0, true, &rl);
		struct sbuf b = {0};
		sb_puts(lx, &b, split);
		if (rl) {
			sb_putc(lx, &b, ' ');
			sb_putn(lx, &b, rest, rl);
		}
		exec_string(p, idx, sb_str(&b), b.len);
		return;
	}
	if (k < ac)
		emit_inner(p, idx, av + k, ac - k, false, &asg);
}

static void unwrap_find(struct parser *p, size_t idx, const char **av, size_t ac)
{
	for (size_t k = 1; k < ac && !p->lx->err; k++) {
		if (!streq(av[k], "-exec") && !streq(av[k], "-execdir") && !streq(av[k], "-ok") &&
		    !streq(av[k], "-okdir"))
			continue;
		size_t st = k + 1, e = st;
		while (e < ac && !streq(av[e], ";") && !streq(av[e], "+"))
			e++;
		if (e > st)
			emit_inner(p, idx, av + st, e - st, true, NULL);
		k = e;
	}
}

/* The words a command name "$(echo WORDS)" or "`echo WORDS`" stands
 * for, when WORDS are plain (no quotes, expansions or globs): the name is
 * then known, and what runs is WORDS followed by the other arguments.
 * Returns the number of words put in v, 0 when the name is not one. */
static size_t echo_name(struct lx *lx, const char *w, struct pvec *v)
{
	size_t n = strlen(w), b, e;
	if (n > 3 && w[0] == '$' && w[1] == '(' && w[n - 1] == ')')
		b = 2, e = n - 1;
	else if (n > 2 && w[0] == '`' && w[n - 1] == '`')
		b = 1, e = n - 1;
	else
		return 0;
	while (b < e && w[b] == ' ')
		b++;
	if (e - b < 6 || strncmp(w + b, "echo ", 5) != 0)
		return 0;
	b += 5;
	for (size_t k = b; k < e; k++) {
		char ch = w[k];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr(" ._/+,:=@%-", ch)))
			return 0;
	}
	size_t cnt = 0;
	while (b < e) {
		while (b < e && w[b] == ' ')
			b++;
		size_t s = b;
		while (b < e && w[b] != ' ')
			b++;
		if (b > s) {
			char *word = shunt_arena_strndup(lx->a, w + s, b - s);
			if (!word) {
				lx->err = -ENOMEM;
				return 0;
			}
			if (cnt == 0 &&
			    (streq(word, "-n") || streq(word, "-e") || streq(word, "-E")))
				continue;
			pv_push(lx, v, word);
			cnt++;
		}
	}
	return lx->err ? 0 : cnt;
}

void shunt_lex_unwrap(struct parser *p, size_t idx)
{
	struct lx *lx = p->lx;
	if (lx->err)
		return;
	const struct shunt_simple *c = &lx->out->cmds[idx];
	if ((c->flags & SHUNT_CMD_DYNAMIC_NAME) && c->argc && c->depth + 1 < LEX_MAX_DEPTH) {
		struct pvec v = {0};
		if (echo_name(lx, c->argv[0], &v)) {
			for (size_t k = 1; k < c->argc; k++)
				pv_push(lx, &v, c->argv[k]);
			/* the name is known after all: decide what it runs */
			lx->out->cmds[idx].flags &= ~SHUNT_CMD_DYNAMIC_NAME;
			emit_inner(p, idx, v.v, v.n, false, NULL);
			return;
		}
	}
	const char **av = c->argv;
	size_t ac = c->argc;
	const char *prog = c->prog;
	if (ac < 2 && !streq(prog, "find"))
		return;
	static const char *const wrappers[] = {
	    "sudo",   "doas",	 "env",	    "nice",   "nohup",	 "timeout", "command", "exec",
	    "time",   "stdbuf",	 "ionice",  "chroot", "xargs",	 "find",    "eval",    "su",
	    "setsid", "builtin", "busybox", "watch",  "runuser", "pkexec",  NULL};
	if (!is_shell(prog) && !in_list(prog, wrappers))
		return;
	if (c->depth + 1 >= LEX_MAX_DEPTH) {
		lx->out->truncated = true;
		return;
	}
	size_t k = 0;
	struct pvec asg = {0};
	if (is_shell(prog)) {
		unwrap_shell(p, idx, av, ac);
	} else if (streq(prog, "env")) {
		unwrap_env(p, idx, av, ac);
	} else if (streq(prog, "find")) {
		unwrap_find(p, idx, av, ac);
	} else if (streq(prog, "eval") || streq(prog, "watch")) {
		size_t len = 0;
		if (streq(prog, "watch")) {
			static const char *const la[] = {"interval", "differences", NULL};
			k = skip_opts(lx, av, ac, "nq", la, NULL);
		} else {
			k = 1;
		}
		if (k < ac) {
			const char *s = join_args(lx, av + k, ac - k, false, &len);
			exec_string(p, idx, s, len);
		}
		return;
	} else if (streq(prog, "su")) {
		for (size_t j = 1; j < ac; j++) {
			if ((streq(av[j], "-c") || streq(av[j], "--command")) && j + 1 < ac) {
				exec_string(p, idx, av[j + 1], strlen(av[j + 1]));
				break;
			}
			if (!strncmp(av[j], "--command=", 10)) {
				exec_string(p, idx, av[j] + 10, strlen(av[j] + 10));
				break;
			}
		}
		return;
	} else if (streq(prog, "sudo")) {
		static const char *const la[] = {
		    "user",   "group",		 "chdir",      "prompt", "role",
		    "type",   "other-user",	 "close-from", "host",	 "login-class",
		    "chroot", "command-timeout", NULL};
		for (size_t j = 1; j < ac && av[j][0] == '-'; j++)
			if (streq(av[j], "-e") || streq(av[j], "--edit") || streq(av[j], "-v") ||
			    streq(av[j], "-k") || streq(av[j], "-K"))
				return;
		k = skip_opts(lx, av, ac, "ugCDhprtTUcR", la, &asg);
	} else if (streq(prog, "doas")) {
		k = skip_opts(lx, av, ac, "uC", NULL, NULL);
	} else if (streq(prog, "runuser")) {
		static const char *const la[] = {"user", "group", "supp-group", NULL};
		k = skip_opts(lx, av, ac, "ugG", la, NULL);
	} else if (streq(prog, "pkexec")) {
		static const char *const la[] = {"user", NULL};
		k = skip_opts(lx, av, ac, "", la, NULL);
	} else if (streq(prog, "nice")) {
		static const char *const la[] = {"adjustment", NULL};
		k = skip_opts(lx, av, ac, "n", la, NULL);
	} else if (streq(prog, "timeout")) {
		static const char *const la[] = {"signal", "kill-after", NULL};
		k = skip_opts(lx, av, ac, "sk", la, NULL) + 1; /* duration */
	} else if (streq(prog, "command")) {
		for (size_t j = 1; j < ac && av[j][0] == '-'; j++)
			if (strchr(av[j], 'v') || strchr(av[j], 'V'))
				return;
		k = skip_opts(lx, av, ac, "", NULL, NULL);
	} else if (streq(prog, "exec")) {
		k = skip_opts(lx, av, ac, "a", NULL, NULL);
	} else if (streq(prog, "time")) {
		static const char *const la[] = {"output", "format", NULL};
		k = skip_opts(lx, av, ac, "of", la, NULL);
	} else if (streq(prog, "stdbuf")) {
		static const char *const la[] = {"input", "output", "error", NULL};
		k = skip_opts(lx, av, ac, "ioe", la, NULL);
	} else if (streq(prog, "ionice")) {
		static const char *const la[] = {"class", "classdata", "pid", "pgid", "uid", NULL};
		for (size_t j = 1; j < ac && av[j][0] == '-'; j++)
			if (streq(av[j], "-p") || streq(av[j], "-P") || streq(av[j], "-u"))
				return;
		k = skip_opts(lx, av, ac, "cnpPu", la, NULL);
	} else if (streq(prog, "chroot")) {
		static const char *const la[] = {"userspec", "groups", NULL};
		k = skip_opts(lx, av, ac, "", la, NULL) + 1; /* NEWROOT */
	} else if (streq(prog, "xargs")) {
		static const char *const la[] = {"arg-file",  "delimiter",	  "eof",
						 "max-lines", "max-args",	  "max-procs",
						 "max-chars", "process-slot-var", NULL};
		k = skip_opts(lx, av, ac, "IdEnPLsa", la, NULL);
	} else {
		/* nohup, setsid, builtin, busybox: no options that matter */
		k = skip_opts(lx, av, ac, "", NULL, NULL);
	}
	if (k && k < ac)
		emit_inner(p, idx, av + k, ac - k, false, &asg);
}
