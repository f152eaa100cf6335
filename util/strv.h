/* A list of malloc'd strings, kept NULL-terminated so v can serve as an
 * argv. */
#ifndef SHUNT_STRV_H
#define SHUNT_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct shunt_strv {
	char **v; /* malloc'd strings */
	size_t n;
};

/* Appends a copy of s. -1 on OOM (v unchanged). */
int shunt_strv_push(struct shunt_strv *v, const char *s);

/* Appends s with a leading "~" or "~/" made $HOME. -1 on OOM. */
int shunt_strv_push_path(struct shunt_strv *v, const char *s);

/* Whether s is one of v's strings. */
bool shunt_strv_has(const struct shunt_strv *v, const char *s);

/* Whether every string of sub is one of of's. */
bool shunt_strv_subset(const struct shunt_strv *sub, const struct shunt_strv *of);

/* The value of NAME in a NAME=VALUE list (NULL-terminated; env NULL is
 * empty), or NULL when it is not set. Points into env. */
const char *shunt_strv_env_get(char *const *env, const char *name);

/* Frees the strings and the array (NULL-safe); v is left empty. */
void shunt_strv_free(struct shunt_strv *v);

#endif
