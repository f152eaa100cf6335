/* The lexer's normalisation (see lex.h for the format): path rewriting,
 * the normalised text of each simple command, and the normalised line
 * built from the commands and their operators. Async-signal-safe like
 * lex.c. */
#include "lex_int.h"

/* ---- normalisation ---- */

/* Does the path a[0..alen) + b start with the workspace root, followed by
 * end or '/'? On success *rest points at the remainder within a or b. */
static bool ws_match(const struct lx *lx, const char *a, size_t alen, const char *b,
		     const char **rest)
{
	if (!lx->ws_ok)
		return false;
	size_t wl = lx->wslen, blen = strlen(b);
	if (alen + blen < wl)
		return false;
	size_t na = alen < wl ? alen : wl;
	if (memcmp(a, lx->ws, na) != 0)
		return false;
	if (wl > alen && memcmp(b, lx->ws + alen, wl - alen) != 0)
		return false;
	const char *r = wl < alen ? a + wl : b + (wl - alen);
	if (*r && *r != '/')
		return false;
	*rest = r;
	return true;
}

/* Whether path has a "." or ".." component or an empty one ("//"). */
static bool needs_resolve(const char *p)
{
	for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		const char *c = s + 1;
		if (*c == '/' || (c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')))
			return true;
	}
	return false;
}

/* Appends base[0..bn) + rest (an absolute path once joined) with "//",
 * "." and ".." resolved lexically (".." at the root stays there), to a
 * new arena string. NULL when the arena is full. */
static char *resolve_path(struct lx *lx, const char *base, size_t bn, const char *rest)
{
	size_t rn = strlen(rest), n = bn + rn;
	char *in = shunt_arena_alloc(lx->a, 2 * n + 4);
	if (!in) {
		lx->err = -ENOMEM;
		return NULL;
	}
	memcpy(in, base, bn);
	memcpy(in + bn, rest, rn);
	char *out = in + n + 1;
	size_t o = 0, i = 0;
	out[o++] = '/';
	while (i < n) {
		while (i < n && in[i] == '/')
			i++;
		size_t s = i;
		while (i < n && in[i] != '/')
			i++;
		size_t len = i - s;
		if (len == 0 || (len == 1 && in[s] == '.'))
			continue;
		if (len == 2 && in[s] == '.' && in[s + 1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			continue;
		}
		if (o > 1)
			out[o++] = '/';
		memcpy(out + o, in + s, len);
		o += len;
	}
	if (n && in[n - 1] == '/' && o > 1)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* A path climbing out with ".." (/tmp/../etc, ~/../.., $TMPDIR/../etc)
 * is written resolved, so rules see where it lands. $TMPDIR is taken to
 * be /tmp. Other words, and relative paths, are returned unchanged. */
static const char *resolved(struct lx *lx, const char *w)
{
	static const char *const tmpvars[] = {"$TMPDIR", "${TMPDIR}", "$TMP", "${TMP}", NULL};
	if (w[0] == '/')
		return needs_resolve(w) ? resolve_path(lx, "", 0, w) : w;
	if (!strchr(w, '/') || !needs_resolve(w))
		return w;
	const char *rest = NULL;
	if (w[0] == '~' && w[1] == '/')
		rest = w + 1;
	else if (!strncmp(w, "$HOME/", 6))
		rest = w + 5;
	else if (!strncmp(w, "${HOME}/", 8))
		rest = w + 7;
	if (rest) {
		if (!lx->homelen)
			return w;
		const char *r = resolve_path(lx, lx->home, lx->homelen, rest);
		return r ? r : w;
	}
	for (size_t k = 0; tmpvars[k]; k++) {
		size_t kl = strlen(tmpvars[k]);
		if (!strncmp(w, tmpvars[k], kl) && w[kl] == '/') {
			const char *r = resolve_path(lx, "/tmp", 4, w + kl);
			return r ? r : w;
		}
	}
	return w;
}

static void put_path(struct lx *lx, struct sbuf *b, const char *w)
{
	w = resolved(lx, w);
	const char *rest = NULL;
	if (!strncmp(w, "$HOME", 5) && (w[5] == '\0' || w[5] == '/'))
		rest = w + 5;
	else if (!strncmp(w, "${HOME}", 7) && (w[7] == '\0' || w[7] == '/'))
		rest = w + 7;
	if (rest) {
		const char *r;
		if (lx->homelen && ws_match(lx, lx->home, lx->homelen, rest, &r)) {
			sb_putc(lx, b, '.');
			sb_put_vis(lx, b, r, strlen(r));
			return;
		}
		sb_putc(lx, b, '~');
		sb_put_vis(lx, b, rest, strlen(rest));
		return;
	}
	if (w[0] == '/') {
		const char *r;
		if (ws_match(lx, "", 0, w, &r)) {
			sb_putc(lx, b, '.');
			sb_put_vis(lx, b, r, strlen(r));
			return;
		}
		if (lx->homelen && !strncmp(w, lx->home, lx->homelen) &&
		    (w[lx->homelen] == '\0' || w[lx->homelen] == '/')) {
			sb_putc(lx, b, '~');
			sb_put_vis(lx, b, w + lx->homelen, strlen(w + lx->homelen));
			return;
		}
	}
	sb_put_vis(lx, b, w, strlen(w));
}

/* One argument as it appears in norm. */
static void put_arg(struct lx *lx, struct sbuf *b, const char *w)
{
	if (!*w) {
		sb_puts(lx, b, "''");
		return;
	}
	size_t k = 0;
	if (w[0] == '-') {
		const char *e = strchr(w, '=');
		if (e)
			k = (size_t)(e - w) + 1;
	} else if (is_name_start(w[0])) {
		size_t j = 1;
		while (is_name_char(w[j]))
			j++;
		if (w[j] == '=')
			k = j + 1;
	}
	if (k)
		sb_put_vis(lx, b, w, k);
	put_path(lx, b, w + k);
}

static void put_redir(struct lx *lx, struct sbuf *b, const struct shunt_redir *r)
{
	if (r->fd >= 0)
		sb_put_uint(lx, b, (unsigned)r->fd);
	const char *t = r->target ? r->target : "";
	switch (r->kind) {
	case SHUNT_REDIR_IN:
		sb_puts(lx, b, "<");
		break;
	case SHUNT_REDIR_OUT:
		sb_puts(lx, b, r->both ? "&>" : ">");
		break;
	case SHUNT_REDIR_APPEND:
		sb_puts(lx, b, r->both ? "&>>" : ">>");
		break;
	case SHUNT_REDIR_HEREDOC:
		sb_puts(lx, b, "<<");
		sb_put_vis(lx, b, t, strlen(t));
		return;
	case SHUNT_REDIR_HERESTR:
		sb_puts(lx, b, "<<<");
		break;
	case SHUNT_REDIR_DUP:
		sb_puts(lx, b, r->dup_in ? "<&" : ">&");
		sb_put_vis(lx, b, t, strlen(t));
		return;
	case SHUNT_REDIR_RW:
		sb_puts(lx, b, "<>");
		break;
	}
	sb_putc(lx, b, ' ');
	put_arg(lx, b, t);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return (s && s[1]) ? s + 1 : p;
}

/* Adds a simple command to out; returns its index or -1 (ENOMEM). argv
 * must stay NUL-terminated at argc. */
long shunt_lex_add_cmd(struct lx *lx, const char **argv, size_t argc, const char **assigns,
		       size_t nassigns, struct shunt_redir *redirs, size_t nredirs, const char *exe,
		       unsigned flags, unsigned depth, const char *via, int pipeline)
{
	struct shunt_cmdline *out = lx->out;
	if (lx->err)
		return -1;
	if (out->n + 1 > out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct shunt_simple *nc = shunt_arena_alloc(lx->a, cap * sizeof(*nc));
		if (!nc) {
			lx->err = -ENOMEM;
			return -1;
		}
		if (out->n)
			memcpy(nc, out->cmds, out->n * sizeof(*nc));
		out->cmds = nc;
		out->cap = cap;
	}
	static const char *const empty_argv[1] = {NULL};
	const char *prog = exe && *exe ? base_name(exe) : argc ? base_name(argv[0]) : "";
	struct sbuf nb = {0};
	if (argc)
		sb_put_vis(lx, &nb, *prog ? prog : "''", *prog ? strlen(prog) : 2);
	for (size_t k = 1; k < argc; k++) {
		sb_putc(lx, &nb, ' ');
		put_arg(lx, &nb, argv[k]);
	}
	for (size_t k = 0; k < nredirs; k++) {
		if (nb.len)
			sb_putc(lx, &nb, ' ');
		put_redir(lx, &nb, &redirs[k]);
	}
	if (lx->err)
		return -1;
	struct shunt_simple *c = &out->cmds[out->n];
	memset(c, 0, sizeof(*c));
	c->argv = argv && argc ? argv : (const char **)empty_argv;
	c->argc = argc;
	c->prog = prog;
	c->norm = sb_str(&nb);
	c->assigns = assigns ? assigns : (const char **)empty_argv;
	c->nassigns = nassigns;
	c->redirs = redirs;
	c->nredirs = nredirs;
	c->via = via;
	c->flags = flags;
	c->depth = depth;
	c->pipeline = pipeline;
	return (long)out->n++;
}

/* ---- building commands and the line ---- */

void shunt_lex_line_item(struct parser *p, const char *text)
{
	struct lx *lx = p->lx;
	if (p->need_op)
		sb_puts(lx, &p->line, p->op ? p->op : " ; ");
	sb_puts(lx, &p->line, text);
	p->need_op = true;
	p->op = NULL;
}

static void cur_reset(struct parser *p)
{
	memset(&p->cur, 0, sizeof(p->cur));
}

void shunt_lex_end_cmd(struct parser *p)
{
	struct lx *lx = p->lx;
	struct cur *c = &p->cur;
	p->skip_words = false;
	if (!c->words.n && !c->assigns.n && !c->redirs.n)
		return;
	unsigned flags = shunt_lex_child_flags(p);
	if (c->dyn0 && c->words.n)
		flags |= SHUNT_CMD_DYNAMIC_NAME;
	if (p->pipe_in)
		flags |= SHUNT_CMD_PIPE_IN;
	long idx =
	    shunt_lex_add_cmd(lx, c->words.v, c->words.n, c->assigns.v, c->assigns.n, c->redirs.v,
			      c->redirs.n, NULL, flags, p->depth, p->via, p->pipeline);
	cur_reset(p);
	p->pipe_in = false;
	if (idx < 0)
		return;
	const struct shunt_simple *sc = &lx->out->cmds[idx];
	struct sbuf t = {0};
	for (size_t k = 0; k < sc->nassigns; k++) {
		put_arg(lx, &t, sc->assigns[k]);
		if (*sc->norm || k + 1 < sc->nassigns)
			sb_putc(lx, &t, ' ');
	}
	sb_puts(lx, &t, sc->norm);
	shunt_lex_line_item(p, sb_str(&t));
	p->last_first = (size_t)idx;
	shunt_lex_unwrap(p, (size_t)idx);
	p->last_end = lx->out->n;
}

void shunt_lex_mark_last(struct parser *p, unsigned flag)
{
	struct shunt_cmdline *out = p->lx->out;
	for (size_t k = p->last_first; k < p->last_end && k < out->n; k++) {
		if ((out->cmds[k].flags & SHUNT_CMD_SUBST) && !(p->flags & SHUNT_CMD_SUBST))
			continue;
		out->cmds[k].flags |= flag;
	}
}

void shunt_lex_set_op(struct parser *p, const char *op, bool pipe)
{
	p->skip_words = false;
	if (pipe) {
		shunt_lex_mark_last(p, SHUNT_CMD_PIPE_OUT);
		p->pipe_in = true;
	} else {
		p->pipe_in = false;
		p->pipeline = p->lx->npipe++;
	}
	if (p->need_op)
		p->op = op;
	p->last_first = p->last_end = 0;
}

void shunt_lex_open_group(struct parser *p, char ch)
{
	struct lx *lx = p->lx;
	if (p->need_op)
		sb_puts(lx, &p->line, p->op ? p->op : " ; ");
	sb_puts(lx, &p->line, ch == '(' ? "( " : "{ ");
	p->need_op = false;
	p->op = NULL;
	p->nest++;
	if (p->funcdef_pending && !p->funcdef_nest)
		p->funcdef_nest = p->nest;
	p->funcdef_pending = false;
}

void shunt_lex_close_group(struct parser *p, char ch)
{
	if (!p->nest)
		return;
	sb_puts(p->lx, &p->line, ch == ')' ? " )" : " }");
	if (p->funcdef_nest == p->nest)
		p->funcdef_nest = 0;
	p->nest--;
	p->need_op = true;
	p->op = NULL;
}
