/* shunt check --serve: one long-lived checker per interactive shell, so
 * the line hook decides without a fork+exec per line.
 *
 * Protocol (stdin -> stdout):
 * - On start the server writes "shunt-serve 1 PID\n".
 * - A request is three NUL-terminated fields: ID, CWD, LINE.
 *   ID is 1..64 of [A-Za-z0-9._:-] and is echoed in the reply, so the
 *   shell can tell a stale or foreign reply from its own. CWD is the
 *   directory to decide in; empty means the --parent process's current
 *   directory (from /proc, which unlike $PWD cannot be set to a lie), or
 *   the last one without --parent. LINE is any bytes but
 *   NUL, up to SHUNT_SERVE_LINE_MAX; a longer field is read to its end
 *   and answered with an error, so framing is never lost.
 * - One reply line per request: "ID ACTION\n" (host, sandbox, prompt or
 *   block), "ID {json}\n" with --json (the `check --json` object), or
 *   "ID error MESSAGE\n". A malformed ID is answered as "-".
 * - With --split, a line that is not host but whose risky simple commands
 *   can be taken out one by one is answered "ID split K\n" followed by K
 *   pairs SPEC\0WHY\0 and the rewritten line\0 (no newline after it); see
 *   split.h.
 * - Before each decision the configuration, rule packs and trust store are
 *   re-stat'ed (shunt_ctx_inputs_changed) and reloaded when they changed.
 * - It exits on EOF, when stdout is gone, and when the parent shell dies. */
#ifndef SHUNT_SERVE_H
#define SHUNT_SERVE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "types.h"

#define SHUNT_SERVE_ID_MAX   64
#define SHUNT_SERVE_LINE_MAX (256 * 1024)

struct shunt_serve_opts {
	bool json;
	int interactive; /* -1: as detected, else 0/1 */
	enum shunt_source source;
	pid_t parent; /* the shell to follow (exit when it dies), 0: none */
	bool split;   /* answer a splittable non-host line with its split (split.h) */
};

/* Serves requests from fd in, replying on fd out, until EOF, a write
 * failure or the parent's death (all return 0). Detaches from the
 * terminal's signals (Ctrl-C at the prompt must not kill it). Returns -1
 * with *err only when it cannot start. */
int shunt_serve_run(int in, int out, const struct shunt_serve_opts *o, struct shunt_error **err);

#endif
