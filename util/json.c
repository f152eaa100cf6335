/* Strict RFC 8259 recursive-descent parser building a small DOM.
 *
 * Decisions: raw bytes inside strings must be valid UTF-8 (invalid
 * sequences, overlongs and encoded surrogates are rejected with their
 * position); \u0000 is accepted and yields a NUL inside str (see len);
 * lone surrogate escapes are rejected; duplicate object keys are kept and
 * shunt_json_get returns the last one. */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

struct parser {
	const char *name;
	const unsigned char *s;
	size_t len;
	size_t pos;
	int line;
	size_t line_start;
	struct shunt_error **err;
};

static int col_of(const struct parser *p, size_t pos)
{
	return (int)(pos - p->line_start) + 1;
}

static int fail_at(struct parser *p, size_t pos, const char *what)
{
	return shunt_error_set(p->err, EINVAL, "%s:%d:%d: %s", p->name, p->line, col_of(p, pos),
			       what);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c == '\n') {
			p->line++;
			p->pos++;
			p->line_start = p->pos;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
		} else {
			break;
		}
	}
}

static struct shunt_json *new_node(struct parser *p, enum shunt_json_type t)
{
	struct shunt_json *j = calloc(1, sizeof(*j));
	if (!j) {
		shunt_error_set(p->err, ENOMEM, "%s: out of memory", p->name);
		return NULL;
	}
	j->type = t;
	j->line = p->line;
	j->col = col_of(p, p->pos);
	return j;
}

static struct shunt_json *parse_value(struct parser *p, int depth);

/* Growable byte string for string decoding. */
struct sbuf {
	char *d;
	size_t n, cap;
};

static int sbuf_put(struct sbuf *b, const void *src, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *d = realloc(b->d, cap);
		if (!d)
			return -1;
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->n, src, n);
	b->n += n;
	b->d[b->n] = '\0';
	return 0;
}

static size_t utf8_encode(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t min, cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int hex4(struct parser *p, uint32_t *out)
{
	if (p->len - p->pos < 4)
		return fail_at(p, p->pos, "truncated \\u escape");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p->s[p->pos + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail_at(p, p->pos + i, "invalid hex digit in \\u escape");
	}
	p->pos += 4;
	*out = v;
	return 0;
}

/* Parses a string literal at p->pos (which is '"'); returns a malloc'd
 * buffer and its length. */
static int parse_string(struct parser *p, char **out, size_t *outlen)
{
	struct sbuf b = {0};
	size_t start = p->pos;
	p->pos++; /* opening quote */
	for (;;) {
		if (p->pos >= p->len) {
			free(b.d);
			return fail_at(p, start, "unterminated string");
		}
		unsigned char c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			free(b.d);
			return fail_at(p, p->pos, "control character in string");
		}
		if (c == '\\') {
			size_t esc = p->pos;
			if (++p->pos >= p->len) {
				free(b.d);
				return fail_at(p, esc, "truncated escape");
			}
			char e = (char)p->s[p->pos++];
			char ch;
			switch (e) {
			case '"':
				ch = '"';
				break;
			case '\\':
				ch = '\\';
				break;
			case '/':
				ch = '/';
				break;
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u': {
				uint32_t cp;
				if (hex4(p, &cp) < 0) {
					free(b.d);
					return -1;
				}
				if (cp >= 0xdc00 && cp <= 0xdfff) {
					free(b.d);
					return fail_at(p, esc, "lone low surrogate in \\u escape");
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;
					if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
					    p->s[p->pos + 1] != 'u') {
						free(b.d);
						return fail_at(p, esc,
							       "high surrogate not followed by \\u "
							       "low surrogate");
					}
					p->pos += 2;
					if (hex4(p, &lo) < 0) {
						free(b.d);
						return -1;
					}
					if (lo < 0xdc00 || lo > 0xdfff) {
						free(b.d);
						return fail_at(p, esc, "invalid surrogate pair");
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				unsigned char u[4];
				size_t n = utf8_encode(cp, u);
				if (sbuf_put(&b, u, n) < 0)
					goto oom;
				continue;
			}
			default:
				free(b.d);
				return fail_at(p, esc, "invalid escape");
			}
			if (sbuf_put(&b, &ch, 1) < 0)
				goto oom;
			continue;
		}
		/* run of plain bytes, validating UTF-8 */
		size_t run = p->pos;
		while (p->pos < p->len) {
			unsigned char d = p->s[p->pos];
			if (d == '"' || d == '\\' || d < 0x20)
				break;
			size_t l = utf8_valid(p->s + p->pos, p->len - p->pos);
			if (l == 0) {
				free(b.d);
				return fail_at(p, p->pos, "invalid UTF-8 in string");
			}
			p->pos += l;
		}
		if (sbuf_put(&b, p->s + run, p->pos - run) < 0)
			goto oom;
	}
	if (!b.d && sbuf_put(&b, "", 0) < 0)
		goto oom;
	*out = b.d;
	*outlen = b.n;
	return 0;
oom:
	free(b.d);
	return shunt_error_set(p->err, ENOMEM, "%s: out of memory", p->name);
}

static int parse_number(struct parser *p, struct shunt_json *j)
{
	size_t start = p->pos;
	const unsigned char *s = p->s;
	size_t i = p->pos;
	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len)
		return fail_at(p, start, "invalid number");
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return fail_at(p, start, "invalid number");
	}
	if (i < p->len && s[i] == '.') {
		i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			return fail_at(p, i, "expected digit after '.'");
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			return fail_at(p, i, "expected digit in exponent");
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	/* strtod needs a terminator the input may not have: bounded copy */
	size_t n = i - start;
	char small[64];
	char *copy = n < sizeof(small) ? small : malloc(n + 1);
	if (!copy)
		return shunt_error_set(p->err, ENOMEM, "%s: out of memory", p->name);
	memcpy(copy, s + start, n);
	copy[n] = '\0';
	j->num = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	p->pos = i;
	return 0;
}

static int expect_word(struct parser *p, const char *w)
{
	size_t n = strlen(w);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
		return fail_at(p, p->pos, "invalid literal");
	p->pos += n;
	return 0;
}

static int push_item(struct parser *p, struct shunt_json *j, size_t *cap, struct shunt_json *item,
		     char *key)
{
	if (j->len == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct shunt_json **items = realloc(j->items, nc * sizeof(*items));
		if (!items)
			goto oom;
		j->items = items;
		if (j->type == SHUNT_JSON_OBJECT) {
			char **keys = realloc(j->keys, nc * sizeof(*keys));
			if (!keys)
				goto oom;
			j->keys = keys;
		}
		*cap = nc;
	}
	j->items[j->len] = item;
	if (j->type == SHUNT_JSON_OBJECT)
		j->keys[j->len] = key;
	j->len++;
	return 0;
oom:
	shunt_json_free(item);
	free(key);
	return shunt_error_set(p->err, ENOMEM, "%s: out of memory", p->name);
}

static int parse_array(struct parser *p, struct shunt_json *j, int depth)
{
	size_t cap = 0;
	p->pos++; /* [ */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct shunt_json *item = parse_value(p, depth + 1);
		if (!item)
			return -1;
		if (push_item(p, j, &cap, item, NULL) < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len)
			return fail_at(p, p->pos, "unexpected end of input in array");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == ']') {
			p->pos++;
			return 0;
		}
		return fail_at(p, p->pos, "expected ',' or ']'");
	}
}

static int parse_object(struct parser *p, struct shunt_json *j, int depth)
{
	size_t cap = 0;
	p->pos++; /* { */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len)
			return fail_at(p, p->pos, "unexpected end of input in object");
		if (p->s[p->pos] != '"')
			return fail_at(p, p->pos, "expected string key");
		char *key = NULL;
		size_t klen;
		if (parse_string(p, &key, &klen) < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			free(key);
			return fail_at(p, p->pos, "expected ':'");
		}
		p->pos++;
		struct shunt_json *item = parse_value(p, depth + 1);
		if (!item) {
			free(key);
			return -1;
		}
		if (push_item(p, j, &cap, item, key) < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len)
			return fail_at(p, p->pos, "unexpected end of input in object");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == '}') {
			p->pos++;
			return 0;
		}
		return fail_at(p, p->pos, "expected ',' or '}'");
	}
}

static struct shunt_json *parse_value(struct parser *p, int depth)
{
	skip_ws(p);
	if (p->pos >= p->len) {
		fail_at(p, p->pos, "unexpected end of input");
		return NULL;
	}
	if (depth > JSON_MAX_DEPTH) {
		fail_at(p, p->pos, "nesting deeper than 256");
		return NULL;
	}
	unsigned char c = p->s[p->pos];
	struct shunt_json *j;
	int r;
	switch (c) {
	case '{':
		if (!(j = new_node(p, SHUNT_JSON_OBJECT)))
			return NULL;
		r = parse_object(p, j, depth);
		break;
	case '[':
		if (!(j = new_node(p, SHUNT_JSON_ARRAY)))
			return NULL;
		r = parse_array(p, j, depth);
		break;
	case '"':
		if (!(j = new_node(p, SHUNT_JSON_STRING)))
			return NULL;
		r = parse_string(p, &j->str, &j->len);
		break;
	case 't':
		if (!(j = new_node(p, SHUNT_JSON_BOOL)))
			return NULL;
		j->b = true;
		r = expect_word(p, "true");
		break;
	case 'f':
		if (!(j = new_node(p, SHUNT_JSON_BOOL)))
			return NULL;
		r = expect_word(p, "false");
		break;
	case 'n':
		if (!(j = new_node(p, SHUNT_JSON_NULL)))
			return NULL;
		r = expect_word(p, "null");
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			if (!(j = new_node(p, SHUNT_JSON_NUMBER)))
				return NULL;
			r = parse_number(p, j);
			break;
		}
		fail_at(p, p->pos, "unexpected character");
		return NULL;
	}
	if (r < 0) {
		shunt_json_free(j);
		return NULL;
	}
	return j;
}

struct shunt_json *shunt_json_parse(const char *name, const char *buf, size_t len,
				    struct shunt_error **err)
{
	struct parser p = {
	    .name = name ? name : "<json>",
	    .s = (const unsigned char *)buf,
	    .len = len,
	    .line = 1,
	    .err = err,
	};
	/* A UTF-8 BOM is not JSON (RFC 8259 8.1 lets parsers ignore it, we
	 * don't: our writers never emit one). */
	struct shunt_json *j = parse_value(&p, 1);
	if (!j)
		return NULL;
	skip_ws(&p);
	if (p.pos != p.len) {
		fail_at(&p, p.pos, "trailing garbage after JSON value");
		shunt_json_free(j);
		return NULL;
	}
	return j;
}

void shunt_json_free(struct shunt_json *j)
{
	if (!j)
		return;
	if (j->type == SHUNT_JSON_ARRAY || j->type == SHUNT_JSON_OBJECT) {
		for (size_t i = 0; i < j->len; i++) {
			shunt_json_free(j->items[i]);
			if (j->keys)
				free(j->keys[i]);
		}
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	free(j);
}

const struct shunt_json *shunt_json_get(const struct shunt_json *j, const char *key)
{
	if (!j || j->type != SHUNT_JSON_OBJECT || !key)
		return NULL;
	for (size_t i = j->len; i > 0; i--)
		if (strcmp(j->keys[i - 1], key) == 0)
			return j->items[i - 1];
	return NULL;
}

const char *shunt_json_str(const struct shunt_json *j, const char *key, const char *def)
{
	const struct shunt_json *v = shunt_json_get(j, key);
	return v && v->type == SHUNT_JSON_STRING ? v->str : def;
}

double shunt_json_num(const struct shunt_json *j, const char *key, double def)
{
	const struct shunt_json *v = shunt_json_get(j, key);
	return v && v->type == SHUNT_JSON_NUMBER ? v->num : def;
}

bool shunt_json_bool(const struct shunt_json *j, const char *key, bool def)
{
	const struct shunt_json *v = shunt_json_get(j, key);
	return v && v->type == SHUNT_JSON_BOOL ? v->b : def;
}
