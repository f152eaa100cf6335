/* Splitting a line into its simple commands (see split.h). The scanner is
 * deliberately narrow: it only places commands of a flat list on one
 * line, where a rewrite by byte offset is certainly right; everything it
 * does not know falls back to the whole-line path. */
#include "split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cleanup.h"

/* Words that make a command a keyword or a shell builtin we must not take
 * out of the shell ("state" ones also change what later words mean). */
static const char *const state_words[] = {
    "cd",	"pushd",    "popd",   "source",	  ".",	     "eval",	"alias",
    "unalias",	"export",   "unset",  "declare",  "typeset", "local",	"readonly",
    "set",	"shopt",    "hash",   "enable",	  "builtin", "command", "exec",
    "trap",	"umask",    "setopt", "unsetopt", "emulate", "chdir",	"functions",
    "autoload", "zmodload", "rehash", "unhash",	  NULL};
static const char *const keyword_words[] = {
    "if",   "then", "else",   "elif",	  "fi",	  "for",       "while",	 "until", "do", "done",
    "case", "esac", "select", "function", "time", "coproc",    "!",	 "[[",	  "]]", "{",
    "}",    "in",   "repeat", "foreach",  "end",  "nocorrect", "noglob", "-",	  NULL};
static const char *const builtin_words[] = {
    "echo",   "printf", "read",	   "test",   "[",	 "true",     "false",
    ":",      "wait",	"jobs",	   "fg",     "bg",	 "kill",     "let",
    "return", "exit",	"logout",  "break",  "continue", "shift",    "getopts",
    "type",   "which",	"history", "fc",     "bind",	 "complete", "compgen",
    "dirs",   "disown", "suspend", "times",  "ulimit",	 "mapfile",  "readarray",
    "caller", "help",	"print",   "whence", "where",	 NULL};

static bool word_in(const char *w, size_t n, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strlen(set[i]) == n && memcmp(set[i], w, n) == 0)
			return true;
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* NAME= or NAME+= at w (a leading assignment word) */
static bool is_assign(const char *w, size_t n)
{
	size_t i = 0;
	if (n == 0 ||
	    !((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z') || w[0] == '_'))
		return false;
	while (i < n && ((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
			 (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
		i++;
	if (i < n && w[i] == '+')
		i++;
	return i < n && w[i] == '=';
}

/* Skips a $'..' or ".." body from i to past its closing quote q, or
 * returns 0: unterminated, or (in "..") a substitution or history
 * expansion that the scanner refuses. */
static size_t skip_escaped(const char *s, size_t len, size_t i, char q)
{
	for (; i < len && s[i] != q; i++) {
		if (q == '"' &&
		    (s[i] == '`' || s[i] == '!' || (s[i] == '$' && i + 1 < len && s[i + 1] == '(')))
			return 0;
		if (s[i] == '\\')
			i++;
	}
	return i < len ? i + 1 : 0;
}

/* Skips one word starting at i; returns its end, or 0 on anything the
 * scanner refuses. *redir is set by < and >. */
static size_t scan_word(const char *s, size_t len, size_t i, bool *redir)
{
	while (i < len) {
		char c = s[i];
		if (is_blank(c) || c == ';' || c == '|' || c == '&')
			break;
		switch (c) {
		case '\n':
		case '\r':
		case '(':
		case ')':
		case '`':
		case '!':
		case '\0':
			return 0;
		case '<':
		case '>':
			if (i + 1 < len && (s[i + 1] == '<' || s[i + 1] == '('))
				return 0; /* here-document, here-string, <( ) */
			*redir = true;
			i++;
			if (i < len && (s[i] == '&' || s[i] == '>' || s[i] == '|'))
				i++;
			break;
		case '\\':
			if (i + 1 >= len || s[i + 1] == '\n')
				return 0;
			i += 2;
			break;
		case '\'':
			i++;
			while (i < len && s[i] != '\'')
				i++;
			if (i >= len)
				return 0;
			i++;
			break;
		case '$':
			if (i + 1 < len && (s[i + 1] == '(' || s[i + 1] == '{' || s[i + 1] == '['))
				return 0; /* words inside ${ } may hold blanks */
			if (i + 1 < len && s[i + 1] == '\'') {
				i = skip_escaped(s, len, i + 2, '\'');
				if (i == 0)
					return 0;
				break;
			}
			i++;
			break;
		case '"':
			i = skip_escaped(s, len, i + 1, '"');
			if (i == 0)
				return 0;
			break;
		default:
			i++;
		}
	}
	return i;
}

size_t shunt_split_scan(const char *s, size_t len, struct shunt_split_seg *segs, size_t max)
{
	size_t n = 0, i = 0;
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && s[i] == '^')
		return 0; /* ^old^new: history expansion rewrites the line */
	for (;;) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i >= len || n >= max || s[i] == '#')
			return 0; /* empty segment, trailing operator, too many, comment */
		struct shunt_split_seg g = {.start = i};
		bool have_name = false;
		size_t words = 0;
		while (i < len && !(s[i] == ';' || s[i] == '|' || s[i] == '&')) {
			bool redir = false;
			size_t e = scan_word(s, len, i, &redir);
			if (e == 0 || e == i)
				return 0;
			const char *w = s + i;
			size_t wn = e - i;
			if (words == 0 && (word_in(w, wn, keyword_words) || *w == '{' || *w == '}'))
				return 0;
			if (!have_name && redir)
				return 0; /* a redirection before the name: keep it simple */
			if (!have_name && !is_assign(w, wn)) {
				if (memchr(w, '=', wn))
					return 0; /* a[1]=x and the like */
				have_name = true;
				g.name = i;
				g.state = word_in(w, wn, state_words);
				g.builtin = g.state || word_in(w, wn, builtin_words) || *w == '$';
			}
			g.redir |= redir;
			words++;
			g.end = e;
			i = e;
			while (i < len && is_blank(s[i]))
				i++;
			if (i < len && s[i] == '#')
				return 0;
		}
		if (words == 0)
			return 0; /* an operator with nothing before it */
		if (!have_name)
			g.state = true; /* NAME=VALUE alone sets the shell's variable */
		if (!have_name)
			g.name = g.end;
		segs[n++] = g;
		if (i >= len)
			return n;
		/* the operator: && || ; only */
		if (s[i] == ';') {
			i++;
		} else if (i + 1 < len && s[i + 1] == s[i]) {
			i += 2;
		} else {
			return 0; /* | or & */
		}
		if (i < len && (s[i] == ';' || s[i] == '&' || s[i] == '|'))
			return 0;
		while (i < len && is_blank(s[i]))
			i++;
		if (i >= len)
			return s[i - 1] == ';' ? n : 0; /* "a;" is a list; "a &&" is not complete */
	}
}

void shunt_split_spec_format(const struct shunt_decision *d, struct shunt_buf *out)
{
	shunt_buf_printf(out, "%s:%s:%s:%d:%d:", shunt_action_name(d->action),
			 d->runtime == SHUNT_RUNTIME_NONE ? "-" : shunt_runtime_name(d->runtime),
			 d->profile < 0 ? "-" : shunt_profile_name(d->profile), (int)d->risk,
			 d->score);
	for (size_t i = 0; i < d->nrules; i++)
		shunt_buf_printf(out, "%s%s", i ? "," : "", d->rules[i]);
}

int shunt_split_spec_parse(char *spec, struct shunt_decision *d, struct shunt_error **err)
{
	char *f[6] = {spec};
	for (int k = 1; k < 6; k++) {
		f[k] = f[k - 1] ? strchr(f[k - 1], ':') : NULL;
		if (f[k])
			*f[k]++ = '\0';
	}
	if (!f[5])
		return shunt_args_usage(
		    err, "--decided: expected ACTION:RUNTIME:PROFILE:RISK:SCORE:RULES");
	memset(d, 0, sizeof(*d));
	int action = shunt_action_parse(f[0]);
	if (action < 0 || action == SHUNT_ACTION_HOST)
		return shunt_args_usage(err, "--decided: action '%s' (sandbox, prompt or block)",
					f[0]);
	d->action = (enum shunt_action)action;
	int rt = strcmp(f[1], "-") == 0 ? SHUNT_RUNTIME_NONE : shunt_runtime_parse(f[1]);
	int pr = strcmp(f[2], "-") == 0 ? SHUNT_PROFILE_NONE : shunt_profile_parse(f[2]);
	char *end1 = NULL, *end2 = NULL;
	long risk = strtol(f[3], &end1, 10), score = strtol(f[4], &end2, 10);
	if (rt < 0 && strcmp(f[1], "-") != 0)
		return shunt_args_usage(err, "--decided: unknown runtime '%s'", f[1]);
	if (pr < 0 && strcmp(f[2], "-") != 0)
		return shunt_args_usage(err, "--decided: unknown profile '%s'", f[2]);
	if (end1 == f[3] || *end1 || risk < 0 || risk > SHUNT_RISK_CRITICAL || end2 == f[4] ||
	    *end2 || score < 0 || score > 100)
		return shunt_args_usage(err, "--decided: bad risk or score");
	if (d->action == SHUNT_ACTION_SANDBOX && (rt == SHUNT_RUNTIME_NONE || pr < 0))
		return shunt_args_usage(err, "--decided: a sandbox needs a runtime and a profile");
	/* GODMODE is only ever the answer typed at a prompt, never carried */
	if (pr == SHUNT_PROFILE_GODMODE)
		return shunt_args_usage(err, "--decided: GODMODE cannot be carried");
	d->runtime = (enum shunt_runtime)rt;
	d->profile = pr;
	d->risk = (enum shunt_risk)risk;
	d->score = (int)score;
	for (char *save = NULL, *r = strtok_r(f[5], ",", &save);
	     r && d->nrules < SHUNT_MAX_RULE_IDS; r = strtok_r(NULL, ",", &save))
		d->rules[d->nrules++] = r;
	return 0;
}

int shunt_split_line(const struct shunt_ctx *ctx, const char *line,
		     const struct shunt_decision *whole, enum shunt_source source, bool interactive,
		     struct shunt_buf *out, struct shunt_error **err)
{
	struct shunt_split_seg segs[SHUNT_SPLIT_MAX * 2];
	size_t len = strlen(line);
	if (strstr(line, "__shunt_cmd"))
		return 0; /* a wrapper typed by hand is never given a decision */
	size_t n = shunt_split_scan(line, len, segs, sizeof(segs) / sizeof(segs[0]));
	if (n == 0)
		return 0;
	struct shunt_buf specs = {0};
	bool wrap[SHUNT_SPLIT_MAX * 2] = {false};
	size_t nwrap = 0;
	int worst = SHUNT_ACTION_HOST, rc = 0;
	bool state_before = false;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text =
		    strndup(line + segs[i].start, segs[i].end - segs[i].start);
		if (!text) {
			rc = shunt_error_sys(err, ENOMEM, "out of memory");
			goto out;
		}
		struct shunt_arena a;
		shunt_arena_init_heap(&a);
		struct shunt_decision d;
		if (shunt_ctx_decide(ctx, text, NULL, NULL, source, interactive, &a, &d, err) < 0) {
			shunt_arena_release(&a);
			rc = -1;
			goto out;
		}
		bool risky = d.action != SHUNT_ACTION_HOST;
		if (risky) {
			/* its verdict was made where it stands; one that cannot be run
			 * by argv from a function, or that follows a cd/export/...
			 * whose effect the decision did not see, goes as a whole */
			if (state_before || segs[i].redir || segs[i].builtin ||
			    segs[i].name >= segs[i].end || nwrap >= SHUNT_SPLIT_MAX) {
				shunt_arena_release(&a);
				goto out;
			}
			wrap[i] = true;
			nwrap++;
			if ((int)d.action > worst)
				worst = (int)d.action;
			shunt_split_spec_format(&d, &specs);
			shunt_buf_putc(&specs, '\0');
			shunt_buf_append(&specs, d.why, strlen(d.why));
			shunt_buf_putc(&specs, '\0');
		}
		state_before |= segs[i].state;
		shunt_arena_release(&a);
	}
	/* the parts must carry the whole line's verdict, else a rule saw
	 * something only the line as a whole shows */
	if (nwrap == 0 || worst != (int)whole->action || specs.oom)
		goto out;
	shunt_buf_printf(out, "split %zu\n", nwrap);
	shunt_buf_append(out, specs.data, specs.len);
	size_t at = 0, k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!wrap[i])
			continue;
		shunt_buf_append(out, line + at, segs[i].name - at);
		shunt_buf_printf(out, "__shunt_cmd %zu ", ++k);
		at = segs[i].name;
	}
	shunt_buf_append(out, line + at, len - at);
	shunt_buf_putc(out, '\0');
	rc = 1;
out:
	shunt_buf_free(&specs);
	return rc;
}
