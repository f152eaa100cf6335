/* Private to the rule loader (rules.c) and the parsed-command part of a
 * rule (rules_cmd.c): the YAML loader state and its helpers. */
#ifndef SHUNT_RULES_INT_H
#define SHUNT_RULES_INT_H

#include <yaml.h>

#include "rules.h"

struct loader {
	const char *name;
	yaml_document_t doc;
	struct shunt_error **err;
	const char *family; /* the pack's family: key, or NULL */
};

static inline const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Sets a config-class error (exit 2) positioned at node; returns -1. */
int __attribute__((format(printf, 3, 4)))
shunt_rules_node_error(struct loader *L, const yaml_node_t *node, const char *fmt, ...);

/* A string value into *out (replacing it). 0 or -1 with the error set. */
int shunt_rules_get_string(struct loader *L, const yaml_node_t *n, const char *key, char **out);

/* A string or a sequence of strings into *out, *nout (replacing them). */
int shunt_rules_get_list(struct loader *L, const yaml_node_t *n, const char *key, char ***out,
			 size_t *nout);

/* Frees n strings of v and v (NULL-safe). */
void shunt_rules_strv_free(char **v, size_t n);

/* Loads a rule's `command:` mapping into r->cmd (and its program names
 * into r->programs). 0 or -1 with the error set at file:line:col. */
int shunt_rules_load_command(struct loader *L, struct shunt_rule *r, const yaml_node_t *n);

/* Frees what shunt_rules_load_command allocated. */
void shunt_rules_cmd_free(struct shunt_rule_cmd *c);

#endif
