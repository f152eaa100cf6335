/* Sandbox plans: defaults from config + level, network resolution, hidden
 * credentials, environment scrubbing, bind parsing and the dump. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "runner.h"
#include "gvisor.h"
#include "tap.h"

static char tmp[PATH_MAX];

static struct shunt_plan_opts no_opts(void)
{
	return shunt_plan_opts_none();
}

static const struct shunt_mount *find_mount(const struct shunt_plan *p, const char *guest)
{
	const struct shunt_mount *found = NULL;
	for (size_t i = 0; i < p->nmounts; i++)
		if (strcmp(p->mounts[i].guest, guest) == 0)
			found = &p->mounts[i]; /* the last one wins, as when mounting */
	return found;
}

static bool has_env(const struct shunt_plan *p, const char *prefix)
{
	for (char **e = p->env; e && *e; e++)
		if (strncmp(*e, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static void touch(const char *dir, const char *name, bool is_dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (is_dir) {
		mkdir(path, 0755);
	} else {
		FILE *f = fopen(path, "w");
		if (f)
			fclose(f);
	}
}

int main(void)
{
	char *argv[] = {"echo", "hi", NULL};
	snprintf(tmp, sizeof(tmp), "/tmp/shunt-test-plan.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	char home[PATH_MAX + 8], ws[PATH_MAX + 8];
	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(ws, sizeof(ws), "%s/ws", tmp);
	mkdir(home, 0755);
	mkdir(ws, 0755);
	touch(home, ".ssh", true);
	touch(home, ".netrc", false);
	touch(home, ".bashrc", false);
	touch(ws, ".git", true);
	touch(ws, ".git/hooks", true);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("AWS_SECRET_ACCESS_KEY", "nope", 1);
	setenv("TERM", "xterm", 1);
	/* no microVM guest image and none to build: SYSTEM_WRITE maps to the
	 * process runner here, whatever the host has cached */
	setenv("SHUNT_VM_CACHE", home, 1);
	setenv("SHUNT_VM_BUILD_SCRIPT", "/nonexistent/build-guest.sh", 1);
	if (chdir(ws) < 0)
		return 1;

	struct shunt_config cfg;
	shunt_config_defaults(&cfg);
	cfg.security_level = SHUNT_LEVEL_BALANCED;
	cfg.sandbox.network_mode_set = false;
	shunt_strv_free(&cfg.sandbox.allow_hosts);
	struct shunt_error *err = NULL;
	struct shunt_plan p;

	/* READ_ONLY: workspace ro, network none, secrets hidden */
	struct shunt_plan_opts o = no_opts();
	o.profile = SHUNT_PROFILE_READ_ONLY;
	o.workspace = ws;
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) == 0, "READ_ONLY plan builds");
	{
		/* auto: gVisor when runsc is installed, else the process runner */
		bool usable = shunt_gvisor_usable(NULL, 0);
		is_int(p.runtime, usable ? SHUNT_RUNTIME_GVISOR : SHUNT_RUNTIME_PROCESS,
		       "auto runtime resolves to gVisor if usable, else process");
	}
	is_int(p.network, SHUNT_NET_NONE, "READ_ONLY: network none");
	ok(!p.workspace_rw, "READ_ONLY: workspace read-only");
	const struct shunt_mount *m = find_mount(&p, ws);
	ok(m && m->kind == SHUNT_MOUNT_BIND && m->read_only, "workspace bound read-only");
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/.ssh", home);
	m = find_mount(&p, path);
	ok(m && m->kind == SHUNT_MOUNT_TMPFS, "~/.ssh hidden under a tmpfs");
	snprintf(path, sizeof(path), "%s/.netrc", home);
	m = find_mount(&p, path);
	ok(m && m->kind == SHUNT_MOUNT_HIDE, "~/.netrc hidden as a file");
	snprintf(path, sizeof(path), "%s/.aws", home);
	ok(find_mount(&p, path) == NULL, "absent ~/.aws is not mounted");
	ok(!has_env(&p, "AWS_SECRET_ACCESS_KEY="), "secrets are not in the environment");
	ok(has_env(&p, "TERM=xterm"), "TERM passes");
	ok(has_env(&p, "SHUNT_PROFILE=READ_ONLY"), "SHUNT_PROFILE set");
	ok(has_env(&p, "PATH="), "PATH present");
	struct shunt_buf out = {0};
	shunt_plan_dump(&p, true, &out);
	ok(out.data && strstr(out.data, "\"profile\":\"READ_ONLY\"") &&
	       strstr(out.data, "\"network\":\"none\""),
	   "JSON dump names profile and network");
	ok(out.data && !strstr(out.data, "xterm"), "dump lists environment names, not values");
	shunt_buf_free(&out);
	shunt_plan_free(&p);

	/* WORKSPACE_WRITE at balanced: restricted + empty allowlist = none */
	o = no_opts();
	o.workspace = ws;
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) == 0, "WORKSPACE_WRITE plan builds");
	ok(p.workspace_rw, "workspace writable");
	is_int(p.network, SHUNT_NET_NONE, "level's restricted with empty allowlist -> none");
	ok(p.notes.n == 1 && strstr(p.notes.v[0], "empty allowlist"), "and a note says so");
	{
		/* the built-in caches and the config's default cache_dirs overlap */
		size_t caches = 0, twice = 0;
		for (size_t i = 0; i < p.nmounts; i++) {
			if (!p.mounts[i].cache)
				continue;
			caches++;
			for (size_t k = 0; k < i; k++)
				twice += p.mounts[k].cache &&
					 strcmp(p.mounts[k].guest, p.mounts[i].guest) == 0;
		}
		ok(caches > 0 && twice == 0, "each cache mounted once (%zu caches)", caches);
	}
	{
		/* the environment is a parameter (shuntd: its client's) */
		struct shunt_plan q;
		char *env[] = {"TERM=vt100", "AWS_SECRET_ACCESS_KEY=no", NULL};
		struct shunt_plan_opts eo = no_opts();
		eo.workspace = ws;
		eo.env = env;
		ok(shunt_plan_build(&q, &cfg, &eo, argv, &err) == 0 && has_env(&q, "TERM=vt100") &&
		       !has_env(&q, "TERM=xterm") && !has_env(&q, "AWS_SECRET_ACCESS_KEY="),
		   "opts.env is the command's environment, filtered");
		shunt_plan_free(&q);
	}
	snprintf(path, sizeof(path), "%s/.git/hooks", ws);
	m = find_mount(&p, path);
	ok(m && m->kind == SHUNT_MOUNT_BIND && m->read_only, ".git/hooks re-bound read-only");
	out = (struct shunt_buf){0};
	shunt_plan_dump(&p, false, &out);
	ok(out.data && strstr(out.data, "network: none (restricted with an empty allowlist)"),
	   "text dump explains the network");
	shunt_buf_free(&out);
	shunt_plan_free(&p);

	/* an explicit allowlist stays restricted (and runs behind the proxy) */
	o = no_opts();
	o.workspace = ws;
	o.network = SHUNT_NET_RESTRICTED;
	shunt_strv_push(&o.allow_hosts, "example.com");
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) == 0, "allowlist plan builds");
	is_int(p.network, SHUNT_NET_RESTRICTED, "explicit allowlist is kept");
	const struct shunt_runner *r = shunt_runner_get(SHUNT_RUNTIME_PROCESS);
	int status = -1;
	bool proxy_env = false;
	for (char **e = p.env; e && *e; e++)
		proxy_env |= strncmp(*e, "HTTPS_PROXY=http://127.0.0.1:", 29) == 0;
	ok(proxy_env, "the sandbox env points HTTPS_PROXY at the relay");
	ok(r && r->run(&p, &status, &err) == 0 && status == 0,
	   "process runner runs it behind the filtering proxy");
	shunt_error_free(&err);
	shunt_plan_free(&p);
	shunt_strv_free(&o.allow_hosts);

	/* SYSTEM_WRITE refused without the flag */
	o = no_opts();
	o.workspace = ws;
	o.profile = SHUNT_PROFILE_SYSTEM_WRITE;
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) == 0, "SYSTEM_WRITE plan builds");
	ok(p.root_overlay, "SYSTEM_WRITE on process: overlay root");
	ok(r && r->run(&p, &status, &err) < 0 && err && err->exitcode == 125 &&
	       strstr(err->msg, "microVM"),
	   "SYSTEM_WRITE refused without --i-accept-weaker-isolation");
	shunt_error_free(&err);
	shunt_plan_free(&p);

	/* bad --bind specs are usage errors */
	o = no_opts();
	o.workspace = ws;
	shunt_strv_push(&o.binds, "/nonexistent-shunt-path:/x");
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) < 0 && err && err->exitcode == 2,
	   "missing bind host: exit 2");
	shunt_error_free(&err);
	shunt_strv_free(&o.binds);
	shunt_strv_push(&o.binds, "/tmp:relative");
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) < 0 && err && err->exitcode == 2,
	   "relative guest: exit 2");
	shunt_error_free(&err);
	shunt_strv_free(&o.binds);
	shunt_strv_push(&o.binds, "/tmp:/mnt/t:ro");
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) == 0, "HOST:GUEST:ro parses");
	m = find_mount(&p, "/mnt/t");
	ok(m && m->read_only && strcmp(m->host, "/tmp") == 0,
	   "bind is read-only at the guest path");
	shunt_plan_free(&p);
	shunt_strv_free(&o.binds);

	/* the workspace may not be / */
	o = no_opts();
	o.workspace = "/";
	ok(shunt_plan_build(&p, &cfg, &o, argv, &err) < 0 && err && err->exitcode == 2,
	   "workspace / refused");
	shunt_error_free(&err);

	shunt_config_free(&cfg);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
