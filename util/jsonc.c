/* JSONC scanning and marked-block editing; see jsonc.h. The scanner only
 * locates spans: the document is never rebuilt from a tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonc.h"

#define JSONC_MAX_DEPTH 64

struct sc {
	const char *d;
	size_t len, pos;
	const char *msg; /* first error */
	size_t errpos;
};

static int fail(struct sc *s, const char *msg)
{
	if (!s->msg) {
		s->msg = msg;
		s->errpos = s->pos;
	}
	return -1;
}

static int skip_ws(struct sc *s)
{
	while (s->pos < s->len) {
		char c = s->d[s->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			s->pos++;
		} else if (c == '/' && s->pos + 1 < s->len && s->d[s->pos + 1] == '/') {
			while (s->pos < s->len && s->d[s->pos] != '\n')
				s->pos++;
		} else if (c == '/' && s->pos + 1 < s->len && s->d[s->pos + 1] == '*') {
			const char *e = memmem(s->d + s->pos + 2, s->len - s->pos - 2, "*/", 2);
			if (!e)
				return fail(s, "unterminated /* comment");
			s->pos = (size_t)(e - s->d) + 2;
		} else {
			break;
		}
	}
	return 0;
}

/* Scans a string starting at '"'; leaves pos after the closing quote. */
static int scan_string(struct sc *s)
{
	if (s->pos >= s->len || s->d[s->pos] != '"')
		return fail(s, "expected a string");
	s->pos++;
	while (s->pos < s->len) {
		char c = s->d[s->pos];
		if (c == '\\') {
			s->pos += 2;
			continue;
		}
		if (c == '\n')
			return fail(s, "newline in string");
		s->pos++;
		if (c == '"')
			return 0;
	}
	return fail(s, "unterminated string");
}

static int scan_value(struct sc *s, int depth);

static int scan_container(struct sc *s, int depth, char close)
{
	if (depth > JSONC_MAX_DEPTH)
		return fail(s, "nested too deeply");
	s->pos++; /* '{' or '[' */
	for (;;) {
		if (skip_ws(s) < 0)
			return -1;
		if (s->pos >= s->len)
			return fail(s, close == '}' ? "unterminated object" : "unterminated array");
		if (s->d[s->pos] == close) {
			s->pos++;
			return 0;
		}
		if (close == '}') {
			if (scan_string(s) < 0 || skip_ws(s) < 0)
				return -1;
			if (s->pos >= s->len || s->d[s->pos] != ':')
				return fail(s, "expected ':' after a key");
			s->pos++;
		}
		if (scan_value(s, depth + 1) < 0 || skip_ws(s) < 0)
			return -1;
		if (s->pos < s->len && s->d[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->d[s->pos] == close) {
			s->pos++;
			return 0;
		}
		return fail(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int scan_value(struct sc *s, int depth)
{
	if (skip_ws(s) < 0)
		return -1;
	if (s->pos >= s->len)
		return fail(s, "expected a value");
	char c = s->d[s->pos];
	if (c == '{')
		return scan_container(s, depth, '}');
	if (c == '[')
		return scan_container(s, depth, ']');
	if (c == '"')
		return scan_string(s);
	size_t st = s->pos;
	while (s->pos < s->len &&
	       strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.",
		      s->d[s->pos]))
		s->pos++;
	if (s->pos == st)
		return fail(s, "unexpected character");
	size_t n = s->pos - st;
	const char *t = s->d + st;
	if ((n == 4 && (!memcmp(t, "true", 4) || !memcmp(t, "null", 4))) ||
	    (n == 5 && !memcmp(t, "false", 5)) || (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')))
		return 0;
	s->pos = st;
	return fail(s, "unexpected word");
}

int shunt_jsonc_validate(const char *doc, size_t len, size_t *obj_open, struct shunt_error **err)
{
	struct sc s = {.d = doc, .len = len};
	*obj_open = (size_t)-1;
	if (skip_ws(&s) == 0 && s.pos >= len)
		return 0;
	if (!s.msg) {
		if (s.d[s.pos] != '{')
			fail(&s, "the top level must be an object");
		else {
			size_t o = s.pos;
			if (scan_value(&s, 0) == 0 && skip_ws(&s) == 0) {
				if (s.pos < len)
					fail(&s, "text after the top-level object");
				else
					*obj_open = o;
			}
		}
	}
	if (!s.msg)
		return 0;
	size_t line = 1, col = 1;
	for (size_t i = 0; i < s.errpos && i < len; i++) {
		if (doc[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*obj_open = (size_t)-1;
	return shunt_error_set(err, 0, "line %zu, column %zu: %s", line, col, s.msg);
}

/* Compares the raw string token [a, b) (quotes included) with key. */
static bool key_eq(const char *a, const char *b, const char *key)
{
	a++;
	b--;
	size_t kl = strlen(key);
	if (!memchr(a, '\\', (size_t)(b - a)))
		return (size_t)(b - a) == kl && memcmp(a, key, kl) == 0;
	/* decode the simple escapes; \uXXXX only for ASCII */
	size_t k = 0;
	while (a < b) {
		char c = *a++;
		if (c == '\\' && a < b) {
			char e = *a++;
			switch (e) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u':
				if (b - a < 4)
					return false;
				c = (char)strtol((char[]){a[0], a[1], a[2], a[3], 0}, NULL, 16);
				a += 4;
				break;
			default:
				c = e;
				break;
			}
		}
		if (k >= kl || key[k++] != c)
			return false;
	}
	return k == kl;
}

int shunt_jsonc_find(const char *doc, size_t len, size_t obj_open, const char *key, size_t *vstart,
		     size_t *vend)
{
	if (obj_open >= len || doc[obj_open] != '{')
		return -1;
	struct sc s = {.d = doc, .len = len, .pos = obj_open + 1};
	int found = 0;
	for (;;) {
		if (skip_ws(&s) < 0 || s.pos >= len)
			return -1;
		if (doc[s.pos] == '}')
			return found;
		size_t ks = s.pos;
		if (scan_string(&s) < 0)
			return -1;
		size_t ke = s.pos;
		if (skip_ws(&s) < 0 || s.pos >= len || doc[s.pos] != ':')
			return -1;
		s.pos++;
		if (skip_ws(&s) < 0)
			return -1;
		size_t vs = s.pos;
		if (scan_value(&s, 1) < 0)
			return -1;
		if (key_eq(doc + ks, doc + ke, key)) {
			*vstart = vs;
			*vend = s.pos;
			found = 1;
		}
		if (skip_ws(&s) < 0 || s.pos >= len)
			return -1;
		if (doc[s.pos] == ',')
			s.pos++;
		else if (doc[s.pos] != '}')
			return -1;
	}
}

static void markers(const char *tag, char *begin, char *end, size_t cap)
{
	snprintf(begin, cap, "/* >>> %s >>> */", tag);
	snprintf(end, cap, "/* <<< %s <<< */", tag);
}

bool shunt_jsonc_block_present(const char *doc, size_t len, const char *tag)
{
	char b[160], e[160];
	markers(tag, b, e, sizeof(b));
	return memmem(doc, len, b, strlen(b)) != NULL;
}

int shunt_jsonc_block_remove(const char *doc, size_t len, const char *tag, struct shunt_buf *out,
			     struct shunt_error **err)
{
	char b[160], e[160];
	markers(tag, b, e, sizeof(b));
	const char *bp = memmem(doc, len, b, strlen(b));
	if (!bp) {
		shunt_buf_append(out, doc, len);
		return 0;
	}
	const char *ep = memmem(bp, len - (size_t)(bp - doc), e, strlen(e));
	if (!ep)
		return shunt_error_set(err, 0,
				       "the shunt block has a begin marker but no end marker; "
				       "fix the file by hand");
	/* the block began with newline + indentation right after '{' */
	const char *st = bp;
	while (st > doc && (st[-1] == ' ' || st[-1] == '\t'))
		st--;
	if (st > doc && st[-1] == '\n')
		st--;
	if (st > doc && st[-1] == '\r')
		st--;
	size_t end = (size_t)(ep - doc) + strlen(e);
	shunt_buf_append(out, doc, (size_t)(st - doc));
	shunt_buf_append(out, doc + end, len - end);
	return 1;
}

/* Leading whitespace of the line holding offset off. */
static void line_indent(const char *doc, size_t off, const char **p, size_t *n)
{
	size_t ls = off;
	while (ls > 0 && doc[ls - 1] != '\n')
		ls--;
	size_t le = ls;
	while (doc[le] == ' ' || doc[le] == '\t')
		le++;
	*p = doc + ls;
	*n = le - ls;
}

/* The document's indentation unit: the first indented line's leading
 * whitespace, else a tab. */
static void indent_unit(const char *doc, size_t len, const char **p, size_t *n)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (doc[i] != '\n')
			continue;
		size_t j = i + 1;
		while (j < len && (doc[j] == ' ' || doc[j] == '\t'))
			j++;
		if (j > i + 1 && j < len && doc[j] != '\n' && doc[j] != '\r') {
			*p = doc + i + 1;
			*n = j - i - 1;
			return;
		}
	}
	*p = "\t";
	*n = 1;
}

struct layout {
	const char *nl;
	const char *unit;
	size_t unitlen;
};

static void put_indent(struct shunt_buf *o, const struct layout *l, const char *base,
		       size_t baselen, int levels)
{
	shunt_buf_append(o, base, baselen);
	for (int i = 0; i < levels; i++)
		shunt_buf_append(o, l->unit, l->unitlen);
}

int shunt_jsonc_block_set(const char *doc, size_t len, const char *const *path, size_t npath,
			  const struct shunt_jsonc_kv *kv, size_t n, const char *tag,
			  struct shunt_buf *out, struct shunt_error **err)
{
	struct shunt_buf clean = {0};
	int rc = -1;
	size_t obj;
	if (shunt_jsonc_validate(doc, len, &obj, err) < 0)
		return -1;
	if (shunt_jsonc_block_remove(doc, len, tag, &clean, err) < 0)
		goto out;
	if (clean.oom)
		goto oom;
	const char *d = clean.data ? clean.data : "";
	size_t dl = clean.len;
	if (shunt_jsonc_validate(d, dl, &obj, err) < 0) {
		shunt_error_prefix(err, "after removing the old shunt block: ");
		goto out;
	}
	if (obj == (size_t)-1) {
		shunt_error_set(err, 0, "the file is empty; write {} into it first");
		goto out;
	}

	size_t depth = 0;
	for (; depth < npath; depth++) {
		size_t vs, ve;
		int f = shunt_jsonc_find(d, dl, obj, path[depth], &vs, &ve);
		if (f < 0) {
			shunt_error_set(err, 0, "malformed object");
			goto out;
		}
		if (f == 0)
			break;
		if (d[vs] != '{') {
			shunt_error_set(err, 0, "\"%s\" is not an object; fix it by hand",
					path[depth]);
			goto out;
		}
		obj = vs;
	}
	if (depth == npath) {
		for (size_t i = 0; i < n; i++) {
			size_t vs, ve;
			if (shunt_jsonc_find(d, dl, obj, kv[i].key, &vs, &ve) == 1) {
				shunt_error_set(err, 0,
						"\"%s\" is already set%s%s (outside shunt's "
						"block): remove it or "
						"merge shunt's value into it by hand",
						kv[i].key, npath ? " in " : "",
						npath ? path[npath - 1] : "");
				goto out;
			}
		}
	}

	struct layout l = {.nl = memmem(d, dl, "\r\n", 2) ? "\r\n" : "\n"};
	indent_unit(d, dl, &l.unit, &l.unitlen);
	const char *base;
	size_t baselen;
	line_indent(d, obj, &base, &baselen);
	char bm[160], em[160];
	markers(tag, bm, em, sizeof(bm));

	struct shunt_buf blk = {0};
	shunt_buf_puts(&blk, l.nl);
	put_indent(&blk, &l, base, baselen, 1);
	shunt_buf_puts(&blk, bm);
	shunt_buf_puts(&blk, l.nl);
	int lv = 1;
	for (size_t i = depth; i < npath; i++, lv++) {
		put_indent(&blk, &l, base, baselen, lv);
		shunt_buf_json_str(&blk, path[i], strlen(path[i]));
		shunt_buf_puts(&blk, ": {");
		shunt_buf_puts(&blk, l.nl);
	}
	bool created = depth < npath;
	for (size_t i = 0; i < n; i++) {
		put_indent(&blk, &l, base, baselen, lv);
		shunt_buf_json_str(&blk, kv[i].key, strlen(kv[i].key));
		shunt_buf_puts(&blk, ": ");
		shunt_buf_json_str(&blk, kv[i].value, strlen(kv[i].value));
		/* inside an object we created, no trailing comma on the last one;
		 * in an existing object the user's members follow */
		if (!created || i + 1 < n)
			shunt_buf_putc(&blk, ',');
		shunt_buf_puts(&blk, l.nl);
	}
	for (size_t i = npath; i > depth; i--) {
		lv--;
		put_indent(&blk, &l, base, baselen, lv);
		shunt_buf_puts(&blk, i - 1 == depth ? "}," : "}");
		shunt_buf_puts(&blk, l.nl);
	}
	put_indent(&blk, &l, base, baselen, 1);
	shunt_buf_puts(&blk, em);

	shunt_buf_append(out, d, obj + 1);
	shunt_buf_append(out, blk.data ? blk.data : "", blk.len);
	shunt_buf_append(out, d + obj + 1, dl - obj - 1);
	bool blk_oom = blk.oom;
	shunt_buf_free(&blk);
	if (blk_oom || out->oom)
		goto oom;
	rc = 0;
	goto out;
oom:
	shunt_error_set(err, 12, "out of memory");
out:
	shunt_buf_free(&clean);
	return rc;
}

const char *shunt_editor_detect(void)
{
	const char *tp = getenv("TERM_PROGRAM");
	const char *askpass = getenv("VSCODE_GIT_ASKPASS_MAIN");
	const char *cursor = getenv("CURSOR_TRACE_ID");
	if ((cursor && *cursor) ||
	    (askpass && (strstr(askpass, "cursor") || strstr(askpass, "Cursor"))))
		return "cursor";
	if (tp && strcmp(tp, "vscode") == 0)
		return "vscode";
	if (getenv("VSCODE_IPC_HOOK_CLI") || getenv("VSCODE_INJECTION"))
		return "vscode";
	return NULL;
}
