/* The pre-command events AI coding agents send their hooks on stdin, read
 * into one shape. Formats followed (checked against each agent's docs):
 *   claude-code  Claude Code 2.1.x PreToolUse, tool_name "Bash",
 *                tool_input.command, session_id
 *   codex        Codex CLI 0.17x PreToolUse: the Claude Code shape plus
 *                turn_id and model
 *   gemini       Gemini CLI 0.61 BeforeTool, tool_name "run_shell_command",
 *                tool_input.command, session_id
 *   cursor       Cursor hooks.json version 1 beforeShellExecution: command,
 *                cwd, conversation_id */
#ifndef SHUNT_AGENTEVENT_H
#define SHUNT_AGENTEVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum shunt_agent { SHUNT_AGENT_CLAUDE, SHUNT_AGENT_CODEX, SHUNT_AGENT_GEMINI, SHUNT_AGENT_CURSOR };

struct shunt_agent_event {
	enum shunt_agent agent;
	bool shell;    /* the event is about the agent's shell tool */
	char *command; /* the command line (shell events only) */
	char *session; /* the agent's session/conversation id, or NULL */
	char *cwd;     /* where the command runs, or NULL */
	char *event;   /* hook_event_name as sent */
};

/* "claude-code", "codex", "gemini", "cursor" (also "cursor-agent") to the
 * agent, or -1. */
int shunt_agentevent_agent(const char *name);

/* The agent's name as `shunt hook` takes it. */
const char *shunt_agentevent_name(enum shunt_agent a);

/* Parses one event of agent a from buf (len bytes). An event for another
 * tool than the shell gives 0 with ev->shell false. Malformed JSON, an
 * event other than the agent's pre-command one, or a shell event without
 * a string command: -1 with *err saying which. ev is zeroed first; free
 * it with shunt_agentevent_free (also after an error). */
int shunt_agentevent_parse(enum shunt_agent a, const char *buf, size_t len,
			   struct shunt_agent_event *ev, struct shunt_error **err);

/* Frees what ev holds and zeroes it. */
void shunt_agentevent_free(struct shunt_agent_event *ev);

#endif
