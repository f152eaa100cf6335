/* shunt on: turns the line hook back on for the current shell session.
 * Like `shunt off`, the `shunt` shell function does the switching; this
 * only validates and reports. Turning protection on needs no confirmation. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static const char on_usage[] =
    "usage: shunt on\n"
    "Turns shunt's line hook back on for this shell session (after `shunt off`).\n";

int shunt_cmd_on(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(on_usage, stdout);
		return 0;
	}
	const char *shell = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hook") == 0 && i + 1 < argc)
			shell = argv[++i];
		else
			return shunt_args_usage(err, "unknown argument '%s'\n%s", argv[i],
						on_usage);
	}
	if (!shell)
		return shunt_error_set(
		    err, 0,
		    "this shell has no shunt line hook; add eval \"$(shunt init bash)\" to "
		    "your shell's rc file (`shunt install bash` does it)");
	fprintf(stderr, "shunt: line hook on for this %s session\n", shell);
	return 0;
}
