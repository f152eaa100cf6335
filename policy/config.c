/* Layered YAML configuration (libyaml document API). Each layer is parsed
 * into a yaml_document_t and walked against a fixed schema; anything the
 * schema does not know is an error naming file:line:col. This file: the
 * defaults, the presets, parsing a layer and loading the layers in order.
 * The walker is config_layer.c, the schema config_schema.c, the dump
 * config_dump.c. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cleanup.h"
#include "script.h"
#include "config_layer.h"
#include "fsutil.h"
#include "paths.h"

#define CONFIG_FILE_MAX (1024 * 1024)

/* Presets, mirroring the shipped presets/<name>.yaml (a unit test checks they agree). */
static const char preset_developer[] = "mode: auto\n"
				       "security_level: permissive\n"
				       "sandbox:\n"
				       "  network_mode: full\n"
				       "  enable_cache: true\n";
static const char preset_cicd[] = "mode: risky\n"
				  "security_level: balanced\n"
				  "non_interactive: sandbox\n"
				  "sandbox:\n"
				  "  network_mode: restricted\n"
				  "  enable_cache: true\n";
static const char preset_production[] = "mode: always\n"
					"security_level: paranoid\n"
					"non_interactive: block\n"
					"sandbox:\n"
					"  network_mode: none\n"
					"  enable_cache: false\n";

static const char *const default_cache_dirs[] = {
    "~/.npm", "~/.cache/pip",  "~/.cargo/registry",   "~/go/pkg/mod",
    "~/.gem", "~/.cache/yarn", "~/.local/share/pnpm",
};
static const char *const default_env_whitelist[] = {
    "HOME", "USER", "LOGNAME", "PATH", "SHELL", "TERM", "LANG", "LC_ALL", "PWD", "TZ",
};

/* ---- defaults / free ---- */

void shunt_config_defaults(struct shunt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SHUNT_MODE_AUTO;
	cfg->security_level = SHUNT_LEVEL_BALANCED;
	cfg->non_interactive = SHUNT_NONINT_SANDBOX;
	cfg->on_error = SHUNT_ONERROR_CLOSED;
	cfg->preset = SHUNT_PRESET_NONE;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	s->runtime = SHUNT_RUNTIME_AUTO;
	s->timeout = 300;
	s->network_mode = shunt_level_limits(cfg->security_level).network;
	s->network_mode_set = false;
	s->enable_cache = true;
	/* OOM here leaves a shorter list: cache and env lists only loosen
	 * sharing when longer, so a short list fails safe. */
	for (size_t i = 0; i < sizeof(default_cache_dirs) / sizeof(*default_cache_dirs); i++)
		(void)shunt_strv_push_path(&s->cache_dirs, default_cache_dirs[i]);
	for (size_t i = 0; i < sizeof(default_env_whitelist) / sizeof(*default_env_whitelist); i++)
		(void)shunt_strv_push(&s->env_whitelist, default_env_whitelist[i]);
	s->profile_runtime[SHUNT_PROFILE_READ_ONLY] = SHUNT_RUNTIME_AUTO;
	s->profile_runtime[SHUNT_PROFILE_WORKSPACE_WRITE] = SHUNT_RUNTIME_AUTO;
	s->profile_runtime[SHUNT_PROFILE_SYSTEM_WRITE] = SHUNT_RUNTIME_MICROVM;
	s->profile_runtime[SHUNT_PROFILE_GODMODE] = SHUNT_RUNTIME_MICROVM;
	cfg->audit_max_bytes = 10ULL * 1024 * 1024;
	cfg->prompt_timeout = 60;
	cfg->script_max = SHUNT_SCRIPT_MAX_DEFAULT;
	cfg->audit_forward.batch = 100;
	cfg->audit_forward.interval = 60;
	cfg->audit_forward.spool_max = 64ull << 20;
}

void shunt_config_binds_free(struct shunt_bind *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].host_path);
		free(b[i].container_path);
	}
	free(b);
}

void shunt_config_free(struct shunt_config *cfg)
{
	if (!cfg)
		return;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	free(s->image);
	shunt_strv_free(&s->allow_hosts);
	shunt_strv_free(&s->cache_dirs);
	shunt_strv_free(&s->env_whitelist);
	shunt_config_binds_free(s->bind_mounts, s->nbind_mounts);
	free(s->seccomp_profile);
	shunt_strv_free(&s->hide_paths);
	shunt_strv_free(&cfg->allowlist);
	shunt_strv_free(&cfg->denylist);
	shunt_strv_free(&cfg->rule_files);
	for (size_t i = 0; i < cfg->nrisk_floors; i++)
		free(cfg->risk_floors[i].rule_id);
	free(cfg->risk_floors);
	shunt_strv_free(&cfg->sources);
	shunt_strv_free(&cfg->warnings);
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		free(cfg->policy_sources[i].url);
		free(cfg->policy_sources[i].sha256);
	}
	free(cfg->policy_sources);
	free(cfg->audit_forward.url);
	free(cfg->audit_forward.format);
	free(cfg->audit_forward.token_file);
	free(cfg->remote_url);
	free(cfg->remote_token_file);
	free(cfg->remote_ca_file);
	memset(cfg, 0, sizeof(*cfg));
}

enum shunt_netmode shunt_config_effective_net(const struct shunt_config *cfg)
{
	return cfg->sandbox.network_mode_set ? cfg->sandbox.network_mode
					     : shunt_level_limits(cfg->security_level).network;
}

const char *shunt_config_preset_text(enum shunt_preset p)
{
	switch (p) {
	case SHUNT_PRESET_DEVELOPER:
		return preset_developer;
	case SHUNT_PRESET_CICD:
		return preset_cicd;
	case SHUNT_PRESET_PRODUCTION:
		return preset_production;
	default:
		return NULL;
	}
}

/* ---- loading ---- */

static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	if (slash == name)
		return strdup("/");
	if (slash)
		return strndup(name, (size_t)(slash - name));
	char cwd[PATH_MAX];
	return strdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
}

int shunt_config_apply_layer(struct shunt_config *cfg, const char *name, const char *buf,
			     size_t len, bool tighten, int depth, struct shunt_error **err)
{
	struct shunt_layer L = {
	    .cfg = cfg, .name = name, .tighten = tighten, .depth = depth, .err = err};
	if (len > CONFIG_FILE_MAX)
		return shunt_layer_error(&L, NULL, "file too large (more than %d bytes)",
					 CONFIG_FILE_MAX);
	L.dir = dir_of(name);
	if (!L.dir)
		return shunt_layer_oom(&L);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(L.dir);
		return shunt_layer_oom(&L);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	int rc = 0;
	if (!yaml_parser_load(&parser, &L.doc)) {
		const yaml_mark_t *m = &parser.problem_mark, *cm = &parser.context_mark;
		char ctx[160] = "";
		if (parser.context)
			snprintf(ctx, sizeof(ctx), " %s started at %zu:%zu", parser.context,
				 cm->line + 1, cm->column + 1);
		shunt_error_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s", name,
				m->line + 1, m->column + 1,
				parser.problem ? parser.problem : "invalid document", ctx);
		if (err && *err)
			(*err)->exitcode = 2;
		yaml_parser_delete(&parser);
		free(L.dir);
		return -1;
	}
	rc = shunt_layer_apply_doc(&L);
	if (rc == 0 && yaml_document_get_root_node(&L.doc)) {
		/* One document per file: a second one would be silently ignored. */
		yaml_document_t extra;
		if (!yaml_parser_load(&parser, &extra)) {
			const yaml_mark_t *m = &parser.problem_mark;
			rc = shunt_error_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", name,
					     m->line + 1, m->column + 1,
					     parser.problem ? parser.problem : "invalid document");
			if (err && *err)
				(*err)->exitcode = 2;
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&extra);
			if (r2)
				rc = shunt_layer_error(
				    &L, r2, "only one YAML document is allowed per file");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&parser);
	free(L.dir);
	if (rc == 0 && depth == 0 && shunt_strv_push(&cfg->sources, name) < 0)
		return shunt_layer_oom(&L);
	return rc;
}

int shunt_config_apply_buf(struct shunt_config *cfg, const char *name, const char *buf, size_t len,
			   bool tighten_only, struct shunt_error **err)
{
	return shunt_config_apply_layer(cfg, name, buf, len, tighten_only, 0, err);
}

int shunt_config_apply_file(struct shunt_config *cfg, const char *path, bool tighten_only,
			    struct shunt_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(path, CONFIG_FILE_MAX, &data, &len, &e) < 0) {
		if (e && e->code == ENOENT) {
			shunt_error_free(&e);
			return 0;
		}
		if (err && !*err) {
			*err = e;
			(*err)->exitcode = 2;
		} else {
			shunt_error_free(&e);
		}
		return -1;
	}
	return shunt_config_apply_layer(cfg, path, data, len, tighten_only, 0, err);
}

int shunt_config_apply_preset(struct shunt_config *cfg, enum shunt_preset preset,
			      struct shunt_error **err)
{
	const char *text = shunt_config_preset_text(preset);
	if (!text) {
		shunt_error_set(err, EINVAL, "unknown preset %d", (int)preset);
		if (err && *err)
			(*err)->exitcode = 2;
		return -1;
	}
	char name[64];
	snprintf(name, sizeof(name), "preset:%s", shunt_preset_name(preset));
	if (shunt_config_apply_layer(cfg, name, text, strlen(text), false, 1, err) < 0)
		return -1;
	cfg->preset = preset;
	return shunt_strv_push(&cfg->sources, name) < 0
		   ? shunt_error_set(err, ENOMEM, "out of memory")
		   : 0;
}

char *shunt_config_workspace_root(const char *cwd)
{
	_cleanup_free_ char *dir = strdup(cwd);
	if (!dir)
		return NULL;
	for (;;) {
		_cleanup_free_ char *git = NULL;
		struct stat st;
		if (asprintf(&git, "%s/.git", strcmp(dir, "/") == 0 ? "" : dir) < 0)
			return NULL;
		if (lstat(git, &st) == 0)
			return steal_pointer(&dir);
		char *slash = strrchr(dir, '/');
		if (!slash || strcmp(dir, "/") == 0)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return strdup(cwd);
}

int shunt_config_load(struct shunt_config *cfg, const struct shunt_config_opts *opts,
		      struct shunt_error **err)
{
	static const struct shunt_config_opts none = {0};
	_cleanup_free_ char *user = NULL, *ws = NULL, *wf = NULL;
	if (!opts)
		opts = &none;
	shunt_config_defaults(cfg);
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	bool skip_system = opts->no_system || (nosys && strcmp(nosys, "1") == 0);
	if (!skip_system && shunt_config_apply_file(cfg,
						    opts->system_path ? opts->system_path
								      : SHUNT_CONFIG_SYSTEM_PATH,
						    false, err) < 0)
		goto fail;

	user = opts->user_path ? strdup(opts->user_path)
			       : shunt_paths_file(SHUNT_DIR_CONFIG, "config.yaml");
	if (user && shunt_config_apply_file(cfg, user, false, err) < 0)
		goto fail;

	const char *envp = opts->env_path ? opts->env_path : getenv("SHUNT_CONFIG");
	if (envp && *envp) {
		/* Named explicitly, so a missing file is an error, not a skip. */
		if (access(envp, F_OK) < 0) {
			shunt_error_sys(err, errno, "%s (named by SHUNT_CONFIG)", envp);
			if (err && *err)
				(*err)->exitcode = 2;
			goto fail;
		}
		if (shunt_config_apply_file(cfg, envp, false, err) < 0)
			goto fail;
	}

	if (opts->no_workspace) {
		ws = NULL;
	} else if (opts->workspace) {
		ws = strdup(opts->workspace);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)))
			ws = shunt_config_workspace_root(cwd);
	}
	if (ws) {
		if (asprintf(&wf, "%s/.shunt.yaml", strcmp(ws, "/") == 0 ? "" : ws) < 0) {
			shunt_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		if (shunt_config_apply_file(cfg, wf, true, err) < 0)
			goto fail;
	}
	return 0;
fail:
	shunt_config_free(cfg);
	return -1;
}
