/* The built-in process runner: user, mount, PID, network, IPC, UTS and
 * cgroup namespaces, a fresh pivot_root'ed file system, dropped
 * capabilities, rlimits or cgroup limits, Landlock and seccomp. */
#ifndef SHUNT_PROCESS_H
#define SHUNT_PROCESS_H

#include <stdbool.h>

#include "runner.h"

/* 0 when unprivileged user namespaces can be created here; -1 with *err
 * naming the missing feature and the sysctl that enables it. Forks a
 * short-lived child. */
int shunt_process_probe(struct shunt_error **err);

/* Runs plan->argv in the sandbox, waiting for it (signals from the
 * terminal are forwarded). 0 with *status = exit code (128+N for a
 * signal), 1 when the timeout killed it (*status = 124), -1 with *err
 * (exitcode 125, or 126/127 when the command could not be executed) when
 * the sandbox was not set up: the command never ran. Refuses
 * SYSTEM_WRITE/GODMODE unless plan->accept_weaker_isolation, and network
 * allowlists (no filtering proxy yet). */
int shunt_process_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

/* True when a cache mount of the plan is a non-empty directory on the
 * host; call it before the run to record a cache hit. */
bool shunt_process_cache_hit(const struct shunt_plan *plan);

#endif
