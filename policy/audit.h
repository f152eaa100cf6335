/* The audit log ("policy log"): one JSON object per line at
 * $XDG_STATE_HOME/shunt/audit.jsonl (SHUNT_AUDIT_LOG overrides), mode 0600
 * in a 0700 directory. Appends are one write(2) of a whole line on an
 * O_APPEND descriptor, so concurrent writers never interleave. Rotation
 * (audit.jsonl -> .1 -> .2 -> .3) happens under "<path>.lock".
 *
 * Line fields (stable): time (RFC 3339, ms, UTC), event, pid, ppid, uid,
 * tty, cwd, source, command, action, risk, score, rules[], profile,
 * runtime, network, allow_hosts[], approved_by, duration_ms, exit_code,
 * why, run_id, runtime_flags, cache_hit, weaker_isolation. Unknown or
 * unset values are null. Records of `shunt hook` add agent and session. */
#ifndef SHUNT_AUDIT_H
#define SHUNT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "types.h"

struct shunt_buf;

#define SHUNT_AUDIT_DEFAULT_MAX (10ull << 20)
#define SHUNT_AUDIT_KEEP	3

struct shunt_audit_record {
	int64_t time_ms;     /* unix ms; 0 = now */
	const char *event;   /* "decision" | "exec" | "trust-add" | "trust-remove" | "net-allow" |
				"net-deny" */
	long pid, ppid;	     /* 0 = this process / its parent */
	long long uid;	     /* -1 = getuid() */
	const char *tty;     /* NULL = ttyname of fd 0/1/2 (null when none) */
	const char *cwd;     /* NULL = getcwd() */
	int source;	     /* enum shunt_source, -1 = null */
	const char *command; /* may contain anything; escaped */
	size_t command_len;  /* 0 = strlen(command) */
	int action;	     /* enum shunt_action, -1 = null */
	int risk;	     /* enum shunt_risk, -1 = null */
	int score;	     /* -1 = null */
	const char *const *rules;
	size_t nrules;
	int profile; /* enum shunt_profile, SHUNT_PROFILE_NONE = null */
	int runtime; /* enum shunt_runtime, -1 = null */
	int network; /* enum shunt_netmode, -1 = null */
	const char *const *allow_hosts;
	size_t nallow_hosts;
	const char *approved_by; /* "prompt:y", "prompt:r", "trust:<key>" or NULL */
	long long duration_ms;	 /* -1 = null */
	int exit_code;		 /* -1 = null (not run) */
	bool has_exit_code;
	const char *why;
	const char *run_id;
	const char *runtime_flags;
	bool cache_hit;
	bool weaker_isolation;
	const char *agent;   /* the AI agent whose hook asked (shunt hook), or NULL */
	const char *session; /* that agent's session id, or NULL */
};

/* Sets every "null" sentinel (action/risk/... = -1, profile NONE). Call
 * before filling a record. */
void shunt_audit_record_init(struct shunt_audit_record *r);

/* The log path: $SHUNT_AUDIT_LOG, else $XDG_STATE_HOME/shunt/audit.jsonl.
 * malloc'd, NULL on OOM. */
char *shunt_audit_path(void);

/* Appends r as one JSON line (filling pid, ppid, uid, tty, cwd and time
 * when unset) to path (NULL = shunt_audit_path()). Rotates first when the
 * file is larger than max_bytes (0 = SHUNT_AUDIT_DEFAULT_MAX). Never
 * exits or aborts: returns -1 with *err for the caller to show as a
 * warning. */
int shunt_audit_append(const char *path, const struct shunt_audit_record *r,
		       unsigned long long max_bytes, struct shunt_error **err);

/* Formats r as a JSON object (no newline) into out, filling defaults like
 * shunt_audit_append. */
void shunt_audit_format(const struct shunt_audit_record *r, struct shunt_buf *out);

/* Rotates now (under the lock): path.2 -> path.3, path.1 -> path.2,
 * path -> path.1. Missing files are skipped. */
int shunt_audit_rotate(const char *path, struct shunt_error **err);

/* Reads the last n complete lines of path (and of path.1.. when path has
 * fewer). Returns a malloc'd array of malloc'd lines (oldest first) in
 * *lines and the count; free with shunt_audit_lines_free. A missing log
 * is zero lines. */
int shunt_audit_tail(const char *path, size_t n, char ***lines, size_t *count,
		     struct shunt_error **err);

void shunt_audit_lines_free(char **lines, size_t count);

#endif
