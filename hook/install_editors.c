/* shunt install vscode|editors|cursor|EDITOR: editor terminals get the shim
 * and the line hook. Each VS Code-family editor reads its own settings.json
 * (desktop apps under ~/.config, code-server under its data dir, the servers
 * that Remote-SSH and Dev Containers run under ~/.<name>-server/data/Machine).
 * Into each one found (or named) goes one marked terminal.integrated.env.linux
 * block: LD_PRELOAD (the shim), SHUNT_BIN and SHUNT_EDITOR_TERMINAL. The shim
 * alone cannot see a pipeline such as `curl ... | sh`, so a marked block in
 * ~/.bashrc (and ~/.zshrc) loads the line hook in shells that carry
 * SHUNT_EDITOR_TERMINAL: only editor terminals, alongside VS Code's shell
 * integration (which sources the user's rc file). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "install.h"
#include "jsonc.h"
#include "paths.h"

int shunt_init_self_paths(char **bin, char **shim, struct shunt_error **err);

#define GATE_BEGIN "# >>> shunt editor terminals >>>\n"
#define GATE_END   "# <<< shunt editor terminals <<<\n"
#define RC_BEGIN   "# >>> shunt >>>\n"
#define TAG	   "shunt"
#define MAX_CONFIG (1u << 20)

enum base { BASE_CONFIG, BASE_HOME, BASE_DATA };

struct editor {
	const char *name;
	const char *family; /* the `shunt install cursor` group, or NULL */
	enum base base;
	const char *dir;      /* under base; its presence means installed */
	const char *settings; /* under dir */
};

/* Paths as each editor documents them on Linux. The servers keep
 * machine settings (applied to every window that connects) in
 * data/Machine; openvscode-server keeps user settings in the browser, so
 * Machine is the only file there. */
static const struct editor editors[] = {
    {"vscode", NULL, BASE_CONFIG, "Code", "User/settings.json"},
    {"vscodium", NULL, BASE_CONFIG, "VSCodium", "User/settings.json"},
    {"cursor", "cursor", BASE_CONFIG, "Cursor", "User/settings.json"},
    {"windsurf", NULL, BASE_CONFIG, "Windsurf", "User/settings.json"},
    {"code-server", NULL, BASE_DATA, "code-server", "User/settings.json"},
    {"vscode-server", NULL, BASE_HOME, ".vscode-server", "data/Machine/settings.json"},
    {"vscodium-server", NULL, BASE_HOME, ".vscodium-server", "data/Machine/settings.json"},
    {"cursor-server", "cursor", BASE_HOME, ".cursor-server", "data/Machine/settings.json"},
    {"windsurf-server", NULL, BASE_HOME, ".windsurf-server", "data/Machine/settings.json"},
    {"openvscode-server", NULL, BASE_HOME, ".openvscode-server", "data/Machine/settings.json"},
};
#define N_EDITORS (sizeof(editors) / sizeof(editors[0]))

static const char *const uncovered[] = {
    "terminals running a shell other than bash or zsh (fish, sh, pwsh) carry only the shim, "
    "which sees each exec but not a pipeline such as `curl ... | sh`",
    "commands an extension runs itself, outside a terminal, carry neither",
    "terminals that were already open: open a new one",
};

bool shunt_install_is_editor(const char *target)
{
	for (size_t i = 0; i < N_EDITORS; i++)
		if (strcmp(editors[i].name, target) == 0)
			return true;
	return false;
}

static char *xdg_dir(const char *var, const char *home, const char *fallback)
{
	const char *v = getenv(var);
	char *s = NULL;
	if (v && *v == '/')
		return strdup(v);
	if (asprintf(&s, "%s/%s", home, fallback) < 0)
		return NULL;
	return s;
}

/* code-server's --user-data-dir from its config.yaml ("user-data-dir: X"),
 * or NULL. The file is flat "key: value" lines; a missing file is none. */
static char *code_server_user_data_dir(const char *home)
{
	_cleanup_free_ char *cfg = xdg_dir("XDG_CONFIG_HOME", home, ".config");
	_cleanup_free_ char *path = NULL;
	if (!cfg || asprintf(&path, "%s/code-server/config.yaml", cfg) < 0)
		return NULL;
	_cleanup_free_ char *doc = NULL;
	size_t len = 0;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(path, MAX_CONFIG, &doc, &len, &e) < 0) {
		shunt_error_free(&e);
		return NULL;
	}
	static const char key[] = "user-data-dir:";
	for (char *line = doc; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, key, sizeof(key) - 1) == 0) {
			char *v = line + sizeof(key) - 1;
			v += strspn(v, " \t");
			if (*v == '"' || *v == '\'') {
				char *close = strchr(v + 1, *v);
				if (!close)
					return NULL;
				*close = '\0';
				v++;
			} else {
				char *hash = strstr(v, " #");
				if (hash)
					*hash = '\0';
				char *end = v + strlen(v);
				while (end > v && strchr(" \t\r", end[-1]))
					*--end = '\0';
			}
			/* a relative one depends on where code-server was started */
			char *d = *v ? shunt_paths_expand_tilde(v) : NULL;
			if (d && *d != '/') {
				free(d);
				d = NULL;
			}
			return d;
		}
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The editor's folder and settings.json; *installed when the folder (or,
 * for code-server, its config file) exists. */
static int editor_paths(const struct editor *ed, const char *home, char **settings, bool *installed)
{
	_cleanup_free_ char *dir = NULL;
	*settings = NULL;
	*installed = false;
	struct stat st;
	if (strcmp(ed->name, "code-server") == 0) {
		dir = code_server_user_data_dir(home);
		if (dir)
			*installed = true;
	}
	if (!dir && strcmp(ed->name, "vscode-server") == 0) {
		/* Remote-SSH's remote.SSH.serverInstallPath sets this */
		const char *agent = getenv("VSCODE_AGENT_FOLDER");
		if (agent && *agent == '/')
			dir = strdup(agent);
	}
	if (!dir) {
		_cleanup_free_ char *base =
		    ed->base == BASE_CONFIG ? xdg_dir("XDG_CONFIG_HOME", home, ".config")
		    : ed->base == BASE_DATA ? xdg_dir("XDG_DATA_HOME", home, ".local/share")
					    : strdup(home);
		if (!base || asprintf(&dir, "%s/%s", base, ed->dir) < 0)
			return -1;
	}
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		*installed = true;
	if (strcmp(ed->name, "code-server") == 0 && !*installed) {
		_cleanup_free_ char *cfg = xdg_dir("XDG_CONFIG_HOME", home, ".config");
		_cleanup_free_ char *yaml = NULL;
		if (cfg && asprintf(&yaml, "%s/code-server/config.yaml", cfg) >= 0)
			*installed = stat(yaml, &st) == 0;
	}
	return asprintf(settings, "%s/%s", dir, ed->settings) < 0 ? -1 : 0;
}

static bool file_has_block(const char *path)
{
	_cleanup_free_ char *doc = NULL;
	size_t len = 0;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(path, 8u << 20, &doc, &len, &e) < 0) {
		shunt_error_free(&e);
		return false;
	}
	return shunt_jsonc_block_present(doc, len, TAG);
}

struct report {
	struct shunt_buf json; /* the "files" array's members */
	size_t n, failed;
};

static void report_add(struct report *r, const char *kind, const char *who, const char *path,
		       const char *result, const struct shunt_error *e)
{
	shunt_buf_puts(&r->json, r->n++ ? ",{\"kind\":" : "{\"kind\":");
	shunt_buf_json_str(&r->json, kind, strlen(kind));
	shunt_buf_puts(&r->json, strcmp(kind, "rc") == 0 ? ",\"shell\":" : ",\"editor\":");
	shunt_buf_json_str(&r->json, who, strlen(who));
	shunt_buf_puts(&r->json, ",\"path\":");
	shunt_buf_json_str(&r->json, path, strlen(path));
	shunt_buf_puts(&r->json, ",\"result\":");
	shunt_buf_json_str(&r->json, result, strlen(result));
	if (e) {
		const char *m = e->msg;
		shunt_buf_puts(&r->json, ",\"error\":");
		shunt_buf_json_str(&r->json, m, strlen(m));
	}
	shunt_buf_putc(&r->json, '}');
}

/* Adds or removes the env block in one editor's settings.json. */
static int edit_settings(const struct shunt_install_opts *o, const char *name, const char *path,
			 const char *bin, const char *shim, const char **result,
			 struct shunt_error **err)
{
	_cleanup_free_ char *old = NULL;
	size_t oldlen = 0;
	mode_t mode;
	bool exists;
	if (shunt_install_read(path, &old, &oldlen, &mode, &exists, err) < 0)
		return -1;
	if (!exists)
		mode = 0600; /* env and paths: the user's alone */
	struct shunt_buf nb = {0};
	int r;
	if (o->uninstall) {
		r = shunt_jsonc_block_remove(old, oldlen, TAG, &nb, err);
	} else {
		const char *base = old;
		size_t baselen = oldlen, obj;
		if (shunt_jsonc_validate(old, oldlen, &obj, err) < 0)
			return shunt_error_prefix(
			    err, "%s is not valid JSON with comments; not touching it: ", path);
		if (obj == (size_t)-1) {
			/* a missing or empty file starts as an empty object */
			base = "{\n}\n";
			baselen = 4;
		}
		static const char *const env_path[] = {"terminal.integrated.env.linux"};
		struct shunt_jsonc_kv kv[] = {
		    {"LD_PRELOAD", shim}, {"SHUNT_BIN", bin}, {"SHUNT_EDITOR_TERMINAL", name}};
		r = shunt_jsonc_block_set(base, baselen, env_path, 1, kv, 3, TAG, &nb, err);
	}
	if (r < 0) {
		shunt_buf_free(&nb);
		return shunt_error_prefix(err, "%s: ", path);
	}
	if (nb.oom) {
		shunt_buf_free(&nb);
		return shunt_error_sys(err, ENOMEM, "install");
	}
	r = shunt_install_apply(o, path, old, oldlen, exists, mode, nb.data ? nb.data : "", nb.len,
				true, result, err);
	shunt_buf_free(&nb);
	return r;
}

static bool login_shell_is(const char *shell)
{
	const char *s = getenv("SHELL");
	struct passwd *pw = getpwuid(getuid());
	const char *p = pw ? pw->pw_shell : NULL;
	size_t n = strlen(shell);
	for (int i = 0; i < 2; i++) {
		const char *x = i ? p : s;
		const char *slash = x ? strrchr(x, '/') : NULL;
		if (slash && strncmp(slash + 1, shell, n) == 0 && slash[1 + n] == '\0')
			return true;
	}
	return false;
}

/* Adds or removes the gate block that loads the hook in editor terminals
 * in one rc file. Skipped (NULL *result) on install when the file already
 * loads shunt unconditionally (`shunt install bash`), or when the shell
 * is zsh and the user has no ~/.zshrc and another login shell. */
static int edit_gate(const struct shunt_install_opts *o, const char *shell, const char *bin,
		     char **path_out, const char **result, struct shunt_error **err)
{
	*result = NULL;
	_cleanup_free_ char *old = NULL;
	size_t oldlen = 0;
	mode_t mode;
	bool exists;
	if (shunt_install_rc_load(shell, path_out, &old, &oldlen, &mode, &exists, err) < 0)
		return -1;
	const char *path = *path_out;
	bool has_gate = memmem(old, oldlen, GATE_BEGIN, strlen(GATE_BEGIN)) != NULL;
	if (!o->uninstall && !has_gate) {
		if (strcmp(shell, "zsh") == 0 && !exists && !login_shell_is("zsh"))
			return 0;
		const char *b = memmem(old, oldlen, RC_BEGIN, strlen(RC_BEGIN));
		if (b && (b == old || b[-1] == '\n')) {
			*result = "hook already loaded";
			return 0;
		}
	}
	if (o->uninstall && !has_gate)
		return 0;
	struct shunt_buf blk = {0};
	if (!o->uninstall) {
		shunt_buf_puts(&blk, GATE_BEGIN);
		shunt_buf_puts(&blk, "# added by `shunt install vscode`: editor terminals (their "
				     "settings.json sets\n# SHUNT_EDITOR_TERMINAL) get the line "
				     "hook; `shunt install vscode --uninstall` removes it\n");
		shunt_buf_puts(&blk, "if [ -n \"${SHUNT_EDITOR_TERMINAL-}\" ]; then eval \"$(");
		shunt_buf_put_shquoted(&blk, bin);
		shunt_buf_printf(&blk, " init %s)\"; fi\n", shell);
		shunt_buf_puts(&blk, GATE_END);
	}
	struct shunt_buf nb = {0};
	int r = blk.oom ? shunt_error_sys(err, ENOMEM, "install")
			: shunt_install_rc_edit(old, oldlen, GATE_BEGIN, GATE_END,
						o->uninstall ? NULL : blk.data, &nb, path, err);
	shunt_buf_free(&blk);
	if (r >= 0 && nb.oom)
		r = shunt_error_sys(err, ENOMEM, "install");
	if (r >= 0)
		r = shunt_install_apply(o, path, old, oldlen, exists, exists ? mode : 0644,
					nb.data ? nb.data : "", nb.len, true, result, err);
	shunt_buf_free(&nb);
	return r < 0 ? -1 : 0;
}

/* Which editors to touch: the named ones, or those found. */
static int select_editors(const struct shunt_install_opts *o, const char *home, bool *sel,
			  char **paths, struct shunt_error **err)
{
	bool any = false, named = false;
	for (size_t i = 0; i < N_EDITORS; i++) {
		bool installed;
		if (editor_paths(&editors[i], home, &paths[i], &installed) < 0)
			return shunt_error_sys(err, ENOMEM, "install");
		sel[i] = false;
		if (o->uninstall)
			sel[i] = file_has_block(paths[i]);
		else
			sel[i] = installed;
	}
	if (o->editors) {
		named = true;
		bool want[N_EDITORS] = {0};
		_cleanup_free_ char *list = strdup(o->editors);
		if (!list)
			return shunt_error_sys(err, ENOMEM, "install");
		char *save = NULL;
		for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			size_t i = 0;
			while (i < N_EDITORS && strcmp(editors[i].name, t) != 0)
				i++;
			if (i == N_EDITORS)
				return shunt_args_usage(
				    err, "unknown editor '%s' (see shunt install --help)", t);
			want[i] = true;
		}
		for (size_t i = 0; i < N_EDITORS; i++)
			sel[i] = want[i];
	} else if (strcmp(o->target, "vscode") != 0 && strcmp(o->target, "editors") != 0 &&
		   strcmp(o->target, "cursor") != 0) {
		named = true;
		for (size_t i = 0; i < N_EDITORS; i++)
			sel[i] = strcmp(editors[i].name, o->target) == 0;
	} else if (strcmp(o->target, "cursor") == 0) {
		for (size_t i = 0; i < N_EDITORS; i++)
			sel[i] =
			    sel[i] && editors[i].family && strcmp(editors[i].family, "cursor") == 0;
	}
	for (size_t i = 0; i < N_EDITORS; i++)
		any = any || sel[i];
	if (!any && !named && !o->uninstall) {
		/* nothing found: the desktop app the target names, as before */
		const char *fallback = strcmp(o->target, "cursor") == 0 ? "cursor" : "vscode";
		for (size_t i = 0; i < N_EDITORS; i++)
			sel[i] = strcmp(editors[i].name, fallback) == 0;
	}
	return 0;
}

int shunt_install_editors(const struct shunt_install_opts *o, struct shunt_error **err)
{
	_cleanup_free_ char *home = shunt_paths_home();
	if (!home)
		return shunt_error_set(err, 0, "cannot find the home directory");
	_cleanup_free_ char *bin = NULL;
	_cleanup_free_ char *shim = NULL;
	if (shunt_init_self_paths(&bin, &shim, err) < 0)
		return -1;
	bool sel[N_EDITORS];
	char *paths[N_EDITORS] = {0};
	struct report rep = {0};
	int rc = select_editors(o, home, sel, paths, err);
	bool installed_any = false, no_tty = false, declined = false;
	for (size_t i = 0; rc == 0 && i < N_EDITORS && !no_tty; i++) {
		if (!sel[i])
			continue;
		const char *result = "error";
		struct shunt_error *e = NULL;
		if (edit_settings(o, editors[i].name, paths[i], bin, shim, &result, &e) < 0) {
			fprintf(stderr, "shunt: %s: %s\n", editors[i].name, e->msg);
			no_tty = strstr(e->msg, "no terminal") != NULL;
			rep.failed++;
		} else if (strcmp(result, "declined") == 0) {
			declined = true;
		} else if (!o->uninstall) {
			installed_any = true;
		}
		report_add(&rep, "settings", editors[i].name, paths[i], result, e);
		shunt_error_free(&e);
	}
	if (rc == 0 && rep.n == 0 && o->uninstall)
		fprintf(stderr, "shunt: no editor settings.json holds a shunt block\n");
	/* the hook gate: on install when some editor carries the block; on
	 * uninstall once no editor's settings does any more */
	bool still = false;
	for (size_t i = 0; rc == 0 && o->uninstall && i < N_EDITORS; i++)
		still = still || file_has_block(paths[i]);
	bool gate = rc == 0 && !no_tty && (o->uninstall ? !still || o->dry_run : installed_any);
	for (int s = 0; gate && s < 2; s++) {
		const char *shell = s ? "zsh" : "bash", *result = NULL;
		_cleanup_free_ char *path = NULL;
		struct shunt_error *e = NULL;
		if (edit_gate(o, shell, bin, &path, &result, &e) < 0) {
			fprintf(stderr, "shunt: %s\n", e->msg);
			rep.failed++;
			result = "error";
		} else if (result && strcmp(result, "declined") == 0) {
			declined = true;
		} else if (result && strncmp(result, "hook already", 12) == 0) {
			fprintf(stderr, "shunt: %s loads the hook already (`shunt install %s`)\n",
				path, shell);
		}
		if (result)
			report_add(&rep, "rc", shell, path ? path : "", result, e);
		shunt_error_free(&e);
	}
	if (rc == 0 && !o->uninstall && installed_any) {
		fprintf(stderr,
			"shunt: new terminals of these editors carry the shim, and bash and "
			"zsh there load the line hook; agent terminals have no human to ask, "
			"so they follow the non_interactive setting\n");
		for (size_t i = 0; i < sizeof(uncovered) / sizeof(uncovered[0]); i++)
			fprintf(stderr, "shunt: not covered: %s\n", uncovered[i]);
	}
	if (rc == 0 && o->json) {
		printf("{\"uninstall\":%s,\"dry_run\":%s,\"files\":[%.*s],\"uncovered\":[",
		       o->uninstall ? "true" : "false", o->dry_run ? "true" : "false",
		       (int)rep.json.len, rep.json.data ? rep.json.data : "");
		struct shunt_buf u = {0};
		for (size_t i = 0; i < sizeof(uncovered) / sizeof(uncovered[0]); i++) {
			if (i)
				shunt_buf_putc(&u, ',');
			shunt_buf_json_str(&u, uncovered[i], strlen(uncovered[i]));
		}
		printf("%.*s]}\n", (int)u.len, u.data ? u.data : "");
		shunt_buf_free(&u);
	}
	for (size_t i = 0; i < N_EDITORS; i++)
		free(paths[i]);
	shunt_buf_free(&rep.json);
	if (rc == 0 && rep.failed)
		rc = shunt_error_set(err, 0, "%zu of %zu files were not changed (see above)",
				     rep.failed, rep.n);
	return rc < 0 ? rc : declined ? 1 : 0;
}
