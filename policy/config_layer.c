/* The YAML walker of one configuration layer: typed getters over the
 * libyaml document, errors positioned at file:line:col, and the mapping
 * walk that rejects unknown and duplicate keys (with a typo hint). The
 * schema that uses them is config_schema.c. */
#include "config_layer.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "suggest.h"

int shunt_layer_oom(struct shunt_layer *L)
{
	shunt_error_set(L->err, ENOMEM, "%s: out of memory", L->name);
	if (L->err && *L->err)
		(*L->err)->exitcode = 2;
	return -1;
}

/* Config-class error (exit 2) positioned at node n. */
int __attribute__((format(printf, 3, 4)))
shunt_layer_error(struct shunt_layer *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		shunt_error_set(L->err, EINVAL, "%s:%zu:%zu: %s", L->name, n->start_mark.line + 1,
				n->start_mark.column + 1, msg);
	else
		shunt_error_set(L->err, EINVAL, "%s: %s", L->name, msg);
	if (L->err && *L->err)
		(*L->err)->exitcode = 2;
	return -1;
}

/* Records that a workspace file tried to loosen `what`; returns 0 or -1 (OOM). */
int shunt_layer_loosen(struct shunt_layer *L, const yaml_node_t *n, const char *what)
{
	char *w = NULL;
	if (asprintf(&w, "%s:%zu:%zu: %s ignored: a workspace file may only tighten policy",
		     L->name, n->start_mark.line + 1, n->start_mark.column + 1, what) < 0)
		return shunt_layer_oom(L);
	int rc = shunt_strv_push(&L->cfg->warnings, w);
	free(w);
	return rc < 0 ? shunt_layer_oom(L) : 0;
}

yaml_node_t *shunt_layer_node(struct shunt_layer *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

const char *shunt_layer_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a string";
	default:
		return "nothing";
	}
}

bool shunt_layer_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = (const char *)n->data.scalar.value;
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* A non-null scalar without embedded NULs. */
int shunt_layer_get_str(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return shunt_layer_error(L, n, "%s: expected a string, got %s", key,
					 shunt_layer_kind(n));
	if (shunt_layer_is_null(n))
		return shunt_layer_error(L, n, "%s: expected a string, got nothing", key);
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return shunt_layer_error(L, n, "%s: contains a NUL byte", key);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* One of names[0..count) (first `count` only), or an alias. */
int shunt_layer_get_enum(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 const char *const *names, size_t count, const char *alias, int alias_val,
			 int *out)
{
	const char *s;
	if (shunt_layer_get_str(L, n, key, &s) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	if (alias && strcmp(s, alias) == 0) {
		*out = alias_val;
		return 0;
	}
	char list[256] = "";
	for (size_t i = 0; i < count; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s%s", i ? " | " : "", names[i]);
	}
	const char *sug = shunt_suggest_nearest(s, names, count);
	if (sug)
		return shunt_layer_error(L, n,
					 "%s: expected one of %s, got '%s' (did you mean '%s'?)",
					 key, list, s, sug);
	return shunt_layer_error(L, n, "%s: expected one of %s, got '%s'", key, list, s);
}

int shunt_layer_get_bool(struct shunt_layer *L, const yaml_node_t *n, const char *key, bool *out)
{
	if (n->type != YAML_SCALAR_NODE || shunt_layer_is_null(n))
		return shunt_layer_error(L, n, "%s: expected a boolean (true/false/yes/no), got %s",
					 key,
					 shunt_layer_is_null(n) ? "nothing" : shunt_layer_kind(n));
	const char *s = (const char *)n->data.scalar.value;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) {
		*out = false;
		return 0;
	}
	return shunt_layer_error(L, n, "%s: expected a boolean (true/false/yes/no), got '%s'", key,
				 s);
}

int shunt_layer_get_uint(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 const char *unit, unsigned long long max, unsigned long long *out)
{
	if (n->type != YAML_SCALAR_NODE || shunt_layer_is_null(n))
		return shunt_layer_error(L, n, "%s: expected an integer (%s), got %s", key, unit,
					 shunt_layer_is_null(n) ? "nothing" : shunt_layer_kind(n));
	const char *s = (const char *)n->data.scalar.value;
	if (*s < '0' || *s > '9')
		return shunt_layer_error(L, n, "%s: expected an integer (%s), got '%s'", key, unit,
					 s);
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return shunt_layer_error(L, n, "%s: expected an integer (%s), got '%s'", key, unit,
					 s);
	if (v > max)
		return shunt_layer_error(L, n, "%s: %s is too large (at most %llu)", key, s, max);
	*out = v;
	return 0;
}

/* "10MB", "512 KiB", "1G" or plain bytes; units are powers of 1024. */
int shunt_layer_get_size(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 unsigned long long *out)
{
	if (n->type != YAML_SCALAR_NODE || shunt_layer_is_null(n))
		return shunt_layer_error(
		    L, n, "%s: expected a size (bytes, or e.g. \"10MB\"), got %s", key,
		    shunt_layer_is_null(n) ? "nothing" : shunt_layer_kind(n));
	const char *s = (const char *)n->data.scalar.value;
	char *end = NULL;
	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	while (*end == ' ')
		end++;
	static const struct {
		const char *u;
		unsigned shift;
	} units[] = {{"", 0},	 {"B", 0},    {"K", 10}, {"KB", 10}, {"KiB", 10}, {"M", 20},
		     {"MB", 20}, {"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}};
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcasecmp(end, units[i].u) != 0)
			continue;
		if (v > (ULLONG_MAX >> units[i].shift) || (v << units[i].shift) > (1ULL << 40))
			return shunt_layer_error(L, n, "%s: '%s' is too large (at most 1TiB)", key,
						 s);
		if (v == 0)
			return shunt_layer_error(L, n, "%s: must be greater than zero", key);
		*out = v << units[i].shift;
		return 0;
	}
bad:
	return shunt_layer_error(L, n, "%s: expected a size (bytes, or e.g. \"10MB\"), got '%s'",
				 key, s);
}

/* A list of strings into *out (fresh); a plain null is an empty list. */
int shunt_layer_get_strv(struct shunt_layer *L, const yaml_node_t *n, const char *key, bool path,
			 struct shunt_strv *out)
{
	memset(out, 0, sizeof(*out));
	if (shunt_layer_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return shunt_layer_error(L, n, "%s: expected a list of strings, got %s", key,
					 shunt_layer_kind(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		const yaml_node_t *item = shunt_layer_node(L, *it);
		const char *s;
		if (!item || shunt_layer_get_str(L, item, key, &s) < 0)
			goto fail;
		if (path && s[0] == '~' && s[1] != '/' && s[1]) {
			shunt_layer_error(
			    L, item, "%s: '~user' paths are not supported, use an absolute path",
			    key);
			goto fail;
		}
		if ((path ? shunt_strv_push_path(out, s) : shunt_strv_push(out, s)) < 0) {
			shunt_layer_oom(L);
			goto fail;
		}
	}
	return 0;
fail:
	shunt_strv_free(out);
	return -1;
}

int shunt_layer_walk_map(struct shunt_layer *L, const yaml_node_t *map, const char *what,
			 const char *const *keys, size_t nkeys, shunt_layer_pair_fn fn, void *ctx)
{
	if (map->type != YAML_MAPPING_NODE)
		return shunt_layer_error(L, map, "%s: expected a mapping, got %s", what,
					 shunt_layer_kind(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = shunt_layer_node(L, p->key),
				  *v = shunt_layer_node(L, p->value);
		if (!k || !v)
			return shunt_layer_error(L, map, "%s: malformed mapping", what);
		if (k->type != YAML_SCALAR_NODE)
			return shunt_layer_error(L, k, "%s: keys must be strings, got %s", what,
						 shunt_layer_kind(k));
		const char *ks = (const char *)k->data.scalar.value;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const yaml_node_t *qk = shunt_layer_node(L, q->key);
			if (qk && qk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)qk->data.scalar.value, ks) == 0)
				return shunt_layer_error(
				    L, k, "duplicate key '%s' in %s (first at line %zu)", ks, what,
				    qk->start_mark.line + 1);
		}
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (strcmp(ks, keys[i]) == 0)
				break;
		if (i == nkeys) {
			const char *sug = shunt_suggest_nearest(ks, keys, nkeys);
			if (sug)
				return shunt_layer_error(
				    L, k, "unknown key '%s' in %s, did you mean '%s'?", ks, what,
				    sug);
			return shunt_layer_error(L, k, "unknown key '%s' in %s", ks, what);
		}
		if (fn(L, i, k, v, ctx) < 0)
			return -1;
	}
	return 0;
}

const char *shunt_config_suggest(const char *word, const char *const *candidates, size_t n)
{
	return shunt_suggest_nearest(word, candidates, n);
}
