/* shunt explain: how a command was normalised, which rules matched where,
 * and what was decided. Also used for the prompt's "d" (details). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "commands.h"
#include "context.h"
#include "explain.h"

static const char explain_usage[] =
    "usage: shunt explain [--interactive|--no-interactive] (-c LINE | -- ARGV...)\n"
    "For each simple command: its normalised form, every matched rule with the\n"
    "matching span highlighted, the risk, then the decision and why.\n";

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

static void explain_match(struct shunt_buf *out, const struct shunt_match *m, const char *subject,
			  bool color)
{
	const struct shunt_rule *r = m->rule;
	shunt_buf_printf(out, "    rule %s (%s): %s\n      ", r->id, shunt_risk_name(r->risk),
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
			explain_match(out, &d->matches[m], c->norm, color);
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
		explain_match(out, &d->matches[m], cl->line ? cl->line : "", color);
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
	shunt_buf_printf(out, "risk: %s (score %d)\ndecision: %s", shunt_risk_name(d->risk),
			 d->score, shunt_action_name(d->action));
	if (d->profile >= 0)
		shunt_buf_printf(out, " (%s, %s)", shunt_runtime_name(d->runtime),
				 shunt_profile_name(d->profile));
	shunt_buf_printf(out, "\nwhy: %s\n", d->why);
}

int shunt_cmd_explain(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(explain_usage, stdout);
		return 0;
	}
	int interactive = -1;
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
		else
			return shunt_args_usage(
			    err, "unknown option '%s' (see shunt explain --help)", argv[i]);
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "nothing to explain: give -c LINE or -- ARGV...");
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, 0, err) < 0)
		return -1;
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int rc = shunt_ctx_decide(&ctx, in.line, NULL, in.argv, SHUNT_SOURCE_CLI,
				  interactive < 0 ? ctx.interactive : interactive, &a, &d, err);
	if (rc == 0) {
		struct shunt_buf out = {0};
		shunt_explain_render(&d, isatty(1) && !getenv("NO_COLOR"), &out);
		fwrite(out.data, 1, out.len, stdout);
		shunt_buf_free(&out);
	}
	shunt_arena_release(&a);
	shunt_ctx_free(&ctx);
	return rc;
}
