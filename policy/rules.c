/* PCRE2 risk rules: the YAML pack loader (libyaml document API) and the
 * arena-only matcher that the decider and the shim call for every exec. */
#include "rules.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lex.h"
#include "suggest.h"

#define RULES_FILE_MAX (4u * 1024u * 1024u)

/* ---- matching ------------------------------------------------------- */

/* PCRE2 memory callbacks: everything comes from the caller's arena and is
 * reclaimed by the arena reset at the end of shunt_rule_match. */
static void *arena_malloc(size_t n, void *data)
{
	struct shunt_arena *a = data;
	/* PCRE2 needs no zeroed memory: skip shunt_arena_alloc's memset of
	 * the ~20 KiB backtracking frames when the current chunk has room
	 * (the arena keeps base 16-aligned and used a multiple of 16). */
	size_t rounded = (n + 15u) & ~(size_t)15u;
	if (a->base && rounded >= n && a->size - a->used >= rounded) {
		void *p = a->base + a->used;
		a->used += rounded;
		return p;
	}
	return shunt_arena_alloc(a, n);
}

static void arena_free(void *p, void *data)
{
	(void)p;
	(void)data;
}

int shunt_matcher_init(struct shunt_matcher *m, struct shunt_arena *a)
{
	m->a = a;
	m->gc = NULL;
	m->mc = NULL;
	m->md = NULL;
	pcre2_general_context *gc = pcre2_general_context_create(arena_malloc, arena_free, a);
	if (!gc)
		return -ENOMEM;
	pcre2_match_context *mc = pcre2_match_context_create(gc);
	if (!mc)
		return -ENOMEM;
	pcre2_set_match_limit(mc, SHUNT_RULE_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, SHUNT_RULE_DEPTH_LIMIT);
	pcre2_set_heap_limit(mc, SHUNT_RULE_HEAP_LIMIT_KB);
	/* group 1: the word a rule's unless_installed looks up */
	pcre2_match_data *md = pcre2_match_data_create(2, gc);
	if (!md)
		return -ENOMEM;
	m->gc = gc;
	m->mc = mc;
	m->md = md;
	return 0;
}

uint32_t shunt_rule_match_limit(size_t len)
{
	uint64_t v = SHUNT_RULE_MATCH_LIMIT + (uint64_t)len * SHUNT_RULE_MATCH_PER_BYTE;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

uint32_t shunt_rule_heap_limit_kb(size_t len)
{
	uint64_t v = SHUNT_RULE_HEAP_LIMIT_KB + (uint64_t)len / 1024u * SHUNT_RULE_HEAP_KB_PER_KB;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int shunt_matcher_match(struct shunt_matcher *m, const struct shunt_rule *r, const char *subject,
			size_t len, size_t *so, size_t *eo)
{
	*so = 0;
	*eo = len;
	if (!r->re || !m->md)
		return 2;
	/* The budget grows with the subject: a linear pattern (the packs'
	 * are, see test_rules) needs a few steps per byte, and a fixed limit
	 * made every long argv "match". The match data keeps its backtracking
	 * frames between calls, so the arena pays for them once per decision,
	 * not once per rule. */
	if (m->mc) {
		pcre2_set_match_limit(m->mc, shunt_rule_match_limit(len));
		pcre2_set_heap_limit(m->mc, shunt_rule_heap_limit_kb(len));
	}
	int rc = pcre2_match(r->re, (PCRE2_SPTR)subject, len, 0, 0, m->md, m->mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	/* The arena ran out (a fixed one: the shim's): not a verdict on the
	 * subject, so not a match; the caller decides again with more room. */
	if (rc == PCRE2_ERROR_NOMEMORY)
		return -ENOMEM;
	if (rc >= 0) {
		/* rc == 0 only means the ovector was too small: still a match */
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
		if (ov[0] <= ov[1] && ov[1] <= len) {
			*so = ov[0];
			*eo = ov[1];
		}
		return 1;
	}
	/* Any other error (match/depth/heap limit, bad subject): callers
	 * treat 2 as a match - fail closed. */
	return 2;
}

bool shunt_matcher_group1(const struct shunt_matcher *m, size_t *so, size_t *eo)
{
	if (!m->md || pcre2_get_ovector_count(m->md) < 2)
		return false;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	if (ov[2] == PCRE2_UNSET || ov[3] == PCRE2_UNSET || ov[2] > ov[3])
		return false;
	*so = ov[2];
	*eo = ov[3];
	return true;
}

int shunt_rule_match(const struct shunt_rule *r, const char *subject, size_t len,
		     struct shunt_arena *a, size_t *so, size_t *eo)
{
	struct shunt_arena_mark mark = shunt_arena_mark(a);
	struct shunt_matcher m;
	int ret = 2;
	*so = 0;
	*eo = len;
	if (shunt_matcher_init(&m, a) == 0)
		ret = shunt_matcher_match(&m, r, subject, len, so, eo);
	if (ret < 0) { /* no room: this interface has no retry, fail closed */
		*so = 0;
		*eo = len;
		ret = 2;
	}
	shunt_arena_reset(a, mark);
	return ret;
}

void shunt_rules_jit(struct shunt_ruleset *rs)
{
	/* An optimisation only: on failure the interpreter is used. */
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].re)
			(void)pcre2_jit_compile(rs->rules[i].re, PCRE2_JIT_COMPLETE);
}

bool shunt_rule_applies_to(const struct shunt_rule *r, const char *prog)
{
	if (r->nprograms == 0 || !prog)
		return true;
	for (size_t i = 0; i < r->nprograms; i++) {
		const char *p = r->programs[i];
		/* most entries differ in the first byte: skip them without a
		 * strlen (every low-risk command walks all the lists) */
		if (p[0] != prog[0] && p[0] != '*')
			continue;
		size_t n = strlen(p);
		/* "mkfs.*" is a prefix: mkfs.ext4, mkfs.xfs, ... */
		if (n > 0 && p[n - 1] == '*') {
			if (strncmp(p, prog, n - 1) == 0)
				return true;
		} else if (strcmp(p, prog) == 0) {
			return true;
		}
	}
	return false;
}

/* ---- examples ------------------------------------------------------- */

int shunt_rule_test_line(const struct shunt_rule *r, const char *line, struct shunt_arena *a)
{
	static const struct shunt_lex_ctx ctx = {
	    .home = "/home/user", .cwd = "/home/user/project", .workspace = "/home/user/project"};
	struct shunt_cmdline cl;
	memset(&cl, 0, sizeof(cl));
	if (shunt_lex_line(line, strlen(line), &ctx, a, &cl) < 0)
		return -ENOMEM;
	size_t so, eo;
	if (r->scope == SHUNT_SCOPE_LINE) {
		bool applies = r->nprograms == 0;
		for (size_t i = 0; i < cl.n && !applies; i++)
			applies = shunt_rule_applies_to(r, cl.cmds[i].prog);
		if (!applies || !cl.line)
			return 0;
		return shunt_rule_match(r, cl.line, strlen(cl.line), a, &so, &eo) != 0;
	}
	for (size_t i = 0; i < cl.n; i++) {
		const struct shunt_simple *c = &cl.cmds[i];
		if (!c->norm || !shunt_rule_applies_to(r, c->prog))
			continue;
		if (shunt_rule_match(r, c->norm, strlen(c->norm), a, &so, &eo) != 0)
			return 1;
	}
	return 0;
}

/* ---- loading -------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void rule_free(struct shunt_rule *r)
{
	free(r->id);
	free(r->description);
	free(r->pattern);
	free(r->unless_installed);
	pcre2_code_free(r->re);
	strv_free(r->programs, r->nprograms);
	strv_free(r->tags, r->ntags);
	strv_free(r->ex_match, r->nex_match);
	strv_free(r->ex_nomatch, r->nex_nomatch);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void shunt_ruleset_free(struct shunt_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	rs->rules = NULL;
	rs->n = 0;
}

struct loader {
	const char *name;
	yaml_document_t doc;
	struct shunt_error **err;
};

/* Sets a config-class error (exit 2) positioned at node. */
static int __attribute__((format(printf, 3, 4)))
node_error(struct loader *L, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node)
		shunt_error_set(L->err, EINVAL, "%s:%zu:%zu: %s", L->name,
				node->start_mark.line + 1, node->start_mark.column + 1, msg);
	else
		shunt_error_set(L->err, EINVAL, "%s: %s", L->name, msg);
	if (L->err && *L->err)
		(*L->err)->exitcode = 2;
	return -1;
}

/* Words people reach for out of habit, mapped to our key. */
struct key_alias {
	const char *word, *key;
};

static const char *suggest_key(const char *word, const char *const *keys,
			       const struct key_alias *aliases)
{
	const char *best = NULL;
	size_t bestd = 4;
	for (size_t i = 0; keys[i]; i++) {
		size_t d = shunt_suggest_distance(word, keys[i]);
		if (d < bestd) {
			bestd = d;
			best = keys[i];
		}
	}
	for (size_t i = 0; aliases && aliases[i].word; i++) {
		size_t d = shunt_suggest_distance(word, aliases[i].word);
		if (d < bestd) {
			bestd = d;
			best = aliases[i].key;
		}
	}
	return best;
}

static int unknown_key(struct loader *L, const yaml_node_t *key, const char *what,
		       const char *const *keys, const struct key_alias *aliases)
{
	const char *k = (const char *)key->data.scalar.value;
	const char *s = suggest_key(k, keys, aliases);
	if (s)
		return node_error(L, key, "unknown key '%s' in %s, did you mean '%s'?", k, what, s);
	return node_error(L, key, "unknown key '%s' in %s", k, what);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(struct loader *L, const yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);
	if (!s)
		return node_error(L, n, "'%s' must be a string", key);
	if (strlen(s) != n->data.scalar.length)
		return node_error(L, n, "'%s' contains a NUL byte", key);
	if (*out)
		free(*out);
	*out = strdup(s);
	if (!*out)
		return shunt_error_set(L->err, ENOMEM, "out of memory");
	return 0;
}

/* A string or a sequence of strings. */
static int get_list(struct loader *L, const yaml_node_t *n, const char *key, char ***out,
		    size_t *nout)
{
	if (n->type == YAML_SCALAR_NODE) {
		char **v = calloc(1, sizeof(char *));
		if (!v || !(v[0] = strdup(scalar(n)))) {
			free(v);
			return shunt_error_set(L->err, ENOMEM, "out of memory");
		}
		strv_free(*out, *nout);
		*out = v;
		*nout = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return node_error(L, n, "'%s' must be a list of strings", key);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	char **v = calloc(cnt ? cnt : 1, sizeof(char *));
	if (!v)
		return shunt_error_set(L->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = yaml_document_get_node(&L->doc, n->data.sequence.items.start[i]);
		const char *s = scalar(it);
		if (!s) {
			strv_free(v, i);
			return node_error(L, it, "items of '%s' must be strings", key);
		}
		if (!(v[i] = strdup(s))) {
			strv_free(v, i);
			return shunt_error_set(L->err, ENOMEM, "out of memory");
		}
	}
	strv_free(*out, *nout);
	*out = v;
	*nout = cnt;
	return 0;
}

static int get_enum(struct loader *L, const yaml_node_t *n, const char *key,
		    int (*parse)(const char *), const char *const *names, size_t count, int *out)
{
	const char *s = scalar(n);
	if (!s)
		return node_error(L, n, "'%s' must be a string", key);
	int v = parse(s);
	if (v < 0) {
		char allowed[256] = "";
		for (size_t i = 0; i < count; i++) {
			size_t l = strlen(allowed);
			snprintf(allowed + l, sizeof(allowed) - l, "%s%s", i ? " | " : "",
				 names[i]);
		}
		return node_error(L, n, "invalid %s '%s' (expected %s)", key, s, allowed);
	}
	*out = v;
	return 0;
}

static int parse_scope(const char *s)
{
	if (strcmp(s, "command") == 0)
		return SHUNT_SCOPE_COMMAND;
	if (strcmp(s, "line") == 0)
		return SHUNT_SCOPE_LINE;
	return -1;
}
static const char *const scope_names[] = {"command", "line"};

static int parse_effect(const char *s)
{
	if (strcmp(s, "local") == 0)
		return SHUNT_EFFECT_LOCAL;
	if (strcmp(s, "remote") == 0)
		return SHUNT_EFFECT_REMOTE;
	return -1;
}
static const char *const effect_names[] = {"local", "remote"};

static bool valid_id(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static const char *const rule_keys[] = {
    "id",     "description", "match",	 "programs",	     "risk",   "tags", "profile",
    "action", "scope",	     "examples", "unless_installed", "effect", NULL};
static const struct key_alias rule_aliases[] = {
    {"pattern", "match"},   {"regex", "match"},	      {"regexp", "match"},  {"program", "programs"},
    {"prog", "programs"},   {"commands", "programs"}, {"severity", "risk"}, {"level", "risk"},
    {"tag", "tags"},	    {"example", "examples"},  {"name", "id"},	    {"desc", "description"},
    {"why", "description"}, {"decision", "action"},   {NULL, NULL}};
static const char *const example_keys[] = {"match", "nomatch", NULL};
static const struct key_alias example_aliases[] = {{"matches", "match"},
						   {"positive", "match"},
						   {"no_match", "nomatch"},
						   {"no-match", "nomatch"},
						   {"nomatches", "nomatch"},
						   {"negative", "nomatch"},
						   {NULL, NULL}};

static int compile_rule(struct loader *L, struct shunt_rule *r, const yaml_node_t *at)
{
	int ecode = 0;
	PCRE2_SIZE eoff = 0;
	/* Byte mode, never UTF: commands may hold invalid UTF-8, and a
	 * (*UTF) in a pattern must not switch that on. */
	r->re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF,
			      &ecode, &eoff, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ecode, msg, sizeof(msg));
		return node_error(L, at, "rule '%s': invalid regex at offset %zu: %s", r->id,
				  (size_t)eoff, (const char *)msg);
	}
	return 0;
}

/* A directory below the cwd: relative, no empty or '..' component. */
static bool valid_subdir(const char *s)
{
	if (!*s || *s == '/')
		return false;
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return s[strlen(s) - 1] != '/';
}

/* unless_installed looks up the word the pattern captures: it needs a
 * group, and a command to look it up for. */
static int check_unless_installed(struct loader *L, const struct shunt_rule *r,
				  const yaml_node_t *at)
{
	if (!r->unless_installed)
		return 0;
	uint32_t groups = 0;
	if (pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups) != 0 || groups < 1)
		return node_error(L, at,
				  "rule '%s': unless_installed needs a capture group in 'match' "
				  "(group 1 is the program looked up)",
				  r->id);
	if (r->scope != SHUNT_SCOPE_COMMAND)
		return node_error(L, at, "rule '%s': unless_installed needs scope command", r->id);
	return 0;
}

static int load_examples(struct loader *L, struct shunt_rule *r, const yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return node_error(L, n, "'examples' must be a mapping with 'match' and 'nomatch'");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *ks = scalar(k);
		if (!ks)
			return node_error(L, k, "keys must be strings");
		int rc;
		if (strcmp(ks, "match") == 0)
			rc = get_list(L, v, "examples.match", &r->ex_match, &r->nex_match);
		else if (strcmp(ks, "nomatch") == 0)
			rc = get_list(L, v, "examples.nomatch", &r->ex_nomatch, &r->nex_nomatch);
		else
			rc = unknown_key(L, k, "examples", example_keys, example_aliases);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static const struct shunt_rule *find_id(const struct shunt_ruleset *rs, const char *id, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (rs->rules[i].id && strcmp(rs->rules[i].id, id) == 0)
			return &rs->rules[i];
	return NULL;
}

static int load_rule(struct loader *L, struct shunt_ruleset *rs, const yaml_node_t *n,
		     struct shunt_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return node_error(L, n,
				  "each rule must be a mapping (id, description, match, ...)");
	r->profile = SHUNT_PROFILE_NONE;
	r->action = -1;
	r->scope = SHUNT_SCOPE_COMMAND;
	r->line = (int)n->start_mark.line + 1;
	r->col = (int)n->start_mark.column + 1;
	if (!(r->file = strdup(L->name)))
		return shunt_error_set(L->err, ENOMEM, "out of memory");
	const yaml_node_t *match_node = NULL, *id_node = NULL, *unless_node = NULL;
	bool have_risk = false;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *ks = scalar(k);
		int rc, tmp;
		if (!ks)
			return node_error(L, k, "keys must be strings");
		if (strcmp(ks, "id") == 0) {
			id_node = v;
			rc = get_string(L, v, "id", &r->id);
		} else if (strcmp(ks, "description") == 0) {
			rc = get_string(L, v, "description", &r->description);
		} else if (strcmp(ks, "match") == 0) {
			match_node = v;
			rc = get_string(L, v, "match", &r->pattern);
		} else if (strcmp(ks, "programs") == 0) {
			rc = get_list(L, v, "programs", &r->programs, &r->nprograms);
		} else if (strcmp(ks, "tags") == 0) {
			rc = get_list(L, v, "tags", &r->tags, &r->ntags);
		} else if (strcmp(ks, "risk") == 0) {
			rc = get_enum(L, v, "risk", shunt_risk_parse, shunt_risk_names,
				      shunt_risk_count, &tmp);
			r->risk = (enum shunt_risk)tmp;
			have_risk = true;
		} else if (strcmp(ks, "profile") == 0) {
			rc = get_enum(L, v, "profile", shunt_profile_parse, shunt_profile_names,
				      shunt_profile_count, &r->profile);
		} else if (strcmp(ks, "action") == 0) {
			const char *s = scalar(v);
			/* a rule may not force host: that would be an allowlist */
			if (s && strcmp(s, "host") == 0)
				return node_error(
				    L, v,
				    "invalid action 'host' (expected sandbox | prompt | "
				    "block; use policies.allowlist to allow)");
			rc = get_enum(L, v, "action", shunt_action_parse, shunt_action_names,
				      shunt_action_count, &r->action);
		} else if (strcmp(ks, "scope") == 0) {
			rc = get_enum(L, v, "scope", parse_scope, scope_names, 2, &tmp);
			r->scope = (enum shunt_rule_scope)tmp;
		} else if (strcmp(ks, "examples") == 0) {
			rc = load_examples(L, r, v);
		} else if (strcmp(ks, "effect") == 0) {
			rc = get_enum(L, v, "effect", parse_effect, effect_names, 2, &tmp);
			r->effect = (enum shunt_rule_effect)tmp;
		} else if (strcmp(ks, "unless_installed") == 0) {
			unless_node = v;
			rc = get_string(L, v, "unless_installed", &r->unless_installed);
			if (rc == 0 && !valid_subdir(r->unless_installed))
				return node_error(
				    L, v,
				    "rule '%s': unless_installed must be a relative "
				    "directory without '..' (e.g. node_modules/.bin), "
				    "got '%s'",
				    r->id ? r->id : "?", r->unless_installed);
		} else {
			rc = unknown_key(L, k, "rule", rule_keys, rule_aliases);
		}
		if (rc < 0)
			return rc;
	}
	if (!r->id)
		return node_error(L, n, "rule has no 'id'");
	if (!valid_id(r->id))
		return node_error(L, id_node, "invalid rule id '%s' (use [a-z0-9-]+)", r->id);
	const struct shunt_rule *dup = find_id(rs, r->id, rs->n);
	if (dup)
		return node_error(L, id_node, "duplicate rule id '%s' (first defined at %s:%d:%d)",
				  r->id, dup->file, dup->line, dup->col);
	if (!r->description || !*r->description)
		return node_error(L, n, "rule '%s' has no 'description'", r->id);
	if (!match_node)
		return node_error(L, n, "rule '%s' has no 'match'", r->id);
	if (!*r->pattern)
		return node_error(L, match_node, "rule '%s': 'match' is empty", r->id);
	if (!have_risk)
		return node_error(L, n, "rule '%s' has no 'risk' (low | medium | high | critical)",
				  r->id);
	for (size_t i = 0; i < r->nprograms; i++)
		if (!*r->programs[i] || strchr(r->programs[i], '/'))
			return node_error(L, n, "rule '%s': programs are basenames, got '%s'",
					  r->id, r->programs[i]);
	if (compile_rule(L, r, match_node) < 0)
		return -1;
	return check_unless_installed(L, r, unless_node);
}

static int load_doc(struct loader *L, struct shunt_ruleset *rs)
{
	yaml_node_t *root = yaml_document_get_root_node(&L->doc);
	if (!root)
		return 0; /* empty file: no rules */
	if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return node_error(L, root, "a rule pack is a mapping with a 'rules' list");
	static const char *const top_keys[] = {"rules", NULL};
	static const struct key_alias top_aliases[] = {{"rule", "rules"}, {NULL, NULL}};
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
		const char *ks = scalar(k);
		if (!ks)
			return node_error(L, k, "keys must be strings");
		if (strcmp(ks, "rules") != 0)
			return unknown_key(L, k, "rule pack", top_keys, top_aliases);
		if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
			continue; /* "rules:" with nothing */
		if (v->type != YAML_SEQUENCE_NODE)
			return node_error(L, v, "'rules' must be a list of rules");
		size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		struct shunt_rule *nr = realloc(rs->rules, (rs->n + cnt + 1) * sizeof(*nr));
		if (!nr)
			return shunt_error_set(L->err, ENOMEM, "out of memory");
		rs->rules = nr;
		for (size_t i = 0; i < cnt; i++) {
			yaml_node_t *it =
			    yaml_document_get_node(&L->doc, v->data.sequence.items.start[i]);
			struct shunt_rule *r = &rs->rules[rs->n];
			memset(r, 0, sizeof(*r));
			if (load_rule(L, rs, it, r) < 0) {
				rule_free(r);
				return -1;
			}
			rs->n++;
		}
	}
	return 0;
}

int shunt_rules_load_buf(struct shunt_ruleset *rs, const char *name, const char *buf, size_t len,
			 struct shunt_error **err)
{
	struct loader L = {.name = name, .err = err};
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return shunt_error_set(err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &L.doc)) {
		const yaml_mark_t *m = parser.problem_mark.line || parser.problem_mark.column
					   ? &parser.problem_mark
					   : &parser.context_mark;
		shunt_error_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s%s", name,
				m->line + 1, m->column + 1,
				parser.problem ? parser.problem : "invalid",
				parser.context ? " " : "", parser.context ? parser.context : "");
		if (err && *err)
			(*err)->exitcode = 2;
		yaml_parser_delete(&parser);
		return -1;
	}
	/* Rules of a pack that fails to load are dropped as a whole. */
	size_t before = rs->n;
	int rc = load_doc(&L, rs);
	if (rc < 0) {
		for (size_t i = before; i < rs->n; i++)
			rule_free(&rs->rules[i]);
		rs->n = before;
	}
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&parser);
	return rc;
}

int shunt_rules_load_file(struct shunt_ruleset *rs, const char *path, struct shunt_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (shunt_fs_read(path, RULES_FILE_MAX, &data, &len, err) < 0) {
		if (err && *err)
			(*err)->exitcode = 2;
		return -1;
	}
	return shunt_rules_load_buf(rs, path, data, len, err);
}

int shunt_rules_load_embedded(struct shunt_ruleset *rs, struct shunt_error **err)
{
	for (size_t i = 0; i < shunt_embedded_pack_count; i++) {
		const struct shunt_embedded_pack *p = &shunt_embedded_packs[i];
		if (!p->name)
			continue;
		if (shunt_rules_load_buf(rs, p->name, p->data, p->len, err) < 0)
			return -1;
	}
	return 0;
}
