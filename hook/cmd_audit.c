/* shunt audit flush: spool new audit records and ship them to
 * audit.forward; a record leaves the spool only after a 2xx. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "audit.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "forward.h"

static const char help[] =
    "usage: shunt audit flush\n"
    "\n"
    "Moves audit records written since the last flush into the spool directory\n"
    "($XDG_STATE_HOME/shunt/spool, batches of audit.forward.batch records), then\n"
    "POSTs each batch as JSON lines to audit.forward.url (bearer token from\n"
    "audit.forward.token_file) and deletes it only after a 2xx answer. A collector\n"
    "that is down or failing loses nothing: the next flush sends what is left, in\n"
    "order. The spool is kept under audit.forward.spool_max (default 64M) by\n"
    "dropping its oldest batches; the dropped records are counted, reported here\n"
    "and in shuntd's /metrics (shuntd_audit_dropped_total). Forwarding never runs\n"
    "on the shim's path.\n"
    "\n"
    "Exit status: 0 when the spool is empty afterwards, 1 when batches remain,\n"
    "2 for config errors.\n";

int shunt_cmd_audit(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "flush") != 0)
		return shunt_args_usage(err, "usage: shunt audit flush");
	/* the loader finds the workspace and honours SHUNT_NO_SYSTEM_CONFIG */
	struct shunt_config cfg;
	if (shunt_config_load(&cfg, NULL, err) < 0)
		return -1;
	if (!cfg.audit_forward.url) {
		shunt_config_free(&cfg);
		shunt_error_set(err, EINVAL, "audit.forward.url is not configured");
		(*err)->exitcode = 2;
		return -1;
	}
	_cleanup_free_ char *audit = shunt_audit_path();
	_cleanup_free_ char *spool = shunt_forward_spool_dir();
	if (!audit || !spool) {
		shunt_config_free(&cfg);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	struct shunt_forward_stats st = {0};
	if (shunt_forward_spool(audit, spool, cfg.audit_forward.batch, &st, err) < 0) {
		shunt_config_free(&cfg);
		return shunt_error_prefix(err, "spooling: ");
	}
	if (shunt_forward_cap(spool, cfg.audit_forward.spool_max, &st, err) < 0) {
		shunt_config_free(&cfg);
		return shunt_error_prefix(err, "capping the spool: ");
	}
	struct shunt_error *ferr = NULL;
	int rc = shunt_forward_flush(&cfg.audit_forward, spool, &st, &ferr);
	shunt_config_free(&cfg);
	if (rc < 0) {
		*err = ferr;
		return -1;
	}
	printf("spooled %zu, sent %zu records in %zu batches, %zu batches pending\n", st.spooled,
	       st.sent, st.batches, st.pending);
	if (st.dropped_total)
		printf("dropped %zu records now, %llu in all: the spool was over "
		       "audit.forward.spool_max (the collector was unreachable too long)\n",
		       st.dropped, st.dropped_total);
	if (rc == 1) {
		if (ferr)
			fprintf(stderr, "shunt audit: collector unreachable: %s; kept in %s\n",
				ferr->msg, spool);
		else
			fprintf(stderr, "shunt audit: collector answered HTTP %ld; kept in %s\n",
				st.last_status, spool);
	}
	shunt_error_free(&ferr);
	return rc;
}
