/* An exec as the layers see it. The name a program was invoked by and the
 * file it resolves to can differ: /usr/bin/npm is a symlink to
 * npm-cli.js, node_modules/.bin/tsc to ../typescript/bin/tsc, and after
 * the kernel reads a shebang the interpreter runs the launcher script
 * (`node /usr/bin/npm install x`, `python3 .../bin/pip install x`). The
 * hook sees the name the user typed; the shim sees a path and an argv.
 * Every layer decides an exec through shunt_decide_exec, which decides
 * each view of it and keeps the strictest, so one command gets one
 * decision whichever layer sees it first. */
#ifndef SHUNT_EXEC_VIEWS_H
#define SHUNT_EXEC_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define SHUNT_EXEC_VIEWS 4

/* One name an exec is decided under. */
struct shunt_exec_view {
	const char *exe; /* the program as the lexer names it (a path, or a bare tool name) */
	const char *const *argv;
	size_t argc;
	const char *what; /* "resolved", "invoked", "script", "launcher" */
};

/* p with symlinks in its last component followed (into buf, cap bytes),
 * so a link named "del" to rm is still rm; p itself when it is no link or
 * cannot be read. No malloc; async-signal-safe. */
const char *shunt_exec_follow_links(const char *p, char *buf, size_t cap);

/* True when prog (a basename) is an interpreter that runs launcher
 * scripts: node, nodejs, python*, pypy*, ruby. Async-signal-safe. */
bool shunt_exec_is_interpreter(const char *prog);

/* The tool an interpreter's argv runs (`node .../npm-cli.js` -> "npm",
 * `python3 -m pip` -> "pip", `python3 .../pip/__main__.py` -> "pip",
 * `node .bin/tsc` -> "tsc") into buf (cap bytes), with *rest the index of
 * its first argument; NULL when argv runs inline code or no script.
 * Async-signal-safe. */
const char *shunt_exec_launcher(const char *const *argv, size_t argc, char *buf, size_t cap,
				size_t *rest);

/* The views of an exec of argv: the resolved program first, then the
 * invoked path when its name differs, the tool a launcher script run by
 * its own path stands for (npm-cli.js), then the launcher's tool when an
 * interpreter runs one. Returns how many (at least 1); memory from a.
 * Async-signal-safe with a fixed arena. */
size_t shunt_exec_views(const char *invoked, const char *resolved, const char *const *argv,
			size_t argc, struct shunt_arena *a,
			struct shunt_exec_view v[SHUNT_EXEC_VIEWS]);

/* Decides the argv request req (req->line NULL, req->exe the resolved
 * program) under every view, invoked being the path as exec'd (NULL: the
 * same as req->exe). *out is the strictest decision (action, then risk,
 * then score; the first view on a tie), *which (may be NULL) the view it
 * came from. A trust entry matching any view holds (it is bound to the
 * file) unless a view is denylisted. Returns 0, or -ENOMEM like shunt_decide. Async-signal-safe
 * with a fixed arena. */
int shunt_decide_exec(const struct shunt_policy *p, const struct shunt_request *req,
		      const char *invoked, struct shunt_arena *a, struct shunt_decision *out,
		      struct shunt_exec_view *which);

#endif
