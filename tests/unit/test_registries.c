/* The install allowlist: which rules are installs of which ecosystem,
 * registry URLs as allowlist entries, and the registries read from the
 * tools' configuration files and variables; the toolchain paths of a
 * command (a script's interpreter, a path named in /tmp, refusals). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "registries.h"
#include "tap.h"
#include "toolchain.h"

static void test_rules(void)
{
	const char *a[] = {"sudo", "npm-install"};
	is_int(shunt_registries_of_rules(a, 2), SHUNT_ECO_NPM, "npm-install is an npm install");
	const char *b[] = {"pip-install", "cargo-install", "go-install"};
	is_int(shunt_registries_of_rules(b, 3), SHUNT_ECO_PYPI | SHUNT_ECO_CRATES | SHUNT_ECO_GO,
	       "several installs, several ecosystems");
	const char *c[] = {"rm-rf-root-or-home"};
	is_int(shunt_registries_of_rules(c, 1), 0, "no install, no ecosystem");
}

static void url(const char *u, const char *want, int want_priv)
{
	int priv = -1;
	char *e = shunt_registries_url_entry(u, &priv);
	if (!want) {
		ok(e == NULL, "%s: no entry", u);
	} else {
		ok(e && strcmp(e, want) == 0, "%s -> %s (got %s)", u, want, e ? e : "NULL");
		ok(priv == want_priv, "%s: private %d", u, want_priv);
	}
	free(e);
}

static void test_urls(void)
{
	url("https://registry.npmjs.org/", "registry.npmjs.org", 0);
	url("http://Mirror.Example:80/x", "mirror.example", 0);
	url("https://npm.corp.example:4873/", "npm.corp.example:4873", 0);
	url("https://user:secret@idx.example/simple", "idx.example", 0);
	url("sparse+https://crates.mirror.example/index/", "crates.mirror.example", 0);
	url("http://127.0.0.1:8765/pkg.tgz", "127.0.0.1:8765", 1);
	url("http://localhost:4873", "localhost:4873", 1);
	url("http://[::1]:4873/", "[::1]:4873", 1);
	url("http://10.1.2.3/simple", "10.1.2.3", 1);
	url("file:///tmp/x", NULL, 0);
	url("direct", NULL, 0);
	url("https://:443/", NULL, 0);
	url("https://host:99999/", NULL, 0);
}

static char tmp[] = "/tmp/shunt-test-registries.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX], d[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	snprintf(d, sizeof(d), "%s", p);
	for (char *s = strchr(d + strlen(tmp) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(d, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_config(void)
{
	char home[PATH_MAX], ws[PATH_MAX], sub[PATH_MAX];
	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(ws, sizeof(ws), "%s/ws", tmp);
	snprintf(sub, sizeof(sub), "%s/ws/pkg", tmp);
	put("home/.npmrc", "; comment\nregistry = https://user-reg.example/\n");
	put("ws/.npmrc", "@acme:registry=https://acme.example:8443/\nregistry=${REG}\n");
	put("ws/pkg/.npmrc", "registry=http://127.0.0.1:4873/\n");
	put("home/.config/pip/pip.conf",
	    "[global]\nindex-url = https://pip.example/simple\nextra-index-url =\n"
	    "  https://extra1.example/simple\n  https://extra2.example/simple\n[install]\n"
	    "trusted-host = not-a-url.example\n");
	put("home/.cargo/config.toml",
	    "[source.mirror]\nregistry = \"sparse+https://cargo.example/\"\n"
	    "[registries.corp]\nindex = \"https://corp-index.example/git\"\n");
	char *env[] = {"PATH=/usr/bin", "GOPROXY=https://goproxy.example,direct",
		       "PIP_EXTRA_INDEX_URL=https://e1.example https://e2.example", NULL};
	struct shunt_strv hosts = {0}, notes = {0};
	int rc =
	    shunt_registries_hosts(SHUNT_ECO_NPM | SHUNT_ECO_PYPI | SHUNT_ECO_CRATES | SHUNT_ECO_GO,
				   env, home, sub, ws, &hosts, &notes);
	is_int(rc, 0, "registries read");
	static const char *const want[] = {
	    "registry.npmjs.org", "pypi.org",	       "crates.io",   "proxy.golang.org",
	    "user-reg.example",	  "acme.example:8443", "pip.example", "extra1.example",
	    "extra2.example",	  "e1.example",	       "e2.example",  "cargo.example",
	    "corp-index.example", "goproxy.example"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok(shunt_strv_has(&hosts, want[i]), "allowed: %s", want[i]);
	ok(!shunt_strv_has(&hosts, "127.0.0.1:4873"),
	   "a loopback registry is not allowed by itself");
	ok(!shunt_strv_has(&hosts, "not-a-url.example"), "other pip keys are not registries");
	ok(!shunt_strv_has(&hosts, "direct"), "GOPROXY's direct is no host");
	ok(notes.n == 1 && strstr(notes.v[0], "127.0.0.1:4873"), "the loopback registry is noted");
	shunt_strv_free(&hosts);
	shunt_strv_free(&notes);

	rc = shunt_registries_hosts(SHUNT_ECO_NPM, env, home, sub, ws, &hosts, &notes);
	ok(rc == 0 && !shunt_strv_has(&hosts, "pip.example"), "only the asked ecosystems are read");
	shunt_strv_free(&hosts);
	shunt_strv_free(&notes);
}

static void test_toolchain(void)
{
	char home[PATH_MAX], ws[PATH_MAX], tool[PATH_MAX], path[PATH_MAX + 16];
	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(ws, sizeof(ws), "%s/ws", tmp);
	snprintf(tool, sizeof(tool), "%s/opt/.pyenv/versions/9.9/bin/python9", tmp);
	put("opt/.pyenv/versions/9.9/bin/python9", "#!/bin/sh\n");
	chmod(tool, 0755);
	char script[PATH_MAX + 64];
	snprintf(script, sizeof(script), "#!%s\nprint(1)\n", tool);
	put("ws/run.py", script);
	char run[PATH_MAX];
	snprintf(run, sizeof(run), "%s/ws/run.py", tmp);
	chmod(run, 0755);
	put("dist/pkg.whl", "zip");
	mkdir(strcat(strcpy(path, tmp), "/sockdir"), 0755);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sockdir/agent", tmp);
	ok(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "a socket in a named dir");

	char line[3 * PATH_MAX];
	snprintf(line, sizeof(line), "./run.py --find-links=%s/dist %s/dist/pkg.whl %s/sockdir /",
		 tmp, tmp, tmp);
	char *argv[] = {"/bin/sh", "-c", line, NULL};
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	struct shunt_strv hosts = {0}, guests = {0}, notes = {0};
	is_int(shunt_toolchain_paths(argv, env, home, ws, ws, &hosts, &guests, &notes), 0,
	       "toolchain paths");
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/opt/.pyenv", tmp);
	ok(shunt_strv_has(&hosts, want),
	   "a script's interpreter in a manager's folder: the folder");
	snprintf(want, sizeof(want), "%s/dist/pkg.whl", tmp);
	ok(shunt_strv_has(&hosts, want), "a file named in /tmp: exactly that file");
	snprintf(want, sizeof(want), "%s/dist", tmp);
	ok(shunt_strv_has(&hosts, want), "a --opt=PATH value");
	snprintf(want, sizeof(want), "%s/sockdir", tmp);
	ok(!shunt_strv_has(&hosts, want), "a directory holding a socket is not shown");
	ok(!shunt_strv_has(&hosts, "/"), "/ is never shown");
	ok(hosts.n == guests.n, "hosts and guests in step");
	bool said = false;
	for (size_t i = 0; i < notes.n; i++)
		said |= strstr(notes.v[i], "sockdir") && strstr(notes.v[i], "socket");
	ok(said, "and the plan says why");
	shunt_strv_free(&hosts);
	shunt_strv_free(&guests);
	shunt_strv_free(&notes);
	if (s >= 0)
		close(s);
}

int main(void)
{
	test_rules();
	test_urls();
	if (!mkdtemp(tmp))
		return 1;
	test_config();
	test_toolchain();
	char cmd[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
