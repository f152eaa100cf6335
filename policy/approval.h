/* The no-double-prompt channel: a line a human approved at the hook (or at
 * `shunt exec`'s prompt) is not prompted again by the shim for the
 * commands inside it, and no program can forge that approval.
 *
 * Design
 * ------
 * Server (shunt exec, after a human said y or r, and only then):
 *   shunt_approval_server_start() creates socketpair(AF_UNIX,
 *   SOCK_SEQPACKET) and keeps the set of approval keys of the approved
 *   line: shunt_approval_key() of the whole normalised line and of every
 *   simple command shunt_lex_line() found in it (unwrapped ones included).
 *   The child end is handed to the command as fd N with
 *   SHUNT_APPROVAL_FD=N in its environment; exec keeps serving queries
 *   (shunt_approval_server_poll) in its wait loop for the life of the run.
 *
 * Query (shim, shunt_approval_check, async-signal-safe, no malloc):
 *   1. SO_PEERCRED on fd N names the process that created the socketpair.
 *      Its uid must be ours, /proc/<pid>/exe must be exactly the shunt
 *      gate binary the shim computed, and that pid must be an ancestor of
 *      the caller (ppid chain read from /proc/<pid>/stat).
 *   2. The shim makes a private reply socketpair with SO_PASSCRED on its
 *      own end, and sends the 32-byte key with the other end attached
 *      (SCM_RIGHTS) over fd N.
 *   3. The server answers one byte ('Y' or 'N') on the reply socket. The
 *      kernel stamps the sender's real pid on it (SCM_CREDENTIALS, which
 *      cannot be faked without CAP_SYS_ADMIN); the shim accepts 'Y' only
 *      when that pid is the verified server pid. It waits at most 500 ms.
 *
 * Why it cannot be forged
 *   - An environment variable pointing at any other fd fails step 1: the
 *     creator of that socket is not the gate binary, or not an ancestor.
 *   - A socket created by a process that later execs shunt, while a
 *     sibling keeps the other end and answers, fails step 3: the answer
 *     carries the sibling's pid.
 *   - The only process that passes is a shunt binary serving approvals,
 *     and shunt only serves keys of a line a human approved on the
 *     terminal. Files are not involved at all.
 *   Limits: a same-uid process that can ptrace shunt exec could still
 *   inject answers (as it could type into the terminal); Yama's
 *   ptrace_scope closes that. The shim is not a security boundary by
 *   itself (see README).
 *
 * Approvals are per run: when exec's child exits, the server stops and the
 * fd is dead; grandchildren inherit the fd and the variable and are covered
 * while the approved line runs (that is the point: `make` approved at the
 * prompt runs its recipe's commands without new prompts only when they are
 * commands of the approved line; others are still decided normally). */
#ifndef SHUNT_APPROVAL_H
#define SHUNT_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHUNT_APPROVAL_ENV	  "SHUNT_APPROVAL_FD"
#define SHUNT_APPROVAL_TIMEOUT_MS 500

struct shunt_cmdline;

struct shunt_approval_server {
	int fd;		     /* server end (O_CLOEXEC), -1 when stopped */
	int child_fd;	     /* end for the child (not CLOEXEC), -1 once closed */
	uint8_t (*keys)[32]; /* owned copy, sorted */
	size_t nkeys;
	unsigned long answered; /* queries answered (for tests/metrics) */
};

/* The approval key of one normalised command: the global-scope trust key,
 * shunt_trust_key(1, NULL, norm). The shim passes
 * shunt_decision.trust_key_global of the exec it is deciding.
 * Async-signal-safe. */
void shunt_approval_key(const char *norm, uint8_t out[32]);

/* Collects the approval keys of a lexed line: its normalised line and every
 * simple command's norm. *keys is malloc'd (caller frees), duplicates
 * removed. Returns 0, or -1 with *err set (ENOMEM). */
int shunt_approval_keys_from_cmdline(const struct shunt_cmdline *cl, uint8_t (**keys)[32],
				     size_t *n, struct shunt_error **err);

/* Starts a server approving exactly keys[0..n) (copied). Returns the
 * child-side fd (>= 0, inheritable: dup2 it or keep it in the child and
 * export SHUNT_APPROVAL_FD=<fd>), or -1 with *err set. The server end is
 * close-on-exec. s is zeroed on failure; stop is safe on it. */
int shunt_approval_server_start(struct shunt_approval_server *s, const uint8_t (*keys)[32],
				size_t n, struct shunt_error **err);

/* Closes the child-side end in the parent (call right after fork, so only
 * the child holds it). NULL-safe, idempotent. */
void shunt_approval_server_close_child(struct shunt_approval_server *s);

/* Answers every pending query, waiting up to timeout_ms (0: don't wait,
 * -1: wait forever) for the first one. Returns the number answered (>= 0),
 * or -1 with errno set (EINTR is passed through: retry). Never blocks on a
 * misbehaving client: replies are sent MSG_DONTWAIT. */
int shunt_approval_server_poll(struct shunt_approval_server *s, int timeout_ms);

/* The server fd to add to the caller's own poll set (POLLIN), or -1. */
int shunt_approval_server_fd(const struct shunt_approval_server *s);

/* Closes both ends and frees the keys. NULL-safe, idempotent. */
void shunt_approval_server_stop(struct shunt_approval_server *s);

/* The shim side: is the command with this approval key part of a line a
 * human approved? Reads SHUNT_APPROVAL_FD from the environment and runs
 * the checks described above. gate_path must be the canonical absolute
 * path of the shunt binary (as /proc/<pid>/exe shows it). Returns 1
 * approved, 0 not (no channel, forged channel, unknown key, timeout or
 * any error). Async-signal-safe: syscalls only, no malloc, no stdio; errno
 * is preserved. Safe between vfork and exec. */
int shunt_approval_check(const char *gate_path, const uint8_t key[32]);

/* Like shunt_approval_check with an explicit fd instead of the
 * environment (for callers that parsed the variable themselves). */
int shunt_approval_check_fd(int fd, const char *gate_path, const uint8_t key[32]);

#endif
