/* The network an install needs (see registries.h). The tools' files are
 * read the way the tools read them, only as far as finding registry
 * URLs: npm's ini-style .npmrc, pip's INI pip.conf, cargo's TOML keys
 * `index` and `registry`, Go's env file. Each file is read once, capped
 * at CONF_MAX bytes, in one pass. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fsutil.h"
#include "netpresets.h"
#include "netproxy.h"
#include "registries.h"

#define CONF_MAX (256 * 1024)

/* Install rules and the ecosystem each one reaches. */
static const struct {
	const char *rule;
	unsigned eco;
} rule_eco[] = {
    {"npm-install", SHUNT_ECO_NPM},  {"npx-package", SHUNT_ECO_NPM},
    {"pip-install", SHUNT_ECO_PYPI}, {"cargo-install", SHUNT_ECO_CRATES},
    {"go-install", SHUNT_ECO_GO},    {"gem-install", SHUNT_ECO_RUBYGEMS},
};

unsigned shunt_registries_of_rules(const char *const *ids, size_t n)
{
	unsigned eco = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof(rule_eco) / sizeof(rule_eco[0]); j++)
			if (ids[i] && strcmp(ids[i], rule_eco[j].rule) == 0)
				eco |= rule_eco[j].eco;
	return eco;
}

static bool host_private(const char *host)
{
	size_t n = strlen(host);
	if (strcasecmp(host, "localhost") == 0 ||
	    (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
		return true;
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1)
		return shunt_netproxy_addr_private((struct sockaddr *)&a4);
	if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1)
		return shunt_netproxy_addr_private((struct sockaddr *)&a6);
	return false;
}

char *shunt_registries_url_entry(const char *url, int *private_addr)
{
	*private_addr = 0;
	static const char *const prefixes[] = {"sparse+", "registry+", "git+"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncasecmp(url, prefixes[i], strlen(prefixes[i])) == 0)
			url += strlen(prefixes[i]);
	unsigned port;
	if (strncasecmp(url, "https://", 8) == 0) {
		url += 8;
		port = 443;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		url += 7;
		port = 80;
	} else {
		return NULL;
	}
	size_t alen = strcspn(url, "/?#");
	const char *at = memrchr(url, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - url);
		url = at + 1;
	}
	char host[256];
	size_t hlen;
	const char *rest;
	bool v6 = url[0] == '[';
	if (v6) {
		const char *close = memchr(url, ']', alen);
		if (!close)
			return NULL;
		hlen = (size_t)(close - url - 1);
		if (hlen >= sizeof(host))
			return NULL;
		memcpy(host, url + 1, hlen);
		rest = close + 1;
	} else {
		const char *colon = memchr(url, ':', alen);
		hlen = colon ? (size_t)(colon - url) : alen;
		if (hlen >= sizeof(host))
			return NULL;
		memcpy(host, url, hlen);
		rest = url + hlen;
	}
	host[hlen] = '\0';
	if (hlen == 0)
		return NULL;
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (*rest == ':') {
		char *end;
		unsigned long p = strtoul(rest + 1, &end, 10);
		if (end == rest + 1 || p == 0 || p > 65535)
			return NULL;
		port = (unsigned)p;
	}
	*private_addr = host_private(host);
	char *e = NULL;
	/* an entry without a port allows 80 and 443 */
	if (port == 80 || port == 443)
		e = strdup(host);
	else if (asprintf(&e, v6 ? "[%s]:%u" : "%s:%u", host, port) < 0)
		e = NULL;
	return e;
}

struct collect {
	struct shunt_strv *hosts;
	struct shunt_strv *notes;
	int oom;
};

/* One registry URL named in where (a file or variable). */
static void add_url(struct collect *c, const char *url, size_t n, const char *where)
{
	char u[2048];
	while (n > 0 && isspace((unsigned char)url[n - 1]))
		n--;
	if (n >= 2 && (url[0] == '"' || url[0] == '\'') && url[n - 1] == url[0]) {
		url++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(u))
		return;
	memcpy(u, url, n);
	u[n] = '\0';
	int priv = 0;
	_cleanup_free_ char *e = shunt_registries_url_entry(u, &priv);
	if (!e)
		return;
	if (priv) {
		char note[600];
		snprintf(note, sizeof(note),
			 "network: %.200s names registry %.200s on a private address: not allowed "
			 "unless sandbox.allow_hosts lists it",
			 where, e);
		if (!shunt_strv_has(c->notes, note) && shunt_strv_push(c->notes, note) < 0)
			c->oom = 1;
		return;
	}
	if (!shunt_strv_has(c->hosts, e) && shunt_strv_push(c->hosts, e) < 0)
		c->oom = 1;
}

/* Each whitespace- (or sep-) separated URL of a variable's value. */
static void add_list(struct collect *c, const char *v, const char *seps, const char *where)
{
	while (v && *v) {
		size_t skip = strspn(v, seps);
		v += skip;
		size_t n = strcspn(v, seps);
		if (n)
			add_url(c, v, n, where);
		v += n;
	}
}

/* What a configuration line holds, for the file kinds below. */
enum kind { NPMRC, PIPCONF, CARGO, GOENV };

static bool key_wanted(enum kind k, const char *key, size_t n)
{
	switch (k) {
	case NPMRC: /* registry, @scope:registry */
		return (n == 8 && strncmp(key, "registry", 8) == 0) ||
		       (n > 9 && strncmp(key + n - 9, ":registry", 9) == 0);
	case PIPCONF:
		return (n == 9 && strncmp(key, "index-url", 9) == 0) ||
		       (n == 15 && strncmp(key, "extra-index-url", 15) == 0) ||
		       (n == 10 && strncmp(key, "find-links", 10) == 0);
	case CARGO:
		return (n == 5 && strncmp(key, "index", 5) == 0) ||
		       (n == 8 && strncmp(key, "registry", 8) == 0);
	case GOENV:
		return (n == 7 && strncmp(key, "GOPROXY", 7) == 0) ||
		       (n == 7 && strncmp(key, "GOSUMDB", 7) == 0);
	}
	return false;
}

/* Reads path and adds the URLs of its wanted keys. pip's values may go on
 * over indented continuation lines; values with ${VAR} are not expanded
 * (skipped). */
static void scan_file(struct collect *c, const char *path, enum kind k)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(path, CONF_MAX, &data, &len, &e) < 0) {
		shunt_error_free(&e);
		return;
	}
	bool cont = false; /* inside a wanted pip value */
	for (char *line = data; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		char *s = line;
		line = nl ? nl + 1 : NULL;
		bool indented = ll > 0 && (s[0] == ' ' || s[0] == '\t');
		while (ll > 0 && isspace((unsigned char)*s))
			s++, ll--;
		if (ll == 0 || *s == '#' || *s == ';' || *s == '[') {
			cont = false;
			continue;
		}
		if (cont && indented) {
			char v[2048];
			snprintf(v, sizeof(v), "%.*s", (int)(ll < sizeof(v) ? ll : sizeof(v) - 1),
				 s);
			add_list(c, v, " \t\r", path);
			continue;
		}
		cont = false;
		size_t klen = strcspn(s, "=: \t");
		if (k == PIPCONF || k == NPMRC) /* "@scope:registry" holds a colon */
			klen = strcspn(s, "= \t");
		if (klen > ll || !key_wanted(k, s, klen))
			continue;
		const char *v = s + klen;
		size_t vl = ll - klen;
		while (vl > 0 && (isspace((unsigned char)*v) || *v == '=' || *v == ':'))
			v++, vl--;
		char val[2048];
		snprintf(val, sizeof(val), "%.*s", (int)(vl < sizeof(val) ? vl : sizeof(val) - 1),
			 v);
		if (strstr(val, "${"))
			continue;
		if (k == GOENV)
			add_list(c, val, ",|\r", path);
		else if (k == PIPCONF) {
			add_list(c, val, " \t\r", path);
			cont = true;
		} else
			add_url(c, val, strlen(val), path);
	}
}

static void scan_at(struct collect *c, const char *dir, const char *rel, enum kind k)
{
	char p[PATH_MAX];
	if (dir &&
	    snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", rel) < (int)sizeof(p))
		scan_file(c, p, k);
}

/* rel in cwd and each parent up to workspace (the project's files). */
static void scan_up(struct collect *c, const char *cwd, const char *workspace, const char *rel,
		    enum kind k)
{
	if (!cwd)
		return;
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", cwd);
	for (int depth = 0; depth < 64; depth++) {
		scan_at(c, d, rel, k);
		if (!workspace || strcmp(d, workspace) == 0)
			return;
		char *slash = strrchr(d, '/');
		if (!slash || slash == d)
			return;
		*slash = '\0';
		size_t wl = strlen(workspace);
		if (strncmp(d, workspace, wl) != 0)
			return;
	}
}

static void npm_hosts(struct collect *c, char *const *env, const char *home, const char *cwd,
		      const char *ws)
{
	/* npm_config_* variables are case-insensitive */
	for (char *const *e = env; e && *e; e++) {
		size_t kl = strcspn(*e, "=");
		if (kl > 11 && strncasecmp(*e, "npm_config_", 11) == 0 && (*e)[kl] && kl >= 19 &&
		    strncasecmp(*e + kl - 8, "registry", 8) == 0)
			add_url(c, *e + kl + 1, strlen(*e + kl + 1), "npm_config_registry");
	}
	const char *user = shunt_strv_env_get(env, "npm_config_userconfig");
	if (!user)
		user = shunt_strv_env_get(env, "NPM_CONFIG_USERCONFIG");
	if (user)
		scan_file(c, user, NPMRC);
	else
		scan_at(c, home, ".npmrc", NPMRC);
	scan_up(c, cwd, ws, ".npmrc", NPMRC);
	scan_file(c, "/etc/npmrc", NPMRC);
	scan_file(c, "/usr/etc/npmrc", NPMRC);
	scan_file(c, "/usr/local/etc/npmrc", NPMRC);
}

static void pip_hosts(struct collect *c, char *const *env, const char *home)
{
	static const char *const vars[] = {
	    "PIP_INDEX_URL",	  "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_INDEX_URL",
	    "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX",	 "UV_INDEX"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		add_list(c, shunt_strv_env_get(env, vars[i]), " \t", vars[i]);
	scan_file(c, "/etc/pip.conf", PIPCONF);
	scan_file(c, "/etc/xdg/pip/pip.conf", PIPCONF);
	scan_at(c, home, ".pip/pip.conf", PIPCONF);
	const char *xdg = shunt_strv_env_get(env, "XDG_CONFIG_HOME");
	if (xdg && *xdg)
		scan_at(c, xdg, "pip/pip.conf", PIPCONF);
	else
		scan_at(c, home, ".config/pip/pip.conf", PIPCONF);
	scan_at(c, shunt_strv_env_get(env, "VIRTUAL_ENV"), "pip.conf", PIPCONF);
	const char *f = shunt_strv_env_get(env, "PIP_CONFIG_FILE");
	if (f)
		scan_file(c, f, PIPCONF);
}

static void cargo_hosts(struct collect *c, char *const *env, const char *home, const char *cwd,
			const char *ws)
{
	for (char *const *e = env; e && *e; e++) {
		size_t kl = strcspn(*e, "=");
		if (kl > 22 && strncmp(*e, "CARGO_REGISTRIES_", 17) == 0 && (*e)[kl] &&
		    strncmp(*e + kl - 6, "_INDEX", 6) == 0)
			add_url(c, *e + kl + 1, strlen(*e + kl + 1), "CARGO_REGISTRIES_*_INDEX");
	}
	const char *ch = shunt_strv_env_get(env, "CARGO_HOME");
	char def[PATH_MAX];
	if (!ch && home && snprintf(def, sizeof(def), "%s/.cargo", home) < (int)sizeof(def))
		ch = def;
	scan_at(c, ch, "config.toml", CARGO);
	scan_at(c, ch, "config", CARGO);
	scan_up(c, cwd, ws, ".cargo/config.toml", CARGO);
	scan_up(c, cwd, ws, ".cargo/config", CARGO);
}

static void go_hosts(struct collect *c, char *const *env, const char *home)
{
	const char *p = shunt_strv_env_get(env, "GOPROXY");
	if (p) {
		add_list(c, p, ",|", "GOPROXY");
	} else {
		const char *f = shunt_strv_env_get(env, "GOENV");
		const char *xdg = shunt_strv_env_get(env, "XDG_CONFIG_HOME");
		if (f)
			scan_file(c, f, GOENV);
		else if (xdg && *xdg)
			scan_at(c, xdg, "go/env", GOENV);
		else
			scan_at(c, home, ".config/go/env", GOENV);
	}
	/* GOSUMDB "name+key url": the URL, when given, is the one reached */
	const char *s = shunt_strv_env_get(env, "GOSUMDB");
	const char *sp = s ? strchr(s, ' ') : NULL;
	if (sp)
		add_list(c, sp, " ", "GOSUMDB");
}

int shunt_registries_hosts(unsigned eco, char *const *env, const char *home, const char *cwd,
			   const char *workspace, struct shunt_strv *hosts,
			   struct shunt_strv *notes)
{
	static const struct {
		unsigned eco;
		const char *preset;
	} presets[] = {{SHUNT_ECO_NPM, "npm"},
		       {SHUNT_ECO_PYPI, "pypi"},
		       {SHUNT_ECO_CRATES, "crates"},
		       {SHUNT_ECO_GO, "go"},
		       {SHUNT_ECO_RUBYGEMS, "rubygems"}};
	struct collect c = {hosts, notes, 0};
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (!(eco & presets[i].eco))
			continue;
		for (const char *const *h = shunt_netpresets_get(presets[i].preset); h && *h; h++)
			if (!shunt_strv_has(hosts, *h) && shunt_strv_push(hosts, *h) < 0)
				return -1;
	}
	if (eco & SHUNT_ECO_NPM)
		npm_hosts(&c, env, home, cwd, workspace);
	if (eco & SHUNT_ECO_PYPI)
		pip_hosts(&c, env, home);
	if (eco & SHUNT_ECO_CRATES)
		cargo_hosts(&c, env, home, cwd, workspace);
	if (eco & SHUNT_ECO_GO)
		go_hosts(&c, env, home);
	return c.oom ? -1 : 0;
}
