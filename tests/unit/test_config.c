/* Layered configuration: keys, types, layering, the workspace layer,
 * presets and the fixtures in tests/fixtures/config. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "fsutil.h"
#include "json.h"
#include "tap.h"

static char tmpdir[256];
static const char *top;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *tmp_path(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;
	char *p = buf[i++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

/* Applies text as a layer; returns the error message (static) or NULL. */
static const char *apply(struct shunt_config *cfg, const char *name, const char *text, bool tighten)
{
	static char msg[1024];
	struct shunt_error *e = NULL;
	int rc = shunt_config_apply_buf(cfg, name, text, strlen(text), tighten, &e);
	if (rc == 0) {
		ok(e == NULL, "%s: no error object on success", name);
		return NULL;
	}
	snprintf(msg, sizeof(msg), "%s", e ? e->msg : "(no error)");
	if (!e || e->exitcode != 2)
		ok(0, "%s: error exitcode is 2", name);
	shunt_error_free(&e);
	return msg;
}

static bool has_warning(const struct shunt_config *cfg, const char *needle)
{
	for (size_t i = 0; i < cfg->warnings.n; i++)
		if (strstr(cfg->warnings.v[i], needle))
			return true;
	return false;
}

static bool strv_has(const struct shunt_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static void test_defaults(void)
{
	struct shunt_config c;
	shunt_config_defaults(&c);
	is_int(c.mode, SHUNT_MODE_AUTO, "default mode auto");
	is_int(c.security_level, SHUNT_LEVEL_BALANCED, "default level balanced");
	is_int(c.non_interactive, SHUNT_NONINT_SANDBOX, "default non_interactive sandbox");
	is_int(c.on_error, SHUNT_ONERROR_CLOSED, "default on_error closed");
	is_int(c.sandbox.runtime, SHUNT_RUNTIME_AUTO, "default runtime auto");
	is_int(c.sandbox.timeout, 300, "default timeout 300");
	is_int(c.sandbox.network_mode, SHUNT_NET_RESTRICTED,
	       "default network from balanced: restricted");
	ok(!c.sandbox.network_mode_set, "network_mode not explicitly set by default");
	ok(c.sandbox.enable_cache, "cache on by default");
	is_int(c.sandbox.cache_dirs.n, 7, "seven default cache dirs");
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/.npm", getenv("HOME"));
	is_str(c.sandbox.cache_dirs.v[0], want, "default cache dir ~ expanded");
	is_int(c.sandbox.env_whitelist.n, 10, "ten default env names");
	ok(strv_has(&c.sandbox.env_whitelist, "TZ") &&
	       strv_has(&c.sandbox.env_whitelist, "LOGNAME"),
	   "env whitelist has TZ and LOGNAME");
	is_int(c.sandbox.profile_runtime[SHUNT_PROFILE_READ_ONLY], SHUNT_RUNTIME_AUTO,
	       "READ_ONLY -> auto");
	is_int(c.sandbox.profile_runtime[SHUNT_PROFILE_WORKSPACE_WRITE], SHUNT_RUNTIME_AUTO,
	       "WORKSPACE_WRITE -> auto");
	is_int(c.sandbox.profile_runtime[SHUNT_PROFILE_SYSTEM_WRITE], SHUNT_RUNTIME_MICROVM,
	       "SYSTEM_WRITE -> microvm");
	is_int(c.sandbox.profile_runtime[SHUNT_PROFILE_GODMODE], SHUNT_RUNTIME_MICROVM,
	       "GODMODE -> microvm");
	is_int(c.audit_max_bytes, 10 * 1024 * 1024, "audit max 10 MiB");
	is_int(c.allowlist.n + c.denylist.n + c.rule_files.n + c.nrisk_floors, 0,
	       "no lists by default");
	shunt_config_free(&c);
	shunt_config_free(&c); /* free is idempotent */
	shunt_config_free(NULL);
}

/* Each fixture X.yaml has X.expect: "ok", "error: SUBSTR" or "warning: SUBSTR".
 * Files named ws-* are applied as a workspace layer. */
static void test_fixtures(void)
{
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof(dirpath), "%s/tests/fixtures/config", top);
	DIR *d = opendir(dirpath);
	if (!ok(d != NULL, "open %s", dirpath))
		return;
	struct dirent *de;
	int count = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		char yp[PATH_MAX * 2], ep[PATH_MAX * 2];
		snprintf(yp, sizeof(yp), "%s/%s", dirpath, de->d_name);
		snprintf(ep, sizeof(ep), "%s/%.*s.expect", dirpath, (int)(l - 5), de->d_name);
		char *ydata = NULL, *edata = NULL;
		size_t ylen, elen;
		struct shunt_error *e = NULL;
		if (shunt_fs_read(yp, 1 << 20, &ydata, &ylen, &e) < 0 ||
		    shunt_fs_read(ep, 1 << 20, &edata, &elen, &e) < 0) {
			ok(0, "%s: fixture and .expect readable: %s", de->d_name, e ? e->msg : "?");
			shunt_error_free(&e);
			free(ydata);
			continue;
		}
		while (elen && edata[elen - 1] == '\n')
			edata[--elen] = '\0';
		struct shunt_config c;
		shunt_config_defaults(&c);
		bool ws = strncmp(de->d_name, "ws-", 3) == 0;
		int rc = shunt_config_apply_buf(&c, de->d_name, ydata, ylen, ws, &e);
		if (strcmp(edata, "ok") == 0) {
			ok(rc == 0 && c.warnings.n == 0, "%s: valid, no warnings%s%s", de->d_name,
			   e ? ": " : "", e ? e->msg : "");
		} else if (strncmp(edata, "error: ", 7) == 0) {
			ok(rc < 0 && e && strstr(e->msg, edata + 7) && e->exitcode == 2,
			   "%s: error '%s'", de->d_name, edata + 7);
			if (rc < 0 && e && !strstr(e->msg, edata + 7))
				diag("got: %s", e->msg);
		} else if (strncmp(edata, "warning: ", 9) == 0) {
			ok(rc == 0 && has_warning(&c, edata + 9), "%s: warning '%s'", de->d_name,
			   edata + 9);
		} else {
			ok(0, "%s: bad .expect '%s'", de->d_name, edata);
		}
		shunt_error_free(&e);
		shunt_config_free(&c);
		free(ydata);
		free(edata);
		count++;
	}
	closedir(d);
	ok(count >= 30, "ran %d config fixtures", count);
}

/* Every key, via the reference configuration at the top of the tree. */
static void test_every_key(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/shunt.example.yaml", top);
	struct shunt_config c;
	struct shunt_error *e = NULL;
	if (access(path, R_OK) < 0) {
		skip("shunt.example.yaml not in this tree (set TOP)");
		goto inline_keys;
	}
	shunt_config_defaults(&c);
	int rc = shunt_config_apply_file(&c, path, false, &e);
	if (!ok(rc == 0, "shunt.example.yaml is valid"))
		diag("%s", e ? e->msg : "?");
	shunt_error_free(&e);
	is_str(c.sandbox.image, "ubuntu:22.04", "image");
	ok(c.sandbox.network_mode_set && c.sandbox.network_mode == SHUNT_NET_RESTRICTED,
	   "network_mode set");
	is_int(c.sandbox.allow_hosts.n, 3, "allow_hosts");
	is_int(c.sandbox.nbind_mounts, 1, "one bind mount");
	if (c.sandbox.nbind_mounts == 1) {
		is_str(c.sandbox.bind_mounts[0].host_path, "/data", "bind host_path");
		is_str(c.sandbox.bind_mounts[0].container_path, "/data", "bind container_path");
		ok(c.sandbox.bind_mounts[0].read_only, "bind read_only");
	}
	is_int(c.allowlist.n, 3, "allowlist");
	ok(strv_has(&c.denylist, "curl * | sh"), "denylist glob kept verbatim");
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/.kube", getenv("HOME"));
	ok(strv_has(&c.sandbox.hide_paths, want), "hide_paths ~ expanded");
	is_int(c.audit_max_bytes, 10 * 1024 * 1024, "audit 10MB");
	is_int(c.sources.n, 1, "one source");
	shunt_config_free(&c);

inline_keys:
	shunt_config_defaults(&c);
	ok(apply(
	       &c, "all.yaml",
	       "mode: always\nsecurity_level: strict\nnon_interactive: block\non_error: open\n"
	       "sandbox:\n  runtime: gvisor\n  timeout: 0\n  network_mode: allowlist\n"
	       "  enable_cache: no\n  cache_dirs: [~/c1, /abs]\n  env_whitelist: [HOME]\n"
	       "  seccomp_profile: ~/sec.json\n  accept_weaker_isolation: yes\n"
	       "  vm_backend: firecracker\n"
	       "  bind_mounts:\n    - {host_path: ~/src, container_path: /src, read_only: false}\n"
	       "  profiles: {READ_ONLY: process, WORKSPACE_WRITE: podman, SYSTEM_WRITE: docker, "
	       "GODMODE: microvm}\n"
	       "rules: [extra.yaml, /abs/rules.yaml]\n"
	       "risk_floors: {pkg.npm-install: high}\n"
	       "audit: {max_size: 512K}\n",
	       false) == NULL,
	   "every key accepted");
	is_int(c.mode, SHUNT_MODE_ALWAYS, "mode always");
	is_int(c.security_level, SHUNT_LEVEL_STRICT, "level strict");
	is_int(c.non_interactive, SHUNT_NONINT_BLOCK, "non_interactive block");
	is_int(c.on_error, SHUNT_ONERROR_OPEN, "on_error open");
	is_int(c.sandbox.runtime, SHUNT_RUNTIME_GVISOR, "runtime gvisor");
	is_int(c.sandbox.timeout, 0, "timeout 0");
	is_int(c.sandbox.network_mode, SHUNT_NET_RESTRICTED, "allowlist is an alias of restricted");
	ok(!c.sandbox.enable_cache, "enable_cache: no");
	snprintf(want, sizeof(want), "%s/c1", getenv("HOME"));
	is_str(c.sandbox.cache_dirs.v[0], want, "cache_dirs ~ expanded");
	is_int(c.sandbox.cache_dirs.n, 2, "cache_dirs replaced");
	is_int(c.sandbox.env_whitelist.n, 1, "env_whitelist replaced");
	snprintf(want, sizeof(want), "%s/sec.json", getenv("HOME"));
	is_str(c.sandbox.seccomp_profile, want, "seccomp_profile ~ expanded");
	ok(c.sandbox.accept_weaker_isolation, "accept_weaker_isolation: yes");
	is_int(c.sandbox.vm_backend, 1, "vm_backend: firecracker");
	{
		const char *m = apply(&c, "vm.yaml", "sandbox:\n  vm_backend: qmeu\n", false);
		ok(m && strstr(m, "vm.yaml:2:15: sandbox.vm_backend: expected one of auto | "
				  "firecracker | qemu, got 'qmeu' (did you mean 'qemu'?)"),
		   "vm_backend: a bad value is an error with file:line:col");
		ok(apply(&c, "vm2.yaml", "sandbox:\n  vm_backend: qemu\n", true) == NULL &&
		       c.sandbox.vm_backend == 1 && has_warning(&c, "sandbox.vm_backend ignored"),
		   "vm_backend: a workspace file cannot switch the VM backend");
	}
	snprintf(want, sizeof(want), "%s/src", getenv("HOME"));
	ok(c.sandbox.nbind_mounts == 1 && strcmp(c.sandbox.bind_mounts[0].host_path, want) == 0 &&
	       !c.sandbox.bind_mounts[0].read_only,
	   "bind mount host ~ expanded, read_only false");
	is_int(c.sandbox.profile_runtime[0], SHUNT_RUNTIME_PROCESS, "profile READ_ONLY");
	is_int(c.sandbox.profile_runtime[1], SHUNT_RUNTIME_PODMAN, "profile WORKSPACE_WRITE");
	is_int(c.sandbox.profile_runtime[2], SHUNT_RUNTIME_DOCKER, "profile SYSTEM_WRITE");
	char cwd[PATH_MAX];
	snprintf(want, sizeof(want), "%s/extra.yaml", getcwd(cwd, sizeof(cwd)));
	ok(c.rule_files.n == 2 && strcmp(c.rule_files.v[0], want) == 0 &&
	       strcmp(c.rule_files.v[1], "/abs/rules.yaml") == 0,
	   "rules: relative resolved, absolute kept");
	ok(c.nrisk_floors == 1 && c.risk_floors[0].risk == SHUNT_RISK_HIGH, "risk_floors");
	is_int(c.audit_max_bytes, 512 * 1024, "audit 512K");
	shunt_config_free(&c);

	/* Relative rule paths resolve against the file's directory. */
	shunt_config_defaults(&c);
	ok(apply(&c, "/etc/shunt/config.yaml", "rules: [more/x.yaml]\n", false) == NULL,
	   "rules from /etc");
	ok(c.rule_files.n == 1 && strcmp(c.rule_files.v[0], "/etc/shunt/more/x.yaml") == 0,
	   "rule path relative to the config file");
	shunt_config_free(&c);

	static const struct {
		const char *text;
		unsigned long long want;
	} sizes[] = {
	    {"12345", 12345}, {"1GiB", 1ULL << 30}, {"\"2 MB\"", 2ULL << 20}, {"3k", 3072}};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		char text[64];
		snprintf(text, sizeof(text), "audit:\n  max_size: %s\n", sizes[i].text);
		shunt_config_defaults(&c);
		ok(apply(&c, "size.yaml", text, false) == NULL &&
		       c.audit_max_bytes == sizes[i].want,
		   "audit.max_size %s", sizes[i].text);
		shunt_config_free(&c);
	}
	shunt_config_defaults(&c);
	const char *m = apply(&c, "n.yaml", "mode: \"au\\0to\"\n", false);
	ok(m && strstr(m, "n.yaml:1:7: mode: contains a NUL byte"), "embedded NUL rejected");
	m = apply(&c, "t.yaml", "sandbox:\n  cache_dirs: [~bob/x]\n", false);
	ok(m && strstr(m, "'~user' paths are not supported"), "~user rejected");
	shunt_config_free(&c);
}

static void test_suggest(void)
{
	static const char *const keys[] = {"mode", "security_level", "sandbox", "policies"};
	is_str(shunt_config_suggest("mdoe", keys, 4), "mode", "mdoe -> mode");
	is_str(shunt_config_suggest("securty_level", keys, 4), "security_level",
	       "securty_level -> security_level");
	is_str(shunt_config_suggest("policy", keys, 4), "policies", "policy -> policies");
	is_str(shunt_config_suggest("xyzzy", keys, 4), NULL, "nothing near xyzzy");
}

static void test_limits(void)
{
	struct shunt_config c;
	/* 20 000 nodes: over the cap. */
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "policies:\n  denylist:\n");
	for (int i = 0; i < 20000; i++)
		shunt_buf_puts(&b, "    - a\n");
	shunt_config_defaults(&c);
	const char *m = apply(&c, "big.yaml", b.data, false);
	ok(m && strstr(m, "document too large"), "too many nodes rejected");
	shunt_config_free(&c);
	shunt_buf_free(&b);
	/* Billion laughs stays small: aliases are shared, and lists of lists are type errors. */
	shunt_config_defaults(&c);
	m = apply(&c, "lol.yaml",
		  "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
		  false);
	ok(m && strstr(m, "unknown key 'a'"), "alias bomb is just an unknown key");
	m = apply(&c, "lol2.yaml", "policies:\n  denylist: &a [*a]\n", false);
	ok(m != NULL, "self-referencing alias is rejected, not walked forever");
	shunt_config_free(&c);
	/* Over 1 MiB. */
	size_t n = 1024 * 1024 + 10;
	char *big = malloc(n + 1);
	memset(big, '#', n);
	big[n] = '\0';
	struct shunt_error *e = NULL;
	shunt_config_defaults(&c);
	ok(shunt_config_apply_buf(&c, "huge.yaml", big, n, false, &e) < 0 && e &&
	       strstr(e->msg, "too large"),
	   "file over 1 MiB rejected");
	shunt_error_free(&e);
	shunt_config_free(&c);
	free(big);
	write_file(tmp_path("huge.yaml"), "");
	FILE *f = fopen(tmp_path("huge.yaml"), "w");
	for (int i = 0; i < 70000; i++)
		fputs("# padding padding\n", f);
	fclose(f);
	shunt_config_defaults(&c);
	ok(shunt_config_apply_file(&c, tmp_path("huge.yaml"), false, &e) < 0 && e &&
	       e->exitcode == 2,
	   "oversized file on disk rejected with exit 2");
	shunt_error_free(&e);
	ok(shunt_config_apply_file(&c, tmp_path("does-not-exist.yaml"), false, &e) == 0 && !e,
	   "missing file is skipped");
	shunt_config_free(&c);
}

static void test_layers(void)
{
	char *sys = tmp_path("system.yaml");
	char *user = tmp_path("user.yaml");
	char *envf = tmp_path("env.yaml");
	char *ws = tmp_path("ws");
	mkdir(ws, 0755);
	write_file(sys,
		   "mode: never\nsecurity_level: strict\npolicies:\n  allowlist: [a]\n  denylist: "
		   "[d-sys]\n"
		   "rules: [sys-rules.yaml]\nrisk_floors: {r1: medium}\nsandbox:\n  timeout: 10\n");
	write_file(user, "mode: risky\npolicies:\n  allowlist: [b]\n  denylist: [d-user]\n"
			 "rules: [user-rules.yaml]\nrisk_floors: {r1: low, r2: high}\nsandbox:\n  "
			 "allow_hosts: [h1]\n");
	write_file(envf, "policies:\n  allowlist: [c]\n  denylist: [d-user, d-env]\nsandbox:\n  "
			 "allow_hosts: [h2, h3]\n");
	struct shunt_config c;
	struct shunt_error *e = NULL;
	struct shunt_config_opts o = {
	    .system_path = sys, .user_path = user, .env_path = envf, .workspace = ws};
	unsetenv("SHUNT_NO_SYSTEM_CONFIG");
	if (!ok(shunt_config_load(&c, &o, &e) == 0, "load four layers"))
		diag("%s", e ? e->msg : "?");
	shunt_error_free(&e);
	is_int(c.mode, SHUNT_MODE_RISKY, "user layer overrides system mode");
	is_int(c.security_level, SHUNT_LEVEL_STRICT, "system level survives");
	is_int(c.sandbox.timeout, 10, "system timeout survives");
	ok(c.allowlist.n == 1 && strcmp(c.allowlist.v[0], "c") == 0,
	   "allowlist replaced by the last layer");
	ok(c.sandbox.allow_hosts.n == 2 && strv_has(&c.sandbox.allow_hosts, "h2") &&
	       !strv_has(&c.sandbox.allow_hosts, "h1"),
	   "allow_hosts replaced");
	ok(c.denylist.n == 3 && strv_has(&c.denylist, "d-sys") && strv_has(&c.denylist, "d-user") &&
	       strv_has(&c.denylist, "d-env"),
	   "denylist accumulates (without duplicates)");
	is_int(c.rule_files.n, 2, "rules accumulate");
	ok(c.nrisk_floors == 2 && c.risk_floors[0].risk == SHUNT_RISK_MEDIUM &&
	       c.risk_floors[1].risk == SHUNT_RISK_HIGH,
	   "risk_floors accumulate; a later lower floor does not lower");
	ok(c.sources.n == 3 && strcmp(c.sources.v[0], sys) == 0 &&
	       strcmp(c.sources.v[1], user) == 0 && strcmp(c.sources.v[2], envf) == 0,
	   "sources in order (no workspace file)");
	shunt_config_free(&c);

	/* The system layer is skipped by option and by environment. */
	o.no_system = true;
	ok(shunt_config_load(&c, &o, &e) == 0 && c.security_level == SHUNT_LEVEL_BALANCED &&
	       c.sources.n == 2,
	   "no_system skips /etc layer");
	shunt_config_free(&c);
	o.no_system = false;
	setenv("SHUNT_NO_SYSTEM_CONFIG", "1", 1);
	ok(shunt_config_load(&c, &o, &e) == 0 && c.security_level == SHUNT_LEVEL_BALANCED,
	   "SHUNT_NO_SYSTEM_CONFIG=1 skips /etc layer");
	shunt_config_free(&c);

	/* Defaults from the environment: XDG_CONFIG_HOME and SHUNT_CONFIG. */
	char xdg[PATH_MAX];
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	char *sd = tmp_path("xdg/shunt");
	mkdir(xdg, 0755);
	mkdir(sd, 0755);
	write_file(tmp_path("xdg/shunt/config.yaml"), "mode: always\n");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("SHUNT_CONFIG", envf, 1);
	struct shunt_config_opts o2 = {.workspace = ws};
	ok(shunt_config_load(&c, &o2, &e) == 0 && c.mode == SHUNT_MODE_ALWAYS && c.sources.n == 2 &&
	       strv_has(&c.allowlist, "c"),
	   "XDG_CONFIG_HOME and SHUNT_CONFIG layers found from the environment");
	shunt_config_free(&c);
	setenv("SHUNT_CONFIG", tmp_path("missing.yaml"), 1);
	ok(shunt_config_load(&c, &o2, &e) < 0 && e && e->exitcode == 2 &&
	       strstr(e->msg, "SHUNT_CONFIG"),
	   "a missing $SHUNT_CONFIG file is an error");
	shunt_error_free(&e);
	unsetenv("SHUNT_CONFIG");

	/* An invalid layer fails the load with its position. */
	write_file(tmp_path("xdg/shunt/config.yaml"), "mode: always\nsandbox:\n  timout: 5\n");
	ok(shunt_config_load(&c, &o2, &e) < 0 && e &&
	       strstr(e->msg, "config.yaml:3:3: unknown key 'timout'") &&
	       strstr(e->msg, "did you mean 'timeout'?"),
	   "invalid user layer fails load with file:line:col");
	ok(c.sources.v == NULL && c.warnings.v == NULL, "cfg is freed on load error");
	shunt_error_free(&e);
	unlink(tmp_path("xdg/shunt/config.yaml"));
}

static void test_workspace(void)
{
	char *ws = tmp_path("ws2");
	mkdir(ws, 0755);
	char *user = tmp_path("user2.yaml");
	write_file(user, "mode: auto\nsandbox:\n  network_mode: restricted\n  env_whitelist: "
			 "[HOME, PATH, TERM]\n");
	write_file(tmp_path("ws2/.shunt.yaml"),
		   "mode: never\n"
		   "security_level: permissive\n"
		   "policies:\n"
		   "  allowlist: [\"rm -rf ~\"]\n"
		   "  denylist: [\"make deploy*\"]\n"
		   "sandbox:\n"
		   "  network_mode: full\n"
		   "  accept_weaker_isolation: true\n"
		   "  bind_mounts: [{host_path: /, container_path: /host}]\n"
		   "  env_whitelist: [HOME, AWS_SECRET_ACCESS_KEY]\n"
		   "  runtime: process\n"
		   "  profiles: {SYSTEM_WRITE: process}\n"
		   "  cache_dirs: [/]\n"
		   "  timeout: 0\n"
		   "on_error: open\n"
		   "risk_floors: {vcs.force-push: critical}\n"
		   "rules: [repo-rules.yaml]\n");
	struct shunt_config c;
	struct shunt_error *e = NULL;
	struct shunt_config_opts o = {
	    .user_path = user, .workspace = ws, .no_system = true, .env_path = NULL};
	unsetenv("SHUNT_CONFIG");
	if (!ok(shunt_config_load(&c, &o, &e) == 0, "load with a loosening workspace file"))
		diag("%s", e ? e->msg : "?");
	shunt_error_free(&e);
	is_int(c.allowlist.n, 0, "workspace cannot allowlist rm -rf ~");
	ok(has_warning(&c, "/.shunt.yaml:4:14: policies.allowlist ignored: a workspace file may "
			   "only tighten policy"),
	   "allowlist attempt warned with file:line:col");
	ok(strv_has(&c.denylist, "make deploy*"), "workspace denylist entry IS added");
	is_int(c.mode, SHUNT_MODE_AUTO, "mode never ignored");
	ok(has_warning(&c, ".shunt.yaml:1:7: mode ignored"), "mode warning");
	is_int(c.security_level, SHUNT_LEVEL_BALANCED, "security_level permissive ignored");
	ok(has_warning(&c, ".shunt.yaml:2:17: security_level ignored"), "security_level warning");
	is_int(c.sandbox.network_mode, SHUNT_NET_RESTRICTED, "network full ignored");
	ok(has_warning(&c, "sandbox.network_mode ignored"), "network warning");
	ok(!c.sandbox.accept_weaker_isolation &&
	       has_warning(&c, "sandbox.accept_weaker_isolation ignored"),
	   "accept_weaker_isolation ignored");
	ok(c.sandbox.nbind_mounts == 0 && has_warning(&c, "sandbox.bind_mounts ignored"),
	   "bind mounts ignored");
	ok(!strv_has(&c.sandbox.env_whitelist, "AWS_SECRET_ACCESS_KEY") &&
	       c.sandbox.env_whitelist.n == 3 && has_warning(&c, "sandbox.env_whitelist ignored"),
	   "env_whitelist addition ignored");
	ok(c.sandbox.runtime == SHUNT_RUNTIME_AUTO && has_warning(&c, "sandbox.runtime ignored"),
	   "runtime ignored");
	ok(c.sandbox.profile_runtime[SHUNT_PROFILE_SYSTEM_WRITE] == SHUNT_RUNTIME_MICROVM &&
	       has_warning(&c, "sandbox.profiles.SYSTEM_WRITE ignored"),
	   "profile runtime change ignored");
	ok(has_warning(&c, "sandbox.cache_dirs ignored"), "cache_dirs addition ignored");
	ok(c.sandbox.timeout == 300 && has_warning(&c, "sandbox.timeout ignored"),
	   "timeout 0 ignored");
	ok(c.on_error == SHUNT_ONERROR_CLOSED && has_warning(&c, "on_error ignored"),
	   "on_error open ignored");
	ok(c.nrisk_floors == 1 && c.risk_floors[0].risk == SHUNT_RISK_CRITICAL,
	   "workspace risk floor added");
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/repo-rules.yaml", ws);
	ok(c.rule_files.n == 1 && strcmp(c.rule_files.v[0], want) == 0,
	   "workspace rule file added, relative to it");
	ok(c.sources.n == 2, "workspace file listed in sources");
	shunt_config_free(&c);

	/* Tightening is applied. */
	write_file(tmp_path("ws2/.shunt.yaml"),
		   "mode: always\nsecurity_level: paranoid\nnon_interactive: block\n"
		   "sandbox:\n  network_mode: none\n  enable_cache: false\n  env_whitelist: "
		   "[HOME]\n  timeout: 60\n"
		   "  hide_paths: [/srv/secrets]\n  allow_hosts: []\n");
	ok(shunt_config_load(&c, &o, &e) == 0, "load a tightening workspace file");
	is_int(c.mode, SHUNT_MODE_ALWAYS, "mode always applied");
	is_int(c.security_level, SHUNT_LEVEL_PARANOID, "paranoid applied");
	is_int(c.non_interactive, SHUNT_NONINT_BLOCK, "non_interactive block applied");
	is_int(c.sandbox.network_mode, SHUNT_NET_NONE, "network none applied");
	ok(!c.sandbox.enable_cache, "cache off applied");
	ok(c.sandbox.env_whitelist.n == 1, "env_whitelist narrowed");
	is_int(c.sandbox.timeout, 60, "shorter timeout applied");
	ok(strv_has(&c.sandbox.hide_paths, "/srv/secrets"), "hide_paths added");
	is_int(c.warnings.n, 0, "no warnings when only tightening");
	shunt_config_free(&c);

	/* A stricter mode set by the user cannot be lowered to auto. */
	write_file(user, "mode: always\n");
	write_file(tmp_path("ws2/.shunt.yaml"), "mode: risky\n");
	ok(shunt_config_load(&c, &o, &e) == 0 && c.mode == SHUNT_MODE_ALWAYS && c.warnings.n == 1,
	   "always cannot be lowered to risky");
	shunt_config_free(&c);

	/* Workspace preset: loosening parts ignored, tightening parts applied. */
	write_file(user, "mode: risky\n");
	write_file(tmp_path("ws2/.shunt.yaml"), "preset: developer\n");
	ok(shunt_config_load(&c, &o, &e) == 0, "workspace preset loads");
	is_int(c.security_level, SHUNT_LEVEL_BALANCED,
	       "workspace developer preset cannot go permissive");
	is_int(c.mode, SHUNT_MODE_AUTO, "but its stricter mode (auto over risky) applies");
	ok(has_warning(&c, ".shunt.yaml:1:9: preset developer: security_level ignored"),
	   "preset warning points at the workspace file");
	shunt_config_free(&c);

	/* Errors in the workspace file still fail. */
	write_file(tmp_path("ws2/.shunt.yaml"), "sandbox:\n  network_mode: [none]\n");
	ok(shunt_config_load(&c, &o, &e) < 0 && e &&
	       strstr(e->msg, ".shunt.yaml:2:17: sandbox.network_mode: expected a string"),
	   "bad type in the workspace file is an error");
	shunt_error_free(&e);
}

static char *dump(const struct shunt_config *c, bool json)
{
	struct shunt_buf b = {0};
	shunt_config_dump(c, json, &b);
	return shunt_buf_steal(&b);
}

/* Dump without comment lines and the comment tails. */
static char *strip_comments(const char *s)
{
	struct shunt_buf b = {0};
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		if (*s != '#') {
			const char *h = memmem(s, l, "  #", 3);
			shunt_buf_append(&b, s, h ? (size_t)(h - s) : l);
			shunt_buf_putc(&b, '\n');
		}
		s += l + (nl ? 1 : 0);
	}
	return shunt_buf_steal(&b);
}

static void test_presets(void)
{
	static const struct {
		enum shunt_preset p;
		const char *file;
		enum shunt_mode mode;
		enum shunt_level level;
		enum shunt_netmode net;
		bool cache;
		enum shunt_noninteractive nonint;
	} tab[] = {
	    {SHUNT_PRESET_DEVELOPER, "developer.yaml", SHUNT_MODE_AUTO, SHUNT_LEVEL_PERMISSIVE,
	     SHUNT_NET_FULL, true, SHUNT_NONINT_SANDBOX},
	    {SHUNT_PRESET_CICD, "ci-cd.yaml", SHUNT_MODE_RISKY, SHUNT_LEVEL_BALANCED,
	     SHUNT_NET_RESTRICTED, true, SHUNT_NONINT_SANDBOX},
	    {SHUNT_PRESET_PRODUCTION, "production.yaml", SHUNT_MODE_ALWAYS, SHUNT_LEVEL_PARANOID,
	     SHUNT_NET_NONE, false, SHUNT_NONINT_BLOCK},
	};
	for (size_t i = 0; i < 3; i++) {
		struct shunt_config a, b;
		struct shunt_error *e = NULL;
		shunt_config_defaults(&a);
		shunt_config_defaults(&b);
		ok(shunt_config_apply_preset(&a, tab[i].p, &e) == 0, "apply preset %s",
		   tab[i].file);
		is_int(a.mode, tab[i].mode, "preset mode");
		is_int(a.security_level, tab[i].level, "preset level");
		is_int(a.sandbox.network_mode, tab[i].net, "preset network");
		is_int(a.sandbox.enable_cache, tab[i].cache, "preset cache");
		is_int(a.non_interactive, tab[i].nonint, "preset non_interactive");
		is_int(a.preset, tab[i].p, "preset recorded");
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/presets/%s", top, tab[i].file);
		if (!ok(shunt_config_apply_file(&b, path, false, &e) == 0 && b.sources.n == 1,
			"shipped presets/%s is a valid config file", tab[i].file))
			diag("%s", e ? e->msg : "missing?");
		shunt_error_free(&e);
		b.preset = a.preset;
		char *ra = dump(&a, false), *rb = dump(&b, false);
		char *da = strip_comments(ra), *db = strip_comments(rb);
		free(ra);
		free(rb);
		is_str(da, db, "embedded preset matches the shipped file");
		free(da);
		free(db);
		shunt_config_free(&a);
		shunt_config_free(&b);
	}
	/* A preset key applies first; the same file's keys override it. */
	struct shunt_config c;
	shunt_config_defaults(&c);
	ok(apply(&c, "p.yaml", "mode: risky\npreset: production\n", false) == NULL,
	   "preset in a layer");
	is_int(c.mode, SHUNT_MODE_RISKY, "layer key overrides its preset");
	is_int(c.security_level, SHUNT_LEVEL_PARANOID, "preset level applied");
	is_int(c.preset, SHUNT_PRESET_PRODUCTION, "preset recorded");
	ok(c.sources.n == 2 && strcmp(c.sources.v[0], "preset:production") == 0,
	   "preset listed in sources");
	shunt_config_free(&c);
}

static void test_dump(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/shunt.example.yaml", top);
	struct shunt_config c, r;
	struct shunt_error *e = NULL;
	if (access(path, R_OK) < 0) {
		skip("shunt.example.yaml not in this tree (set TOP)");
		return;
	}
	shunt_config_defaults(&c);
	ok(shunt_config_apply_file(&c, path, false, &e) == 0, "example loads");
	ok(apply(&c, "q.yaml",
		 "policies:\n  denylist: [\"say \\\"hi\\\"\\n\"]\nrisk_floors: {x.y: high}\n",
		 false) == NULL,
	   "quoting layer");
	char *y1 = dump(&c, false);
	shunt_config_defaults(&r);
	const char *m = apply(&r, "dump.yaml", y1, false);
	if (!ok(m == NULL, "YAML dump is itself a valid config"))
		diag("%s", m);
	char *y2 = dump(&r, false);
	char *s1 = strip_comments(y1), *s2 = strip_comments(y2);
	is_str(s1, s2, "dump round-trips");
	free(s1);
	free(s2);
	free(y1);
	free(y2);
	shunt_config_free(&r);

	char *j = dump(&c, true);
	struct shunt_json *doc = shunt_json_parse("dump.json", j, strlen(j), &e);
	if (ok(doc != NULL, "JSON dump parses")) {
		is_str(shunt_json_str(doc, "mode", NULL), "auto", "json mode");
		const struct shunt_json *sb = shunt_json_get(doc, "sandbox");
		is_str(shunt_json_str(sb, "image", NULL), "ubuntu:22.04", "json sandbox.image");
		ok(shunt_json_num(sb, "timeout", 0) == 300, "json timeout");
		const struct shunt_json *pol = shunt_json_get(doc, "policies");
		const struct shunt_json *dl = shunt_json_get(pol, "denylist");
		ok(dl && dl->len == 4 && strcmp(dl->items[3]->str, "say \"hi\"\n") == 0,
		   "json denylist escaped");
		const struct shunt_json *src = shunt_json_get(doc, "sources");
		ok(src && src->len == 2, "json sources");
		ok(shunt_json_get(doc, "warnings") != NULL, "json warnings present");
		is_str(shunt_json_str(shunt_json_get(doc, "risk_floors"), "x.y", NULL), "high",
		       "json risk_floors");
	} else {
		diag("%s", e ? e->msg : "?");
	}
	shunt_json_free(doc);
	shunt_error_free(&e);
	free(j);
	shunt_config_free(&c);
}

static void test_workspace_root(void)
{
	char *a = tmp_path("repo");
	mkdir(a, 0755);
	mkdir(tmp_path("repo/.git"), 0755);
	mkdir(tmp_path("repo/src"), 0755);
	mkdir(tmp_path("repo/src/deep"), 0755);
	char *r = shunt_config_workspace_root(tmp_path("repo/src/deep"));
	is_str(r, a, "git top level found from a subdirectory");
	free(r);
	char *plain = tmp_path("plain");
	mkdir(plain, 0755);
	r = shunt_config_workspace_root(plain);
	/* /tmp is not inside a repository here, so cwd is the root. */
	is_str(r, plain, "no .git: the directory itself");
	free(r);
}

int main(void)
{
	top = getenv("TOP");
	if (!top)
		top = ".";
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shunt-test-config.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	char home[PATH_MAX];
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	mkdir(home, 0755);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", tmp_path("nonexistent-xdg"), 1);
	unsetenv("SHUNT_CONFIG");
	test_defaults();
	test_suggest();
	test_fixtures();
	test_every_key();
	test_limits();
	test_layers();
	test_workspace();
	test_presets();
	test_dump();
	test_workspace_root();
	struct shunt_error *e = NULL;
	shunt_fs_rmtree(tmpdir, &e);
	shunt_error_free(&e);
	return done_testing();
}
