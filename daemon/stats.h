/* shuntd's own metrics: request counters and the start-latency
 * histogram by runtime, in a MAP_SHARED page the per-connection children
 * count into. The pool's gauges are pool.h's. */
#ifndef SHUNT_STATS_H
#define SHUNT_STATS_H

#include "buf.h"
#include "error.h"

/* Maps the shared page; in the daemon, before it forks. 0 or -1. */
int shunt_stats_init(struct shunt_error **err);

/* One request received / refused with 401 / refused otherwise. */
void shunt_stats_request(void);
void shunt_stats_unauthorized(void);
void shunt_stats_rejected(void);

/* A run handed to runtime rt's runner secs after its request. */
void shunt_stats_observe(int rt, double secs);

/* CLOCK_MONOTONIC in seconds. */
double shunt_stats_now(void);

/* Appends the counters and histogram in Prometheus text format. */
void shunt_stats_text(struct shunt_buf *b);

#endif
