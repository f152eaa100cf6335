/* shunt check: print the decision for a command, or for a batch of lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "context.h"
#include "serve.h"

static const char check_usage[] =
    "usage: shunt check [--json] [--interactive|--no-interactive] [--source hook|shim|cli]\n"
    "                   (-c LINE | --line-fd FD | -- ARGV... | --batch FILE |\n"
    "                    --serve [--parent PID] [--split])\n"
    "Prints what shunt would do with the command, and why. Exits 0 whatever the\n"
    "decision; 2 on a usage or configuration error.\n"
    "  --line-fd FD   the line is read from descriptor FD (for lines longer than an\n"
    "                 argument may be)\n"
    "  --batch FILE   one command line per line ('-' = stdin; blank and # lines skipped);\n"
    "                 prints one decision per line (JSON lines with --json)\n"
    "  --serve        long-lived checker for the shell hooks: NUL-terminated requests\n"
    "                 ID, CWD, LINE on stdin; one reply line \"ID ACTION\" (or \"ID JSON\")\n"
    "                 each; reloads when config, rules or trust change; exits on EOF\n"
    "                 or when the process --parent PID is gone\n"
    "  --split        (with --serve) a line whose risky simple commands can run alone\n"
    "                 is answered with the line rewritten to hand only those to\n"
    "                 `shunt exec --decided` (see hook/serve.h)\n";

static void print_decision(const struct shunt_decision *d, bool json, struct shunt_buf *out)
{
	if (json) {
		shunt_decision_json(d, out);
		shunt_buf_putc(out, '\n');
		return;
	}
	shunt_buf_printf(out, "%s", shunt_action_name(d->action));
	if (d->action == SHUNT_ACTION_SANDBOX || d->action == SHUNT_ACTION_PROMPT)
		shunt_buf_printf(out, " (%s, %s)", shunt_runtime_name(d->runtime),
				 shunt_profile_name(d->profile));
	shunt_buf_printf(out, ": %s risk (score %d)", shunt_risk_name(d->risk), d->score);
	if (d->nrules) {
		shunt_buf_puts(out, " [");
		for (size_t i = 0; i < d->nrules; i++)
			shunt_buf_printf(out, "%s%s", i ? ", " : "", d->rules[i]);
		shunt_buf_puts(out, "]");
	}
	shunt_buf_printf(out, "\n  why: %s\n", d->why);
}

static int check_batch(struct shunt_ctx *ctx, const char *file, bool json, int interactive,
		       enum shunt_source source, struct shunt_error **err)
{
	_cleanup_fclose_ FILE *f = strcmp(file, "-") == 0 ? NULL : fopen(file, "re");
	FILE *in = f ? f : (strcmp(file, "-") == 0 ? stdin : NULL);
	if (!in)
		return shunt_error_sys(err, errno, "opening %s", file);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	size_t count = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	while ((n = getline(&line, &cap, in)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		struct shunt_arena a;
		shunt_arena_init_heap(&a);
		struct shunt_decision d;
		struct shunt_buf out = {0};
		if (shunt_ctx_decide(ctx, p, NULL, NULL, source,
				     interactive < 0 ? ctx->interactive : interactive, &a, &d,
				     err) < 0) {
			shunt_arena_release(&a);
			rc = -1;
			break;
		}
		print_decision(&d, json, &out);
		fwrite(out.data, 1, out.len, stdout);
		shunt_buf_free(&out);
		shunt_arena_release(&a);
		count++;
	}
	free(line);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc == 0 && getenv("SHUNT_BATCH_STATS"))
		fprintf(stderr, "shunt: %zu lines in %.3f s (%.0f lines/s)\n", count, secs,
			secs > 0 ? (double)count / secs : 0.0);
	return rc < 0 ? -1 : 0;
}

int shunt_cmd_check(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(check_usage, stdout);
		return 0;
	}
	bool json = false;
	int interactive = -1;
	enum shunt_source source = SHUNT_SOURCE_CLI;
	const char *batch = NULL;
	bool serve = false, split = false;
	long parent = 0;
	struct shunt_cmd_input in = {0};
	for (int i = 1; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--interactive") == 0) {
			interactive = 1;
		} else if (strcmp(argv[i], "--no-interactive") == 0) {
			interactive = 0;
		} else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			int s = shunt_source_parse(argv[++i]);
			if (s < 0)
				return shunt_args_usage(
				    err, "unknown source '%s' (hook, shim, cli)", argv[i]);
			source = (enum shunt_source)s;
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			batch = argv[++i];
		} else if (strcmp(argv[i], "--serve") == 0) {
			serve = true;
		} else if (strcmp(argv[i], "--split") == 0) {
			split = true;
		} else if (strcmp(argv[i], "--parent") == 0 && i + 1 < argc) {
			char *end = NULL;
			parent = strtol(argv[++i], &end, 10);
			if (!*argv[i] || *end || parent <= 0)
				return shunt_args_usage(
				    err, "--parent: expected a process id, got '%s'", argv[i]);
		} else {
			return shunt_args_usage(err, "unknown option '%s' (see shunt check --help)",
						argv[i]);
		}
	}
	if (parent && !serve)
		return shunt_args_usage(err, "--parent goes with --serve");
	if (split && !serve)
		return shunt_args_usage(err, "--split goes with --serve");
	if (serve) {
		if (batch || in.line || in.argv)
			return shunt_args_usage(err, "--serve takes its lines from stdin");
		/* inherited descriptors (the shell's pipes, a terminal) must not be
		 * held open for the life of the shell */
		close_range(3, ~0u, 0);
		struct shunt_serve_opts so = {.json = json,
					      .interactive = interactive,
					      .source = source,
					      .parent = parent,
					      .split = split};
		return shunt_serve_run(0, 1, &so, err) < 0 ? -1 : 0;
	}
	if (!batch && !in.line && !in.argv)
		return shunt_args_usage(
		    err, "nothing to check: give -c LINE, -- ARGV... or --batch FILE");
	struct shunt_ctx ctx;
	/* the hook checks every line typed: a single check may use the snapshot */
	if (shunt_ctx_load(&ctx, batch ? 0 : SHUNT_CTX_FAST, err) < 0)
		return -1;
	int rc;
	if (batch) {
		shunt_rules_jit(&ctx.rules); /* many lines: JIT pays for itself */
		rc = check_batch(&ctx, batch, json, interactive, source, err);
	} else {
		struct shunt_arena a;
		shunt_arena_init_heap(&a);
		struct shunt_decision d;
		rc = shunt_ctx_decide(&ctx, in.line, NULL, in.argv, source,
				      interactive < 0 ? ctx.interactive : interactive, &a, &d, err);
		if (rc == 0) {
			struct shunt_buf out = {0};
			print_decision(&d, json, &out);
			fwrite(out.data, 1, out.len, stdout);
			shunt_buf_free(&out);
		}
		shunt_arena_release(&a);
	}
	for (size_t i = 0; i < ctx.cfg.warnings.n; i++)
		fprintf(stderr, "shunt: warning: %s\n", ctx.cfg.warnings.v[i]);
	shunt_ctx_free(&ctx);
	return rc < 0 ? -1 : 0;
}
