/* The compiled policy and the decision function. One code path decides
 * for the cli, the hooks and the shim: the cli builds a shunt_policy from
 * YAML (shunt_policy_build), the shim from the mapped snapshot. */
#ifndef SHUNT_POLICY_H
#define SHUNT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "lex.h"
#include "rules.h"
#include "types.h"

struct shunt_config;

/* A trusted command as the decider sees it (the trust store owns the
 * full records). The key is SHA-256 over the scope, workspace and
 * normalised command (shunt_trust_key). The fingerprint binds the entry
 * to the executable: if the file at exe changed, the entry does not apply. */
struct shunt_trust_ref {
	uint8_t key[32];
	uint8_t scope;	 /* 0 exact, 1 global */
	int64_t expires; /* unix seconds, 0 = never */
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	const char *exe; /* resolved path at approval time, or NULL */
};

struct shunt_policy {
	enum shunt_mode mode;
	enum shunt_level level;
	enum shunt_noninteractive non_interactive;
	enum shunt_onerror on_error;
	enum shunt_runtime runtime; /* config sandbox.runtime (auto = map below) */
	enum shunt_runtime profile_runtime[4];
	bool gvisor_available; /* runsc found when the policy was built */
	const char *const *allowlist;
	size_t nallowlist;
	const char *const *denylist;
	size_t ndenylist;
	const struct shunt_rule *rules; /* risk floors already applied */
	size_t nrules;
	const struct shunt_trust_ref *trust; /* sorted by key */
	size_t ntrust;
};

struct shunt_request {
	const char *line; /* shell line (hook, cli -c), or NULL */
	size_t line_len;
	const char
	    *exe; /* resolved executable (argv input, or first program of a line), may be NULL */
	const char *const *argv; /* argv input, or NULL */
	size_t argc;
	const char *cwd;
	const char *workspace;
	const char *home;
	bool interactive; /* a human at a terminal */
	enum shunt_source source;
	int64_t now; /* unix seconds (trust expiry) */
	/* read and scan a script file an interpreter is given (bash x.sh,
	 * python3 x.py) up to this many bytes; 0 = never read files (the shim) */
	size_t script_max;
};

struct shunt_match {
	const struct shunt_rule *rule;
	size_t cmd;    /* index into cmdline.cmds, or SIZE_MAX for a line-scope rule */
	size_t so, eo; /* span in the subject */
	/* the subject when it is not the command's norm or the line: the code
	 * the command runs, or a command of that code (NUL-terminated) */
	const char *subject;
	bool limit_hit;
};

#define SHUNT_MAX_RULE_IDS 16

struct shunt_decision {
	enum shunt_action action;
	enum shunt_risk risk;
	int score;		    /* 0..100 */
	int profile;		    /* enum shunt_profile or SHUNT_PROFILE_NONE */
	enum shunt_runtime runtime; /* SHUNT_RUNTIME_NONE for host/block */
	const char *rules[SHUNT_MAX_RULE_IDS];
	size_t nrules;
	char why[256];
	bool trusted;	  /* a trust entry made this host */
	bool trust_stale; /* an entry matched the key but the executable changed */
	bool allowlisted;
	bool denylisted;
	bool would_prompt_godmode;
	/* a rule's unless_installed looked in the cwd: the same argv may be
	 * decided otherwise elsewhere (never cache it cwd-free) */
	bool cwd_dependent;
	/* a script file named to an interpreter was looked up: its content
	 * decided this, which may change under the same argv (never cache it) */
	bool read_script;
	bool remote_effect;    /* a matched rule acts on a remote system or needs your secrets */
	bool system_effect;    /* a matched rule changes the running machine (services, power) */
	unsigned effects;      /* bit (1 << enum shunt_rule_effect) per effect of a matched rule */
	uint8_t trust_key[32]; /* exact-scope key of this command */
	uint8_t trust_key_global[32];
	/* details for explain (arena memory) */
	struct shunt_cmdline cmdline;
	struct shunt_match *matches;
	size_t nmatches;
};

/* Decides what happens to a request. Pure apart from stat(2) of a trusted
 * executable and of the installed tool a rule's unless_installed names
 * (see cwd_dependent). Returns 0, or -ENOMEM when the arena is too small (the shim
 * then defers to the gate). Thread-safe; async-signal-safe with a fixed
 * arena. */
int shunt_decide(const struct shunt_policy *p, const struct shunt_request *req,
		 struct shunt_arena *a, struct shunt_decision *out);

/* The runtime a sandboxed run of profile uses under the config's
 * sandbox.runtime and per-profile map: AUTO (and NONE, which has no
 * runner) resolve to gVisor when gvisor_available, else the process
 * runner. Never AUTO or NONE. The one mapping: the decision reports it
 * and sandbox/launch.c runs it. */
enum shunt_runtime shunt_policy_runtime(enum shunt_runtime runtime,
					const enum shunt_runtime profile_runtime[4],
					bool gvisor_available, int profile);

/* Builds a policy from a loaded config and rule set (rules are copied by
 * reference; risk floors are applied to rs in place). The policy borrows
 * cfg and rs, which must outlive it. */
int shunt_policy_build(struct shunt_policy *p, const struct shunt_config *cfg,
		       struct shunt_ruleset *rs, struct shunt_error **err);

/* Frees what shunt_policy_build allocated (not the borrowed parts). */
void shunt_policy_free(struct shunt_policy *p);

/* Computes the trust key for a normalised command. scope 0 = exact (bound
 * to workspace), 1 = global. Async-signal-safe. */
void shunt_trust_key(int scope, const char *workspace, const char *norm, uint8_t out[32]);

/* Shell-style glob over a whole command line: '*' matches any run
 * (including spaces and '/'), '?' one char, [..] classes. Whitespace runs
 * in pattern and text compare equal. Async-signal-safe. */
bool shunt_glob_match(const char *pattern, const char *text);

/* Appends the decision as a JSON object with the stable field names
 * action, risk, score, profile, runtime, rules, why (+ trusted). */
struct shunt_buf;
void shunt_decision_json(const struct shunt_decision *d, struct shunt_buf *out);

#endif
