/* Agent sessions: shells run by an AI coding agent (agent.c; shunt agent: cmd_agent.c). */
#ifndef SHUNT_AGENT_H
#define SHUNT_AGENT_H

#include "error.h"

/* The agent this process runs under, from the environment: SHUNT_AGENT
 * (shunt agent), else the marks the agents set in the shells they start:
 * CLAUDECODE (Claude Code), GEMINI_CLI (Gemini CLI), CURSOR_AGENT (Cursor),
 * CODEX_SANDBOX / CODEX_SANDBOX_NETWORK_DISABLED (Codex). NULL when none. */
const char *shunt_agent_detect(void);

/* 0 outside an agent session; in one, -1 with *err saying that what needs
 * a terminal of the person's own. */
int shunt_agent_refuse(const char *what, struct shunt_error **err);

#endif
