/* What a sandboxed command resolves to on the host (see toolchain.h). */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "cleanup.h"
#include "lex.h"
#include "toolchain.h"

/* Interpreter hops followed from a program (script -> #! -> ...). */
#define MAX_HOPS 4
/* Entries looked at when checking a named directory for sockets. */
#define WALK_BUDGET 20000

/* Toolchain managers: a PATH entry or interpreter inside one of these
 * needs the whole folder (shims call the manager, which finds versions). */
static const char *const managers[] = {".pyenv",  ".nvm",   ".asdf",  ".rustup", ".volta",
				       ".nodenv", ".rbenv", ".goenv", ".sdkman", ".bun"};
/* Variables that name a manager's folder when it is not under HOME. */
static const char *const manager_vars[] = {"PYENV_ROOT",    "NVM_DIR",	   "ASDF_DIR",
					   "ASDF_DATA_DIR", "RUSTUP_HOME", "VOLTA_HOME",
					   "NODENV_ROOT",   "RBENV_ROOT",  "GOENV_ROOT"};
/* Folders with parts that hold secrets: only these parts are toolchain. */
static const char *const partial[][3] = {{".local", "bin", "lib"}, {".cargo", "bin", NULL}};

/* Variables that locate the toolchains and registries a command uses
 * (the toolchain mounts and the install allowlist follow the same ones);
 * passed in like the whitelist's. No credentials: tokens stay outside. */
static const char *const tool_env[] = {"PYENV_ROOT",
				       "PYENV_VERSION",
				       "NVM_DIR",
				       "NVM_BIN",
				       "ASDF_DIR",
				       "ASDF_DATA_DIR",
				       "RUSTUP_HOME",
				       "RUSTUP_TOOLCHAIN",
				       "CARGO_HOME",
				       "VOLTA_HOME",
				       "VIRTUAL_ENV",
				       "GOPATH",
				       "GOROOT",
				       "GOPROXY",
				       "GOSUMDB",
				       "GONOSUMDB",
				       "GOPRIVATE",
				       "GONOPROXY",
				       "GOFLAGS",
				       "PIP_INDEX_URL",
				       "PIP_EXTRA_INDEX_URL",
				       "PIP_FIND_LINKS",
				       "PIP_CONFIG_FILE",
				       "PIP_NO_INDEX",
				       "UV_INDEX_URL",
				       "UV_EXTRA_INDEX_URL",
				       "UV_DEFAULT_INDEX",
				       "UV_INDEX",
				       "npm_config_registry",
				       "NPM_CONFIG_REGISTRY",
				       "npm_config_userconfig",
				       "NPM_CONFIG_USERCONFIG",
				       "CARGO_REGISTRIES_*_INDEX"};

bool shunt_toolchain_env_wanted(const char *name)
{
	for (size_t i = 0; i < sizeof(tool_env) / sizeof(tool_env[0]); i++)
		if (fnmatch(tool_env[i], name, 0) == 0)
			return true;
	return false;
}

struct tc {
	struct shunt_strv *hosts, *guests, *notes;
	const char *home, *cwd, *workspace, *path;
	bool oom;
};

static bool under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Why p must not be bound, or NULL. */
static const char *refused(const char *p, const char *home)
{
	static const char *const trees[] = {"/proc", "/sys", "/dev"};
	static const char *const exact[] = {"/",	"/tmp",	 "/run", "/var/run",
					    "/var/tmp", "/root", "/home"};
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
		if (under(p, trees[i]))
			return "a kernel file system";
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(p, exact[i]) == 0)
			return "a whole system or home directory";
	if (home && (under(home, p) || (under(p, "/home") && !strchr(p + 6, '/'))))
		return "a home directory";
	return NULL;
}

/* 1 when dir's tree holds a socket (within WALK_BUDGET entries). */
static int has_socket(int dfd, int depth, int *budget)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (--*budget <= 0)
			return 0;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unsigned char t = e->d_type;
		if (t == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			t = S_ISSOCK(st.st_mode) ? DT_SOCK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
		}
		if (t == DT_SOCK)
			return 1;
		if (t == DT_DIR && depth < 16) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0 && has_socket(sub, depth + 1, budget))
				return 1;
		}
	}
	return 0;
}

static void note(struct tc *t, const char *path, const char *why)
{
	char n[PATH_MAX + 128];
	snprintf(n, sizeof(n), "not shown in the sandbox: %s (%s)", path, why);
	if (!shunt_strv_has(t->notes, n) && shunt_strv_push(t->notes, n) < 0)
		t->oom = true;
}

/* Binds guest (an absolute path, a symlink allowed) as what it resolves
 * to. named: a path from the command line (checked for sockets). */
static void add(struct tc *t, const char *guest, bool named)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(guest, real) || stat(real, &st) < 0)
		return;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return note(t, guest, "not a file or directory");
	/* the guest is the named path with its directory resolved, so a
	 * link named in /tmp is seen where it was named */
	char g[PATH_MAX];
	snprintf(g, sizeof(g), "%s", real);
	const char *slash = strrchr(guest, '/');
	char dir[PATH_MAX], rdir[PATH_MAX];
	if (slash && slash != guest && slash[1] && (size_t)(slash - guest) < sizeof(dir)) {
		memcpy(dir, guest, (size_t)(slash - guest));
		dir[slash - guest] = '\0';
		if (realpath(dir, rdir) && strcmp(slash + 1, ".") && strcmp(slash + 1, "..") &&
		    strlen(rdir) + strlen(slash) < sizeof(g))
			strcat(strcpy(g, strcmp(rdir, "/") ? rdir : ""), slash);
	}
	const char *why = refused(real, t->home);
	if (!why)
		why = refused(g, t->home);
	if (why)
		return note(t, guest, why);
	if (named && S_ISDIR(st.st_mode)) {
		int budget = WALK_BUDGET;
		int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && has_socket(fd, 0, &budget))
			return note(t, guest, "a directory holding a socket");
	}
	for (size_t i = 0; i < t->hosts->n; i++)
		if (strcmp(t->hosts->v[i], real) == 0 && strcmp(t->guests->v[i], g) == 0)
			return;
	if (shunt_strv_push(t->hosts, real) < 0 || shunt_strv_push(t->guests, g) < 0)
		t->oom = true;
}

/* A toolchain path: inside a manager's folder, the whole folder (or its
 * toolchain parts); else p itself. */
static void add_tool(struct tc *t, const char *p)
{
	char root[PATH_MAX];
	for (size_t i = 0; i < sizeof(managers) / sizeof(managers[0]); i++) {
		char pat[32];
		snprintf(pat, sizeof(pat), "/%s", managers[i]);
		const char *m = strstr(p, pat);
		if (m && (m[strlen(pat)] == '/' || m[strlen(pat)] == '\0')) {
			snprintf(root, sizeof(root), "%.*s", (int)(m - p + strlen(pat)), p);
			return add(t, root, false);
		}
	}
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		char pat[32];
		snprintf(pat, sizeof(pat), "/%s/", partial[i][0]);
		const char *m = strstr(p, pat);
		if (!m)
			continue;
		for (size_t j = 1; j < 3 && partial[i][j]; j++) {
			snprintf(root, sizeof(root), "%.*s%s", (int)(m - p + strlen(pat)), p,
				 partial[i][j]);
			add(t, root, false);
		}
		return;
	}
	add(t, p, false);
}

/* name looked up in the command's PATH (absolute entries only). */
static bool which(const struct tc *t, const char *name, char *out, size_t cap)
{
	for (const char *p = t->path; p && *p;) {
		size_t n = strcspn(p, ":");
		if (n && p[0] == '/' &&
		    (size_t)snprintf(out, cap, "%.*s/%s", (int)n, p, name) < cap &&
		    access(out, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* A venv's base Python: "home = DIR" in pyvenv.cfg next to venv/bin. */
static void add_venv(struct tc *t, const char *bindir)
{
	char cfg[PATH_MAX];
	if ((size_t)snprintf(cfg, sizeof(cfg), "%s/../pyvenv.cfg", bindir) >= sizeof(cfg))
		return;
	_cleanup_fclose_ FILE *f = fopen(cfg, "re");
	char line[PATH_MAX + 32];
	while (f && fgets(line, sizeof(line), f)) {
		char *v = line + strspn(line, " \t");
		if (strncmp(v, "home", 4) != 0)
			continue;
		v += 4 + strspn(v + 4, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		if (v[0] == '/')
			add_tool(t, v);
		return;
	}
}

/* The install prefix of an executable (DIR for DIR/bin/x). */
static void add_prefix(struct tc *t, const char *real)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", real);
	char *s = strrchr(d, '/');
	if (!s || s == d)
		return;
	*s = '\0';
	add_venv(t, d);
	s = strrchr(d, '/');
	if (s && strcmp(s, "/bin") == 0 && s != d) {
		*s = '\0';
		if (!refused(d, t->home)) {
			add_tool(t, d);
			return;
		}
		*s = '/';
	}
	add_tool(t, real);
}

/* A program and what it runs through: its real file's install prefix,
 * its venv's base Python, its #! interpreter (through env), in turn. */
static void add_program(struct tc *t, const char *prog)
{
	char cur[PATH_MAX], real[PATH_MAX];
	if (strchr(prog, '/')) {
		if ((size_t)snprintf(cur, sizeof(cur), "%s%s%s", prog[0] == '/' ? "" : t->cwd,
				     prog[0] == '/' ? "" : "/", prog) >= sizeof(cur))
			return;
	} else if (!which(t, prog, cur, sizeof(cur))) {
		return;
	}
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		/* a venv's bin/python is a link out of the venv */
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s", cur);
		char *s = strrchr(d, '/');
		if (s && s != d) {
			*s = '\0';
			add_venv(t, d);
		}
		if (!realpath(cur, real))
			return;
		add_prefix(t, real);
		_cleanup_fclose_ FILE *f = fopen(real, "re");
		char line[PATH_MAX];
		if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "#!", 2) != 0)
			return;
		char *w = line + 2 + strspn(line + 2, " \t");
		size_t n = strcspn(w, " \t\r\n");
		char *arg = w[n] ? w + n + 1 + strspn(w + n + 1, " \t") : w + n;
		w[n] = '\0';
		const char *base = strrchr(w, '/') ? strrchr(w, '/') + 1 : w;
		if (strcmp(base, "env") == 0) {
			while (*arg == '-') /* env -S, -i ... */
				arg += strcspn(arg, " \t\r\n"), arg += strspn(arg, " \t");
			arg[strcspn(arg, " \t\r\n")] = '\0';
			if (!*arg || !which(t, arg, cur, sizeof(cur)))
				return;
		} else {
			snprintf(cur, sizeof(cur), "%s", w);
		}
	}
}

/* A word of the command line that names an existing local path. */
static void add_word(struct tc *t, const char *w)
{
	if (w[0] == '-') {
		const char *eq = strchr(w, '=');
		if (!eq)
			return;
		w = eq + 1;
	}
	if (strncmp(w, "file:", 5) == 0)
		w += 5;
	if (!strchr(w, '/') || strstr(w, "://") || w[0] == '$' || w[0] == '~')
		return;
	char abs[PATH_MAX];
	if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", w[0] == '/' ? "" : t->cwd,
			     w[0] == '/' ? "" : "/", w) >= sizeof(abs))
		return;
	size_t n = strlen(abs);
	while (n > 1 && abs[n - 1] == '/')
		abs[--n] = '\0';
	struct stat st;
	/* the workspace is mounted anyway: no socket walk for its paths */
	if (t->workspace && under(abs, t->workspace) && !strstr(abs, "/../"))
		return;
	if (lstat(abs, &st) == 0)
		add(t, abs, true);
}

static void add_words(struct tc *t, char *const *argv)
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_cmdline cl = {0};
	struct shunt_lex_ctx ctx = {.home = t->home, .cwd = t->cwd};
	shunt_lex_argv(NULL, (const char *const *)argv, argc, &ctx, &a, &cl);
	for (size_t i = 0; i < cl.n; i++) {
		const struct shunt_simple *c = &cl.cmds[i];
		if (c->argc == 0 || (c->flags & SHUNT_CMD_DYNAMIC_NAME))
			continue;
		add_program(t, c->argv[0]);
		for (size_t j = 1; j < c->argc; j++)
			add_word(t, c->argv[j]);
		for (size_t j = 0; j < c->nredirs; j++)
			if (c->redirs[j].kind == SHUNT_REDIR_IN ||
			    c->redirs[j].kind == SHUNT_REDIR_RW)
				add_word(t, c->redirs[j].target);
	}
	shunt_arena_release(&a);
}

int shunt_toolchain_paths(char *const *argv, char *const *env, const char *home, const char *cwd,
			  const char *workspace, struct shunt_strv *hosts,
			  struct shunt_strv *guests, struct shunt_strv *notes)
{
	struct tc t = {.hosts = hosts,
		       .guests = guests,
		       .notes = notes,
		       .home = home,
		       .cwd = cwd ? cwd : "/",
		       .workspace = workspace,
		       .path = shunt_strv_env_get(env, "PATH")};
	/* the managers' folders, wherever HOME is */
	char p[PATH_MAX];
	for (size_t i = 0; home && i < sizeof(managers) / sizeof(managers[0]); i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", home, managers[i]) < sizeof(p) &&
		    access(p, F_OK) == 0)
			add(&t, p, false);
	for (size_t i = 0; home && i < sizeof(partial) / sizeof(partial[0]); i++)
		for (size_t j = 1; j < 3 && partial[i][j]; j++)
			if ((size_t)snprintf(p, sizeof(p), "%s/%s/%s", home, partial[i][0],
					     partial[i][j]) < sizeof(p) &&
			    access(p, F_OK) == 0)
				add(&t, p, false);
	for (size_t i = 0; i < sizeof(manager_vars) / sizeof(manager_vars[0]); i++) {
		const char *v = shunt_strv_env_get(env, manager_vars[i]);
		if (v && v[0] == '/')
			add(&t, v, false);
	}
	const char *venv = shunt_strv_env_get(env, "VIRTUAL_ENV");
	if (venv && venv[0] == '/' && (size_t)snprintf(p, sizeof(p), "%s/bin", venv) < sizeof(p))
		add_venv(&t, p);
	/* PATH entries */
	for (const char *s = t.path; s && *s;) {
		size_t n = strcspn(s, ":");
		if (n && s[0] == '/' && n < sizeof(p)) {
			memcpy(p, s, n);
			p[n] = '\0';
			if (access(p, F_OK) == 0)
				add_tool(&t, p);
		}
		s += n + (s[n] == ':');
	}
	if (argv && argv[0])
		add_words(&t, argv);
	return t.oom ? -1 : 0;
}
