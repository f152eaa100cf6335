#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int shunt_args_usage(struct shunt_error **err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shunt_error_set(err, 0, "%s", msg);
	if (err && *err)
		(*err)->exitcode = 2;
	return -1;
}

int shunt_args_take_command(int argc, char **argv, int *i, struct shunt_cmd_input *in,
			    struct shunt_error **err)
{
	const char *a = argv[*i];
	if (strcmp(a, "-c") == 0) {
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "-c needs a command line");
		if (in->line || in->argv)
			return shunt_args_usage(err, "give one command: -c LINE or -- ARGV...");
		in->line = argv[++*i];
		return 1;
	}
	if (strcmp(a, "--") == 0) {
		if (in->line || in->argv)
			return shunt_args_usage(err, "give one command: -c LINE or -- ARGV...");
		if (*i + 1 >= argc)
			return shunt_args_usage(err, "-- needs a command");
		in->argv = &argv[*i + 1];
		*i = argc;
		return 1;
	}
	return 0;
}
