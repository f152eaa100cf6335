/* Shell line lexer and normaliser. See lex.h for the output format.
 *
 * Everything here must be async-signal-safe: the shim runs it on a stack
 * arena, possibly in a vfork child. So: arena memory only, no stdio, no
 * locale, no globals, and recursion only through paths bounded by
 * LEX_MAX_DEPTH (substitutions, -c strings, wrapper chains). Subshells and
 * groups are tracked with a counter, not recursion, so "((((((..." of any
 * depth costs no stack. */
#include "lex.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define LEX_MAX_DEPTH 8

struct sbuf {
	char *p;
	size_t len, cap;
};

struct pvec {
	const char **v;
	size_t n, cap;
};

struct rvec {
	struct shunt_redir *v;
	size_t n, cap;
};

/* State shared by one shunt_lex_* call. */
struct lx {
	struct shunt_arena *a;
	struct shunt_cmdline *out;
	const char *home;
	size_t homelen;
	const char *ws;
	size_t wslen;
	bool ws_ok;
	int err;
	int npipe;
	size_t budget; /* bytes that may still be re-lexed (-c strings, `..`) */
};

struct heredoc {
	struct heredoc *next;
	const char *delim;
	bool strip, quoted;
};

/* The simple command being collected. */
struct cur {
	struct pvec words, assigns;
	struct rvec redirs;
	bool dyn0;
};

/* One source text being parsed (a line, a $(..) body, a -c string). */
struct parser {
	struct lx *lx;
	const char *s;
	size_t n, i;
	char stop;
	unsigned depth, flags;
	const char *via;
	struct sbuf line, extra;
	const char *op;
	bool need_op;
	unsigned nest, funcdef_nest;
	bool funcdef_pending;
	unsigned ncase;
	bool case_pat;
	bool skip_words;
	bool pipe_in;
	size_t last_first, last_end;
	struct heredoc *hd_head, *hd_tail;
	int pipeline;
	struct cur cur;
};

struct word {
	const char *text;
	size_t len;
	bool have;	/* something was consumed (""/'' count) */
	bool plain;	/* no quoting, escapes or expansions at all */
	bool dyn;	/* contains an expansion or substitution */
	size_t first_q; /* offset in text of the first non-plain part */
};

/* ---- ASCII helpers (no locale) ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\0' || c == '\v' || c == '\f';
}
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_name_start(char c)
{
	return is_alpha(c) || c == '_';
}
static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c);
}
static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* ---- arena-backed growable buffers ---- */

static bool sb_reserve(struct lx *lx, struct sbuf *b, size_t extra)
{
	if (lx->err)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 32;
	while (cap < need) {
		if (cap > SIZE_MAX / 4) {
			lx->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	char *np = shunt_arena_alloc(lx->a, cap);
	if (!np) {
		lx->err = -ENOMEM;
		return false;
	}
	if (b->len)
		memcpy(np, b->p, b->len);
	np[b->len] = '\0';
	b->p = np;
	b->cap = cap;
	return true;
}

/* Appends n bytes; NUL bytes are dropped so that nothing after one can
 * hide from later C-string matching. */
static void sb_putn(struct lx *lx, struct sbuf *b, const char *s, size_t n)
{
	if (!n || !sb_reserve(lx, b, n))
		return;
	if (memchr(s, '\0', n)) {
		for (size_t k = 0; k < n; k++)
			if (s[k])
				b->p[b->len++] = s[k];
	} else {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
	b->p[b->len] = '\0';
}
static void sb_putc(struct lx *lx, struct sbuf *b, char c)
{
	sb_putn(lx, b, &c, 1);
}
static void sb_puts(struct lx *lx, struct sbuf *b, const char *s)
{
	sb_putn(lx, b, s, strlen(s));
}
static const char *sb_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}
/* Control bytes become one space: rules never see a newline or tab. */
static void sb_put_vis(struct lx *lx, struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(lx, b, n))
		return;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		b->p[b->len++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	b->p[b->len] = '\0';
}
static void sb_put_uint(struct lx *lx, struct sbuf *b, unsigned v)
{
	char tmp[12];
	size_t k = sizeof(tmp);
	do {
		tmp[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k);
	sb_putn(lx, b, tmp + k, sizeof(tmp) - k);
}

static bool pv_push(struct lx *lx, struct pvec *pv, const char *s)
{
	if (lx->err)
		return false;
	if (pv->n + 2 > pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 8;
		const char **nv = shunt_arena_alloc(lx->a, cap * sizeof(*nv));
		if (!nv) {
			lx->err = -ENOMEM;
			return false;
		}
		if (pv->n)
			memcpy(nv, pv->v, pv->n * sizeof(*nv));
		pv->v = nv;
		pv->cap = cap;
	}
	pv->v[pv->n++] = s;
	pv->v[pv->n] = NULL;
	return true;
}

static bool rv_push(struct lx *lx, struct rvec *rv, const struct shunt_redir *r)
{
	if (lx->err)
		return false;
	if (rv->n + 1 > rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 4;
		struct shunt_redir *nv = shunt_arena_alloc(lx->a, cap * sizeof(*nv));
		if (!nv) {
			lx->err = -ENOMEM;
			return false;
		}
		if (rv->n)
			memcpy(nv, rv->v, rv->n * sizeof(*nv));
		rv->v = nv;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *r;
	return true;
}

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

static void put_path(struct lx *lx, struct sbuf *b, const char *w)
{
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
static long add_cmd(struct lx *lx, const char **argv, size_t argc, const char **assigns,
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

/* ---- scanning helpers that never recurse ---- */

/* Index just past the ')' matching an already-open '(' before start. */
static size_t skip_parens(const char *s, size_t n, size_t j)
{
	size_t depth = 1;
	while (j < n) {
		char c = s[j];
		if (c == '\\') {
			j += 2;
		} else if (c == '\'' || c == '`') {
			j++;
			while (j < n && s[j] != c)
				j++;
			j++;
		} else if (c == '"') {
			j++;
			while (j < n && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			j++;
		} else {
			if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				return j + 1;
			j++;
		}
	}
	return n;
}

/* For "$((" at start-3: the index past "))" when this is arithmetic,
 * else 0 (bash then reads it as $( (..) ), a command substitution). */
static size_t arith_end(const char *s, size_t n, size_t j)
{
	size_t depth = 2;
	while (j < n) {
		char c = s[j];
		if (c == '\\') {
			j += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')') {
			if (--depth == 1)
				return (j + 1 < n && s[j + 1] == ')') ? j + 2 : 0;
		}
		j++;
	}
	return 0;
}

/* ---- parser ---- */

static size_t parse(struct lx *lx, const char *s, size_t n, size_t i, char stop, unsigned depth,
		    unsigned flags, const char *via, const char **line_out, size_t *main_len);
static void unwrap(struct parser *p, size_t idx);

static unsigned child_flags(const struct parser *p)
{
	unsigned f = p->flags & (SHUNT_CMD_SUBST | SHUNT_CMD_UNWRAPPED | SHUNT_CMD_SUBSHELL |
				 SHUNT_CMD_FUNCDEF);
	if (p->nest)
		f |= SHUNT_CMD_SUBSHELL;
	if (p->funcdef_nest)
		f |= SHUNT_CMD_FUNCDEF;
	return f;
}

static void mark(struct word *w, const struct sbuf *b)
{
	w->plain = false;
	if (w->first_q > b->len)
		w->first_q = b->len;
}

/* $( .. ) / <( .. ) body starting at start: lexes it (commands flagged
 * SUBST) and appends open + inner line + ")" to b. */
static size_t subst_paren(struct parser *p, struct sbuf *b, size_t start, const char *open)
{
	struct lx *lx = p->lx;
	sb_puts(lx, b, open);
	if (p->depth + 1 >= LEX_MAX_DEPTH) {
		lx->out->truncated = true;
		size_t end = skip_parens(p->s, p->n, start);
		sb_put_vis(lx, b, p->s + start, end - start);
		if (end == p->n)
			sb_putc(lx, b, ')');
		return end;
	}
	/* only the main part: extras of the inner line stay out of words, or
	 * re-lexing them (env -S "$(..)") would grow the text exponentially */
	const char *inner = "";
	size_t ml = 0;
	size_t end = parse(lx, p->s, p->n, start, ')', p->depth + 1,
			   child_flags(p) | SHUNT_CMD_SUBST, p->via, &inner, &ml);
	sb_putn(lx, b, inner, ml);
	sb_putc(lx, b, ')');
	return end;
}

/* `..` at i: unescapes the body, lexes it, appends "$(" inner ")". */
static size_t subst_backtick(struct parser *p, struct sbuf *b, size_t i, bool in_dq)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n, j = i + 1;
	struct sbuf t = {0};
	while (j < n && s[j] != '`' && !lx->err) {
		if (s[j] == '\\' && j + 1 < n &&
		    (s[j + 1] == '`' || s[j + 1] == '\\' || s[j + 1] == '$' ||
		     (in_dq && s[j + 1] == '"'))) {
			sb_putc(lx, &t, s[j + 1]);
			j += 2;
		} else {
			sb_putc(lx, &t, s[j]);
			j++;
		}
	}
	size_t end = j < n ? j + 1 : n;
	sb_puts(lx, b, "$(");
	if (p->depth + 1 >= LEX_MAX_DEPTH || t.len > lx->budget) {
		lx->out->truncated = true;
		sb_put_vis(lx, b, sb_str(&t), t.len);
	} else {
		const char *inner = "";
		size_t ml = 0;
		lx->budget -= t.len;
		parse(lx, sb_str(&t), t.len, 0, 0, p->depth + 1, child_flags(p) | SHUNT_CMD_SUBST,
		      p->via, &inner, &ml);
		sb_putn(lx, b, inner, ml);
	}
	sb_putc(lx, b, ')');
	return end;
}

static void put_utf8(struct lx *lx, struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t k;
	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else if (cp < 0x110000) {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	} else {
		u[0] = '?';
		k = 1;
	}
	sb_putn(lx, b, u, k);
}

/* $'..' body at i (just past the opening quote). */
static size_t read_ansi(struct parser *p, struct sbuf *b, size_t i)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n;
	while (i < n && s[i] != '\'' && !lx->err) {
		if (s[i] != '\\' || i + 1 >= n) {
			sb_putc(lx, b, s[i++]);
			continue;
		}
		char e = s[i + 1];
		i += 2;
		switch (e) {
		case 'a':
			sb_putc(lx, b, '\a');
			break;
		case 'b':
			sb_putc(lx, b, '\b');
			break;
		case 'e':
		case 'E':
			sb_putc(lx, b, 0x1b);
			break;
		case 'f':
			sb_putc(lx, b, '\f');
			break;
		case 'n':
			sb_putc(lx, b, '\n');
			break;
		case 'r':
			sb_putc(lx, b, '\r');
			break;
		case 't':
			sb_putc(lx, b, '\t');
			break;
		case 'v':
			sb_putc(lx, b, '\v');
			break;
		case 'c':
			if (i < n)
				sb_putc(lx, b, (char)(s[i++] & 0x1f));
			break;
		case 'x': {
			unsigned v = 0, k = 0;
			while (k < 2 && i < n && hexval(s[i]) >= 0)
				v = v * 16 + (unsigned)hexval(s[i++]), k++;
			if (k)
				sb_putc(lx, b, (char)v);
			else
				sb_puts(lx, b, "\\x");
			break;
		}
		case 'u':
		case 'U': {
			unsigned max = e == 'u' ? 4 : 8, k = 0;
			uint32_t v = 0;
			while (k < max && i < n && hexval(s[i]) >= 0)
				v = v * 16 + (uint32_t)hexval(s[i++]), k++;
			if (k)
				put_utf8(lx, b, v);
			else {
				sb_putc(lx, b, '\\');
				sb_putc(lx, b, e);
			}
			break;
		}
		default:
			if (e >= '0' && e <= '7') {
				unsigned v = (unsigned)(e - '0'), k = 1;
				while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7')
					v = v * 8 + (unsigned)(s[i++] - '0'), k++;
				sb_putc(lx, b, (char)v);
			} else if (e == '\\' || e == '\'' || e == '"' || e == '?') {
				sb_putc(lx, b, e);
			} else {
				sb_putc(lx, b, '\\');
				sb_putc(lx, b, e);
			}
		}
	}
	return i < n ? i + 1 : n;
}

static size_t read_dq(struct parser *p, struct sbuf *b, struct word *w, size_t i);

/* A '$' at i, unquoted or inside "..". */
static size_t read_dollar(struct parser *p, struct sbuf *b, struct word *w, size_t i, bool in_dq)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n;
	char c = i + 1 < n ? s[i + 1] : '\0';
	if (i + 1 >= n) {
		sb_putc(lx, b, '$');
		return i + 1;
	}
	if (c == '\'' && !in_dq) {
		mark(w, b);
		return read_ansi(p, b, i + 2);
	}
	if (c == '"' && !in_dq) {
		mark(w, b);
		return read_dq(p, b, w, i + 2);
	}
	if (c == '(') {
		mark(w, b);
		w->dyn = true;
		if (i + 2 < n && s[i + 2] == '(') {
			size_t end = arith_end(s, n, i + 3);
			if (end) {
				/* arithmetic: kept as written, but $(..) and `..`
				 * inside it still run */
				size_t k = i;
				while (k < end && !lx->err) {
					if (s[k] == '$' && k > i + 2 && k + 1 < end &&
					    s[k + 1] == '(' && !(k + 2 < end && s[k + 2] == '(')) {
						k = subst_paren(p, b, k + 2, "$(");
					} else if (s[k] == '`') {
						k = subst_backtick(p, b, k, in_dq);
					} else {
						sb_put_vis(lx, b, s + k, 1);
						k++;
					}
				}
				return k > end ? k : end;
			}
		}
		return subst_paren(p, b, i + 2, "$(");
	}
	if (c == '{') {
		mark(w, b);
		if (!(i + 7 <= n && !memcmp(s + i, "${HOME}", 7)))
			w->dyn = true;
		sb_puts(lx, b, "${");
		size_t j = i + 2, depth = 1;
		while (j < n && !lx->err) {
			char d = s[j];
			if (d == '\\' && j + 1 < n) {
				sb_putn(lx, b, s + j, 2);
				j += 2;
			} else if (d == '$' && j + 1 < n && s[j + 1] == '(') {
				j = subst_paren(p, b, j + 2, "$(");
			} else if (d == '`') {
				j = subst_backtick(p, b, j, in_dq);
			} else {
				if (d == '{')
					depth++;
				else if (d == '}' && --depth == 0) {
					sb_putc(lx, b, '}');
					return j + 1;
				}
				sb_putc(lx, b, d);
				j++;
			}
		}
		return j;
	}
	if (is_name_start(c)) {
		mark(w, b);
		size_t j = i + 1;
		while (j < n && is_name_char(s[j]))
			j++;
		if (!(j - i == 5 && !memcmp(s + i, "$HOME", 5)))
			w->dyn = true;
		sb_putn(lx, b, s + i, j - i);
		return j;
	}
	if (is_digit(c) || c == '@' || c == '*' || c == '#' || c == '?' || c == '$' || c == '!' ||
	    c == '-') {
		mark(w, b);
		w->dyn = true;
		sb_putn(lx, b, s + i, 2);
		return i + 2;
	}
	sb_putc(lx, b, '$');
	return i + 1;
}

static size_t read_dq(struct parser *p, struct sbuf *b, struct word *w, size_t i)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n;
	while (i < n && s[i] != '"' && !lx->err) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char e = s[i + 1];
			if (e == '$' || e == '`' || e == '"' || e == '\\')
				sb_putc(lx, b, e);
			else if (e != '\n') {
				sb_putc(lx, b, '\\');
				sb_putc(lx, b, e);
			}
			i += 2;
		} else if (c == '$') {
			i = read_dollar(p, b, w, i, true);
		} else if (c == '`') {
			w->dyn = true;
			i = subst_backtick(p, b, i, true);
		} else {
			sb_putc(lx, b, c);
			i++;
		}
	}
	return i < n ? i + 1 : n;
}

static bool word_end(char c)
{
	return is_blank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' ||
	       c == ')' || c == '<' || c == '>';
}

/* Reads one word at p->i, removing quotes and escapes. */
static void read_word(struct parser *p, struct word *w)
{
	struct lx *lx = p->lx;
	const char *s = p->s;
	size_t n = p->n, i = p->i;
	struct sbuf b = {0};
	memset(w, 0, sizeof(*w));
	w->plain = true;
	w->first_q = SIZE_MAX;
	if (i + 1 < n && (s[i] == '<' || s[i] == '>') && s[i + 1] == '(') {
		w->have = true;
		mark(w, &b);
		w->dyn = true;
		i = subst_paren(p, &b, i + 2, s[i] == '<' ? "<(" : ">(");
	}
	while (i < n && !lx->err) {
		char c = s[i];
		if (word_end(c)) {
			/* NAME=(a b c): an array assignment is one word */
			if (c == '(' && b.len && b.p[b.len - 1] == '=' && w->first_q == SIZE_MAX &&
			    is_name_start(b.p[0])) {
				size_t end = skip_parens(s, n, i + 1);
				sb_put_vis(lx, &b, s + i, end - i);
				i = end;
				continue;
			}
			break;
		}
		w->have = true;
		switch (c) {
		case '\\':
			mark(w, &b);
			if (i + 1 < n) {
				if (s[i + 1] != '\n')
					sb_putc(lx, &b, s[i + 1]);
				i += 2;
			} else {
				i++;
			}
			break;
		case '\'': {
			mark(w, &b);
			size_t j = i + 1;
			const char *q = memchr(s + j, '\'', n - j);
			size_t e = q ? (size_t)(q - s) : n;
			sb_putn(lx, &b, s + j, e - j);
			i = q ? e + 1 : n;
			break;
		}
		case '"':
			mark(w, &b);
			i = read_dq(p, &b, w, i + 1);
			break;
		case '`':
			mark(w, &b);
			w->dyn = true;
			i = subst_backtick(p, &b, i, false);
			break;
		case '$':
			i = read_dollar(p, &b, w, i, false);
			break;
		default:
			sb_putc(lx, &b, c);
			i++;
		}
	}
	p->i = i;
	w->text = sb_str(&b);
	w->len = b.len;
}

/* ---- building commands and the line ---- */

static void line_item(struct parser *p, const char *text)
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

static void end_cmd(struct parser *p)
{
	struct lx *lx = p->lx;
	struct cur *c = &p->cur;
	p->skip_words = false;
	if (!c->words.n && !c->assigns.n && !c->redirs.n)
		return;
	unsigned flags = child_flags(p);
	if (c->dyn0 && c->words.n)
		flags |= SHUNT_CMD_DYNAMIC_NAME;
	if (p->pipe_in)
		flags |= SHUNT_CMD_PIPE_IN;
	long idx = add_cmd(lx, c->words.v, c->words.n, c->assigns.v, c->assigns.n, c->redirs.v,
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
	line_item(p, sb_str(&t));
	p->last_first = (size_t)idx;
	unwrap(p, (size_t)idx);
	p->last_end = lx->out->n;
}

static void mark_last(struct parser *p, unsigned flag)
{
	struct shunt_cmdline *out = p->lx->out;
	for (size_t k = p->last_first; k < p->last_end && k < out->n; k++) {
		if ((out->cmds[k].flags & SHUNT_CMD_SUBST) && !(p->flags & SHUNT_CMD_SUBST))
			continue;
		out->cmds[k].flags |= flag;
	}
}

static void set_op(struct parser *p, const char *op, bool pipe)
{
	p->skip_words = false;
	if (pipe) {
		mark_last(p, SHUNT_CMD_PIPE_OUT);
		p->pipe_in = true;
	} else {
		p->pipe_in = false;
		p->pipeline = p->lx->npipe++;
	}
	if (p->need_op)
		p->op = op;
	p->last_first = p->last_end = 0;
}

static void open_group(struct parser *p, char ch)
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

static void close_group(struct parser *p, char ch)
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
		while (p->i < n && !lx->err) {
			size_t ls = p->i;
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
			/* unquoted delimiter: $(..) and `..` in the body still run */
			size_t j = ls;
			while (!h->quoted && j < le && !lx->err) {
				if (s[j] == '\\') {
					j += 2;
				} else if (s[j] == '$' && j + 1 < n && s[j + 1] == '(') {
					struct sbuf junk = {0};
					j = subst_paren(p, &junk, j + 2, "$(");
				} else if (s[j] == '`') {
					struct sbuf junk = {0};
					j = subst_backtick(p, &junk, j, false);
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
	    (!word_end(s[p->i]) ||
	     (p->i + 1 < n && (s[p->i] == '<' || s[p->i] == '>') && s[p->i + 1] == '(')))
		read_word(p, &w);
	else
		memset(&w, 0, sizeof(w)), w.text = "";
	r.target = w.text;
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
		open_group(p, '{');
		return true;
	}
	if (streq(t, "}")) {
		close_group(p, '}');
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
		if (p->i < p->n && !word_end(p->s[p->i]))
			read_word(p, &tmp);
		while (p->i < p->n && (is_blank(p->s[p->i]) || p->s[p->i] == '\n'))
			p->i++;
		if (p->i < p->n && !word_end(p->s[p->i]))
			read_word(p, &tmp); /* "in" */
		p->ncase++;
		p->case_pat = true;
		return true;
	}
	if (streq(t, "for") || streq(t, "select")) {
		skip_inline_blanks(p);
		if (p->i + 1 < p->n && p->s[p->i] == '(' && p->s[p->i + 1] == '(')
			p->i = skip_parens(p->s, p->n, p->i + 1);
		else
			p->skip_words = true;
		return true;
	}
	if (streq(t, "function")) {
		struct word tmp;
		skip_inline_blanks(p);
		if (p->i < p->n && !word_end(p->s[p->i]))
			read_word(p, &tmp);
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
	read_word(p, &w);
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
	read_word(p, &w);
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

static size_t parse(struct lx *lx, const char *s, size_t n, size_t i, char stop, unsigned depth,
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
			end_cmd(p);
			set_op(p, " ; ", false);
			p->i++;
			if (p->hd_head)
				skip_heredoc_bodies(p);
			break;
		case ';': {
			end_cmd(p);
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
			set_op(p, " ; ", false);
			if (to_pat && p->ncase)
				p->case_pat = true;
			break;
		}
		case '&':
			if (c1 == '>') {
				parse_redir(p, -1);
			} else if (c1 == '&') {
				end_cmd(p);
				set_op(p, " && ", false);
				p->i += 2;
			} else {
				end_cmd(p);
				mark_last(p, SHUNT_CMD_BACKGROUND);
				set_op(p, " & ", false);
				p->i++;
			}
			break;
		case '|':
			end_cmd(p);
			if (c1 == '|') {
				set_op(p, " || ", false);
				p->i += 2;
			} else if (c1 == '&') {
				set_op(p, " |& ", true);
				p->i += 2;
			} else {
				set_op(p, " | ", true);
				p->i++;
			}
			break;
		case '(':
			if (!p->cur.words.n && !p->cur.assigns.n && !p->cur.redirs.n)
				open_group(p, '(');
			p->i++;
			break;
		case ')':
			end_cmd(p);
			p->i++;
			if (p->nest)
				close_group(p, ')');
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
	end_cmd(p);
	*main_len = p->line.len;
	if (p->extra.len)
		sb_putn(lx, &p->line, p->extra.p, p->extra.len);
	*line_out = sb_str(&p->line);
	if (*main_len > p->line.len)
		*main_len = p->line.len; /* ENOMEM on the way */
	return p->i;
}

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
	long ni = add_cmd(lx, av, ac, asg ? asg->v : NULL, asg ? asg->n : 0, w.redirs, w.nredirs,
			  NULL, fl, w.depth + 1, via_for(lx, &w), w.pipeline);
	if (ni >= 0)
		unwrap(p, (size_t)ni);
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
	parse(lx, str, len, 0, 0, w.depth + 1, fl, via_for(lx, &w), &inner, &ml);
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

static void unwrap(struct parser *p, size_t idx)
{
	struct lx *lx = p->lx;
	if (lx->err)
		return;
	const struct shunt_simple *c = &lx->out->cmds[idx];
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

int shunt_lex_line(const char *line, size_t len, const struct shunt_lex_ctx *ctx,
		   struct shunt_arena *a, struct shunt_cmdline *out)
{
	struct lx lx;
	lx_init(&lx, ctx, a, out);
	const char *l = "";
	size_t ml = 0;
	lx.budget = 8 * (line ? len : 0) + 65536;
	parse(&lx, line ? line : "", line ? len : 0, 0, 0, 0, 0, NULL, &l, &ml);
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
		long idx = add_cmd(&lx, v.v, v.n, NULL, 0, NULL, 0, exe, 0, 0, NULL, P.pipeline);
		if (idx >= 0) {
			line_item(&P, lx.out->cmds[idx].norm);
			unwrap(&P, (size_t)idx);
		}
	}
	if (P.extra.len)
		sb_putn(&lx, &P.line, P.extra.p, P.extra.len);
	out->line = sb_str(&P.line);
	if (lx.err) {
		out->truncated = true;
		return lx.err;
	}
	return 0;
}
