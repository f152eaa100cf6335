/* The gVisor (runsc) runner. */
#ifndef SHUNT_GVISOR_H
#define SHUNT_GVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "runner.h"

/* 0 when runsc is installed; -1 with how to install it. */
int shunt_gvisor_probe(struct shunt_error **err);

/* Runs the plan in a fresh OCI bundle under runsc; *status is the
 * command's exit code (128+N for a signal). Returns 1 with *status 124 when the timeout
 * killed it. -1 when the
 * sandbox could not be set up: the command did not run. */
int shunt_gvisor_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

/* Removes the bundles and containers of runs whose shunt died; returns
 * how many it removed. */
int shunt_gvisor_sweep(const char *runsc, const char *bundles, const char *state);

/* Appends the config.json the plan would produce (for --dry-run). */
int shunt_gvisor_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			  struct shunt_error **err);

/* True when runsc is installed AND runs ordinary commands correctly here
 * (a functional probe, cached per runsc binary in $XDG_CACHE_HOME/shunt).
 * When false, why (if given) says what failed and what to do.
 * SHUNT_GVISOR_USABLE=1|0 overrides (tests). */
bool shunt_gvisor_usable(char *why, size_t whylen);

#endif
