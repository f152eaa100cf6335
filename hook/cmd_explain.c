/* shunt explain: how a command was normalised, which rules matched where,
 * and what was decided. Also used for the prompt's "d" (details). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cmdparse.h"
#include "commands.h"
#include "context.h"
#include "explain.h"

static const char explain_usage[] =
    "usage: shunt explain [--interactive|--no-interactive] [--json] (-c LINE | -- ARGV...)\n"
    "       shunt explain --shim [--json] -- ARGV...\n"
    "For each simple command: its normalised form, every matched rule with the\n"
    "matching span highlighted, the effects and why the action fits them, the risk,\n"
    "then the decision and why. --json prints the decision as `shunt check --json`\n"
    "does (action, risk, rules, effects, why) plus \"matches\": rule, effect, command.\n"
    "--shim: what the LD_PRELOAD shim decides for that exact exec (the path it\n"
    "resolves to, the name it decides on, the rules, host/gate/block), from the\n"
    "shim's own policy snapshot.\n";

static void highlight(struct shunt_buf *out, const char *s, size_t so, size_t eo, bool color)
{
	size_t n = strlen(s);
	if (so > n)
		so = n;
	if (eo > n || eo < so)
		eo = n;
	shunt_buf_append(out, s, so);
	shunt_buf_puts(out, color ? "\033[1;4;31m" : "[[");
	shunt_buf_append(out, s + so, eo - so);
	shunt_buf_puts(out, color ? "\033[0m" : "]]");
	shunt_buf_puts(out, s + eo);
}

/* Why an effect gets the action it gets (policy/rules/README.md). */
static const char *effect_reason(int e)
{
	switch (e) {
	case SHUNT_EFFECT_REMOTE:
		return "acts on remote state: a sandbox cannot contain it (no credentials, no "
		       "remote), so it is prompted, or blocked with no terminal";
	case SHUNT_EFFECT_CREDENTIALS:
		return "reads or sends your secrets: a sandbox withholds them, so it is "
		       "prompted, or blocked with no terminal";
	case SHUNT_EFFECT_SYSTEM:
		return "changes the machine (services, disks, users): only a SYSTEM_WRITE "
		       "sandbox contains it";
	case SHUNT_EFFECT_NETWORK:
		return "talks to the network: a sandbox contains it, with its network "
		       "allowlist";
	default:
		return "local files: a sandbox contains it";
	}
}

static void explain_match(struct shunt_buf *out, const struct shunt_match *m, const char *subject,
			  const char *prog, bool color)
{
	const struct shunt_rule *r = m->rule;
	shunt_buf_printf(out, "    rule %s (%s, effect %s): %s\n      ", r->id,
			 shunt_risk_name(r->risk), shunt_rule_effect_name(r->effect),
			 r->description);
	if (m->subject) {
		/* code it runs: a window around the match, not a whole script */
		const char *sub = m->subject;
		size_t n = strlen(sub), so = m->so < n ? m->so : n, eo = m->eo < n ? m->eo : n;
		size_t from = so > 60 ? so - 60 : 0, to = eo + 60 < n ? eo + 60 : n;
		if (eo - so > 200)
			eo = so + 200, to = eo;
		char *win = strndup(sub + from, to - from);
		shunt_buf_puts(out, "in the code it runs: ");
		if (win) {
			for (char *q = win; *q; q++)
				if (*q == '\n' || *q == '\t')
					*q = ' ';
			highlight(out, win, so - from, eo - from, color);
			free(win);
		}
	} else {
		highlight(out, subject, m->so, m->eo, color);
	}
	shunt_buf_putc(out, '\n');
	if (m->limit_hit)
		shunt_buf_puts(out, "      (regex limit hit: counted as a match)\n");
	if (r->cmd.present)
		shunt_buf_puts(out, "      (matched on the parsed command: program, subcommand, "
				    "options, operands)\n");
	if (r == shunt_rules_generic()) {
		const char *fam = prog ? shunt_cmdparse_family_hint(prog) : NULL;
		shunt_buf_printf(out, "      generic fallback: no rule pack covers '%s'; %s%s%s\n",
				 prog ? prog : "?",
				 fam ? "a pack of the family '"
				     : "a pack for it (see "
				       "policy/rules/README.md)",
				 fam ? fam : "",
				 fam ? "' would judge it precisely" : " would judge it precisely");
	}
	if (r->action >= 0 || r->profile >= 0)
		shunt_buf_printf(out, "      rule asks for%s%s%s%s\n",
				 r->action >= 0 ? " action " : "",
				 r->action >= 0 ? shunt_action_name(r->action) : "",
				 r->profile >= 0 ? " profile " : "",
				 r->profile >= 0 ? shunt_profile_name(r->profile) : "");
}

void shunt_explain_render(const struct shunt_decision *d, bool color, struct shunt_buf *out)
{
	const struct shunt_cmdline *cl = &d->cmdline;
	for (size_t i = 0; i < cl->n; i++) {
		const struct shunt_simple *c = &cl->cmds[i];
		shunt_buf_printf(out, "command %zu: %s\n", i + 1, c->norm ? c->norm : "");
		if (c->via)
			shunt_buf_printf(out, "    via: %s\n", c->via);
		if (c->flags & SHUNT_CMD_DYNAMIC_NAME)
			shunt_buf_puts(
			    out,
			    "    command name is computed at run time: at least medium risk\n");
		if (c->flags & SHUNT_CMD_SUBST)
			shunt_buf_puts(out, "    runs inside a command/process substitution\n");
		bool any = false;
		for (size_t m = 0; m < d->nmatches; m++) {
			if (d->matches[m].cmd != i)
				continue;
			explain_match(out, &d->matches[m], c->norm, c->prog, color);
			any = true;
		}
		if (!any)
			shunt_buf_puts(out, "    no rule matched\n");
	}
	bool line_hdr = false;
	for (size_t m = 0; m < d->nmatches; m++) {
		if (d->matches[m].cmd != (size_t)-1)
			continue;
		if (!line_hdr) {
			shunt_buf_printf(out, "whole line: %s\n", cl->line ? cl->line : "");
			line_hdr = true;
		}
		explain_match(out, &d->matches[m], cl->line ? cl->line : "", NULL, color);
	}
	if (cl->truncated)
		shunt_buf_puts(
		    out, "note: the line was too complex to analyse fully (treated as risky)\n");
	if (d->denylisted)
		shunt_buf_puts(out, "policy: matches the denylist\n");
	if (d->allowlisted)
		shunt_buf_puts(out, "policy: matches the allowlist\n");
	if (d->trusted)
		shunt_buf_puts(out, "trust: a remembered approval applies\n");
	if (d->trust_stale)
		shunt_buf_puts(
		    out, "trust: a remembered approval exists, but the executable changed since\n");
	for (int e = 0; e <= SHUNT_EFFECT_MAX; e++)
		if (d->effects & 1u << e)
			shunt_buf_printf(out, "effect: %s: %s\n", shunt_rule_effect_name(e),
					 effect_reason(e));
	shunt_buf_printf(out, "risk: %s (score %d)\ndecision: %s", shunt_risk_name(d->risk),
			 d->score, shunt_action_name(d->action));
	if (d->profile >= 0)
		shunt_buf_printf(out, " (%s, %s)", shunt_runtime_name(d->runtime),
				 shunt_profile_name(d->profile));
	shunt_buf_printf(out, "\nwhy: %s\n", d->why);
}

/* The decision's JSON with one entry per match: which rule, its effect
 * and family, and the command it judged (null for a whole-line rule). */
static void explain_json(const struct shunt_decision *d, struct shunt_buf *out)
{
	shunt_decision_json(d, out);
	if (out->len && out->data[out->len - 1] == '}')
		out->len--;
	shunt_buf_puts(out, ",\"matches\":[");
	for (size_t m = 0; m < d->nmatches; m++) {
		const struct shunt_match *x = &d->matches[m];
		const struct shunt_rule *r = x->rule;
		shunt_buf_puts(out, m ? ",{\"rule\":" : "{\"rule\":");
		shunt_buf_json_str(out, r->id, strlen(r->id));
		shunt_buf_printf(out,
				 ",\"effect\":\"%s\",\"generic\":%s,\"parsed\":%s,\"command\":",
				 shunt_rule_effect_name(r->effect),
				 r == shunt_rules_generic() ? "true" : "false",
				 r->cmd.present ? "true" : "false");
		const char *norm = x->cmd < d->cmdline.n ? d->cmdline.cmds[x->cmd].norm : NULL;
		if (norm)
			shunt_buf_json_str(out, norm, strlen(norm));
		else
			shunt_buf_puts(out, "null");
		const char *fam = r == shunt_rules_generic() && norm
				      ? shunt_cmdparse_family_hint(d->cmdline.cmds[x->cmd].prog)
				      : NULL;
		shunt_buf_puts(out, ",\"precise_family\":");
		if (fam)
			shunt_buf_json_str(out, fam, strlen(fam));
		else
			shunt_buf_puts(out, "null");
		shunt_buf_putc(out, '}');
	}
	shunt_buf_puts(out, "]}\n");
}

int shunt_cmd_explain(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(explain_usage, stdout);
		return 0;
	}
	int interactive = -1;
	bool shim = false, json = false;
	struct shunt_cmd_input in = {0};
	for (int i = 1; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--interactive") == 0)
			interactive = 1;
		else if (strcmp(argv[i], "--no-interactive") == 0)
			interactive = 0;
		else if (strcmp(argv[i], "--shim") == 0)
			shim = true;
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return shunt_args_usage(
			    err, "unknown option '%s' (see shunt explain --help)", argv[i]);
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "nothing to explain: give -c LINE or -- ARGV...");
	if (shim && !in.argv)
		return shunt_args_usage(err, "--shim explains one exec: give -- ARGV...");
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, 0, err) < 0)
		return -1;
	if (shim) {
		int rc = shunt_explain_shim(&ctx, in.argv, json, err);
		shunt_ctx_free(&ctx);
		return rc;
	}
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int rc = shunt_ctx_decide(&ctx, in.line, NULL, in.argv, SHUNT_SOURCE_CLI,
				  interactive < 0 ? ctx.interactive : interactive, &a, &d, err);
	if (rc == 0) {
		struct shunt_buf out = {0};
		if (json)
			explain_json(&d, &out);
		else
			shunt_explain_render(&d, isatty(1) && !getenv("NO_COLOR"), &out);
		fwrite(out.data, 1, out.len, stdout);
		shunt_buf_free(&out);
	}
	shunt_arena_release(&a);
	shunt_ctx_free(&ctx);
	return rc;
}
