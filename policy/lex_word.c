/* The lexer's word reader: quoting, escapes and expansions ($.., ${..},
 * $(..), `..`, $'..', ".."), and the scanning helpers it and the parser
 * share. Same async-signal-safety rules as lex.c. */
#include "lex_int.h"

/* ---- scanning helpers that never recurse ---- */

/* Index just past the ')' matching an already-open '(' before start. */
size_t shunt_lex_skip_parens(const char *s, size_t n, size_t j)
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

/* ---- word reader ---- */

static void mark(struct word *w, const struct sbuf *b)
{
	w->plain = false;
	if (w->first_q > b->len)
		w->first_q = b->len;
}

/* $( .. ) / <( .. ) body starting at start: lexes it (commands flagged
 * SUBST) and appends open + inner line + ")" to b. */
size_t shunt_lex_subst_paren(struct parser *p, struct sbuf *b, size_t start, const char *open)
{
	struct lx *lx = p->lx;
	sb_puts(lx, b, open);
	if (p->depth + 1 >= LEX_MAX_DEPTH) {
		lx->out->truncated = true;
		size_t end = shunt_lex_skip_parens(p->s, p->n, start);
		sb_put_vis(lx, b, p->s + start, end - start);
		if (end == p->n)
			sb_putc(lx, b, ')');
		return end;
	}
	/* only the main part: extras of the inner line stay out of words, or
	 * re-lexing them (env -S "$(..)") would grow the text exponentially */
	const char *inner = "";
	size_t ml = 0;
	size_t end =
	    shunt_lex_parse(lx, p->s, p->n, start, ')', p->depth + 1,
			    shunt_lex_child_flags(p) | SHUNT_CMD_SUBST, p->via, &inner, &ml);
	sb_putn(lx, b, inner, ml);
	sb_putc(lx, b, ')');
	return end;
}

/* `..` at i: unescapes the body, lexes it, appends "$(" inner ")". */
size_t shunt_lex_subst_backtick(struct parser *p, struct sbuf *b, size_t i, bool in_dq)
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
		shunt_lex_parse(lx, sb_str(&t), t.len, 0, 0, p->depth + 1,
				shunt_lex_child_flags(p) | SHUNT_CMD_SUBST, p->via, &inner, &ml);
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
						k = shunt_lex_subst_paren(p, b, k + 2, "$(");
					} else if (s[k] == '`') {
						k = shunt_lex_subst_backtick(p, b, k, in_dq);
					} else {
						sb_put_vis(lx, b, s + k, 1);
						k++;
					}
				}
				return k > end ? k : end;
			}
		}
		return shunt_lex_subst_paren(p, b, i + 2, "$(");
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
				j = shunt_lex_subst_paren(p, b, j + 2, "$(");
			} else if (d == '`') {
				j = shunt_lex_subst_backtick(p, b, j, in_dq);
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
			i = shunt_lex_subst_backtick(p, b, i, true);
		} else {
			sb_putc(lx, b, c);
			i++;
		}
	}
	return i < n ? i + 1 : n;
}

bool shunt_lex_word_end(char c)
{
	return is_blank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' ||
	       c == ')' || c == '<' || c == '>';
}

/* Reads one word at p->i, removing quotes and escapes. */
void shunt_lex_read_word(struct parser *p, struct word *w)
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
		i = shunt_lex_subst_paren(p, &b, i + 2, s[i] == '<' ? "<(" : ">(");
	}
	while (i < n && !lx->err) {
		char c = s[i];
		if (shunt_lex_word_end(c)) {
			/* NAME=(a b c): an array assignment is one word */
			if (c == '(' && b.len && b.p[b.len - 1] == '=' && w->first_q == SIZE_MAX &&
			    is_name_start(b.p[0])) {
				size_t end = shunt_lex_skip_parens(s, n, i + 1);
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
			i = shunt_lex_subst_backtick(p, &b, i, false);
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
