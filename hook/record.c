#include "record.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "approval.h"
#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "counters.h"
#include "prompt.h"
#include "sha256.h"
#include "trust.h"

int shunt_record_approval_begin(struct shunt_approval_scope *s, struct shunt_ctx *ctx,
				const struct shunt_decision *d)
{
	s->server = NULL;
	uint8_t(*keys)[32] = NULL;
	size_t n = 0;
	struct shunt_error *e = NULL;
	if (shunt_approval_keys_from_cmdline(&d->cmdline, &keys, &n, &e) < 0) {
		shunt_error_free(&e);
		return -1;
	}
	struct shunt_approval_server *srv = calloc(1, sizeof(*srv));
	if (!srv || shunt_approval_server_start(srv, (const uint8_t(*)[32])keys, n, &e) < 0) {
		shunt_error_free(&e);
		free(srv);
		free(keys);
		return -1;
	}
	free(keys);
	s->server = srv;
	return srv->child_fd;
}

int shunt_record_approval_wait(struct shunt_approval_scope *s, pid_t pid)
{
	struct shunt_approval_server *srv = s->server;
	if (!srv)
		return -1;
	shunt_approval_server_close_child(srv);
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		shunt_approval_server_poll(srv, 100);
	}
	shunt_approval_server_stop(srv);
	free(srv);
	s->server = NULL;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static void record_count(enum shunt_action action, const struct shunt_decision *d,
			 enum shunt_source source, long long ms, bool cache_hit)
{
	struct shunt_counters *c = shunt_counters_map(NULL, true);
	if (!c)
		return;
	shunt_counters_record(c, action, d->risk, d->runtime, source, d->trusted, ms, cache_hit);
	shunt_counters_unmap(c);
}

static void record_append(struct shunt_ctx *ctx, struct shunt_audit_record *r)
{
	struct shunt_error *e = NULL;
	if (shunt_audit_append(NULL, r, ctx->cfg.audit_max_bytes, &e) < 0) {
		fprintf(stderr, "shunt: warning: audit log: %s\n", e ? e->msg : "write failed");
		shunt_error_free(&e);
	}
}

static const char *record_agent, *record_session;

void shunt_record_set_agent(const char *agent, const char *session)
{
	record_agent = agent;
	record_session = session;
}

static void record_fill(struct shunt_audit_record *r, struct shunt_ctx *ctx,
			enum shunt_source source, const char *cmd, const struct shunt_decision *d)
{
	shunt_audit_record_init(r);
	r->source = (int)source;
	r->command = cmd;
	r->cwd = ctx->cwd;
	r->action = (int)d->action;
	r->risk = (int)d->risk;
	r->score = d->score;
	r->rules = d->rules;
	r->nrules = d->nrules;
	r->profile = d->profile;
	r->runtime = d->runtime == SHUNT_RUNTIME_NONE ? -1 : (int)d->runtime;
	r->why = d->why;
	r->agent = record_agent;
	r->session = record_session;
}

void shunt_record_decision(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			   const struct shunt_decision *d, const char *approved_by, bool dry_run)
{
	struct shunt_audit_record r;
	record_fill(&r, ctx, source, cmd, d);
	r.event = "decision";
	char trust_by[80];
	if (!approved_by && d->trusted) {
		char hex[65];
		shunt_sha256_hex(d->trust_key, hex);
		snprintf(trust_by, sizeof(trust_by), "trust:%.16s", hex);
		approved_by = trust_by;
	}
	r.approved_by = approved_by;
	if (dry_run)
		r.runtime_flags = "dry-run";
	/* sandboxed runs are counted when they finish, with their duration */
	bool sandbox_follows =
	    !dry_run && (d->action == SHUNT_ACTION_SANDBOX ||
			 (approved_by && (strcmp(approved_by, "prompt:s") == 0 ||
					  strcmp(approved_by, "prompt:GODMODE") == 0)));
	/* one record per command: the exec record carries it, except for an
	 * agent's hook, which only decides (the command runs later, rewritten) */
	if (d->action == SHUNT_ACTION_SANDBOX && !dry_run && !record_agent)
		return;
	record_append(ctx, &r);
	if (!sandbox_follows)
		record_count(d->action, d, source, -1, false);
	if (d->trusted && d->trust_key[0] | d->trust_key[1]) {
		_cleanup_free_ char *path = shunt_trust_path();
		struct shunt_error *e = NULL;
		if (path && shunt_trust_touch(path, d->trust_key, (int64_t)time(NULL), &e) < 0)
			shunt_trust_touch(path, d->trust_key_global, (int64_t)time(NULL), NULL);
		shunt_error_free(&e);
	}
}

int shunt_record_prompt_unanswered(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
				   const struct shunt_decision *d, bool timed_out)
{
	shunt_record_decision(ctx, source, cmd, d,
			      timed_out ? "prompt:timeout" : "prompt:abandoned", false);
	char why[160];
	if (timed_out)
		snprintf(
		    why, sizeof(why),
		    "shunt: not run: no answer in %u s (prompt.timeout); to allow it, answer y "
		    "in time or raise prompt.timeout: ",
		    ctx->cfg.prompt_timeout);
	else
		snprintf(why, sizeof(why), "shunt: not run: the prompt was abandoned: ");
	shunt_prompt_say(why, cmd, "");
	return timed_out ? 126 : 130;
}

void shunt_record_sandbox(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			  const struct shunt_decision *d, const struct shunt_plan *plan, int status,
			  long long duration_ms, bool weaker, bool cache_hit)
{
	struct shunt_audit_record r;
	record_fill(&r, ctx, source, cmd, d);
	r.event = "exec";
	r.action = SHUNT_ACTION_SANDBOX;
	r.profile = plan->profile;
	r.runtime = (int)plan->runtime;
	r.network = (int)plan->network;
	r.allow_hosts = (const char *const *)plan->allow_hosts.v;
	r.nallow_hosts = plan->allow_hosts.n;
	r.duration_ms = duration_ms;
	r.has_exit_code = status >= 0;
	r.exit_code = status;
	r.run_id = plan->run_id;
	r.weaker_isolation = weaker;
	bool cache = cache_hit;
	r.cache_hit = cache;
	struct shunt_buf flags = {0};
	shunt_buf_printf(&flags, "profile=%s network=%s workspace=%s",
			 shunt_profile_name(plan->profile), shunt_netmode_name(plan->network),
			 plan->workspace_rw ? "rw" : "ro");
	if (plan->mem_bytes)
		shunt_buf_printf(&flags, " mem=%llu", plan->mem_bytes);
	if (plan->cpus > 0)
		shunt_buf_printf(&flags, " cpus=%.2f", plan->cpus);
	if (plan->timeout)
		shunt_buf_printf(&flags, " timeout=%u", plan->timeout);
	if (status < 0)
		shunt_buf_puts(&flags, " setup-failed");
	r.runtime_flags = flags.data;
	record_append(ctx, &r);
	shunt_buf_free(&flags);
	struct shunt_decision dd = *d;
	dd.runtime = plan->runtime;
	record_count(status < 0 ? SHUNT_ACTION_BLOCK : SHUNT_ACTION_SANDBOX, &dd, source,
		     duration_ms, cache);
}

int shunt_record_remember(struct shunt_ctx *ctx, const char *cmd, const struct shunt_decision *d)
{
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path) {
		fprintf(stderr, "shunt: out of memory\n");
		return -1;
	}
	const char *norm = d->cmdline.line ? d->cmdline.line : cmd;
	_cleanup_free_ char *exe = NULL;
	if (d->cmdline.n > 0 && d->cmdline.cmds[0].argv && d->cmdline.cmds[0].argv[0])
		exe = shunt_ctx_which(d->cmdline.cmds[0].argv[0]);
	struct shunt_trust_entry e;
	memset(&e, 0, sizeof(e));
	struct shunt_error *err = NULL;
	int rc = shunt_trust_entry_init(&e, norm, SHUNT_TRUST_EXACT, ctx->workspace, exe, "prompt",
					(int64_t)time(NULL), 0, NULL, &err);
	if (rc == 0)
		rc = shunt_trust_add(path, &e, &err);
	shunt_trust_entry_clear(&e);
	if (rc < 0) {
		fprintf(stderr, "shunt: %s\n", err ? err->msg : "cannot write the trust store");
		shunt_error_free(&err);
		return -1;
	}
	struct shunt_audit_record r;
	record_fill(&r, ctx, SHUNT_SOURCE_CLI, cmd, d);
	r.event = "trust-add";
	r.approved_by = "prompt:r";
	record_append(ctx, &r);
	return 0;
}

void shunt_record_unrun(struct shunt_ctx *ctx, enum shunt_source source, const char *cmd,
			const struct shunt_decision *d, const char *reason)
{
	struct shunt_audit_record r;
	record_fill(&r, ctx, source, cmd, d);
	r.event = "exec";
	r.has_exit_code = false;
	r.runtime_flags = reason;
	record_append(ctx, &r);
	record_count(SHUNT_ACTION_BLOCK, d, source, -1, false);
}
