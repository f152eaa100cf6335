#include "context.h"
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "exec_views.h"
#include "fsutil.h"
#include "paths.h"
#include "gvisor.h"
#include "runner.h"
#include "snapshot.h"
#include "trust.h"

char *shunt_ctx_which(const char *name)
{
	return shunt_paths_which(name);
}

bool shunt_ctx_has_terminal(void)
{
	const char *ci = getenv("CI");
	if (ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0)
		return false;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A broken trust store must not stop commands: it was moved aside by the
 * loader, the user is told, and we go on with no remembered approvals. */
static void ctx_load_trust(struct shunt_ctx *ctx)
{
	_cleanup_free_ char *path = shunt_trust_path();
	if (!path)
		return;
	struct shunt_trust_store st;
	memset(&st, 0, sizeof(st));
	struct shunt_error *e = NULL;
	if (shunt_trust_load(path, &st, &e) < 0) {
		fprintf(stderr, "shunt: warning: %s\n", e ? e->msg : "cannot load the trust store");
		shunt_error_free(&e);
		shunt_trust_store_free(&st);
		return;
	}
	if (shunt_trust_refs(&st, (int64_t)time(NULL), &ctx->trust, &ctx->trust_exes, &ctx->ntrust,
			     &e) < 0) {
		fprintf(stderr, "shunt: warning: %s\n", e ? e->msg : "cannot use the trust store");
		shunt_error_free(&e);
		ctx->trust = NULL;
		ctx->ntrust = 0;
	}
	shunt_trust_store_free(&st);
}

static int64_t mtime_ns(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* The shim reads a precompiled snapshot; keep it in step with the files it
 * is made from. Checking costs a few stat(2)s; rebuilding happens only when
 * something changed. The snapshot is per user, so it leaves out the
 * workspace's .shunt.yaml (which may only tighten; the hook and shunt exec
 * still apply it). */
/* A layer that is gone leaves no mtime to compare: its directory's mtime
 * (bumped by the unlink or rename) stands in for it. Without this, deleting
 * a config that allowlisted something kept the allowlist in force. */
static bool input_newer(const char *path, int64_t snap_t)
{
	if (!path)
		return false;
	int64_t t = mtime_ns(path);
	if (t >= 0)
		return t > snap_t;
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return false;
	*(slash == dir ? slash + 1 : slash) = '\0';
	return mtime_ns(dir) > snap_t;
}

/* Which layers the per-user snapshot is made from: the same state
 * directory can serve another XDG_CONFIG_HOME or SHUNT_CONFIG, whose files
 * need not be newer than the snapshot. Never 0 (0 means unknown). */
uint64_t shunt_ctx_snapshot_inputs(void)
{
	_cleanup_free_ char *trust = shunt_trust_path();
	_cleanup_free_ char *user = shunt_paths_file(SHUNT_DIR_CONFIG, "config.yaml");
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	const char *env = getenv("SHUNT_CONFIG");
	/* the rule packs built into this binary: a snapshot another build
	 * wrote holds other rules even when no input file is newer */
	uint64_t packs = 0;
	for (size_t i = 0; i < shunt_embedded_pack_count; i++)
		if (shunt_embedded_packs[i].data)
			packs = packs * 31 + shunt_snapshot_hash(shunt_embedded_packs[i].data,
								 shunt_embedded_packs[i].len);
	_cleanup_free_ char *key = NULL;
	if (asprintf(&key, "trust=%s\nuser=%s\nenv=%s\nsystem=%s\npacks=%016llx\n",
		     trust ? trust : "", user ? user : "", env ? env : "",
		     nosys && strcmp(nosys, "1") == 0 ? "" : SHUNT_CONFIG_SYSTEM_PATH,
		     (unsigned long long)packs) < 0)
		return 1;
	uint64_t h = shunt_snapshot_hash(key, strlen(key));
	return h ? h : 1;
}

static bool ctx_snapshot_stale(const struct shunt_ctx *ctx, const char *snap)
{
	_cleanup_free_ char *trust = shunt_trust_path();
	_cleanup_free_ char *user = shunt_paths_file(SHUNT_DIR_CONFIG, "config.yaml");
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	int64_t snap_t = mtime_ns(snap);
	bool stale =
	    snap_t < 0 || !shunt_snapshot_inputs_match(snap, shunt_ctx_snapshot_inputs()) ||
	    input_newer(trust, snap_t) || input_newer(user, snap_t) ||
	    input_newer(getenv("SHUNT_CONFIG"), snap_t) ||
	    (!(nosys && strcmp(nosys, "1") == 0) && input_newer(SHUNT_CONFIG_SYSTEM_PATH, snap_t));
	for (size_t i = 0; !stale && i < ctx->cfg.sources.n; i++)
		stale = mtime_ns(ctx->cfg.sources.v[i]) > snap_t;
	for (size_t i = 0; !stale && i < ctx->cfg.rule_files.n; i++)
		stale = mtime_ns(ctx->cfg.rule_files.v[i]) > snap_t;
	return stale;
}

/* The hook asks for a decision on every line a human types: loading the
 * precompiled snapshot (~50 us) instead of compiling every rule (~1 ms)
 * keeps the prompt snappy. Only when the snapshot is fresh and no
 * workspace layer applies (the snapshot leaves it out). */
static bool ctx_try_snapshot(struct shunt_ctx *ctx)
{
	_cleanup_free_ char *ws_file = NULL;
	if (asprintf(&ws_file, "%s/.shunt.yaml",
		     strcmp(ctx->workspace, "/") == 0 ? "" : ctx->workspace) < 0)
		return false;
	if (access(ws_file, F_OK) == 0)
		return false;
	_cleanup_free_ char *path = shunt_snapshot_path();
	if (!path || ctx_snapshot_stale(ctx, path))
		return false;
	struct shunt_snapshot *sn = calloc(1, sizeof(*sn));
	if (!sn)
		return false;
	if (shunt_snapshot_load(path, sn) < 0) {
		free(sn);
		return false;
	}
	ctx->snap = sn;
	ctx->policy = sn->policy;
	return true;
}

/* Input identity: FNV-1a over each file's (exists, dev, inode, size,
 * mtime, ctime). Equality, not "newer than", so a change landing in the
 * same clock tick as the load, or a file put back with an old mtime, is
 * still seen. The config candidates and the trust store are stamped
 * before they are read and the rule packs before they are compiled, so a
 * write racing the load changes the stamp and causes another reload. */
static void stamp_mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 1099511628211ull;
	}
}

static void stamp_path(uint64_t *h, const char *path)
{
	struct stat st;
	int64_t v[6] = {0};
	if (path && stat(path, &st) == 0) {
		v[0] = (int64_t)st.st_dev;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		v[4] = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
		v[5] = 1;
	}
	if (path)
		stamp_mix(h, path, strlen(path) + 1);
	stamp_mix(h, v, sizeof(v));
}

/* The config layers shunt_config_load may read, present or not, and the
 * trust store. */
static void stamp_config(uint64_t *h, const struct shunt_ctx *ctx)
{
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	if (!(nosys && strcmp(nosys, "1") == 0))
		stamp_path(h, SHUNT_CONFIG_SYSTEM_PATH);
	_cleanup_free_ char *user = shunt_paths_file(SHUNT_DIR_CONFIG, "config.yaml");
	stamp_path(h, user);
	stamp_path(h, getenv("SHUNT_CONFIG"));
	if (!(ctx->flags & SHUNT_CTX_NO_WORKSPACE)) {
		_cleanup_free_ char *wf = NULL;
		if (asprintf(&wf, "%s/.shunt.yaml",
			     strcmp(ctx->workspace, "/") == 0 ? "" : ctx->workspace) >= 0)
			stamp_path(h, wf);
	}
	_cleanup_free_ char *trust = shunt_trust_path();
	stamp_path(h, trust);
}

static void stamp_rules(uint64_t *h, const struct shunt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->cfg.rule_files.n; i++)
		stamp_path(h, ctx->cfg.rule_files.v[i]);
}

bool shunt_ctx_inputs_changed(const struct shunt_ctx *ctx)
{
	if (ctx->flags & SHUNT_CTX_DEFAULTS)
		return false;
	uint64_t h = 14695981039346656037ull;
	stamp_config(&h, ctx);
	stamp_rules(&h, ctx);
	return h != ctx->stamp;
}

static void ctx_refresh_snapshot(const struct shunt_ctx *ctx)
{
	_cleanup_free_ char *snap = shunt_snapshot_path();
	if (!snap || !ctx_snapshot_stale(ctx, snap))
		return;
	struct shunt_ctx user;
	struct shunt_error *e = NULL;
	if (shunt_ctx_load(&user, SHUNT_CTX_NO_SNAPSHOT | SHUNT_CTX_NO_WORKSPACE, &e) == 0) {
		_cleanup_free_ char *dir = shunt_paths_dir(SHUNT_DIR_STATE);
		if (dir)
			shunt_fs_mkdirs(dir, 0700, &e);
		shunt_error_free(&e);
		if (shunt_snapshot_write_stamped(&user.policy, snap, shunt_ctx_snapshot_inputs(),
						 &e) < 0)
			fprintf(stderr,
				"shunt: warning: could not update the shim's policy snapshot: %s\n",
				e ? e->msg : "unknown error");
		shunt_ctx_free(&user);
	}
	shunt_error_free(&e);
}

int shunt_ctx_load(struct shunt_ctx *ctx, unsigned flags, struct shunt_error **err)
{
	memset(ctx, 0, sizeof(*ctx));
	char buf[PATH_MAX];
	if (getcwd(buf, sizeof(buf)))
		ctx->cwd = strdup(buf);
	else
		ctx->cwd = strdup("/");
	ctx->home = shunt_paths_home();
	ctx->workspace = shunt_config_workspace_root(ctx->cwd);
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		ctx->self_exe = strdup(buf);
	}
	if (!ctx->cwd || !ctx->workspace) {
		shunt_ctx_free(ctx);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	/* an agent's shell: the terminal (if any) is not a person's to answer on */
	ctx->interactive = shunt_ctx_has_terminal() && !shunt_agent_detect();
	ctx->flags = flags;
	ctx->stamp = 14695981039346656037ull;
	if (!(flags & SHUNT_CTX_DEFAULTS))
		stamp_config(&ctx->stamp, ctx);

	if (flags & SHUNT_CTX_DEFAULTS) {
		shunt_config_defaults(&ctx->cfg);
	} else {
		struct shunt_config_opts opts = {0};
		opts.workspace = ctx->workspace;
		opts.no_workspace = (flags & SHUNT_CTX_NO_WORKSPACE) != 0;
		if (shunt_config_load(&ctx->cfg, &opts, err) < 0) {
			shunt_ctx_free(ctx);
			return -1;
		}
	}
	if (!(flags & SHUNT_CTX_DEFAULTS))
		stamp_rules(&ctx->stamp, ctx);
	if (flags & SHUNT_CTX_NO_RULES)
		return 0;
	if ((flags & SHUNT_CTX_FAST) && !(flags & SHUNT_CTX_DEFAULTS) && ctx_try_snapshot(ctx))
		return 0;
	if (shunt_rules_load_embedded(&ctx->rules, err) < 0) {
		shunt_ctx_free(ctx);
		return shunt_error_prefix(err, "loading built-in rules: ");
	}
	if (!(flags & SHUNT_CTX_DEFAULTS)) {
		for (size_t i = 0; i < ctx->cfg.rule_files.n; i++) {
			if (shunt_rules_load_file(&ctx->rules, ctx->cfg.rule_files.v[i], err) < 0) {
				shunt_ctx_free(ctx);
				return shunt_error_prefix(err, "loading rules: ");
			}
		}
	}
	if (shunt_policy_build(&ctx->policy, &ctx->cfg, &ctx->rules, err) < 0) {
		shunt_ctx_free(ctx);
		return -1;
	}
	ctx->policy.gvisor_available = shunt_gvisor_usable(NULL, 0);
	if (!(flags & (SHUNT_CTX_NO_TRUST | SHUNT_CTX_DEFAULTS)))
		ctx_load_trust(ctx);
	ctx->policy.trust = ctx->trust;
	ctx->policy.ntrust = ctx->ntrust;
	if (!(flags & (SHUNT_CTX_NO_SNAPSHOT | SHUNT_CTX_DEFAULTS | SHUNT_CTX_NO_TRUST)))
		ctx_refresh_snapshot(ctx);
	return 0;
}

void shunt_ctx_free(struct shunt_ctx *ctx)
{
	if (ctx->snap) {
		shunt_snapshot_unload(ctx->snap);
		free(ctx->snap);
		memset(&ctx->policy, 0, sizeof(ctx->policy));
	}
	shunt_policy_free(&ctx->policy);
	shunt_ruleset_free(&ctx->rules);
	shunt_config_free(&ctx->cfg);
	if (ctx->trust_exes) {
		for (size_t i = 0; i < ctx->ntrust; i++)
			free(ctx->trust_exes[i]);
		free(ctx->trust_exes);
	}
	free(ctx->trust);
	free(ctx->cwd);
	free(ctx->workspace);
	free(ctx->home);
	free(ctx->self_exe);
	memset(ctx, 0, sizeof(*ctx));
}

int shunt_ctx_decide(const struct shunt_ctx *ctx, const char *line, const char *exe,
		     char *const *argv, enum shunt_source source, bool interactive,
		     struct shunt_arena *arena, struct shunt_decision *d, struct shunt_error **err)
{
	struct shunt_request req = {0};
	_cleanup_free_ char *resolved = NULL;
	if (line) {
		req.line = line;
		req.line_len = strlen(line);
	} else {
		size_t argc = 0;
		while (argv[argc])
			argc++;
		if (argc == 0)
			return shunt_error_set(err, EINVAL, "empty command");
		if (!exe)
			exe = resolved = shunt_ctx_which(argv[0]);
		req.argv = (const char *const *)argv;
		req.argc = argc;
	}
	req.exe = exe;
	req.cwd = ctx->cwd;
	req.workspace = ctx->workspace;
	req.home = ctx->home;
	req.interactive = interactive;
	req.source = source;
	req.now = (int64_t)time(NULL);
	req.script_max = ctx->cfg.script_max;
	if (!req.exe && !line)
		req.exe = argv[0];
	/* an exec is decided as the shim decides it: under the name it was
	 * run by and the program that name resolves to (exec_views.h) */
	char rbuf[PATH_MAX];
	const char *invoked = req.exe;
	if (!line && invoked && strchr(invoked, '/'))
		req.exe = shunt_exec_follow_links(invoked, rbuf, sizeof(rbuf));
	int rc = line ? shunt_decide(&ctx->policy, &req, arena, d)
		      : shunt_decide_exec(&ctx->policy, &req, invoked, arena, d, NULL);
	if (rc < 0)
		return shunt_error_set(err, -rc, "command too large to analyse");
	return 0;
}
