/* The trust store: commands a human approved and asked to remember.
 *
 * File: $XDG_DATA_HOME/shunt/trust.json (SHUNT_TRUST_STORE overrides),
 * mode 0600 in a 0700 directory:
 *   {"version":1,"entries":[{"key":"<hex sha256>","command":"...",
 *     "scope":"exact"|"global","workspace":"/ws"|null,"exe":"/usr/bin/x"|null,
 *     "exe_sha256":"<hex>"|null,"exe_dev":"N","exe_ino":"N","exe_size":"N",
 *     "exe_mtime_ns":"N","exe_ctime_ns":"N","created":N,"expires":N|null,
 *     "uses":N,"last_used":N|null,"note":"..."|null,
 *     "added_by":{"user":"u","uid":N,"tty":"/dev/pts/1"|"no-tty","how":"prompt"|"cli"}}]}
 * The exe_* stat fields are decimal strings: nanosecond times and inode
 * numbers do not fit a JSON double exactly. Readers accept numbers too.
 *
 * Every mutation runs: lock "<path>.lock" -> re-read -> modify -> atomic
 * write (temp, fsync, rename) -> unlock, so concurrent writers lose
 * nothing and a full disk leaves the old file intact. */
#ifndef SHUNT_TRUST_H
#define SHUNT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"

struct shunt_buf;

enum { SHUNT_TRUST_EXACT = 0, SHUNT_TRUST_GLOBAL = 1 };

struct shunt_trust_entry {
	char key[65];	     /* lower-case hex SHA-256 (shunt_trust_key) */
	char *command;	     /* normalised command text */
	int scope;	     /* SHUNT_TRUST_EXACT / SHUNT_TRUST_GLOBAL */
	char *workspace;     /* exact scope: workspace root; NULL for global */
	char *exe;	     /* resolved executable, or NULL */
	char exe_sha256[65]; /* "" when there is no exe */
	uint64_t exe_dev, exe_ino, exe_size;
	int64_t exe_mtime_ns, exe_ctime_ns;
	int64_t created;
	int64_t expires; /* unix seconds, 0 = never */
	uint64_t uses;
	int64_t last_used; /* 0 = never */
	char *note;	   /* or NULL */
	char *added_user;  /* or NULL */
	long long added_uid;
	char *added_tty; /* tty path or "no-tty" */
	char *added_how; /* "prompt" | "cli" */
};

struct shunt_trust_store {
	struct shunt_trust_entry *v;
	size_t n, cap;
};

/* The store path: $SHUNT_TRUST_STORE, else $XDG_DATA_HOME/shunt/trust.json.
 * malloc'd, NULL on OOM. */
char *shunt_trust_path(void);

/* Loads the store at path into st (zeroed by the caller or fresh). A
 * missing file is an empty store. A corrupt or truncated file is renamed
 * to "<path>.corrupt-<unixtime>" and -1 is returned with an error naming
 * both paths (exitcode 1); the next load then starts empty. A store
 * written by a newer version is an error and left in place. */
int shunt_trust_load(const char *path, struct shunt_trust_store *st, struct shunt_error **err);

/* Frees the entries (NULL-safe) and zeroes st. */
void shunt_trust_store_free(struct shunt_trust_store *st);

/* Frees the strings an entry owns (not the entry itself). */
void shunt_trust_entry_clear(struct shunt_trust_entry *e);

/* Fills e->key from scope, workspace and command (shunt_trust_key). */
void shunt_trust_entry_set_key(struct shunt_trust_entry *e);

/* Fills the exe fields of e for the executable at exe: content SHA-256
 * and stat fingerprint (dev, ino, size, mtime, ctime). exe NULL clears
 * them. Copies exe. */
int shunt_trust_fill_exe(struct shunt_trust_entry *e, const char *exe, struct shunt_error **err);

/* Fills a new entry (e is overwritten): command norm, scope, workspace
 * (exact only), key, exe fingerprint (exe may be NULL), created = now,
 * expires (0 = never), note (may be NULL), and added_by from this
 * process: user name and uid, tty (ttyname of fd 0/1/2, else "/dev/tty"
 * when it opens, else "no-tty") and how ("prompt" | "cli"). Clear it with
 * shunt_trust_entry_clear. */
int shunt_trust_entry_init(struct shunt_trust_entry *e, const char *norm, int scope,
			   const char *workspace, const char *exe, const char *how, int64_t now,
			   int64_t expires, const char *note, struct shunt_error **err);

/* Adds e (deep-copied), replacing any entry with the same key. Locks,
 * re-reads, writes atomically. Creates the directory 0700. */
int shunt_trust_add(const char *path, const struct shunt_trust_entry *e, struct shunt_error **err);

/* Removes entries matching spec: a key or a unique key prefix of at least
 * 8 hex characters, else entries whose command equals spec or norm (norm
 * may be NULL). Returns the number removed (0 = nothing matched), or -1
 * (an ambiguous prefix is an error, exitcode 1). removed, when non-NULL,
 * receives a copy of the first removed entry (clear it after use). */
int shunt_trust_remove(const char *path, const char *spec, const char *norm,
		       struct shunt_trust_entry *removed, struct shunt_error **err);

/* Removes entries whose expiry is <= now. Returns how many, or -1. */
int shunt_trust_clean(const char *path, int64_t now, struct shunt_error **err);

/* Records a use of the entry with this key: uses++, last_used = now.
 * Returns 1 when found, 0 when not, -1 on error. */
int shunt_trust_touch(const char *path, const uint8_t key[32], int64_t now,
		      struct shunt_error **err);

/* Builds the decider's view: refs sorted by key, expired entries (expires
 * <= now, when now > 0) skipped. *exes holds the owned strings the refs
 * point at (one slot per ref, NULL allowed). Free both arrays and each
 * exes[i] (as shunt_ctx_free does). */
int shunt_trust_refs(const struct shunt_trust_store *st, int64_t now, struct shunt_trust_ref **refs,
		     char ***exes, size_t *n, struct shunt_error **err);

/* Entry with this binary key, or NULL. */
const struct shunt_trust_entry *shunt_trust_find(const struct shunt_trust_store *st,
						 const uint8_t key[32]);

/* Re-verifies the executable content of a matched entry (the decider only
 * compared the stat fingerprint): 1 when the file hashes to the stored
 * exe_sha256 (or the entry has no exe), 0 when it changed or is gone,
 * -1 on error. */
int shunt_trust_verify_exe(const struct shunt_trust_entry *e, struct shunt_error **err);

/* Convenience: loads path, finds ref's entry and verifies it. 1/0/-1 as
 * above; 0 also when the entry is no longer in the store. */
int shunt_trust_verify_ref(const char *path, const struct shunt_trust_ref *ref,
			   struct shunt_error **err);

/* Appends the whole store as the JSON document described above. */
void shunt_trust_store_json(const struct shunt_trust_store *st, struct shunt_buf *out);

/* Appends one entry as a JSON object. */
void shunt_trust_entry_json(const struct shunt_trust_entry *e, struct shunt_buf *out);

/* Parses a duration "30d", "12h", "90m", "3600s" (or plain seconds) into
 * seconds. Returns -1 when malformed, zero or overflowing. */
long long shunt_trust_parse_duration(const char *s);

#endif
