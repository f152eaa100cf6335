/* The views of an exec and the one decision over them (see exec_views.h).
 * Runs inside the shim: no malloc beyond the arena, no stdio, no locks. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_views.h"

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

/* dst = a + b when it fits in cap (NUL included) */
static bool join2(char *dst, size_t cap, const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen + blen + 1 > cap)
		return false;
	memmove(dst, a, alen);
	memcpy(dst + alen, b, blen + 1);
	return true;
}

const char *shunt_exec_follow_links(const char *p, char *buf, size_t cap)
{
	char tmp[PATH_MAX], next[PATH_MAX];
	const char *cur = p;
	for (int hops = 0; hops < 40; hops++) {
		struct stat st;
		if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
			return cur;
		ssize_t n = readlink(cur, tmp, sizeof(tmp) - 1);
		if (n <= 0)
			return cur;
		tmp[n] = '\0';
		/* a relative target is relative to the link's directory */
		const char *slash = strrchr(cur, '/');
		size_t dl = tmp[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
		if (!join2(next, sizeof(next), cur, dl, tmp) || strlen(next) + 1 > cap)
			return cur;
		memcpy(buf, next, strlen(next) + 1);
		cur = buf;
	}
	return cur;
}

bool shunt_exec_is_interpreter(const char *prog)
{
	static const char *const exact[] = {"node", "nodejs", "ruby", NULL};
	for (size_t i = 0; exact[i]; i++)
		if (strcmp(prog, exact[i]) == 0)
			return true;
	/* python, python3, python3.12, pypy3 ... (not python3-config) */
	const char *rest = strncmp(prog, "python", 6) == 0 ? prog + 6
			   : strncmp(prog, "pypy", 4) == 0 ? prog + 4
							   : NULL;
	if (!rest)
		return false;
	for (; *rest; rest++)
		if ((*rest < '0' || *rest > '9') && *rest != '.')
			return false;
	return true;
}

/* Interpreter options that take the next word as their value. */
static bool takes_value(const char *o)
{
	static const char *const opts[] = {
	    "-r", "--require", "--import", "--loader", "--experimental-loader",
	    "-W", "-X",	       "-Q",	   NULL};
	for (size_t i = 0; opts[i]; i++)
		if (strcmp(o, opts[i]) == 0)
			return true;
	return false;
}

/* Inline code: nothing is launched by name. */
static bool inline_code(const char *o)
{
	return strcmp(o, "-e") == 0 || strcmp(o, "--eval") == 0 || strcmp(o, "-p") == 0 ||
	       strcmp(o, "--print") == 0 || strcmp(o, "-c") == 0 || strcmp(o, "--check") == 0;
}

/* The tool a launcher script stands for: its name without the script's
 * extension or a "-cli" suffix (npm-cli.js -> npm); a package's
 * __main__.py stands for the package. */
static const char *tool_of_script(const char *path, char *buf, size_t cap)
{
	size_t plen = strlen(path);
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	size_t b = plen;
	while (b > 0 && path[b - 1] != '/')
		b--;
	size_t n = plen - b;
	static const char *const exts[] = {".js", ".cjs", ".mjs", ".py", ".pyc", ".rb", NULL};
	for (size_t i = 0; exts[i]; i++) {
		size_t el = strlen(exts[i]);
		if (n > el && memcmp(path + b + n - el, exts[i], el) == 0) {
			n -= el;
			break;
		}
	}
	if (n == 8 && memcmp(path + b, "__main__", 8) == 0 && b > 1) {
		size_t e = b - 1, s = e;
		while (s > 0 && path[s - 1] != '/')
			s--;
		b = s;
		n = e - s;
	}
	if (n > 4 && memcmp(path + b + n - 4, "-cli", 4) == 0)
		n -= 4;
	if (n == 0 || n + 1 > cap)
		return NULL;
	memcpy(buf, path + b, n);
	buf[n] = '\0';
	return buf;
}

const char *shunt_exec_launcher(const char *const *argv, size_t argc, char *buf, size_t cap,
				size_t *rest)
{
	for (size_t i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			if (i + 1 >= argc || !argv[i + 1])
				return NULL;
			*rest = i + 2;
			return tool_of_script(argv[i + 1], buf, cap);
		}
		if (strncmp(a, "-m", 2) == 0) { /* python -m MODULE */
			const char *m = a[2] ? a + 2 : i + 1 < argc ? argv[i + 1] : NULL;
			if (!m || !*m)
				return NULL;
			size_t n = strcspn(m, ".");
			if (n == 0 || n + 1 > cap)
				return NULL;
			memcpy(buf, m, n);
			buf[n] = '\0';
			*rest = a[2] ? i + 1 : i + 2;
			return buf;
		}
		if (inline_code(a))
			return NULL;
		if (a[0] == '-') {
			if (takes_value(a))
				i++;
			continue;
		}
		*rest = i + 1;
		return tool_of_script(a, buf, cap);
	}
	return NULL;
}

size_t shunt_exec_views(const char *invoked, const char *resolved, const char *const *argv,
			size_t argc, struct shunt_arena *a,
			struct shunt_exec_view v[SHUNT_EXEC_VIEWS])
{
	if (!resolved || !*resolved)
		resolved = invoked && *invoked ? invoked : argc ? argv[0] : "";
	size_t n = 0;
	v[n++] = (struct shunt_exec_view){resolved, argv, argc, "resolved"};
	const char *rb = base_of(resolved), *ib = invoked && *invoked ? base_of(invoked) : rb;
	if (strcmp(ib, rb) != 0)
		v[n++] = (struct shunt_exec_view){invoked, argv, argc, "invoked"};
	/* a launcher script run by its own path: npm-cli.js is npm */
	char name[NAME_MAX + 1];
	const char *sn = tool_of_script(resolved, name, sizeof(name));
	if (sn && strcmp(sn, rb) != 0 && strcmp(sn, ib) != 0) {
		char *t = shunt_arena_strdup(a, sn);
		if (t)
			v[n++] = (struct shunt_exec_view){t, argv, argc, "script"};
	}
	if (argc < 2 || (!shunt_exec_is_interpreter(rb) && !shunt_exec_is_interpreter(ib)))
		return n;
	size_t rest = argc;
	const char *tool = shunt_exec_launcher(argv, argc, name, sizeof(name), &rest);
	if (!tool || rest > argc || strcmp(tool, rb) == 0 || strcmp(tool, ib) == 0)
		return n;
	char *t = shunt_arena_strdup(a, tool);
	const char **av = shunt_arena_alloc(a, (argc - rest + 2) * sizeof(*av));
	if (!t || !av)
		return n;
	size_t k = 0;
	av[k++] = t;
	for (size_t i = rest; i < argc; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	v[n++] = (struct shunt_exec_view){t, av, k, "launcher"};
	return n;
}

static int action_rank(enum shunt_action a)
{
	return a == SHUNT_ACTION_BLOCK ? 3 : a == SHUNT_ACTION_PROMPT ? 2 : (int)a;
}

static bool stricter(const struct shunt_decision *x, const struct shunt_decision *y)
{
	if (action_rank(x->action) != action_rank(y->action))
		return action_rank(x->action) > action_rank(y->action);
	if (x->risk != y->risk)
		return x->risk > y->risk;
	return x->score > y->score;
}

int shunt_decide_exec(const struct shunt_policy *p, const struct shunt_request *req,
		      const char *invoked, struct shunt_arena *a, struct shunt_decision *out,
		      struct shunt_exec_view *which)
{
	struct shunt_exec_view v[SHUNT_EXEC_VIEWS];
	size_t n = shunt_exec_views(invoked, req->exe, req->argv, req->argc, a, v);
	struct shunt_request r = *req;
	bool cwd_dependent = false, denied = false;
	struct shunt_decision d, trusted;
	struct shunt_exec_view trusted_view = v[0];
	bool have_trusted = false;
	for (size_t i = 0; i < n; i++) {
		r.exe = v[i].exe;
		r.argv = v[i].argv;
		r.argc = v[i].argc;
		struct shunt_decision *cur = i == 0 ? out : &d;
		int rc = shunt_decide(p, &r, a, cur);
		if (rc < 0)
			return rc;
		cwd_dependent |= cur->cwd_dependent;
		denied |= cur->denylisted;
		if (cur->trusted && !have_trusted) {
			trusted = *cur;
			trusted_view = v[i];
			have_trusted = true;
		}
		if (i == 0 || stricter(&d, out)) {
			if (i)
				*out = d;
			if (which)
				*which = v[i];
		}
	}
	/* An approval the user gave under one name is for this very file
	 * (trust entries are bound to it): it holds, as it would for a
	 * single name, unless the policy's denylist names the command. */
	if (have_trusted && !denied) {
		*out = trusted;
		if (which)
			*which = trusted_view;
	}
	out->cwd_dependent = cwd_dependent; /* any view that read the cwd */
	return 0;
}
