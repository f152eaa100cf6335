/* Whether this process runs in an AI agent's session (shunt agent, or a
 * shell an agent started), and the refusals that need a person instead. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

const char *shunt_agent_detect(void)
{
	static const struct {
		const char *var, *agent;
	} marks[] = {{"CLAUDECODE", "claude-code"},
		     {"GEMINI_CLI", "gemini"},
		     {"CURSOR_AGENT", "cursor"},
		     {"CODEX_SANDBOX", "codex"},
		     {"CODEX_SANDBOX_NETWORK_DISABLED", "codex"}};
	const char *a = getenv("SHUNT_AGENT");
	if (a && *a)
		return a;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		const char *v = getenv(marks[i].var);
		if (v && *v && strcmp(v, "0") != 0)
			return marks[i].agent;
	}
	return NULL;
}

int shunt_agent_refuse(const char *what, struct shunt_error **err)
{
	const char *a = shunt_agent_detect();
	if (!a)
		return 0;
	return shunt_error_set(err, 0,
			       "%s needs a person at a terminal that is not an agent's (this one "
			       "belongs to %s); run it in a terminal of your own",
			       what, a);
}
