/* The local fd-passing run: `shunt exec` hands a sandboxed command to
 * shuntd over its unix socket together with its own stdin, stdout and
 * stderr (SCM_RIGHTS), so interactive commands (a pipe or a terminal on
 * stdin) can use the daemon and its warm pools too.
 *
 * The exchange, next to the HTTP API on the same socket: the client sends
 * the 8-byte magic SHUNT_FDRUN_MAGIC, then frames of {1 type byte, 4-byte
 * big-endian payload length, payload}. The first sendmsg carries the three
 * fds and the request frame (JSON: argv or line+shell, cwd, env, source,
 * profile, runtime, approved). The daemon checks SO_PEERCRED, re-decides,
 * and answers with exactly one of ACCEPTED, REFUSED (a policy refusal) or
 * UNAVAILABLE (anything else: the client may run it itself); after
 * ACCEPTED the client may send SIGNAL frames and the daemon ends with one
 * EXIT frame. Either side closing the connection ends the run. */
#ifndef SHUNT_FDRUN_H
#define SHUNT_FDRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "types.h"

#define SHUNT_FDRUN_MAGIC     "SHUNTFD1"
#define SHUNT_FDRUN_MAGIC_LEN 8
#define SHUNT_FDRUN_HDR	      5
#define SHUNT_FDRUN_MAX	      (256 * 1024) /* largest frame payload (the env rides along) */

/* client -> daemon */
#define SHUNT_FDRUN_REQUEST 'Q' /* JSON; first frame, with the fds */
#define SHUNT_FDRUN_SIGNAL  'S' /* decimal signal number to pass on */
/* daemon -> client */
#define SHUNT_FDRUN_ACCEPTED	'A' /* "RUNTIME PROFILE": it runs there now */
#define SHUNT_FDRUN_REFUSED	'P' /* the daemon's policy refuses it: message */
#define SHUNT_FDRUN_UNAVAILABLE 'F' /* cannot serve it (not policy): message */
#define SHUNT_FDRUN_EXIT	'X' /* "STATUS SIGNAL": exit code (128+N), signal or 0 */

/* What the client asks for. Strings are borrowed. */
struct shunt_fdrun_req {
	char **argv;	   /* NULL when line is set */
	const char *line;  /* run as `shell -c line` */
	const char *shell; /* NULL: /bin/sh */
	enum shunt_source source;
	int profile;	       /* requested profile, -1: the daemon's decision */
	int runtime;	       /* requested runtime, -1: the daemon's mapping */
	bool approved;	       /* a human answered the client's prompt with "sandbox" */
	const char *workspace; /* NULL: the one of the client's directory */
	bool explicit_run;     /* `shunt run` chose profile and runtime itself */
};

enum shunt_fdrun_result {
	SHUNT_FDRUN_RAN,       /* *status holds the command's exit code */
	SHUNT_FDRUN_POLICY,    /* refused by the daemon's policy; msg says why */
	SHUNT_FDRUN_NO_DAEMON, /* nothing ran; msg empty when no daemon answered */
	SHUNT_FDRUN_LOST,      /* accepted, then the daemon went away: do not re-run */
};

/* Called once when the daemon accepted the run, before the command's
 * output can appear (runtime and profile as the daemon resolved them). */
typedef void (*shunt_fdrun_accepted_fn)(void *ud, const char *runtime, const char *profile);

/* Runs r through the daemon listening on sock with this process's fds
 * 0, 1 and 2 as the command's stdio and waits for it. SIGINT, SIGTERM
 * and SIGHUP received meanwhile are passed on to the command (the old
 * handlers are restored before returning). msg receives the daemon's
 * reason for POLICY/NO_DAEMON/LOST. Never runs anything itself. */
enum shunt_fdrun_result shunt_fdrun_client(const char *sock, const struct shunt_fdrun_req *r,
					   shunt_fdrun_accepted_fn on_accept, void *ud, int *status,
					   struct shunt_buf *msg);

/* Writes one frame (payload n <= SHUNT_FDRUN_MAX), no SIGPIPE. 0 or -1
 * with errno. */
int shunt_fdrun_send(int fd, char type, const void *p, size_t n);

/* Reads one frame into *payload (malloc'd, NUL-terminated). 1 with *type
 * and *n set, 0 on end of stream before a frame, -1 with errno (EPROTO
 * for an oversized or truncated frame). */
int shunt_fdrun_read(int fd, char *type, char **payload, size_t *n);

#endif
