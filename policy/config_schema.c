/* The configuration schema: what each key of a layer means, and what a
 * workspace layer (tighten) may change. Walked by config_layer.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_layer.h"
#include "paths.h"
#include "policysrc.h"

/* libyaml shares aliased nodes; capping the node count bounds both the
 * document and any walk over it (billion laughs). */
#define CONFIG_MAX_NODES 10000

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

static void strv_replace(struct shunt_strv *dst, struct shunt_strv *src)
{
	shunt_strv_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* Appends src's entries not already in dst. */
static int strv_accumulate(struct shunt_layer *L, struct shunt_strv *dst,
			   const struct shunt_strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (!shunt_strv_has(dst, src->v[i]) && shunt_strv_push(dst, src->v[i]) < 0)
			return shunt_layer_oom(L);
	return 0;
}

/* ---- sandbox.bind_mounts ---- */

static const char *const bind_keys[] = {"host_path", "container_path", "read_only"};

static int bind_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		     void *ctx)
{
	struct shunt_bind *b = ctx;
	const char *s;
	if (k == 2)
		return shunt_layer_get_bool(L, v, "sandbox.bind_mounts.read_only", &b->read_only);
	const char *kn =
	    k == 0 ? "sandbox.bind_mounts.host_path" : "sandbox.bind_mounts.container_path";
	if (shunt_layer_get_str(L, v, kn, &s) < 0)
		return -1;
	char *p = k == 0 ? shunt_paths_expand_tilde(s) : strdup(s);
	if (!p)
		return shunt_layer_oom(L);
	if (p[0] != '/') {
		free(p);
		return shunt_layer_error(L, v, "%s: expected an absolute path, got '%s'", kn, s);
	}
	char **dst = k == 0 ? &b->host_path : &b->container_path;
	free(*dst);
	*dst = p;
	return 0;
}

static int get_binds(struct shunt_layer *L, const yaml_node_t *n, struct shunt_bind **out,
		     size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (shunt_layer_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return shunt_layer_error(
		    L, n,
		    "sandbox.bind_mounts: expected a list of {host_path, container_path, "
		    "read_only}, got %s",
		    shunt_layer_kind(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	struct shunt_bind *b = calloc(cnt ? cnt : 1, sizeof(*b));
	if (!b)
		return shunt_layer_oom(L);
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *item = shunt_layer_node(L, n->data.sequence.items.start[i]);
		b[i].read_only = true; /* safe default */
		if (!item || shunt_layer_walk_map(L, item, "sandbox.bind_mounts entry", bind_keys,
						  3, bind_pair, &b[i]) < 0)
			goto fail;
		if (!b[i].host_path || !b[i].container_path) {
			shunt_layer_error(
			    L, item,
			    "sandbox.bind_mounts entry: needs both host_path and container_path");
			goto fail;
		}
	}
	*out = b;
	*nout = cnt;
	return 0;
fail:
	shunt_config_binds_free(b, cnt);
	return -1;
}

/* ---- sandbox.profiles ---- */

static const char *const profile_keys[] = {"READ_ONLY", "WORKSPACE_WRITE", "SYSTEM_WRITE",
					   "GODMODE"};
/* Runtimes a user may name (not "host"). */
#define USER_RUNTIMES 6

static int profile_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
			const yaml_node_t *v, void *ctx)
{
	char what[64];
	snprintf(what, sizeof(what), "sandbox.profiles.%s", profile_keys[k]);
	int rt;
	if (shunt_layer_get_enum(L, v, what, shunt_runtime_names, USER_RUNTIMES, NULL, 0, &rt) < 0)
		return -1;
	enum shunt_runtime *slot = &L->cfg->sandbox.profile_runtime[k];
	if (L->tighten) {
		if ((int)*slot != rt)
			return shunt_layer_loosen(L, v, what);
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
const char *const shunt_config_vm_backends[3] = {"auto", "firecracker", "qemu"};
static const char *const sandbox_keys[] = {
    "runtime",	   "image",	      "timeout",    "network_mode",
    "allow_hosts", "enable_cache",    "cache_dirs", "env_whitelist",
    "bind_mounts", "seccomp_profile", "profiles",   "accept_weaker_isolation",
    "hide_paths",  "vm_backend",
};
#define NSANDBOX_KEYS (sizeof(sandbox_keys) / sizeof(*sandbox_keys))

/* A replaceable string list; workspace files may only narrow it. */
static int apply_list(struct shunt_layer *L, const yaml_node_t *v, const char *what, bool path,
		      struct shunt_strv *dst)
{
	struct shunt_strv nv;
	if (shunt_layer_get_strv(L, v, what, path, &nv) < 0)
		return -1;
	if (L->tighten && !shunt_strv_subset(&nv, dst)) {
		shunt_strv_free(&nv);
		return shunt_layer_loosen(L, v, what);
	}
	strv_replace(dst, &nv);
	return 0;
}

static int apply_string(struct shunt_layer *L, const yaml_node_t *v, const char *what, bool path,
			char **dst)
{
	const char *s;
	if (shunt_layer_get_str(L, v, what, &s) < 0)
		return -1;
	if (L->tighten) {
		if (*dst && strcmp(*dst, s) == 0)
			return 0;
		return shunt_layer_loosen(L, v, what);
	}
	char *p = path ? shunt_paths_expand_tilde(s) : strdup(s);
	if (!p)
		return shunt_layer_oom(L);
	free(*dst);
	*dst = p;
	return 0;
}

static int sandbox_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
			const yaml_node_t *v, void *ctx)
{
	struct shunt_config *cfg = L->cfg;
	struct shunt_sandbox_config *s = &cfg->sandbox;
	int e;
	bool b;
	unsigned long long u = 0;
	switch (k) {
	case SB_RUNTIME:
		/* remote: not a local runner; commands go to remote.url */
		if (shunt_layer_get_enum(L, v, "sandbox.runtime", shunt_runtime_names,
					 USER_RUNTIMES, "remote", -2, &e) < 0)
			return -1;
		if (L->tighten &&
		    (e == -2 ? !cfg->remote_runtime : cfg->remote_runtime || (int)s->runtime != e))
			return shunt_layer_loosen(L, v, "sandbox.runtime");
		cfg->remote_runtime = e == -2;
		if (e != -2)
			s->runtime = (enum shunt_runtime)e;
		return 0;
	case SB_IMAGE:
		return apply_string(L, v, "sandbox.image", false, &s->image);
	case SB_TIMEOUT:
		if (shunt_layer_get_uint(L, v, "sandbox.timeout", "seconds", UINT_MAX, &u) < 0)
			return -1;
		/* Shorter is tighter; 0 means no limit. */
		if (L->tighten && (u == 0 || (s->timeout && u > s->timeout)))
			return shunt_layer_loosen(L, v, "sandbox.timeout");
		s->timeout = (unsigned)u;
		return 0;
	case SB_NETWORK:
		if (shunt_layer_get_enum(L, v, "sandbox.network_mode", shunt_netmode_names,
					 shunt_netmode_count, "allowlist", SHUNT_NET_RESTRICTED,
					 &e) < 0)
			return -1;
		if (L->tighten &&
		    net_strictness(e) < net_strictness(shunt_config_effective_net(cfg)))
			return shunt_layer_loosen(L, v, "sandbox.network_mode");
		s->network_mode = (enum shunt_netmode)e;
		s->network_mode_set = true;
		return 0;
	case SB_ALLOW_HOSTS:
		return apply_list(L, v, "sandbox.allow_hosts", false, &s->allow_hosts);
	case SB_ENABLE_CACHE:
		if (shunt_layer_get_bool(L, v, "sandbox.enable_cache", &b) < 0)
			return -1;
		if (L->tighten && b && !s->enable_cache)
			return shunt_layer_loosen(L, v, "sandbox.enable_cache");
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
			shunt_config_binds_free(nb, n);
			return shunt_layer_loosen(L, v, "sandbox.bind_mounts");
		}
		shunt_config_binds_free(s->bind_mounts, s->nbind_mounts);
		s->bind_mounts = nb;
		s->nbind_mounts = n;
		return 0;
	}
	case SB_SECCOMP:
		return apply_string(L, v, "sandbox.seccomp_profile", true, &s->seccomp_profile);
	case SB_PROFILES:
		return shunt_layer_walk_map(L, v, "sandbox.profiles", profile_keys, 4, profile_pair,
					    NULL);
	case SB_WEAKER:
		if (shunt_layer_get_bool(L, v, "sandbox.accept_weaker_isolation", &b) < 0)
			return -1;
		if (L->tighten && b && !s->accept_weaker_isolation)
			return shunt_layer_loosen(L, v, "sandbox.accept_weaker_isolation");
		s->accept_weaker_isolation = b;
		return 0;
	case SB_VM_BACKEND: {
		if (shunt_layer_get_enum(L, v, "sandbox.vm_backend", shunt_config_vm_backends, 3,
					 NULL, 0, &e) < 0)
			return -1;
		/* the VM is the boundary either way; a workspace may not switch it */
		if (L->tighten && e != s->vm_backend)
			return shunt_layer_loosen(L, v, "sandbox.vm_backend");
		s->vm_backend = e;
		return 0;
	}
	case SB_HIDE: {
		/* Hiding more is always tighter: workspace entries add. */
		struct shunt_strv nv;
		if (shunt_layer_get_strv(L, v, "sandbox.hide_paths", true, &nv) < 0)
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

static int policies_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
			 const yaml_node_t *v, void *ctx)
{
	struct shunt_strv nv;
	if (shunt_layer_get_strv(L, v, k == 0 ? "policies.allowlist" : "policies.denylist", false,
				 &nv) < 0)
		return -1;
	int rc = 0;
	if (k == 0) {
		if (L->tighten && nv.n > 0)
			rc = shunt_layer_loosen(L, v, "policies.allowlist");
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

static int set_str(struct shunt_layer *L, const yaml_node_t *v, const char *what, char **dst)
{
	const char *s;
	if (shunt_layer_get_str(L, v, what, &s) < 0)
		return -1;
	char *d = strdup(s);
	if (!d)
		return shunt_layer_oom(L);
	free(*dst);
	*dst = d;
	return 0;
}

static int url_ok(struct shunt_layer *L, const yaml_node_t *v, const char *what, const char *url,
		  bool insecure)
{
	if (strncmp(url, "https://", 8) == 0 && url[8])
		return 0;
	if (insecure && strncmp(url, "http://127.0.0.1:", 17) == 0)
		return 0;
	return shunt_layer_error(
	    L, v,
	    "%s: an https:// URL is required (http://127.0.0.1 only with insecure: true), got '%s'",
	    what, url);
}

static int forward_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
			const yaml_node_t *v, void *ctx)
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
			return shunt_layer_error(
			    L, v,
			    "audit.forward.format: jsonl, loki, elasticsearch or splunk-hec, "
			    "got '%s'",
			    f->format);
		return 0;
	case 2:
		return set_str(L, v, "audit.forward.token_file", &f->token_file);
	case 3:
		if (shunt_layer_get_uint(L, v, "audit.forward.batch", "records", 10000, &n) < 0)
			return -1;
		if (n == 0)
			return shunt_layer_error(L, v, "audit.forward.batch: at least 1");
		f->batch = (unsigned)n;
		return 0;
	case 4:
		return shunt_layer_get_bool(L, v, "audit.forward.insecure", &f->insecure);
	case 5:
		if (shunt_layer_get_uint(L, v, "audit.forward.interval", "seconds", 86400, &n) < 0)
			return -1;
		if (n == 0)
			return shunt_layer_error(L, v, "audit.forward.interval: at least 1 second");
		f->interval = (unsigned)n;
		return 0;
	case 6:
		if (shunt_layer_get_size(L, v, "audit.forward.spool_max", &n) < 0)
			return -1;
		if (n < 1024)
			return shunt_layer_error(L, v, "audit.forward.spool_max: at least 1K");
		f->spool_max = n;
		return 0;
	}
	return 0;
}

/* remote: {url, token_file, ca_file, insecure}: the shuntd that
 * sandbox.runtime: remote sends commands to (ca_file: the CA bundle its
 * TLS certificate is verified against, instead of the system's). */
static const char *const remote_keys[] = {"url", "token_file", "insecure", "ca_file"};

static int remote_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
		       const yaml_node_t *v, void *ctx)
{
	struct shunt_config *c = L->cfg;
	switch (k) {
	case 0:
		return set_str(L, v, "remote.url", &c->remote_url);
	case 1:
		if (set_str(L, v, "remote.token_file", &c->remote_token_file) < 0)
			return -1;
		if (c->remote_token_file[0] == '~') {
			char *p = shunt_paths_expand_tilde(c->remote_token_file);
			if (!p)
				return shunt_layer_oom(L);
			free(c->remote_token_file);
			c->remote_token_file = p;
		}
		return 0;
	case 2:
		return shunt_layer_get_bool(L, v, "remote.insecure", &c->remote_insecure);
	case 3:
		if (set_str(L, v, "remote.ca_file", &c->remote_ca_file) < 0)
			return -1;
		if (c->remote_ca_file[0] == '~') {
			char *p = shunt_paths_expand_tilde(c->remote_ca_file);
			if (!p)
				return shunt_layer_oom(L);
			free(c->remote_ca_file);
			c->remote_ca_file = p;
		}
		return 0;
	}
	return 0;
}

static int apply_forward(struct shunt_layer *L, const yaml_node_t *v)
{
	if (shunt_layer_is_null(v))
		return 0;
	if (L->tighten) /* a repository does not decide where the user's log goes */
		return shunt_layer_loosen(L, v, "audit.forward");
	if (shunt_layer_walk_map(L, v, "audit.forward", forward_keys, 7, forward_pair, NULL) < 0)
		return -1;
	struct shunt_audit_forward *f = &L->cfg->audit_forward;
	if (!f->url)
		return shunt_layer_error(L, v, "audit.forward: url is required");
	return url_ok(L, v, "audit.forward.url", f->url, f->insecure);
}

static const char *const source_keys[] = {"url", "sha256", "insecure"};

static int source_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
		       const yaml_node_t *v, void *ctx)
{
	struct shunt_policy_source *s = ctx;
	if (k == 0)
		return set_str(L, v, "policy.sources.url", &s->url);
	if (k == 2)
		return shunt_layer_get_bool(L, v, "policy.sources.insecure", &s->insecure);
	if (set_str(L, v, "policy.sources.sha256", &s->sha256) < 0)
		return -1;
	size_t n = strlen(s->sha256);
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s->sha256[i]))
			n = 0;
	if (n != 64)
		return shunt_layer_error(L, v, "policy.sources.sha256: 64 lowercase hex digits");
	return 0;
}

static bool policy_is_sources(struct shunt_layer *L, const yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE ||
	    v->data.mapping.pairs.start == v->data.mapping.pairs.top)
		return false;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = shunt_layer_node(L, p->key);
		if (!k || k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, "sources") != 0)
			return false;
	}
	return true;
}

static int apply_policy(struct shunt_layer *L, const yaml_node_t *v)
{
	if (shunt_layer_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return shunt_layer_error(L, v, "policy: expected a mapping, got %s",
					 shunt_layer_kind(v));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = shunt_layer_node(L, p->key),
				  *val = shunt_layer_node(L, p->value);
		const char *ks;
		if (!k || !val || shunt_layer_get_str(L, k, "policy key", &ks) < 0)
			return -1;
		if (strcmp(ks, "sources") != 0)
			return shunt_layer_error(L, k, "unknown key '%s' in policy (sources)", ks);
		if (shunt_layer_is_null(val))
			continue;
		if (L->tighten)
			return shunt_layer_loosen(L, val, "policy.sources");
		if (val->type != YAML_SEQUENCE_NODE)
			return shunt_layer_error(L, val, "policy.sources: expected a list, got %s",
						 shunt_layer_kind(val));
		for (yaml_node_item_t *it = val->data.sequence.items.start;
		     it < val->data.sequence.items.top; it++) {
			const yaml_node_t *e = shunt_layer_node(L, *it);
			if (!e)
				return shunt_layer_error(L, val, "policy.sources: malformed list");
			struct shunt_policy_source s = {0};
			int rc;
			if (e->type == YAML_SCALAR_NODE)
				rc = set_str(L, e, "policy.sources", &s.url);
			else
				rc = shunt_layer_walk_map(L, e, "policy.sources[]", source_keys, 3,
							  source_pair, &s);
			if (rc == 0 && !s.url)
				rc = shunt_layer_error(L, e, "policy.sources[]: url is required");
			if (rc == 0)
				rc = url_ok(L, e, "policy.sources.url", s.url, s.insecure);
			struct shunt_policy_source *ns = NULL;
			if (rc == 0) {
				ns = realloc(L->cfg->policy_sources,
					     (L->cfg->npolicy_sources + 1) * sizeof(*ns));
				if (!ns)
					rc = shunt_layer_oom(L);
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
			    !shunt_strv_has(&L->cfg->rule_files, cached) &&
			    shunt_strv_push(&L->cfg->rule_files, cached) < 0) {
				free(cached);
				return shunt_layer_oom(L);
			}
			free(cached);
		}
	}
	return 0;
}

static int audit_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		      void *ctx)
{
	if (k == 1)
		return apply_forward(L, v);
	unsigned long long sz = 0;
	if (shunt_layer_get_size(L, v, "audit.max_size", &sz) < 0)
		return -1;
	if (L->tighten) /* not policy: a repository has no say over the user's log */
		return sz == L->cfg->audit_max_bytes ? 0
						     : shunt_layer_loosen(L, v, "audit.max_size");
	L->cfg->audit_max_bytes = sz;
	return 0;
}

static int apply_risk_floors(struct shunt_layer *L, const yaml_node_t *v)
{
	if (shunt_layer_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return shunt_layer_error(
		    L, v, "risk_floors: expected a mapping of rule id to risk, got %s",
		    shunt_layer_kind(v));
	struct shunt_config *cfg = L->cfg;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = shunt_layer_node(L, p->key),
				  *val = shunt_layer_node(L, p->value);
		const char *id;
		int risk;
		if (!k || !val || shunt_layer_get_str(L, k, "risk_floors key", &id) < 0)
			return -1;
		char what[160];
		snprintf(what, sizeof(what), "risk_floors.%s", id);
		if (shunt_layer_get_enum(L, val, what, shunt_risk_names, shunt_risk_count, NULL, 0,
					 &risk) < 0)
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
			return shunt_layer_oom(L);
		cfg->risk_floors = nf;
		nf[cfg->nrisk_floors].rule_id = strdup(id);
		if (!nf[cfg->nrisk_floors].rule_id)
			return shunt_layer_oom(L);
		nf[cfg->nrisk_floors].risk = (enum shunt_risk)risk;
		cfg->nrisk_floors++;
	}
	return 0;
}

static int apply_rules(struct shunt_layer *L, const yaml_node_t *v)
{
	struct shunt_strv nv;
	if (shunt_layer_get_strv(L, v, "rules", true, &nv) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < nv.n && rc == 0; i++) {
		char *p = NULL;
		if (nv.v[i][0] == '/')
			p = strdup(nv.v[i]);
		else if (asprintf(&p, "%s/%s", L->dir, nv.v[i]) < 0)
			p = NULL;
		if (!p) {
			rc = shunt_layer_oom(L);
			break;
		}
		if (!shunt_strv_has(&L->cfg->rule_files, p) &&
		    shunt_strv_push(&L->cfg->rule_files, p) < 0)
			rc = shunt_layer_oom(L);
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
	K_SCRIPTS,
};
static const char *const top_keys[] = {
    "mode",    "security_level", "non_interactive", "on_error",	   "preset",
    "sandbox", "policies",	 "rules",	    "risk_floors", "audit",
    "policy",  "pool",		 "remote",	    "prompt",	   "scripts",
};
#define NTOP_KEYS (sizeof(top_keys) / sizeof(*top_keys))

/* pool: {microvm: N, gvisor: N}: warm sandboxes shuntd keeps. The
 * machine's resources, not policy: a workspace file cannot set it. */
static const char *const pool_keys[] = {"gvisor", "microvm"};
static const enum shunt_runtime pool_runtimes[] = {SHUNT_RUNTIME_GVISOR, SHUNT_RUNTIME_MICROVM};

static int pool_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		     void *ctx)
{
	unsigned long long u = 0;
	if (shunt_layer_get_uint(L, v, "pool size", "sandboxes", 16, &u) < 0)
		return -1;
	if (L->tighten)
		return shunt_layer_loosen(L, v, "pool");
	L->cfg->pool_size[pool_runtimes[k]] = (unsigned)u;
	return 0;
}

/* prompt: {timeout: SECONDS}: how long a prompt waits before it answers
 * no. A workspace file may shorten it, not lengthen it or lift it (0). */
static const char *const prompt_keys[] = {"timeout"};

static int prompt_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
		       const yaml_node_t *v, void *ctx)
{
	unsigned long long u = 0;
	if (shunt_layer_get_uint(L, v, "prompt.timeout", "seconds, 0 = no limit", 86400, &u) < 0)
		return -1;
	unsigned cur = L->cfg->prompt_timeout;
	if (L->tighten && (u == 0 || (cur && u > cur)))
		return shunt_layer_loosen(L, v, "prompt.timeout");
	L->cfg->prompt_timeout = (unsigned)u;
	return 0;
}

/* scripts: {max_bytes: N}: how much of a script file named to an
 * interpreter (bash x.sh, python3 x.py) is read and scanned; 0 = none.
 * A workspace file may raise it, not lower it. */
static const char *const scripts_keys[] = {"max_bytes"};

static int scripts_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key,
			const yaml_node_t *v, void *ctx)
{
	unsigned long long u = 0;
	if (shunt_layer_get_uint(L, v, "scripts.max_bytes", "bytes, 0 = do not read scripts",
				 16u << 20, &u) < 0)
		return -1;
	if (L->tighten && u < L->cfg->script_max)
		return shunt_layer_loosen(L, v, "scripts.max_bytes");
	L->cfg->script_max = (size_t)u;
	return 0;
}

static int top_pair(struct shunt_layer *L, size_t k, const yaml_node_t *key, const yaml_node_t *v,
		    void *ctx)
{
	struct shunt_config *cfg = L->cfg;
	int e;
	switch (k) {
	case K_MODE:
		if (shunt_layer_get_enum(L, v, "mode", shunt_mode_names, shunt_mode_count, NULL, 0,
					 &e) < 0)
			return -1;
		if (L->tighten && mode_strictness(e) < mode_strictness(cfg->mode))
			return shunt_layer_loosen(L, v, "mode");
		cfg->mode = (enum shunt_mode)e;
		return 0;
	case K_LEVEL:
		if (shunt_layer_get_enum(L, v, "security_level", shunt_level_names,
					 shunt_level_count, NULL, 0, &e) < 0)
			return -1;
		if (L->tighten && e < (int)cfg->security_level)
			return shunt_layer_loosen(L, v, "security_level");
		cfg->security_level = (enum shunt_level)e;
		return 0;
	case K_NONINT:
		if (shunt_layer_get_enum(L, v, "non_interactive", shunt_noninteractive_names,
					 shunt_noninteractive_count, NULL, 0, &e) < 0)
			return -1;
		if (L->tighten && e != SHUNT_NONINT_BLOCK &&
		    cfg->non_interactive == SHUNT_NONINT_BLOCK)
			return shunt_layer_loosen(L, v, "non_interactive");
		cfg->non_interactive = (enum shunt_noninteractive)e;
		return 0;
	case K_ONERROR:
		if (shunt_layer_get_enum(L, v, "on_error", shunt_onerror_names, shunt_onerror_count,
					 NULL, 0, &e) < 0)
			return -1;
		if (L->tighten && e == SHUNT_ONERROR_OPEN && cfg->on_error == SHUNT_ONERROR_CLOSED)
			return shunt_layer_loosen(L, v, "on_error");
		cfg->on_error = (enum shunt_onerror)e;
		return 0;
	case K_PRESET:
		return 0; /* applied before the other keys, see apply_doc */
	case K_SANDBOX:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "sandbox", sandbox_keys, NSANDBOX_KEYS,
					    sandbox_pair, NULL);
	case K_POLICIES:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "policies", policies_keys, 2, policies_pair,
					    NULL);
	case K_RULES:
		return apply_rules(L, v);
	case K_FLOORS:
		return apply_risk_floors(L, v);
	case K_AUDIT:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "audit", audit_keys, 2, audit_pair, NULL);
	case K_POLICY:
		/* only policy.sources lives here; anything else is most likely a
		 * typo of policies: (allowlist/denylist) and reported as one */
		if (!policy_is_sources(L, v))
			return shunt_layer_error(
			    L, key,
			    "unknown key 'policy' in the configuration, did you mean 'policies'?");
		return apply_policy(L, v);
	case K_POOL:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "pool", pool_keys, 2, pool_pair, NULL);
	case K_REMOTE:
		if (shunt_layer_is_null(v))
			return 0;
		if (L->tighten)
			return shunt_layer_loosen(L, v, "remote");
		if (shunt_layer_walk_map(L, v, "remote", remote_keys, 4, remote_pair, NULL) < 0)
			return -1;
		if (!L->cfg->remote_url)
			return shunt_layer_error(L, v, "remote: url is required");
		return url_ok(L, v, "remote.url", L->cfg->remote_url, L->cfg->remote_insecure);
	case K_PROMPT:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "prompt", prompt_keys, 1, prompt_pair, NULL);
	case K_SCRIPTS:
		if (shunt_layer_is_null(v))
			return 0;
		return shunt_layer_walk_map(L, v, "scripts", scripts_keys, 1, scripts_pair, NULL);
	}
	return 0;
}

static int apply_preset_at(struct shunt_layer *L, const yaml_node_t *v)
{
	int e;
	/* names[0] is "none"; only real presets may be named */
	if (shunt_layer_get_enum(L, v, "preset", shunt_preset_names + 1, shunt_preset_count - 1,
				 NULL, 0, &e) < 0)
		return -1;
	if (L->depth > 0)
		return shunt_layer_error(L, v, "preset: a preset cannot name another preset");
	enum shunt_preset p = (enum shunt_preset)(e + 1);
	const char *text = shunt_config_preset_text(p);
	char name[64];
	snprintf(name, sizeof(name), "preset:%s", shunt_preset_name(p));
	size_t nwarn = L->cfg->warnings.n;
	if (shunt_config_apply_layer(L->cfg, name, text, strlen(text), L->tighten, L->depth + 1,
				     L->err) < 0)
		return -1;
	/* Point the workspace warnings at the preset: line, not the preset text. */
	for (size_t i = nwarn; i < L->cfg->warnings.n; i++) {
		char *w = NULL;
		const char *rest = strstr(L->cfg->warnings.v[i], ": ");
		if (asprintf(&w, "%s:%zu:%zu: preset %s: %s", L->name, v->start_mark.line + 1,
			     v->start_mark.column + 1, shunt_preset_name(p),
			     rest ? rest + 2 : "") < 0)
			return shunt_layer_oom(L);
		free(L->cfg->warnings.v[i]);
		L->cfg->warnings.v[i] = w;
	}
	if (!L->tighten)
		L->cfg->preset = p;
	return shunt_strv_push(&L->cfg->sources, name) < 0 ? shunt_layer_oom(L) : 0;
}

int shunt_layer_apply_doc(struct shunt_layer *L)
{
	yaml_node_t *root = yaml_document_get_root_node(&L->doc);
	if (!root || shunt_layer_is_null(root))
		return 0; /* empty file */
	if (L->doc.nodes.top - L->doc.nodes.start > CONFIG_MAX_NODES)
		return shunt_layer_error(L, root, "document too large (more than %d YAML nodes)",
					 CONFIG_MAX_NODES);
	if (root->type != YAML_MAPPING_NODE)
		return shunt_layer_error(L, root,
					 "expected a mapping of settings at the top level, got %s",
					 shunt_layer_kind(root));
	/* The preset goes first so the layer's own keys override it. */
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = shunt_layer_node(L, p->key),
				  *v = shunt_layer_node(L, p->value);
		if (k && v && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "preset") == 0) {
			if (apply_preset_at(L, v) < 0)
				return -1;
			break;
		}
	}
	return shunt_layer_walk_map(L, root, "the configuration", top_keys, NTOP_KEYS, top_pair,
				    NULL);
}
