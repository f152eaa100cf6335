/* Audit forwarding: new audit records are cut into batch files in a
 * spool directory, and each batch file is deleted only after the
 * collector answered 2xx. Never used on the shim's path. */
#ifndef SHUNT_FORWARD_H
#define SHUNT_FORWARD_H

#include <stddef.h>

#include "config.h"
#include "error.h"

struct shunt_forward_stats {
	size_t spooled;			  /* records newly moved into the spool */
	size_t sent;			  /* records acknowledged by the collector */
	size_t batches;			  /* batch files acknowledged */
	size_t pending;			  /* batch files still in the spool */
	long last_status;		  /* HTTP status of the last failed attempt, 0 = none */
	size_t dropped;			  /* records dropped now to keep the spool under its cap */
	unsigned long long dropped_total; /* ever dropped (spool_dir/dropped) */
};

/* Default spool directory: $XDG_STATE_HOME/shunt/spool (malloc'd). */
char *shunt_forward_spool_dir(void);

/* Moves whole lines appended to audit_path since the last call into
 * spool batch files of at most batch records (cursor kept in
 * spool_dir/cursor: inode, offset, next sequence; a rotation to
 * audit_path.1 is followed). Holds the spool lock. -1 with *err on I/O
 * errors; the cursor only advances after the batch file is on disk. */
int shunt_forward_spool(const char *audit_path, const char *spool_dir, unsigned batch,
			struct shunt_forward_stats *st, struct shunt_error **err);

/* Keeps the spool's batch files under cap bytes by deleting the oldest
 * (a collector that stays down must not fill the disk), adding their
 * records to the persistent count in spool_dir/dropped. Holds the spool
 * lock. 0 (st->dropped, st->dropped_total), or -1 with *err. */
int shunt_forward_cap(const char *spool_dir, unsigned long long cap, struct shunt_forward_stats *st,
		      struct shunt_error **err);

/* Records ever dropped from spool_dir (0 when none or unreadable). */
unsigned long long shunt_forward_dropped(const char *spool_dir);

/* Sends spool batch files oldest first in f->format (jsonl: NDJSON as
 * spooled; loki: one push-API stream; elasticsearch: _bulk NDJSON with an
 * _id per record, and a 2xx whose body says "errors":true counts as a
 * failure; splunk-hec: HEC event objects, "Authorization: Splunk") and
 * deletes each after a 2xx. Stops at the first failure, so order is
 * kept and nothing is lost. Returns 0 when the spool is empty afterwards,
 * 1 when batches remain (st->last_status says why), -1 with *err on
 * local errors. */
int shunt_forward_flush(const struct shunt_audit_forward *f, const char *spool_dir,
			struct shunt_forward_stats *st, struct shunt_error **err);

#endif
