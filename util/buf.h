/* Growable byte buffer for output and JSON building (heap, not for the
 * shim's fast path). */
#ifndef SHUNT_BUF_H
#define SHUNT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct shunt_buf {
	char *data; /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	bool oom; /* sticky: an append failed; contents are truncated */
};

/* Appenders never fail loudly: on OOM they set b->oom and keep going. */
void shunt_buf_append(struct shunt_buf *b, const char *s, size_t n);
void shunt_buf_puts(struct shunt_buf *b, const char *s);
void shunt_buf_putc(struct shunt_buf *b, char c);
void shunt_buf_printf(struct shunt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends s as a JSON string literal (quotes included). Invalid UTF-8
 * bytes and NULs are escaped as \u00XX so output is always valid JSON. */
void shunt_buf_json_str(struct shunt_buf *b, const char *s, size_t n);

/* Appends s single-quoted for sh/bash/zsh ('it'\''s'): one word, nothing
 * expanded, whatever s holds. */
void shunt_buf_put_shquoted(struct shunt_buf *b, const char *s);

/* Frees the buffer contents (NULL-safe) and zeroes it. */
void shunt_buf_free(struct shunt_buf *b);

/* Returns the data (never NULL; "" when empty); caller owns it, b is reset. */
char *shunt_buf_steal(struct shunt_buf *b);

#endif
