/* shunt metrics show [--json] | reset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "counters.h"
#include "metrics.h"

static const char usage_text[] =
    "usage: shunt metrics [show] [--json]\n"
    "       shunt metrics reset\n"
    "\n"
    "show: totals for host, sandbox, prompted, blocked and trusted; the split\n"
    "by risk, runtime and source; cache hits; average duration; and the last\n"
    "100 executions from the audit log (--json lists all of them; the JSON\n"
    "field names are stable, see policy/metrics.h).\n"
    "reset: zeroes the counters (the audit log is kept).\n"
    "Counters: $XDG_STATE_HOME/shunt/counters.bin (SHUNT_COUNTERS overrides).\n";

static int metrics_show(bool json, struct shunt_error **err)
{
	struct shunt_counters *c = shunt_counters_map(NULL, false);
	_cleanup_free_ char *audit = shunt_audit_path();
	struct shunt_metrics m;
	_cleanup_error_ struct shunt_error *merr = NULL;
	if (shunt_metrics_collect(c, audit, SHUNT_METRICS_RECENT, &m, &merr) < 0) {
		/* the counters alone are still worth showing */
		fprintf(stderr, "shunt metrics: warning: %s\n", merr->msg);
		shunt_metrics_collect(c, NULL, 0, &m, NULL);
	}
	shunt_counters_unmap(c);
	if (m.skipped)
		fprintf(stderr, "shunt metrics: warning: skipped %zu corrupt audit line%s\n",
			m.skipped, m.skipped == 1 ? "" : "s");
	struct shunt_buf b = {0};
	if (json)
		shunt_metrics_json(&m, &b);
	else
		shunt_metrics_text(&m, &b);
	shunt_metrics_free(&m);
	if (b.oom) {
		shunt_buf_free(&b);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	fwrite(b.data, 1, b.len, stdout);
	shunt_buf_free(&b);
	return 0;
}

int shunt_cmd_metrics(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	const char *sub = "show";
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (i == 1 && (strcmp(argv[i], "show") == 0 || strcmp(argv[i], "reset") == 0))
			sub = argv[i];
		else
			return shunt_args_usage(err, "unexpected argument '%s' (see --help)",
						argv[i]);
	}
	if (strcmp(sub, "show") == 0)
		return metrics_show(json, err);
	if (json)
		return shunt_args_usage(err, "metrics reset takes no --json");
	struct shunt_counters *c = shunt_counters_map(NULL, true);
	if (!c)
		return shunt_error_set(err, EIO,
				       "reset: cannot open or create the counters file "
				       "($XDG_STATE_HOME/shunt/counters.bin or $SHUNT_COUNTERS)");
	unsigned long long before = __atomic_load_n(&c->total, __ATOMIC_RELAXED);
	shunt_counters_reset(c);
	shunt_counters_unmap(c);
	printf("metrics reset: counters zeroed (%llu execution%s were recorded)\n", before,
	       before == 1 ? "" : "s");
	return 0;
}
