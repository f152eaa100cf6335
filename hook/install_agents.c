/* shunt install claude-code|cursor-agent|codex|gemini: adds shunt's
 * pre-command hook to the agent's JSON configuration without
 * re-serialising it. The entry is inserted as one span of text right
 * after an opening bracket (the top-level object, the "hooks" object, or
 * the event's array, whichever exists), so every other byte of the file
 * stays as it was, and --uninstall removes exactly that span.
 *
 * Files (user level; --project: the repository's):
 *   claude-code  ~/.claude/settings.json      .claude/settings.json
 *   codex        $CODEX_HOME/hooks.json (~/.codex)   .codex/hooks.json
 *   gemini       ~/.gemini/settings.json      .gemini/settings.json
 *   cursor-agent ~/.cursor/hooks.json         .cursor/hooks.json */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentevent.h"
#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "install_agents.h"
#include "json.h"
#include "jsonc.h"
#include "paths.h"

#define MAX_FILE      (8u << 20)
#define HOOK_BUDGET_S 20 /* timeout(1) inside the agent's own hook timeout */

static const char agents_usage[] =
    "usage: shunt install claude-code|cursor-agent|codex|gemini [--project] [--uninstall]\n"
    "                    [--dry-run] [--json]\n"
    "Adds shunt's pre-command hook (shunt hook AGENT) to the agent's configuration:\n"
    "  claude-code   ~/.claude/settings.json  (--project: .claude/settings.json)\n"
    "  codex         $CODEX_HOME/hooks.json or ~/.codex/hooks.json  (.codex/hooks.json)\n"
    "  gemini        ~/.gemini/settings.json  (.gemini/settings.json)\n"
    "  cursor-agent  ~/.cursor/hooks.json  (.cursor/hooks.json)\n"
    "Only one entry is added; the rest of the file stays byte for byte. Running it\n"
    "again changes nothing; --uninstall removes exactly that entry. The hook blocks\n"
    "the command whenever shunt cannot answer (missing, crashed, timed out).\n"
    "  --dry-run  print the new file, write nothing   --json  say what was done as JSON\n";

struct agent_spec {
	const char *name;    /* as shunt install takes it */
	const char *dir;     /* under HOME (user) or the project */
	const char *file;    /* in dir */
	const char *event;   /* the event key under "hooks" */
	const char *matcher; /* NULL: Cursor's event is the shell already */
};

static const struct agent_spec specs[] = {
    {"claude-code", ".claude", "settings.json", "PreToolUse", "Bash"},
    {"codex", ".codex", "hooks.json", "PreToolUse", "Bash"},
    {"gemini", ".gemini", "settings.json", "BeforeTool", "run_shell_command"},
    {"cursor-agent", ".cursor", "hooks.json", "beforeShellExecution", NULL},
};

static const struct agent_spec *spec_find(const char *name)
{
	if (name && strcmp(name, "cursor") == 0)
		return NULL; /* `shunt install cursor` is the editor's terminal */
	int a = shunt_agentevent_agent(name);
	if (a < 0)
		return NULL;
	static const int order[] = {[SHUNT_AGENT_CLAUDE] = 0,
				    [SHUNT_AGENT_CODEX] = 1,
				    [SHUNT_AGENT_GEMINI] = 2,
				    [SHUNT_AGENT_CURSOR] = 3};
	return &specs[order[a]];
}

bool shunt_install_agents_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			return spec_find(argv[i]) != NULL;
	return false;
}

char *shunt_install_agents_command(const char *shunt_bin, const char *agent)
{
	struct shunt_buf b = {0};
	/* $0 is shunt's path: a missing binary is status 127 like any other
	 * failure, and the reason names what to do */
	shunt_buf_printf(&b,
			 "/bin/sh -c 'timeout -k 2 %d \"$0\" hook %s; s=$?; "
			 "[ \"$s\" -eq 0 ] && exit 0; [ \"$s\" -eq 2 ] || echo \"shunt hook "
			 "failed (status $s: missing, crashed or timed out); the command was "
			 "blocked. Check: $0 doctor\" >&2; exit 2' ",
			 HOOK_BUDGET_S, agent);
	shunt_buf_put_shquoted(&b, shunt_bin);
	return shunt_buf_steal(&b);
}

/* The entry's text before the command's JSON string. */
static void entry_prefix(const struct agent_spec *s, struct shunt_buf *b)
{
	if (!s->matcher) {
		shunt_buf_puts(b, "{\"command\":");
		return;
	}
	shunt_buf_printf(b, "{\"matcher\":\"%s\",\"hooks\":[{\"type\":\"command\",", s->matcher);
	if (strcmp(s->name, "gemini") == 0)
		shunt_buf_puts(b, "\"name\":\"shunt\",");
	shunt_buf_puts(b, "\"command\":");
}

/* ... and after it: the agent's own limit, above timeout(1)'s, so
 * shunt's budget ends first. */
static void entry_suffix(const struct agent_spec *s, struct shunt_buf *b)
{
	if (!s->matcher) {
		shunt_buf_putc(b, '}');
		return;
	}
	shunt_buf_printf(b, ",\"timeout\":%d}]}",
			 strcmp(s->name, "gemini") == 0 ? (HOOK_BUDGET_S + 10) * 1000
							: HOOK_BUDGET_S + 10);
}

/* The hook entry for the event's array, as one line of compact JSON. */
static void entry_text(const struct agent_spec *s, const char *cmd, struct shunt_buf *b)
{
	entry_prefix(s, b);
	shunt_buf_json_str(b, cmd, strlen(cmd));
	entry_suffix(s, b);
}

/* An entry shunt wrote earlier, whatever shunt's path was then: found by
 * the wrapper's own words around `hook AGENT`. Returns it malloc'd, or
 * NULL. */
static char *entry_existing(const struct agent_spec *s, const char *hook_agent, const char *doc,
			    size_t len)
{
	struct shunt_buf mark = {0}, pre = {0}, suf = {0};
	shunt_buf_printf(&mark, "\\\"$0\\\" hook %s; s=$?;", hook_agent);
	entry_prefix(s, &pre);
	shunt_buf_putc(&pre, '"');
	shunt_buf_putc(&suf, '"');
	entry_suffix(s, &suf);
	char *found = NULL;
	const char *m = memmem(doc, len, mark.data, mark.len);
	const char *start = NULL;
	for (const char *p = doc; m && (p = memmem(p, (size_t)(m - p), pre.data, pre.len)); p++)
		start = p;
	const char *end = m ? memmem(m, len - (size_t)(m - doc), suf.data, suf.len) : NULL;
	if (start && end)
		found = strndup(start, (size_t)(end - start) + suf.len);
	shunt_buf_free(&mark);
	shunt_buf_free(&pre);
	shunt_buf_free(&suf);
	return found;
}

/* The span inserted: level 0 the whole "hooks" member, 1 the event
 * member, 2 the entry alone. */
static void span_text(const struct agent_spec *s, const char *entry, int level, struct shunt_buf *b)
{
	if (level == 0)
		shunt_buf_puts(b, "\"hooks\":{");
	if (level <= 1)
		shunt_buf_printf(b, "\"%s\":[", s->event);
	shunt_buf_puts(b, entry);
	if (level <= 1)
		shunt_buf_putc(b, ']');
	if (level == 0)
		shunt_buf_putc(b, '}');
}

/* True when the object or array opened at doc[open] has no members. */
static bool container_empty(const char *doc, size_t len, size_t open)
{
	for (size_t i = open + 1; i < len; i++) {
		if (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r')
			continue;
		return doc[i] == '}' || doc[i] == ']';
	}
	return false;
}

/* What a new file holds besides shunt's entry. */
static const char *skeleton(const struct agent_spec *s)
{
	return s->matcher ? "{}\n" : "{\"version\":1}\n";
}

/* doc with the entry added into out. Fails when the file is not JSON or
 * "hooks" / the event is not of the expected type. */
static int add_entry(const struct agent_spec *s, const char *doc, size_t len, const char *entry,
		     struct shunt_buf *out, struct shunt_error **err)
{
	size_t obj;
	if (shunt_jsonc_validate(doc, len, &obj, err) < 0)
		return -1;
	if (obj == (size_t)-1) {
		/* no file (or an empty one): the entry goes into the skeleton */
		const char *sk = skeleton(s);
		return add_entry(s, sk, strlen(sk), entry, out, err);
	}
	struct shunt_buf span = {0};
	size_t at = obj, vs, ve;
	int level = 0;
	if (shunt_jsonc_find(doc, len, obj, "hooks", &vs, &ve) == 1) {
		if (doc[vs] != '{')
			return shunt_error_set(err, 0, "\"hooks\" is not an object");
		at = vs, level = 1;
		if (shunt_jsonc_find(doc, len, vs, s->event, &vs, &ve) == 1) {
			if (doc[vs] != '[')
				return shunt_error_set(err, 0, "\"hooks\".\"%s\" is not an array",
						       s->event);
			at = vs, level = 2;
		}
	}
	span_text(s, entry, level, &span);
	shunt_buf_append(out, doc, at + 1);
	shunt_buf_append(out, span.data, span.len);
	if (!container_empty(doc, len, at))
		shunt_buf_putc(out, ',');
	shunt_buf_append(out, doc + at + 1, len - at - 1);
	shunt_buf_free(&span);
	return 0;
}

/* doc without the entry: the largest span add_entry could have inserted
 * (with its comma) goes. 1 removed, 0 not there. */
static int remove_entry(const struct agent_spec *s, const char *doc, size_t len, const char *entry,
			struct shunt_buf *out)
{
	for (int level = 0; level <= 2; level++) {
		struct shunt_buf span = {0};
		span_text(s, entry, level, &span);
		const char *p = memmem(doc, len, span.data, span.len);
		if (p && p > doc && (p[-1] == '{' || p[-1] == '[')) {
			size_t cut =
			    span.len + ((size_t)(p - doc) + span.len < len && p[span.len] == ',');
			shunt_buf_append(out, doc, (size_t)(p - doc));
			shunt_buf_append(out, p + cut, len - (size_t)(p - doc) - cut);
			shunt_buf_free(&span);
			return 1;
		}
		shunt_buf_free(&span);
	}
	shunt_buf_append(out, doc, len);
	return 0;
}

static char *config_path(const struct agent_spec *s, bool project)
{
	char *p = NULL;
	if (project) {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (cwd && asprintf(&p, "%s/%s/%s", cwd, s->dir, s->file) < 0)
			p = NULL;
		return p;
	}
	const char *ch = getenv("CODEX_HOME");
	if (strcmp(s->name, "codex") == 0 && ch && *ch)
		return asprintf(&p, "%s/%s", ch, s->file) < 0 ? NULL : p;
	_cleanup_free_ char *home = shunt_paths_home();
	if (home && asprintf(&p, "%s/%s/%s", home, s->dir, s->file) < 0)
		p = NULL;
	return p;
}

static int self_path(char **out, struct shunt_error **err)
{
	const char *env = getenv("SHUNT_BIN"); /* tests: the binary the hook must name */
	*out = env && *env ? strdup(env) : realpath("/proc/self/exe", NULL);
	return *out ? 0 : shunt_error_sys(err, errno, "finding shunt's own path");
}

static void say(bool json, const char *agent, const char *path, const char *what)
{
	if (!json) {
		fprintf(stderr, "shunt: %s: %s\n", path, what);
		return;
	}
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "{\"agent\":\"%s\",\"file\":", agent);
	shunt_buf_json_str(&b, path, strlen(path));
	shunt_buf_puts(&b, ",\"result\":");
	shunt_buf_json_str(&b, what, strlen(what));
	shunt_buf_puts(&b, "}\n");
	fputs(b.data, stdout);
	shunt_buf_free(&b);
}

int shunt_install_agents_run(int argc, char **argv, struct shunt_error **err)
{
	const struct agent_spec *s = NULL;
	bool project = false, uninstall = false, dry = false, json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--project") == 0)
			project = true;
		else if (strcmp(argv[i], "--uninstall") == 0)
			uninstall = true;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return fputs(agents_usage, stdout), 0;
		else if (argv[i][0] != '-' && !s)
			s = spec_find(argv[i]);
		else
			return shunt_args_usage(err, "unexpected argument '%s'\n%s", argv[i],
						agents_usage);
	}
	_cleanup_free_ char *path = config_path(s, project);
	_cleanup_free_ char *bin = NULL;
	if (!path)
		return shunt_error_sys(err, ENOMEM, "install");
	if (self_path(&bin, err) < 0)
		return -1;
	const char *hook_agent = strcmp(s->name, "cursor-agent") == 0 ? "cursor" : s->name;
	_cleanup_free_ char *cmd = shunt_install_agents_command(bin, hook_agent);
	_cleanup_free_ char *doc = NULL;
	size_t len = 0;
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (exists && shunt_fs_read(path, MAX_FILE, &doc, &len, err) < 0)
		return -1;
	struct shunt_buf entry = {0}, out = {0};
	entry_text(s, cmd, &entry);
	int rc = 0;
	const char *what;
	bool present = doc && memmem(doc, len, entry.data, entry.len);
	_cleanup_free_ char *old = doc && !present ? entry_existing(s, hook_agent, doc, len) : NULL;
	if (old && !uninstall) {
		/* shunt moved: the old entry gives way to the new one */
		struct shunt_buf tmp = {0};
		remove_entry(s, doc, len, old, &tmp);
		free(doc);
		len = tmp.len;
		doc = shunt_buf_steal(&tmp);
		if (!doc)
			doc = strdup("");
	}
	if (uninstall) {
		const char *which = present || !old ? entry.data : old;
		bool removed = doc && remove_entry(s, doc, len, which, &out) == 1;
		what = removed ? "removed shunt's hook" : "no shunt hook, nothing to remove";
		if (!removed)
			goto done;
	} else if (present) {
		what = "shunt's hook is already there, nothing changed";
		goto done;
	} else {
		what = "added shunt's hook";
		if (add_entry(s, doc ? doc : "", len, entry.data, &out, err) < 0) {
			shunt_error_prefix(err, "%s: not touching it: ", path);
			rc = -1;
			goto done;
		}
	}
	if (dry) {
		fwrite(out.data, 1, out.len, stdout);
		what = "dry run, not changed";
		goto done;
	}
	/* uninstall of a file shunt created leaves nothing of the user's */
	bool created_only = uninstall && out.len == strlen(skeleton(s)) &&
			    memcmp(out.data, skeleton(s), out.len) == 0;
	if (created_only) {
		if (unlink(path) < 0) {
			rc = shunt_error_sys(err, errno, "removing %s", path);
			goto done;
		}
	} else {
		_cleanup_free_ char *dir = strdup(path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			*slash = '\0';
		if (!dir || shunt_fs_mkdirs(dir, 0700, err) < 0 ||
		    shunt_fs_write_atomic(path, out.data, out.len,
					  exists ? st.st_mode & 0777 : 0600, err) < 0) {
			rc = -1;
			goto done;
		}
	}
done:
	if (rc == 0)
		say(json, s->name, path, what);
	if (rc == 0 && !uninstall && !dry && !json && strcmp(s->name, "codex") == 0)
		fprintf(stderr,
			"shunt: Codex skips a hook nobody has trusted, silently: until then your "
			"Codex sessions are NOT protected.\n"
			"shunt: start codex, type /hooks, select the PreToolUse hook running "
			"'shunt hook codex' and trust it; shunt doctor shows whether it is "
			"trusted.\n");
	shunt_buf_free(&entry);
	shunt_buf_free(&out);
	return rc;
}

/* The [i, j] of the PreToolUse hook running `shunt hook codex` in the
 * hooks.json tree j, or -1. */
static int codex_find(const struct shunt_json *j, size_t *gi, size_t *hi)
{
	const struct shunt_json *pre = shunt_json_get(shunt_json_get(j, "hooks"), "PreToolUse");
	for (size_t g = 0; pre && pre->type == SHUNT_JSON_ARRAY && g < pre->len; g++) {
		const struct shunt_json *hs = shunt_json_get(pre->items[g], "hooks");
		for (size_t h = 0; hs && hs->type == SHUNT_JSON_ARRAY && h < hs->len; h++) {
			const char *c = shunt_json_str(hs->items[h], "command", "");
			if (strstr(c, "hook codex")) {
				*gi = g, *hi = h;
				return 0;
			}
		}
	}
	return -1;
}

int shunt_install_agents_codex_trust(char *detail, size_t n)
{
	const struct agent_spec *s = spec_find("codex");
	_cleanup_free_ char *path = config_path(s, false);
	_cleanup_free_ char *doc = NULL, *toml = NULL, *tpath = NULL, *key = NULL;
	size_t len = 0, tlen = 0;
	if (!path || shunt_fs_read(path, MAX_FILE, &doc, &len, NULL) < 0)
		return snprintf(detail, n, "no Codex hook installed (%s)", path ? path : "?"), 0;
	struct shunt_json *j = shunt_json_parse(path, doc, len, NULL);
	size_t g = 0, h = 0;
	int found = j ? codex_find(j, &g, &h) : -1;
	shunt_json_free(j);
	if (found < 0)
		return snprintf(detail, n, "no shunt hook in %s", path), 0;
	/* Codex 0.17x records a review in config.toml, next to hooks.json:
	 * [hooks.state."<hooks.json>:pre_tool_use:G:H"] trusted_hash = "..." */
	char *slash = strrchr(path, '/');
	if (!slash || asprintf(&tpath, "%.*s/config.toml", (int)(slash - path), path) < 0 ||
	    asprintf(&key, "[hooks.state.\"%s:pre_tool_use:%zu:%zu\"]", path, g, h) < 0)
		return snprintf(detail, n, "out of memory"), 3;
	if (shunt_fs_read(tpath, MAX_FILE, &toml, &tlen, NULL) < 0 ||
	    !memmem(toml, tlen, "[hooks.state.", 13))
		return snprintf(detail, n,
				"cannot tell: %s records no hook reviews; if Codex keeps them "
				"elsewhere it may still be trusted. In codex, type /hooks",
				tpath),
		       3;
	const char *at = memmem(toml, tlen, key, strlen(key));
	const char *end = at ? strstr(at + strlen(key), "\n[") : NULL;
	const char *th = at ? strstr(at, "trusted_hash") : NULL;
	if (th && (!end || th < end))
		return snprintf(detail, n,
				"trusted (%s); Codex asks again when the hook's definition changes",
				tpath),
		       1;
	return snprintf(detail, n,
			"NOT trusted: Codex skips it and runs commands unchecked. In codex, "
			"type /hooks and trust the PreToolUse hook running 'shunt hook codex'"),
	       2;
}
