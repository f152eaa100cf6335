/* Turning a decision into what happens: shared by shunt exec, the shim's
 * gate, and the shell hooks. */
#ifndef SHUNT_ACT_H
#define SHUNT_ACT_H

#include <stdbool.h>

#include "context.h"

struct shunt_act_req {
	const char *line; /* -c LINE, or NULL */
	char **argv;	  /* ARGV (NULL-terminated), or NULL */
	const char *exe;  /* resolved executable for argv (gate), or NULL */
	enum shunt_source source;
	bool dry_run; /* --dry-run or SHUNT_DRY_RUN=1 */
	bool json;
	const char *shell;  /* shell for -c lines on the host (default /bin/sh) */
	bool accept_weaker; /* --i-accept-weaker-isolation */
	bool no_exec;	    /* run host commands as a child instead of exec() (tests/hooks) */
	bool no_daemon;	    /* --no-daemon: never hand sandboxed runs to shuntd */
	/* --decided: the line hook's decision for this command (never host),
	 * acted on instead of deciding again; NULL: decide here */
	const struct shunt_decision *decided;
};

/* Decides and acts. Sandboxed runs go to shuntd over its unix socket
 * (with this process's stdio) when it answers, unless r->no_daemon or
 * SHUNT_NO_DAEMON=1; else, or when it cannot serve them, they run here.
 * Returns the exit code to use: the command's own,
 * 126 when blocked or declined, 125 when a sandbox could not be set up
 * (the command did not run), 0 for a dry run. For host commands without
 * no_exec it does not return on success (the command replaces shunt).
 * -1 with *err on usage/config errors. */
int shunt_act(struct shunt_ctx *ctx, const struct shunt_act_req *r, struct shunt_error **err);

struct shunt_buf;

/* Appends " [rule, rule]" naming the rules that matched d (nothing when
 * none did): the notices' and the agents' answers' suffix. */
void shunt_act_rules_suffix(struct shunt_buf *b, const struct shunt_decision *d);

/* The whole of `shunt exec` (gate=false) and `shunt gate` (gate=true:
 * also takes --exe PATH, source defaults to shim): parses options and the
 * command, loads the context and acts. Returns like shunt_act. */
int shunt_exec_main(int argc, char **argv, bool gate, struct shunt_error **err);

#endif
