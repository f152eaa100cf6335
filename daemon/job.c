/* One run in shuntd (job.h): the re-check of the client's decision, the
 * launch (sandbox/launch.h), the audit record. */
#include "job.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "record.h"
#include "registries.h"
#include "shuntd.h"
#include "stats.h"

extern char **environ;

void shunt_job_free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* A runtime a client may ask for (sandboxing ones only), or -1. */
int shunt_job_runtime_parse(const char *s)
{
	static const enum shunt_runtime ok[] = {SHUNT_RUNTIME_PROCESS, SHUNT_RUNTIME_GVISOR,
						SHUNT_RUNTIME_PODMAN, SHUNT_RUNTIME_DOCKER,
						SHUNT_RUNTIME_MICROVM};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (strcmp(s, shunt_runtime_name(ok[i])) == 0)
			return (int)ok[i];
	return -1;
}

static bool stricter_or_equal(int want, int granted)
{
	return want >= 0 && want <= granted;
}

void shunt_job_free(struct shunt_job *j)
{
	shunt_launch_free(&j->l);
	free(j->env);
	if (j->have_ctx) {
		shunt_arena_release(&j->arena);
		shunt_ctx_free(&j->ctx);
	}
	free(j->cmdline);
}

/* Variables the plan builder reads for itself: the daemon's, not a
 * client's. */
static bool daemon_owned(const char *kv)
{
	return strncmp(kv, "HOME=", 5) == 0 || strncmp(kv, "TMPDIR=", 7) == 0 ||
	       strncmp(kv, "XDG_", 4) == 0 || strncmp(kv, "SHUNT_", 6) == 0;
}

/* The client's environment with daemon_owned() variables replaced by
 * ours (strings borrowed; the array is malloc'd, NULL on OOM). */
static char **mix_env(char **client)
{
	size_t n = 0, k = 0;
	for (char **e = client; *e; e++)
		n++;
	for (char **e = environ; e && *e; e++)
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (char **e = client; *e; e++)
		if (!daemon_owned(*e))
			v[k++] = *e;
	for (char **e = environ; e && *e; e++)
		if (daemon_owned(*e))
			v[k++] = *e;
	return v;
}

/* Decides the command with this process's own policy (loaded for the
 * current directory) and builds the plan. On refusal returns -1 with an
 * HTTP status in *code (403: the policy refuses) and the reason in msg;
 * refusals are audited. */
int shunt_job_prepare(struct shunt_job *j, const struct shunt_job_ask *a, int *code, char *msg,
		      size_t msglen)
{
	memset(j, 0, sizeof(*j));
	j->source = a->source;
	int want = a->profile, want_rt = a->runtime;
	struct shunt_buf cl = {0};
	if (a->line)
		shunt_buf_puts(&cl, a->line);
	for (char **v = a->line ? NULL : a->argv; v && *v; v++) {
		if (v != a->argv)
			shunt_buf_putc(&cl, ' ');
		shunt_buf_puts(&cl, *v);
	}
	j->cmdline = cl.oom ? NULL : shunt_buf_steal(&cl);
	shunt_buf_free(&cl);
	*code = 500;
	if (!j->cmdline) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	struct shunt_error *err = NULL;
	/* the policy of the workspace asked for (its .shunt.yaml), as
	 * in-process; then back to the client's directory */
	char here[PATH_MAX];
	bool moved = a->workspace && getcwd(here, sizeof(here)) && chdir(a->workspace) == 0;
	int lrc = shunt_ctx_load(&j->ctx, SHUNT_CTX_NO_SNAPSHOT, &err);
	if (moved && chdir(here) < 0) {
		snprintf(msg, msglen, "cwd: cannot go back to %.400s", here);
		if (lrc == 0)
			shunt_ctx_free(&j->ctx);
		shunt_error_free(&err);
		return -1;
	}
	if (lrc < 0) {
		snprintf(msg, msglen, "loading policy: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		return -1;
	}
	j->have_ctx = true;
	shunt_arena_init_heap(&j->arena);
	/* our own decision; nobody is at a terminal here, except that a
	 * client may say its human chose "sandbox" at a prompt */
	if (shunt_ctx_decide(&j->ctx, a->line, NULL, a->line ? NULL : a->argv, j->source,
			     a->approved, &j->arena, &j->d, &err) < 0) {
		snprintf(msg, msglen, "deciding: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		*code = 400;
		return -1;
	}
	/* an approved prompt may run sandboxed (never on the host): a client
	 * of this uid could have answered "y" and run it unsandboxed. `shunt
	 * run` from our uid is not refused either: it asked for a sandbox
	 * itself and runs the same command sandboxed without a daemon. */
	if (!a->explicit_run && (j->d.action == SHUNT_ACTION_BLOCK ||
				 (j->d.action == SHUNT_ACTION_PROMPT && !a->approved))) {
		snprintf(msg, msglen, "%s by policy: %s",
			 j->d.action == SHUNT_ACTION_BLOCK ? "blocked"
							   : "needs approval (no prompt here)",
			 j->d.why);
		shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
		*code = 403;
		return -1;
	}
	/* host-decided commands still run sandboxed here, in the default
	 * profile; the client may only ask for an equal or stricter one,
	 * except `shunt run` from our own uid: it may run any profile
	 * in-process, so it gets here what it would get there */
	int granted = j->d.profile >= 0 ? j->d.profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	int profile = granted;
	if (want >= 0) {
		if (!a->explicit_run && !stricter_or_equal(want, granted)) {
			snprintf(msg, msglen, "profile %s not granted by policy (at most %s)",
				 shunt_profile_name(want), shunt_profile_name(granted));
			shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
			*code = 403;
			return -1;
		}
		profile = want;
	}
	/* the command's variables come from the client's environment,
	 * filtered by our sandbox.env_whitelist; what shapes the sandbox
	 * (HOME: the secrets hidden; XDG_*, SHUNT_*) stays ours. The runners
	 * run with our environment. */
	if (a->env && !(j->env = mix_env(a->env))) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	j->opts = shunt_plan_opts_none();
	j->opts.profile = profile;
	j->opts.runtime = want_rt;
	j->opts.workspace = a->workspace;
	j->opts.ecosystems = shunt_registries_of_rules(j->d.rules, j->d.nrules);
	char *line_argv[] = {(char *)(a->shell ? a->shell : "/bin/sh"), "-c", (char *)a->line,
			     NULL};
	/* never a runtime weaker than our map (an isolation floor, for every
	 * client): the client chose with the same map, so only a client
	 * under another policy meets it */
	j->l = (struct shunt_launch){.cfg = &j->ctx.cfg,
				     .opts = &j->opts,
				     .argv = a->line ? line_argv : a->argv,
				     .env = j->env,
				     .gvisor_available = j->ctx.policy.gvisor_available,
				     .runtime_floor = true,
				     .no_daemon = true};
	if (shunt_launch_choose(&j->l, &err) < 0) {
		snprintf(msg, msglen, "%.480s", err ? err->msg : "no runner");
		if (err && err->exitcode == 126) {
			shunt_record_decision(&j->ctx, j->source, j->cmdline, &j->d, NULL, false);
			*code = 403;
		} else {
			shunt_record_unrun(&j->ctx, j->source, j->cmdline, &j->d, j->l.unrun);
		}
		shunt_error_free(&err);
		return -1;
	}
	if (shunt_launch_plan(&j->l, &err) < 0) {
		snprintf(msg, msglen, "plan: %.400s", err ? err->msg : "failed");
		shunt_error_free(&err);
		shunt_record_unrun(&j->ctx, j->source, j->cmdline, &j->d, "bad-plan");
		return -1;
	}
	j->l.plan.interactive = false;
	return 0;
}

static int pool_warm(void *ud, const struct shunt_launch *l, bool *used, bool *cold, int *status,
		     struct shunt_error **err)
{
	return shunt_pool_run(&l->plan, used, cold, status, err);
}

static void pool_cold_done(void *ud)
{
	shunt_pool_cold_done();
}

/* Runs the prepared plan in this process's stdio (exit code as from a
 * runner: 124 timeout, 125 setup failed). pool_ok false: always cold. */
int shunt_job_run(struct shunt_job *j, bool pool_ok)
{
	int status = 0;
	struct shunt_error *rerr = NULL;
	struct shunt_launch_ops ops = {.warm = pool_ok ? pool_warm : NULL,
				       .cold_done = pool_cold_done};
	int rc = shunt_launch_exec(&j->l, &ops, &status, &rerr);
	if (rc < 0) {
		dprintf(2, "shunt: cannot sandbox: %s\nshunt: the command was not run\n",
			rerr ? rerr->msg : "runner failed");
		status = rerr && rerr->exitcode ? rerr->exitcode : 125;
	} else if (rc == 1) {
		dprintf(2, "shunt: timed out after %u s\n", j->l.plan.timeout);
		status = 124;
	}
	shunt_error_free(&rerr);
	return status & 0xff;
}

void shunt_job_audit(struct shunt_job *j, int status, double t0)
{
	j->d.profile = j->l.profile;
	j->d.runtime = j->l.runtime;
	shunt_record_sandbox(&j->ctx, j->source, j->cmdline, &j->d, &j->l.plan, status,
			     (long long)((shunt_stats_now() - t0) * 1000), false, false);
}

int shunt_shuntd_run_local(char **argv, int profile, int runtime, struct shunt_error **err)
{
	double t0 = shunt_stats_now();
	char msg[512];
	int code = 0;
	struct shunt_job j;
	struct shunt_job_ask a = {
	    .argv = argv, .source = SHUNT_SOURCE_CLI, .profile = profile, .runtime = runtime};
	if (shunt_job_prepare(&j, &a, &code, msg, sizeof(msg)) < 0) {
		shunt_job_free(&j);
		shunt_error_set(err, code == 403 ? EPERM : EINVAL, "%s", msg);
		(*err)->exitcode = code == 403 ? 126 : code == 400 ? 2 : 125;
		return -1;
	}
	int status = shunt_job_run(&j, true);
	shunt_job_audit(&j, status, t0);
	shunt_job_free(&j);
	return status;
}
