/* shuntd: the control plane. A small HTTP/1.1 server on a unix socket
 * (and optionally loopback/remote TCP with a bearer token) that re-decides
 * and runs commands through the same runners as `shunt run`, streaming
 * their output back as framed records. The unix socket also takes the
 * local fd-passing run (fdrun.h), where the client's own stdio is the
 * command's. */
#ifndef SHUNT_SHUNTD_H
#define SHUNT_SHUNTD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Stream records in a /v1/run response body (after HTTP chunking is
 * undone): 1 type byte, 4-byte big-endian payload length, payload. */
#define SHUNT_SHUNTD_REC_STDOUT 'O'
#define SHUNT_SHUNTD_REC_STDERR 'E'
#define SHUNT_SHUNTD_REC_EXIT	'X' /* payload: decimal exit code */

#define SHUNT_SHUNTD_MAX_HEADER	 8192
#define SHUNT_SHUNTD_MAX_BODY	 65536
#define SHUNT_SHUNTD_MAX_CLIENTS 256 /* concurrent connections; more get 503 */

struct shunt_shuntd_opts {
	const char *socket_path; /* NULL = shunt_shuntd_socket_path() */
	const char *tcp;	 /* HOST:PORT to also listen on, or NULL */
	const char *token_file;	 /* required with tcp */
	const char *pidfile;	 /* written once listening, removed on exit; may be NULL */
	unsigned flush_interval; /* seconds between `shunt audit flush` runs, 0 = never */
};

/* The default socket path, $XDG_RUNTIME_DIR/shunt/shuntd.sock (malloc'd,
 * NULL on OOM). */
char *shunt_shuntd_socket_path(void);

/* The pid file next to the socket (malloc'd, NULL on OOM). */
char *shunt_shuntd_pid_path(void);

/* Listens and serves until SIGTERM/SIGINT. Each connection is handled in
 * a forked child. Returns 0 after a clean shutdown, -1 with *err when the
 * listeners cannot be set up (socket in use, bad token file). */
int shunt_shuntd_serve(const struct shunt_shuntd_opts *o, struct shunt_error **err);

/* What the daemon does for /v1/run, in this process: decides argv with
 * the policy for the current directory, refuses blocked/prompt commands,
 * profiles looser than granted and runtimes weaker than the policy's (-1
 * with *err, exitcode 126), else runs it in the granted (or the asked,
 * stricter) profile and runtime (-1 = the policy's) through the same
 * runner and returns its exit code. For --no-daemon / no daemon. */
int shunt_shuntd_run_local(char **argv, int profile, int runtime, struct shunt_error **err);

/* Compares a and b (lengths la, lb) in time that depends only on lb (the
 * secret's length). True when equal. Async-signal-safe. */
bool shunt_shuntd_token_equal(const char *a, size_t la, const char *b, size_t lb);

#endif
