/* shunt: thin main. Dispatches to one subcommand per file and is the only
 * place that prints errors and picks the exit code. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "vmnote.h"

#define SHUNT_CMD_ENTRY(n, s) {#n, s, shunt_cmd_##n},
static const struct shunt_command commands[] = {SHUNT_COMMAND_LIST(SHUNT_CMD_ENTRY)};
#undef SHUNT_CMD_ENTRY

/* gate is the shim's internal entry point: never offered to users */
static bool shown(const struct shunt_command *c)
{
	return strcmp(c->name, "gate") != 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: shunt <command> [options]\n\n"
		     "shunt checks each command before it runs and decides: run on the host,\n"
		     "re-route into a sandbox, ask you, or block.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!shown(&commands[i]))
			continue;
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(out, "\nRun 'shunt <command> --help' for a command's options.\n");
}

int shunt_cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 || strcmp(argv[i], "-c") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("shunt %s\n", SHUNT_VERSION);
		return 0;
	}
	if (strcmp(name, "--list-commands") == 0) {
		/* hidden: the shell completions and the man page read the table */
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (shown(&commands[i]))
				printf("%s\t%s\n", commands[i].name, commands[i].summary);
		return 0;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		_cleanup_error_ struct shunt_error *err = NULL;
		shunt_vmnote_install();
		int rc = commands[i].fn(argc - 1, argv + 1, &err);
		fflush(stdout);
		if (rc < 0) {
			fprintf(stderr, "shunt %s: %s\n", name, err ? err->msg : "failed");
			return err ? err->exitcode : 1;
		}
		return rc;
	}
	fprintf(stderr, "shunt: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
