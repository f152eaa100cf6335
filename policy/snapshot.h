/* The shim's precompiled policy snapshot: a read-only file holding a
 * compiled struct shunt_policy (settings, allow/deny globs, rules with
 * their PCRE2 codes serialised, sorted trust refs) that the shim maps and
 * uses without YAML, regex compilation or malloc.
 *
 * File layout (all integers little-endian host order, offsets from the
 * start of the file):
 *   struct shunt_snap_header            fixed 256 bytes
 *   allow[]    uint32 string offsets    (nallow)
 *   deny[]     uint32 string offsets    (ndeny)
 *   rules[]    struct shunt_snap_rule   (nrules)
 *   programs[] uint32 string offsets    (nprograms: every rule's programs
 *                                        and command: strings)
 *   trust[]    struct shunt_snap_trust  (ntrust, sorted by key)
 *   regex      pcre2_serialize_encode blob of every rule's code
 *   strings    NUL-terminated strings; offsets are relative to its start
 * The checksum covers the whole file with the checksum field zeroed, so
 * a flipped bit anywhere is detected. It is a fast 4-lane
 * multiply-xor hash, not SHA-256: every forked child that execs loads the
 * snapshot, and it only guards against corruption (whoever can write the
 * file can also rewrite the config it comes from). */
#ifndef SHUNT_SNAPSHOT_H
#define SHUNT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"

#define SHUNT_SNAP_MAGIC    "SHNTSNAP"
#define SHUNT_SNAP_VERSION  3u
#define SHUNT_SNAP_NONE	    UINT32_MAX /* "no string" / "no regex" */
#define SHUNT_SNAP_MAX_SIZE (64u << 20)

struct shunt_snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t total_size;
	char pcre2_version[32]; /* PCRE2_CONFIG_VERSION of the writer */
	uint64_t checksum;	/* shunt_snapshot_hash of the file with this field zeroed */
	uint8_t pad[24];
	uint32_t mode, level, non_interactive, on_error, runtime;
	uint32_t profile_runtime[4];
	uint32_t gvisor_available;
	uint32_t nallow, ndeny, nrules, nprograms, ntrust, nregex;
	uint64_t off_allow, off_deny, off_rules, off_programs, off_trust;
	uint64_t off_regex, regex_size, off_strings, strings_size;
	uint64_t inputs; /* which config layers it was built from (0: unknown) */
	uint8_t reserved[256 - 8 - 4 - 4 - 8 - 32 - 32 - 16 * 4 - 10 * 8];
};

struct shunt_snap_rule {
	uint32_t id, description, pattern; /* string offsets */
	uint32_t regex;			   /* index into the regex blob, or SHUNT_SNAP_NONE */
	uint32_t programs, nprograms;	   /* slice of programs[] */
	int32_t risk, profile, action, scope;
	uint32_t unless_installed; /* string offset or SHUNT_SNAP_NONE */
	int32_t effect;		   /* enum shunt_rule_effect */
	/* command: conditions; their option and subcommand strings are a
	 * slice of programs[] (sub, then any, all, none) */
	uint32_t cmd_flags; /* 1 present, 2 unless_readonly */
	uint32_t cmd_strs, nsub, nany, nall, nnone;
	uint32_t operands;	 /* string offset or SHUNT_SNAP_NONE */
	uint32_t operands_regex; /* index into the regex blob, or SHUNT_SNAP_NONE */
};

struct shunt_snap_trust {
	uint8_t key[32];
	uint8_t scope;
	uint8_t pad[3];
	uint32_t exe; /* string offset or SHUNT_SNAP_NONE */
	int64_t expires;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* A loaded snapshot. policy points into memory the snapshot owns: the
 * file mapping (strings) and one anonymous region (arrays, decoded
 * PCRE2 codes). */
struct shunt_snapshot {
	struct shunt_policy policy;
	void *region; /* anonymous mapping: the file's bytes, arrays and decoded codes */
	size_t region_len;
	uint64_t dev, ino, size; /* identity of the file it came from */
	int64_t mtime_ns;
};

/* Serialises p into a snapshot and writes it atomically to path (0600),
 * creating the parent directory (0700). Rules whose code is NULL keep no
 * regex and never match. Uses malloc; not for the shim. */
int shunt_snapshot_write(const struct shunt_policy *p, const char *path, struct shunt_error **err);

/* shunt_snapshot_write, recording inputs (a hash of the set of config
 * layers the policy was built from, see shunt_snapshot_inputs_match). */
int shunt_snapshot_write_stamped(const struct shunt_policy *p, const char *path, uint64_t inputs,
				 struct shunt_error **err);

/* Whether the snapshot at path is in this build's format and was written
 * from the same set of inputs. Reads the header only (no checksum check:
 * loading does that). A layer set that changed (another XDG_CONFIG_HOME,
 * SHUNT_CONFIG) makes a snapshot stale even when no file is newer. */
bool shunt_snapshot_inputs_match(const char *path, uint64_t inputs);

/* Same as shunt_snapshot_write but returns the serialised bytes (malloc'd,
 * caller frees) instead of writing them. */
int shunt_snapshot_encode(const struct shunt_policy *p, void **out, size_t *len,
			  struct shunt_error **err);

/* Maps path (open/fstat/mmap MAP_PRIVATE PROT_READ, O_CLOEXEC), validates
 * and decodes it into *out. Returns 0, or a negative errno: -ENOENT
 * missing, -EBADMSG corrupt/truncated/bad checksum, -EPROTO wrong format
 * or PCRE2 version, -ENOMEM, or another open/mmap error. Never mallocs
 * (PCRE2 decodes into an anonymous mmap region), takes no lock,
 * async-signal-safe; safe in a vfork child only if the caller accepts the
 * mappings it leaves behind. On error nothing stays mapped. The file must
 * be replaced by rename, never truncated in place (a mapping of a
 * truncated file faults). */
int shunt_snapshot_load(const char *path, struct shunt_snapshot *out);

/* Like shunt_snapshot_load over bytes already in memory; data must be
 * 8-byte aligned and outlive the snapshot. verify=false skips only the
 * checksum (for the default snapshot embedded in the shim's own read-only
 * data); every offset, count and enum is still bounds-checked. */
int shunt_snapshot_load_mem(const void *data, size_t len, bool verify, struct shunt_snapshot *out);

/* Unmaps what a successful load mapped. Only when no thread can still be
 * using out->policy. NULL-safe. */
void shunt_snapshot_unload(struct shunt_snapshot *s);

/* The snapshot checksum over n bytes (64-bit, not cryptographic).
 * Async-signal-safe. */
uint64_t shunt_snapshot_hash(const void *data, size_t n);

/* A short static description of a load error code. Async-signal-safe. */
const char *shunt_snapshot_strerror(int code);

/* The snapshot path: $SHUNT_SNAPSHOT, else $XDG_STATE_HOME/shunt/policy.snap.
 * malloc'd, or NULL on OOM. */
char *shunt_snapshot_path(void);

/* Rewrites the snapshot at shunt_snapshot_path() from p when it is
 * missing, unreadable, or older than any of the input files (config
 * layers, rule files, trust store; missing inputs are ignored). Returns 1
 * when it wrote, 0 when up to date, -1 with *err on failure. */
int shunt_snapshot_refresh(const struct shunt_policy *p, const char *const *inputs, size_t ninputs,
			   struct shunt_error **err);

#endif
