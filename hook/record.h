/* Where shunt exec writes down what happened: audit log, counters, trust
 * store, and the approval channel for lines a human approved. */
#ifndef SHUNT_RECORD_H
#define SHUNT_RECORD_H

#include <stdbool.h>
#include <sys/types.h>

#include "context.h"
#include "runner.h"

struct shunt_approval_scope {
	void *server; /* approval server, NULL when inactive */
};

/* Starts the approval channel for an approved decision; returns the fd to
 * hand to the child (export SHUNT_APPROVAL_FD), or -1 when unavailable. */
int shunt_record_approval_begin(struct shunt_approval_scope *s, struct shunt_ctx *ctx,
				const struct shunt_decision *d);

/* Waits for pid while answering approval queries; returns its exit code
 * (128+N for a signal), or -1 when the scope is inactive (caller waits). */
int shunt_record_approval_wait(struct shunt_approval_scope *s, pid_t pid);

/* Names the AI agent and its session id for every record this process
 * writes from now on (shunt hook); NULLs clear it. The strings must
 * outlive the records. */
void shunt_record_set_agent(const char *agent, const char *session);

/* Appends a decision record (and counts it). approved_by: "prompt:y",
 * "prompt:r", "prompt:s", "prompt:n" or NULL. Never fails loudly: a failing
 * audit write becomes one warning on stderr. */
void shunt_record_decision(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			   const struct shunt_decision *d, const char *approved_by, bool dry_run);

/* A prompt that ended without an answer: timed_out (prompt.timeout
 * passed), else abandoned (Ctrl-C, hangup). Records it ("prompt:timeout"
 * or "prompt:abandoned"), says on stderr in one line that the command did
 * not run and why, and returns the exit code: 126 for a timeout, 130 for
 * an abandoned prompt. */
int shunt_record_prompt_unanswered(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
				   const struct shunt_decision *d, bool timed_out);

/* Appends the record of a finished sandbox run (status -1: setup failed). */
void shunt_record_sandbox(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			  const struct shunt_decision *d, const struct shunt_plan *plan, int status,
			  long long duration_ms, bool weaker, bool cache_hit);

/* Appends the record of a sandboxed command that could not run at all
 * (no runner, probe failed); reason goes into runtime_flags. */
void shunt_record_unrun(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			const struct shunt_decision *d, const char *reason);

/* Adds an exact-scope trust entry for cmd (the "r" answer). Prints its own
 * error on failure and returns -1. */
int shunt_record_remember(struct shunt_ctx *ctx, const char *cmd, const struct shunt_decision *d);

#endif
