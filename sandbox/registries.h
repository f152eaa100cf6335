/* The network an install needs: which package ecosystems a decision's
 * rules name, and the allowlist entries for them, from the built-in
 * presets (policy/netpresets.c) and the registries the tools' own
 * configuration names (.npmrc, pip.conf, cargo's config.toml, GOPROXY). */
#ifndef SHUNT_REGISTRIES_H
#define SHUNT_REGISTRIES_H

#include <stddef.h>

#include "strv.h"

enum {
	SHUNT_ECO_NPM = 1u << 0,
	SHUNT_ECO_PYPI = 1u << 1,
	SHUNT_ECO_CRATES = 1u << 2,
	SHUNT_ECO_GO = 1u << 3,
	SHUNT_ECO_RUBYGEMS = 1u << 4,
};

/* The ecosystems (SHUNT_ECO_* bits) of the installs among rule ids[0..n)
 * (npm-install, pip-install, ...); 0 when none is an install. */
unsigned shunt_registries_of_rules(const char *const *ids, size_t n);

/* Appends to hosts the allowlist entries ecosystems eco need: each one's
 * preset, then every registry its tool's configuration names, read from
 * env (the command's NAME=VALUE list), the user's files under home and
 * the project's under cwd (up to workspace). A registry on a loopback or
 * private address is not added (only the user's sandbox.allow_hosts may
 * open those); a line saying so goes to notes. 0, or -1 on OOM. */
int shunt_registries_hosts(unsigned eco, char *const *env, const char *home, const char *cwd,
			   const char *workspace, struct shunt_strv *hosts,
			   struct shunt_strv *notes);

/* The allowlist entry ("host", "host:port", "[v6]:port") for a registry
 * URL (http, https, with sparse+/git+/registry+ prefixes), or NULL when
 * url names no host. *private is set when the host is a loopback or
 * private address literal or "localhost". malloc'd. */
char *shunt_registries_url_entry(const char *url, int *private_addr);

#endif
