/* The decision: lex, match rules, apply lists, trust, mode and level.
 * Runs in the cli and, on a fixed stack arena, inside the shim, so it must
 * stay allocation-free apart from the arena and async-signal-safe. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cmdparse.h"
#include "config.h"
#include "policy.h"
#include "script.h"
#include "sha256.h"

static const int risk_base_score[] = {5, 40, 70, 90};

void shunt_trust_key(int scope, const char *workspace, const char *norm, uint8_t out[32])
{
	struct shunt_sha256 s;
	shunt_sha256_init(&s);
	if (scope == 1) {
		shunt_sha256_update(&s, "global", 7);
	} else {
		shunt_sha256_update(&s, "exact", 6);
		const char *ws = workspace ? workspace : "";
		shunt_sha256_update(&s, ws, strlen(ws) + 1);
	}
	shunt_sha256_update(&s, norm, strlen(norm));
	shunt_sha256_final(&s, out);
}

static int trust_cmp(const uint8_t key[32], const struct shunt_trust_ref *r)
{
	return memcmp(key, r->key, 32);
}

static const struct shunt_trust_ref *trust_find(const struct shunt_policy *p, const uint8_t key[32])
{
	size_t lo = 0, hi = p->ntrust;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = trust_cmp(key, &p->trust[mid]);
		if (c == 0)
			return &p->trust[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The entry still applies only if the executable is the same file. */
static bool trust_fingerprint_ok(const struct shunt_trust_ref *r, const char *exe)
{
	if (!r->exe)
		return true;
	if (exe && strcmp(exe, r->exe) != 0)
		return false;
	struct stat st;
	if (stat(r->exe, &st) < 0)
		return false;
	return (uint64_t)st.st_dev == r->dev && (uint64_t)st.st_ino == r->ino &&
	       (uint64_t)st.st_size == r->size &&
	       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == r->mtime_ns &&
	       (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec == r->ctime_ns;
}

static int add_match(struct shunt_decision *out, size_t *cap, struct shunt_arena *a,
		     const struct shunt_rule *r, size_t cmd, size_t so, size_t eo, bool limit)
{
	if (out->nmatches == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct shunt_match *nm = shunt_arena_alloc(a, ncap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		if (out->nmatches)
			memcpy(nm, out->matches, out->nmatches * sizeof(*nm));
		out->matches = nm;
		*cap = ncap;
	}
	struct shunt_match *m = &out->matches[out->nmatches++];
	m->rule = r;
	m->cmd = cmd;
	m->so = so;
	m->eo = eo;
	m->limit_hit = limit;
	for (size_t i = 0; i < out->nrules; i++)
		if (strcmp(out->rules[i], r->id) == 0)
			return 0;
	if (out->nrules < SHUNT_MAX_RULE_IDS)
		out->rules[out->nrules++] = r->id;
	return 0;
}

/* A rule with scope line and a programs list applies when any command of
 * the line runs one of those programs. */
static bool line_rule_applies(const struct shunt_rule *r, const struct shunt_cmdline *cl)
{
	if (r->nprograms == 0)
		return true;
	for (size_t i = 0; i < cl->n; i++)
		if (shunt_rule_applies_to(r, cl->cmds[i].prog))
			return true;
	return false;
}

/* Whether the word w (n bytes) names an executable file in dir under cwd
 * or one of its parents up to the workspace root (cwd alone when it is
 * outside the workspace): the tool a rule would fetch is installed. A
 * word with a '/' is a path, not an installed name. One stat per level;
 * the path is built in the arena and given back. 1, 0, or -ENOMEM. */
static int installed(const char *dir, const char *w, size_t n, const struct shunt_request *req,
		     struct shunt_arena *a)
{
	const char *cwd = req->cwd, *ws = req->workspace;
	if (!cwd || cwd[0] != '/' || n == 0 || n > 255 || memchr(w, '/', n) || memchr(w, '\0', n) ||
	    (w[0] == '.' && (n == 1 || (n == 2 && w[1] == '.'))))
		return 0;
	size_t clen = strlen(cwd), dlen = strlen(dir);
	size_t wslen = ws ? strlen(ws) : 0;
	while (wslen > 1 && ws[wslen - 1] == '/')
		wslen--;
	/* the workspace bounds the walk only when cwd is inside it */
	bool inside = wslen > 0 && clen >= wslen && memcmp(cwd, ws, wslen) == 0 &&
		      (cwd[wslen] == '/' || cwd[wslen] == '\0' || wslen == 1);
	struct shunt_arena_mark mark = shunt_arena_mark(a);
	char *path = shunt_arena_alloc(a, clen + dlen + n + 3);
	if (!path)
		return -ENOMEM;
	int found = 0;
	size_t len = clen;
	while (len > 1 && cwd[len - 1] == '/')
		len--;
	for (;;) {
		memcpy(path, cwd, len);
		size_t at = len;
		if (at > 1 || path[0] != '/')
			path[at++] = '/';
		memcpy(path + at, dir, dlen);
		at += dlen;
		path[at++] = '/';
		memcpy(path + at, w, n);
		path[at + n] = '\0';
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			found = 1;
			break;
		}
		if (!inside || len <= wslen)
			break;
		while (len > 1 && cwd[len - 1] != '/')
			len--;
		while (len > 1 && cwd[len - 1] == '/')
			len--;
		if (len < wslen)
			break;
	}
	shunt_arena_reset(a, mark);
	return found;
}

/* One command as the rules see it: parsed on first use (most commands
 * match no command: rule and are never parsed). */
struct cmd_view {
	const struct shunt_simple *c, *next;
	const struct shunt_lex_ctx *ctx;
	struct shunt_arena *a;
	bool parsed, inner_parsed, has_inner;
	struct shunt_parsed pc, inner;
};

static int view_parse(struct cmd_view *v)
{
	if (v->parsed)
		return 0;
	int rc = shunt_cmdparse(v->c->prog, v->c->argv, v->c->argc, v->ctx, v->a, &v->pc);
	v->parsed = rc == 0;
	return rc;
}

/* What a wrapper (sudo ls) runs: the lexer adds it right after it. */
static int view_inner(struct cmd_view *v, const struct shunt_parsed **out)
{
	*out = NULL;
	const struct shunt_simple *n = shunt_cmdparse_inner(v->c, v->next);
	if (!n)
		return 0;
	if (!v->inner_parsed) {
		int rc = shunt_cmdparse(n->prog, n->argv, n->argc, v->ctx, v->a, &v->inner);
		if (rc < 0)
			return rc;
		v->inner_parsed = true;
	}
	*out = &v->inner;
	return 0;
}

static int cmd_match(struct cmd_view *v, const struct shunt_rule *rule, struct shunt_matcher *m)
{
	const struct shunt_parsed *inner = NULL;
	int rc = view_parse(v);
	if (rc == 0 && rule->cmd.unless_readonly)
		rc = view_inner(v, &inner);
	if (rc < 0)
		return rc;
	return shunt_rule_cmd_match(rule, &v->pc, inner, m);
}

/* Whether a rule names prog: its pack judges it, not the fallback. */
static bool covered(const struct shunt_policy *p, const char *prog)
{
	for (size_t r = 0; r < p->nrules; r++)
		for (size_t k = 0; k < p->rules[r].nprograms; k++)
			if (strcmp(p->rules[r].programs[k], prog) == 0)
				return true;
	return false;
}

/* The generic fallback: 1 when the command has a destroy verb in
 * subcommand position and no pack covers its program. */
static int generic(struct cmd_view *v, const struct shunt_policy *p)
{
	if (v->c->argc < 2 || (v->c->flags & SHUNT_CMD_DYNAMIC_NAME) ||
	    !shunt_cmdparse_maybe_destroy(v->c->prog, v->c->argv, v->c->argc))
		return 0;
	int rc = view_parse(v);
	if (rc < 0)
		return rc;
	return shunt_cmdparse_destroy_verb(&v->pc) && !covered(p, v->c->prog);
}

static size_t str_copy(char *dst, size_t cap, size_t at, const char *s)
{
	while (*s && at + 1 < cap)
		dst[at++] = *s++;
	dst[at < cap ? at : cap - 1] = '\0';
	return at;
}

static int stricter_action(int a, int b)
{
	static const int rank[] = {[SHUNT_ACTION_HOST] = 0,
				   [SHUNT_ACTION_SANDBOX] = 1,
				   [SHUNT_ACTION_PROMPT] = 2,
				   [SHUNT_ACTION_BLOCK] = 3};
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return rank[a] >= rank[b] ? a : b;
}

static bool list_match(const char *const *globs, size_t n, const char *raw, const char *norm,
		       const char **which)
{
	for (size_t i = 0; i < n; i++) {
		if ((raw && shunt_glob_match(globs[i], raw)) ||
		    (norm && shunt_glob_match(globs[i], norm))) {
			*which = globs[i];
			return true;
		}
	}
	return false;
}

/* What the mode and level make of a risk, before rule actions. */
static enum shunt_action base_action(const struct shunt_policy *p, enum shunt_risk risk)
{
	enum shunt_action act;
	switch (p->mode) {
	case SHUNT_MODE_ALWAYS:
		act = risk >= SHUNT_RISK_HIGH ? SHUNT_ACTION_PROMPT : SHUNT_ACTION_SANDBOX;
		break;
	case SHUNT_MODE_RISKY:
		act = risk == SHUNT_RISK_CRITICAL ? SHUNT_ACTION_PROMPT
		      : risk == SHUNT_RISK_HIGH	  ? SHUNT_ACTION_SANDBOX
						  : SHUNT_ACTION_HOST;
		break;
	case SHUNT_MODE_NEVER:
		act = risk >= SHUNT_RISK_HIGH ? SHUNT_ACTION_PROMPT : SHUNT_ACTION_HOST;
		break;
	case SHUNT_MODE_AUTO:
	default:
		act = risk == SHUNT_RISK_LOW	  ? SHUNT_ACTION_HOST
		      : risk == SHUNT_RISK_MEDIUM ? SHUNT_ACTION_SANDBOX
						  : SHUNT_ACTION_PROMPT;
		break;
	}
	if (p->level == SHUNT_LEVEL_PARANOID && risk >= SHUNT_RISK_MEDIUM)
		act = stricter_action(act, SHUNT_ACTION_PROMPT);
	return act;
}

enum shunt_runtime shunt_policy_runtime(enum shunt_runtime runtime,
					const enum shunt_runtime profile_runtime[4],
					bool gvisor_available, int profile)
{
	enum shunt_runtime rt = runtime;
	if (rt == SHUNT_RUNTIME_AUTO && profile >= 0 && profile < 4)
		rt = profile_runtime[profile];
	if (rt == SHUNT_RUNTIME_AUTO || rt == SHUNT_RUNTIME_NONE)
		rt = gvisor_available ? SHUNT_RUNTIME_GVISOR : SHUNT_RUNTIME_PROCESS;
	return rt;
}

/* One decision's matching state. */
struct scan {
	const struct shunt_policy *p;
	const struct shunt_request *req;
	struct shunt_arena *a;
	struct shunt_decision *out;
	struct shunt_matcher *m;
	size_t cap;
	enum shunt_risk *risk;
	const char **reason;
	size_t script_budget; /* script bytes this decision may still read */
};

/* At most this many script files' worth of bytes per decision, and this
 * many shell strings handed to system() & co. per piece of code. */
#define SCRIPT_BUDGET_FILES 4
#define SPAWN_MAX	    32

static void raise_risk(struct scan *x, enum shunt_risk r, const char *why)
{
	if (*x->risk < r) {
		*x->risk = r;
		*x->reason = why;
	}
}

/* Records a match; subject (len bytes) is kept for explain when it is not
 * the command's norm or the line. */
static int record(struct scan *x, const struct shunt_rule *r, size_t cmd, size_t so, size_t eo,
		  int m, const char *subject, size_t len)
{
	size_t before = x->out->nmatches;
	if (add_match(x->out, &x->cap, x->a, r, cmd, so, eo, m == 2) < 0)
		return -ENOMEM;
	if (subject && x->out->nmatches > before) {
		char *copy = shunt_arena_strndup(x->a, subject, len);
		if (!copy)
			return -ENOMEM;
		x->out->matches[before].subject = copy;
	}
	return 0;
}

/* Matches the command and line rules against cl. owner is SIZE_MAX for
 * the request's own commands; for commands of code that command owner
 * runs, matches are recorded against owner with the command as subject.
 * why_opaque says why a computed command name or a cut-short analysis is
 * medium risk; NULL for a script file, whose "$cmd" lines are ordinary
 * (its execs are decided when they happen) and which is read only up to
 * a limit anyway. */
static int match_cmdline(struct scan *x, const struct shunt_cmdline *cl, size_t owner,
			 const char *why_opaque)
{
	const struct shunt_policy *p = x->p;
	const struct shunt_lex_ctx lctx = {x->req->home, x->req->cwd, x->req->workspace};
	for (size_t i = 0; i < cl->n; i++) {
		const struct shunt_simple *c = &cl->cmds[i];
		if ((c->flags & SHUNT_CMD_DYNAMIC_NAME) && why_opaque)
			raise_risk(x, SHUNT_RISK_MEDIUM, why_opaque);
		if (!c->norm)
			continue;
		size_t nlen = strlen(c->norm), before = x->out->nmatches;
		struct cmd_view v = {
		    .c = c, .next = i + 1 < cl->n ? &cl->cmds[i + 1] : NULL, .ctx = &lctx, .a = x->a};
		for (size_t r = 0; r < p->nrules; r++) {
			const struct shunt_rule *rule = &p->rules[r];
			if (rule->scope != SHUNT_SCOPE_COMMAND ||
			    !shunt_rule_applies_to(rule, c->prog))
				continue;
			size_t so = 0, eo = 0;
			int m = 1;
			if (rule->re || !rule->cmd.present)
				m = shunt_matcher_match(x->m, rule, c->norm, nlen, &so, &eo);
			if (m < 0)
				return m; /* arena too small: not a match, decide elsewhere */
			if (m == 0)
				continue;
			if (rule->cmd.present) {
				int cm = cmd_match(&v, rule, x->m);
				if (cm < 0)
					return cm;
				if (cm == 0)
					continue;
				if (cm == 2)
					m = 2;
			}
			size_t gso, geo;
			if (m == 1 && rule->unless_installed &&
			    shunt_matcher_group1(x->m, &gso, &geo)) {
				/* the answer now depends on the cwd: the shim must
				 * not remember it for every directory */
				x->out->cwd_dependent = true;
				int in = installed(rule->unless_installed, c->norm + gso, geo - gso,
						   x->req, x->a);
				if (in < 0)
					return in;
				if (in)
					continue;
			}
			int rc = owner == SIZE_MAX
				     ? record(x, rule, i, so, eo, m, NULL, 0)
				     : record(x, rule, owner, so, eo, m, c->norm, nlen);
			if (rc < 0)
				return rc;
		}
		/* no rule judged it: a destroy verb of a CLI no pack covers */
		if (x->out->nmatches == before) {
			int g = generic(&v, p);
			if (g < 0)
				return g;
			int rc = !g		 ? 0
				 : owner == SIZE_MAX ? record(x, shunt_rules_generic(), i, 0, nlen, 1, NULL, 0)
						     : record(x, shunt_rules_generic(), owner, 0, nlen, 1,
							      c->norm, nlen);
			if (rc < 0)
				return rc;
		}
	}
	const char *line = cl->line ? cl->line : "";
	size_t llen = strlen(line);
	for (size_t r = 0; r < p->nrules; r++) {
		const struct shunt_rule *rule = &p->rules[r];
		if (rule->scope != SHUNT_SCOPE_LINE || !line_rule_applies(rule, cl))
			continue;
		size_t so = 0, eo = 0;
		int m = shunt_matcher_match(x->m, rule, line, llen, &so, &eo);
		if (m < 0)
			return m;
		if (m == 0)
			continue;
		int rc = owner == SIZE_MAX ? record(x, rule, SIZE_MAX, so, eo, m, NULL, 0)
					   : record(x, rule, owner, so, eo, m, line, llen);
		if (rc < 0)
			return rc;
	}
	if (cl->truncated && why_opaque)
		raise_risk(x, SHUNT_RISK_MEDIUM,
			   owner == SIZE_MAX ? "command too complex to analyse fully"
					     : "the code it runs is too complex to analyse fully");
	return 0;
}

/* Lexes shell code that command owner runs and matches it like a line
 * (from_file: a script file, see match_cmdline). */
static int match_shell_code(struct scan *x, size_t owner, const char *text, size_t len,
			    bool from_file)
{
	const struct shunt_request *req = x->req;
	struct shunt_lex_ctx lctx = {req->home, req->cwd, req->workspace};
	struct shunt_cmdline sub;
	memset(&sub, 0, sizeof(sub));
	int rc = shunt_lex_line(text, len, &lctx, x->a, &sub);
	if (rc < 0)
		return rc;
	return match_cmdline(x, &sub, owner,
			     from_file ? NULL : "the code it runs computes a command name");
}

/* Scans the code command i runs (script.h): shell code is lexed and
 * judged like a line; other languages meet the code-scope rules, and the
 * shell strings they hand to system() & co. are judged like lines. */
static int scan_code(struct scan *x, size_t i)
{
	const struct shunt_simple *c = &x->out->cmdline.cmds[i];
	struct shunt_code code;
	if (!shunt_script_find(c, &code))
		return 0;
	const char *text = code.text;
	size_t len = code.len;
	bool from_file = false;
	if (!text) {
		if (!x->req->script_max || !code.path)
			return 0;
		/* under the shim a shell's own execs are decided one by one; only
		 * busybox runs its applets without an exec */
		if (code.lang == SHUNT_LANG_SHELL && x->req->source == SHUNT_SOURCE_SHIM &&
		    !(c->via && strstr(c->via, "busybox")))
			return 0;
		x->out->read_script = true;
		if (x->script_budget < x->req->script_max) {
			raise_risk(x, SHUNT_RISK_MEDIUM, "runs more scripts than one check reads");
			return 0;
		}
		bool more;
		int rc = shunt_script_read(code.path, x->req->cwd, x->req->home, x->req->script_max,
					   x->a, &text, &len, &more);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return 0; /* no such script: the interpreter fails as well */
		x->script_budget -= len;
		from_file = true;
	}
	if (code.lang == SHUNT_LANG_SHELL)
		return match_shell_code(x, i, text, len, from_file);
	const struct shunt_policy *p = x->p;
	for (size_t r = 0; r < p->nrules; r++) {
		const struct shunt_rule *rule = &p->rules[r];
		if (!(rule->scope == SHUNT_SCOPE_CODE ||
		      (rule->scope == SHUNT_SCOPE_INLINE && !from_file)) ||
		    !shunt_rule_applies_to(rule, c->prog))
			continue;
		size_t so = 0, eo = 0;
		int m = shunt_matcher_match(x->m, rule, text, len, &so, &eo);
		if (m < 0)
			return m;
		if (m && record(x, rule, i, so, eo, m, text, len) < 0)
			return -ENOMEM;
	}
	size_t pos = 0;
	const char *cmd;
	size_t cmdlen;
	for (int k = 0; k < SPAWN_MAX &&
			shunt_script_next_spawn(code.lang, text, len, &pos, x->a, &cmd, &cmdlen);
	     k++) {
		int rc = match_shell_code(x, i, cmd, cmdlen, false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int shunt_decide(const struct shunt_policy *p, const struct shunt_request *req,
		 struct shunt_arena *a, struct shunt_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->profile = SHUNT_PROFILE_NONE;
	out->runtime = SHUNT_RUNTIME_NONE;

	struct shunt_lex_ctx lctx = {req->home, req->cwd, req->workspace};
	int rc;
	if (req->line)
		rc = shunt_lex_line(req->line, req->line_len, &lctx, a, &out->cmdline);
	else
		rc = shunt_lex_argv(req->exe, req->argv, req->argc, &lctx, a, &out->cmdline);
	if (rc < 0)
		return rc;
	const struct shunt_cmdline *cl = &out->cmdline;
	const char *norm_line = cl->line ? cl->line : "";

	enum shunt_risk risk = SHUNT_RISK_LOW;
	int forced = -1, profile = SHUNT_PROFILE_NONE;
	const struct shunt_rule *primary = NULL;
	const char *reason = NULL;
	struct shunt_matcher matcher;
	if (shunt_matcher_init(&matcher, a) < 0)
		return -ENOMEM;
	struct scan x = {.p = p,
			 .req = req,
			 .a = a,
			 .out = out,
			 .m = &matcher,
			 .risk = &risk,
			 .reason = &reason,
			 .script_budget = req->script_max * SCRIPT_BUDGET_FILES};
	if ((rc = match_cmdline(&x, cl, SIZE_MAX, "command name is computed at run time")) < 0)
		return rc;
	/* the code interpreters run, once: not the code inside that code */
	size_t ntop = cl->n;
	for (size_t i = 0; i < ntop; i++)
		if ((rc = scan_code(&x, i)) < 0)
			return rc;
	for (size_t i = 0; i < out->nmatches; i++) {
		const struct shunt_rule *rule = out->matches[i].rule;
		if (!primary || rule->risk > primary->risk)
			primary = rule;
		if (rule->risk > risk)
			risk = rule->risk;
		if (rule->action >= 0)
			forced = stricter_action(forced, rule->action);
		if (rule->profile > profile)
			profile = rule->profile;
		out->effects |= 1u << rule->effect;
	}
	/* a sandbox has no credentials and no remote: it can only make a
	 * remote effect, or one that needs your secrets, fail */
	out->remote_effect =
	    (out->effects & (1u << SHUNT_EFFECT_REMOTE | 1u << SHUNT_EFFECT_CREDENTIALS)) != 0;
	/* a sandbox cannot reach systemd or the kernel either */
	out->system_effect = (out->effects & 1u << SHUNT_EFFECT_SYSTEM) != 0;
	if (primary && primary->risk >= risk)
		reason = primary->description;

	/* allowlist/denylist see the raw line and the normalised one */
	char raw[4096];
	const char *rawp = NULL;
	if (req->line && req->line_len < sizeof(raw) && !memchr(req->line, '\0', req->line_len)) {
		memcpy(raw, req->line, req->line_len);
		raw[req->line_len] = '\0';
		rawp = raw;
	}
	const char *deny_pat = NULL, *allow_pat = NULL;
	out->denylisted = list_match(p->denylist, p->ndenylist, rawp, norm_line, &deny_pat);
	out->allowlisted = list_match(p->allowlist, p->nallowlist, rawp, norm_line, &allow_pat);

	/* keys cost two SHA-256s: only when there is something to look up, or
	 * when the caller may remember the command (not the shim) */
	const struct shunt_trust_ref *tr = NULL;
	if (p->ntrust || req->source != SHUNT_SOURCE_SHIM) {
		shunt_trust_key(0, req->workspace, norm_line, out->trust_key);
		shunt_trust_key(1, NULL, norm_line, out->trust_key_global);
	}
	if (p->ntrust) {
		tr = trust_find(p, out->trust_key);
		if (!tr)
			tr = trust_find(p, out->trust_key_global);
	}
	if (tr && tr->expires && req->now > tr->expires)
		tr = NULL;
	if (tr && !trust_fingerprint_ok(tr, req->exe)) {
		out->trust_stale = true;
		tr = NULL;
	}

	out->risk = risk;
	int score = risk_base_score[risk];
	if (out->nmatches > 1)
		score += (int)(out->nmatches - 1) * 3 > 9 ? 9 : (int)(out->nmatches - 1) * 3;
	if (out->nmatches == 0 && risk == SHUNT_RISK_LOW)
		score = 0;
	if (out->denylisted && score < 95)
		score = 95;
	out->score = score > 100 ? 100 : score;

	size_t w = 0;
	enum shunt_action act;
	if (out->denylisted) {
		act = SHUNT_ACTION_BLOCK;
		if (out->risk < SHUNT_RISK_HIGH)
			out->risk = SHUNT_RISK_HIGH;
		w = str_copy(out->why, sizeof(out->why), 0, "denylisted by policy: '");
		w = str_copy(out->why, sizeof(out->why), w, deny_pat);
		str_copy(out->why, sizeof(out->why), w, "'");
	} else if (tr) {
		act = SHUNT_ACTION_HOST;
		out->trusted = true;
		str_copy(out->why, sizeof(out->why), 0, "trusted: previously approved");
	} else if (out->allowlisted && risk < SHUNT_RISK_CRITICAL && forced != SHUNT_ACTION_BLOCK) {
		act = SHUNT_ACTION_HOST;
		w = str_copy(out->why, sizeof(out->why), 0, "allowlisted by policy: '");
		w = str_copy(out->why, sizeof(out->why), w, allow_pat);
		str_copy(out->why, sizeof(out->why), w, "'");
	} else {
		act = base_action(p, risk);
		if (forced == SHUNT_ACTION_BLOCK && risk > SHUNT_RISK_LOW)
			act = SHUNT_ACTION_BLOCK;
		else if (forced == SHUNT_ACTION_PROMPT && risk > SHUNT_RISK_LOW)
			act = stricter_action(act, SHUNT_ACTION_PROMPT);
		else if (forced == SHUNT_ACTION_SANDBOX && act == SHUNT_ACTION_PROMPT &&
			 risk < SHUNT_RISK_CRITICAL)
			act = SHUNT_ACTION_SANDBOX; /* the rule says a sandbox is enough */
		else if (forced == SHUNT_ACTION_SANDBOX && act == SHUNT_ACTION_HOST &&
			 (p->mode == SHUNT_MODE_AUTO || p->mode == SHUNT_MODE_ALWAYS))
			act = SHUNT_ACTION_SANDBOX;
		if (p->mode == SHUNT_MODE_NEVER && act == SHUNT_ACTION_SANDBOX)
			act = SHUNT_ACTION_PROMPT;
		/* a sandbox has no credentials and no remote: it cannot contain
		 * a remote effect, only make it fail */
		if ((out->remote_effect || out->system_effect) && act == SHUNT_ACTION_SANDBOX)
			act = SHUNT_ACTION_PROMPT;
		if (risk == SHUNT_RISK_LOW && act == SHUNT_ACTION_HOST) {
			str_copy(out->why, sizeof(out->why), 0, "low risk, no isolation needed");
		} else {
			w = str_copy(out->why, sizeof(out->why), 0, shunt_risk_name(risk));
			w = str_copy(out->why, sizeof(out->why), w, " risk");
			if (reason) {
				w = str_copy(out->why, sizeof(out->why), w, " + ");
				w = str_copy(out->why, sizeof(out->why), w, reason);
			}
		}
	}

	if (act != SHUNT_ACTION_HOST && act != SHUNT_ACTION_BLOCK && profile < 0)
		profile = risk >= SHUNT_RISK_MEDIUM || p->mode == SHUNT_MODE_ALWAYS
			      ? SHUNT_PROFILE_WORKSPACE_WRITE
			      : SHUNT_PROFILE_READ_ONLY;
	if (act == SHUNT_ACTION_SANDBOX && profile == SHUNT_PROFILE_GODMODE) {
		act = SHUNT_ACTION_PROMPT; /* GODMODE always needs explicit confirmation */
		out->would_prompt_godmode = true;
	}
	bool remote_only = !(out->effects & 1u << SHUNT_EFFECT_REMOTE);
	if (act == SHUNT_ACTION_PROMPT && req->interactive && out->remote_effect) {
		w = strlen(out->why);
		str_copy(out->why, sizeof(out->why), w,
			 remote_only ? " (uses your credentials: a sandbox cannot contain it)"
				     : " (acts on a remote system: a sandbox cannot contain it)");
	} else if (act == SHUNT_ACTION_PROMPT && req->interactive && out->system_effect) {
		w = strlen(out->why);
		str_copy(out->why, sizeof(out->why), w,
			 " (changes the running machine: a sandbox cannot contain it)");
	}
	if (act == SHUNT_ACTION_PROMPT && !req->interactive) {
		w = strlen(out->why);
		if (out->remote_effect) {
			act = SHUNT_ACTION_BLOCK;
			str_copy(
			    out->why, sizeof(out->why), w,
			    remote_only
				? " (no terminal to confirm; it uses your credentials, which a "
				  "sandbox cannot contain: run it yourself or trust it with "
				  "shunt trust add)"
				: " (no terminal to confirm; it acts on a remote system, which a "
				  "sandbox cannot contain: run it yourself or trust it with shunt "
				  "trust add)");
		} else if (out->system_effect) {
			act = SHUNT_ACTION_BLOCK;
			str_copy(
			    out->why, sizeof(out->why), w,
			    " (no terminal to confirm; it changes the running machine (services, "
			    "power, processes), which a sandbox cannot contain: run it yourself or "
			    "trust it with shunt trust add)");
		} else if (risk == SHUNT_RISK_CRITICAL || profile == SHUNT_PROFILE_GODMODE ||
			   p->non_interactive == SHUNT_NONINT_BLOCK ||
			   p->mode == SHUNT_MODE_NEVER) {
			act = SHUNT_ACTION_BLOCK;
			str_copy(out->why, sizeof(out->why), w, " (no terminal to confirm)");
		} else {
			act = SHUNT_ACTION_SANDBOX;
			str_copy(out->why, sizeof(out->why), w, " (no terminal: sandboxed)");
		}
	}
	if (out->trust_stale && act != SHUNT_ACTION_HOST) {
		w = strlen(out->why);
		str_copy(out->why, sizeof(out->why), w,
			 "; a trust entry exists but the executable changed since it was approved");
	}
	out->action = act;
	if (act == SHUNT_ACTION_SANDBOX || act == SHUNT_ACTION_PROMPT) {
		out->profile = profile;
		out->runtime = shunt_policy_runtime(p->runtime, p->profile_runtime,
						    p->gvisor_available, profile);
	} else if (act == SHUNT_ACTION_BLOCK) {
		out->profile = SHUNT_PROFILE_NONE;
	}
	return 0;
}

int shunt_policy_build(struct shunt_policy *p, const struct shunt_config *cfg,
		       struct shunt_ruleset *rs, struct shunt_error **err)
{
	memset(p, 0, sizeof(*p));
	p->mode = cfg->mode;
	p->level = cfg->security_level;
	p->non_interactive = cfg->non_interactive;
	p->on_error = cfg->on_error;
	p->runtime = cfg->sandbox.runtime;
	memcpy(p->profile_runtime, cfg->sandbox.profile_runtime, sizeof(p->profile_runtime));
	p->allowlist = (const char *const *)cfg->allowlist.v;
	p->nallowlist = cfg->allowlist.n;
	p->denylist = (const char *const *)cfg->denylist.v;
	p->ndenylist = cfg->denylist.n;
	for (size_t i = 0; i < cfg->nrisk_floors; i++) {
		const struct shunt_risk_floor *f = &cfg->risk_floors[i];
		bool found = false;
		for (size_t r = 0; r < rs->n; r++) {
			if (strcmp(rs->rules[r].id, f->rule_id) != 0)
				continue;
			found = true;
			if (rs->rules[r].risk < f->risk)
				rs->rules[r].risk = f->risk;
		}
		if (!found) {
			shunt_error_set(
			    err, EINVAL,
			    "risk_floors: unknown rule id '%s' (see 'shunt rules list')",
			    f->rule_id);
			(*err)->exitcode = 2;
			return -1;
		}
	}
	p->rules = rs->rules;
	p->nrules = rs->n;
	return 0;
}

void shunt_policy_free(struct shunt_policy *p)
{
	memset(p, 0, sizeof(*p));
}

void shunt_decision_json(const struct shunt_decision *d, struct shunt_buf *out)
{
	shunt_buf_printf(out, "{\"action\":\"%s\",\"risk\":\"%s\",\"score\":%d,\"profile\":",
			 shunt_action_name(d->action), shunt_risk_name(d->risk), d->score);
	if (d->profile < 0)
		shunt_buf_puts(out, "null");
	else
		shunt_buf_printf(out, "\"%s\"", shunt_profile_name(d->profile));
	shunt_buf_puts(out, ",\"runtime\":");
	if (d->runtime == SHUNT_RUNTIME_NONE)
		shunt_buf_puts(out, "null");
	else
		shunt_buf_printf(out, "\"%s\"", shunt_runtime_name(d->runtime));
	shunt_buf_puts(out, ",\"rules\":[");
	for (size_t i = 0; i < d->nrules; i++) {
		if (i)
			shunt_buf_putc(out, ',');
		shunt_buf_json_str(out, d->rules[i], strlen(d->rules[i]));
	}
	shunt_buf_puts(out, "],\"effects\":[");
	bool first = true;
	for (int e = 0; e <= SHUNT_EFFECT_MAX; e++) {
		if (!(d->effects & 1u << e))
			continue;
		shunt_buf_printf(out, "%s\"%s\"", first ? "" : ",", shunt_rule_effect_name(e));
		first = false;
	}
	shunt_buf_puts(out, "],\"why\":");
	shunt_buf_json_str(out, d->why, strlen(d->why));
	shunt_buf_printf(out, ",\"trusted\":%s}", d->trusted ? "true" : "false");
}
