/* shunt trust list|add|remove|clean: manage remembered approvals. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "agent.h"
#include "commands.h"
#include "context.h"
#include "lex.h"
#include "paths.h"
#include "trust.h"

static const char usage_text[] =
    "usage: shunt trust list [--json]\n"
    "       shunt trust add CMD [--note TEXT] [--expires 30d|12h|90m|3600s]\n"
    "                           [--scope exact|global] [--yes]\n"
    "       shunt trust remove CMD|KEY\n"
    "       shunt trust clean\n"
    "\n"
    "Remembered approvals let a command run on the host without a prompt.\n"
    "CMD is one argument (quote it) and is normalised like the hooks see it.\n"
    "  exact  (default) this command in this workspace\n"
    "  global this command anywhere (refused for critical-risk commands)\n"
    "An entry is bound to the executable's content: if it is replaced, the\n"
    "entry no longer applies. Without a terminal, add needs --yes and the\n"
    "audit log records who added it. KEY may be a unique prefix (>= 8 hex).\n"
    "Store: $XDG_DATA_HOME/shunt/trust.json (SHUNT_TRUST_STORE overrides).\n";

static bool has_human(void)
{
	if (isatty(0))
		return true;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void warn_audit(struct shunt_error *e)
{
	fprintf(stderr, "shunt: warning: %s\n", e ? e->msg : "audit log write failed");
}

/* Writes a trust-add / trust-remove audit record; failures are warnings. */
static void audit_trust(const struct shunt_ctx *ctx, const char *event,
			const struct shunt_trust_entry *e, const char *why)
{
	struct shunt_audit_record r;
	shunt_audit_record_init(&r);
	r.event = event;
	r.source = SHUNT_SOURCE_CLI;
	r.cwd = ctx ? ctx->cwd : NULL;
	r.command = e->command;
	if (e->added_tty && strcmp(event, "trust-add") == 0)
		r.tty = e->added_tty;
	char approved[80];
	snprintf(approved, sizeof(approved), "trust:%s", e->key);
	r.approved_by = approved;
	r.why = why;
	_cleanup_free_ char *path = shunt_audit_path();
	_cleanup_error_ struct shunt_error *aerr = NULL;
	unsigned long long max = ctx ? ctx->cfg.audit_max_bytes : 0;
	if (shunt_audit_append(path, &r, max, &aerr) < 0)
		warn_audit(aerr);
}

/* Normalises a command line the way the decider sees it. Returns a
 * malloc'd normalised line and, when exe is non-NULL, the first program
 * resolved through PATH (or NULL). */
static int normalise(const struct shunt_ctx *ctx, const char *cmd, char **norm, char **exe,
		     struct shunt_error **err)
{
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_lex_ctx lc = {ctx->home, ctx->cwd, ctx->workspace};
	struct shunt_cmdline cl;
	int r = shunt_lex_line(cmd, strlen(cmd), &lc, &a, &cl);
	if (r < 0) {
		shunt_arena_release(&a);
		return shunt_error_set(err, -r, "command too large to analyse");
	}
	if (!cl.line || !*cl.line || cl.n == 0) {
		shunt_arena_release(&a);
		return shunt_args_usage(err, "'%s' contains no command", cmd);
	}
	*norm = strdup(cl.line);
	if (exe) {
		*exe = NULL;
		if (cl.cmds[0].argv && cl.cmds[0].argv[0] &&
		    !(cl.cmds[0].flags & SHUNT_CMD_DYNAMIC_NAME))
			*exe = shunt_paths_which(cl.cmds[0].argv[0]);
	}
	shunt_arena_release(&a);
	if (!*norm)
		return shunt_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static void fmt_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%MZ", &tm);
}

static int trust_list(int argc, char **argv, struct shunt_error **err)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return shunt_args_usage(err, "list: unexpected argument '%s'", argv[i]);
	}
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path)
		return shunt_error_set(err, ENOMEM, "out of memory");
	struct shunt_trust_store st;
	if (shunt_trust_load(path, &st, err) < 0)
		return -1;
	struct shunt_buf b = {0};
	if (json) {
		shunt_trust_store_json(&st, &b);
	} else if (st.n == 0) {
		shunt_buf_printf(&b, "no trusted commands (%s)\n", path);
	} else {
		int64_t now = (int64_t)time(NULL);
		shunt_buf_printf(&b, "%-12s  %-6s  %5s  %-17s  %s\n", "KEY", "SCOPE", "USES",
				 "EXPIRES", "COMMAND");
		for (size_t i = 0; i < st.n; i++) {
			const struct shunt_trust_entry *e = &st.v[i];
			char exp[32];
			if (!e->expires)
				snprintf(exp, sizeof(exp), "never");
			else if (e->expires <= now)
				snprintf(exp, sizeof(exp), "expired");
			else
				fmt_time(e->expires, exp, sizeof(exp));
			shunt_buf_printf(&b, "%.12s  %-6s  %5llu  %-17s  %s\n", e->key,
					 e->scope == SHUNT_TRUST_GLOBAL ? "global" : "exact",
					 (unsigned long long)e->uses, exp, e->command);
			if (e->scope == SHUNT_TRUST_EXACT && e->workspace)
				shunt_buf_printf(&b, "%-12s  workspace %s\n", "", e->workspace);
			if (e->exe)
				shunt_buf_printf(&b, "%-12s  exe %s\n", "", e->exe);
			if (e->note)
				shunt_buf_printf(&b, "%-12s  note: %s\n", "", e->note);
		}
	}
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	shunt_buf_free(&b);
	shunt_trust_store_free(&st);
	return 0;
}

static int trust_add(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_agent_refuse("shunt trust add", err) < 0)
		return -1;
	const char *cmd = NULL, *note = NULL, *expires = NULL, *scope_s = "exact";
	bool yes = false, opts_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (!opts_done && strcmp(a, "--yes") == 0) {
			yes = true;
		} else if (!opts_done && (strcmp(a, "--note") == 0 || strcmp(a, "--expires") == 0 ||
					  strcmp(a, "--scope") == 0)) {
			if (i + 1 >= argc)
				return shunt_args_usage(err, "add: %s needs a value", a);
			const char *v = argv[++i];
			if (a[2] == 'n')
				note = v;
			else if (a[2] == 'e')
				expires = v;
			else
				scope_s = v;
		} else if (!opts_done && a[0] == '-' && a[1] == '-') {
			return shunt_args_usage(err, "add: unknown option '%s'", a);
		} else if (!cmd) {
			cmd = a;
		} else {
			return shunt_args_usage(
			    err, "add: CMD must be one argument (quote it): unexpected '%s'", a);
		}
	}
	if (!cmd)
		return shunt_args_usage(err, "add: missing CMD (see shunt trust --help)");
	int scope;
	if (strcmp(scope_s, "exact") == 0)
		scope = SHUNT_TRUST_EXACT;
	else if (strcmp(scope_s, "global") == 0)
		scope = SHUNT_TRUST_GLOBAL;
	else
		return shunt_args_usage(err, "add: --scope must be exact or global, not '%s'",
					scope_s);
	int64_t now = (int64_t)time(NULL);
	int64_t exp_at = 0;
	if (expires) {
		long long secs = shunt_trust_parse_duration(expires);
		if (secs <= 0)
			return shunt_args_usage(
			    err, "add: bad --expires '%s' (use e.g. 30d, 12h, 90m, 3600s)",
			    expires);
		exp_at = now + secs;
	}
	/* Only a human adds trust: without a terminal the caller must say so. */
	if (!yes && !has_human())
		return shunt_args_usage(err,
					"add: no terminal; only a human can add trust. "
					"Re-run with --yes to confirm (the audit log records who)");

	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, SHUNT_CTX_NO_TRUST | SHUNT_CTX_NO_SNAPSHOT, err) < 0)
		return -1;
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ char *exe = NULL;
	if (normalise(&ctx, cmd, &norm, &exe, err) < 0) {
		shunt_ctx_free(&ctx);
		return -1;
	}
	if (scope == SHUNT_TRUST_GLOBAL) {
		struct shunt_arena a;
		shunt_arena_init_heap(&a);
		struct shunt_decision d;
		memset(&d, 0, sizeof(d));
		int r =
		    shunt_ctx_decide(&ctx, cmd, NULL, NULL, SHUNT_SOURCE_CLI, false, &a, &d, err);
		enum shunt_risk risk = d.risk;
		char rules[256] = "";
		for (size_t i = 0; r == 0 && i < d.nrules; i++) {
			size_t l = strlen(rules);
			snprintf(rules + l, sizeof(rules) - l, "%s%s", i ? ", " : "", d.rules[i]);
		}
		shunt_arena_release(&a);
		if (r < 0) {
			shunt_ctx_free(&ctx);
			return shunt_error_prefix(err, "add: judging the command's risk: ");
		}
		if (risk == SHUNT_RISK_CRITICAL) {
			shunt_ctx_free(&ctx);
			return shunt_error_set(
			    err, EPERM,
			    "add: refusing --scope global for a critical-risk "
			    "command%s%s%s; use --scope exact (this workspace only)",
			    rules[0] ? " [" : "", rules, rules[0] ? "]" : "");
		}
	}
	struct shunt_trust_entry e;
	if (shunt_trust_entry_init(&e, norm, scope, ctx.workspace, exe, "cli", now, exp_at, note,
				   err) < 0) {
		shunt_ctx_free(&ctx);
		return shunt_error_prefix(err, "add: ");
	}
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path || shunt_trust_add(path, &e, err) < 0) {
		if (!path)
			shunt_error_set(err, ENOMEM, "out of memory");
		shunt_trust_entry_clear(&e);
		shunt_ctx_free(&ctx);
		return -1;
	}
	char why[512];
	snprintf(why, sizeof(why), "trusted by %s (uid %lld) on %s via cli, scope %s%s%s%s",
		 e.added_user ? e.added_user : "?", e.added_uid, e.added_tty,
		 scope == SHUNT_TRUST_GLOBAL ? "global" : "exact", yes ? ", --yes" : "",
		 expires ? ", expires in " : "", expires ? expires : "");
	audit_trust(&ctx, "trust-add", &e, why);
	printf("trusted (%s%s%s): %s\n  key %.16s  exe %s\n",
	       scope == SHUNT_TRUST_GLOBAL ? "global" : "exact, workspace ",
	       scope == SHUNT_TRUST_GLOBAL ? "" : ctx.workspace, expires ? ", expiring" : "",
	       e.command, e.key, e.exe ? e.exe : "(not resolved)");
	shunt_trust_entry_clear(&e);
	shunt_ctx_free(&ctx);
	return 0;
}

static int trust_remove(int argc, char **argv, struct shunt_error **err)
{
	const char *spec = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 && !spec)
			continue;
		if (spec)
			return shunt_args_usage(err,
						"remove: CMD|KEY must be one argument (quote it)");
		spec = argv[i];
	}
	if (!spec || !*spec)
		return shunt_args_usage(err, "remove: missing CMD or KEY");
	struct shunt_ctx ctx;
	bool have_ctx =
	    shunt_ctx_load(&ctx, SHUNT_CTX_NO_TRUST | SHUNT_CTX_NO_RULES | SHUNT_CTX_NO_SNAPSHOT,
			   NULL) == 0;
	_cleanup_free_ char *norm = NULL;
	if (have_ctx) {
		_cleanup_error_ struct shunt_error *nerr = NULL;
		normalise(&ctx, spec, &norm, NULL, &nerr);
	}
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path) {
		if (have_ctx)
			shunt_ctx_free(&ctx);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	struct shunt_trust_entry removed;
	int n = shunt_trust_remove(path, spec, norm, &removed, err);
	if (n < 0) {
		if (have_ctx)
			shunt_ctx_free(&ctx);
		return -1;
	}
	if (n == 0) {
		if (have_ctx)
			shunt_ctx_free(&ctx);
		return shunt_error_set(err, ENOENT, "remove: no trust entry matches '%s'", spec);
	}
	if (removed.command) {
		char why[128];
		snprintf(why, sizeof(why), "removed %d trust entr%s via cli", n,
			 n == 1 ? "y" : "ies");
		audit_trust(have_ctx ? &ctx : NULL, "trust-remove", &removed, why);
	}
	printf("removed %d trust entr%s: %s\n", n, n == 1 ? "y" : "ies",
	       removed.command ? removed.command : spec);
	shunt_trust_entry_clear(&removed);
	if (have_ctx)
		shunt_ctx_free(&ctx);
	return 0;
}

static int trust_clean(int argc, char **argv, struct shunt_error **err)
{
	if (argc > 1)
		return shunt_args_usage(err, "clean: unexpected argument '%s'", argv[1]);
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int n = shunt_trust_clean(path, (int64_t)time(NULL), err);
	if (n < 0)
		return -1;
	printf("removed %d expired trust entr%s\n", n, n == 1 ? "y" : "ies");
	return 0;
}

int shunt_cmd_trust(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 2 || shunt_cmd_wants_help(argc, argv)) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return trust_list(argc - 1, argv + 1, err);
	if (strcmp(sub, "add") == 0)
		return trust_add(argc - 1, argv + 1, err);
	if (strcmp(sub, "remove") == 0 || strcmp(sub, "rm") == 0)
		return trust_remove(argc - 1, argv + 1, err);
	if (strcmp(sub, "clean") == 0)
		return trust_clean(argc - 1, argv + 1, err);
	return shunt_args_usage(err, "unknown trust subcommand '%s' (list, add, remove, clean)",
				sub);
}
