/* shunt exec: decide, then run on the host, sandbox, prompt or block. */
#include <stdio.h>
#include <string.h>

#include "act.h"
#include "args.h"
#include "commands.h"
#include "split.h"

static const char exec_usage[] =
    "usage: shunt exec [--source hook|shim|cli] [--shell PATH] [--dry-run] [--json]\n"
    "                  [--i-accept-weaker-isolation] [--no-daemon]\n"
    "                  [--decided SPEC [--why TEXT]] (-c LINE | -- ARGV...)\n"
    "Decides what should happen to the command, then does it:\n"
    "  host     runs it untouched (same terminal, signals, exit code)\n"
    "  sandbox  runs it in the sandbox runner the decision names, with a one-line notice\n"
    "  prompt   asks on the terminal: y once, r remember, s sandbox, d details, n no\n"
    "  block    refuses (exit 126) and says how to allow it\n"
    "When shuntd answers on its socket, a sandboxed command runs there, with this\n"
    "process's stdin, stdout and stderr (a pipe or the terminal); the daemon decides\n"
    "it again with its own policy and may use a warm sandbox from its pool. Prompts\n"
    "stay here. Without a daemon, or when it cannot serve the command, it runs in\n"
    "this process; --no-daemon (or SHUNT_NO_DAEMON=1) always runs it here.\n"
    "--dry-run (or SHUNT_DRY_RUN=1) prints the plan of a command that would be\n"
    "sandboxed, prompted or blocked, and exits 0 without running it. Host commands\n"
    "still run. Exit codes: the command's own; 126 blocked or declined; 125 the\n"
    "sandbox could not be set up (the command did not run).\n"
    "--decided ACTION:RUNTIME:PROFILE:RISK:SCORE:RULES carries a decision already made\n"
    "(by the line hook, for one simple command of a line): it is acted on, not made\n"
    "again. Only sandbox, prompt and block are accepted.\n";

/* Options exec and gate share. 1 if consumed, 0 if not, -1 on error. */
static int exec_parse_option(int argc, char **argv, int *i, struct shunt_act_req *r, bool gate,
			     struct shunt_error **err)
{
	const char *a = argv[*i];
	if (gate && strcmp(a, "--exe") == 0 && *i + 1 < argc) {
		r->exe = argv[++*i];
	} else if (strcmp(a, "--dry-run") == 0) {
		r->dry_run = true;
	} else if (strcmp(a, "--json") == 0) {
		r->json = true;
	} else if (strcmp(a, "--no-daemon") == 0) {
		r->no_daemon = true;
	} else if (strcmp(a, "--i-accept-weaker-isolation") == 0) {
		r->accept_weaker = true;
	} else if (strcmp(a, "--shell") == 0) {
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "--shell needs a path");
		r->shell = argv[++*i];
	} else if (strcmp(a, "--source") == 0) {
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "--source needs hook, shim or cli");
		int src = shunt_source_parse(argv[++*i]);
		if (src < 0)
			return shunt_args_usage(err, "unknown source '%s' (hook, shim, cli)",
						argv[*i]);
		r->source = (enum shunt_source)src;
	} else {
		return 0;
	}
	return 1;
}

int shunt_exec_main(int argc, char **argv, bool gate, struct shunt_error **err)
{
	struct shunt_act_req r = {0};
	r.source = gate ? SHUNT_SOURCE_SHIM : SHUNT_SOURCE_CLI;
	struct shunt_cmd_input in = {0};
	struct shunt_decision decided;
	const char *why = NULL;
	for (int i = 1; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (!gate && strcmp(argv[i], "--decided") == 0 && i + 1 < argc) {
			if (shunt_split_spec_parse(argv[++i], &decided, err) < 0)
				return -1;
			r.decided = &decided;
			continue;
		}
		if (!gate && strcmp(argv[i], "--why") == 0 && i + 1 < argc) {
			why = argv[++i];
			continue;
		}
		t = exec_parse_option(argc, argv, &i, &r, gate, err);
		if (t < 0)
			return -1;
		if (t == 0)
			return shunt_args_usage(err, "unknown option '%s' (see shunt exec --help)",
						argv[i]);
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "nothing to run: give -c LINE or -- ARGV...");
	if (why && !r.decided)
		return shunt_args_usage(err, "--why goes with --decided");
	if (why)
		snprintf(decided.why, sizeof(decided.why), "%s", why);
	r.line = in.line;
	r.argv = in.argv;
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, 0, err) < 0)
		return -1;
	/* the gate stays quiet: it runs for every re-routed exec */
	for (size_t i = 0; !gate && i < ctx.cfg.warnings.n; i++)
		fprintf(stderr, "shunt: warning: %s\n", ctx.cfg.warnings.v[i]);
	int rc = shunt_act(&ctx, &r, err);
	shunt_ctx_free(&ctx);
	return rc;
}

int shunt_cmd_exec(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(exec_usage, stdout);
		return 0;
	}
	return shunt_exec_main(argc, argv, false, err);
}
