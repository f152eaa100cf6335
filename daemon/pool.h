/* shuntd's warm pools: sandboxes booted ahead of their command, used once
 * and replaced in the background. The daemon process keeps them (it owns
 * the VMMs and their fds); its per-connection children inherit the fds and
 * claim a ready sandbox through a table in shared memory. */
#ifndef SHUNT_POOL_H
#define SHUNT_POOL_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"
#include "runner.h"

/* Sets up the shared table with the configured sizes (by enum
 * shunt_runtime; microvm and gvisor keep warm sandboxes). In the daemon,
 * before it forks. 0, or -1 with *err. */
int shunt_pool_init(const unsigned sizes[7], struct shunt_error **err);

/* In the daemon's loop: retires claimed or dead sandboxes and boots
 * replacements (one at a time). Returns how long the loop may sleep, in
 * ms, before the next tick is due. */
int shunt_pool_tick(void);

/* True when pid was a pool sandbox (VMM, `runsc run`) the daemon just
 * reaped with wait status wstatus, not a client's handler. */
bool shunt_pool_reaped(pid_t pid, int wstatus);

/* Stops every pooled sandbox (daemon shutdown). */
void shunt_pool_stop(void);

/* In a connection's child: runs plan with a warm sandbox when one is
 * ready for it (*used = true; result as from struct shunt_runner.run),
 * else asks the daemon to warm some for next time and returns with
 * *used = false: the caller starts it cold, which this never delays.
 * With *cold set the caller calls shunt_pool_cold_done after that cold
 * start (the daemon holds refills while it runs). */
int shunt_pool_run(const struct shunt_plan *plan, bool *used, bool *cold, int *status,
		   struct shunt_error **err);

/* A cold start that shunt_pool_run flagged has finished. */
void shunt_pool_cold_done(void);

/* Appends the /v1/pools JSON document. */
void shunt_pool_json(struct shunt_buf *out);

/* Appends the pool gauges and counters in Prometheus text format. */
void shunt_pool_metrics(struct shunt_buf *out);

#endif
