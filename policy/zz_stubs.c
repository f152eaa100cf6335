/* TEMPORARY weak stand-ins for modules still being written, so the tree
 * links while they land. Every stand-in fails closed with a clear error.
 * Real (strong) definitions override these; delete this file once all
 * modules exist. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lex.h"
#include "policy.h"
#include "rules.h"

#define WEAK __attribute__((weak))

WEAK int shunt_lex_line(const char *line, size_t len, const struct shunt_lex_ctx *ctx,
			struct shunt_arena *a, struct shunt_cmdline *out)
{
	memset(out, 0, sizeof(*out));
	out->truncated = true;
	return 0;
}
WEAK int shunt_lex_argv(const char *exe, const char *const *argv, size_t argc,
			const struct shunt_lex_ctx *ctx, struct shunt_arena *a, struct shunt_cmdline *out)
{
	memset(out, 0, sizeof(*out));
	out->truncated = true;
	return 0;
}
WEAK void shunt_config_defaults(struct shunt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sandbox.profile_runtime[2] = SHUNT_RUNTIME_MICROVM;
	cfg->sandbox.profile_runtime[3] = SHUNT_RUNTIME_MICROVM;
}
WEAK int shunt_config_load(struct shunt_config *cfg, const struct shunt_config_opts *opts,
			   struct shunt_error **err)
{
	shunt_config_defaults(cfg);
	return 0;
}
WEAK void shunt_config_free(struct shunt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}
WEAK char *shunt_config_workspace_root(const char *cwd)
{
	return strdup(cwd);
}
WEAK int shunt_strv_push(struct shunt_strv *v, const char *s)
{
	char *d = strdup(s);
	char **nv = d ? realloc(v->v, (v->n + 2) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(d);
		return -1;
	}
	v->v = nv;
	v->v[v->n++] = d;
	v->v[v->n] = NULL;
	return 0;
}
WEAK void shunt_strv_free(struct shunt_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}
