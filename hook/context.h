/* Everything a subcommand needs to decide: the loaded configuration, rule
 * packs, trust entries and the compiled policy, plus where we are. */
#ifndef SHUNT_CONTEXT_H
#define SHUNT_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "rules.h"

enum {
	SHUNT_CTX_NO_RULES = 1u << 0,	  /* config only (shunt run) */
	SHUNT_CTX_NO_TRUST = 1u << 1,	  /* skip the trust store */
	SHUNT_CTX_DEFAULTS = 1u << 2,	  /* built-in defaults only, no user files */
	SHUNT_CTX_NO_SNAPSHOT = 1u << 3,  /* don't refresh the shim's snapshot */
	SHUNT_CTX_NO_WORKSPACE = 1u << 4, /* skip the workspace's .shunt.yaml */
	SHUNT_CTX_FAST = 1u << 5 /* decide from the fresh snapshot when it applies (hook) */
};

struct shunt_ctx {
	struct shunt_config cfg;
	struct shunt_ruleset rules;
	struct shunt_policy policy;
	struct shunt_trust_ref *trust; /* owned, sorted */
	size_t ntrust;
	char **trust_exes; /* owned strings the refs point at */
	char *cwd;
	char *workspace;
	char *home;
	char *self_exe;	  /* absolute path of this shunt binary */
	bool interactive; /* a human at a terminal (/dev/tty opens, stdin or stderr a tty) */
	void *snap;	  /* struct shunt_snapshot when the policy came from it */
	unsigned flags;	  /* SHUNT_CTX_* it was loaded with */
	uint64_t stamp;	  /* identity of every input file as loaded (see below) */
};

/* Loads config (all layers), rules (embedded + config rule files), trust
 * and builds ctx->policy. Errors carry file:line:col and exitcode 2 for
 * config/rule problems. ctx is freed on error. */
int shunt_ctx_load(struct shunt_ctx *ctx, unsigned flags, struct shunt_error **err);

/* The stamp of the config layers the per-user snapshot is built from
 * (trust store, user, SHUNT_CONFIG and system config paths); a snapshot
 * written with another stamp is stale. Never 0. */
uint64_t shunt_ctx_snapshot_inputs(void);

/* True when a file the context was built from (system/user/SHUNT_CONFIG/
 * workspace config, rule packs, trust store) was created, removed or
 * changed since shunt_ctx_load: a long-lived checker then reloads. Costs
 * one stat(2) per file; no allocation beyond the path names. */
bool shunt_ctx_inputs_changed(const struct shunt_ctx *ctx);

/* Frees everything in ctx (safe on a zeroed or half-loaded ctx). */
void shunt_ctx_free(struct shunt_ctx *ctx);

/* Decides a shell line or an argv (exe may be NULL: resolved via PATH
 * from argv[0] or the line's first command). Uses a heap arena that the
 * caller releases after using the decision. */
int shunt_ctx_decide(const struct shunt_ctx *ctx, const char *line, const char *exe,
		     char *const *argv, enum shunt_source source, bool interactive,
		     struct shunt_arena *arena, struct shunt_decision *d, struct shunt_error **err);

/* Resolves a program name through PATH like execvp (names with '/' are
 * returned as absolute paths). malloc'd, or NULL when not found. */
char *shunt_ctx_which(const char *name);

/* True when a human can be asked: /dev/tty can be opened for reading and
 * writing and CI is not set. */
bool shunt_ctx_has_terminal(void);

#endif
