/* Rule packs: loader errors, the arena-only matcher and its limits, the
 * programs prefilter, every example of every embedded rule, and the
 * labelled corpus judged by lexing + matching directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"
#include "rules.h"
#include "tap.h"

static int load(struct shunt_ruleset *rs, const char *yaml, struct shunt_error **err)
{
	return shunt_rules_load_buf(rs, "t.yaml", yaml, strlen(yaml), err);
}

/* Loads yaml into a fresh set and returns the error message ("" if none). */
static const char *load_error(const char *yaml, int *exitcode)
{
	static char msg[1024];
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	int rc = load(&rs, yaml, &err);
	msg[0] = '\0';
	*exitcode = 0;
	if (rc < 0 && err) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		*exitcode = err->exitcode;
	}
	shunt_error_free(&err);
	shunt_ruleset_free(&rs);
	return msg;
}

static void test_load_valid(void)
{
	const char *y = "rules:\n"
			"  - id: rm-rf\n"
			"    description: recursive delete\n"
			"    match: '^rm\\s+-rf\\s+(\\S+)'\n"
			"    programs: [rm, \"mkfs.*\"]\n"
			"    risk: critical\n"
			"    tags: [destructive, x]\n"
			"    profile: SYSTEM_WRITE\n"
			"    action: block\n"
			"    scope: line\n"
			"    examples: {match: [\"rm -rf /\"], nomatch: [ls]}\n";
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	is_int(load(&rs, y, &err), 0, "valid pack loads");
	if (err)
		diag("%s", err->msg);
	is_int(rs.n, 1, "one rule");
	if (rs.n == 1) {
		struct shunt_rule *r = &rs.rules[0];
		is_str(r->id, "rm-rf", "id");
		is_str(r->description, "recursive delete", "description");
		is_int(r->risk, SHUNT_RISK_CRITICAL, "risk");
		is_int(r->profile, SHUNT_PROFILE_SYSTEM_WRITE, "profile");
		is_int(r->action, SHUNT_ACTION_BLOCK, "action");
		is_int(r->scope, SHUNT_SCOPE_LINE, "scope");
		is_int(r->nprograms, 2, "programs");
		is_int(r->ntags, 2, "tags");
		is_int(r->nex_match, 1, "match examples");
		is_int(r->nex_nomatch, 1, "nomatch examples");
		is_int(r->line, 2, "rule line recorded");
		ok(shunt_rule_applies_to(r, "rm"), "prefilter: rm applies");
		ok(shunt_rule_applies_to(r, "mkfs.ext4"), "prefilter: prefix entry applies");
		ok(!shunt_rule_applies_to(r, "ls"), "prefilter: ls does not apply");

		char buf[64 * 1024];
		struct shunt_arena a;
		shunt_arena_init_fixed(&a, buf, sizeof(buf));
		size_t so = 99, eo = 99;
		const char *s = "rm -rf /home";
		is_int(shunt_rule_match(r, s, strlen(s), &a, &so, &eo), 1, "matches");
		is_int(so, 0, "span start");
		is_int(eo, strlen(s), "span end");
		is_int(a.used, 0, "matcher gives its arena memory back");
		s = "ls -rf /";
		is_int(shunt_rule_match(r, s, strlen(s), &a, &so, &eo), 0, "no match");
		const char bad[] = "rm -rf \xff\xfe\x80/";
		is_int(shunt_rule_match(r, bad, sizeof(bad) - 1, &a, &so, &eo), 1,
		       "invalid UTF-8 subject matches in byte mode");

		char tiny[64];
		struct shunt_arena t;
		shunt_arena_init_fixed(&t, tiny, sizeof(tiny));
		s = "ls";
		is_int(shunt_rule_match(r, s, 2, &t, &so, &eo), 2,
		       "arena too small: fails closed (2)");
	}
	shunt_ruleset_free(&rs);
	shunt_ruleset_free(&rs); /* idempotent */
}

static void test_load_errors(void)
{
	int ec;
	const char *m;
	m = load_error("rules:\n  - id: a\n    description: d\n    paternn: 'x'\n    risk: low\n",
		       &ec);
	ok(strstr(m, "t.yaml:4:5:") != NULL, "unknown key has file:line:col: %s", m);
	ok(strstr(m, "unknown key 'paternn'") && strstr(m, "did you mean 'match'"),
	   "unknown key suggests match");
	is_int(ec, 2, "config errors exit 2");

	m = load_error("rules:\n  - id: a\n    description: d\n    match: x\n    risk: hgih\n",
		       &ec);
	ok(strstr(m, "t.yaml:5:11:") && strstr(m, "invalid risk 'hgih'"), "bad enum: %s", m);

	m = load_error("rules:\n  - id: a\n    description: d\n    match: 'ab(c'\n    risk: low\n",
		       &ec);
	ok(strstr(m, "t.yaml:4:12:") && strstr(m, "invalid regex at offset 4") &&
	       strstr(m, "missing closing parenthesis"),
	   "invalid regex names offset and PCRE2 text: %s", m);

	m = load_error("rules:\n  - id: a\n    description: d\n    match: ''\n    risk: low\n",
		       &ec);
	ok(strstr(m, "'match' is empty") != NULL, "empty match: %s", m);

	m = load_error("rules:\n  - description: d\n    match: x\n    risk: low\n", &ec);
	ok(strstr(m, "has no 'id'") != NULL, "missing id: %s", m);

	m = load_error("rules:\n  - id: Bad_Id\n    description: d\n    match: x\n    risk: low\n",
		       &ec);
	ok(strstr(m, "invalid rule id 'Bad_Id'") != NULL, "bad id: %s", m);

	m = load_error("rules:\n  - id: a\n    description: d\n    match: x\n    risk: low\n"
		       "    action: host\n",
		       &ec);
	ok(strstr(m, "invalid action 'host'") != NULL, "action host refused: %s", m);

	m = load_error("rules:\n  - id: a\n    description: d\n    match: x\n    risk: low\n"
		       "    examples: {match: [x], nomatc: [y]}\n",
		       &ec);
	ok(strstr(m, "did you mean 'nomatch'") != NULL, "examples key suggestion: %s", m);

	m = load_error("rules: [\n", &ec);
	ok(strstr(m, "t.yaml:") && strstr(m, "YAML syntax error"), "syntax error: %s", m);
	is_int(ec, 2, "syntax error exits 2");

	m = load_error("rulez: []\n", &ec);
	ok(strstr(m, "did you mean 'rules'") != NULL, "top-level key suggestion: %s", m);

	m = load_error(
	    "rules:\n  - id: a\n    description: d\n    match: '(*UTF)x'\n    risk: low\n", &ec);
	ok(strstr(m, "invalid regex") != NULL, "(*UTF) refused: byte mode only");

	/* duplicate ids across packs; the failing pack is dropped whole */
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	const char *p1 = "rules:\n  - id: same\n    description: d\n    match: x\n    risk: low\n";
	const char *p2 = "rules:\n  - id: other\n    description: d\n    match: y\n    risk: low\n"
			 "  - id: same\n    description: d\n    match: x\n    risk: low\n";
	is_int(shunt_rules_load_buf(&rs, "one.yaml", p1, strlen(p1), &err), 0, "first pack");
	is_int(shunt_rules_load_buf(&rs, "two.yaml", p2, strlen(p2), &err), -1,
	       "duplicate id fails");
	ok(err && strstr(err->msg, "two.yaml:6:9: duplicate rule id 'same'") &&
	       strstr(err->msg, "one.yaml:2:5"),
	   "duplicate names both places: %s", err ? err->msg : "");
	is_int(rs.n, 1, "failed pack added no rules");
	shunt_error_free(&err);
	shunt_ruleset_free(&rs);

	is_int(shunt_rules_load_file(&rs, "/nonexistent/x.yaml", &err), -1, "missing file fails");
	ok(err && err->exitcode == 2, "missing rule file exits 2");
	shunt_error_free(&err);
}

static void test_backtracking(void)
{
	const char *y = "rules:\n  - id: evil\n    description: d\n    match: '(a+)+$'\n"
			"    risk: high\n";
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	is_int(load(&rs, y, &err), 0, "catastrophic pattern loads");
	char subject[4096];
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = '\0';
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	size_t so, eo;
	int m = rs.n ? shunt_rule_match(&rs.rules[0], subject, strlen(subject), &a, &so, &eo) : -1;
	is_int(m, 2, "backtracking hits the limit and counts as a match (interpreter)");
	is_int(eo, strlen(subject), "limit span is the whole subject");
	shunt_rules_jit(&rs);
	m = rs.n ? shunt_rule_match(&rs.rules[0], subject, strlen(subject), &a, &so, &eo) : -1;
	is_int(m, 2, "backtracking hits the limit and counts as a match (JIT)");
	shunt_arena_release(&a);
	shunt_ruleset_free(&rs);
}

/* Risk a line gets from rules alone: max risk of matching rules, at
 * least medium for a dynamic command name; -1 when nothing matched. */
static int line_risk(const struct shunt_ruleset *rs, const char *line, struct shunt_arena *a,
		     const char **why)
{
	static const struct shunt_lex_ctx ctx = {"/home/user", "/home/user/project",
						 "/home/user/project"};
	struct shunt_cmdline cl;
	memset(&cl, 0, sizeof(cl));
	if (shunt_lex_line(line, strlen(line), &ctx, a, &cl) < 0)
		return SHUNT_RISK_MEDIUM;
	int risk = cl.truncated ? SHUNT_RISK_MEDIUM : -1;
	*why = cl.truncated ? "truncated" : NULL;
	size_t so, eo;
	for (size_t i = 0; i < cl.n; i++) {
		const struct shunt_simple *c = &cl.cmds[i];
		if ((c->flags & SHUNT_CMD_DYNAMIC_NAME) && risk < SHUNT_RISK_MEDIUM) {
			risk = SHUNT_RISK_MEDIUM;
			*why = "dynamic name";
		}
		for (size_t r = 0; r < rs->n && c->norm; r++) {
			const struct shunt_rule *rule = &rs->rules[r];
			if (rule->scope != SHUNT_SCOPE_COMMAND ||
			    !shunt_rule_applies_to(rule, c->prog))
				continue;
			/* a parsed rule (command:) judges the parsed command */
			int m = rule->cmd.present
				    ? shunt_rule_test_line(rule, line, a)
				    : shunt_rule_match(rule, c->norm, strlen(c->norm), a, &so, &eo);
			if (m && (int)rule->risk > risk) {
				risk = rule->risk;
				*why = rule->id;
			}
		}
	}
	for (size_t r = 0; r < rs->n && cl.line; r++) {
		const struct shunt_rule *rule = &rs->rules[r];
		if (rule->scope != SHUNT_SCOPE_LINE)
			continue;
		bool applies = rule->nprograms == 0;
		for (size_t i = 0; i < cl.n && !applies; i++)
			applies = shunt_rule_applies_to(rule, cl.cmds[i].prog);
		if (applies && shunt_rule_match(rule, cl.line, strlen(cl.line), a, &so, &eo) &&
		    (int)rule->risk > risk) {
			risk = rule->risk;
			*why = rule->id;
		}
	}
	return risk;
}

static void test_corpus(const struct shunt_ruleset *rs, const char *file, int kind)
{
	const char *top = getenv("TOP");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/fixtures/corpus/%s", top ? top : ".", file);
	FILE *f = fopen(path, "re");
	ok(f != NULL, "open %s", path);
	if (!f)
		return;
	char line[8192];
	size_t total = 0, good = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		const char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		struct shunt_arena a;
		shunt_arena_init_heap(&a);
		const char *why = NULL;
		int risk = line_risk(rs, p, &a, &why);
		bool pass;
		if (kind == 0)
			pass = risk < SHUNT_RISK_MEDIUM;
		else if (kind == 1)
			pass = risk >= SHUNT_RISK_MEDIUM;
		else
			pass = risk == SHUNT_RISK_CRITICAL;
		total++;
		if (pass)
			good++;
		else
			diag("%s: %s -> %s (%s)", file, p,
			     risk < 0 ? "none" : shunt_risk_name(risk), why ? why : "-");
		shunt_arena_release(&a);
	}
	fclose(f);
	double pct = total ? 100.0 * (double)good / (double)total : 0;
	diag("%s: %zu/%zu as expected (%.1f%%)", file, good, total, pct);
	if (kind == 0)
		ok(pct >= 99.0, "benign corpus: >= 99%% below medium (%.1f%%)", pct);
	else if (kind == 1)
		ok(pct >= 97.0, "risky corpus: >= 97%% at medium or above (%.1f%%)", pct);
	else
		ok(good == total, "catastrophic corpus: every line critical (%zu/%zu)", good,
		   total);
}

static void test_embedded(void)
{
	struct shunt_ruleset rs = {0};
	struct shunt_error *err = NULL;
	is_int(shunt_rules_load_embedded(&rs, &err), 0, "embedded packs load");
	if (err)
		diag("%s", err->msg);
	shunt_error_free(&err);
	ok(rs.n >= 60, "embedded packs hold many rules (%zu)", rs.n);
	size_t total = 0, failed = 0, without = 0;
	for (size_t i = 0; i < rs.n; i++) {
		const struct shunt_rule *r = &rs.rules[i];
		if (!r->nex_match || !r->nex_nomatch)
			without++;
		for (int want = 1; want >= 0; want--) {
			char **ex = want ? r->ex_match : r->ex_nomatch;
			size_t n = want ? r->nex_match : r->nex_nomatch;
			for (size_t j = 0; j < n; j++) {
				struct shunt_arena a;
				shunt_arena_init_heap(&a);
				int got = shunt_rule_test_line(r, ex[j], &a);
				shunt_arena_release(&a);
				total++;
				if (got != want) {
					failed++;
					diag("%s: %s example fails: %s", r->id,
					     want ? "match" : "nomatch", ex[j]);
				}
			}
		}
	}
	is_int(without, 0, "every rule has match and nomatch examples");
	ok(total > 300 && failed == 0,
	   "every example of every rule holds (%zu examples, %zu failed)", total, failed);
	/* examples ran on the interpreter; the corpus runs JIT-compiled */
	shunt_rules_jit(&rs);
	test_corpus(&rs, "benign.txt", 0);
	test_corpus(&rs, "risky.txt", 1);
	test_corpus(&rs, "catastrophic.txt", 2);
	shunt_ruleset_free(&rs);
}

int main(void)
{
	test_load_valid();
	test_load_errors();
	test_backtracking();
	test_embedded();
	return done_testing();
}
