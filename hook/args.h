/* Shared parsing of the command operand forms: (-c LINE | -- ARGV...). */
#ifndef SHUNT_ARGS_H
#define SHUNT_ARGS_H

#include <stdbool.h>

#include "error.h"

struct shunt_cmd_input {
	const char *line; /* -c LINE, or the text read by --line-fd FD */
	char **argv;	  /* -- ARGV... (NULL-terminated, points into the caller's argv) */
};

/* Takes the operand at argv[*i] ("-c" LINE, "--line-fd" FD or "--"
 * ARGV...). --line-fd reads the line from descriptor FD to its end (one
 * trailing newline dropped, as a here-string adds it) and closes FD: a
 * line longer than an argument may be (128 KiB) gets in that way. Returns
 * 1 when argv[*i] started the operand (and consumed the rest), 0 when it
 * is something else, -1 on a usage error (exitcode 2). */
int shunt_args_take_command(int argc, char **argv, int *i, struct shunt_cmd_input *in,
			    struct shunt_error **err);

/* Usage error helper: sets exitcode 2. */
int shunt_args_usage(struct shunt_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
