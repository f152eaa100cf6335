/* Metrics for display: the shared counters plus the last executions from
 * the audit log's tail, rendered as the human summary or stable JSON.
 *
 * JSON (stable field names):
 *   {"total":N,"host":N,"sandbox":N,"prompted":N,"blocked":N,"trusted":N,
 *    "by_risk":{"low":N,"medium":N,"high":N,"critical":N},
 *    "by_runtime":{"process":N,...},   (only runtimes with a count)
 *    "by_source":{"hook":N,"shim":N,"cli":N},
 *    "cache_hits":N,"duration_count":N,"average_duration_ms":X|null,
 *    "reset_time":N|null,
 *    "recent":[{"time":"...","event":"...","action":"...","risk":"...",
 *               "rules":[...],"command":"...","duration_ms":N|null,
 *               "exit_code":N|null,"source":"..."}]}   (oldest first) */
#ifndef SHUNT_METRICS_H
#define SHUNT_METRICS_H

#include <stddef.h>

#include "counters.h"
#include "error.h"

struct shunt_buf;
struct shunt_json;

#define SHUNT_METRICS_RECENT 100

struct shunt_metrics {
	struct shunt_counters c;    /* snapshot (zeroed when no counters file) */
	struct shunt_json **recent; /* parsed audit records, oldest first */
	size_t nrecent;
	size_t skipped; /* corrupt audit lines ignored */
};

/* Copies the counters (c may be NULL) and reads up to nrecent decision/
 * exec records from the audit log at audit_path (NULL: skip). */
int shunt_metrics_collect(const struct shunt_counters *c, const char *audit_path, size_t nrecent,
			  struct shunt_metrics *m, struct shunt_error **err);

void shunt_metrics_free(struct shunt_metrics *m);

/* The aligned human summary (ends with a newline). */
void shunt_metrics_text(const struct shunt_metrics *m, struct shunt_buf *out);

/* The JSON document described above (ends with a newline). */
void shunt_metrics_json(const struct shunt_metrics *m, struct shunt_buf *out);

#endif
