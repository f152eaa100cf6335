/* One run in shuntd: the client's ask re-checked against the daemon's
 * own policy (blocked or unapproved commands, profiles it does not
 * grant), launched through sandbox/launch.h (warm from the pool when one
 * is ready) and audited. */
#ifndef SHUNT_JOB_H
#define SHUNT_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "context.h"
#include "launch.h"

/* What a client asks the daemon to run (strings borrowed). */
struct shunt_job_ask {
	char **argv;	   /* or NULL with line */
	const char *line;  /* runs as `shell -c line` */
	const char *shell; /* with line */
	char **env;	   /* the client's environment, NULL: the daemon's */
	enum shunt_source source;
	int profile, runtime;  /* -1: the policy's */
	bool approved;	       /* the client's prompt was answered "sandbox" */
	const char *workspace; /* NULL: the one of cwd */
	bool explicit_run;     /* `shunt run` from our uid: granted as in-process */
};

struct shunt_job {
	struct shunt_ctx ctx;
	struct shunt_arena arena;
	struct shunt_decision d;
	struct shunt_plan_opts opts;
	struct shunt_launch l; /* l.plan, l.runner, l.runtime, l.profile */
	enum shunt_source source;
	char *cmdline;
	char **env;
	bool have_ctx;
};

/* Decides the ask with this process's own policy (loaded for the current
 * directory, or the ask's workspace) and builds the plan. On refusal
 * returns -1 with an HTTP status in *code (403: the policy refuses) and
 * the reason in msg; refusals are audited. Free j with shunt_job_free
 * either way. */
int shunt_job_prepare(struct shunt_job *j, const struct shunt_job_ask *a, int *code, char *msg,
		      size_t msglen);

/* Runs the prepared plan in this process's stdio; the exit code as from
 * a runner (124 timeout, 125 setup failed). pool_ok false: always cold. */
int shunt_job_run(struct shunt_job *j, bool pool_ok);

/* Audits the finished run (status, wall time since t0). */
void shunt_job_audit(struct shunt_job *j, int status, double t0);

/* Frees what j owns (safe after a failed prepare). */
void shunt_job_free(struct shunt_job *j);

/* A runtime a client may ask for (sandboxing ones only), or -1. */
int shunt_job_runtime_parse(const char *s);

/* Frees a NULL-terminated malloc'd argv (NULL-safe). */
void shunt_job_free_argv(char **argv);

#endif
