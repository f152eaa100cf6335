/* The cached exec path: a host decision the shim made before, found again
 * without the lexer, the rules or the core's code.
 *
 * Both libraries build fast.c. The interposer runs it in every forked
 * child that execs, before anything else: a forked child faults in each
 * page of file-backed memory it touches (fork copies no page tables for
 * those), and in a VM each such fault costs about as much as the rest of
 * the check. So this path touches only the interposer's own text, memory
 * its parent wrote (copied at fork) and the shared cache (one fault; the
 * counters file only when it moves counts others left). No string
 * constants, no libc, no errno: raw syscalls and small loops. The core
 * fills the cache and publishes its state here. */
#ifndef SHUNT_PRELOAD_FAST_H
#define SHUNT_PRELOAD_FAST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "counters.h"

/* Which snapshot decided: a cache key starts with it, so a replaced
 * snapshot misses every entry. */
struct shunt_fast_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	int32_t status; /* 0 file, -ENOENT none (embedded default), else unusable */
	uint8_t have_id;
};

/* Host decisions shared by a process and every child it forks (anonymous
 * MAP_SHARED, made by the core in the parent). Each entry is a seqlock
 * that never waits. 64 KiB, aligned to 64 KiB: the kernel's fault-around
 * maps every page of it that exists with one fault. */
#define SHUNT_FAST_ENTRIES 127
#define SHUNT_FAST_KEY_MAX 496

struct shunt_fast_entry {
	atomic_uint seq; /* odd while written; 0 never written */
	uint16_t len;
	uint8_t risk;
	uint8_t pad;
	uint64_t hash;
	unsigned char key[SHUNT_FAST_KEY_MAX];
};

struct shunt_fast_cache {
	/* Host execs of cached decisions, by risk, not yet in the counters
	 * file: a forked child counts here, in memory it touches anyway,
	 * instead of dirtying a page of that file (a write fault and, on most
	 * file systems, a timestamp update per child). Processes sharing the
	 * cache move them into the file (shunt_fast_flush): at each fork, at
	 * exit and before their own exec. */
	_Atomic uint64_t pending[4];
	/* forks of the processes sharing it (the interposer's prefork) */
	_Atomic uint64_t forks;
	unsigned char pad[sizeof(struct shunt_fast_entry) - 5 * sizeof(uint64_t)];
	struct shunt_fast_entry e[SHUNT_FAST_ENTRIES];
};

#define SHUNT_FAST_CACHE_SIZE sizeof(struct shunt_fast_cache)
/* the parent's fork work (snapshot check, moving counts) runs at every
 * this-many-th fork once the cache exists */
#define SHUNT_FAST_PREFORK_EVERY 16
/* published once mapping the cache or the counters failed */
#define SHUNT_FAST_NONE ((void *)1)

/* What the core publishes for the interposer's exec path. It lives in the
 * interposer's .data; the pointers lead to memory the core wrote in the
 * parent (its .bss, anonymous pages), which a forked child reads without
 * a fault. */
struct shunt_fast {
	_Atomic(struct shunt_fast_cache *) cache;  /* NULL until made */
	_Atomic(const struct shunt_fast_id *) id;  /* of the snapshot in use */
	_Atomic(struct shunt_counters *) counters; /* NULL: not tried yet */
	int (*execve)(const char *, char *const[], char *const[]);
	char ***environ;
	const char *snap_path;	       /* "" when there is none */
	const char *self_path;	       /* the interposer's file */
	const char *shim;	       /* the LD_PRELOAD value put back into envs */
	const char (*saved_env)[1024]; /* SHUNT_* present at load time */
	size_t nsaved_env;
	bool inert; /* loaded into shunt itself: everything is host */
};

struct shunt_fast_key {
	unsigned char b[SHUNT_FAST_KEY_MAX];
	size_t n;
	bool overflow;
};

/* newfstatat(2) without libc or errno: 0 or -errno. */
int shunt_fast_stat(const char *path, struct stat *st, bool nofollow);

/* getcwd(2) without libc or errno; true only for an absolute path. */
bool shunt_fast_getcwd(char *buf, size_t cap);

/* Does id describe the snapshot file as stat found it (rc: its result,
 * 0 or -errno)? */
bool shunt_fast_id_current(const struct shunt_fast_id *id, int rc, const struct stat *st);

/* True when no argument can be read relative to the working directory or
 * HOME: the lexer rewrites only words that start with '/' or name HOME
 * (policy/lex.c put_path), and nothing else of the decision reads the
 * cwd, so such an argv is decided the same in every directory. */
bool shunt_fast_path_free(char *const argv[]);

/* Length of the workspace prefix of cwd: the nearest ancestor holding
 * .git, else cwd itself. cwd (capacity cap) is scratch for the probes
 * and is given back unchanged. */
size_t shunt_fast_workspace_len(char *cwd, size_t cap);

/* The cache key of an argv decision: every input shunt_decide reads.
 * invoked: the path as exec'd when it is a symlink to exe (the decision
 * reads both names, policy/exec_views.h), else NULL. cwd NULL means a
 * path-free argv (shunt_fast_path_free). */
void shunt_fast_key(struct shunt_fast_key *k, const struct shunt_fast_id *id, const char *exe,
		    const char *invoked, char *const argv[], const char *cwd, size_t wslen,
		    const char *home);

/* FNV-1a of the key. */
uint64_t shunt_fast_hash(const struct shunt_fast_key *k);

/* The cached risk of a host decision for k, or -1. Compared in full: a
 * hash collision is a miss, never a wrong answer. */
int shunt_fast_lookup(struct shunt_fast_cache *c, const struct shunt_fast_key *k, uint64_t h);

/* Remembers a host decision; skips when another writer holds the entry. */
void shunt_fast_store(struct shunt_fast_cache *c, const struct shunt_fast_key *k, uint64_t h,
		      int risk);

/* Moves the pending counts of c into the counters file (dropped when
 * counters is NULL or SHUNT_FAST_NONE: nothing to count into). True when
 * there were any. */
bool shunt_fast_flush(struct shunt_fast_cache *c, struct shunt_counters *counters);

/* getenv("HOME") over an explicit environment. */
const char *shunt_fast_env_home(char *const *envp);

/* envp already carries the shim and the SHUNT_* variables it had at load
 * time, so a host exec may pass it on untouched. */
bool shunt_fast_env_intact(const struct shunt_fast *f, char *const *envp);

/* execve of an absolute path whose host decision is cached: counts it
 * and calls the real execve with the decision's record for the command
 * (SHUNT_DECIDED, policy/inherit.h) in its environment, setting *rc.
 * False, with errno untouched, when the core has to decide. */
bool shunt_fast_exec(const struct shunt_fast *f, const char *path, char *const argv[],
		     char *const envp[], int *rc);

#endif
