#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool buf_reserve(struct shunt_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void shunt_buf_append(struct shunt_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void shunt_buf_puts(struct shunt_buf *b, const char *s)
{
	shunt_buf_append(b, s, strlen(s));
}

void shunt_buf_putc(struct shunt_buf *b, char c)
{
	shunt_buf_append(b, &c, 1);
}

void shunt_buf_printf(struct shunt_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		shunt_buf_append(b, tmp, (size_t)n);
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned min;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
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

void shunt_buf_json_str(struct shunt_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	shunt_buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			shunt_buf_append(b, esc, 2);
			i++;
		} else if (c == '\n') {
			shunt_buf_append(b, "\\n", 2);
			i++;
		} else if (c == '\t') {
			shunt_buf_append(b, "\\t", 2);
			i++;
		} else if (c == '\r') {
			shunt_buf_append(b, "\\r", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			shunt_buf_printf(b, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			shunt_buf_putc(b, (char)c);
			i++;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l == 0) {
				/* invalid byte: keep it visible, stay valid JSON */
				shunt_buf_printf(b, "\\u00%02x", c);
				i++;
			} else {
				shunt_buf_append(b, s + i, l);
				i += l;
			}
		}
	}
	shunt_buf_putc(b, '"');
}

void shunt_buf_put_shquoted(struct shunt_buf *b, const char *s)
{
	shunt_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			shunt_buf_puts(b, "'\\''");
		else
			shunt_buf_putc(b, *s);
	}
	shunt_buf_putc(b, '\'');
}

void shunt_buf_free(struct shunt_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

char *shunt_buf_steal(struct shunt_buf *b)
{
	char *d = b->data;
	if (!d)
		d = calloc(1, 1);
	memset(b, 0, sizeof(*b));
	return d;
}
