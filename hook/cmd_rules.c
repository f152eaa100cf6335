/* shunt rules: list, lint or test the rule packs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "rules.h"

static const char rules_usage[] =
    "usage: shunt rules list [--json]\n"
    "       shunt rules lint [FILE...]\n"
    "       shunt rules test [FILE...]\n"
    "list  shows every loaded rule: id, risk, action/profile, tags, description and pack,\n"
    "      then each pack's rule and example counts; --json gives {\"rules\":[...],\n"
    "      \"families\":[{family, packs, rules, examples}]} (each rule: effect, examples).\n"
    "lint  loads the built-in packs and the configured rule files (or only the named\n"
    "      FILEs) and reports errors as file:line:col; warns about rules without\n"
    "      examples or without a programs prefilter. Exit 2 on an error.\n"
    "test  checks every example of every rule (match and nomatch); prints failures and\n"
    "      \"N examples, N failed\". Exit 1 when an example fails, 2 on a load error.\n"
    "Without FILEs, the built-in packs and the config's `rules:` files are used.\n";

/* Loads the named files, or the embedded packs plus the configured ones. */
static int load_rules(struct shunt_ruleset *rs, char **files, int nfiles, struct shunt_error **err)
{
	if (nfiles > 0) {
		for (int i = 0; i < nfiles; i++)
			if (shunt_rules_load_file(rs, files[i], err) < 0)
				return -1;
		return 0;
	}
	if (shunt_rules_load_embedded(rs, err) < 0)
		return shunt_error_prefix(err, "loading built-in rules: ");
	/* the loader finds the workspace and honours SHUNT_NO_SYSTEM_CONFIG */
	struct shunt_config cfg;
	if (shunt_config_load(&cfg, NULL, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < cfg.rule_files.n && rc == 0; i++)
		rc = shunt_rules_load_file(rs, cfg.rule_files.v[i], err);
	shunt_config_free(&cfg);
	return rc;
}

static void put_strv(struct shunt_buf *b, char **v, size_t n, bool json)
{
	if (json)
		shunt_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (json) {
			if (i)
				shunt_buf_putc(b, ',');
			shunt_buf_json_str(b, v[i], strlen(v[i]));
		} else {
			shunt_buf_printf(b, "%s%s", i ? "," : "", v[i]);
		}
	}
	if (json)
		shunt_buf_putc(b, ']');
	else if (n == 0)
		shunt_buf_putc(b, '-');
}

static void put_json_field(struct shunt_buf *b, const char *key, const char *val)
{
	shunt_buf_printf(b, ",\"%s\":", key);
	if (val)
		shunt_buf_json_str(b, val, strlen(val));
	else
		shunt_buf_puts(b, "null");
}

/* A rule's family: its pack's family: key, else the pack's file name
 * without directory, number prefix and extension (81-cloud.yaml: cloud). */
static void family_of(const struct shunt_rule *r, char *out, size_t cap)
{
	if (r->family) {
		snprintf(out, cap, "%s", r->family);
		return;
	}
	const char *f = r->file ? r->file : "";
	const char *slash = strrchr(f, '/');
	if (slash)
		f = slash + 1;
	const char *p = f;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p > f && (*p == '-' || *p == '_'))
		f = p + 1;
	size_t n = strcspn(f, ".");
	snprintf(out, cap, "%.*s", (int)(n ? n : strlen(f)), n ? f : "rules");
}

/* "families": one object per family in load order, with its packs and
 * the number of rules and examples (match + nomatch) it holds. */
static void put_families(struct shunt_buf *b, const struct shunt_ruleset *rs)
{
	shunt_buf_puts(b, ",\n\"families\":[");
	bool first = true;
	for (size_t i = 0; i < rs->n; i++) {
		char fam[128], other[128];
		family_of(&rs->rules[i], fam, sizeof(fam));
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			family_of(&rs->rules[j], other, sizeof(other));
			seen = strcmp(fam, other) == 0;
		}
		if (seen)
			continue;
		size_t nrules = 0, nex = 0;
		shunt_buf_puts(b, first ? "\n{\"family\":" : ",\n{\"family\":");
		first = false;
		shunt_buf_json_str(b, fam, strlen(fam));
		shunt_buf_puts(b, ",\"packs\":[");
		const char *last_pack = NULL;
		for (size_t j = i; j < rs->n; j++) {
			const struct shunt_rule *r = &rs->rules[j];
			family_of(r, other, sizeof(other));
			if (strcmp(fam, other) != 0)
				continue;
			nrules++;
			nex += r->nex_match + r->nex_nomatch;
			if (r->file && (!last_pack || strcmp(last_pack, r->file) != 0)) {
				if (last_pack)
					shunt_buf_putc(b, ',');
				shunt_buf_json_str(b, r->file, strlen(r->file));
				last_pack = r->file;
			}
		}
		shunt_buf_printf(b, "],\"rules\":%zu,\"examples\":%zu}", nrules, nex);
	}
	shunt_buf_puts(b, "\n]");
}

/* One "pack FILE: N rules, M examples" line per pack (its rules are
 * consecutive: packs load one after another). */
static void put_pack_counts(struct shunt_buf *b, const struct shunt_ruleset *rs)
{
	for (size_t i = 0; i < rs->n;) {
		const char *file = rs->rules[i].file;
		size_t n = 0, ex = 0;
		for (; i < rs->n && strcmp(rs->rules[i].file, file) == 0; i++, n++)
			ex += rs->rules[i].nex_match + rs->rules[i].nex_nomatch;
		shunt_buf_printf(b, "pack %s: %zu rules, %zu examples\n", file, n, ex);
	}
}

static int rules_list(const struct shunt_ruleset *rs, bool json)
{
	struct shunt_buf b = {0};
	if (json)
		shunt_buf_puts(&b, "{\"rules\":[");
	for (size_t i = 0; i < rs->n; i++) {
		const struct shunt_rule *r = &rs->rules[i];
		const char *action = r->action >= 0 ? shunt_action_name(r->action) : NULL;
		const char *profile = r->profile >= 0 ? shunt_profile_name(r->profile) : NULL;
		if (json) {
			shunt_buf_puts(&b, i ? ",\n{" : "\n{");
			shunt_buf_puts(&b, "\"id\":");
			shunt_buf_json_str(&b, r->id, strlen(r->id));
			put_json_field(&b, "risk", shunt_risk_name(r->risk));
			put_json_field(&b, "action", action);
			put_json_field(&b, "profile", profile);
			put_json_field(&b, "scope", shunt_rule_scope_name(r->scope));
			shunt_buf_puts(&b, ",\"programs\":");
			put_strv(&b, r->programs, r->nprograms, true);
			shunt_buf_puts(&b, ",\"tags\":");
			put_strv(&b, r->tags, r->ntags, true);
			put_json_field(&b, "description", r->description);
			put_json_field(&b, "match", r->pattern);
			put_json_field(&b, "pack", r->file);
			char fam[128];
			family_of(r, fam, sizeof(fam));
			put_json_field(&b, "family", fam);
			put_json_field(&b, "effect", shunt_rule_effect_name(r->effect));
			shunt_buf_printf(&b, ",\"command\":%s", r->cmd.present ? "true" : "false");
			shunt_buf_printf(&b, ",\"examples\":%zu", r->nex_match + r->nex_nomatch);
			shunt_buf_printf(&b, ",\"line\":%d}", r->line);
		} else {
			shunt_buf_printf(&b, "%-28s %-8s %-7s %-15s ", r->id,
					 shunt_risk_name(r->risk), action ? action : "-",
					 profile ? profile : "-");
			put_strv(&b, r->tags, r->ntags, false);
			shunt_buf_printf(&b, "  %s  [%s:%d]\n", r->description, r->file, r->line);
		}
	}
	if (json) {
		shunt_buf_puts(&b, "\n]");
		put_families(&b, rs);
		shunt_buf_puts(&b, "}\n");
	} else {
		put_pack_counts(&b, rs);
		shunt_buf_printf(&b, "%zu rules\n", rs->n);
	}
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	shunt_buf_free(&b);
	return 0;
}

/* True when pat has a '|' outside any group or class: then only one
 * branch is anchored. */
static bool top_level_alternation(const char *pat)
{
	int depth = 0;
	bool cls = false;
	for (const char *p = pat; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (cls) {
			cls = *p != ']';
		} else if (*p == '[') {
			cls = true;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			depth--;
		} else if (*p == '|' && depth == 0) {
			return true;
		}
	}
	return false;
}

/* A pattern like '^rm\s' or '^(?:curl|wget)' names its program. */
static bool anchored_to_program(const char *pat)
{
	if (pat[0] != '^' || top_level_alternation(pat))
		return false;
	pat++;
	if (strncmp(pat, "(?:", 3) == 0)
		pat += 3;
	else if (*pat == '(')
		pat++;
	return (*pat >= 'a' && *pat <= 'z') || *pat == '\\';
}

static int rules_lint(const struct shunt_ruleset *rs)
{
	size_t warnings = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct shunt_rule *r = &rs->rules[i];
		if (r->nex_match == 0 || r->nex_nomatch == 0) {
			printf("%s:%d:%d: warning: rule '%s' has no %s examples\n", r->file,
			       r->line, r->col, r->id, r->nex_match == 0 ? "match" : "nomatch");
			warnings++;
		}
		if (r->nprograms == 0 && r->scope == SHUNT_SCOPE_COMMAND &&
		    anchored_to_program(r->pattern)) {
			printf("%s:%d:%d: warning: rule '%s' is anchored to a program but has no "
			       "'programs' prefilter (slower: it runs on every command)\n",
			       r->file, r->line, r->col, r->id);
			warnings++;
		}
	}
	printf("%zu rules, %zu warnings, 0 errors\n", rs->n, warnings);
	return 0;
}

static int rules_test(const struct shunt_ruleset *rs, struct shunt_error **err)
{
	size_t total = 0, failed = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct shunt_rule *r = &rs->rules[i];
		for (int want = 1; want >= 0; want--) {
			char **ex = want ? r->ex_match : r->ex_nomatch;
			size_t n = want ? r->nex_match : r->nex_nomatch;
			for (size_t j = 0; j < n; j++) {
				struct shunt_arena a;
				shunt_arena_init_heap(&a);
				int got = shunt_rule_test_line(r, ex[j], &a);
				shunt_arena_release(&a);
				if (got < 0)
					return shunt_error_set(err, ENOMEM, "out of memory");
				total++;
				if (got != want) {
					failed++;
					/* long examples (limit tests) are cut */
					printf("FAIL %s (%s:%d): %s example %.200s%s\n", r->id,
					       r->file, r->line, want ? "match" : "nomatch", ex[j],
					       strlen(ex[j]) > 200 ? "..." : "");
				}
			}
		}
	}
	printf("%zu examples, %zu failed\n", total, failed);
	return failed ? 1 : 0;
}

int shunt_cmd_rules(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 2 || shunt_cmd_wants_help(argc, argv)) {
		fputs(rules_usage, stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	bool json = false;
	char **files = calloc((size_t)argc, sizeof(char *));
	if (!files)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int nfiles = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "list") == 0) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(files);
			return shunt_args_usage(err, "unknown option '%s' (see shunt rules --help)",
						argv[i]);
		} else if (strcmp(sub, "list") == 0) {
			free(files);
			return shunt_args_usage(err, "shunt rules list takes no files");
		} else {
			files[nfiles++] = argv[i];
		}
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "lint") != 0 && strcmp(sub, "test") != 0) {
		free(files);
		return shunt_args_usage(err, "unknown rules command '%s' (list, lint, test)", sub);
	}
	struct shunt_ruleset rs = {0};
	int rc = load_rules(&rs, files, nfiles, err);
	free(files);
	if (rc < 0) {
		shunt_ruleset_free(&rs);
		if (*err)
			(*err)->exitcode = 2;
		return -1;
	}
	if (strcmp(sub, "list") == 0)
		rc = rules_list(&rs, json);
	else if (strcmp(sub, "lint") == 0)
		rc = rules_lint(&rs);
	else
		rc = rules_test(&rs, err);
	shunt_ruleset_free(&rs);
	return rc;
}
