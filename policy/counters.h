/* Execution counters shared by every shunt process and the shim: a small
 * file mapped MAP_SHARED and updated with atomic adds, so counting a host
 * exec costs a few nanoseconds and takes no lock. */
#ifndef SHUNT_COUNTERS_H
#define SHUNT_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

#define SHUNT_COUNTERS_MAGIC   0x53484e54434e5452ULL /* "SHNTCNTR" */
#define SHUNT_COUNTERS_VERSION 1u

struct shunt_counters {
	uint64_t magic;
	uint64_t version;
	uint64_t total;
	uint64_t by_action[4];	/* enum shunt_action */
	uint64_t trusted;	/* host because of a trust entry */
	uint64_t by_risk[4];	/* enum shunt_risk */
	uint64_t by_runtime[8]; /* enum shunt_runtime */
	uint64_t by_source[3];	/* enum shunt_source */
	uint64_t duration_ms_total;
	uint64_t duration_count;
	uint64_t cache_hits;
	uint64_t reset_time; /* unix seconds of the last reset */
	uint64_t pad[32];
};

/* Maps the counters file (default $XDG_STATE_HOME/shunt/counters.bin when
 * path is NULL), creating it 0600 when create is true. Returns NULL when it
 * cannot (the caller just does not count). Uses only open/fstat/ftruncate/
 * mmap: async-signal-safe, no malloc when path is given. */
struct shunt_counters *shunt_counters_map(const char *path, bool create);

/* Adds one execution. duration_ms < 0 means unknown. Lock-free and
 * async-signal-safe. NULL c is a no-op. */
void shunt_counters_record(struct shunt_counters *c, enum shunt_action action, enum shunt_risk risk,
			   enum shunt_runtime runtime, enum shunt_source source, bool trusted,
			   long long duration_ms, bool cache_hit);

/* n host execs the shim decided (untrusted, no duration): the same counts
 * n calls of shunt_counters_record add. Inline and lock-free, so the
 * interposer's exec path needs nothing of the policy library. NULL c is
 * a no-op. */
static inline void shunt_counters_record_host(struct shunt_counters *c, enum shunt_risk risk,
					      uint64_t n)
{
	if (!c || !n)
		return;
	__atomic_fetch_add(&c->total, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->by_action[SHUNT_ACTION_HOST], n, __ATOMIC_RELAXED);
	if ((unsigned)risk < sizeof(c->by_risk) / sizeof(c->by_risk[0]))
		__atomic_fetch_add(&c->by_risk[risk], n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->by_runtime[SHUNT_RUNTIME_NONE], n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->by_source[SHUNT_SOURCE_SHIM], n, __ATOMIC_RELAXED);
}

/* Adds a duration for an execution already recorded (e.g. after a sandbox
 * run finishes). */
void shunt_counters_add_duration(struct shunt_counters *c, long long duration_ms);

/* Zeroes all counts (keeps magic/version) and stamps reset_time. */
void shunt_counters_reset(struct shunt_counters *c);

/* Unmaps (NULL-safe). */
void shunt_counters_unmap(struct shunt_counters *c);

#endif
