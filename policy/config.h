/* Layered YAML configuration (libyaml): built-in defaults, then
 * /etc/shunt/config.yaml, $XDG_CONFIG_HOME/shunt/config.yaml, $SHUNT_CONFIG,
 * then the workspace's .shunt.yaml, which may only tighten. */
#ifndef SHUNT_CONFIG_H
#define SHUNT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strv.h"
#include "types.h"

/* The system-wide layer, read unless SHUNT_NO_SYSTEM_CONFIG=1. */
#define SHUNT_CONFIG_SYSTEM_PATH "/etc/shunt/config.yaml"

struct shunt_bind {
	char *host_path;
	char *container_path;
	bool read_only;
};

/* policy.sources entry: a rule pack fetched by `shunt policy update`. */
struct shunt_policy_source {
	char *url;     /* https://, or http://127.0.0.1 only with insecure */
	char *sha256;  /* lowercase hex pin of the body, or NULL */
	bool insecure; /* no TLS verification (shunt doctor warns) */
};

/* audit.forward: where `shunt audit flush` ships the spooled records. */
struct shunt_audit_forward {
	char *url;		      /* NULL = forwarding off */
	char *format;		      /* jsonl | loki | elasticsearch | splunk-hec */
	char *token_file;	      /* bearer token for the collector, or NULL */
	unsigned batch;		      /* records per request (default 100) */
	unsigned interval;	      /* seconds between shuntd's flushes (default 60) */
	unsigned long long spool_max; /* spool size cap in bytes (default 64 MiB) */
	bool insecure;
};

/* A workspace/organisation floor: rule `id` is at least `risk`. */
struct shunt_risk_floor {
	char *rule_id;
	enum shunt_risk risk;
};

struct shunt_sandbox_config {
	enum shunt_runtime runtime; /* auto = per-profile mapping below */
	char *image;
	unsigned timeout; /* seconds, 0 = none */
	enum shunt_netmode network_mode;
	bool network_mode_set; /* explicitly set (else from security level) */
	struct shunt_strv allow_hosts;
	bool enable_cache;
	struct shunt_strv cache_dirs;
	struct shunt_strv env_whitelist;
	struct shunt_bind *bind_mounts;
	size_t nbind_mounts;
	char *seccomp_profile;
	enum shunt_runtime profile_runtime[4]; /* indexed by enum shunt_profile */
	bool accept_weaker_isolation;
	struct shunt_strv hide_paths; /* extra credential paths to hide */
	int vm_backend;		      /* sandbox.vm_backend: 0 auto, 1 firecracker, 2 qemu */
};

struct shunt_config {
	enum shunt_mode mode;
	enum shunt_level security_level;
	enum shunt_noninteractive non_interactive;
	enum shunt_onerror on_error;
	enum shunt_preset preset;
	struct shunt_sandbox_config sandbox;
	struct shunt_strv allowlist; /* shell-style globs over the whole command */
	struct shunt_strv denylist;
	struct shunt_strv rule_files; /* extra rule packs */
	struct shunt_risk_floor *risk_floors;
	size_t nrisk_floors;
	unsigned long long audit_max_bytes; /* rotation size */
	unsigned prompt_timeout;   /* prompt.timeout: seconds a prompt waits (0: no limit) */
	size_t script_max;	   /* scripts.max_bytes: script bytes scanned (0: none) */
	struct shunt_strv sources; /* files that were loaded, in order */
	struct shunt_policy_source *policy_sources; /* policy.sources */
	size_t npolicy_sources;
	struct shunt_audit_forward audit_forward; /* audit.forward */
	unsigned pool_size[7];	    /* pool: warm sandboxes shuntd keeps, by enum shunt_runtime */
	bool remote_runtime;	    /* sandbox.runtime: remote (commands go to remote.url) */
	char *remote_url;	    /* remote.url: a remote shuntd, https:// */
	char *remote_token_file;    /* remote.token_file: its bearer token */
	char *remote_ca_file;	    /* remote.ca_file: CA bundle for its certificate */
	bool remote_insecure;	    /* remote.insecure: no TLS verification */
	struct shunt_strv warnings; /* e.g. a workspace file's loosening ignored */
};

/* Where to look. NULL members mean "use the environment/defaults". */
struct shunt_config_opts {
	const char *system_path; /* default /etc/shunt/config.yaml */
	const char *user_path;	 /* default $XDG_CONFIG_HOME/shunt/config.yaml */
	const char *env_path;	 /* default $SHUNT_CONFIG */
	const char *workspace;	 /* workspace root; .shunt.yaml is read there */
	bool no_system;		 /* skip /etc (tests) */
	bool no_workspace;	 /* skip the workspace .shunt.yaml (the shim's snapshot) */
};

/* Fills cfg with built-in defaults. Never fails. */
void shunt_config_defaults(struct shunt_config *cfg);

/* Loads all layers into cfg (which it initialises). Missing files are
 * skipped; unreadable or invalid ones are errors whose message names
 * file:line:col and, for unknown keys, the nearest valid key. The error's
 * exitcode is 2. On error cfg is left freed. */
int shunt_config_load(struct shunt_config *cfg, const struct shunt_config_opts *opts,
		      struct shunt_error **err);

/* Applies one YAML file as a layer on top of cfg. tighten_only: the
 * workspace layer, which may raise risks, add denylist entries, make the
 * mode/level stricter, and nothing else (loosening attempts become
 * warnings in cfg->warnings). Missing file: returns 0 and does nothing. */
int shunt_config_apply_file(struct shunt_config *cfg, const char *path, bool tighten_only,
			    struct shunt_error **err);

/* Same, from a buffer; name is used in messages. */
int shunt_config_apply_buf(struct shunt_config *cfg, const char *name, const char *buf, size_t len,
			   bool tighten_only, struct shunt_error **err);

/* Applies a preset (developer | ci-cd | production) as a layer. */
int shunt_config_apply_preset(struct shunt_config *cfg, enum shunt_preset preset,
			      struct shunt_error **err);

/* Writes the effective configuration as YAML (json=false) or JSON. */
struct shunt_buf;
void shunt_config_dump(const struct shunt_config *cfg, bool json, struct shunt_buf *out);

/* Frees everything cfg owns (NULL-safe) and zeroes it. */
void shunt_config_free(struct shunt_config *cfg);

/* Finds the workspace root for cwd: the git top level (nearest ancestor
 * holding .git), else cwd itself. Returns malloc'd path or NULL on OOM. */
char *shunt_config_workspace_root(const char *cwd);

/* Helper for typo hints: shunt_suggest_nearest (suggest.h), kept under
 * its old name. */
const char *shunt_config_suggest(const char *word, const char *const *candidates, size_t n);

#endif
