/* Minimal JSON DOM parser (for the trust store, seccomp profiles, the
 * audit log). Strict RFC 8259; errors carry line:col. */
#ifndef SHUNT_JSON_H
#define SHUNT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum shunt_json_type {
	SHUNT_JSON_NULL,
	SHUNT_JSON_BOOL,
	SHUNT_JSON_NUMBER,
	SHUNT_JSON_STRING,
	SHUNT_JSON_ARRAY,
	SHUNT_JSON_OBJECT
};

struct shunt_json {
	enum shunt_json_type type;
	bool b;
	double num;
	char *str;		   /* STRING: NUL-terminated (may contain NULs; see len) */
	size_t len;		   /* STRING length; ARRAY/OBJECT element count */
	struct shunt_json **items; /* ARRAY elements / OBJECT values */
	char **keys;		   /* OBJECT keys */
	int line, col;		   /* position in the source */
};

/* Parses buf (len bytes). name is used in messages ("trust.json:3:14:
 * expected ','"). Depth is limited to 256. Returns the tree or NULL with
 * *err set. */
struct shunt_json *shunt_json_parse(const char *name, const char *buf, size_t len,
				    struct shunt_error **err);

/* Frees a tree (NULL-safe). */
void shunt_json_free(struct shunt_json *j);

/* Object member by key, or NULL (also when j is not an object). */
const struct shunt_json *shunt_json_get(const struct shunt_json *j, const char *key);

/* Typed accessors with defaults when missing or of another type. */
const char *shunt_json_str(const struct shunt_json *j, const char *key, const char *def);
double shunt_json_num(const struct shunt_json *j, const char *key, double def);
bool shunt_json_bool(const struct shunt_json *j, const char *key, bool def);

#endif
