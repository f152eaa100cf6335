/* shunt hook AGENT: the command an AI agent's pre-command hook runs. It
 * reads the agent's event on stdin, decides the command with the policy
 * (once: a sandbox decision is carried into the rewritten command as an
 * explicit `shunt run --profile --runtime`, which does not decide again),
 * answers in the agent's own format on stdout and writes the decision to
 * the audit log with the agent's session id.
 *
 * It exits 0 (the answer is on stdout) or 2 (a failure of its own: bad
 * JSON, an unknown event, a policy that does not load; the reason is on
 * stderr). Every agent blocks the command on exit 2, so no failure of
 * shunt's own ever lets a command through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "agentevent.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "context.h"
#include "record.h"

#define HOOK_MAX_EVENT (8u << 20)
#define HOOK_FAIL      2

static const char hook_usage[] =
    "usage: shunt hook claude-code|codex|gemini|cursor  < EVENT.json\n"
    "The command the agents' pre-command hooks run (shunt install AGENT writes it).\n"
    "Reads the agent's event on stdin and answers on stdout in its format:\n"
    "  host     allow\n"
    "  sandbox  allow, the command rewritten to run under shunt run with the decided\n"
    "           profile and runtime (Cursor cannot rewrite: deny, naming the command\n"
    "           to run instead)\n"
    "  prompt   ask (Claude Code, Cursor); deny with the reason and the shunt trust add\n"
    "           a person may run (Codex and Gemini cannot ask)\n"
    "  block    deny, with the reason\n"
    "Exits 0, or 2 with the reason on stderr when the event cannot be read or the\n"
    "policy cannot be loaded: every agent blocks the command then.\n";

enum answer { ANSWER_ALLOW, ANSWER_REWRITE, ANSWER_ASK, ANSWER_DENY };

static int read_all(int fd, struct shunt_buf *b, struct shunt_error **err)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return shunt_error_sys(err, errno, "reading the event");
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > HOOK_MAX_EVENT)
			return shunt_error_set(err, 0, "the event is larger than %u bytes",
					       HOOK_MAX_EVENT);
		shunt_buf_append(b, chunk, (size_t)n);
	}
}

/* The command that runs line in the decided sandbox. */
static void sandboxed_command(const struct shunt_ctx *ctx, const struct shunt_decision *d,
			      const char *line, struct shunt_buf *b)
{
	shunt_buf_put_shquoted(b, ctx->self_exe ? ctx->self_exe : "shunt");
	shunt_buf_printf(b, " run --profile %s --runtime %s -- %s -c ",
			 shunt_profile_name(d->profile), shunt_runtime_name(d->runtime),
			 access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh");
	shunt_buf_put_shquoted(b, line);
}

/* The answer for decision d and, in reason, the words the agent (and the
 * person behind it) get; rewrite holds the sandboxed command. */
static enum answer hook_answer(enum shunt_agent agent, const struct shunt_ctx *ctx,
			       const struct shunt_decision *d, const char *line,
			       struct shunt_buf *reason, struct shunt_buf *rewrite)
{
	switch (d->action) {
	case SHUNT_ACTION_HOST:
		shunt_buf_printf(reason, "shunt: allowed: %s", d->why);
		return ANSWER_ALLOW;
	case SHUNT_ACTION_SANDBOX:
		sandboxed_command(ctx, d, line, rewrite);
		shunt_buf_printf(reason, "shunt: sandboxed (%s, %s): %s",
				 shunt_runtime_name(d->runtime), shunt_profile_name(d->profile),
				 d->why);
		shunt_act_rules_suffix(reason, d);
		if (agent != SHUNT_AGENT_CURSOR)
			return ANSWER_REWRITE;
		shunt_buf_printf(reason, ". Run it in the sandbox instead: %s", rewrite->data);
		return ANSWER_DENY;
	case SHUNT_ACTION_PROMPT:
		shunt_buf_printf(reason, "shunt: needs a person's approval: %s", d->why);
		shunt_act_rules_suffix(reason, d);
		if (agent == SHUNT_AGENT_CLAUDE || agent == SHUNT_AGENT_CURSOR)
			return ANSWER_ASK;
		break;
	default:
		shunt_buf_printf(reason, "shunt: blocked: %s", d->why);
		shunt_act_rules_suffix(reason, d);
		break;
	}
	shunt_buf_puts(reason, ". Do not retry it another way; a person (not the agent) may "
			       "allow it with: shunt trust add ");
	shunt_buf_put_shquoted(reason, line);
	return ANSWER_DENY;
}

static const char *const answer_words[] = {"allow", "allow", "ask", "deny"};

/* Claude Code 2.1.x and Codex 0.17x: hookSpecificOutput.permissionDecision. */
static void format_pretooluse(enum answer an, const char *reason, const char *rewrite,
			      struct shunt_buf *o)
{
	shunt_buf_printf(o,
			 "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\","
			 "\"permissionDecision\":\"%s\",\"permissionDecisionReason\":",
			 answer_words[an]);
	shunt_buf_json_str(o, reason, strlen(reason));
	if (an == ANSWER_REWRITE) {
		shunt_buf_puts(o, ",\"updatedInput\":{\"command\":");
		shunt_buf_json_str(o, rewrite, strlen(rewrite));
		shunt_buf_putc(o, '}');
	}
	shunt_buf_puts(o, "}}\n");
}

/* Gemini CLI 0.61 BeforeTool: decision + reason; a rewrite goes in
 * hookSpecificOutput.tool_input. */
static void format_gemini(enum answer an, const char *reason, const char *rewrite,
			  struct shunt_buf *o)
{
	shunt_buf_printf(o,
			 "{\"decision\":\"%s\",\"reason\":", an == ANSWER_DENY ? "deny" : "allow");
	shunt_buf_json_str(o, reason, strlen(reason));
	if (an == ANSWER_REWRITE) {
		shunt_buf_puts(o, ",\"hookSpecificOutput\":{\"hookEventName\":\"BeforeTool\","
				  "\"tool_input\":{\"command\":");
		shunt_buf_json_str(o, rewrite, strlen(rewrite));
		shunt_buf_puts(o, "}}");
	}
	shunt_buf_puts(o, "}\n");
}

/* Cursor hooks.json v1 beforeShellExecution: permission, userMessage,
 * agentMessage. */
static void format_cursor(enum answer an, const char *reason, struct shunt_buf *o)
{
	shunt_buf_printf(o, "{\"permission\":\"%s\",\"userMessage\":", answer_words[an]);
	shunt_buf_json_str(o, reason, strlen(reason));
	shunt_buf_puts(o, ",\"agentMessage\":");
	shunt_buf_json_str(o, reason, strlen(reason));
	shunt_buf_puts(o, "}\n");
}

/* Decides ev's command and writes the answer to out. -1 with *err when
 * the policy cannot be loaded or the decision fails. */
static int hook_decide(const struct shunt_agent_event *ev, struct shunt_buf *out,
		       struct shunt_error **err)
{
	/* the agent's cwd decides the workspace and its .shunt.yaml */
	if (ev->cwd && chdir(ev->cwd) < 0)
		return shunt_error_sys(err, errno, "cannot enter the event's cwd %s", ev->cwd);
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, SHUNT_CTX_FAST, err) < 0)
		return -1;
	shunt_record_set_agent(shunt_agentevent_name(ev->agent), ev->session);
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	/* interactive: the agent has a person to ask (or says no for them) */
	int rc =
	    shunt_ctx_decide(&ctx, ev->command, NULL, NULL, SHUNT_SOURCE_HOOK, true, &a, &d, err);
	if (rc == 0) {
		struct shunt_buf reason = {0}, rewrite = {0};
		enum answer an = hook_answer(ev->agent, &ctx, &d, ev->command, &reason, &rewrite);
		if (ev->agent == SHUNT_AGENT_GEMINI)
			format_gemini(an, reason.data, rewrite.data, out);
		else if (ev->agent == SHUNT_AGENT_CURSOR)
			format_cursor(an, reason.data, out);
		else
			format_pretooluse(an, reason.data, rewrite.data, out);
		shunt_record_decision(&ctx, SHUNT_SOURCE_HOOK, ev->command, &d, NULL, false);
		shunt_buf_free(&reason);
		shunt_buf_free(&rewrite);
	}
	shunt_record_set_agent(NULL, NULL);
	shunt_arena_release(&a);
	shunt_ctx_free(&ctx);
	return rc;
}

int shunt_cmd_hook(int argc, char **argv, struct shunt_error **err)
{
	(void)err; /* never -1: main() would pick an exit status an agent ignores */
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(hook_usage, stdout);
		return 0;
	}
	int agent = argc == 2 ? shunt_agentevent_agent(argv[1]) : -1;
	if (agent < 0) {
		fprintf(stderr, "shunt hook: expected one of claude-code, codex, gemini, cursor; "
				"the command was not allowed\n");
		return HOOK_FAIL;
	}
	struct shunt_buf in = {0}, out = {0};
	struct shunt_agent_event ev = {0};
	_cleanup_error_ struct shunt_error *e = NULL;
	int rc = HOOK_FAIL;
	if (read_all(STDIN_FILENO, &in, &e) < 0)
		goto out;
	if (shunt_agentevent_parse((enum shunt_agent)agent, in.data ? in.data : "", in.len, &ev,
				   &e) < 0)
		goto out;
	if (!ev.shell) {
		/* another tool than the shell: no opinion, the agent's own rules apply */
		rc = 0;
		if (agent == SHUNT_AGENT_GEMINI)
			fputs("{}\n", stdout);
		goto out;
	}
	if (hook_decide(&ev, &out, &e) < 0)
		goto out;
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		shunt_error_sys(&e, errno, "writing the answer");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "shunt hook %s: %s; the command was not allowed\n", argv[1],
			e ? e->msg : "failed");
	shunt_agentevent_free(&ev);
	shunt_buf_free(&in);
	shunt_buf_free(&out);
	return rc;
}
