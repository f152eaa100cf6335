/* PCRE2 risk rules loaded from YAML rule packs. */
#ifndef SHUNT_RULES_H
#define SHUNT_RULES_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "types.h"

enum shunt_rule_scope {
	SHUNT_SCOPE_COMMAND, /* matched against each simple command's norm */
	SHUNT_SCOPE_LINE,    /* matched against the whole normalised line (pipelines) */
	SHUNT_SCOPE_CODE,   /* the code an interpreter runs: inline, here-document or script file */
	SHUNT_SCOPE_INLINE, /* the same, but only code written on the line (not a script file) */
};

/* What a command touches (policy/rules/README.md, "effect"); the
 * decision picks the action that contains it. Values are stable (the
 * snapshot stores them). */
enum shunt_rule_effect {
	SHUNT_EFFECT_LOCAL,	  /* default: local files; a sandbox contains it */
	SHUNT_EFFECT_REMOTE,	  /* remote state: prompt, or block with no terminal */
	SHUNT_EFFECT_NETWORK,	  /* talks to the network: a sandbox with its allowlist */
	SHUNT_EFFECT_CREDENTIALS, /* reads or sends secrets: prompt, block with no terminal */
	SHUNT_EFFECT_SYSTEM,	  /* changes the running machine (services, power, init):
				     prompt, or block with no terminal */
};
#define SHUNT_EFFECT_MAX SHUNT_EFFECT_SYSTEM

/* Name of an effect ("local", "remote", ...), "?" out of range. */
const char *shunt_rule_effect_name(int e);

/* The parsed-command conditions of a rule (`command:` in YAML); all given
 * conditions must hold. See policy/cmdparse.h for what is parsed. */
struct shunt_rule_cmd {
	bool present;
	bool unless_readonly; /* not when the command (for sudo: what it runs) only reads */
	char **sub; /* subcommand paths ("container rm"): one must prefix the positionals */
	size_t nsub;
	char **any; /* at least one of these options */
	size_t nany;
	char **all; /* all of these options */
	size_t nall;
	char **none; /* none of these options */
	size_t nnone;
	char *operands; /* PCRE2 over the operands (after the subcommand), space-joined */
	pcre2_code *operands_re;
};

struct shunt_rule {
	char *id;
	char *description; /* also the "why" phrase, e.g. "networked install" */
	char *pattern;
	pcre2_code *re;
	char **programs; /* basename prefilter; NULL/0 = any program */
	size_t nprograms;
	enum shunt_risk risk;
	char **tags;
	size_t ntags;
	int profile; /* enum shunt_profile, SHUNT_PROFILE_NONE if unset */
	int action;  /* enum shunt_action, -1 if unset */
	enum shunt_rule_scope scope;
	/* "node_modules/.bin": the rule does not apply when its capture group
	 * 1 names an executable under this directory of the cwd or a parent
	 * up to the workspace root (the tool is installed: nothing to fetch).
	 * NULL if unset. Command scope only. */
	char *unless_installed;
	enum shunt_rule_effect effect;
	struct shunt_rule_cmd cmd;
	char *family; /* pack family (pack-level family:, else the file name), or NULL */
	char **ex_match;
	size_t nex_match;
	char **ex_nomatch;
	size_t nex_nomatch;
	char *file; /* pack it came from, and position of the rule */
	int line, col;
};

struct shunt_ruleset {
	struct shunt_rule *rules;
	size_t n;
};

/* Match limits: a rule that hits one counts as matched (fail closed).
 * The match and heap limits grow linearly with the subject's length
 * (shunt_rule_match_limit, shunt_rule_heap_limit_kb), so that a linear
 * pattern over a long argv stays inside them and a pathological one still
 * stops after work linear in the subject per start position. */
#define SHUNT_RULE_MATCH_LIMIT	  100000u
#define SHUNT_RULE_MATCH_PER_BYTE 64u
#define SHUNT_RULE_DEPTH_LIMIT	  5000u
#define SHUNT_RULE_HEAP_LIMIT_KB  64u
#define SHUNT_RULE_HEAP_KB_PER_KB 4u

/* Parses a rule pack and appends its rules to rs. name is the file name
 * used in messages (file:line:col). Rejects unknown keys (with a
 * suggestion), bad enums, invalid regexes (with the offset), duplicate
 * ids. Exitcode of errors is 2. */
int shunt_rules_load_buf(struct shunt_ruleset *rs, const char *name, const char *buf, size_t len,
			 struct shunt_error **err);

/* Reads a file and calls shunt_rules_load_buf. */
int shunt_rules_load_file(struct shunt_ruleset *rs, const char *path, struct shunt_error **err);

/* Loads the packs embedded in the binary (the YAML packs of policy/rules at build). */
int shunt_rules_load_embedded(struct shunt_ruleset *rs, struct shunt_error **err);

/* The embedded packs, for `shunt rules list` and the snapshot. */
struct shunt_embedded_pack {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct shunt_embedded_pack shunt_embedded_packs[];
extern const size_t shunt_embedded_pack_count;

/* The match (step) limit and the heap limit (KiB) for a subject of len
 * bytes: the base limits plus a share per byte. */
uint32_t shunt_rule_match_limit(size_t len);
uint32_t shunt_rule_heap_limit_kb(size_t len);

/* Matches rule r against subject. Returns 1 on match (span in *so, *eo),
 * 0 on no match, 2 when a PCRE2 limit was hit (treat as a match; span is
 * the whole subject). Allocates only from a (fixed arenas work: the match
 * data and PCRE2's frames come from it); returns 2 if the arena is too
 * small. Thread-safe and async-signal-safe with a fixed arena. */
int shunt_rule_match(const struct shunt_rule *r, const char *subject, size_t len,
		     struct shunt_arena *a, size_t *so, size_t *eo);

/* JIT-compiles every rule (about 15 us per rule; matching then gets ~3x
 * faster). Loading does not JIT so that a one-shot `shunt check` stays
 * fast; call this when many commands will be judged (batch mode, bench,
 * long-lived processes). Not thread-safe: call before sharing rs. JIT
 * failure is ignored (the interpreter is used). */
void shunt_rules_jit(struct shunt_ruleset *rs);

/* A matcher holds the PCRE2 contexts and match data for many matches
 * (one decision): all of it lives in the arena given to init, which must
 * outlive the matcher. */
struct shunt_matcher {
	struct shunt_arena *a;
	pcre2_general_context *gc;
	pcre2_match_context *mc;
	pcre2_match_data *md;
};

/* Sets up a matcher on arena a. 0, or -ENOMEM when the arena is too small
 * (then shunt_matcher_match returns 2 = treat as match). Async-signal-safe
 * with a fixed arena. */
int shunt_matcher_init(struct shunt_matcher *m, struct shunt_arena *a);

/* Like shunt_rule_match but reuses the matcher's contexts, and returns
 * -ENOMEM (not 2) when the arena ran out during the match: that says
 * nothing about the subject, and the caller can decide again with a
 * bigger arena (the shim defers to the gate). */
int shunt_matcher_match(struct shunt_matcher *m, const struct shunt_rule *r, const char *subject,
			size_t len, size_t *so, size_t *eo);

/* Like shunt_matcher_match, with a code of the caller's (a rule's
 * operands pattern). */
int shunt_matcher_match_code(struct shunt_matcher *m, const pcre2_code *code, const char *subject,
			     size_t len, size_t *so, size_t *eo);

/* Span of capture group 1 of m's last successful match: true and the
 * span in *so, *eo when the group took part in it. */
bool shunt_matcher_group1(const struct shunt_matcher *m, size_t *so, size_t *eo);

/* Matches the command: conditions of r against the parsed command pc;
 * runs is the parsed command a wrapper (sudo) runs, or NULL, for
 * unless_readonly. Normalises pc's operands when a pattern needs them. 1 match, 0 not, 2 operands
 * pattern hit a limit (count as a match), -ENOMEM when the matcher's arena ran out. */
struct shunt_parsed;
int shunt_rule_cmd_match(const struct shunt_rule *r, struct shunt_parsed *pc,
			 const struct shunt_parsed *runs, struct shunt_matcher *m);

/* The built-in rule the generic fallback reports (id
 * generic-destroy-verb, high, effect remote): a destroy verb in
 * subcommand position of a program no pack names (cmdparse.h). */
const struct shunt_rule *shunt_rules_generic(void);
/* The YAML name of a scope ("command", "line", "code", "inline"). */
const char *shunt_rule_scope_name(enum shunt_rule_scope s);

/* True when r may apply to a command whose program basename is prog. */
bool shunt_rule_applies_to(const struct shunt_rule *r, const char *prog);

/* Checks one rule example the way `shunt rules test` and the unit test do:
 * lexes line with home "/home/user" and cwd = workspace =
 * "/home/user/project", then matches r against each simple command's norm
 * (honouring the programs prefilter) or, for scope line, the normalised
 * line when any command passes the prefilter, or, for scope code/inline,
 * the inline code or here-document of each interpreter the prefilter
 * passes (script files are not read). Returns 1 when it matches,
 * 0 when not, -ENOMEM when the arena ran out. Allocates only from a. */
int shunt_rule_test_line(const struct shunt_rule *r, const char *line, struct shunt_arena *a);

/* Frees all rules (NULL-safe). */
void shunt_ruleset_free(struct shunt_ruleset *rs);

#endif
