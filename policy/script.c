/* Finding the code an interpreter runs (see script.h). Async-signal-safe
 * apart from shunt_script_read, which only callers that may do I/O use. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "script.h"

static bool eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool prefix_digits(const char *s, const char *pre)
{
	size_t n = strlen(pre);
	if (strncmp(s, pre, n) != 0)
		return false;
	for (s += n; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return false;
	return true;
}

enum shunt_lang shunt_script_lang(const char *prog)
{
	static const char *const shells[] = {"sh",   "bash", "zsh",  "dash", "ksh",
					     "mksh", "ash",  "yash", "posh", NULL};
	if (!prog || !*prog)
		return SHUNT_LANG_NONE;
	for (size_t i = 0; shells[i]; i++)
		if (eq(prog, shells[i]))
			return SHUNT_LANG_SHELL;
	if (prefix_digits(prog, "python") || prefix_digits(prog, "pypy"))
		return SHUNT_LANG_PYTHON;
	if (prefix_digits(prog, "perl"))
		return SHUNT_LANG_PERL;
	if (prefix_digits(prog, "ruby"))
		return SHUNT_LANG_RUBY;
	if (eq(prog, "node") || eq(prog, "nodejs"))
		return SHUNT_LANG_NODE;
	if (prefix_digits(prog, "php"))
		return SHUNT_LANG_PHP;
	if (eq(prog, "awk") || eq(prog, "gawk") || eq(prog, "mawk") || eq(prog, "nawk") ||
	    eq(prog, "busybox-awk"))
		return SHUNT_LANG_AWK;
	return SHUNT_LANG_NONE;
}

/* What one option cluster of an interpreter does. */
enum optkind {
	OPT_FLAG,   /* on its own */
	OPT_ARG,    /* takes a value: rest of the word, else the next word */
	OPT_CODE,   /* the value is code */
	OPT_FILE,   /* the value is the script file (awk -f, php -f) */
	OPT_MODULE, /* runs a module by name (python -m): nothing we can read */
	OPT_REST,   /* the rest of the word belongs to it, no next word (perl -i.bak) */
};

struct optspec {
	const char *code;   /* short letters taking code */
	const char *arg;    /* short letters taking a value */
	const char *rest;   /* short letters eating the rest of the word only */
	const char *file;   /* short letters naming the script */
	const char *module; /* short letters that run a module */
	const char *const *lcode, *const *larg;
};

static const char *const node_lcode[] = {"eval", "print", NULL};
static const char *const node_larg[] = {"require",    "import",	  "loader", "input-type",
					"conditions", "env-file", NULL};
static const char *const awk_lcode[] = {"source", NULL};
static const char *const awk_larg[] = {"field-separator", "assign", "file",
				       "include",	  "load",   NULL};
static const char *const python_larg[] = {"check-hash-based-pycs", NULL};
static const char *const none[] = {NULL};

static const struct optspec *spec_for(enum shunt_lang lang)
{
	static const struct optspec python = {"c", "WXQ", "", "", "m", none, python_larg};
	static const struct optspec perl = {"eE", "", "iIlmMxC0dD", "", "", none, none};
	static const struct optspec ruby = {"e", "rIEC", "0iWxTF", "", "", none, none};
	static const struct optspec node = {"ep", "r", "", "", "", node_lcode, node_larg};
	static const struct optspec php = {"r", "dcz", "", "f", "", none, none};
	static const struct optspec awk = {"e", "Fv", "", "f", "", awk_lcode, awk_larg};
	static const struct optspec shell = {"c", "oO", "", "", "", none, none};
	switch (lang) {
	case SHUNT_LANG_PYTHON:
		return &python;
	case SHUNT_LANG_PERL:
		return &perl;
	case SHUNT_LANG_RUBY:
		return &ruby;
	case SHUNT_LANG_NODE:
		return &node;
	case SHUNT_LANG_PHP:
		return &php;
	case SHUNT_LANG_AWK:
		return &awk;
	case SHUNT_LANG_SHELL:
		return &shell;
	default:
		return NULL;
	}
}

static bool in_list(const char *s, size_t n, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return true;
	return false;
}

/* The code an interpreter reads on stdin: the last here-document or
 * here-string, or the file redirected in (a script, read like one). */
static bool stdin_code(const struct shunt_simple *c, struct shunt_code *out)
{
	for (size_t k = c->nredirs; k-- > 0;) {
		const struct shunt_redir *r = &c->redirs[k];
		if (r->fd > 0)
			continue;
		if (r->kind == SHUNT_REDIR_HEREDOC && r->body && r->body->text) {
			out->text = r->body->text;
			out->len = r->body->len;
			return true;
		}
		if (r->kind == SHUNT_REDIR_HERESTR && r->target) {
			out->text = r->target;
			out->len = strlen(r->target);
			return true;
		}
		if (r->kind == SHUNT_REDIR_IN && r->target && *r->target) {
			out->path = r->target;
			return true;
		}
	}
	return false;
}

bool shunt_script_find(const struct shunt_simple *c, struct shunt_code *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->argv || c->argc == 0)
		return false;
	enum shunt_lang lang = shunt_script_lang(c->prog);
	const struct optspec *sp = spec_for(lang);
	if (!sp)
		return false;
	out->lang = lang;
	bool awk_prog = lang == SHUNT_LANG_AWK, from_stdin = false;
	size_t k = 1;
	while (k < c->argc) {
		const char *a = c->argv[k];
		if (eq(a, "--")) {
			k++;
			break;
		}
		if (eq(a, "-")) {
			from_stdin = true;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			const char *v = strchr(a, '=');
			size_t n = v ? (size_t)(v - a - 2) : strlen(a + 2);
			bool code = in_list(a + 2, n, sp->lcode), arg = in_list(a + 2, n, sp->larg);
			const char *val = v				     ? v + 1
					  : (code || arg) && k + 1 < c->argc ? c->argv[k + 1]
									     : NULL;
			if (code) {
				if (!val)
					return false;
				out->text = val;
				out->len = strlen(val);
				return true;
			}
			if (lang == SHUNT_LANG_AWK && n == 4 && memcmp(a + 2, "file", 4) == 0 &&
			    val) {
				out->path = val;
				return true;
			}
			k += (arg && !v) ? 2 : 1;
			continue;
		}
		if (a[0] != '-' && !(a[0] == '+' && lang == SHUNT_LANG_SHELL)) {
			break;
		}
		bool next_taken = false;
		for (size_t j = 1; a[j]; j++) {
			char o = a[j];
			const char *rest = a + j + 1;
			const char *val = *rest ? rest : k + 1 < c->argc ? c->argv[k + 1] : NULL;
			if (strchr(sp->code, o)) {
				if (lang == SHUNT_LANG_SHELL)
					return false; /* sh -c: the lexer unwraps it */
				if (!val)
					return false;
				out->text = val;
				out->len = strlen(val);
				return true;
			}
			if (strchr(sp->module, o))
				return false;
			if (strchr(sp->file, o)) {
				if (!val)
					return false;
				out->path = val;
				return true;
			}
			if (strchr(sp->arg, o)) {
				next_taken = !*rest;
				break;
			}
			if (strchr(sp->rest, o))
				break;
		}
		k += next_taken ? 2 : 1;
	}
	if (!from_stdin && k < c->argc) {
		if (awk_prog) {
			out->text = c->argv[k];
			out->len = strlen(out->text);
		} else {
			out->path = c->argv[k];
		}
		return true;
	}
	if (awk_prog)
		return false;
	return stdin_code(c, out);
}

int shunt_script_read(const char *path, const char *cwd, const char *home, size_t max,
		      struct shunt_arena *a, const char **text, size_t *len, bool *more)
{
	*text = NULL;
	*len = 0;
	*more = false;
	const char *base = NULL, *rel = path;
	if (path[0] == '~' && path[1] == '/' && home)
		base = home, rel = path + 2;
	else if (path[0] != '/' && cwd)
		base = cwd;
	char *full = (char *)path;
	if (base) {
		size_t bl = strlen(base), rl = strlen(rel);
		full = shunt_arena_alloc(a, bl + rl + 2);
		if (!full)
			return -ENOMEM;
		memcpy(full, base, bl);
		full[bl] = '/';
		memcpy(full + bl + 1, rel, rl + 1);
	}
	int fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	char *buf = shunt_arena_alloc(a, want + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	*more = (size_t)st.st_size > max;
out:
	close(fd);
	return rc;
}

/* Calls that run their string argument through a shell. */
static const char *const spawn_calls[] = {
    "system(",	     "popen(",	    "exec(",	  "execSync(",	      "spawnSync(", "execFileSync(",
    "check_output(", "check_call(", "getoutput(", "getstatusoutput(", "run(",	    "call(",
    "Popen(",	     "shell_exec(", "passthru(",  "proc_open(",	      "spawn(",	    NULL};

static bool word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* The string literal starting at text[i] (a quote), unescaped into a.
 * False when it is not closed (nothing later is either: the caller stops,
 * which keeps the scan linear) or a is full. */
static bool take_literal(const char *text, size_t len, size_t i, struct shunt_arena *a,
			 const char **cmd, size_t *cmdlen, size_t *end)
{
	char q = text[i];
	size_t j = i + 1;
	while (j < len && text[j] != q)
		j += text[j] == '\\' && j + 1 < len ? 2 : 1;
	if (j >= len)
		return false;
	char *s = shunt_arena_alloc(a, j - i);
	if (!s)
		return false;
	size_t n = 0;
	for (size_t p = i + 1; p < j; p++) {
		if (text[p] == '\\' && p + 1 < j) {
			char e = text[++p];
			s[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
		} else {
			s[n++] = text[p];
		}
	}
	s[n] = '\0';
	*cmd = s;
	*cmdlen = n;
	*end = j + 1;
	return true;
}

bool shunt_script_next_spawn(enum shunt_lang lang, const char *text, size_t len, size_t *pos,
			     struct shunt_arena *a, const char **cmd, size_t *cmdlen)
{
	bool ticks = lang == SHUNT_LANG_PERL || lang == SHUNT_LANG_RUBY || lang == SHUNT_LANG_PHP;
	for (size_t i = *pos; i < len; i++) {
		char ch = text[i];
		if (ch == '`' && ticks) {
			size_t end;
			if (!take_literal(text, len, i, a, cmd, cmdlen, &end))
				break;
			*pos = end;
			return true;
		}
		if (ch != '(' || i == 0)
			continue;
		/* the call name ends right before '(' */
		size_t s = i;
		while (s > 0 && (word_char(text[s - 1]) || text[s - 1] == '%'))
			s--;
		bool known = false;
		for (size_t k = 0; spawn_calls[k] && !known; k++) {
			size_t n = strlen(spawn_calls[k]) - 1;
			known = i - s == n && memcmp(text + s, spawn_calls[k], n) == 0;
		}
		if (!known)
			continue;
		size_t j = i + 1;
		while (j < len && (text[j] == ' ' || text[j] == '\t'))
			j++;
		if (j < len && (text[j] == '\'' || text[j] == '"' || text[j] == '`')) {
			size_t end;
			if (!take_literal(text, len, j, a, cmd, cmdlen, &end))
				break;
			*pos = end;
			return true;
		}
	}
	*pos = len;
	return false;
}
