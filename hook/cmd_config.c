/* shunt config show | validate: the effective layered configuration. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "fsutil.h"
#include "policy.h"
#include "rules.h"

static const char config_usage[] =
    "usage: shunt config show [--json]\n"
    "       shunt config validate [FILE...]\n"
    "Layers, later wins: built-in defaults, /etc/shunt/config.yaml (unless\n"
    "SHUNT_NO_SYSTEM_CONFIG=1), $XDG_CONFIG_HOME/shunt/config.yaml, $SHUNT_CONFIG,\n"
    "then the workspace's .shunt.yaml, which may only tighten policy.\n"
    "Exit status 2 on a configuration error (file:line:col: message).\n";

static const char show_usage[] =
    "usage: shunt config show [--json]\n"
    "Prints the effective configuration for the current directory: every layer\n"
    "applied, the files it came from, and any warnings (also on stderr).\n"
    "  --json   print JSON instead of YAML\n";

static const char validate_usage[] =
    "usage: shunt config validate [FILE...]\n"
    "Checks each FILE as a configuration layer (a file named .shunt.yaml is\n"
    "checked as a workspace layer) and prints 'ok: FILE'. Without FILE, checks\n"
    "every layer that applies in the current directory, the rule files they\n"
    "name, and their risk_floors rule ids. Exits 0 when all are valid, else 2.\n";

static void print_warnings(const struct shunt_config *cfg, size_t from)
{
	for (size_t i = from; i < cfg->warnings.n; i++)
		fprintf(stderr, "shunt: warning: %s\n", cfg->warnings.v[i]);
}

static int load_here(struct shunt_config *cfg, struct shunt_error **err)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return shunt_error_sys(err, errno, "getcwd");
	_cleanup_free_ char *ws = shunt_config_workspace_root(cwd);
	if (!ws)
		return shunt_error_set(err, ENOMEM, "out of memory");
	struct shunt_config_opts opts = {.workspace = ws};
	return shunt_config_load(cfg, &opts, err);
}

static int config_show(int argc, char **argv, struct shunt_error **err)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return shunt_args_usage(err, "config show: unexpected argument '%s'\n%s",
						argv[i], show_usage);
	}
	struct shunt_config cfg;
	if (load_here(&cfg, err) < 0)
		return -1;
	print_warnings(&cfg, 0);
	struct shunt_buf out = {0};
	shunt_config_dump(&cfg, json, &out);
	shunt_config_free(&cfg);
	if (out.oom) {
		shunt_buf_free(&out);
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	fwrite(out.data, 1, out.len, stdout);
	shunt_buf_free(&out);
	return fflush(stdout) == 0 ? 0 : shunt_error_sys(err, errno, "writing output");
}

/* One explicit file; prints its error itself so later files still get checked. */
static bool validate_one(const char *path)
{
	_cleanup_error_ struct shunt_error *e = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	bool workspace = strcmp(base, ".shunt.yaml") == 0;
	struct shunt_config cfg;
	shunt_config_defaults(&cfg);
	int rc = shunt_fs_read(path, 1024 * 1024, &data, &len, &e);
	if (rc == 0)
		rc = shunt_config_apply_buf(&cfg, path, data, len, workspace, &e);
	if (rc == 0)
		print_warnings(&cfg, 0);
	shunt_config_free(&cfg);
	if (rc < 0) {
		fprintf(stderr, "shunt config: %s\n", e ? e->msg : "invalid");
		return false;
	}
	printf("ok: %s\n", path);
	return true;
}

static int validate_layers(struct shunt_error **err)
{
	struct shunt_config cfg;
	if (load_here(&cfg, err) < 0)
		return -1;
	print_warnings(&cfg, 0);
	/* Rule files and risk floors are checked the way `shunt check` uses them. */
	struct shunt_ruleset rs = {0};
	struct shunt_policy pol;
	int rc = shunt_rules_load_embedded(&rs, err);
	for (size_t i = 0; rc == 0 && i < cfg.rule_files.n; i++)
		rc = shunt_rules_load_file(&rs, cfg.rule_files.v[i], err);
	if (rc == 0)
		rc = shunt_policy_build(&pol, &cfg, &rs, err);
	if (rc == 0) {
		shunt_policy_free(&pol);
		if (!cfg.sources.n)
			printf("ok: built-in defaults (no configuration files found)\n");
		for (size_t i = 0; i < cfg.sources.n; i++)
			printf("ok: %s\n", cfg.sources.v[i]);
		for (size_t i = 0; i < cfg.rule_files.n; i++)
			printf("ok: %s (rules)\n", cfg.rule_files.v[i]);
	} else if (err && *err) {
		(*err)->exitcode = 2;
	}
	shunt_ruleset_free(&rs);
	shunt_config_free(&cfg);
	return rc < 0 ? -1 : 0;
}

static int config_validate(int argc, char **argv, struct shunt_error **err)
{
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	else if (first < argc && argv[first][0] == '-' && argv[first][1])
		return shunt_args_usage(err, "config validate: unknown option '%s'\n%s",
					argv[first], validate_usage);
	if (first >= argc)
		return validate_layers(err);
	bool all_ok = true;
	for (int i = first; i < argc; i++)
		all_ok &= validate_one(argv[i]);
	return all_ok ? 0 : 2;
}

int shunt_cmd_config(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 2) {
		fputs(config_usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (strcmp(sub, "show") == 0) {
		if (shunt_cmd_wants_help(argc - 1, argv + 1)) {
			fputs(show_usage, stdout);
			return 0;
		}
		return config_show(argc - 1, argv + 1, err);
	}
	if (strcmp(sub, "validate") == 0) {
		if (shunt_cmd_wants_help(argc - 1, argv + 1)) {
			fputs(validate_usage, stdout);
			return 0;
		}
		return config_validate(argc - 1, argv + 1, err);
	}
	return shunt_args_usage(err, "unknown subcommand '%s'\n%s", sub, config_usage);
}
