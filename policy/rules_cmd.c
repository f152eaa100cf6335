/* The parsed-command part of a rule (`command:` in a pack): loading it
 * from YAML and matching it against a parsed command (cmdparse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdparse.h"
#include "rules_int.h"
#include "suggest.h"

static const char *const cmd_keys[] = {
    "program",	    "subcommand",     "options_any",	 "options_all",
    "options_none", "operands_match", "unless_readonly", NULL};

void shunt_rules_cmd_free(struct shunt_rule_cmd *c)
{
	shunt_rules_strv_free(c->sub, c->nsub);
	shunt_rules_strv_free(c->any, c->nany);
	shunt_rules_strv_free(c->all, c->nall);
	shunt_rules_strv_free(c->none, c->nnone);
	free(c->operands);
	pcre2_code_free(c->operands_re);
	memset(c, 0, sizeof(*c));
}

/* Options are written as on a command line: -f, --force (one each). */
static int check_opts(struct loader *L, const yaml_node_t *at, const char *id, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i][0] != '-' || !v[i][1] || strchr(v[i], ' ') || strchr(v[i], '='))
			return shunt_rules_node_error(
			    L, at, "rule '%s': '%s' is not an option (write -f or --force)",
			    id ? id : "?", v[i]);
	return 0;
}

/* Subcommand paths: words separated by single spaces. */
static int check_subs(struct loader *L, const yaml_node_t *at, const char *id, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = v[i];
		size_t len = strlen(s);
		if (!len || s[0] == ' ' || s[len - 1] == ' ' || strstr(s, "  ") || s[0] == '-')
			return shunt_rules_node_error(
			    L, at, "rule '%s': subcommand '%s' must be words like 'container rm'",
			    id ? id : "?", s);
	}
	return 0;
}

int shunt_rules_load_command(struct loader *L, struct shunt_rule *r, const yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return shunt_rules_node_error(
		    L, n, "'command' must be a mapping (program, subcommand, options_any, ...)");
	struct shunt_rule_cmd *c = &r->cmd;
	c->present = true;
	bool have_prog = false;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *ks = scalar(k);
		int rc = 0;
		if (!ks)
			return shunt_rules_node_error(L, k, "keys must be strings");
		if (strcmp(ks, "program") == 0) {
			have_prog = true;
			rc = shunt_rules_get_list(L, v, "command.program", &r->programs,
						  &r->nprograms);
		} else if (strcmp(ks, "subcommand") == 0) {
			rc = shunt_rules_get_list(L, v, "command.subcommand", &c->sub, &c->nsub);
			if (rc == 0)
				rc = check_subs(L, v, r->id, c->sub, c->nsub);
		} else if (strcmp(ks, "options_any") == 0) {
			rc = shunt_rules_get_list(L, v, "command.options_any", &c->any, &c->nany);
			if (rc == 0)
				rc = check_opts(L, v, r->id, c->any, c->nany);
		} else if (strcmp(ks, "options_all") == 0) {
			rc = shunt_rules_get_list(L, v, "command.options_all", &c->all, &c->nall);
			if (rc == 0)
				rc = check_opts(L, v, r->id, c->all, c->nall);
		} else if (strcmp(ks, "options_none") == 0) {
			rc =
			    shunt_rules_get_list(L, v, "command.options_none", &c->none, &c->nnone);
			if (rc == 0)
				rc = check_opts(L, v, r->id, c->none, c->nnone);
		} else if (strcmp(ks, "operands_match") == 0) {
			rc = shunt_rules_get_string(L, v, "command.operands_match", &c->operands);
			if (rc == 0) {
				int ecode = 0;
				PCRE2_SIZE eoff = 0;
				c->operands_re =
				    pcre2_compile((PCRE2_SPTR)c->operands, PCRE2_ZERO_TERMINATED,
						  PCRE2_NEVER_UTF, &ecode, &eoff, NULL);
				if (!c->operands_re) {
					PCRE2_UCHAR msg[256];
					pcre2_get_error_message(ecode, msg, sizeof(msg));
					return shunt_rules_node_error(
					    L, v,
					    "rule '%s': invalid operands_match at offset %zu: %s",
					    r->id ? r->id : "?", (size_t)eoff, (const char *)msg);
				}
			}
		} else if (strcmp(ks, "unless_readonly") == 0) {
			const char *b = scalar(v);
			if (!b || (strcmp(b, "true") && strcmp(b, "false")))
				return shunt_rules_node_error(
				    L, v, "'unless_readonly' must be true or false");
			c->unless_readonly = strcmp(b, "true") == 0;
		} else {
			const char *best = NULL;
			size_t bestd = 4;
			for (size_t i = 0; cmd_keys[i]; i++) {
				size_t d = shunt_suggest_distance(ks, cmd_keys[i]);
				if (d < bestd)
					bestd = d, best = cmd_keys[i];
			}
			return best ? shunt_rules_node_error(
					  L, k, "unknown key '%s' in command, did you mean '%s'?",
					  ks, best)
				    : shunt_rules_node_error(L, k, "unknown key '%s' in command",
							     ks);
		}
		if (rc < 0)
			return rc;
	}
	if (!have_prog || r->nprograms == 0)
		return shunt_rules_node_error(L, n, "'command' needs a 'program' (e.g. docker)");
	return 0;
}

/* Whether the words of path are the first positionals of pc; *k gets
 * their count. */
static bool sub_prefix(const char *path, const struct shunt_parsed *pc, size_t *k)
{
	size_t i = 0;
	for (const char *s = path; *s; i++) {
		size_t len = strcspn(s, " ");
		if (i >= pc->npos || strlen(pc->pos[i]) != len || memcmp(pc->pos[i], s, len) != 0)
			return false;
		s += len;
		if (*s == ' ')
			s++;
	}
	*k = i;
	return true;
}

int shunt_rule_cmd_match(const struct shunt_rule *r, struct shunt_parsed *pc,
			 const struct shunt_parsed *runs, struct shunt_matcher *m)
{
	const struct shunt_rule_cmd *c = &r->cmd;
	size_t k = 0;
	if (c->nsub) {
		bool hit = false;
		for (size_t i = 0; i < c->nsub && !hit; i++)
			hit = sub_prefix(c->sub[i], pc, &k);
		if (!hit)
			return 0;
	}
	if (c->nany) {
		bool hit = false;
		for (size_t i = 0; i < c->nany && !hit; i++)
			hit = shunt_cmdparse_has_opt(pc, c->any[i]);
		if (!hit)
			return 0;
	}
	for (size_t i = 0; i < c->nall; i++)
		if (!shunt_cmdparse_has_opt(pc, c->all[i]))
			return 0;
	for (size_t i = 0; i < c->nnone; i++)
		if (shunt_cmdparse_has_opt(pc, c->none[i]))
			return 0;
	if (c->unless_readonly && shunt_cmdparse_readonly(runs ? runs : pc))
		return 0;
	if (!c->operands_re)
		return 1;
	if (shunt_cmdparse_operands(pc) < 0)
		return -ENOMEM;
	/* the operands, one space apart: bounded by the argv's own size */
	size_t len = 0;
	for (size_t i = k; i < pc->npos; i++)
		len += strlen(pc->pos[i]) + 1;
	char *buf = shunt_arena_alloc(m->a, len + 1);
	if (!buf)
		return -ENOMEM;
	size_t at = 0;
	for (size_t i = k; i < pc->npos; i++) {
		size_t l = strlen(pc->pos[i]);
		if (at)
			buf[at++] = ' ';
		memcpy(buf + at, pc->pos[i], l);
		at += l;
	}
	buf[at] = '\0';
	size_t so, eo;
	return shunt_matcher_match_code(m, c->operands_re, buf, at, &so, &eo);
}

/* The generic fallback as a rule, so that explain, audit and the JSON
 * name it like any other. */
static const struct shunt_rule generic_rule = {
    .id = (char *)"generic-destroy-verb",
    .description = (char *)"a destroy verb in subcommand position of a CLI no pack covers",
    .risk = SHUNT_RISK_HIGH,
    .profile = SHUNT_PROFILE_NONE,
    .action = -1,
    .effect = SHUNT_EFFECT_REMOTE,
    .family = (char *)"generic",
};

const struct shunt_rule *shunt_rules_generic(void)
{
	return &generic_rule;
}
