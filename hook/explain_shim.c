/* shunt explain --shim: what the LD_PRELOAD shim decides for one exact
 * exec, and why. The shim's own pieces do the work: its policy snapshot,
 * its path resolution (shunt_exec_follow_links) and its decision over
 * the names of an exec (shunt_decide_exec); only the printing is here. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "context.h"
#include "exec_views.h"
#include "explain.h"
#include "paths.h"
#include "snapshot.h"

/* What the shim does with a decision (preload/shim_decide.c judge_slow):
 * host runs, a block is refused in the program (when its snapshot is
 * usable), anything else goes to `shunt gate`. */
static const char *shim_verdict(const struct shunt_decision *d, bool snap_ok)
{
	if (d->action == SHUNT_ACTION_HOST)
		return "host";
	if (d->action == SHUNT_ACTION_BLOCK && snap_ok)
		return "block";
	return "gate";
}

static void json_strv(struct shunt_buf *b, const char *const *v, size_t n)
{
	shunt_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, v[i], strlen(v[i]));
	}
	shunt_buf_putc(b, ']');
}

static void json_field(struct shunt_buf *b, const char *key, const char *val)
{
	shunt_buf_printf(b, "\"%s\":", key);
	if (val)
		shunt_buf_json_str(b, val, strlen(val));
	else
		shunt_buf_puts(b, "null");
	shunt_buf_putc(b, ',');
}

static void render(struct shunt_buf *out, const char *path, const char *resolved, char *const *argv,
		   size_t argc, const struct shunt_exec_view *which, const struct shunt_decision *d,
		   const char *verdict, const char *snap, bool snap_ok, bool json)
{
	if (json) {
		shunt_buf_putc(out, '{');
		json_field(out, "path", path);
		json_field(out, "resolved", resolved);
		shunt_buf_puts(out, "\"argv\":");
		json_strv(out, (const char *const *)argv, argc);
		shunt_buf_putc(out, ',');
		json_field(out, "decided_as", which->exe);
		json_field(out, "view", which->what);
		shunt_buf_puts(out, "\"decided_argv\":");
		json_strv(out, which->argv, which->argc);
		shunt_buf_putc(out, ',');
		json_field(out, "snapshot", snap);
		shunt_buf_printf(out, "\"snapshot_ok\":%s,", snap_ok ? "true" : "false");
		json_field(out, "shim", verdict);
		shunt_buf_puts(out, "\"decision\":");
		shunt_decision_json(d, out);
		shunt_buf_puts(out, "}\n");
		return;
	}
	if (!path)
		shunt_buf_puts(out, "path: (not found: the exec fails, the shim has nothing to "
				    "decide; the rules would say:)\n");
	else
		shunt_buf_printf(out, "path: %s\n", path);
	if (resolved && path && strcmp(resolved, path) != 0)
		shunt_buf_printf(out, "resolves to: %s\n", resolved);
	shunt_buf_puts(out, "argv:");
	for (size_t i = 0; i < argc; i++)
		shunt_buf_printf(out, " %s", argv[i]);
	shunt_buf_printf(out, "\ndecided as: %s (%s)\n", which->exe, which->what);
	shunt_buf_printf(out, "policy: %s%s\n", snap ? snap : "(none)",
			 snap_ok ? "" : " (unusable: the configuration's rules are shown)");
	shunt_explain_render(d, false, out);
	static const char *const says[] = {
	    "host",  "the shim lets it run on the host",
	    "block", "the shim refuses the exec itself (EACCES, exit 126) and records it",
	    "gate",  "the shim re-routes it to `shunt gate`, which sandboxes, prompts or blocks"};
	for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i += 2)
		if (strcmp(verdict, says[i]) == 0)
			shunt_buf_printf(out, "shim: %s: %s\n", verdict, says[i + 1]);
}

int shunt_explain_shim(const struct shunt_ctx *ctx, char *const *argv, bool json,
		       struct shunt_error **err)
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	if (!argc)
		return shunt_error_set(err, EINVAL, "empty command");
	/* the path as exec'd: execvp's search, or the name made absolute */
	_cleanup_free_ char *path = shunt_paths_which(argv[0]);
	char rbuf[PATH_MAX];
	const char *resolved = path ? shunt_exec_follow_links(path, rbuf, sizeof(rbuf)) : NULL;
	_cleanup_free_ char *snap_path = shunt_snapshot_path();
	struct shunt_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	bool snap_ok = snap_path && shunt_snapshot_load(snap_path, &snap) == 0;
	struct shunt_request req = {0};
	req.exe = resolved ? resolved : argv[0];
	req.argv = (const char *const *)argv;
	req.argc = argc;
	req.cwd = ctx->cwd;
	req.workspace = ctx->workspace;
	req.home = ctx->home;
	req.interactive = true; /* as in the shim: prompting is the gate's business */
	req.source = SHUNT_SOURCE_SHIM;
	req.now = (int64_t)time(NULL);
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	struct shunt_exec_view which;
	int rc =
	    shunt_decide_exec(snap_ok ? &snap.policy : &ctx->policy, &req, path, &a, &d, &which);
	if (rc < 0) {
		rc = shunt_error_set(err, -rc, "command too large to analyse");
	} else {
		struct shunt_buf out = {0};
		render(&out, path, resolved, argv, argc, &which, &d,
		       path ? shim_verdict(&d, snap_ok) : "not-found", snap_path, snap_ok, json);
		fwrite(out.data, 1, out.len, stdout);
		shunt_buf_free(&out);
	}
	shunt_arena_release(&a);
	if (snap_ok)
		shunt_snapshot_unload(&snap);
	return rc;
}
