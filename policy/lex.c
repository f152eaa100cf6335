/* Shell line lexer and normaliser. See lex.h for the output format.
 *
 * Everything here must be async-signal-safe: the shim runs it on a stack
 * arena, possibly in a vfork child. So: arena memory only, no stdio, no
 * locale, no globals, and recursion only through paths bounded by
 * LEX_MAX_DEPTH (substitutions, -c strings, wrapper chains). Subshells and
 * groups are tracked with a counter, not recursion, so "((((((..." of any
 * depth costs no stack. */
#include "lex_int.h"

/* ---- parser ---- */

unsigned shunt_lex_child_flags(const struct parser *p)
{
	unsigned f = p->flags & (SHUNT_CMD_SUBST | SHUNT_CMD_UNWRAPPED | SHUNT_CMD_SUBSHELL |
				 SHUNT_CMD_FUNCDEF);
	if (p->nest)
		f |= SHUNT_CMD_SUBSHELL;
	if (p->funcdef_nest)
		f |= SHUNT_CMD_FUNCDEF;
	return f;
}

static void skip_inline_blanks(struct parser *p)
{
	while (p->i < p->n && is_blank(p->s[p->i]))
		p->i++;
}

static void skip_heredoc_bodies(struct parser *p)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n;
	for (struct heredoc *h = p->hd_head; h && !lx->err; h = h->next) {
		size_t dl = strlen(h->delim);
		size_t start = p->i, end = n;
		while (p->i < n && !lx->err) {
			size_t ls = p->i;
			end = ls;
			const char *nl = memchr(s + ls, '\n', n - ls);
			size_t le = nl ? (size_t)(nl - s) : n;
			size_t cs = ls;
			if (h->strip)
				while (cs < le && s[cs] == '\t')
					cs++;
			if (le - cs == dl && !memcmp(s + cs, h->delim, dl)) {
				p->i = nl ? le + 1 : n;
				break;
			}
			end = n; /* no delimiter line (yet): the body runs to the end */
			/* unquoted delimiter: $(..) and `..` in the body still run */
			size_t j = ls;
			while (!h->quoted && j < le && !lx->err) {
				if (s[j] == '\\') {
					j += 2;
				} else if (s[j] == '$' && j + 1 < n && s[j + 1] == '(') {
					struct sbuf junk = {0};
					j = shunt_lex_subst_paren(p, &junk, j + 2, "$(");
				} else if (s[j] == '`') {
					struct sbuf junk = {0};
					j = shunt_lex_subst_backtick(p, &junk, j, false);
				} else {
					j++;
				}
				if (j > n)
					j = n;
				if (j > le) {
					nl = memchr(s + j, '\n', n - j);
					le = nl ? (size_t)(nl - s) : n;
				}
			}
			p->i = nl ? le + 1 : n;
		}
		if (start > n)
			start = n;
		if (end < start || end > n)
			end = n;
		h->body->text = s + start;
		h->body->len = end - start;
	}
	p->hd_head = p->hd_tail = NULL;
}

static void parse_redir(struct parser *p, int fd)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n, i = p->i;
	struct shunt_redir r = {.fd = fd};
	bool dup_or_out = false, strip = false;
	char c1 = i + 1 < n ? s[i + 1] : '\0', c2 = i + 2 < n ? s[i + 2] : '\0';
	if (s[i] == '&') {
		r.both = true;
		if (c2 == '>') {
			r.kind = SHUNT_REDIR_APPEND;
			i += 3;
		} else {
			r.kind = SHUNT_REDIR_OUT;
			i += 2;
		}
	} else if (s[i] == '>') {
		if (c1 == '>') {
			r.kind = SHUNT_REDIR_APPEND;
			i += 2;
		} else if (c1 == '|') {
			r.kind = SHUNT_REDIR_OUT;
			i += 2;
		} else if (c1 == '&') {
			dup_or_out = true;
			i += 2;
		} else {
			r.kind = SHUNT_REDIR_OUT;
			i++;
		}
	} else {
		if (c1 == '<' && c2 == '<') {
			r.kind = SHUNT_REDIR_HERESTR;
			i += 3;
		} else if (c1 == '<') {
			r.kind = SHUNT_REDIR_HEREDOC;
			i += 2;
			if (i < n && s[i] == '-') {
				strip = true;
				i++;
			}
		} else if (c1 == '&') {
			r.kind = SHUNT_REDIR_DUP;
			r.dup_in = true;
			i += 2;
		} else if (c1 == '>') {
			r.kind = SHUNT_REDIR_RW;
			i += 2;
		} else {
			r.kind = SHUNT_REDIR_IN;
			i++;
		}
	}
	p->i = i;
	skip_inline_blanks(p);
	struct word w;
	if (p->i < n &&
	    (!shunt_lex_word_end(s[p->i]) ||
	     (p->i + 1 < n && (s[p->i] == '<' || s[p->i] == '>') && s[p->i + 1] == '(')))
		shunt_lex_read_word(p, &w);
	else
		memset(&w, 0, sizeof(w)), w.text = "";
	r.target = w.text;
	if (r.kind == SHUNT_REDIR_HEREDOC) {
		r.body = shunt_arena_alloc(lx->a, sizeof(*r.body));
		if (!r.body) {
			lx->err = -ENOMEM;
			return;
		}
		r.body->text = NULL;
		r.body->len = 0;
	}
	if (dup_or_out) {
		bool num = *w.text != '\0';
		for (const char *q = w.text; *q; q++)
			if (!is_digit(*q))
				num = false;
		if (num || streq(w.text, "-") || fd >= 0) {
			r.kind = SHUNT_REDIR_DUP;
		} else {
			r.kind = SHUNT_REDIR_OUT;
			r.both = true;
		}
	}
	rv_push(lx, &p->cur.redirs, &r);
	if (r.kind == SHUNT_REDIR_HEREDOC) {
		struct heredoc *h = shunt_arena_alloc(lx->a, sizeof(*h));
		if (!h) {
			lx->err = -ENOMEM;
			return;
		}
		h->delim = w.text;
		h->body = r.body;
		h->strip = strip;
		h->quoted = !w.plain;
		if (p->hd_tail)
			p->hd_tail->next = h;
		else
			p->hd_head = h;
		p->hd_tail = h;
	}
}

static bool is_assignment(const struct word *w)
{
	const char *t = w->text;
	if (!is_name_start(t[0]))
		return false;
	size_t k = 1;
	while (is_name_char(t[k]))
		k++;
	if (t[k] == '[') {
		while (t[k] && t[k] != ']')
			k++;
		if (t[k] != ']')
			return false;
		k++;
	}
	if (t[k] == '+')
		k++;
	return t[k] == '=' && k < w->first_q;
}

/* Reserved words in command position; returns true when consumed. */
static bool keyword(struct parser *p, const struct word *w)
{
	const char *t = w->text;
	static const char *const skip[] = {"if",   "then",  "elif",  "else", "fi", "do",
					   "done", "while", "until", "!",    NULL};
	for (size_t k = 0; skip[k]; k++)
		if (streq(t, skip[k]))
			return true;
	if (streq(t, "{")) {
		shunt_lex_open_group(p, '{');
		return true;
	}
	if (streq(t, "}")) {
		shunt_lex_close_group(p, '}');
		return true;
	}
	if (streq(t, "esac")) {
		if (p->ncase)
			p->ncase--;
		return true;
	}
	if (streq(t, "case")) {
		struct word tmp;
		skip_inline_blanks(p);
		if (p->i < p->n && !shunt_lex_word_end(p->s[p->i]))
			shunt_lex_read_word(p, &tmp);
		while (p->i < p->n && (is_blank(p->s[p->i]) || p->s[p->i] == '\n'))
			p->i++;
		if (p->i < p->n && !shunt_lex_word_end(p->s[p->i]))
			shunt_lex_read_word(p, &tmp); /* "in" */
		p->ncase++;
		p->case_pat = true;
		return true;
	}
	if (streq(t, "for") || streq(t, "select")) {
		skip_inline_blanks(p);
		if (p->i + 1 < p->n && p->s[p->i] == '(' && p->s[p->i + 1] == '(')
			p->i = shunt_lex_skip_parens(p->s, p->n, p->i + 1);
		else
			p->skip_words = true;
		return true;
	}
	if (streq(t, "function")) {
		struct word tmp;
		skip_inline_blanks(p);
		if (p->i < p->n && !shunt_lex_word_end(p->s[p->i]))
			shunt_lex_read_word(p, &tmp);
		skip_inline_blanks(p);
		if (p->i + 1 < p->n && p->s[p->i] == '(') {
			size_t j = p->i + 1;
			while (j < p->n && is_blank(p->s[j]))
				j++;
			if (j < p->n && p->s[j] == ')')
				p->i = j + 1;
		}
		p->funcdef_pending = true;
		return true;
	}
	return false;
}

/* In a case body between "in"/";;" and ")": patterns are not commands. */
static void case_pattern(struct parser *p)
{
	char c = p->s[p->i];
	if (c == '\n' || c == ';' || c == '|' || c == '(') {
		p->i++;
		return;
	}
	if (c == ')') {
		p->i++;
		p->case_pat = false;
		return;
	}
	size_t before = p->i;
	struct word w;
	shunt_lex_read_word(p, &w);
	if (w.plain && streq(w.text, "esac")) {
		if (p->ncase)
			p->ncase--;
		p->case_pat = false;
	}
	if (p->i == before)
		p->i++;
}

static void handle_word(struct parser *p)
{
	struct lx *lx = p->lx;
	struct cur *c = &p->cur;
	size_t before = p->i;
	struct word w;
	shunt_lex_read_word(p, &w);
	if (p->i == before) {
		p->i++;
		return;
	}
	if (p->skip_words)
		return;
	if (!c->words.n && !c->assigns.n && !c->redirs.n && w.plain && keyword(p, &w))
		return;
	if (!c->words.n && is_assignment(&w)) {
		pv_push(lx, &c->assigns, w.text);
		return;
	}
	pv_push(lx, &c->words, w.text);
	if (c->words.n != 1)
		return;
	c->dyn0 = w.dyn;
	/* name () compound: a function definition, not a command */
	size_t j = p->i;
	while (j < p->n && is_blank(p->s[j]))
		j++;
	if (j < p->n && p->s[j] == '(') {
		j++;
		while (j < p->n && is_blank(p->s[j]))
			j++;
		if (j < p->n && p->s[j] == ')') {
			p->i = j + 1;
			memset(&c->words, 0, sizeof(c->words));
			c->dyn0 = false;
			p->funcdef_pending = true;
		}
	}
}

size_t shunt_lex_parse(struct lx *lx, const char *s, size_t n, size_t i, char stop, unsigned depth,
		       unsigned flags, const char *via, const char **line_out, size_t *main_len)
{
	struct parser P;
	struct parser *p = &P;
	memset(p, 0, sizeof(*p));
	p->lx = lx;
	p->s = s;
	p->n = n;
	p->i = i;
	p->stop = stop;
	p->depth = depth;
	p->flags = flags;
	p->via = via;
	p->pipeline = lx->npipe++;
	while (p->i < n && !lx->err) {
		char c = s[p->i];
		char c1 = p->i + 1 < n ? s[p->i + 1] : '\0';
		if (is_blank(c)) {
			p->i++;
			continue;
		}
		if (c == '\\' && c1 == '\n') {
			p->i += 2;
			continue;
		}
		if (p->case_pat) {
			case_pattern(p);
			continue;
		}
		switch (c) {
		case '#': {
			const char *nl = memchr(s + p->i, '\n', n - p->i);
			p->i = nl ? (size_t)(nl - s) : n;
			break;
		}
		case '\n':
			shunt_lex_end_cmd(p);
			shunt_lex_set_op(p, " ; ", false);
			p->i++;
			if (p->hd_head)
				skip_heredoc_bodies(p);
			break;
		case ';': {
			shunt_lex_end_cmd(p);
			bool to_pat = false;
			if (c1 == ';') {
				p->i += (p->i + 2 < n && s[p->i + 2] == '&') ? 3 : 2;
				to_pat = true;
			} else if (c1 == '&') {
				p->i += 2;
				to_pat = true;
			} else {
				p->i++;
			}
			shunt_lex_set_op(p, " ; ", false);
			if (to_pat && p->ncase)
				p->case_pat = true;
			break;
		}
		case '&':
			if (c1 == '>') {
				parse_redir(p, -1);
			} else if (c1 == '&') {
				shunt_lex_end_cmd(p);
				shunt_lex_set_op(p, " && ", false);
				p->i += 2;
			} else {
				shunt_lex_end_cmd(p);
				shunt_lex_mark_last(p, SHUNT_CMD_BACKGROUND);
				shunt_lex_set_op(p, " & ", false);
				p->i++;
			}
			break;
		case '|':
			shunt_lex_end_cmd(p);
			if (c1 == '|') {
				shunt_lex_set_op(p, " || ", false);
				p->i += 2;
			} else if (c1 == '&') {
				shunt_lex_set_op(p, " |& ", true);
				p->i += 2;
			} else {
				shunt_lex_set_op(p, " | ", true);
				p->i++;
			}
			break;
		case '(':
			if (!p->cur.words.n && !p->cur.assigns.n && !p->cur.redirs.n)
				shunt_lex_open_group(p, '(');
			p->i++;
			break;
		case ')':
			shunt_lex_end_cmd(p);
			p->i++;
			if (p->nest)
				shunt_lex_close_group(p, ')');
			else if (stop == ')')
				goto done;
			break;
		case '<':
		case '>':
			if (c1 == '(')
				handle_word(p);
			else
				parse_redir(p, -1);
			break;
		default:
			if (is_digit(c)) {
				size_t j = p->i;
				while (j < n && is_digit(s[j]))
					j++;
				if (j < n && (s[j] == '<' || s[j] == '>') && j - p->i <= 4 &&
				    !(j + 1 < n && s[j + 1] == '(')) {
					int fd = 0;
					for (size_t k = p->i; k < j; k++)
						fd = fd * 10 + (s[k] - '0');
					p->i = j;
					parse_redir(p, fd);
					break;
				}
			}
			handle_word(p);
		}
	}
done:
	shunt_lex_end_cmd(p);
	*main_len = p->line.len;
	if (p->extra.len)
		sb_putn(lx, &p->line, p->extra.p, p->extra.len);
	*line_out = sb_str(&p->line);
	if (*main_len > p->line.len)
		*main_len = p->line.len; /* ENOMEM on the way */
	return p->i;
}

/* ---- entry points ---- */

static size_t trim_slashes(const char *s)
{
	size_t l = strlen(s);
	while (l && s[l - 1] == '/')
		l--;
	return l;
}

static void lx_init(struct lx *lx, const struct shunt_lex_ctx *ctx, struct shunt_arena *a,
		    struct shunt_cmdline *out)
{
	memset(lx, 0, sizeof(*lx));
	memset(out, 0, sizeof(*out));
	out->line = "";
	lx->a = a;
	lx->out = out;
	if (ctx && ctx->home && ctx->home[0] == '/') {
		lx->home = ctx->home;
		lx->homelen = trim_slashes(ctx->home);
	}
	if (ctx && ctx->workspace && ctx->workspace[0] == '/') {
		lx->ws = ctx->workspace;
		lx->wslen = trim_slashes(ctx->workspace);
		lx->ws_ok = lx->wslen > 0;
		/* a workspace that is HOME or contains it would hide ~ paths */
		if (lx->ws_ok && lx->homelen >= lx->wslen && !memcmp(lx->home, lx->ws, lx->wslen) &&
		    (lx->homelen == lx->wslen || lx->home[lx->wslen] == '/'))
			lx->ws_ok = false;
	}
}

int shunt_lex_norm_words(const char **w, size_t n, const struct shunt_lex_ctx *ctx,
			 struct shunt_arena *a)
{
	struct lx lx;
	struct shunt_cmdline unused;
	lx_init(&lx, ctx, a, &unused);
	for (size_t i = 0; i < n && !lx.err; i++) {
		struct sbuf b = {0};
		shunt_lex_put_arg(&lx, &b, w[i]);
		if (!lx.err)
			w[i] = sb_str(&b);
	}
	return lx.err ? -ENOMEM : 0;
}

int shunt_lex_line(const char *line, size_t len, const struct shunt_lex_ctx *ctx,
		   struct shunt_arena *a, struct shunt_cmdline *out)
{
	struct lx lx;
	lx_init(&lx, ctx, a, out);
	const char *l = "";
	size_t ml = 0;
	lx.budget = 8 * (line ? len : 0) + 65536;
	shunt_lex_parse(&lx, line ? line : "", line ? len : 0, 0, 0, 0, 0, NULL, &l, &ml);
	out->line = l;
	if (lx.err) {
		out->truncated = true;
		return lx.err;
	}
	return 0;
}

int shunt_lex_argv(const char *exe, const char *const *argv, size_t argc,
		   const struct shunt_lex_ctx *ctx, struct shunt_arena *a,
		   struct shunt_cmdline *out)
{
	struct lx lx;
	lx_init(&lx, ctx, a, out);
	struct parser P;
	memset(&P, 0, sizeof(P));
	P.lx = &lx;
	P.s = "";
	P.pipeline = lx.npipe++;
	lx.budget = 65536;
	for (size_t k = 0; k < argc; k++)
		lx.budget += 8 * (argv[k] ? strlen(argv[k]) : 0);
	struct pvec v = {0};
	if (!argc && exe)
		pv_push(&lx, &v, exe);
	for (size_t k = 0; k < argc; k++)
		pv_push(&lx, &v, argv[k] ? argv[k] : "");
	if (!lx.err && v.n) {
		long idx =
		    shunt_lex_add_cmd(&lx, v.v, v.n, NULL, 0, NULL, 0, exe, 0, 0, NULL, P.pipeline);
		if (idx >= 0)
			shunt_lex_unwrap(&P, (size_t)idx);
		/* one command: the line is its norm, shared rather than copied
		 * (a 128 KiB argv), then what its wrappers run */
		if (idx >= 0 && !P.extra.len) {
			out->line = lx.out->cmds[idx].norm;
		} else if (idx >= 0) {
			shunt_lex_line_item(&P, lx.out->cmds[idx].norm);
			sb_putn(&lx, &P.line, P.extra.p, P.extra.len);
			out->line = sb_str(&P.line);
		}
	}
	if (lx.err) {
		out->truncated = true;
		return lx.err;
	}
	return 0;
}
