/* Resource limits for sandboxed commands: cgroup v2 (delegated) or v1
 * (memory/pids/cpu hierarchies, as root), with rlimits as the fallback. */
#ifndef SHUNT_CGROUP_H
#define SHUNT_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct shunt_cgroup {
	char path[4096]; /* v2: the cgroup dir; v1: the memory hierarchy dir */
	int version;	 /* 1 or 2; 0 when not set up */
	bool active;
	/* v1 only: the other hierarchies created ("" when not used). */
	char pids_path[4096];
	char cpu_path[4096];
	int slot;    /* N of shunt-slot-N */
	int lock_fd; /* holds flock(LOCK_EX) on the slot while in use; -1 when none */
};

/* Claims a free reusable cgroup slot "shunt-slot-N" (created on first
 * use, locked until shunt_cgroup_destroy or until this process dies) and
 * sets memory.max = mem_bytes (swap 0), cpu quota = cpus cores, pids.max
 * = pids (0 = unlimited). Returns 0 when active, 1 when cgroups are not
 * writable here (caller uses shunt_rlimits_apply; cg->active is false),
 * -1 on a real error. */
int shunt_cgroup_setup(struct shunt_cgroup *cg, unsigned long long mem_bytes, double cpus,
		       unsigned pids, struct shunt_error **err);

/* Moves pid into the cgroup (all hierarchies). No-op (0) when not active.
 * Async-signal-safe (open/write/close only), so a child may attach
 * itself with getpid(); err may then be NULL. */
int shunt_cgroup_attach(struct shunt_cgroup *cg, pid_t pid, struct shunt_error **err);

/* Opens, for each hierarchy of cg, the file through which a process
 * moves itself in: v1 "tasks" (one thread: no global threadgroup lock,
 * so no wait for an RCU grace period, which costs milliseconds on some
 * machines), v2 "cgroup.procs". Unused entries are -1. Call before
 * clone: a child in a new user namespace then writes with the opener's
 * credentials. 0 when not active or done, -1 with *err. */
int shunt_cgroup_open_self(const struct shunt_cgroup *cg, int fds[3], struct shunt_error **err);

/* In a single-threaded child: moves the calling process into the cgroup
 * through the fds from shunt_cgroup_open_self, and closes them.
 * Async-signal-safe. 0, or -errno of the first failure. */
int shunt_cgroup_enter_self(int fds[3]);

/* Kills whatever is left in the cgroup and releases the slot (the
 * directory stays for reuse). NULL-safe, idempotent; never fails. */
void shunt_cgroup_destroy(struct shunt_cgroup *cg);

/* In the child: RLIMIT_DATA = mem_bytes (writable private memory, not
 * reserved address space; raised to a floor of 256 MiB; 0 = unlimited),
 * RLIMIT_NPROC = pids (per real uid, so it counts the user's other
 * processes too, even inside a user namespace), RLIMIT_CPU =
 * cpu_seconds (0 = unlimited), RLIMIT_CORE = 0. Async-signal-safe when
 * err is NULL. */
int shunt_rlimits_apply(unsigned long long mem_bytes, unsigned cpu_seconds, unsigned pids,
			struct shunt_error **err);

#endif
