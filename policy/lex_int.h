/* Private to the lexer (lex.c parser, lex_word.c word reader, lex_norm.c
 * normalisation, lex_wrap.c wrapper knowledge): the parser state, the
 * arena-backed buffers and the ASCII helpers they share. Same
 * async-signal-safety rules as lex.c. */
#ifndef SHUNT_LEX_INT_H
#define SHUNT_LEX_INT_H

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
	struct shunt_heredoc_body *body; /* filled when the body is skipped */
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

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\0' || c == '\v' || c == '\f';
}
static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}
static inline bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool is_name_start(char c)
{
	return is_alpha(c) || c == '_';
}
static inline bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c);
}
static inline int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* ---- arena-backed growable buffers ---- */

static inline bool sb_reserve(struct lx *lx, struct sbuf *b, size_t extra)
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
	struct shunt_arena *a = lx->a;
	/* The arena's last allocation grows in place: a long word or norm
	 * is then written once, not copied at each doubling. */
	if (b->p && b->p + b->cap == a->base + a->used && a->size - a->used >= cap - b->cap) {
		a->used += cap - b->cap;
		b->cap = cap;
		return true;
	}
	/* Not zeroed (caps are multiples of 16, as the arena keeps used): the
	 * buffer is written before it is read. */
	char *np;
	if (a->base && a->size - a->used >= cap) {
		np = a->base + a->used;
		a->used += cap;
	} else {
		np = shunt_arena_alloc(a, cap);
	}
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
static inline void sb_putn(struct lx *lx, struct sbuf *b, const char *s, size_t n)
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
static inline void sb_putc(struct lx *lx, struct sbuf *b, char c)
{
	sb_putn(lx, b, &c, 1);
}
static inline void sb_puts(struct lx *lx, struct sbuf *b, const char *s)
{
	sb_putn(lx, b, s, strlen(s));
}
static inline const char *sb_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}
/* Control bytes become one space: rules never see a newline or tab. */
static inline void sb_put_vis(struct lx *lx, struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(lx, b, n))
		return;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		b->p[b->len++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	b->p[b->len] = '\0';
}
static inline void sb_put_uint(struct lx *lx, struct sbuf *b, unsigned v)
{
	char tmp[12];
	size_t k = sizeof(tmp);
	do {
		tmp[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k);
	sb_putn(lx, b, tmp + k, sizeof(tmp) - k);
}

static inline bool pv_push(struct lx *lx, struct pvec *pv, const char *s)
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

static inline bool rv_push(struct lx *lx, struct rvec *rv, const struct shunt_redir *r)
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

/* ---- shared between the lexer's files ---- */

/* Parses s[i..n) as a list of commands up to the unquoted stop character
 * (0: the end), adding each simple command to
 * lx->out with flags, depth and via; recursion beyond LEX_MAX_DEPTH sets
 * truncated. Stores the normalised line in *line_out and, when main_len
 * is given, its length before the appended wrapper strings. Returns the
 * index just past what it consumed. (lex.c) */
size_t shunt_lex_parse(struct lx *lx, const char *s, size_t n, size_t i, char stop, unsigned depth,
		       unsigned flags, const char *via, const char **line_out, size_t *main_len);

/* Index just past the ')' matching an already-open '(' at or before j
 * (n when there is none); skips quotes and escapes. (lex_word.c) */
size_t shunt_lex_skip_parens(const char *s, size_t n, size_t j);

/* $( .. ) / <( .. ) body starting at start: lexes it (commands flagged
 * SUBST) and appends open + inner line + ")" to b. Returns the index
 * past the ')'. (lex_word.c) */
size_t shunt_lex_subst_paren(struct parser *p, struct sbuf *b, size_t start, const char *open);

/* `..` at i: unescapes the body, lexes it, appends "$(" inner ")" to b.
 * Returns the index past the closing '`'. (lex_word.c) */
size_t shunt_lex_subst_backtick(struct parser *p, struct sbuf *b, size_t i, bool in_dq);

/* Whether unquoted c ends a word. (lex_word.c) */
bool shunt_lex_word_end(char c);

/* Reads one word at p->i into *w, removing quotes and escapes, and
 * advances p->i past it. (lex_word.c) */
void shunt_lex_read_word(struct parser *p, struct word *w);

/* Flags a command nested in p's current context inherits. (lex.c) */
unsigned shunt_lex_child_flags(const struct parser *p);

/* Adds a simple command to out; returns its index or -1 (ENOMEM). argv
 * must stay NUL-terminated at argc. (lex_norm.c) */
long shunt_lex_add_cmd(struct lx *lx, const char **argv, size_t argc, const char **assigns,
		       size_t nassigns, struct shunt_redir *redirs, size_t nredirs, const char *exe,
		       unsigned flags, unsigned depth, const char *via, int pipeline);

/* Ends p's current simple command: adds it (and what it wraps) to the
 * output and its text to the line. (lex_norm.c) */
void shunt_lex_end_cmd(struct parser *p);

/* Records the operator op between commands of the line; pipe marks the
 * previous command as piped. (lex_norm.c) */
void shunt_lex_set_op(struct parser *p, const char *op, bool pipe);

/* Appends text to the line, after the pending operator. (lex_norm.c) */
void shunt_lex_line_item(struct parser *p, const char *text);

/* Sets flag on the commands of the last pipeline element (not on those
 * of its substitutions). (lex_norm.c) */
void shunt_lex_mark_last(struct parser *p, unsigned flag);

/* Opens / closes a ( .. ) subshell or { .. } group in the line. (lex_norm.c) */
void shunt_lex_open_group(struct parser *p, char ch);
void shunt_lex_close_group(struct parser *p, char ch);

/* Adds what the wrapper command at out->cmds[idx] runs (sudo, env, sh -c,
 * find -exec, xargs, ...) as commands of their own. (lex_wrap.c) */
void shunt_lex_unwrap(struct parser *p, size_t idx);

/* Appends word w as it appears in norm (paths rewritten, see lex.h). */
void shunt_lex_put_arg(struct lx *lx, struct sbuf *b, const char *w);

/* lex_path.c: w as a cleaned path when it is one (absolute, ./, ../, ~,
 * ~user, $HOME, $TMPDIR): "//" collapsed, "." dropped, "x/.." resolved,
 * $TMPDIR read as /tmp and ~user as /home/user (/root). Lexical only.
 * Returns w itself when nothing changes; otherwise arena memory. */
const char *shunt_lex_clean_path(struct lx *lx, const char *w);
#endif
