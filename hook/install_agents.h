/* shunt install claude-code|cursor-agent|codex|gemini: the agents' hook
 * configuration (called from cmd_install.c). */
#ifndef SHUNT_INSTALL_AGENTS_H
#define SHUNT_INSTALL_AGENTS_H

#include <stdbool.h>

#include "error.h"

/* True when argv (as shunt install gets it) names an agent target. */
bool shunt_install_agents_wanted(int argc, char **argv);

/* The whole of `shunt install AGENT [--project] [--uninstall] [--dry-run]
 * [--json]`. Returns the exit code, or -1 with *err. */
int shunt_install_agents_run(int argc, char **argv, struct shunt_error **err);

/* The command line the agent runs: shunt hook AGENT under timeout(1),
 * inside a /bin/sh that turns every status other than 0 and 2 (shunt
 * missing 127, a crash, a timeout) into 2 with a reason on stderr, which
 * every agent takes as a block. malloc'd, NULL on OOM. */
char *shunt_install_agents_command(const char *shunt_bin, const char *agent);

#include <stddef.h>

/* Whether Codex has trusted the user-level hook shunt installed, from
 * Codex's own state (its config.toml hooks.state entries): 0 not
 * installed, 1 trusted, 2 not trusted, 3 cannot tell; a sentence for
 * shunt doctor in detail. */
int shunt_install_agents_codex_trust(char *detail, size_t n);

#endif
