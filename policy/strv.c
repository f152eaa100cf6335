/* Lists of strings (struct shunt_strv) and the typo hints of the
 * configuration's error messages. */
#include "strv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
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

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return SIZE_MAX;
	size_t prev[41], cur[41];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;
			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *shunt_config_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t bestd = 4;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		/* A short word is "near" almost anything; demand some overlap. */
		if (d < bestd && d < strlen(candidates[i])) {
			bestd = d;
			best = candidates[i];
		}
	}
	return best;
}

int shunt_strv_push_path(struct shunt_strv *v, const char *s)
{
	_cleanup_free_ char *p = shunt_paths_expand_tilde(s);
	return p ? shunt_strv_push(v, p) : -1;
}
