/* Inside the configuration loader (config*.c only): one layer being
 * walked, the walker's typed getters (config_layer.c), the schema's entry
 * point (config_schema.c) and what the files share. Every failing call
 * has set a config-class error (exit 2) on L->err. */
#ifndef SHUNT_CONFIG_LAYER_H
#define SHUNT_CONFIG_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"

struct shunt_layer {
	struct shunt_config *cfg;
	const char *name; /* for messages */
	char *dir;	  /* base for relative rule paths */
	bool tighten;	  /* workspace layer */
	int depth;	  /* preset nesting */
	yaml_document_t doc;
	struct shunt_error **err;
};
/* Called per pair of a walked mapping with the key's index in keys[]. */
typedef int (*shunt_layer_pair_fn)(struct shunt_layer *L, size_t k, const yaml_node_t *key,
				   const yaml_node_t *val, void *ctx);

/* Reports OOM for the layer; returns -1. */
int shunt_layer_oom(struct shunt_layer *L);

/* Config-class error (exit 2) positioned at node n (NULL: the file). Returns -1. */
int shunt_layer_error(struct shunt_layer *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records that a workspace file tried to loosen `what`; returns 0 or -1 (OOM). */
int shunt_layer_loosen(struct shunt_layer *L, const yaml_node_t *n, const char *what);

/* Node `id` of the layer's document, or NULL. */
yaml_node_t *shunt_layer_node(struct shunt_layer *L, int id);

/* "a mapping", "a list", "a string" or "nothing", for messages. */
const char *shunt_layer_kind(const yaml_node_t *n);

/* A plain scalar that YAML reads as null (empty, ~, null). */
bool shunt_layer_is_null(const yaml_node_t *n);

/* A non-null scalar without embedded NULs; *out points into the document. */
int shunt_layer_get_str(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			const char **out);

/* One of names[0..count) (its index), or alias (then alias_val). */
int shunt_layer_get_enum(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 const char *const *names, size_t count, const char *alias, int alias_val,
			 int *out);

/* true/false/yes/no, any case. */
int shunt_layer_get_bool(struct shunt_layer *L, const yaml_node_t *n, const char *key, bool *out);

/* A decimal integer up to max; unit names it in messages. */
int shunt_layer_get_uint(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 const char *unit, unsigned long long max, unsigned long long *out);

/* "10MB", "512 KiB", "1G" or plain bytes; units are powers of 1024. */
int shunt_layer_get_size(struct shunt_layer *L, const yaml_node_t *n, const char *key,
			 unsigned long long *out);

/* A list of strings into *out (fresh); a plain null is an empty list.
 * path: "~" is expanded and "~user" refused. */
int shunt_layer_get_strv(struct shunt_layer *L, const yaml_node_t *n, const char *key, bool path,
			 struct shunt_strv *out);

/* Walks a mapping: every key must be a scalar in keys[], no duplicates.
 * Calls fn(L, key_index, key_node, value_node, ctx) per pair. */
int shunt_layer_walk_map(struct shunt_layer *L, const yaml_node_t *map, const char *what,
			 const char *const *keys, size_t nkeys, shunt_layer_pair_fn fn, void *ctx);

/* Applies the layer's parsed document to L->cfg (config_schema.c). */
int shunt_layer_apply_doc(struct shunt_layer *L);

/* Parses buf as one layer and applies it (config.c); depth > 0 inside a
 * preset, which adds no entry to cfg->sources. */
int shunt_config_apply_layer(struct shunt_config *cfg, const char *name, const char *buf,
			     size_t len, bool tighten, int depth, struct shunt_error **err);

/* The YAML text of a preset, or NULL for none. */
const char *shunt_config_preset_text(enum shunt_preset p);

/* The network mode in force: the explicit one, else the security level's. */
enum shunt_netmode shunt_config_effective_net(const struct shunt_config *cfg);

/* sandbox.vm_backend's names, by its value. */
extern const char *const shunt_config_vm_backends[3];

/* Frees n bind mounts and the array. */
void shunt_config_binds_free(struct shunt_bind *b, size_t n);

#endif
