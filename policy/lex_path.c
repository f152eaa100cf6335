/* Path cleaning for the normalised text: "/tmp/../etc" is "/etc",
 * "$TMPDIR/../etc" too, "./../../.." is "../../..", "~bob" is
 * "/home/bob". Lexical only (no cwd, no symlinks): the shim runs it for
 * every exec, so it reads nothing. Async-signal-safe like lex.c. */
#include "lex_int.h"

/* Length of a ~user name at w+1 ([A-Za-z0-9._-]), followed by end or '/'. */
static size_t tilde_user(const char *w)
{
	size_t k = 1;
	while ((w[k] >= 'a' && w[k] <= 'z') || (w[k] >= 'A' && w[k] <= 'Z') ||
	       (w[k] >= '0' && w[k] <= '9') || w[k] == '.' || w[k] == '_' || w[k] == '-')
		k++;
	return (w[k] == '\0' || w[k] == '/') ? k - 1 : 0;
}

/* The prefix a word's path starts with, expanded: *skip bytes of w are
 * replaced by the returned string (NULL: none). */
static const char *expand_prefix(struct lx *lx, const char *w, size_t *skip, bool need_home)
{
	static const struct {
		const char *var, *val;
	} tmp[] = {{"$TMPDIR", "/tmp"}, {"${TMPDIR}", "/tmp"}};
	for (size_t i = 0; i < sizeof(tmp) / sizeof(*tmp); i++) {
		size_t n = strlen(tmp[i].var);
		if (!strncmp(w, tmp[i].var, n) && (w[n] == '\0' || w[n] == '/')) {
			*skip = n;
			return tmp[i].val;
		}
	}
	if (w[0] != '~' && w[0] != '$')
		return NULL;
	static const char *const home_vars[] = {"~", "$HOME", "${HOME}"};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(home_vars[i]);
		if (!strncmp(w, home_vars[i], n) && (w[n] == '\0' || w[n] == '/')) {
			if (!need_home || !lx->homelen)
				return NULL;
			*skip = n;
			return lx->home;
		}
	}
	size_t u = w[0] == '~' ? tilde_user(w) : 0;
	if (!u)
		return NULL;
	/* another user's home: where it usually is */
	*skip = u + 1;
	if (u == 4 && !strncmp(w + 1, "root", 4))
		return "/root";
	struct sbuf b = {0};
	sb_puts(lx, &b, "/home/");
	sb_putn(lx, &b, w + 1, u);
	return lx->err ? NULL : sb_str(&b);
}

/* Whether p (a path) has an empty, "." or ".." component after its first
 * byte, i.e. something lexical cleaning changes. */
static bool needs_clean(const char *p)
{
	for (const char *s = p; *s; s++) {
		if (*s != '/')
			continue;
		if (s[1] == '/')
			return true;
		if (s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			return s != p || s[2] == '/';
		if (s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0'))
			return true;
	}
	return false;
}

/* Cleans path p (n bytes): collapses "//", drops ".", resolves "x/..".
 * An absolute path never climbs above "/"; a relative one keeps its
 * leading "..". A trailing '/' is kept; a leading "./" too unless the
 * result starts with "..". */
static const char *clean(struct lx *lx, const char *p)
{
	size_t n = strlen(p);
	bool abs = p[0] == '/', dot = p[0] == '.' && p[1] == '/';
	bool trail = n > 1 && p[n - 1] == '/';
	/* component starts and lengths, on the arena (n/2+1 at most) */
	size_t cap = n / 2 + 2;
	const char **cs = shunt_arena_alloc(lx->a, cap * sizeof(*cs));
	size_t *cl = shunt_arena_alloc(lx->a, cap * sizeof(*cl));
	if (!cs || !cl) {
		lx->err = -ENOMEM;
		return p;
	}
	size_t k = 0, up = 0; /* up: leading ".." kept (relative only) */
	for (const char *s = p; *s;) {
		size_t len = strcspn(s, "/");
		if (len == 0 || (len == 1 && s[0] == '.')) {
			/* skip */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (k > up)
				k--;
			else if (!abs)
				cs[k] = s, cl[k] = 2, k++, up++;
		} else if (k < cap) {
			cs[k] = s, cl[k] = len, k++;
		}
		s += len;
		if (*s == '/')
			s++;
	}
	struct sbuf b = {0};
	if (abs)
		sb_putc(lx, &b, '/');
	else if (dot && up == 0)
		sb_puts(lx, &b, "./");
	for (size_t i = 0; i < k; i++) {
		if (i)
			sb_putc(lx, &b, '/');
		sb_putn(lx, &b, cs[i], cl[i]);
	}
	if (k == 0 && !abs)
		sb_putc(lx, &b, '.');
	else if (trail && k > 0)
		sb_putc(lx, &b, '/');
	return lx->err ? p : sb_str(&b);
}

const char *shunt_lex_clean_path(struct lx *lx, const char *w)
{
	/* only words that are paths: absolute, ./ ../ ~ $HOME $TMPDIR */
	if (!(w[0] == '/' || w[0] == '~' || w[0] == '$' ||
	      (w[0] == '.' && (w[1] == '/' || (w[1] == '.' && w[2] == '/')))))
		return w;
	size_t skip = 0;
	const char *pre = expand_prefix(lx, w, &skip, needs_clean(w));
	const char *p = w;
	if (pre) {
		struct sbuf b = {0};
		sb_puts(lx, &b, pre);
		sb_puts(lx, &b, w + skip);
		if (lx->err)
			return w;
		p = sb_str(&b);
	}
	if (p[0] == '$' || p[0] == '~')
		return p; /* an unknown variable or home: nothing to resolve against */
	return needs_clean(p) ? clean(lx, p) : p;
}
