/* The code an interpreter runs: inline (python -c, perl -e, node -e,
 * php -r, an awk program), a here-document or here-string on its stdin,
 * or a script file named on its command line. The decision scans it with
 * the rules of scope code/inline (other languages) or lexes it (shell).
 * Finding the code is async-signal-safe (the shim does it); reading a
 * script file is left to callers that may do I/O (req->script_max). */
#ifndef SHUNT_SCRIPT_H
#define SHUNT_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "lex.h"

enum shunt_lang {
	SHUNT_LANG_NONE,
	SHUNT_LANG_SHELL,
	SHUNT_LANG_PYTHON,
	SHUNT_LANG_PERL,
	SHUNT_LANG_RUBY,
	SHUNT_LANG_NODE,
	SHUNT_LANG_PHP,
	SHUNT_LANG_AWK,
};

/* Default size limit of a script file that is read and scanned; the
 * shim reads less (its decision runs in a 64 KiB stack arena). */
#define SHUNT_SCRIPT_MAX_DEFAULT (64u * 1024u)
#define SHUNT_SCRIPT_MAX_SHIM	 (8u * 1024u)

struct shunt_code {
	enum shunt_lang lang;
	const char *text; /* inline code or a here-document (not NUL-terminated), or NULL */
	size_t len;
	const char *path; /* the script file to read instead, or NULL */
};

/* The language of the interpreter named prog (a basename), or
 * SHUNT_LANG_NONE. */
enum shunt_lang shunt_script_lang(const char *prog);

/* Finds the code command c runs. True and *out filled (text set, or path
 * set) when c is an interpreter with code we can see; false otherwise
 * (not an interpreter, -m module, code from a pipe, sh -c which the lexer
 * unwraps itself). No allocation; async-signal-safe. */
bool shunt_script_find(const struct shunt_simple *c, struct shunt_code *out);

/* Reads the first max bytes of the regular file path (relative to cwd,
 * "~/X" from home) into a. 0 with *text and *len set (*more true when the file
 * is longer than max), or negative errno (not a regular file, unreadable,
 * -ENOMEM when a is too small). Never blocks on a FIFO. */
int shunt_script_read(const char *path, const char *cwd, const char *home, size_t max,
		      struct shunt_arena *a, const char **text, size_t *len, bool *more);

/* Finds the next shell command that code in lang hands to a shell as a
 * string literal (os.system("..."), system('...'), execSync(`...`), Perl
 * and Ruby backticks, popen) at or after *pos. True with the string
 * unescaped into a (NUL-terminated) and *pos advanced past it; false when
 * there is none more (or a is full). Linear in len over all calls. */
bool shunt_script_next_spawn(enum shunt_lang lang, const char *text, size_t len, size_t *pos,
			     struct shunt_arena *a, const char **cmd, size_t *cmdlen);

#endif
