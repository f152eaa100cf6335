/* Parsed commands: a simple command (policy/lex.h) as a program, its
 * positional words (the subcommand path, then operands) and its options,
 * normalised so that rules match the command, not its spelling:
 * clustered short flags split (-vf is -v -f), --opt=value split, per-tool
 * long/short aliases mapped to one name (docker rm --force is -f),
 * option values kept out of the positionals (kubectl -n prod delete has
 * the subcommand delete, git commit -m "git push" has none of push), and
 * operand paths normalised like the lexer's norm (/tmp/../etc is /etc).
 * All memory comes from the arena; async-signal-safe (the shim runs it). */
#ifndef SHUNT_CMDPARSE_H
#define SHUNT_CMDPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "lex.h"

struct shunt_tool;

struct shunt_parsed_opt {
	const char *name;  /* canonical spelling: "-f", "--namespace" */
	const char *value; /* its value ("=v", attached or next word), or NULL */
};

struct shunt_parsed {
	const char *prog; /* basename */
	const char **pos; /* positional words (paths normalised once pos_norm) */
	size_t npos;
	struct shunt_parsed_opt *opts;
	size_t nopts;
	const struct shunt_tool *tool; /* what is known about prog, or NULL */
	bool pos_norm;		       /* shunt_cmdparse_operands ran */
	const struct shunt_lex_ctx *ctx;
	struct shunt_arena *a;
};

/* Parses argv[1..argc) of a command whose program basename is prog, with
 * the option table of prog when one is known (generic GNU-style parsing
 * otherwise). ctx normalises operand paths as in norm. 0, or -ENOMEM when
 * the arena ran out. */
int shunt_cmdparse(const char *prog, const char *const *argv, size_t argc,
		   const struct shunt_lex_ctx *ctx, struct shunt_arena *a,
		   struct shunt_parsed *out);

/* Normalises the positionals' paths as in norm (lex.h: /tmp/../etc is
 * /etc, ~ for HOME, ./ for the workspace), once; parsing leaves them as
 * written so that a command no operand condition looks at costs no
 * rewriting. 0 or -ENOMEM. */
int shunt_cmdparse_operands(struct shunt_parsed *pc);

/* Cheap test before parsing for the generic fallback: whether argv has a
 * word that could be a destroy verb in subcommand position, and prog is
 * not a local tool. False means shunt_cmdparse_destroy_verb would be NULL. */
bool shunt_cmdparse_maybe_destroy(const char *prog, const char *const *argv, size_t argc);

/* The command wrapper c runs (sudo ls -> ls), for unless_readonly: next
 * when the lexer added it as c's unwrapped command (it does so right
 * after c), NULL otherwise, and NULL when c redirects output (sudo ls >
 * /etc/x writes, whatever ls does). */
const struct shunt_simple *shunt_cmdparse_inner(const struct shunt_simple *c,
						const struct shunt_simple *next);

/* The canonical name of option opt for program prog ("--force" -> "-f"
 * for docker); opt itself when it has no alias. Never NULL. */
const char *shunt_cmdparse_canon(const char *prog, const char *opt);

/* Whether pc has option opt (compared canonically, opt as a rule wrote it). */
bool shunt_cmdparse_has_opt(const struct shunt_parsed *pc, const char *opt);

/* Whether the command only reads: a read-only program (ls, cat, grep...)
 * or a read-only verb in subcommand position (git status, kubectl get,
 * systemctl status, docker ps). Used for sudo of a read-only command. */
bool shunt_cmdparse_readonly(const struct shunt_parsed *pc);

/* The generic fallback for CLIs no pack covers: the destroy verb in
 * subcommand position ("delete", "destroy", ... also "apps:destroy" and
 * "delete-secret"), or NULL. NULL for programs whose destroy verbs are
 * local work (git, docker, npm, brew...: packs judge those). */
const char *shunt_cmdparse_destroy_verb(const struct shunt_parsed *pc);

/* The rule family that would judge prog precisely (for explain), or NULL. */
const char *shunt_cmdparse_family_hint(const char *prog);

#endif
