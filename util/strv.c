/* Lists of strings (struct shunt_strv). */
#include "strv.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "paths.h"

int shunt_strv_push(struct shunt_strv *v, const char *s)
{
	char *d = strdup(s);
	if (!d)
		return -1;
	char **nv = realloc(v->v, (v->n + 2) * sizeof(*nv));
	if (!nv) {
		free(d);
		return -1;
	}
	nv[v->n++] = d;
	nv[v->n] = NULL;
	v->v = nv;
	return 0;
}

void shunt_strv_free(struct shunt_strv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

bool shunt_strv_has(const struct shunt_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

bool shunt_strv_subset(const struct shunt_strv *sub, const struct shunt_strv *of)
{
	for (size_t i = 0; i < sub->n; i++)
		if (!shunt_strv_has(of, sub->v[i]))
			return false;
	return true;
}

int shunt_strv_push_path(struct shunt_strv *v, const char *s)
{
	_cleanup_free_ char *p = shunt_paths_expand_tilde(s);
	return p ? shunt_strv_push(v, p) : -1;
}

const char *shunt_strv_env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}
