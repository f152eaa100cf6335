/* The settings.json editor: every byte outside shunt's block survives,
 * set is idempotent, remove restores the original exactly. */
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "jsonc.h"
#include "tap.h"

static const char *const env_path[] = {"terminal.integrated.env.linux"};
static const struct shunt_jsonc_kv env_kv[] = {
    {"LD_PRELOAD", "/opt/shunt/lib/libshunt-preload.so"},
    {"SHUNT_BIN", "/opt/shunt/bin/shunt"},
};

/* set, check the result parses, set again (identical), remove (original). */
static void roundtrip(const char *name, const char *doc)
{
	size_t len = strlen(doc), obj;
	struct shunt_error *err = NULL;
	struct shunt_buf a = {0}, b = {0}, c = {0};
	int r = shunt_jsonc_block_set(doc, len, env_path, 1, env_kv, 2, "shunt", &a, &err);
	ok(r == 0, "%s: set", name);
	if (r < 0) {
		diag("%s", err ? err->msg : "?");
		shunt_error_free(&err);
		return;
	}
	ok(shunt_jsonc_validate(a.data, a.len, &obj, &err) == 0, "%s: result is valid JSONC", name);
	size_t vs, ve;
	ok(shunt_jsonc_find(a.data, a.len, obj, "terminal.integrated.env.linux", &vs, &ve) == 1 &&
	       shunt_jsonc_find(a.data, a.len, vs, "LD_PRELOAD", &vs, &ve) == 1 &&
	       strncmp(a.data + vs, "\"/opt/shunt/lib/libshunt-preload.so\"", ve - vs) == 0,
	   "%s: env.linux.LD_PRELOAD holds the shim", name);
	ok(shunt_jsonc_block_present(a.data, a.len, "shunt"), "%s: block marked", name);
	ok(shunt_jsonc_block_set(a.data, a.len, env_path, 1, env_kv, 2, "shunt", &b, &err) == 0 &&
	       b.len == a.len && memcmp(a.data, b.data, a.len) == 0,
	   "%s: second set is byte-identical", name);
	ok(shunt_jsonc_block_remove(a.data, a.len, "shunt", &c, &err) == 1 && c.len == len &&
	       memcmp(c.data, doc, len) == 0,
	   "%s: remove restores the original bytes", name);
	/* every original byte is still there, in order: the block is one
	 * contiguous insertion */
	size_t pre = 0;
	while (pre < len && a.data[pre] == doc[pre])
		pre++;
	size_t post = 0;
	while (post < len - pre && a.data[a.len - 1 - post] == doc[len - 1 - post])
		post++;
	ok(pre + post == len, "%s: one contiguous insertion, nothing else changed", name);
	shunt_buf_free(&a);
	shunt_buf_free(&b);
	shunt_buf_free(&c);
}

int main(void)
{
	size_t obj, vs, ve;
	struct shunt_error *err = NULL;

	/* validation */
	const char *good =
	    "// c\n{ \"a\": [1, 2,], /* x */ \"b\": {\"c\": null,}, \"d\": \"//not\", }\n";
	ok(shunt_jsonc_validate(good, strlen(good), &obj, &err) == 0 && good[obj] == '{',
	   "comments and trailing commas accepted");
	const char *bad = "{\n  \"a\": 1,\n  \"b\": [1,2\n}\n";
	ok(shunt_jsonc_validate(bad, strlen(bad), &obj, &err) < 0, "unclosed array rejected");
	ok(err && strstr(err->msg, "line 4, column 1"), "error has line and column (%s)",
	   err ? err->msg : "");
	shunt_error_free(&err);
	ok(shunt_jsonc_validate("[1]", 3, &obj, &err) < 0, "top level must be an object");
	shunt_error_free(&err);
	ok(shunt_jsonc_validate("{} x", 4, &obj, &err) < 0, "trailing garbage rejected");
	shunt_error_free(&err);
	ok(shunt_jsonc_validate("{\"a\": 1 /* open", 15, &obj, &err) < 0,
	   "unterminated comment rejected");
	shunt_error_free(&err);
	ok(shunt_jsonc_validate("{\"a\": tru}", 10, &obj, &err) < 0, "bad literal rejected");
	shunt_error_free(&err);

	/* find: last occurrence wins, escaped keys */
	const char *dup = "{\"k\": 1, \"k\": 2, \"\\u0041b\": 3}";
	ok(shunt_jsonc_find(dup, strlen(dup), 0, "k", &vs, &ve) == 1 && dup[vs] == '2',
	   "last duplicate wins");
	ok(shunt_jsonc_find(dup, strlen(dup), 0, "Ab", &vs, &ve) == 1 && dup[vs] == '3',
	   "escaped key decoded");
	ok(shunt_jsonc_find(dup, strlen(dup), 0, "zz", &vs, &ve) == 0, "absent key");

	roundtrip("comments fixture",
		  "// VS Code user settings\n{\n    // editor\n    \"editor.fontSize\": 14,\n"
		  "    \"editor.rulers\": [80, 120,],   /* trailing comma */\n"
		  "    \"files.exclude\": {\n        \"**/.git\": true, // keep\n    },\n"
		  "    \"url\": \"http://example.com/*not a comment*/\",\n}\n");
	roundtrip("empty object", "{}\n");
	roundtrip("no trailing newline", "{\"a\":1}");
	roundtrip("crlf", "{\r\n  \"a\": 1,\r\n  \"b\": [1,2]\r\n}\r\n");
	roundtrip("existing env object",
		  "{\n\t\"terminal.integrated.env.linux\": {\n\t\t\"FOO\": \"bar\", // mine\n\t},\n"
		  "\t\"editor.tabSize\": 4\n}\n");

	/* layout follows the document */
	struct shunt_buf a = {0};
	const char *sp = "{\n    \"a\": 1\n}\n";
	ok(shunt_jsonc_block_set(sp, strlen(sp), env_path, 1, env_kv, 2, "shunt", &a, &err) == 0 &&
	       strstr(
		   a.data,
		   "\n    /* >>> shunt >>> */\n    \"terminal.integrated.env.linux\": {\n        "
		   "\"LD_PRELOAD\""),
	   "four-space indentation reused");
	shunt_buf_free(&a);
	const char *crlf = "{\r\n  \"a\": 1\r\n}\r\n";
	ok(shunt_jsonc_block_set(crlf, strlen(crlf), env_path, 1, env_kv, 2, "shunt", &a, &err) ==
		   0 &&
	       !strstr(a.data, "*/\n") && strstr(a.data, "*/\r\n"),
	   "CRLF line endings reused");
	shunt_buf_free(&a);

	/* existing env object: members go inside it, the user's stay */
	const char *env =
	    "{\n\t\"terminal.integrated.env.linux\": {\n\t\t\"FOO\": \"bar\"\n\t}\n}\n";
	ok(shunt_jsonc_block_set(env, strlen(env), env_path, 1, env_kv, 2, "shunt", &a, &err) == 0,
	   "set in existing");
	ok(shunt_jsonc_validate(a.data, a.len, &obj, &err) == 0 &&
	       shunt_jsonc_find(a.data, a.len, obj, "terminal.integrated.env.linux", &vs, &ve) ==
		   1 &&
	       shunt_jsonc_find(a.data, a.len, vs, "FOO", &vs, &ve) == 1,
	   "user's FOO kept, single env object");
	shunt_buf_free(&a);

	/* a changed value replaces the old block */
	struct shunt_buf b = {0};
	struct shunt_jsonc_kv kv2[] = {{"LD_PRELOAD", "/new/shim.so"}, {"SHUNT_BIN", "/new/shunt"}};
	shunt_jsonc_block_set(env, strlen(env), env_path, 1, env_kv, 2, "shunt", &a, &err);
	ok(shunt_jsonc_block_set(a.data, a.len, env_path, 1, kv2, 2, "shunt", &b, &err) == 0 &&
	       strstr(b.data, "/new/shim.so") && !strstr(b.data, "/opt/shunt"),
	   "new paths replace the old block");
	shunt_buf_free(&a);
	shunt_buf_free(&b);

	/* the user's own LD_PRELOAD would win: refuse */
	const char *conflict =
	    "{\"terminal.integrated.env.linux\": {\"LD_PRELOAD\": \"/opt/other.so\"}}";
	ok(shunt_jsonc_block_set(conflict, strlen(conflict), env_path, 1, env_kv, 2, "shunt", &a,
				 &err) < 0 &&
	       err && strstr(err->msg, "LD_PRELOAD"),
	   "existing LD_PRELOAD refused");
	shunt_error_free(&err);
	shunt_buf_free(&a);
	const char *notobj = "{\"terminal.integrated.env.linux\": 3}";
	ok(shunt_jsonc_block_set(notobj, strlen(notobj), env_path, 1, env_kv, 2, "shunt", &a,
				 &err) < 0,
	   "non-object env refused");
	shunt_error_free(&err);
	shunt_buf_free(&a);
	ok(shunt_jsonc_block_set(bad, strlen(bad), env_path, 1, env_kv, 2, "shunt", &a, &err) < 0,
	   "invalid document refused");
	shunt_error_free(&err);
	shunt_buf_free(&a);

	/* nested creation */
	const char *const deep[] = {"x", "y"};
	const char *top = "{\"x\": {}}";
	ok(shunt_jsonc_block_set(top, strlen(top), deep, 2, env_kv, 1, "t", &a, &err) == 0 &&
	       shunt_jsonc_validate(a.data, a.len, &obj, &err) == 0 &&
	       shunt_jsonc_find(a.data, a.len, obj, "x", &vs, &ve) == 1 &&
	       shunt_jsonc_find(a.data, a.len, vs, "y", &vs, &ve) == 1 &&
	       shunt_jsonc_find(a.data, a.len, vs, "LD_PRELOAD", &vs, &ve) == 1,
	   "missing nested object created");
	shunt_buf_free(&a);

	/* remove without a block is a copy; a damaged block is an error */
	ok(shunt_jsonc_block_remove(good, strlen(good), "shunt", &a, &err) == 0 &&
	       a.len == strlen(good),
	   "remove without block copies");
	shunt_buf_free(&a);
	const char *damaged = "{\n\t/* >>> shunt >>> */\n\t\"a\": 1\n}";
	ok(shunt_jsonc_block_remove(damaged, strlen(damaged), "shunt", &a, &err) < 0,
	   "damaged block refused");
	shunt_error_free(&err);
	shunt_buf_free(&a);

	/* editor detection */
	unsetenv("TERM_PROGRAM");
	unsetenv("CURSOR_TRACE_ID");
	unsetenv("VSCODE_GIT_ASKPASS_MAIN");
	unsetenv("VSCODE_IPC_HOOK_CLI");
	unsetenv("VSCODE_INJECTION");
	ok(shunt_editor_detect() == NULL, "no editor");
	setenv("TERM_PROGRAM", "vscode", 1);
	is_str(shunt_editor_detect(), "vscode", "vscode from TERM_PROGRAM");
	setenv("VSCODE_GIT_ASKPASS_MAIN",
	       "/usr/share/cursor/resources/app/extensions/git/dist/askpass-main.js", 1);
	is_str(shunt_editor_detect(), "cursor", "cursor from its askpass path");
	return done_testing();
}
