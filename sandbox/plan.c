/* Resolving a sandbox plan from the config, the security level and the
 * command line, and printing it for --dry-run and the audit log. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "landlock.h"
#include "netpresets.h"
#include "netrelay.h"
#include "paths.h"
#include "launch.h"
#include "runner.h"
#include "registries.h"
#include "seccomp.h"
#include "toolchain.h"

extern char **environ;

/* Host trees every sandbox sees read-only (when they exist). */
static const char *const system_dirs[] = {"/usr",   "/etc",    "/bin", "/sbin", "/lib", "/lib32",
					  "/lib64", "/libx32", "/opt", "/srv",	"/var"};

/* Credentials hidden from every sandbox, relative to HOME. */
static const char *const home_secrets[] = {".ssh",	     ".gnupg",	   ".aws",
					   ".config/gcloud", ".kube",	   ".docker/config.json",
					   ".netrc",	     ".config/gh", ".git-credentials"};

/* Shell start-up files: never writable, so a sandboxed command cannot
 * plant code that runs later on the host. */
static const char *const home_rcfiles[] = {".bashrc",	    ".profile",	 ".zshrc",
					   ".bash_profile", ".zprofile", ".bash_logout"};

static const char *const cache_dirs[] = {".npm", ".cache/pip",	".cargo/registry",  "go/pkg/mod",
					 ".gem", ".cache/yarn", ".local/share/pnpm"};

static int oom(struct shunt_error **err)
{
	return shunt_error_set(err, ENOMEM, "out of memory");
}

static int usage(struct shunt_error **err, const char *fmt, const char *arg)
{
	shunt_error_set(err, EINVAL, fmt, arg);
	if (err && *err)
		(*err)->exitcode = 2;
	return -1;
}

static int add_mount(struct shunt_plan *p, enum shunt_mount_kind kind, const char *host,
		     const char *guest, bool ro, bool cache)
{
	struct shunt_mount *m = realloc(p->mounts, (p->nmounts + 1) * sizeof(*m));
	if (!m)
		return -1;
	p->mounts = m;
	m = &p->mounts[p->nmounts];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->read_only = ro;
	m->cache = cache;
	m->guest = strdup(guest);
	m->host = host ? strdup(host) : NULL;
	if (!m->guest || (host && !m->host)) {
		free(m->guest);
		free(m->host);
		return -1;
	}
	p->nmounts++;
	return 0;
}

static char *join(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", strcmp(a, "/") == 0 ? "" : a, b) < 0)
		return NULL;
	return s;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Hides path when it exists: a directory under an empty tmpfs, anything
 * else under an empty read-only file. Symlinks are resolved so the mount
 * covers what the link points at. */
static int add_hide(struct shunt_plan *p, const char *path)
{
	struct stat st;
	char real[PATH_MAX];
	if (stat(path, &st) < 0 || !realpath(path, real))
		return 0;
	for (size_t i = 0; i < p->nmounts; i++)
		if (p->mounts[i].kind != SHUNT_MOUNT_BIND && strcmp(p->mounts[i].guest, real) == 0)
			return 0;
	if (S_ISDIR(st.st_mode))
		return add_mount(p, SHUNT_MOUNT_TMPFS, NULL, real, true, false);
	return add_mount(p, SHUNT_MOUNT_HIDE, NULL, real, true, false);
}

/* Re-binds an existing path read-only over whatever was mounted before;
 * needed only when the innermost mount holding it is writable. */
static int add_ro_rebind(struct shunt_plan *p, const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return 0;
	bool writable = false;
	size_t best = 0;
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct shunt_mount *m = &p->mounts[i];
		size_t n = strlen(m->guest);
		if (m->kind == SHUNT_MOUNT_BIND && under(real, m->guest) && n >= best) {
			best = n;
			writable = !m->read_only || m->overlay;
		}
	}
	if (!writable)
		return 0;
	return add_mount(p, SHUNT_MOUNT_BIND, real, real, true, false);
}

static int env_push(struct shunt_plan *p, size_t *n, const char *kv)
{
	char **v = realloc(p->env, (*n + 2) * sizeof(*v));
	if (!v)
		return -1;
	p->env = v;
	/* a later NAME=... replaces an earlier one */
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(v[i], kv, klen) == 0 && v[i][klen] == '=') {
			char *d = strdup(kv);
			if (!d)
				return -1;
			free(v[i]);
			v[i] = d;
			return 0;
		}
	}
	if (!(v[*n] = strdup(kv)))
		return -1;
	v[++*n] = NULL;
	return 0;
}

static bool env_wanted(const char *kv, const struct shunt_config *cfg,
		       const struct shunt_plan_opts *o)
{
	size_t klen = strcspn(kv, "=");
	char name[256];
	if (klen == 0 || klen >= sizeof(name) || kv[klen] != '=')
		return false;
	memcpy(name, kv, klen);
	name[klen] = '\0';
	if (strcmp(name, "TERM") == 0 || strcmp(name, "HOME") == 0 || strcmp(name, "PATH") == 0)
		return true;
	if (shunt_toolchain_env_wanted(name))
		return true;
	for (size_t i = 0; i < cfg->sandbox.env_whitelist.n; i++)
		if (fnmatch(cfg->sandbox.env_whitelist.v[i], name, 0) == 0)
			return true;
	for (size_t i = 0; i < o->env_names.n; i++)
		if (strcmp(o->env_names.v[i], name) == 0)
			return true;
	return false;
}

/* Whether loopback must go through the proxy: the allowlist names the
 * host's loopback (a local registry), or the command names a loopback
 * URL (a server on the host, since none runs in a fresh sandbox yet); the
 * proxy then lets it through or refuses it at once, where a direct
 * connect would meet the sandbox's own empty loopback and be retried. */
static bool loopback_via_proxy(const struct shunt_plan *p)
{
	static const char *const loop[] = {"127.", "localhost", "[::1]", "::1"};
	for (size_t i = 0; i < p->allow_hosts.n; i++)
		for (size_t j = 0; j < sizeof(loop) / sizeof(loop[0]); j++)
			if (strncasecmp(p->allow_hosts.v[i], loop[j], strlen(loop[j])) == 0)
				return true;
	for (char **a = p->argv; a && *a; a++)
		for (const char *u = strstr(*a, "://"); u; u = strstr(u + 3, "://"))
			for (size_t j = 0; j < sizeof(loop) / sizeof(loop[0]); j++)
				if (strncasecmp(u + 3, loop[j], strlen(loop[j])) == 0)
					return true;
	return false;
}

static int build_env(struct shunt_plan *p, const struct shunt_config *cfg,
		     const struct shunt_plan_opts *o, const char *home)
{
	size_t n = 0;
	if (!(p->env = calloc(1, sizeof(char *))))
		return -1;
	/* the command's environment as given (shuntd: its client's), else ours */
	for (char *const *e = o->env ? o->env : environ; e && *e; e++)
		if (env_wanted(*e, cfg, o) && env_push(p, &n, *e) < 0)
			return -1;
	/* --env NAME=VALUE sets a value outright */
	for (size_t i = 0; i < o->env_names.n; i++)
		if (strchr(o->env_names.v[i], '=') && env_push(p, &n, o->env_names.v[i]) < 0)
			return -1;
	bool have_path = false, have_home = false;
	for (size_t i = 0; i < n; i++) {
		have_path |= strncmp(p->env[i], "PATH=", 5) == 0;
		have_home |= strncmp(p->env[i], "HOME=", 5) == 0;
	}
	char kv[PATH_MAX + 64];
	if (!have_path &&
	    env_push(p, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") <
		0)
		return -1;
	if (!have_home && home) {
		snprintf(kv, sizeof(kv), "HOME=%s", home);
		if (env_push(p, &n, kv) < 0)
			return -1;
	}
	snprintf(kv, sizeof(kv), "SHUNT_SANDBOX=%s", shunt_runtime_name(p->runtime));
	if (env_push(p, &n, kv) < 0)
		return -1;
	/* allowlist: ordinary tools reach the relay to the filtering proxy */
	if (p->network == SHUNT_NET_RESTRICTED) {
		static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
						   "http_proxy", "https_proxy", "all_proxy"};
		for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			snprintf(kv, sizeof(kv), "%s=http://127.0.0.1:%d", vars[i],
				 SHUNT_NETRELAY_PORT);
			if (env_push(p, &n, kv) < 0)
				return -1;
		}
		/* the sandbox's own loopback is reached directly, unless the
		 * allowlist names the host's (a local registry): then through
		 * the proxy, which alone can reach it */
		const char *direct = loopback_via_proxy(p) ? "" : "localhost,127.0.0.1,::1";
		snprintf(kv, sizeof(kv), "NO_PROXY=%s", direct);
		if (env_push(p, &n, kv) < 0)
			return -1;
		snprintf(kv, sizeof(kv), "no_proxy=%s", direct);
		if (env_push(p, &n, kv) < 0)
			return -1;
	}
	snprintf(kv, sizeof(kv), "SHUNT_PROFILE=%s", shunt_profile_name(p->profile));
	return env_push(p, &n, kv);
}

static void make_run_id(char id[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		/* not a secret: uniqueness is all that matters */
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(rand() ^ getpid() ^ i);
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(id, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

/* An allowlist entry; "@npm" and the other presets expand to their hosts
 * (an unknown preset stays as written: it matches nothing). */
static int push_allow_host(struct shunt_plan *p, const char *h)
{
	const char *const *preset = h[0] == '@' ? shunt_netpresets_get(h) : NULL;
	if (!preset)
		return shunt_strv_push(&p->allow_hosts, h);
	for (; *preset; preset++)
		if (shunt_strv_push(&p->allow_hosts, *preset) < 0)
			return -1;
	return 0;
}

/* An install's own registries (the decision's ecosystems): on the
 * allowlist unless the network is full anyway or none on purpose. */
static int add_registries(struct shunt_plan *p, const struct shunt_plan_opts *o, const char *home)
{
	if (!o->ecosystems || p->network != SHUNT_NET_RESTRICTED)
		return 0;
	return shunt_registries_hosts(o->ecosystems, o->env ? o->env : environ, home, p->cwd,
				      p->workspace, &p->allow_hosts, &p->notes);
}

static int resolve_network(struct shunt_plan *p, const struct shunt_config *cfg,
			   const struct shunt_plan_opts *o, const char *home)
{
	bool explicit_mode = true;
	if (o->network >= 0)
		p->network = (enum shunt_netmode)o->network;
	else if (p->profile == SHUNT_PROFILE_READ_ONLY)
		p->network = SHUNT_NET_NONE;
	else if (cfg->sandbox.network_mode_set)
		p->network = cfg->sandbox.network_mode;
	else {
		p->network = shunt_level_limits(cfg->security_level).network;
		explicit_mode = false;
	}
	for (size_t i = 0; i < cfg->sandbox.allow_hosts.n; i++)
		if (push_allow_host(p, cfg->sandbox.allow_hosts.v[i]) < 0)
			return -1;
	for (size_t i = 0; i < o->allow_hosts.n; i++)
		if (push_allow_host(p, o->allow_hosts.v[i]) < 0)
			return -1;
	if (add_registries(p, o, home) < 0)
		return -1;
	if (o->ecosystems && p->network == SHUNT_NET_NONE &&
	    shunt_strv_push(&p->notes, "network: none (sandbox.network_mode or the security "
				       "level): the install cannot reach its registry") < 0)
		return -1;
	/* The level's "restricted" default with nothing on the allowlist
	 * allows no host at all, which is exactly "none"; only a real
	 * allowlist needs the filtering proxy (and fails closed without). */
	if (p->network == SHUNT_NET_RESTRICTED && !explicit_mode && p->allow_hosts.n == 0) {
		p->network = SHUNT_NET_NONE;
		if (shunt_strv_push(&p->notes,
				    "network: none (restricted with an empty allowlist)") < 0)
			return -1;
	}
	return 0;
}

static int add_binds(struct shunt_plan *p, const struct shunt_config *cfg,
		     const struct shunt_plan_opts *o, struct shunt_error **err)
{
	char real[PATH_MAX];
	for (size_t i = 0; i < cfg->sandbox.nbind_mounts; i++) {
		const struct shunt_bind *b = &cfg->sandbox.bind_mounts[i];
		if (!realpath(b->host_path, real))
			return usage(err, "bind mount %s: no such path", b->host_path);
		if (add_mount(p, SHUNT_MOUNT_BIND, real,
			      b->container_path && *b->container_path ? b->container_path : real,
			      b->read_only || p->profile == SHUNT_PROFILE_READ_ONLY, false) < 0)
			return oom(err);
	}
	for (size_t i = 0; i < o->binds.n; i++) {
		_cleanup_free_ char *spec = strdup(o->binds.v[i]);
		if (!spec)
			return oom(err);
		char *guest = strchr(spec, ':');
		bool ro = false;
		if (guest) {
			*guest++ = '\0';
			char *flag = strchr(guest, ':');
			if (flag) {
				*flag++ = '\0';
				if (strcmp(flag, "ro") != 0 && strcmp(flag, "rw") != 0)
					return usage(
					    err, "--bind %s: the flag after GUEST must be ro or rw",
					    o->binds.v[i]);
				ro = strcmp(flag, "ro") == 0;
			}
		}
		if (!*spec || !realpath(spec, real))
			return usage(err, "--bind %s: host path does not exist", o->binds.v[i]);
		if (!guest || !*guest)
			guest = real;
		if (guest[0] != '/')
			return usage(err, "--bind %s: the guest path must be absolute",
				     o->binds.v[i]);
		if (add_mount(p, SHUNT_MOUNT_BIND, real, guest,
			      ro || p->profile == SHUNT_PROFILE_READ_ONLY, false) < 0)
			return oom(err);
	}
	return 0;
}

/* A host tree the sandbox sees: read-only, or with a throwaway root a
 * copy-on-write overlay whose writes never reach the host. */
static int add_system(struct shunt_plan *p, const char *path)
{
	if (add_mount(p, SHUNT_MOUNT_BIND, path, path, !p->root_overlay, false) < 0)
		return -1;
	p->mounts[p->nmounts - 1].overlay = p->root_overlay;
	return 0;
}

/* A package cache: once, however many lists name it (the built-in list
 * and the config's default cache_dirs overlap). */
static int add_cache(struct shunt_plan *p, const char *dir)
{
	for (size_t i = 0; i < p->nmounts; i++)
		if (p->mounts[i].cache && strcmp(p->mounts[i].guest, dir) == 0)
			return 0;
	return add_mount(p, SHUNT_MOUNT_BIND, dir, dir, false, true);
}

/* Whether a read-only bind of path would show nothing new: a bind of the
 * same host tree at the same place, or the workspace, already holds it. */
static bool visible(const struct shunt_plan *p, const char *host, const char *guest)
{
	if (p->workspace && under(guest, p->workspace))
		return true;
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct shunt_mount *m = &p->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND && strcmp(m->host, m->guest) == 0 &&
		    under(guest, m->guest) && strcmp(host, guest) == 0)
			return true;
	}
	return false;
}

/* The toolchains the command resolves to and the local paths it names,
 * read-only (toolchain.h), before the workspace and the caches so that a
 * named parent of those never hides them. */
static int add_toolchains(struct shunt_plan *p, const struct shunt_plan_opts *o, const char *home)
{
	struct shunt_strv hosts = {0}, guests = {0};
	int rc = shunt_toolchain_paths(p->argv, o->env ? o->env : environ, home, p->cwd,
				       p->workspace, &hosts, &guests, &p->notes);
	for (size_t i = 0; rc == 0 && i < hosts.n; i++)
		if (!visible(p, hosts.v[i], guests.v[i]))
			rc = add_mount(p, SHUNT_MOUNT_BIND, hosts.v[i], guests.v[i], true, false);
	shunt_strv_free(&hosts);
	shunt_strv_free(&guests);
	return rc;
}

/* A toolchain or named path (mounts[first..end)) that lies in a hidden
 * path, or holds one and is seen elsewhere (a link in /tmp to ~/.ssh or
 * to ~/.config), would show it past the hiding: dropped, with a note. */
static int drop_hidden_binds(struct shunt_plan *p, size_t first, size_t end)
{
	for (size_t i = first; i < end && i < p->nmounts;) {
		struct shunt_mount *m = &p->mounts[i];
		bool moved = strcmp(m->host, m->guest) != 0, drop = false;
		for (size_t j = 0; j < p->nmounts && !drop; j++)
			if (p->mounts[j].kind != SHUNT_MOUNT_BIND)
				drop = under(m->host, p->mounts[j].guest) ||
				       (moved && under(p->mounts[j].guest, m->host));
		if (!drop) {
			i++;
			continue;
		}
		char note[PATH_MAX + 64];
		snprintf(note, sizeof(note), "not shown in the sandbox: %s (hidden)", m->guest);
		if (shunt_strv_push(&p->notes, note) < 0)
			return -1;
		free(m->host);
		free(m->guest);
		memmove(m, m + 1, (p->nmounts - i - 1) * sizeof(*m));
		p->nmounts--;
		end--;
	}
	return 0;
}

static int add_standard_mounts(struct shunt_plan *p, const struct shunt_config *cfg,
			       const struct shunt_plan_opts *o, const char *home, size_t tc[2])
{
	struct stat st;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		const char *d = system_dirs[i];
		char real[PATH_MAX];
		/* /bin -> usr/bin style links are recreated by the runner */
		if (lstat(d, &st) < 0 || !S_ISDIR(st.st_mode) || !realpath(d, real))
			continue;
		if (add_system(p, real) < 0)
			return -1;
	}
	if (stat("/home", &st) == 0 && S_ISDIR(st.st_mode) && add_system(p, "/home") < 0)
		return -1;
	/* HOME again unless the /home bind already shows it the same way */
	if (home && strcmp(home, "/") != 0 && stat(home, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (p->root_overlay || !under(home, "/home")) && add_system(p, home) < 0)
		return -1;
	tc[0] = p->nmounts;
	if (add_toolchains(p, o, home) < 0)
		return -1;
	tc[1] = p->nmounts;
	if (add_mount(p, SHUNT_MOUNT_BIND, p->workspace, p->workspace, !p->workspace_rw, false) < 0)
		return -1;
	/* READ_ONLY writes nothing anywhere on the host, caches included. */
	if (cfg->sandbox.enable_cache && p->profile != SHUNT_PROFILE_READ_ONLY && home) {
		for (size_t i = 0; i < sizeof(cache_dirs) / sizeof(cache_dirs[0]); i++) {
			const char *rel = cache_dirs[i];
			_cleanup_free_ char *c = join(home, rel);
			if (!c || add_cache(p, c) < 0)
				return -1;
		}
		for (size_t i = 0; i < cfg->sandbox.cache_dirs.n; i++) {
			const char *c = cfg->sandbox.cache_dirs.v[i];
			_cleanup_free_ char *abs = c[0] == '/' ? strdup(c) : join(home, c);
			if (!abs)
				return -1;
			/* only inside HOME may a missing cache be created */
			if (!under(abs, home) && stat(abs, &st) < 0)
				continue;
			if (add_cache(p, abs) < 0)
				return -1;
		}
	}
	return 0;
}

static int add_hidden(struct shunt_plan *p, const struct shunt_config *cfg, const char *home)
{
	if (home) {
		for (size_t i = 0; i < sizeof(home_secrets) / sizeof(home_secrets[0]); i++) {
			_cleanup_free_ char *s = join(home, home_secrets[i]);
			if (!s || add_hide(p, s) < 0)
				return -1;
		}
	}
	static const enum shunt_dir own[] = {SHUNT_DIR_CONFIG, SHUNT_DIR_DATA, SHUNT_DIR_STATE};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		_cleanup_free_ char *d = shunt_paths_dir(own[i]);
		if (d && add_hide(p, d) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->sandbox.hide_paths.n; i++) {
		const char *h = cfg->sandbox.hide_paths.v[i];
		_cleanup_free_ char *s = NULL;
		if (h[0] == '~' && h[1] == '/' && home)
			s = join(home, h + 2);
		else if (h[0] != '/' && home)
			s = join(home, h);
		else
			s = strdup(h);
		if (!s || add_hide(p, s) < 0)
			return -1;
	}
	if (home) {
		for (size_t i = 0; i < sizeof(home_rcfiles) / sizeof(home_rcfiles[0]); i++) {
			_cleanup_free_ char *s = join(home, home_rcfiles[i]);
			if (!s || add_ro_rebind(p, s) < 0)
				return -1;
		}
	}
	static const char *const git_ro[] = {".git/hooks", ".git/config"};
	for (size_t i = 0; i < sizeof(git_ro) / sizeof(git_ro[0]); i++) {
		_cleanup_free_ char *s = join(p->workspace, git_ro[i]);
		if (!s || add_ro_rebind(p, s) < 0)
			return -1;
	}
	return 0;
}

/* The runtime when the caller did not choose one (shunt_launch_choose
 * does): the config's map; the process runner when that one is not built
 * in. */
static enum shunt_runtime resolve_runtime(const struct shunt_config *cfg,
					  const struct shunt_plan_opts *o, enum shunt_profile prof)
{
	if (o->runtime >= 0 && o->runtime != SHUNT_RUNTIME_AUTO)
		return (enum shunt_runtime)o->runtime;
	int rt = shunt_launch_runtime(cfg, prof, -1, -1, false, NULL);
	if (rt < 0 || !shunt_runner_get((enum shunt_runtime)rt))
		rt = SHUNT_RUNTIME_PROCESS;
	return (enum shunt_runtime)rt;
}

struct shunt_plan_opts shunt_plan_opts_none(void)
{
	return (struct shunt_plan_opts){.profile = -1,
					.runtime = -1,
					.network = -1,
					.timeout = -1,
					.mem_bytes = -1,
					.cpus = -1,
					.uid = -1,
					.gid = -1};
}

int shunt_plan_build(struct shunt_plan *plan, const struct shunt_config *cfg,
		     const struct shunt_plan_opts *o, char *const *argv, struct shunt_error **err)
{
	_cleanup_free_ char *home = NULL;
	memset(plan, 0, sizeof(*plan));
	plan->uid = plan->gid = -1;
	if (!argv || !argv[0])
		return usage(err, "%s", "no command given");
	make_run_id(plan->run_id);

	int prof = o->profile >= 0 ? o->profile : SHUNT_PROFILE_WORKSPACE_WRITE;
	if (prof < SHUNT_PROFILE_READ_ONLY || prof > SHUNT_PROFILE_GODMODE)
		return usage(err, "%s", "unknown sandbox profile");
	plan->profile = (enum shunt_profile)prof;
	plan->runtime = resolve_runtime(cfg, o, plan->profile);

	size_t argc = 0;
	while (argv[argc])
		argc++;
	if (!(plan->argv = calloc(argc + 1, sizeof(char *))))
		goto nomem;
	for (size_t i = 0; i < argc; i++)
		if (!(plan->argv[i] = strdup(argv[i])))
			goto nomem;

	char buf[PATH_MAX];
	if (o->workspace) {
		if (!realpath(o->workspace, buf))
			return usage(err, "workspace %s does not exist", o->workspace),
			       shunt_plan_free(plan), -1;
		plan->workspace = strdup(buf);
	}
	if (getcwd(buf, sizeof(buf)))
		plan->cwd = strdup(buf);
	if (!plan->workspace && plan->cwd) {
		_cleanup_free_ char *root = shunt_config_workspace_root(plan->cwd);
		if (root && realpath(root, buf))
			plan->workspace = strdup(buf);
	}
	if (!plan->workspace) {
		shunt_plan_free(plan);
		return usage(err, "%s", "cannot determine the workspace; pass --workspace DIR");
	}
	if (strcmp(plan->workspace, "/") == 0) {
		shunt_plan_free(plan);
		return usage(
		    err, "%s",
		    "the workspace would be / (the whole file system); pass --workspace DIR");
	}
	if (!plan->cwd && !(plan->cwd = strdup(plan->workspace)))
		goto nomem;

	plan->workspace_rw = plan->profile >= SHUNT_PROFILE_WORKSPACE_WRITE;
	plan->root_overlay =
	    plan->profile >= SHUNT_PROFILE_SYSTEM_WRITE && plan->runtime == SHUNT_RUNTIME_PROCESS;
	plan->accept_weaker_isolation =
	    o->accept_weaker_isolation || cfg->sandbox.accept_weaker_isolation;
	plan->vm_backend = cfg->sandbox.vm_backend;
	if (o->keep_changes) {
		if (!realpath(o->keep_changes, buf))
			return usage(err, "--keep-changes %s: directory does not exist",
				     o->keep_changes),
			       shunt_plan_free(plan), -1;
		if (!(plan->keep_changes = strdup(buf)))
			goto nomem;
	}

	struct shunt_level_limits lim = shunt_level_limits(cfg->security_level);
	plan->timeout = o->timeout >= 0 ? (unsigned)o->timeout : cfg->sandbox.timeout;
	plan->mem_bytes = o->mem_bytes >= 0 ? (unsigned long long)o->mem_bytes : lim.mem_bytes;
	plan->cpus = o->cpus >= 0 ? o->cpus : lim.cpus;
	plan->pids = o->pids ? o->pids : lim.pids;
	plan->uid = o->uid;
	plan->gid = o->gid;
	const char *sp = o->seccomp_profile ? o->seccomp_profile : cfg->sandbox.seccomp_profile;
	if (sp && !(plan->seccomp_profile = strdup(sp)))
		goto nomem;
	plan->interactive = isatty(STDIN_FILENO);
	home = shunt_paths_home();
	if (home && realpath(home, buf)) {
		free(home);
		home = strdup(buf);
	}
	if (resolve_network(plan, cfg, o, home) < 0)
		goto nomem;
	size_t tc[2] = {0, 0};
	if (add_standard_mounts(plan, cfg, o, home, tc) < 0)
		goto nomem;
	if (add_binds(plan, cfg, o, err) < 0) {
		shunt_plan_free(plan);
		return -1;
	}
	if (add_hidden(plan, cfg, home) < 0 || drop_hidden_binds(plan, tc[0], tc[1]) < 0 ||
	    build_env(plan, cfg, o, home) < 0)
		goto nomem;
	return 0;
nomem:
	shunt_plan_free(plan);
	return oom(err);
}

static const char *mount_mode(const struct shunt_mount *m)
{
	if (m->kind != SHUNT_MOUNT_BIND)
		return "hide";
	if (m->cache)
		return "cache";
	if (m->overlay)
		return "cow";
	return m->read_only ? "ro" : "rw";
}

static void dump_text(const struct shunt_plan *p, struct shunt_buf *out)
{
	shunt_buf_printf(out, "runner:      %s\n", shunt_runtime_name(p->runtime));
	shunt_buf_printf(out, "profile:     %s\n", shunt_profile_name(p->profile));
	shunt_buf_puts(out, "command:    ");
	for (char **a = p->argv; a && *a; a++)
		shunt_buf_printf(out, " %s", *a);
	shunt_buf_printf(out, "\nworkspace:   %s (%s)\n", p->workspace,
			 p->workspace_rw ? "read-write" : "read-only");
	shunt_buf_printf(out, "cwd:         %s\n", p->cwd);
	if (p->root_overlay)
		shunt_buf_printf(
		    out, "root:        throwaway tmpfs; host trees copy-on-write, changes %s%s\n",
		    p->keep_changes ? "kept in " : "discarded",
		    p->keep_changes ? p->keep_changes : "");
	else
		shunt_buf_puts(out,
			       "root:        fresh tmpfs; host system directories read-only\n");
	shunt_buf_puts(
	    out,
	    "             private /tmp, /dev/shm, /run; minimal /dev; new /proc; /sys read-only\n");
	const char *net = shunt_netmode_name(p->network);
	if (p->network == SHUNT_NET_NONE)
		net = "none (own network namespace, loopback only)";
	else if (p->network == SHUNT_NET_FULL)
		net = "full (host network namespace)";
	else if (p->network == SHUNT_NET_RESTRICTED)
		net = "allowlist (own network namespace; only the host-side filtering proxy)";
	shunt_buf_printf(out, "network:     %s\n", net);
	for (size_t i = 0; i < p->allow_hosts.n; i++)
		shunt_buf_printf(out, "  allow      %s\n", p->allow_hosts.v[i]);
	shunt_buf_printf(out, "limits:      memory %llu MiB, cpus %.2f, pids %u, timeout ",
			 p->mem_bytes >> 20, p->cpus, p->pids);
	if (p->timeout)
		shunt_buf_printf(out, "%u s\n", p->timeout);
	else
		shunt_buf_puts(out, "none\n");
	if (p->uid >= 0 || p->gid >= 0)
		shunt_buf_printf(out, "identity:    uid %ld gid %ld inside\n", p->uid, p->gid);
	if (p->seccomp_profile)
		shunt_buf_printf(out, "seccomp:     %s\n", p->seccomp_profile);
	else
		shunt_buf_printf(out, "seccomp:     built-in %s\n",
				 shunt_seccomp_builtin_name(p->profile));
	int abi = shunt_landlock_abi();
	if (abi > 0)
		shunt_buf_printf(out, "landlock:    ABI %d (mounts below; TCP %s)\n", abi,
				 p->network == SHUNT_NET_NONE && abi >= 4 ? "denied"
									  : "not restricted");
	else
		shunt_buf_puts(out, "landlock:    not available on this kernel (degraded: "
				    "namespaces + seccomp only)\n");
	shunt_buf_puts(out, "mounts:\n");
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct shunt_mount *m = &p->mounts[i];
		if (m->kind != SHUNT_MOUNT_BIND)
			continue;
		if (strcmp(m->host, m->guest) == 0)
			shunt_buf_printf(out, "  %-6s %s\n", mount_mode(m), m->guest);
		else
			shunt_buf_printf(out, "  %-6s %s <- %s\n", mount_mode(m), m->guest,
					 m->host);
	}
	shunt_buf_puts(out, "hidden:\n");
	for (size_t i = 0; i < p->nmounts; i++)
		if (p->mounts[i].kind != SHUNT_MOUNT_BIND)
			shunt_buf_printf(out, "  %s\n", p->mounts[i].guest);
	shunt_buf_puts(out, "environment:");
	for (char **e = p->env; e && *e; e++)
		shunt_buf_printf(out, " %.*s", (int)strcspn(*e, "="), *e);
	shunt_buf_putc(out, '\n');
	for (size_t i = 0; i < p->notes.n; i++)
		shunt_buf_printf(out, "note:        %s\n", p->notes.v[i]);
}

static void json_kv(struct shunt_buf *out, const char *k, const char *v, bool comma)
{
	shunt_buf_json_str(out, k, strlen(k));
	shunt_buf_putc(out, ':');
	if (v)
		shunt_buf_json_str(out, v, strlen(v));
	else
		shunt_buf_puts(out, "null");
	if (comma)
		shunt_buf_putc(out, ',');
}

static void json_strarr(struct shunt_buf *out, char *const *v, size_t n, bool names_only)
{
	shunt_buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			shunt_buf_putc(out, ',');
		shunt_buf_json_str(out, v[i], names_only ? strcspn(v[i], "=") : strlen(v[i]));
	}
	shunt_buf_putc(out, ']');
}

static void dump_json(const struct shunt_plan *p, struct shunt_buf *out)
{
	shunt_buf_putc(out, '{');
	json_kv(out, "run_id", p->run_id, true);
	json_kv(out, "runner", shunt_runtime_name(p->runtime), true);
	json_kv(out, "profile", shunt_profile_name(p->profile), true);
	size_t argc = 0, envc = 0;
	while (p->argv && p->argv[argc])
		argc++;
	while (p->env && p->env[envc])
		envc++;
	shunt_buf_puts(out, "\"argv\":");
	json_strarr(out, p->argv, argc, false);
	shunt_buf_putc(out, ',');
	json_kv(out, "cwd", p->cwd, true);
	json_kv(out, "workspace", p->workspace, true);
	json_kv(out, "workspace_mode", p->workspace_rw ? "rw" : "ro", true);
	json_kv(out, "root", p->root_overlay ? "overlay" : "tmpfs", true);
	json_kv(out, "keep_changes", p->keep_changes, true);
	json_kv(out, "network", shunt_netmode_name(p->network), true);
	shunt_buf_puts(out, "\"allow_hosts\":");
	json_strarr(out, p->allow_hosts.v, p->allow_hosts.n, false);
	shunt_buf_printf(
	    out, ",\"limits\":{\"timeout\":%u,\"mem_bytes\":%llu,\"cpus\":%.2f,\"pids\":%u},",
	    p->timeout, p->mem_bytes, p->cpus, p->pids);
	shunt_buf_printf(out, "\"uid\":%ld,\"gid\":%ld,", p->uid, p->gid);
	json_kv(out, "seccomp_profile",
		p->seccomp_profile ? p->seccomp_profile : shunt_seccomp_builtin_name(p->profile),
		true);
	shunt_buf_printf(out, "\"landlock_abi\":%d,", shunt_landlock_abi());
	shunt_buf_printf(out, "\"accept_weaker_isolation\":%s,",
			 p->accept_weaker_isolation ? "true" : "false");
	shunt_buf_puts(out, "\"mounts\":[");
	bool first = true;
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct shunt_mount *m = &p->mounts[i];
		if (m->kind != SHUNT_MOUNT_BIND)
			continue;
		if (!first)
			shunt_buf_putc(out, ',');
		first = false;
		shunt_buf_putc(out, '{');
		json_kv(out, "host", m->host, true);
		json_kv(out, "guest", m->guest, true);
		shunt_buf_printf(out, "\"read_only\":%s,\"cache\":%s,\"overlay\":%s}",
				 m->read_only ? "true" : "false", m->cache ? "true" : "false",
				 m->overlay ? "true" : "false");
	}
	shunt_buf_puts(out, "],\"hidden\":[");
	first = true;
	for (size_t i = 0; i < p->nmounts; i++) {
		if (p->mounts[i].kind == SHUNT_MOUNT_BIND)
			continue;
		if (!first)
			shunt_buf_putc(out, ',');
		first = false;
		shunt_buf_json_str(out, p->mounts[i].guest, strlen(p->mounts[i].guest));
	}
	/* names only: values may be secrets the user chose to pass */
	shunt_buf_puts(out, "],\"env\":");
	json_strarr(out, p->env, envc, true);
	shunt_buf_puts(out, ",\"notes\":");
	json_strarr(out, p->notes.v, p->notes.n, false);
	shunt_buf_puts(out, "}\n");
}

void shunt_plan_dump(const struct shunt_plan *plan, bool json, struct shunt_buf *out)
{
	if (json)
		dump_json(plan, out);
	else
		dump_text(plan, out);
}

void shunt_plan_free(struct shunt_plan *plan)
{
	if (!plan)
		return;
	for (char **a = plan->argv; a && *a; a++)
		free(*a);
	free(plan->argv);
	for (char **e = plan->env; e && *e; e++)
		free(*e);
	free(plan->env);
	for (size_t i = 0; i < plan->nmounts; i++) {
		free(plan->mounts[i].host);
		free(plan->mounts[i].guest);
	}
	free(plan->mounts);
	free(plan->cwd);
	free(plan->workspace);
	free(plan->keep_changes);
	free(plan->seccomp_profile);
	shunt_strv_free(&plan->allow_hosts);
	shunt_strv_free(&plan->notes);
	memset(plan, 0, sizeof(*plan));
	plan->uid = plan->gid = -1;
}
