#include "act.h"

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
#include "prompt.h"
#include "record.h"
#include "process.h"
#include "runner.h"
#include "shuntd.h"

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
		if (plain) {
			shunt_buf_puts(&b, a);
		} else {
			shunt_buf_putc(&b, '\'');
			for (const char *p = a; *p; p++) {
				if (*p == '\'')
					shunt_buf_puts(&b, "'\\''");
				else
					shunt_buf_putc(&b, *p);
			}
			shunt_buf_putc(&b, '\'');
		}
	}
	(void)d;
	return shunt_buf_steal(&b);
}

/* Single-quotes s for a shell (the "how to allow it" hint). */
static void shell_quote(struct shunt_buf *b, const char *s)
{
	shunt_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			shunt_buf_puts(b, "'\\''");
		else
			shunt_buf_putc(b, *s);
	}
	shunt_buf_putc(b, '\'');
}

static void rules_suffix(struct shunt_buf *b, const struct shunt_decision *d)
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
static int exec_host(const struct shunt_act_req *r, struct shunt_error **err)
{
	if (r->line) {
		const char *sh = r->shell ? r->shell : "/bin/sh";
		char *argv[] = {(char *)sh, "-c", (char *)r->line, NULL};
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
		int rc = exec_host(r, &e);
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
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "shunt: %s: ", what);
	size_t cols = shunt_prompt_columns(STDERR_FILENO);
	bool cut = strlen(cmd) > cols; /* one screen line of it, and its length */
	shunt_prompt_cut(&b, cmd, cols > b.len + 20 ? cols - b.len : 20);
	rules_suffix(&b, d);
	shunt_buf_printf(&b, ": %s\n", d->why);
	if (d->denylisted)
		shunt_buf_puts(
		    &b,
		    "shunt: it matches the denylist in your configuration (shunt config show)\n");
	else if (cut) {
		shunt_buf_puts(&b, "shunt: to allow it: shunt trust add 'THE WHOLE COMMAND'\n");
	} else {
		shunt_buf_puts(&b, "shunt: to allow it: shunt trust add ");
		shell_quote(&b, cmd);
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
		rules_suffix(&b, d);
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

/* Builds the sandbox plan for the decision. A line runs as `sh -c LINE`. */
static int act_plan(struct shunt_ctx *ctx, const struct shunt_act_req *r,
		    const struct shunt_decision *d, int profile, enum shunt_runtime rt,
		    struct shunt_plan *plan, struct shunt_error **err)
{
	struct shunt_plan_opts o;
	memset(&o, 0, sizeof(o));
	o.profile = profile;
	o.runtime = (int)rt;
	o.network = -1;
	o.timeout = -1;
	o.mem_bytes = -1;
	o.cpus = -1;
	o.uid = o.gid = -1;
	o.accept_weaker_isolation = r->accept_weaker;
	char *line_argv[] = {(char *)(r->shell ? r->shell : "/bin/sh"), "-c", (char *)r->line,
			     NULL};
	memset(plan, 0, sizeof(*plan));
	return shunt_plan_build(plan, &ctx->cfg, &o, r->line ? line_argv : r->argv, err);
}

/* The one-line notice before a sandboxed command runs. */
static void print_notice(const struct shunt_decision *d, const char *runtime, const char *profile,
			 const char *suffix)
{
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "shunt: sandboxed (%s, %s): %s", runtime, profile, d->why);
	rules_suffix(&b, d);
	shunt_buf_printf(&b, "%s\n", suffix);
	fputs(b.data, stderr);
	shunt_buf_free(&b);
}

static void on_daemon_accept(void *ud, const char *runtime, const char *profile)
{
	print_notice(ud, runtime, profile, " (via shuntd)");
}

/* Hands the sandboxed run to shuntd with our stdio. True when that
 * settled it (*status: the command's exit code, 126 when the daemon's
 * policy refused it, 125 when the daemon went away during the run: never
 * run a second time here; *ran: it ran there); false: run it in this
 * process. */
static bool act_via_daemon(const struct shunt_act_req *r, const struct shunt_decision *d,
			   int profile, enum shunt_runtime rt, const char *cmd, int *status,
			   bool *ran)
{
	const char *nd = getenv("SHUNT_NO_DAEMON");
	if (r->no_daemon || (nd && strcmp(nd, "1") == 0))
		return false;
	_cleanup_free_ char *sock = shunt_shuntd_socket_path();
	struct stat st;
	if (!sock || stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	struct shunt_fdrun_req q = {.argv = r->argv,
				    .line = r->line,
				    .shell = r->shell,
				    .source = r->source,
				    .profile = profile,
				    .runtime = (int)rt,
				    .approved = d->action == SHUNT_ACTION_PROMPT};
	struct shunt_buf msg = {0};
	fflush(NULL);
	enum shunt_fdrun_result res =
	    shunt_fdrun_client(sock, &q, on_daemon_accept, (void *)d, status, &msg);
	const char *why = msg.data ? msg.data : "";
	bool done = true;
	switch (res) {
	case SHUNT_FDRUN_RAN:
		*ran = true;
		break;
	case SHUNT_FDRUN_POLICY:
		fprintf(stderr, "shunt: not run: shuntd refused %s: %s\n", cmd, why);
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
		done = false;
		break;
	}
	shunt_buf_free(&msg);
	return done;
}

/* Runs the command in the runner the decision names; fails closed. */
static int act_sandbox(struct shunt_ctx *ctx, const struct shunt_act_req *r,
		       const struct shunt_decision *d, int profile, const char *cmd, bool *ran,
		       struct shunt_error **err)
{
	*ran = false;
	/* the runtime follows the profile actually used (s and GODMODE may
	 * differ from the decision's) */
	enum shunt_runtime rt = ctx->policy.runtime;
	if (rt == SHUNT_RUNTIME_AUTO && profile >= 0 && profile < 4)
		rt = ctx->policy.profile_runtime[profile];
	if (rt == SHUNT_RUNTIME_AUTO || rt == SHUNT_RUNTIME_NONE)
		rt = ctx->policy.gvisor_available ? SHUNT_RUNTIME_GVISOR : SHUNT_RUNTIME_PROCESS;
	const struct shunt_runner *runner = shunt_runner_get(rt);
	bool system_profile =
	    profile == SHUNT_PROFILE_SYSTEM_WRITE || profile == SHUNT_PROFILE_GODMODE;
	bool weaker = runner && system_profile && rt == SHUNT_RUNTIME_PROCESS;
	if (!runner && system_profile &&
	    (r->accept_weaker || ctx->cfg.sandbox.accept_weaker_isolation)) {
		runner = shunt_runner_get(SHUNT_RUNTIME_PROCESS);
		rt = SHUNT_RUNTIME_PROCESS;
		weaker = true;
	}
	/* shuntd re-decides: a profile other than the decision's (picked at
	 * the prompt) or weaker isolation accepted here stays in this process */
	int granted = d->profile >= 0 ? d->profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	int dstatus = 0;
	if (!weaker && profile == granted && act_via_daemon(r, d, profile, rt, cmd, &dstatus, ran))
		return dstatus;
	if (!runner) {
		fprintf(stderr,
			"shunt: cannot sandbox: %s\nshunt: the %s runner needed for %s is not "
			"available "
			"here, so the command was not run.\n",
			cmd, shunt_runtime_name(rt), shunt_profile_name(profile));
		if (system_profile)
			fprintf(stderr,
				"shunt: to use the process sandbox with a throwaway overlay root "
				"instead, add --i-accept-weaker-isolation\n");
		else
			fprintf(stderr,
				"shunt: set sandbox.runtime: process in your config to use the "
				"built-in process sandbox\n");
		shunt_record_unrun(ctx, r->source, cmd, d, "no-runner");
		return EXIT_NOSANDBOX;
	}
	struct shunt_error *perr = NULL;
	if (runner->probe && runner->probe(&perr) < 0) {
		fprintf(stderr,
			"shunt: cannot sandbox: %s\nshunt: %s runner unavailable: %s\n"
			"shunt: the command was not run (run 'shunt doctor' for details)\n",
			cmd, runner->name, perr ? perr->msg : "unknown reason");
		shunt_error_free(&perr);
		shunt_record_unrun(ctx, r->source, cmd, d, "runner-unavailable");
		return EXIT_NOSANDBOX;
	}
	struct shunt_plan plan;
	struct shunt_decision dd = *d;
	dd.runtime = rt;
	if (act_plan(ctx, r, &dd, profile, rt, &plan, err) < 0) {
		shunt_record_unrun(ctx, r->source, cmd, d, "bad-plan");
		return -1;
	}
	if (weaker)
		plan.accept_weaker_isolation = true;
	print_notice(d, runner->name, shunt_profile_name(profile),
		     weaker ? " (weaker isolation accepted)" : "");
	int status = 0;
	bool cache_hit = shunt_process_cache_hit(&plan);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct shunt_error *rerr = NULL;
	fflush(NULL);
	int rc = runner->run(&plan, &status, &rerr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc < 0 && rerr && (rerr->exitcode == 126 || rerr->exitcode == 127)) {
		/* the sandbox was fine; the command itself could not be executed */
		fprintf(stderr, "shunt: %s\n", rerr->msg);
		status = rerr->exitcode;
		shunt_error_free(&rerr);
		rc = 0;
	}
	if (rc < 0) {
		fprintf(stderr, "shunt: sandbox setup failed, the command was not run: %s\n",
			rerr ? rerr->msg : "unknown error");
		shunt_error_free(&rerr);
		shunt_record_sandbox(ctx, r->source, cmd, d, &plan, -1, ms, weaker, false);
		shunt_plan_free(&plan);
		return EXIT_NOSANDBOX;
	}
	if (rc == 1)
		fprintf(stderr, "shunt: timed out after %u s; the command was killed\n",
			plan.timeout);
	*ran = true;
	shunt_record_sandbox(ctx, r->source, cmd, d, &plan, status, ms, weaker, cache_hit);
	shunt_plan_free(&plan);
	return status;
}

int shunt_act(struct shunt_ctx *ctx, const struct shunt_act_req *r, struct shunt_error **err)
{
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int rc = -1;
	_cleanup_free_ char *cmd = NULL;
	if (shunt_ctx_decide(ctx, r->line, r->exe, r->argv, r->source, ctx->interactive, &a, &d,
			     err) < 0)
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
			rc = exec_host(r, err);
		goto out;
	}
	if (dry_run) {
		struct shunt_plan plan;
		bool have_plan = false;
		if (d.action != SHUNT_ACTION_BLOCK && d.profile >= 0) {
			struct shunt_error *perr = NULL;
			have_plan = act_plan(ctx, r, &d, d.profile, d.runtime, &plan, &perr) == 0;
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
		bool ran;
		shunt_record_decision(ctx, r->source, cmd, &d, NULL, false);
		rc = act_sandbox(ctx, r, &d, d.profile, cmd, &ran, err);
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
		bool ran;
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:GODMODE", false);
		rc = act_sandbox(ctx, r, &d, SHUNT_PROFILE_GODMODE, cmd, &ran, err);
		break;
	}
	case SHUNT_PROMPT_SANDBOX: {
		bool ran;
		shunt_record_decision(ctx, r->source, cmd, &d, "prompt:s", false);
		int profile = d.profile >= 0 ? d.profile : SHUNT_PROFILE_WORKSPACE_WRITE;
		rc = act_sandbox(ctx, r, &d, profile, cmd, &ran, err);
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
