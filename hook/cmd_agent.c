/* shunt agent -- COMMAND...: runs an AI coding agent with the exec shim
 * in its environment, so every shell its tools start (subagents' too,
 * which pre-tool hooks do not see) is gated, and marks the session
 * (SHUNT_AGENT) so that shunt treats it as an agent's: nobody is there to
 * answer a prompt, so prompts become refusals naming the rule and the
 * `shunt trust add` a person may run, and `shunt off` / `shunt trust add`
 * refuse to run inside it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"

int shunt_init_self_paths(char **bin, char **shim, struct shunt_error **err);

static const char agent_usage[] =
    "usage: shunt agent [--name NAME] -- COMMAND [ARGS...]\n"
    "Runs an AI coding agent (e.g. shunt agent -- claude) with the exec shim in its\n"
    "environment and SHUNT_AGENT=NAME (default: the command's name). In an agent\n"
    "session, and in a shell an agent started (CLAUDECODE, GEMINI_CLI, CURSOR_AGENT,\n"
    "CODEX_SANDBOX), prompts nobody can answer become refusals that say what a\n"
    "person may run, and shunt off / shunt trust add need another terminal.\n";

int shunt_cmd_agent(int argc, char **argv, struct shunt_error **err)
{
	const char *name = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return fputs(agent_usage, stdout), 0;
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else
			return shunt_args_usage(err, "unexpected argument '%s'\n%s", argv[i],
						agent_usage);
	}
	if (i >= argc)
		return shunt_args_usage(err, "give the agent's command after --\n%s", agent_usage);
	_cleanup_free_ char *bin = NULL, *shim = NULL;
	if (shunt_init_self_paths(&bin, &shim, err) < 0)
		return -1;
	if (access(shim, R_OK) < 0)
		return shunt_error_sys(err, errno,
				       "the exec shim %s is not there; the agent was not started "
				       "unprotected",
				       shim);
	const char *pre = getenv("LD_PRELOAD");
	struct shunt_buf lp = {0};
	shunt_buf_puts(&lp, shim);
	if (pre && *pre && !strstr(pre, shim)) {
		shunt_buf_putc(&lp, ':');
		shunt_buf_puts(&lp, pre);
	}
	if (!name) {
		const char *slash = strrchr(argv[i], '/');
		name = slash ? slash + 1 : argv[i];
	}
	if (setenv("LD_PRELOAD", lp.data, 1) < 0 || setenv("SHUNT_BIN", bin, 1) < 0 ||
	    setenv("SHUNT_AGENT", name, 1) < 0) {
		shunt_buf_free(&lp);
		return shunt_error_sys(err, errno, "setting the agent's environment");
	}
	shunt_buf_free(&lp);
	fflush(NULL);
	execvp(argv[i], argv + i);
	int e = errno;
	shunt_error_sys(err, e, "cannot run %s", argv[i]);
	(*err)->exitcode = e == ENOENT ? 127 : 126;
	return -1;
}
