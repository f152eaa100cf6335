/* Layered YAML configuration (libyaml document API). Each layer is parsed
 * into a yaml_document_t and walked against a fixed schema; anything the
 * schema does not know is an error naming file:line:col. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "paths.h"
#include "policysrc.h"

#define CONFIG_FILE_MAX (1024 * 1024)
/* libyaml shares aliased nodes; capping the node count bounds both the
 * document and any walk over it (billion laughs). */
#define CONFIG_MAX_NODES 10000

/* Presets, mirroring the shipped presets/<name>.yaml (a unit test checks they agree). */
static const char preset_developer[] = "mode: auto\n"
				       "security_level: permissive\n"
				       "sandbox:\n"
				       "  network_mode: full\n"
				       "  enable_cache: true\n";
static const char preset_cicd[] = "mode: risky\n"
				  "security_level: balanced\n"
				  "non_interactive: sandbox\n"
				  "sandbox:\n"
				  "  network_mode: restricted\n"
				  "  enable_cache: true\n";
static const char preset_production[] = "mode: always\n"
					"security_level: paranoid\n"
					"non_interactive: block\n"
					"sandbox:\n"
					"  network_mode: none\n"
					"  enable_cache: false\n";

static const char *const default_cache_dirs[] = {
    "~/.npm", "~/.cache/pip",  "~/.cargo/registry",   "~/go/pkg/mod",
    "~/.gem", "~/.cache/yarn", "~/.local/share/pnpm",
};
static const char *const default_env_whitelist[] = {
    "HOME", "USER", "LOGNAME", "PATH", "SHELL", "TERM", "LANG", "LC_ALL", "PWD", "TZ",
};

/* ---- small helpers ---- */

int shunt_strv_push(struct shunt_strv *v, const char *s)
{
	char *d = strdup(s);
	if (!d)
		return -1;
	char **nv = realloc(v->v, (v->n + 2) * sizeof(*nv));
	if (!nv) {
		free(d);
		return -1;
	}
	nv[v->n++] = d;
	nv[v->n] = NULL;
	v->v = nv;
	return 0;
}

void shunt_strv_free(struct shunt_strv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static bool strv_has(const struct shunt_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static bool strv_subset(const struct shunt_strv *sub, const struct shunt_strv *of)
{
	for (size_t i = 0; i < sub->n; i++)
		if (!strv_has(of, sub->v[i]))
			return false;
	return true;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return SIZE_MAX;
	size_t prev[41], cur[41];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;
			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *shunt_config_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t bestd = 4;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		/* A short word is "near" almost anything; demand some overlap. */
		if (d < bestd && d < strlen(candidates[i])) {
			bestd = d;
			best = candidates[i];
		}
	}
	return best;
}

/* "~" and "~/x" become $HOME and $HOME/x; NULL on OOM. */
static char *expand_tilde(const char *s)
{
	if (s[0] != '~' || (s[1] != '\0' && s[1] != '/'))
		return strdup(s);
	_cleanup_free_ char *home = shunt_paths_home();
	if (!home)
		return strdup(s);
	char *out = NULL;
	if (asprintf(&out, "%s%s", home, s + 1) < 0)
		return NULL;
	return out;
}

static int strv_push_path(struct shunt_strv *v, const char *s)
{
	_cleanup_free_ char *p = expand_tilde(s);
	return p ? shunt_strv_push(v, p) : -1;
}

/* ---- defaults / free ---- */

void shunt_config_defaults(struct shunt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SHUNT_MODE_AUTO;
	cfg->security_level = SHUNT_LEVEL_BALANCED;
	cfg->non_interactive = SHUNT_NONINT_SANDBOX;
	cfg->on_error = SHUNT_ONERROR_CLOSED;
	cfg->preset = SHUNT_PRESET_NONE;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	s->runtime = SHUNT_RUNTIME_AUTO;
	s->timeout = 300;
	s->network_mode = shunt_level_limits(cfg->security_level).network;
	s->network_mode_set = false;
	s->enable_cache = true;
	/* OOM here leaves a shorter list: cache and env lists only loosen
	 * sharing when longer, so a short list fails safe. */
	for (size_t i = 0; i < sizeof(default_cache_dirs) / sizeof(*default_cache_dirs); i++)
		(void)strv_push_path(&s->cache_dirs, default_cache_dirs[i]);
	for (size_t i = 0; i < sizeof(default_env_whitelist) / sizeof(*default_env_whitelist); i++)
		(void)shunt_strv_push(&s->env_whitelist, default_env_whitelist[i]);
	s->profile_runtime[SHUNT_PROFILE_READ_ONLY] = SHUNT_RUNTIME_AUTO;
	s->profile_runtime[SHUNT_PROFILE_WORKSPACE_WRITE] = SHUNT_RUNTIME_AUTO;
	s->profile_runtime[SHUNT_PROFILE_SYSTEM_WRITE] = SHUNT_RUNTIME_MICROVM;
	s->profile_runtime[SHUNT_PROFILE_GODMODE] = SHUNT_RUNTIME_MICROVM;
	cfg->audit_max_bytes = 10ULL * 1024 * 1024;
	cfg->prompt_timeout = 60;
	cfg->audit_forward.batch = 100;
	cfg->audit_forward.interval = 60;
	cfg->audit_forward.spool_max = 64ull << 20;
}

static void binds_free(struct shunt_bind *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].host_path);
		free(b[i].container_path);
	}
	free(b);
}

void shunt_config_free(struct shunt_config *cfg)
{
	if (!cfg)
		return;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	free(s->image);
	shunt_strv_free(&s->allow_hosts);
	shunt_strv_free(&s->cache_dirs);
	shunt_strv_free(&s->env_whitelist);
	binds_free(s->bind_mounts, s->nbind_mounts);
	free(s->seccomp_profile);
	shunt_strv_free(&s->hide_paths);
	shunt_strv_free(&cfg->allowlist);
	shunt_strv_free(&cfg->denylist);
	shunt_strv_free(&cfg->rule_files);
	for (size_t i = 0; i < cfg->nrisk_floors; i++)
		free(cfg->risk_floors[i].rule_id);
	free(cfg->risk_floors);
	shunt_strv_free(&cfg->sources);
	shunt_strv_free(&cfg->warnings);
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		free(cfg->policy_sources[i].url);
		free(cfg->policy_sources[i].sha256);
	}
	free(cfg->policy_sources);
	free(cfg->audit_forward.url);
	free(cfg->audit_forward.format);
	free(cfg->audit_forward.token_file);
	free(cfg->remote_url);
	free(cfg->remote_token_file);
	free(cfg->remote_ca_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the layer walker ---- */

struct layer {
	struct shunt_config *cfg;
	const char *name; /* for messages */
	char *dir;	  /* base for relative rule paths */
	bool tighten;	  /* workspace layer */
	int depth;	  /* preset nesting */
	yaml_document_t doc;
	struct shunt_error **err;
};

static int oom(struct layer *L)
{
	shunt_error_set(L->err, ENOMEM, "%s: out of memory", L->name);
	if (L->err && *L->err)
		(*L->err)->exitcode = 2;
	return -1;
}

/* Config-class error (exit 2) positioned at node n. */
static int __attribute__((format(printf, 3, 4)))
lerr(struct layer *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		shunt_error_set(L->err, EINVAL, "%s:%zu:%zu: %s", L->name, n->start_mark.line + 1,
				n->start_mark.column + 1, msg);
	else
		shunt_error_set(L->err, EINVAL, "%s: %s", L->name, msg);
	if (L->err && *L->err)
		(*L->err)->exitcode = 2;
	return -1;
}

/* Records that a workspace file tried to loosen `what`; returns 0 or -1 (OOM). */
static int loosen(struct layer *L, const yaml_node_t *n, const char *what)
{
	char *w = NULL;
	if (asprintf(&w, "%s:%zu:%zu: %s ignored: a workspace file may only tighten policy",
		     L->name, n->start_mark.line + 1, n->start_mark.column + 1, what) < 0)
		return oom(L);
	int rc = shunt_strv_push(&L->cfg->warnings, w);
	free(w);
	return rc < 0 ? oom(L) : 0;
}

static yaml_node_t *node(struct layer *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a string";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = (const char *)n->data.scalar.value;
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* A non-null scalar without embedded NULs. */
static int get_str(struct layer *L, const yaml_node_t *n, const char *key, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return lerr(L, n, "%s: expected a string, got %s", key, kind_name(n));
	if (is_null(n))
		return lerr(L, n, "%s: expected a string, got nothing", key);
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return lerr(L, n, "%s: contains a NUL byte", key);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* One of names[0..count) (first `count` only), or an alias. */
static int get_enum(struct layer *L, const yaml_node_t *n, const char *key,
		    const char *const *names, size_t count, const char *alias, int alias_val,
		    int *out)
{
	const char *s;
	if (get_str(L, n, key, &s) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	if (alias && strcmp(s, alias) == 0) {
		*out = alias_val;
		return 0;
	}
	char list[256] = "";
	for (size_t i = 0; i < count; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s%s", i ? " | " : "", names[i]);
	}
	const char *sug = shunt_config_suggest(s, names, count);
	if (sug)
		return lerr(L, n, "%s: expected one of %s, got '%s' (did you mean '%s'?)", key,
			    list, s, sug);
	return lerr(L, n, "%s: expected one of %s, got '%s'", key, list, s);
}

static int get_bool(struct layer *L, const yaml_node_t *n, const char *key, bool *out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return lerr(L, n, "%s: expected a boolean (true/false/yes/no), got %s", key,
			    is_null(n) ? "nothing" : kind_name(n));
	const char *s = (const char *)n->data.scalar.value;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) {
		*out = false;
		return 0;
	}
	return lerr(L, n, "%s: expected a boolean (true/false/yes/no), got '%s'", key, s);
}

static int get_uint(struct layer *L, const yaml_node_t *n, const char *key, const char *unit,
		    unsigned long long max, unsigned long long *out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return lerr(L, n, "%s: expected an integer (%s), got %s", key, unit,
			    is_null(n) ? "nothing" : kind_name(n));
	const char *s = (const char *)n->data.scalar.value;
	if (*s < '0' || *s > '9')
		return lerr(L, n, "%s: expected an integer (%s), got '%s'", key, unit, s);
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return lerr(L, n, "%s: expected an integer (%s), got '%s'", key, unit, s);
	if (v > max)
		return lerr(L, n, "%s: %s is too large (at most %llu)", key, s, max);
	*out = v;
	return 0;
}

/* "10MB", "512 KiB", "1G" or plain bytes; units are powers of 1024. */
static int get_size(struct layer *L, const yaml_node_t *n, const char *key, unsigned long long *out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return lerr(L, n, "%s: expected a size (bytes, or e.g. \"10MB\"), got %s", key,
			    is_null(n) ? "nothing" : kind_name(n));
	const char *s = (const char *)n->data.scalar.value;
	char *end = NULL;
	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	while (*end == ' ')
		end++;
	static const struct {
		const char *u;
		unsigned shift;
	} units[] = {{"", 0},	 {"B", 0},    {"K", 10}, {"KB", 10}, {"KiB", 10}, {"M", 20},
		     {"MB", 20}, {"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}};
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcasecmp(end, units[i].u) != 0)
			continue;
		if (v > (ULLONG_MAX >> units[i].shift) || (v << units[i].shift) > (1ULL << 40))
			return lerr(L, n, "%s: '%s' is too large (at most 1TiB)", key, s);
		if (v == 0)
			return lerr(L, n, "%s: must be greater than zero", key);
		*out = v << units[i].shift;
		return 0;
	}
bad:
	return lerr(L, n, "%s: expected a size (bytes, or e.g. \"10MB\"), got '%s'", key, s);
}

/* A list of strings into *out (fresh); a plain null is an empty list. */
static int get_strv(struct layer *L, const yaml_node_t *n, const char *key, bool path,
		    struct shunt_strv *out)
{
	memset(out, 0, sizeof(*out));
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(L, n, "%s: expected a list of strings, got %s", key, kind_name(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		const yaml_node_t *item = node(L, *it);
		const char *s;
		if (!item || get_str(L, item, key, &s) < 0)
			goto fail;
		if (path && s[0] == '~' && s[1] != '/' && s[1]) {
			lerr(L, item, "%s: '~user' paths are not supported, use an absolute path",
			     key);
			goto fail;
		}
		if ((path ? strv_push_path(out, s) : shunt_strv_push(out, s)) < 0) {
			oom(L);
			goto fail;
		}
	}
	return 0;
fail:
	shunt_strv_free(out);
	return -1;
}

static void strv_replace(struct shunt_strv *dst, struct shunt_strv *src)
{
	shunt_strv_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* Appends src's entries not already in dst. */
static int strv_accumulate(struct layer *L, struct shunt_strv *dst, const struct shunt_strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (!strv_has(dst, src->v[i]) && shunt_strv_push(dst, src->v[i]) < 0)
			return oom(L);
	return 0;
}

/* Walks a mapping: every key must be a scalar in keys[], no duplicates.
 * Calls fn(L, key_index, key_node, value_node, ctx) per pair. */
typedef int (*pair_fn)(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *val,
		       void *ctx);

static int walk_map(struct layer *L, const yaml_node_t *map, const char *what,
		    const char *const *keys, size_t nkeys, pair_fn fn, void *ctx)
{
	if (map->type != YAML_MAPPING_NODE)
		return lerr(L, map, "%s: expected a mapping, got %s", what, kind_name(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return lerr(L, map, "%s: malformed mapping", what);
		if (k->type != YAML_SCALAR_NODE)
			return lerr(L, k, "%s: keys must be strings, got %s", what, kind_name(k));
		const char *ks = (const char *)k->data.scalar.value;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const yaml_node_t *qk = node(L, q->key);
			if (qk && qk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)qk->data.scalar.value, ks) == 0)
				return lerr(L, k, "duplicate key '%s' in %s (first at line %zu)",
					    ks, what, qk->start_mark.line + 1);
		}
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (strcmp(ks, keys[i]) == 0)
				break;
		if (i == nkeys) {
			const char *sug = shunt_config_suggest(ks, keys, nkeys);
			if (sug)
				return lerr(L, k, "unknown key '%s' in %s, did you mean '%s'?", ks,
					    what, sug);
			return lerr(L, k, "unknown key '%s' in %s", ks, what);
		}
		if (fn(L, i, k, v, ctx) < 0)
			return -1;
	}
	return 0;
}

/* Strictness orders used by the workspace layer (higher = stricter). */
static int mode_strictness(int m)
{
	switch (m) {
	case SHUNT_MODE_NEVER:
		return 0;
	case SHUNT_MODE_RISKY:
		return 1;
	case SHUNT_MODE_AUTO:
		return 2;
	default:
		return 3; /* always */
	}
}

static int net_strictness(int n)
{
	return n == SHUNT_NET_FULL ? 0 : n == SHUNT_NET_RESTRICTED ? 1 : 2;
}

static enum shunt_netmode effective_net(const struct shunt_config *cfg)
{
	return cfg->sandbox.network_mode_set ? cfg->sandbox.network_mode
					     : shunt_level_limits(cfg->security_level).network;
}

/* ---- sandbox.bind_mounts ---- */

static const char *const bind_keys[] = {"host_path", "container_path", "read_only"};

static int bind_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		     void *ctx)
{
	struct shunt_bind *b = ctx;
	const char *s;
	if (k == 2)
		return get_bool(L, v, "sandbox.bind_mounts.read_only", &b->read_only);
	const char *kn =
	    k == 0 ? "sandbox.bind_mounts.host_path" : "sandbox.bind_mounts.container_path";
	if (get_str(L, v, kn, &s) < 0)
		return -1;
	char *p = k == 0 ? expand_tilde(s) : strdup(s);
	if (!p)
		return oom(L);
	if (p[0] != '/') {
		free(p);
		return lerr(L, v, "%s: expected an absolute path, got '%s'", kn, s);
	}
	char **dst = k == 0 ? &b->host_path : &b->container_path;
	free(*dst);
	*dst = p;
	return 0;
}

static int get_binds(struct layer *L, const yaml_node_t *n, struct shunt_bind **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(L, n,
			    "sandbox.bind_mounts: expected a list of {host_path, container_path, "
			    "read_only}, got %s",
			    kind_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	struct shunt_bind *b = calloc(cnt ? cnt : 1, sizeof(*b));
	if (!b)
		return oom(L);
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *item = node(L, n->data.sequence.items.start[i]);
		b[i].read_only = true; /* safe default */
		if (!item || walk_map(L, item, "sandbox.bind_mounts entry", bind_keys, 3, bind_pair,
				      &b[i]) < 0)
			goto fail;
		if (!b[i].host_path || !b[i].container_path) {
			lerr(L, item,
			     "sandbox.bind_mounts entry: needs both host_path and container_path");
			goto fail;
		}
	}
	*out = b;
	*nout = cnt;
	return 0;
fail:
	binds_free(b, cnt);
	return -1;
}

/* ---- sandbox.profiles ---- */

static const char *const profile_keys[] = {"READ_ONLY", "WORKSPACE_WRITE", "SYSTEM_WRITE",
					   "GODMODE"};
/* Runtimes a user may name (not "host"). */
#define USER_RUNTIMES 6

static int profile_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
			void *ctx)
{
	char what[64];
	snprintf(what, sizeof(what), "sandbox.profiles.%s", profile_keys[k]);
	int rt;
	if (get_enum(L, v, what, shunt_runtime_names, USER_RUNTIMES, NULL, 0, &rt) < 0)
		return -1;
	enum shunt_runtime *slot = &L->cfg->sandbox.profile_runtime[k];
	if (L->tighten) {
		if ((int)*slot != rt)
			return loosen(L, v, what);
		return 0;
	}
	*slot = (enum shunt_runtime)rt;
	return 0;
}

/* ---- sandbox ---- */

enum {
	SB_RUNTIME,
	SB_IMAGE,
	SB_TIMEOUT,
	SB_NETWORK,
	SB_ALLOW_HOSTS,
	SB_ENABLE_CACHE,
	SB_CACHE_DIRS,
	SB_ENV,
	SB_BINDS,
	SB_SECCOMP,
	SB_PROFILES,
	SB_WEAKER,
	SB_HIDE,
	SB_VM_BACKEND,
};
static const char *const vm_backend_names[] = {"auto", "firecracker", "qemu"};
static const char *const sandbox_keys[] = {
    "runtime",	   "image",	      "timeout",    "network_mode",
    "allow_hosts", "enable_cache",    "cache_dirs", "env_whitelist",
    "bind_mounts", "seccomp_profile", "profiles",   "accept_weaker_isolation",
    "hide_paths",  "vm_backend",
};
#define NSANDBOX_KEYS (sizeof(sandbox_keys) / sizeof(*sandbox_keys))

/* A replaceable string list; workspace files may only narrow it. */
static int apply_list(struct layer *L, const yaml_node_t *v, const char *what, bool path,
		      struct shunt_strv *dst)
{
	struct shunt_strv nv;
	if (get_strv(L, v, what, path, &nv) < 0)
		return -1;
	if (L->tighten && !strv_subset(&nv, dst)) {
		shunt_strv_free(&nv);
		return loosen(L, v, what);
	}
	strv_replace(dst, &nv);
	return 0;
}

static int apply_string(struct layer *L, const yaml_node_t *v, const char *what, bool path,
			char **dst)
{
	const char *s;
	if (get_str(L, v, what, &s) < 0)
		return -1;
	if (L->tighten) {
		if (*dst && strcmp(*dst, s) == 0)
			return 0;
		return loosen(L, v, what);
	}
	char *p = path ? expand_tilde(s) : strdup(s);
	if (!p)
		return oom(L);
	free(*dst);
	*dst = p;
	return 0;
}

static int sandbox_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
			void *ctx)
{
	struct shunt_config *cfg = L->cfg;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	int e;
	bool b;
	unsigned long long u = 0;
	switch (k) {
	case SB_RUNTIME:
		/* remote: not a local runner; commands go to remote.url */
		if (get_enum(L, v, "sandbox.runtime", shunt_runtime_names, USER_RUNTIMES, "remote",
			     -2, &e) < 0)
			return -1;
		if (L->tighten &&
		    (e == -2 ? !cfg->remote_runtime : cfg->remote_runtime || (int)s->runtime != e))
			return loosen(L, v, "sandbox.runtime");
		cfg->remote_runtime = e == -2;
		if (e != -2)
			s->runtime = (enum shunt_runtime)e;
		return 0;
	case SB_IMAGE:
		return apply_string(L, v, "sandbox.image", false, &s->image);
	case SB_TIMEOUT:
		if (get_uint(L, v, "sandbox.timeout", "seconds", UINT_MAX, &u) < 0)
			return -1;
		/* Shorter is tighter; 0 means no limit. */
		if (L->tighten && (u == 0 || (s->timeout && u > s->timeout)))
			return loosen(L, v, "sandbox.timeout");
		s->timeout = (unsigned)u;
		return 0;
	case SB_NETWORK:
		if (get_enum(L, v, "sandbox.network_mode", shunt_netmode_names, shunt_netmode_count,
			     "allowlist", SHUNT_NET_RESTRICTED, &e) < 0)
			return -1;
		if (L->tighten && net_strictness(e) < net_strictness(effective_net(cfg)))
			return loosen(L, v, "sandbox.network_mode");
		s->network_mode = (enum shunt_netmode)e;
		s->network_mode_set = true;
		return 0;
	case SB_ALLOW_HOSTS:
		return apply_list(L, v, "sandbox.allow_hosts", false, &s->allow_hosts);
	case SB_ENABLE_CACHE:
		if (get_bool(L, v, "sandbox.enable_cache", &b) < 0)
			return -1;
		if (L->tighten && b && !s->enable_cache)
			return loosen(L, v, "sandbox.enable_cache");
		s->enable_cache = b;
		return 0;
	case SB_CACHE_DIRS:
		return apply_list(L, v, "sandbox.cache_dirs", true, &s->cache_dirs);
	case SB_ENV:
		return apply_list(L, v, "sandbox.env_whitelist", false, &s->env_whitelist);
	case SB_BINDS: {
		struct shunt_bind *nb;
		size_t n;
		if (get_binds(L, v, &nb, &n) < 0)
			return -1;
		if (L->tighten && n > 0) {
			binds_free(nb, n);
			return loosen(L, v, "sandbox.bind_mounts");
		}
		binds_free(s->bind_mounts, s->nbind_mounts);
		s->bind_mounts = nb;
		s->nbind_mounts = n;
		return 0;
	}
	case SB_SECCOMP:
		return apply_string(L, v, "sandbox.seccomp_profile", true, &s->seccomp_profile);
	case SB_PROFILES:
		return walk_map(L, v, "sandbox.profiles", profile_keys, 4, profile_pair, NULL);
	case SB_WEAKER:
		if (get_bool(L, v, "sandbox.accept_weaker_isolation", &b) < 0)
			return -1;
		if (L->tighten && b && !s->accept_weaker_isolation)
			return loosen(L, v, "sandbox.accept_weaker_isolation");
		s->accept_weaker_isolation = b;
		return 0;
	case SB_VM_BACKEND: {
		if (get_enum(L, v, "sandbox.vm_backend", vm_backend_names, 3, NULL, 0, &e) < 0)
			return -1;
		/* the VM is the boundary either way; a workspace may not switch it */
		if (L->tighten && e != s->vm_backend)
			return loosen(L, v, "sandbox.vm_backend");
		s->vm_backend = e;
		return 0;
	}
	case SB_HIDE: {
		/* Hiding more is always tighter: workspace entries add. */
		struct shunt_strv nv;
		if (get_strv(L, v, "sandbox.hide_paths", true, &nv) < 0)
			return -1;
		int rc = 0;
		if (L->tighten)
			rc = strv_accumulate(L, &s->hide_paths, &nv);
		else
			strv_replace(&s->hide_paths, &nv);
		shunt_strv_free(&nv);
		return rc;
	}
	}
	return 0;
}

/* ---- policies, audit, risk_floors, rules ---- */

static const char *const policies_keys[] = {"allowlist", "denylist"};

static int policies_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
			 void *ctx)
{
	struct shunt_strv nv;
	if (get_strv(L, v, k == 0 ? "policies.allowlist" : "policies.denylist", false, &nv) < 0)
		return -1;
	int rc = 0;
	if (k == 0) {
		if (L->tighten && nv.n > 0)
			rc = loosen(L, v, "policies.allowlist");
		else
			strv_replace(&L->cfg->allowlist, &nv);
	} else {
		rc = strv_accumulate(L, &L->cfg->denylist, &nv);
	}
	shunt_strv_free(&nv);
	return rc;
}

static const char *const audit_keys[] = {"max_size", "forward"};

/* ---- audit.forward and policy.sources (issue 10) ---- */

static const char *const forward_keys[] = {"url",      "format",   "token_file", "batch",
					   "insecure", "interval", "spool_max"};

static int set_str(struct layer *L, const yaml_node_t *v, const char *what, char **dst)
{
	const char *s;
	if (get_str(L, v, what, &s) < 0)
		return -1;
	char *d = strdup(s);
	if (!d)
		return oom(L);
	free(*dst);
	*dst = d;
	return 0;
}

static int url_ok(struct layer *L, const yaml_node_t *v, const char *what, const char *url,
		  bool insecure)
{
	if (strncmp(url, "https://", 8) == 0 && url[8])
		return 0;
	if (insecure && strncmp(url, "http://127.0.0.1:", 17) == 0)
		return 0;
	return lerr(
	    L, v,
	    "%s: an https:// URL is required (http://127.0.0.1 only with insecure: true), got '%s'",
	    what, url);
}

static int forward_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
			void *ctx)
{
	struct shunt_audit_forward *f = &L->cfg->audit_forward;
	unsigned long long n;
	switch (k) {
	case 0:
		return set_str(L, v, "audit.forward.url", &f->url);
	case 1:
		if (set_str(L, v, "audit.forward.format", &f->format) < 0)
			return -1;
		if (strcmp(f->format, "jsonl") && strcmp(f->format, "loki") &&
		    strcmp(f->format, "elasticsearch") && strcmp(f->format, "splunk-hec"))
			return lerr(
			    L, v,
			    "audit.forward.format: jsonl, loki, elasticsearch or splunk-hec, "
			    "got '%s'",
			    f->format);
		return 0;
	case 2:
		return set_str(L, v, "audit.forward.token_file", &f->token_file);
	case 3:
		if (get_uint(L, v, "audit.forward.batch", "records", 10000, &n) < 0)
			return -1;
		if (n == 0)
			return lerr(L, v, "audit.forward.batch: at least 1");
		f->batch = (unsigned)n;
		return 0;
	case 4:
		return get_bool(L, v, "audit.forward.insecure", &f->insecure);
	case 5:
		if (get_uint(L, v, "audit.forward.interval", "seconds", 86400, &n) < 0)
			return -1;
		if (n == 0)
			return lerr(L, v, "audit.forward.interval: at least 1 second");
		f->interval = (unsigned)n;
		return 0;
	case 6:
		if (get_size(L, v, "audit.forward.spool_max", &n) < 0)
			return -1;
		if (n < 1024)
			return lerr(L, v, "audit.forward.spool_max: at least 1K");
		f->spool_max = n;
		return 0;
	}
	return 0;
}

/* remote: {url, token_file, ca_file, insecure}: the shuntd that
 * sandbox.runtime: remote sends commands to (ca_file: the CA bundle its
 * TLS certificate is verified against, instead of the system's). */
static const char *const remote_keys[] = {"url", "token_file", "insecure", "ca_file"};

static int remote_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		       void *ctx)
{
	struct shunt_config *c = L->cfg;
	switch (k) {
	case 0:
		return set_str(L, v, "remote.url", &c->remote_url);
	case 1:
		if (set_str(L, v, "remote.token_file", &c->remote_token_file) < 0)
			return -1;
		if (c->remote_token_file[0] == '~') {
			char *p = expand_tilde(c->remote_token_file);
			if (!p)
				return oom(L);
			free(c->remote_token_file);
			c->remote_token_file = p;
		}
		return 0;
	case 2:
		return get_bool(L, v, "remote.insecure", &c->remote_insecure);
	case 3:
		if (set_str(L, v, "remote.ca_file", &c->remote_ca_file) < 0)
			return -1;
		if (c->remote_ca_file[0] == '~') {
			char *p = expand_tilde(c->remote_ca_file);
			if (!p)
				return oom(L);
			free(c->remote_ca_file);
			c->remote_ca_file = p;
		}
		return 0;
	}
	return 0;
}

static int apply_forward(struct layer *L, const yaml_node_t *v)
{
	if (is_null(v))
		return 0;
	if (L->tighten) /* a repository does not decide where the user's log goes */
		return loosen(L, v, "audit.forward");
	if (walk_map(L, v, "audit.forward", forward_keys, 7, forward_pair, NULL) < 0)
		return -1;
	struct shunt_audit_forward *f = &L->cfg->audit_forward;
	if (!f->url)
		return lerr(L, v, "audit.forward: url is required");
	return url_ok(L, v, "audit.forward.url", f->url, f->insecure);
}

static const char *const source_keys[] = {"url", "sha256", "insecure"};

static int source_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		       void *ctx)
{
	struct shunt_policy_source *s = ctx;
	if (k == 0)
		return set_str(L, v, "policy.sources.url", &s->url);
	if (k == 2)
		return get_bool(L, v, "policy.sources.insecure", &s->insecure);
	if (set_str(L, v, "policy.sources.sha256", &s->sha256) < 0)
		return -1;
	size_t n = strlen(s->sha256);
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s->sha256[i]))
			n = 0;
	if (n != 64)
		return lerr(L, v, "policy.sources.sha256: 64 lowercase hex digits");
	return 0;
}

static bool policy_is_sources(struct layer *L, const yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE ||
	    v->data.mapping.pairs.start == v->data.mapping.pairs.top)
		return false;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(L, p->key);
		if (!k || k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, "sources") != 0)
			return false;
	}
	return true;
}

static int apply_policy(struct layer *L, const yaml_node_t *v)
{
	if (is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return lerr(L, v, "policy: expected a mapping, got %s", kind_name(v));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(L, p->key), *val = node(L, p->value);
		const char *ks;
		if (!k || !val || get_str(L, k, "policy key", &ks) < 0)
			return -1;
		if (strcmp(ks, "sources") != 0)
			return lerr(L, k, "unknown key '%s' in policy (sources)", ks);
		if (is_null(val))
			continue;
		if (L->tighten)
			return loosen(L, val, "policy.sources");
		if (val->type != YAML_SEQUENCE_NODE)
			return lerr(L, val, "policy.sources: expected a list, got %s",
				    kind_name(val));
		for (yaml_node_item_t *it = val->data.sequence.items.start;
		     it < val->data.sequence.items.top; it++) {
			const yaml_node_t *e = node(L, *it);
			if (!e)
				return lerr(L, val, "policy.sources: malformed list");
			struct shunt_policy_source s = {0};
			int rc;
			if (e->type == YAML_SCALAR_NODE)
				rc = set_str(L, e, "policy.sources", &s.url);
			else
				rc = walk_map(L, e, "policy.sources[]", source_keys, 3, source_pair,
					      &s);
			if (rc == 0 && !s.url)
				rc = lerr(L, e, "policy.sources[]: url is required");
			if (rc == 0)
				rc = url_ok(L, e, "policy.sources.url", s.url, s.insecure);
			struct shunt_policy_source *ns = NULL;
			if (rc == 0) {
				ns = realloc(L->cfg->policy_sources,
					     (L->cfg->npolicy_sources + 1) * sizeof(*ns));
				if (!ns)
					rc = oom(L);
			}
			if (rc < 0) {
				free(s.url);
				free(s.sha256);
				return -1;
			}
			L->cfg->policy_sources = ns;
			ns[L->cfg->npolicy_sources++] = s;
			/* the last good copy `shunt policy update` cached is a rule pack */
			char *cached = shunt_policysrc_cache_path(s.url);
			if (cached && access(cached, R_OK) == 0 &&
			    !strv_has(&L->cfg->rule_files, cached) &&
			    shunt_strv_push(&L->cfg->rule_files, cached) < 0) {
				free(cached);
				return oom(L);
			}
			free(cached);
		}
	}
	return 0;
}

static int audit_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		      void *ctx)
{
	if (k == 1)
		return apply_forward(L, v);
	unsigned long long sz = 0;
	if (get_size(L, v, "audit.max_size", &sz) < 0)
		return -1;
	if (L->tighten) /* not policy: a repository has no say over the user's log */
		return sz == L->cfg->audit_max_bytes ? 0 : loosen(L, v, "audit.max_size");
	L->cfg->audit_max_bytes = sz;
	return 0;
}

static int apply_risk_floors(struct layer *L, const yaml_node_t *v)
{
	if (is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return lerr(L, v, "risk_floors: expected a mapping of rule id to risk, got %s",
			    kind_name(v));
	struct shunt_config *cfg = L->cfg;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(L, p->key), *val = node(L, p->value);
		const char *id;
		int risk;
		if (!k || !val || get_str(L, k, "risk_floors key", &id) < 0)
			return -1;
		char what[160];
		snprintf(what, sizeof(what), "risk_floors.%s", id);
		if (get_enum(L, val, what, shunt_risk_names, shunt_risk_count, NULL, 0, &risk) < 0)
			return -1;
		size_t i;
		for (i = 0; i < cfg->nrisk_floors; i++)
			if (strcmp(cfg->risk_floors[i].rule_id, id) == 0)
				break;
		if (i < cfg->nrisk_floors) {
			if ((int)cfg->risk_floors[i].risk < risk)
				cfg->risk_floors[i].risk = (enum shunt_risk)risk;
			continue;
		}
		struct shunt_risk_floor *nf =
		    realloc(cfg->risk_floors, (cfg->nrisk_floors + 1) * sizeof(*nf));
		if (!nf)
			return oom(L);
		cfg->risk_floors = nf;
		nf[cfg->nrisk_floors].rule_id = strdup(id);
		if (!nf[cfg->nrisk_floors].rule_id)
			return oom(L);
		nf[cfg->nrisk_floors].risk = (enum shunt_risk)risk;
		cfg->nrisk_floors++;
	}
	return 0;
}

static int apply_rules(struct layer *L, const yaml_node_t *v)
{
	struct shunt_strv nv;
	if (get_strv(L, v, "rules", true, &nv) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < nv.n && rc == 0; i++) {
		char *p = NULL;
		if (nv.v[i][0] == '/')
			p = strdup(nv.v[i]);
		else if (asprintf(&p, "%s/%s", L->dir, nv.v[i]) < 0)
			p = NULL;
		if (!p) {
			rc = oom(L);
			break;
		}
		if (!strv_has(&L->cfg->rule_files, p) &&
		    shunt_strv_push(&L->cfg->rule_files, p) < 0)
			rc = oom(L);
		free(p);
	}
	shunt_strv_free(&nv);
	return rc;
}

/* ---- top level ---- */

enum {
	K_MODE,
	K_LEVEL,
	K_NONINT,
	K_ONERROR,
	K_PRESET,
	K_SANDBOX,
	K_POLICIES,
	K_RULES,
	K_FLOORS,
	K_AUDIT,
	K_POLICY,
	K_POOL,
	K_REMOTE,
	K_PROMPT,
};
static const char *const top_keys[] = {
    "mode",  "security_level", "non_interactive", "on_error", "preset", "sandbox", "policies",
    "rules", "risk_floors",    "audit",		  "policy",   "pool",	"remote",  "prompt",
};
#define NTOP_KEYS (sizeof(top_keys) / sizeof(*top_keys))

static int apply_layer_buf(struct shunt_config *cfg, const char *name, const char *buf, size_t len,
			   bool tighten, int depth, struct shunt_error **err);

/* pool: {microvm: N, gvisor: N}: warm sandboxes shuntd keeps. The
 * machine's resources, not policy: a workspace file cannot set it. */
static const char *const pool_keys[] = {"gvisor", "microvm"};
static const enum shunt_runtime pool_runtimes[] = {SHUNT_RUNTIME_GVISOR, SHUNT_RUNTIME_MICROVM};

static int pool_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		     void *ctx)
{
	unsigned long long u = 0;
	if (get_uint(L, v, "pool size", "sandboxes", 16, &u) < 0)
		return -1;
	if (L->tighten)
		return loosen(L, v, "pool");
	L->cfg->pool_size[pool_runtimes[k]] = (unsigned)u;
	return 0;
}

/* prompt: {timeout: SECONDS}: how long a prompt waits before it answers
 * no. A workspace file may shorten it, not lengthen it or lift it (0). */
static const char *const prompt_keys[] = {"timeout"};

static int prompt_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		       void *ctx)
{
	unsigned long long u = 0;
	if (get_uint(L, v, "prompt.timeout", "seconds, 0 = no limit", 86400, &u) < 0)
		return -1;
	unsigned cur = L->cfg->prompt_timeout;
	if (L->tighten && (u == 0 || (cur && u > cur)))
		return loosen(L, v, "prompt.timeout");
	L->cfg->prompt_timeout = (unsigned)u;
	return 0;
}

static int top_pair(struct layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		    void *ctx)
{
	struct shunt_config *cfg = L->cfg;
	int e;
	switch (k) {
	case K_MODE:
		if (get_enum(L, v, "mode", shunt_mode_names, shunt_mode_count, NULL, 0, &e) < 0)
			return -1;
		if (L->tighten && mode_strictness(e) < mode_strictness(cfg->mode))
			return loosen(L, v, "mode");
		cfg->mode = (enum shunt_mode)e;
		return 0;
	case K_LEVEL:
		if (get_enum(L, v, "security_level", shunt_level_names, shunt_level_count, NULL, 0,
			     &e) < 0)
			return -1;
		if (L->tighten && e < (int)cfg->security_level)
			return loosen(L, v, "security_level");
		cfg->security_level = (enum shunt_level)e;
		return 0;
	case K_NONINT:
		if (get_enum(L, v, "non_interactive", shunt_noninteractive_names,
			     shunt_noninteractive_count, NULL, 0, &e) < 0)
			return -1;
		if (L->tighten && e != SHUNT_NONINT_BLOCK &&
		    cfg->non_interactive == SHUNT_NONINT_BLOCK)
			return loosen(L, v, "non_interactive");
		cfg->non_interactive = (enum shunt_noninteractive)e;
		return 0;
	case K_ONERROR:
		if (get_enum(L, v, "on_error", shunt_onerror_names, shunt_onerror_count, NULL, 0,
			     &e) < 0)
			return -1;
		if (L->tighten && e == SHUNT_ONERROR_OPEN && cfg->on_error == SHUNT_ONERROR_CLOSED)
			return loosen(L, v, "on_error");
		cfg->on_error = (enum shunt_onerror)e;
		return 0;
	case K_PRESET:
		return 0; /* applied before the other keys, see apply_doc */
	case K_SANDBOX:
		if (is_null(v))
			return 0;
		return walk_map(L, v, "sandbox", sandbox_keys, NSANDBOX_KEYS, sandbox_pair, NULL);
	case K_POLICIES:
		if (is_null(v))
			return 0;
		return walk_map(L, v, "policies", policies_keys, 2, policies_pair, NULL);
	case K_RULES:
		return apply_rules(L, v);
	case K_FLOORS:
		return apply_risk_floors(L, v);
	case K_AUDIT:
		if (is_null(v))
			return 0;
		return walk_map(L, v, "audit", audit_keys, 2, audit_pair, NULL);
	case K_POLICY:
		/* only policy.sources lives here; anything else is most likely a
		 * typo of policies: (allowlist/denylist) and reported as one */
		if (!policy_is_sources(L, v))
			return lerr(
			    L, key,
			    "unknown key 'policy' in the configuration, did you mean 'policies'?");
		return apply_policy(L, v);
	case K_POOL:
		if (is_null(v))
			return 0;
		return walk_map(L, v, "pool", pool_keys, 2, pool_pair, NULL);
	case K_REMOTE:
		if (is_null(v))
			return 0;
		if (L->tighten)
			return loosen(L, v, "remote");
		if (walk_map(L, v, "remote", remote_keys, 4, remote_pair, NULL) < 0)
			return -1;
		if (!L->cfg->remote_url)
			return lerr(L, v, "remote: url is required");
		return url_ok(L, v, "remote.url", L->cfg->remote_url, L->cfg->remote_insecure);
	case K_PROMPT:
		if (is_null(v))
			return 0;
		return walk_map(L, v, "prompt", prompt_keys, 1, prompt_pair, NULL);
	}
	return 0;
}

static const char *preset_text(enum shunt_preset p)
{
	switch (p) {
	case SHUNT_PRESET_DEVELOPER:
		return preset_developer;
	case SHUNT_PRESET_CICD:
		return preset_cicd;
	case SHUNT_PRESET_PRODUCTION:
		return preset_production;
	default:
		return NULL;
	}
}

static int apply_preset_at(struct layer *L, const yaml_node_t *v)
{
	int e;
	/* names[0] is "none"; only real presets may be named */
	if (get_enum(L, v, "preset", shunt_preset_names + 1, shunt_preset_count - 1, NULL, 0, &e) <
	    0)
		return -1;
	if (L->depth > 0)
		return lerr(L, v, "preset: a preset cannot name another preset");
	enum shunt_preset p = (enum shunt_preset)(e + 1);
	const char *text = preset_text(p);
	char name[64];
	snprintf(name, sizeof(name), "preset:%s", shunt_preset_name(p));
	size_t nwarn = L->cfg->warnings.n;
	if (apply_layer_buf(L->cfg, name, text, strlen(text), L->tighten, L->depth + 1, L->err) < 0)
		return -1;
	/* Point the workspace warnings at the preset: line, not the preset text. */
	for (size_t i = nwarn; i < L->cfg->warnings.n; i++) {
		char *w = NULL;
		const char *rest = strstr(L->cfg->warnings.v[i], ": ");
		if (asprintf(&w, "%s:%zu:%zu: preset %s: %s", L->name, v->start_mark.line + 1,
			     v->start_mark.column + 1, shunt_preset_name(p),
			     rest ? rest + 2 : "") < 0)
			return oom(L);
		free(L->cfg->warnings.v[i]);
		L->cfg->warnings.v[i] = w;
	}
	if (!L->tighten)
		L->cfg->preset = p;
	return shunt_strv_push(&L->cfg->sources, name) < 0 ? oom(L) : 0;
}

static int apply_doc(struct layer *L)
{
	yaml_node_t *root = yaml_document_get_root_node(&L->doc);
	if (!root || is_null(root))
		return 0; /* empty file */
	if (L->doc.nodes.top - L->doc.nodes.start > CONFIG_MAX_NODES)
		return lerr(L, root, "document too large (more than %d YAML nodes)",
			    CONFIG_MAX_NODES);
	if (root->type != YAML_MAPPING_NODE)
		return lerr(L, root, "expected a mapping of settings at the top level, got %s",
			    kind_name(root));
	/* The preset goes first so the layer's own keys override it. */
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (k && v && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "preset") == 0) {
			if (apply_preset_at(L, v) < 0)
				return -1;
			break;
		}
	}
	return walk_map(L, root, "the configuration", top_keys, NTOP_KEYS, top_pair, NULL);
}

static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	if (slash == name)
		return strdup("/");
	if (slash)
		return strndup(name, (size_t)(slash - name));
	char cwd[PATH_MAX];
	return strdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
}

static int apply_layer_buf(struct shunt_config *cfg, const char *name, const char *buf, size_t len,
			   bool tighten, int depth, struct shunt_error **err)
{
	struct layer L = {.cfg = cfg, .name = name, .tighten = tighten, .depth = depth, .err = err};
	if (len > CONFIG_FILE_MAX)
		return lerr(&L, NULL, "file too large (more than %d bytes)", CONFIG_FILE_MAX);
	L.dir = dir_of(name);
	if (!L.dir)
		return oom(&L);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(L.dir);
		return oom(&L);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	int rc = 0;
	if (!yaml_parser_load(&parser, &L.doc)) {
		const yaml_mark_t *m = &parser.problem_mark, *cm = &parser.context_mark;
		char ctx[160] = "";
		if (parser.context)
			snprintf(ctx, sizeof(ctx), " %s started at %zu:%zu", parser.context,
				 cm->line + 1, cm->column + 1);
		shunt_error_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s", name,
				m->line + 1, m->column + 1,
				parser.problem ? parser.problem : "invalid document", ctx);
		if (err && *err)
			(*err)->exitcode = 2;
		yaml_parser_delete(&parser);
		free(L.dir);
		return -1;
	}
	rc = apply_doc(&L);
	if (rc == 0 && yaml_document_get_root_node(&L.doc)) {
		/* One document per file: a second one would be silently ignored. */
		yaml_document_t extra;
		if (!yaml_parser_load(&parser, &extra)) {
			const yaml_mark_t *m = &parser.problem_mark;
			rc = shunt_error_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", name,
					     m->line + 1, m->column + 1,
					     parser.problem ? parser.problem : "invalid document");
			if (err && *err)
				(*err)->exitcode = 2;
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&extra);
			if (r2)
				rc = lerr(&L, r2, "only one YAML document is allowed per file");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&parser);
	free(L.dir);
	if (rc == 0 && depth == 0 && shunt_strv_push(&cfg->sources, name) < 0)
		return oom(&L);
	return rc;
}

int shunt_config_apply_buf(struct shunt_config *cfg, const char *name, const char *buf, size_t len,
			   bool tighten_only, struct shunt_error **err)
{
	return apply_layer_buf(cfg, name, buf, len, tighten_only, 0, err);
}

int shunt_config_apply_file(struct shunt_config *cfg, const char *path, bool tighten_only,
			    struct shunt_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(path, CONFIG_FILE_MAX, &data, &len, &e) < 0) {
		if (e && e->code == ENOENT) {
			shunt_error_free(&e);
			return 0;
		}
		if (err && !*err) {
			*err = e;
			(*err)->exitcode = 2;
		} else {
			shunt_error_free(&e);
		}
		return -1;
	}
	return apply_layer_buf(cfg, path, data, len, tighten_only, 0, err);
}

int shunt_config_apply_preset(struct shunt_config *cfg, enum shunt_preset preset,
			      struct shunt_error **err)
{
	const char *text = preset_text(preset);
	if (!text) {
		shunt_error_set(err, EINVAL, "unknown preset %d", (int)preset);
		if (err && *err)
			(*err)->exitcode = 2;
		return -1;
	}
	char name[64];
	snprintf(name, sizeof(name), "preset:%s", shunt_preset_name(preset));
	if (apply_layer_buf(cfg, name, text, strlen(text), false, 1, err) < 0)
		return -1;
	cfg->preset = preset;
	return shunt_strv_push(&cfg->sources, name) < 0
		   ? shunt_error_set(err, ENOMEM, "out of memory")
		   : 0;
}

char *shunt_config_workspace_root(const char *cwd)
{
	_cleanup_free_ char *dir = strdup(cwd);
	if (!dir)
		return NULL;
	for (;;) {
		_cleanup_free_ char *git = NULL;
		struct stat st;
		if (asprintf(&git, "%s/.git", strcmp(dir, "/") == 0 ? "" : dir) < 0)
			return NULL;
		if (lstat(git, &st) == 0)
			return steal_pointer(&dir);
		char *slash = strrchr(dir, '/');
		if (!slash || strcmp(dir, "/") == 0)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return strdup(cwd);
}

int shunt_config_load(struct shunt_config *cfg, const struct shunt_config_opts *opts,
		      struct shunt_error **err)
{
	static const struct shunt_config_opts none = {0};
	_cleanup_free_ char *user = NULL, *ws = NULL, *wf = NULL;
	if (!opts)
		opts = &none;
	shunt_config_defaults(cfg);
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	bool skip_system = opts->no_system || (nosys && strcmp(nosys, "1") == 0);
	if (!skip_system && shunt_config_apply_file(cfg,
						    opts->system_path ? opts->system_path
								      : SHUNT_CONFIG_SYSTEM_PATH,
						    false, err) < 0)
		goto fail;

	user = opts->user_path ? strdup(opts->user_path)
			       : shunt_paths_file(SHUNT_DIR_CONFIG, "config.yaml");
	if (user && shunt_config_apply_file(cfg, user, false, err) < 0)
		goto fail;

	const char *envp = opts->env_path ? opts->env_path : getenv("SHUNT_CONFIG");
	if (envp && *envp) {
		/* Named explicitly, so a missing file is an error, not a skip. */
		if (access(envp, F_OK) < 0) {
			shunt_error_sys(err, errno, "%s (named by SHUNT_CONFIG)", envp);
			if (err && *err)
				(*err)->exitcode = 2;
			goto fail;
		}
		if (shunt_config_apply_file(cfg, envp, false, err) < 0)
			goto fail;
	}

	if (opts->no_workspace) {
		ws = NULL;
	} else if (opts->workspace) {
		ws = strdup(opts->workspace);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)))
			ws = shunt_config_workspace_root(cwd);
	}
	if (ws) {
		if (asprintf(&wf, "%s/.shunt.yaml", strcmp(ws, "/") == 0 ? "" : ws) < 0) {
			shunt_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		if (shunt_config_apply_file(cfg, wf, true, err) < 0)
			goto fail;
	}
	return 0;
fail:
	shunt_config_free(cfg);
	return -1;
}

/* ---- dump ---- */

static void dump_strv_yaml(struct shunt_buf *o, const char *indent, const char *key,
			   const struct shunt_strv *v)
{
	shunt_buf_printf(o, "%s%s:", indent, key);
	if (!v->n) {
		shunt_buf_puts(o, " []\n");
		return;
	}
	shunt_buf_putc(o, '\n');
	for (size_t i = 0; i < v->n; i++) {
		shunt_buf_printf(o, "%s  - ", indent);
		shunt_buf_json_str(o, v->v[i], strlen(v->v[i]));
		shunt_buf_putc(o, '\n');
	}
}

static void dump_strv_json(struct shunt_buf *o, const char *key, const struct shunt_strv *v)
{
	shunt_buf_printf(o, "\"%s\":[", key);
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			shunt_buf_putc(o, ',');
		shunt_buf_json_str(o, v->v[i], strlen(v->v[i]));
	}
	shunt_buf_putc(o, ']');
}

/* Comment lines must stay single lines whatever the text holds. */
static void dump_comment(struct shunt_buf *o, const char *prefix, const char *s)
{
	shunt_buf_puts(o, prefix);
	for (; *s; s++)
		shunt_buf_putc(o, *s == '\n' || *s == '\r' ? ' ' : *s);
	shunt_buf_putc(o, '\n');
}

static void dump_yaml(const struct shunt_config *cfg, struct shunt_buf *o)
{
	const struct shunt_sandbox_config *s = &cfg->sandbox;
	shunt_buf_puts(o, "# effective shunt configuration\n");
	if (!cfg->sources.n)
		shunt_buf_puts(o, "# sources: built-in defaults only\n");
	else
		shunt_buf_puts(o, "# sources (later wins): built-in defaults\n");
	for (size_t i = 0; i < cfg->sources.n; i++)
		dump_comment(o, "#   ", cfg->sources.v[i]);
	for (size_t i = 0; i < cfg->warnings.n; i++)
		dump_comment(o, "# warning: ", cfg->warnings.v[i]);
	shunt_buf_printf(o, "mode: %s\n", shunt_mode_name(cfg->mode));
	shunt_buf_printf(o, "security_level: %s\n", shunt_level_name(cfg->security_level));
	shunt_buf_printf(o, "non_interactive: %s\n",
			 shunt_noninteractive_name(cfg->non_interactive));
	shunt_buf_printf(o, "on_error: %s\n", shunt_onerror_name(cfg->on_error));
	if (cfg->preset != SHUNT_PRESET_NONE)
		shunt_buf_printf(o, "# preset applied: %s\n", shunt_preset_name(cfg->preset));
	shunt_buf_puts(o, "sandbox:\n");
	shunt_buf_printf(o, "  runtime: %s\n",
			 cfg->remote_runtime ? "remote" : shunt_runtime_name(s->runtime));
	if (s->image) {
		shunt_buf_puts(o, "  image: ");
		shunt_buf_json_str(o, s->image, strlen(s->image));
		shunt_buf_putc(o, '\n');
	}
	shunt_buf_printf(o, "  timeout: %u\n", s->timeout);
	shunt_buf_printf(o, "  network_mode: %s%s\n", shunt_netmode_name(effective_net(cfg)),
			 s->network_mode_set ? "" : "  # from security_level");
	dump_strv_yaml(o, "  ", "allow_hosts", &s->allow_hosts);
	shunt_buf_printf(o, "  enable_cache: %s\n", s->enable_cache ? "true" : "false");
	dump_strv_yaml(o, "  ", "cache_dirs", &s->cache_dirs);
	dump_strv_yaml(o, "  ", "env_whitelist", &s->env_whitelist);
	shunt_buf_puts(o, "  bind_mounts:");
	shunt_buf_puts(o, s->nbind_mounts ? "\n" : " []\n");
	for (size_t i = 0; i < s->nbind_mounts; i++) {
		shunt_buf_puts(o, "    - host_path: ");
		shunt_buf_json_str(o, s->bind_mounts[i].host_path,
				   strlen(s->bind_mounts[i].host_path));
		shunt_buf_puts(o, "\n      container_path: ");
		shunt_buf_json_str(o, s->bind_mounts[i].container_path,
				   strlen(s->bind_mounts[i].container_path));
		shunt_buf_printf(o, "\n      read_only: %s\n",
				 s->bind_mounts[i].read_only ? "true" : "false");
	}
	if (s->seccomp_profile) {
		shunt_buf_puts(o, "  seccomp_profile: ");
		shunt_buf_json_str(o, s->seccomp_profile, strlen(s->seccomp_profile));
		shunt_buf_putc(o, '\n');
	}
	shunt_buf_puts(o, "  profiles:\n");
	for (int p = 0; p < 4; p++)
		shunt_buf_printf(o, "    %s: %s\n", shunt_profile_name(p),
				 shunt_runtime_name(s->profile_runtime[p]));
	shunt_buf_printf(o, "  accept_weaker_isolation: %s\n",
			 s->accept_weaker_isolation ? "true" : "false");
	dump_strv_yaml(o, "  ", "hide_paths", &s->hide_paths);
	shunt_buf_printf(o, "  vm_backend: %s\n", vm_backend_names[s->vm_backend]);
	shunt_buf_puts(o, "policies:\n");
	dump_strv_yaml(o, "  ", "allowlist", &cfg->allowlist);
	dump_strv_yaml(o, "  ", "denylist", &cfg->denylist);
	dump_strv_yaml(o, "", "rules", &cfg->rule_files);
	shunt_buf_puts(o, "risk_floors:");
	shunt_buf_puts(o, cfg->nrisk_floors ? "\n" : " {}\n");
	for (size_t i = 0; i < cfg->nrisk_floors; i++) {
		shunt_buf_puts(o, "  ");
		shunt_buf_json_str(o, cfg->risk_floors[i].rule_id,
				   strlen(cfg->risk_floors[i].rule_id));
		shunt_buf_printf(o, ": %s\n", shunt_risk_name(cfg->risk_floors[i].risk));
	}
	shunt_buf_printf(o, "audit:\n  max_size: %llu\n", cfg->audit_max_bytes);
	if (cfg->audit_forward.url) {
		shunt_buf_puts(o, "  forward:\n    url: ");
		shunt_buf_json_str(o, cfg->audit_forward.url, strlen(cfg->audit_forward.url));
		shunt_buf_printf(o, "\n    format: %s\n    batch: %u\n",
				 cfg->audit_forward.format ? cfg->audit_forward.format : "jsonl",
				 cfg->audit_forward.batch);
		if (cfg->audit_forward.insecure)
			shunt_buf_puts(o, "    insecure: true\n");
	}
	if (cfg->remote_url) {
		shunt_buf_puts(o, "remote:\n  url: ");
		shunt_buf_json_str(o, cfg->remote_url, strlen(cfg->remote_url));
		if (cfg->remote_token_file) {
			shunt_buf_puts(o, "\n  token_file: ");
			shunt_buf_json_str(o, cfg->remote_token_file,
					   strlen(cfg->remote_token_file));
		}
		if (cfg->remote_ca_file) {
			shunt_buf_puts(o, "\n  ca_file: ");
			shunt_buf_json_str(o, cfg->remote_ca_file, strlen(cfg->remote_ca_file));
		}
		shunt_buf_printf(o, "\n  insecure: %s\n", cfg->remote_insecure ? "true" : "false");
	}
	shunt_buf_printf(o, "pool:\n  microvm: %u\n  gvisor: %u\n",
			 cfg->pool_size[SHUNT_RUNTIME_MICROVM],
			 cfg->pool_size[SHUNT_RUNTIME_GVISOR]);
	shunt_buf_printf(o, "prompt:\n  timeout: %u\n", cfg->prompt_timeout);
	if (cfg->npolicy_sources)
		shunt_buf_puts(o, "policy:\n  sources:\n");
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		const struct shunt_policy_source *ps = &cfg->policy_sources[i];
		shunt_buf_puts(o, "    - url: ");
		shunt_buf_json_str(o, ps->url, strlen(ps->url));
		shunt_buf_puts(o, "\n");
		if (ps->sha256)
			shunt_buf_printf(o, "      sha256: %s\n", ps->sha256);
		if (ps->insecure)
			shunt_buf_puts(o, "      insecure: true\n");
	}
}

static void dump_json(const struct shunt_config *cfg, struct shunt_buf *o)
{
	const struct shunt_sandbox_config *s = &cfg->sandbox;
	shunt_buf_printf(o,
			 "{\"mode\":\"%s\",\"security_level\":\"%s\",\"non_interactive\":\"%s\","
			 "\"on_error\":\"%s\",",
			 shunt_mode_name(cfg->mode), shunt_level_name(cfg->security_level),
			 shunt_noninteractive_name(cfg->non_interactive),
			 shunt_onerror_name(cfg->on_error));
	if (cfg->preset == SHUNT_PRESET_NONE)
		shunt_buf_puts(o, "\"preset\":null,");
	else
		shunt_buf_printf(o, "\"preset\":\"%s\",", shunt_preset_name(cfg->preset));
	shunt_buf_printf(o, "\"sandbox\":{\"runtime\":\"%s\",\"image\":",
			 cfg->remote_runtime ? "remote" : shunt_runtime_name(s->runtime));
	if (s->image)
		shunt_buf_json_str(o, s->image, strlen(s->image));
	else
		shunt_buf_puts(o, "null");
	shunt_buf_printf(o,
			 ",\"timeout\":%u,\"network_mode\":\"%s\",\"network_mode_source\":\"%s\",",
			 s->timeout, shunt_netmode_name(effective_net(cfg)),
			 s->network_mode_set ? "config" : "security_level");
	dump_strv_json(o, "allow_hosts", &s->allow_hosts);
	shunt_buf_printf(o, ",\"enable_cache\":%s,", s->enable_cache ? "true" : "false");
	dump_strv_json(o, "cache_dirs", &s->cache_dirs);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "env_whitelist", &s->env_whitelist);
	shunt_buf_puts(o, ",\"bind_mounts\":[");
	for (size_t i = 0; i < s->nbind_mounts; i++) {
		shunt_buf_puts(o, i ? ",{\"host_path\":" : "{\"host_path\":");
		shunt_buf_json_str(o, s->bind_mounts[i].host_path,
				   strlen(s->bind_mounts[i].host_path));
		shunt_buf_puts(o, ",\"container_path\":");
		shunt_buf_json_str(o, s->bind_mounts[i].container_path,
				   strlen(s->bind_mounts[i].container_path));
		shunt_buf_printf(o, ",\"read_only\":%s}",
				 s->bind_mounts[i].read_only ? "true" : "false");
	}
	shunt_buf_puts(o, "],\"seccomp_profile\":");
	if (s->seccomp_profile)
		shunt_buf_json_str(o, s->seccomp_profile, strlen(s->seccomp_profile));
	else
		shunt_buf_puts(o, "null");
	shunt_buf_puts(o, ",\"profiles\":{");
	for (int p = 0; p < 4; p++)
		shunt_buf_printf(o, "%s\"%s\":\"%s\"", p ? "," : "", shunt_profile_name(p),
				 shunt_runtime_name(s->profile_runtime[p]));
	shunt_buf_printf(o, "},\"accept_weaker_isolation\":%s,",
			 s->accept_weaker_isolation ? "true" : "false");
	dump_strv_json(o, "hide_paths", &s->hide_paths);
	shunt_buf_printf(o, ",\"vm_backend\":\"%s\"", vm_backend_names[s->vm_backend]);
	shunt_buf_puts(o, "},\"policies\":{");
	dump_strv_json(o, "allowlist", &cfg->allowlist);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "denylist", &cfg->denylist);
	shunt_buf_puts(o, "},");
	dump_strv_json(o, "rules", &cfg->rule_files);
	shunt_buf_puts(o, ",\"risk_floors\":{");
	for (size_t i = 0; i < cfg->nrisk_floors; i++) {
		if (i)
			shunt_buf_putc(o, ',');
		shunt_buf_json_str(o, cfg->risk_floors[i].rule_id,
				   strlen(cfg->risk_floors[i].rule_id));
		shunt_buf_printf(o, ":\"%s\"", shunt_risk_name(cfg->risk_floors[i].risk));
	}
	shunt_buf_printf(o, "},\"audit\":{\"max_size\":%llu", cfg->audit_max_bytes);
	if (cfg->audit_forward.url) {
		shunt_buf_puts(o, ",\"forward\":{\"url\":");
		shunt_buf_json_str(o, cfg->audit_forward.url, strlen(cfg->audit_forward.url));
		shunt_buf_printf(o, ",\"format\":\"%s\",\"batch\":%u,\"insecure\":%s}",
				 cfg->audit_forward.format ? cfg->audit_forward.format : "jsonl",
				 cfg->audit_forward.batch,
				 cfg->audit_forward.insecure ? "true" : "false");
	}
	shunt_buf_puts(o, "},\"policy\":{\"sources\":[");
	for (size_t i = 0; i < cfg->npolicy_sources; i++) {
		const struct shunt_policy_source *ps = &cfg->policy_sources[i];
		shunt_buf_puts(o, i ? ",{\"url\":" : "{\"url\":");
		shunt_buf_json_str(o, ps->url, strlen(ps->url));
		shunt_buf_puts(o, ",\"sha256\":");
		if (ps->sha256)
			shunt_buf_printf(o, "\"%s\"", ps->sha256);
		else
			shunt_buf_puts(o, "null");
		shunt_buf_printf(o, ",\"insecure\":%s}", ps->insecure ? "true" : "false");
	}
	shunt_buf_printf(o, "]},\"pool\":{\"microvm\":%u,\"gvisor\":%u},",
			 cfg->pool_size[SHUNT_RUNTIME_MICROVM],
			 cfg->pool_size[SHUNT_RUNTIME_GVISOR]);
	shunt_buf_printf(o, "\"prompt\":{\"timeout\":%u},", cfg->prompt_timeout);
	dump_strv_json(o, "sources", &cfg->sources);
	shunt_buf_putc(o, ',');
	dump_strv_json(o, "warnings", &cfg->warnings);
	shunt_buf_puts(o, "}\n");
}

void shunt_config_dump(const struct shunt_config *cfg, bool json, struct shunt_buf *out)
{
	if (json)
		dump_json(cfg, out);
	else
		dump_yaml(cfg, out);
}
