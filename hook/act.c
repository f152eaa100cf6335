#include "act.h"
#include "notice.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "explain.h"
#include "fdrun.h"
#include "inherit.h"
#include "prompt.h"
#include "record.h"
#include "process.h"
#include "launch.h"
#include "registries.h"
#include "runner.h"

extern char **environ;

#define EXIT_BLOCKED   126
#define EXIT_NOSANDBOX 125

/* The command as one line for messages and trust entries. */
static char *act_command_text(const struct shunt_act_req *r, const struct shunt_decision *d)
{
	if (r->line)
		return strdup(r->line);
	struct shunt_buf b = {0};
	for (size_t i = 0; r->argv[i]; i++) {
		if (i)
			shunt_buf_putc(&b, ' ');
		const char *a = r->argv[i];
		bool plain = *a != '\0';
		for (const char *p = a; *p; p++)
			if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
			      ('0' <= *p && *p <= '9') || strchr("-_./=:,+@%^", *p)))
				plain = false;
		if (plain)
			shunt_buf_puts(&b, a);
		else
			shunt_buf_put_shquoted(&b, a);
	}
	(void)d;
	return shunt_buf_steal(&b);
}

void shunt_act_rules_suffix(struct shunt_buf *b, const struct shunt_decision *d)
{
	if (!d->nrules)
		return;
	shunt_buf_puts(b, " [");
	for (size_t i = 0; i < d->nrules; i++)
		shunt_buf_printf(b, "%s%s", i ? ", " : "", d->rules[i]);
	shunt_buf_puts(b, "]");
}

/* Replaces shunt with the command, bypassing the shim's exec wrappers
 * (raw syscall) so the gate cannot loop into itself; the environment,
 * LD_PRELOAD included, is kept so the command's children stay covered. */
/* The record the command and its own execs inherit (policy/inherit.h):
 * the risk accepted for it here, for the file exe names. */
static void set_record(const char *exe, const struct shunt_decision *d)
{
	struct stat st;
	if (!exe || stat(exe, &st) < 0) {
		unsetenv(SHUNT_INHERIT_ENV);
		return;
	}
	char rec[SHUNT_INHERIT_MAX];
	shunt_inherit_format(rec, 'g', (int)d->risk, d->remote_effect, (uint64_t)st.st_dev,
			     (uint64_t)st.st_ino);
	setenv(SHUNT_INHERIT_ENV, rec + sizeof(SHUNT_INHERIT_ENV), 1);
}

static int exec_host(const struct shunt_act_req *r, const struct shunt_decision *d,
		     struct shunt_error **err)
{
	if (r->line) {
		const char *sh = r->shell ? r->shell : "/bin/sh";
		char *argv[] = {(char *)sh, "-c", (char *)r->line, NULL};
		set_record(sh, d);
		syscall(SYS_execve, sh, argv, environ);
		return shunt_error_sys(err, errno, "running %s", sh);
	}
	_cleanup_free_ char *resolved = NULL;
	const char *exe = r->exe;
	if (!exe)
		exe = resolved = shunt_ctx_which(r->argv[0]);
	if (!exe) {
		fprintf(stderr, "shunt: %s: command not found\n", r->argv[0]);
		return 127;
	}
	set_record(exe, d);
	syscall(SYS_execve, exe, r->argv, environ);
	int e = errno;
	fprintf(stderr, "shunt: %s: %s\n", exe, strerror(e));
	return e == ENOENT ? 127 : 126;
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/* Runs an approved command as a child (so shunt can keep serving the
 * approval channel and record the exit code). */
static int run_host_child(struct shunt_ctx *ctx, const struct shunt_act_req *r,
			  const struct shunt_decision *d, struct shunt_error **err)
{
	struct shunt_approval_scope scope;
	int afd = shunt_record_approval_begin(&scope, ctx, d);
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "fork");
	if (pid == 0) {
		if (afd >= 0) {
			char v[16];
			snprintf(v, sizeof(v), "%d", afd);
			setenv("SHUNT_APPROVAL_FD", v, 1);
		}
		struct shunt_error *e = NULL;
		int rc = exec_host(r, d, &e);
		if (e)
			fprintf(stderr, "shunt: %s\n", e->msg);
		_exit(rc > 0 ? rc : 127);
	}
	if (afd >= 0)
		close(afd);
	struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	int status = shunt_record_approval_wait(&scope, pid);
	if (status < 0)
		status = wait_status(pid);
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	return status;
}

static void print_block(const struct shunt_decision *d, const char *cmd, const char *what)
{
	if (shunt_notice_json_wanted()) {
		shunt_notice_json(what, d, cmd, NULL, NULL);
		return;
	}
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "shunt: %s: ", what);
	size_t cols = shunt_prompt_columns(STDERR_FILENO);
	bool cut = strlen(cmd) > cols; /* one screen line of it, and its length */
	shunt_prompt_cut(&b, cmd, cols > b.len + 20 ? cols - b.len : 20);
	shunt_act_rules_suffix(&b, d);
	shunt_buf_printf(&b, ": %s\n", d->why);
	if (d->denylisted)
		shunt_buf_puts(
		    &b,
		    "shunt: it matches the denylist in your configuration (shunt config show)\n");
	else if (cut) {
		shunt_buf_puts(&b, "shunt: to allow it: shunt trust add 'THE WHOLE COMMAND'\n");
	} else {
		shunt_buf_puts(&b, "shunt: to allow it: shunt trust add ");
		shunt_buf_put_shquoted(&b, cmd);
		shunt_buf_putc(&b, '\n');
	}
	fputs(b.data, stderr);
	shunt_buf_free(&b);
}

static void print_plan(const struct shunt_decision *d, const struct shunt_plan *plan,
		       bool have_plan, const char *cmd, bool json)
{
	struct shunt_buf b = {0};
	if (json) {
		shunt_buf_puts(&b, "{\"dry_run\":true,\"command\":");
		shunt_buf_json_str(&b, cmd, strlen(cmd));
		shunt_buf_puts(&b, ",\"decision\":");
		shunt_decision_json(d, &b);
		/* the decision fields also at top level, for simple consumers */
		shunt_buf_printf(&b, ",\"action\":\"%s\",\"risk\":\"%s\",\"profile\":",
				 shunt_action_name(d->action), shunt_risk_name(d->risk));
		if (d->profile < 0)
			shunt_buf_puts(&b, "null");
		else
			shunt_buf_printf(&b, "\"%s\"", shunt_profile_name(d->profile));
		shunt_buf_puts(&b, ",\"runtime\":");
		if (d->runtime == SHUNT_RUNTIME_NONE)
			shunt_buf_puts(&b, "null");
		else
			shunt_buf_printf(&b, "\"%s\"", shunt_runtime_name(d->runtime));
		shunt_buf_puts(&b, ",\"rules\":[");
		for (size_t i = 0; i < d->nrules; i++) {
			if (i)
				shunt_buf_putc(&b, ',');
			shunt_buf_json_str(&b, d->rules[i], strlen(d->rules[i]));
		}
		shunt_buf_puts(&b, "],\"why\":");
		shunt_buf_json_str(&b, d->why, strlen(d->why));
		shunt_buf_puts(&b, ",\"plan\":");
		if (have_plan)
			shunt_plan_dump(plan, true, &b);
		else
			shunt_buf_puts(&b, "null");
		shunt_buf_puts(&b, "}\n");
		fputs(b.data, stdout);
	} else {
		shunt_buf_printf(&b, "shunt: dry run: would %s: ", shunt_action_name(d->action));
		shunt_prompt_cut(&b, cmd, shunt_prompt_columns(STDERR_FILENO) - 20);
		shunt_act_rules_suffix(&b, d);
		shunt_buf_printf(&b, "\n  risk: %s (score %d)\n  why: %s\n",
				 shunt_risk_name(d->risk), d->score, d->why);
		if (d->profile >= 0)
			shunt_buf_printf(&b, "  profile: %s\n  runtime: %s\n",
					 shunt_profile_name(d->profile),
					 shunt_runtime_name(d->runtime));
		if (have_plan)
			shunt_plan_dump(plan, false, &b);
		fputs(b.data, stdout);
	}
	shunt_buf_free(&b);
}

/* The launch of the decision's command in profile. A line runs as
 * `shell -c LINE`; line_argv holds that argv. */
static void act_launch(struct shunt_ctx *ctx, const struct shunt_act_req *r,
		       const struct shunt_decision *d, int profile, struct shunt_plan_opts *o,
		       char *line_argv[4], struct shunt_launch *l)
{
	*o = shunt_plan_opts_none();
	o->profile = profile;
	/* an install reaches its own registries (the decision's rules) */
	o->ecosystems = shunt_registries_of_rules(d->rules, d->nrules);
	o->accept_weaker_isolation = r->accept_weaker;
	line_argv[0] = (char *)(r->shell ? r->shell : "/bin/sh");
	line_argv[1] = "-c";
	line_argv[2] = (char *)r->line;
	line_argv[3] = NULL;
	*l = (struct shunt_launch){.cfg = &ctx->cfg,
				   .opts = o,
				   .argv = r->line ? line_argv : r->argv,
				   .gvisor_available = ctx->policy.gvisor_available,
				   .accept_weaker = r->accept_weaker,
				   .map_accepts = true,
				   .probe = true,
				   .no_daemon = r->no_daemon};
}

/* The one-line notice before a sandboxed command runs. */
static void print_notice(const struct shunt_decision *d, const char *runtime, const char *profile,
			 const char *suffix)
{
	if (shunt_notice_json_wanted()) {
		shunt_notice_json("sandboxed", d, NULL, runtime, profile);
		return;
	}
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "shunt: sandboxed (%s, %s): %s", runtime, profile, d->why);
	shunt_act_rules_suffix(&b, d);
	shunt_buf_printf(&b, "%s\n", suffix);
	fputs(b.data, stderr);
	shunt_buf_free(&b);
}

static void on_daemon_accept(void *ud, const char *runtime, const char *profile)
{
	print_notice(ud, runtime, profile, " (via shuntd)");
}

struct act_run {
	struct shunt_ctx *ctx;
	const struct shunt_act_req *r;
	const struct shunt_decision *d;
	const char *cmd;
};

/* Hands the sandboxed run to shuntd with our stdio (launch.h's daemon
 * op). 1 when that settled it (*status: the command's exit code, 126
 * when the daemon's policy refused it, 125 when the daemon went away
 * during the run: never run a second time here); 0: run it here. */
static int act_daemon(void *ud, const struct shunt_launch *l, const char *sock, int *status)
{
	struct act_run *u = ud;
	/* shuntd re-checks with the decision's profile: one picked at the
	 * prompt stays in this process */
	int granted = u->d->profile >= 0 ? u->d->profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	if (l->profile != granted)
		return 0;
	struct shunt_fdrun_req q = {.argv = u->r->argv,
				    .line = u->r->line,
				    .shell = u->r->shell,
				    .source = u->r->source,
				    .profile = l->profile,
				    .runtime = (int)l->runtime,
				    .approved = u->d->action == SHUNT_ACTION_PROMPT};
	struct shunt_buf msg = {0};
	fflush(NULL);
	enum shunt_fdrun_result res =
	    shunt_fdrun_client(sock, &q, on_daemon_accept, (void *)u->d, status, &msg);
	const char *why = msg.data ? msg.data : "";
	int done = 1;
	switch (res) {
	case SHUNT_FDRUN_RAN:
		break;
	case SHUNT_FDRUN_POLICY:
		fprintf(stderr, "shunt: not run: shuntd refused %s: %s\n", u->cmd, why);
		*status = EXIT_BLOCKED;
		break;
	case SHUNT_FDRUN_LOST:
		fprintf(stderr,
			"shunt: shuntd went away while running the command (%s); it is not run "
			"again here\n",
			why);
		*status = EXIT_NOSANDBOX;
		break;
	case SHUNT_FDRUN_NO_DAEMON:
	default:
		if (*why)
			fprintf(stderr, "shunt: shuntd cannot take it (%s); running it here\n",
				why);
		done = 0;
		break;
	}
	shunt_buf_free(&msg);
	return done;
}

/* " (network: HOST, HOST, HOST +N)": what an allowlisted run may reach,
 * so a refusal that follows is no surprise. */
static void network_suffix(struct shunt_buf *b, const struct shunt_plan *p)
{
	if (p->network == SHUNT_NET_NONE) {
		shunt_buf_puts(b, " (network: none)");
		return;
	}
	if (p->network != SHUNT_NET_RESTRICTED)
		return;
	shunt_buf_puts(b, " (network: ");
	for (size_t i = 0; i < p->allow_hosts.n && i < 3; i++)
		shunt_buf_printf(b, "%s%s", i ? ", " : "", p->allow_hosts.v[i]);
	if (p->allow_hosts.n > 3)
		shunt_buf_printf(b, " +%zu", p->allow_hosts.n - 3);
	shunt_buf_putc(b, ')');
}

static void act_starting(void *ud, const struct shunt_launch *l)
{
	struct act_run *u = ud;
	struct shunt_buf b = {0};
	if (l->have_plan)
		network_suffix(&b, &l->plan);
	if (l->weaker)
		shunt_buf_puts(&b, " (weaker isolation accepted)");
	print_notice(u->d, l->runner->name, shunt_profile_name(l->profile), b.data ? b.data : "");
	shunt_buf_free(&b);
	fflush(NULL);
}

/* Runs the command in the runner the policy maps profile to (through
 * shuntd when one answers); fails closed. */
static int act_sandbox(struct shunt_ctx *ctx, const struct shunt_act_req *r,
		       const struct shunt_decision *d, int profile, const char *cmd,
		       struct shunt_error **err)
{
	struct shunt_plan_opts o;
	char *line_argv[4];
	struct shunt_launch l;
	act_launch(ctx, r, d, profile, &o, line_argv, &l);
	struct act_run u = {ctx, r, d, cmd};
	struct shunt_launch_ops ops = {.ud = &u, .daemon = act_daemon, .starting = act_starting};
	bool cache_hit = false;
	int status = 0;
	struct shunt_error *lerr = NULL;
	int rc = shunt_launch_run(&l, &ops, &status, &lerr);
	if (l.via_daemon)
		return status;
	if (l.have_plan)
		cache_hit = shunt_process_cache_hit(&l.plan);
	if (rc < 0 && lerr && (lerr->exitcode == 126 || lerr->exitcode == 127) && l.have_plan) {
		/* the sandbox was fine; the command itself could not be executed */
		fprintf(stderr, "shunt: %s\n", lerr->msg);
		status = lerr->exitcode;
		shunt_error_free(&lerr);
		rc = 0;
	}
	if (rc < 0 && l.unrun && strcmp(l.unrun, "bad-plan") == 0) {
		shunt_record_unrun(ctx, r->source, cmd, d, l.unrun);
		*err = lerr;
		return -1;
	}
	if (rc < 0 && l.unrun) {
		fprintf(stderr, "shunt: cannot sandbox: %s\nshunt: %s\n", cmd,
			lerr ? lerr->msg : "unknown reason");
		shunt_error_free(&lerr);
		shunt_record_unrun(ctx, r->source, cmd, d, l.unrun);
		return EXIT_NOSANDBOX;
	}
	if (rc < 0) {
		fprintf(stderr, "shunt: sandbox setup failed, the command was not run: %s\n",
			lerr ? lerr->msg : "unknown error");
		shunt_error_free(&lerr);
		shunt_record_sandbox(ctx, r->source, cmd, d, &l.plan, -1, l.ms, l.weaker, false);
		shunt_launch_free(&l);
		return EXIT_NOSANDBOX;
	}
	if (rc == 1)
		fprintf(stderr, "shunt: timed out after %u s; the command was killed\n",
			l.plan.timeout);
	struct shunt_decision dd = *d;
	dd.runtime = l.runtime;
	shunt_record_sandbox(ctx, r->source, cmd, &dd, &l.plan, status, l.ms, l.weaker, cache_hit);
	shunt_launch_free(&l);
	return status;
}

/* The line hook's decision, carried (--decided): what records, details
 * and remembering need of the command is its lexed form, not a second
 * verdict. */
static int act_carried(const struct shunt_ctx *ctx, const struct shunt_act_req *r,
		       struct shunt_arena *a, struct shunt_decision *d, struct shunt_error **err)
{
	*d = *r->decided;
	struct shunt_lex_ctx lc = {.home = ctx->home, .cwd = ctx->cwd, .workspace = ctx->workspace};
	int rc;
	if (r->line) {
		rc = shunt_lex_line(r->line, strlen(r->line), &lc, a, &d->cmdline);
	} else {
		size_t n = 0;
		while (r->argv[n])
			n++;
		_cleanup_free_ char *found = r->exe ? NULL : shunt_ctx_which(r->argv[0]);
		const char *exe = r->exe ? r->exe : found;
		rc = shunt_lex_argv(exe ? shunt_arena_strdup(a, exe) : NULL,
				    (const char *const *)r->argv, n, &lc, a, &d->cmdline);
	}
	if (rc < 0)
		return shunt_error_set(err, -rc, "command too large to analyse");
	return 0;
}

int shunt_act(struct shunt_ctx *ctx, const struct shunt_act_req *r, struct shunt_error **err)
{
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int rc = -1;
	_cleanup_free_ char *cmd = NULL;
	if (r->decided ? act_carried(ctx, r, &a, &d, err) < 0
		       : shunt_ctx_decide(ctx, r->line, r->exe, r->argv, r->source,
					  ctx->interactive, &a, &d, err) < 0)
		goto out;
	cmd = act_command_text(r, &d);
	if (!cmd) {
		shunt_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	const char *dry = getenv("SHUNT_DRY_RUN");
	bool dry_run = r->dry_run || (dry && *dry && strcmp(dry, "0") != 0);

	if (d.action == SHUNT_ACTION_HOST) {
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, dry_run);
		fflush(NULL);
		if (r->no_exec)
			rc = run_host_child(ctx, r, &d, err);
		else
			rc = exec_host(r, &d, err);
		goto out;
	}
	if (dry_run) {
		struct shunt_plan plan;
		bool have_plan = false;
		struct shunt_plan_opts o;
		char *line_argv[4];
		struct shunt_launch l;
		if (d.action != SHUNT_ACTION_BLOCK && d.profile >= 0) {
			/* the decision's runtime, as the run would have it */
			act_launch(ctx, r, &d, d.profile, &o, line_argv, &l);
			o.runtime = (int)d.runtime;
			l.profile = d.profile;
			l.runtime = d.runtime;
			struct shunt_error *perr = NULL;
			have_plan = shunt_launch_plan(&l, &perr) == 0;
			if (have_plan)
				plan = l.plan;
			shunt_error_free(&perr);
		}
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, true);
		print_plan(&d, &plan, have_plan, cmd, r->json);
		if (have_plan)
			shunt_plan_free(&plan);
		rc = 0;
		goto out;
	}
	if (d.action == SHUNT_ACTION_BLOCK) {
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, false);
		print_block(&d, cmd, "blocked");
		rc = EXIT_BLOCKED;
		goto out;
	}
	if (d.action == SHUNT_ACTION_SANDBOX) {
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, false);
		rc = act_sandbox(ctx, r, &d, d.profile, cmd, err);
		goto out;
	}

	/* prompt */
	struct shunt_buf details = {0};
	shunt_explain_render(&d, false, &details);
	enum shunt_prompt_answer ans =
	    shunt_prompt_ask(cmd, &d, details.data ? details.data : "", ctx->cfg.prompt_timeout);
	shunt_buf_free(&details);
	switch (ans) {
	case SHUNT_PROMPT_YES:
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:y", false);
		rc = run_host_child(ctx, r, &d, err);
		break;
	case SHUNT_PROMPT_REMEMBER:
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:r", false);
		if (shunt_record_remember(ctx, cmd, &d) < 0)
			fprintf(stderr,
				"shunt: approved once, but could not remember it (see above)\n");
		else
			fprintf(stderr, "shunt: approved and remembered\n");
		rc = run_host_child(ctx, r, &d, err);
		break;
	case SHUNT_PROMPT_GODMODE: {
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:GODMODE", false);
		rc = act_sandbox(ctx, r, &d, SHUNT_PROFILE_GODMODE, cmd, err);
		break;
	}
	case SHUNT_PROMPT_SANDBOX: {
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:s", false);
		int profile = d.profile >= 0 ? d.profile : SHUNT_PROFILE_WORKSPACE_WRITE;
		rc = act_sandbox(ctx, r, &d, profile, cmd, err);
		break;
	}
	case SHUNT_PROMPT_NO_TTY:
		/* the terminal vanished between deciding and asking */
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, false);
		print_block(&d, cmd, "not run (no terminal to confirm)");
		rc = EXIT_BLOCKED;
		break;
	case SHUNT_PROMPT_TIMEOUT:
	case SHUNT_PROMPT_ABANDONED:
		rc = shunt_record_prompt_unanswered(ctx, r->source, cmd, &d,
						    ans == SHUNT_PROMPT_TIMEOUT);
		break;
	case SHUNT_PROMPT_NO:
	default:
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:n", false);
		shunt_prompt_say("shunt: not run: ", cmd, "");
		rc = EXIT_BLOCKED;
		break;
	}
out:
	shunt_arena_release(&a);
	return rc;
}
