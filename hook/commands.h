/* The shunt subcommands: one file each, dispatched from a table in main.c. */
#ifndef SHUNT_COMMANDS_H
#define SHUNT_COMMANDS_H

#include <stdbool.h>

#include "error.h"

/* A subcommand's entry point: argv[0] is the subcommand name. Returns the
 * process exit code (>= 0), or -1 with *err set; main() prints the error
 * and exits with err->exitcode. */
typedef int (*shunt_cmd_fn)(int argc, char **argv, struct shunt_error **err);

struct shunt_command {
	const char *name;
	const char *summary;
	shunt_cmd_fn fn;
};

#define SHUNT_COMMAND_LIST(X)                                                                      \
	X(check, "print the decision for a command")                                               \
	X(explain, "show how a command was normalised, matched and decided")                       \
	X(exec, "decide, then run, sandbox, prompt or block a command")                            \
	X(agent, "run an AI coding agent with the shim, as an agent session")                     \
	X(hook, "answer an AI agent's pre-command hook (claude-code, codex, gemini, cursor)")      \
	X(run, "run a command in a sandbox")                                                       \
	X(gate, "internal: the shim's re-routing entry point")                                     \
	X(rules, "list, lint or test the rule packs")                                              \
	X(config, "show or validate the configuration")                                            \
	X(trust, "manage remembered approvals")                                                    \
	X(log, "show the audit log")                                                               \
	X(metrics, "show or reset execution metrics")                                              \
	X(doctor, "report what this machine supports")                                             \
	X(init, "print the shell snippet: eval \"$(shunt init bash)\"")                            \
	X(install, "install shell or editor integration")                                          \
	X(on, "turn protection back on for this session")                                          \
	X(off, "turn protection off for this session (confirmed on the terminal)")                 \
	X(snapshot, "write the shim's precompiled policy snapshot")                                \
	X(daemon, "run, start, stop or query shuntd; run a command through it")                    \
	X(policy, "fetch policy.sources (rule packs over HTTPS): shunt policy update")             \
	X(audit, "ship spooled audit records to audit.forward: shunt audit flush")                 \
	X(proxy, "internal/debug: the network allowlist's filtering proxy on a unix socket")       \
	X(vm, "build the microVM guest image, print a VM plan, sweep orphaned VM jobs")            \
	X(image, "build the local podman/docker image from a debootstrap minbase tree")

#define SHUNT_CMD_DECL(name, summary)                                                              \
	int shunt_cmd_##name(int argc, char **argv, struct shunt_error **err);
SHUNT_COMMAND_LIST(SHUNT_CMD_DECL)
#undef SHUNT_CMD_DECL

/* True when argv holds -h or --help before any "--". */
int shunt_cmd_wants_help(int argc, char **argv);

/* Runs cmd through the shuntd listening on sock (which re-decides it;
 * profile/runtime -1 = the policy's; workspace NULL: the one of our
 * directory; explicit_run: `shunt run` asked for profile and runtime
 * itself, which the daemon grants its own uid as in-process), streaming
 * its output to our stdout/stderr. *answered false (and 0 returned) when
 * no daemon answered: the caller runs it in-process. Else the command's
 * exit status, 126 refused, 125 daemon/sandbox failure, or -1 with *err. */
int shunt_daemon_client_run(const char *sock, char **cmd, int profile, int runtime,
			    const char *workspace, bool explicit_run, bool *answered,
			    struct shunt_error **err);

/* Runs cmd on the remote shuntd at url (https://; http://127.0.0.1 only
 * with insecure) with the bearer token in token_file (mode 0600), its TLS
 * certificate verified against ca_file (NULL: the system's CAs). It
 * re-decides the command with its own policy. When it does not answer,
 * or TLS verification fails, the command is not run anywhere (-1,
 * exitcode 125). Else as above. */
int shunt_daemon_client_remote(const char *url, const char *token_file, const char *ca_file,
			       bool insecure, char **cmd, int profile, struct shunt_error **err);

#endif
