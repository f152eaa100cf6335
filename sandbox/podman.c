/* Podman and Docker runners: the plan mapped onto `ENGINE run` flags.
 * Podman takes the host root as a throwaway overlay (--rootfs /:O) made
 * read-only; Docker (or podman with SHUNT_IMAGE) uses the local image
 * `shunt image build` made, never pulling from a registry. Output goes
 * through pipes and is copied out, as for gVisor. */
#include "podman.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "childio.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "netproxy.h"
#include "netrelay.h"
#include "paths.h"
#include "seccomp.h"

#define EXIT_SETUP 125

enum engine { ENGINE_PODMAN, ENGINE_DOCKER };

static const char *engine_name(enum engine e)
{
	return e == ENGINE_PODMAN ? "podman" : "docker";
}

static int setup_fail(struct shunt_error **err, int code, const char *fmt, const char *a,
		      const char *b)
{
	shunt_error_set(err, code, fmt, a, b);
	if (err && *err)
		(*err)->exitcode = EXIT_SETUP;
	return -1;
}

static char *engine_find(enum engine e)
{
	const char *env = getenv(e == ENGINE_PODMAN ? "SHUNT_PODMAN" : "SHUNT_DOCKER");
	char *p = env && *env ? strdup(env) : shunt_paths_which(engine_name(e));
	if (p && access(p, X_OK) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}

static int engine_probe(enum engine e, char **out, struct shunt_error **err)
{
	char *bin = engine_find(e);
	if (!bin)
		return setup_fail(
		    err, ENOENT,
		    "%s is not installed; install it with 'apt-get install %s', or use "
		    "runtime: gvisor or process",
		    engine_name(e), e == ENGINE_PODMAN ? "podman" : "docker.io");
	if (e == ENGINE_DOCKER) {
		char *argv[] = {bin, "info", "--format", "{{.ServerVersion}}", NULL};
		if (shunt_child_run_quiet(argv) != 0) {
			const char *host = getenv("DOCKER_HOST");
			setup_fail(
			    err, ECONNREFUSED,
			    "the docker daemon is not running or not reachable at %s; start it "
			    "('systemctl start docker' or 'dockerd'), or set DOCKER_HOST%s",
			    host && *host ? host : "unix:///var/run/docker.sock",
			    getuid() ? " (and make sure you may use its socket)" : "");
			free(bin);
			return -1;
		}
	}
	if (out)
		*out = bin;
	else
		free(bin);
	return 0;
}

int shunt_podman_probe(struct shunt_error **err)
{
	return engine_probe(ENGINE_PODMAN, NULL, err);
}

int shunt_docker_probe(struct shunt_error **err)
{
	return engine_probe(ENGINE_DOCKER, NULL, err);
}

/* The image to run on: $SHUNT_IMAGE, else the config's sandbox.image
 * (same layers as `shunt run` loads), else NULL: podman then takes the
 * host root, docker the image `shunt image build` makes. */
static char *configured_image(const struct shunt_plan *plan)
{
	const char *env = getenv("SHUNT_IMAGE");
	if (env && *env)
		return strdup(env);
	struct shunt_config_opts copts = {.workspace = plan->workspace};
	const char *nosys = getenv("SHUNT_NO_SYSTEM_CONFIG");
	copts.no_system = nosys && strcmp(nosys, "1") == 0;
	struct shunt_config cfg;
	struct shunt_error *e = NULL;
	if (shunt_config_load(&cfg, &copts, &e) < 0) {
		shunt_error_free(&e);
		return NULL; /* `shunt run` loaded it already; not reached in practice */
	}
	char *img = cfg.sandbox.image && *cfg.sandbox.image ? strdup(cfg.sandbox.image) : NULL;
	shunt_config_free(&cfg);
	return img;
}

/* A growing NULL-terminated argv whose strings it owns. */
struct argv {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv *a, const char *fmt, ...)
{
	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		a->oom = true;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

/* cgroup v1 with a v2 hierarchy beside it: crun refuses it, runc copes */
static bool cgroup_hybrid(void)
{
	struct stat st;
	return stat("/sys/fs/cgroup/unified", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether runsc is registered with the engine (`ENGINE info` lists it). */
static bool engine_has_runsc(const char *bin, enum engine e)
{
	if (e != ENGINE_DOCKER)
		return false; /* podman: runsc cannot run in its root netns layout here */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0), dup2(p[1], 1), dup2(nul, 2);
		execl(bin, bin, "info", "--format", "{{json .Runtimes}}", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return strstr(buf, "\"runsc\"") != NULL;
}

static bool seen_guest(const struct shunt_plan *plan, size_t upto, const char *guest)
{
	if (plan->workspace && strcmp(plan->workspace, guest) == 0)
		return true;
	for (size_t i = 0; i < upto; i++)
		if (plan->mounts[i].guest && strcmp(plan->mounts[i].guest, guest) == 0)
			return true;
	return false;
}

/* Builds the engine command line; *seccomp_tmp receives a temp file to
 * remove afterwards (the built-in profile written out), or NULL. */
static int build_argv(enum engine e, const char *bin, const struct shunt_plan *plan,
		      const char *name, const char *image, bool host_root, const char *netns,
		      struct argv *a, char **seccomp_tmp, struct shunt_error **err)
{

	add(a, "%s", bin);
	add(a, "run");
	add(a, "--rm");
	add(a, "--name=%s", name);
	add(a, "-i");
	/* a minimal init as pid 1, so the command gets default signal
	 * dispositions (kill -TERM $$ terminates it) and zombies are reaped */
	add(a, "--init");
	if (e == ENGINE_PODMAN && cgroup_hybrid() && access("/usr/bin/runc", X_OK) == 0 &&
	    !engine_has_runsc(bin, e))
		add(a, "--runtime=runc");
	else if (engine_has_runsc(bin, e))
		add(a, "--runtime=runsc");
	if (!host_root)
		add(a, "--pull=never");
	if (netns)
		add(a, "--network=ns:%s", netns);
	else
		add(a, "--network=%s", plan->network == SHUNT_NET_FULL ? "host" : "none");
	add(a, "--read-only");
	if (e == ENGINE_PODMAN)
		add(a, "--read-only-tmpfs=false");
	add(a, "--tmpfs=/tmp:rw,nosuid,nodev,mode=1777%s",
	    e == ENGINE_PODMAN ? ",notmpcopyup" : "");
	add(a, "--tmpfs=/run:rw,nosuid,nodev,mode=755%s", e == ENGINE_PODMAN ? ",notmpcopyup" : "");
	add(a, "--cap-drop=ALL");
	add(a, "--security-opt=no-new-privileges");
	/* rlimits no higher than ours: raising them needs CAP_SYS_RESOURCE */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		add(a, "--ulimit=nofile=%llu:%llu",
		    (unsigned long long)(rl.rlim_cur < 4096 ? rl.rlim_cur : 4096),
		    (unsigned long long)(rl.rlim_max < 4096 ? rl.rlim_max : 4096));
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) {
		unsigned long long lim =
		    plan->pids && plan->pids < rl.rlim_max ? plan->pids : rl.rlim_max;
		add(a, "--ulimit=nproc=%llu:%llu", lim, lim);
	}
	if (plan->mem_bytes)
		add(a, "--memory=%llu", plan->mem_bytes);
	if (plan->cpus > 0)
		add(a, "--cpus=%.2f", plan->cpus);
	if (plan->pids)
		add(a, "--pids-limit=%u", plan->pids);
	if (plan->uid >= 0 || plan->gid >= 0)
		add(a, "--user=%ld:%ld", plan->uid >= 0 ? plan->uid : (long)getuid(),
		    plan->gid >= 0 ? plan->gid : (long)getgid());
	else if (!host_root || getuid() != 0)
		add(a, "--user=%ld:%ld", (long)getuid(), (long)getgid());
	if (e == ENGINE_PODMAN && getuid() != 0)
		add(a, "--userns=keep-id");

	/* seccomp: the user's file, else the built-in profile written out */
	if (plan->seccomp_profile) {
		add(a, "--security-opt=seccomp=%s", plan->seccomp_profile);
	} else {
		size_t len = 0;
		const char *data =
		    shunt_seccomp_builtin(shunt_seccomp_builtin_name(plan->profile), &len);
		if (data) {
			char tmpl[] = "/tmp/shunt-seccomp.XXXXXX";
			int fd = mkstemp(tmpl);
			if (fd < 0)
				return setup_fail(err, errno,
						  "writing the seccomp profile for %s: %s",
						  engine_name(e), strerror(errno));
			bool okw = fchmod(fd, 0644) == 0 && write(fd, data, len) == (ssize_t)len;
			close(fd);
			*seccomp_tmp = strdup(tmpl);
			if (!okw)
				return setup_fail(err, EIO, "writing the seccomp profile %s for %s",
						  tmpl, engine_name(e));
			add(a, "--security-opt=seccomp=%s", tmpl);
		}
	}

	if (plan->workspace)
		add(a, "--volume=%s:%s:%s", plan->workspace, plan->workspace,
		    plan->workspace_rw ? "rw" : "ro");
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (!m->guest || seen_guest(plan, i, m->guest))
			continue;
		switch (m->kind) {
		case SHUNT_MOUNT_BIND:
			if (!m->host)
				break;
			/* on an image root, host system directories stay out */
			if (!host_root && m->read_only && !m->cache)
				break;
			if (m->cache) {
				struct shunt_error *ce = NULL;
				int mk = shunt_fs_mkdirs(m->host, 0755, &ce);
				shunt_error_free(&ce);
				if (mk < 0)
					break;
			}
			if (access(m->host, F_OK) != 0)
				break;
			add(a, "--volume=%s:%s:%s", m->host, m->guest, m->read_only ? "ro" : "rw");
			break;
		case SHUNT_MOUNT_TMPFS:
			/* podman copies what is below into a tmpfs unless told not to */
			add(a, "--tmpfs=%s:rw,nosuid,nodev,mode=700%s", m->guest,
			    e == ENGINE_PODMAN ? ",notmpcopyup" : "");
			break;
		case SHUNT_MOUNT_HIDE:
			add(a, "--volume=/dev/null:%s:ro", m->guest);
			break;
		}
	}
	add(a, "--workdir=%s", plan->cwd ? plan->cwd : (plan->workspace ? plan->workspace : "/"));
	for (size_t i = 0; plan->env && plan->env[i]; i++)
		add(a, "--env=%s", plan->env[i]);
	if (host_root) {
		add(a, "--rootfs");
		add(a, "/:O");
	} else
		add(a, "%s", image);
	for (size_t i = 0; plan->argv[i]; i++)
		add(a, "%s", plan->argv[i]);
	if (a->oom)
		return setup_fail(err, ENOMEM, "out of memory building the %s command%s",
				  engine_name(e), "");
	return 0;
}

struct engine_kill {
	const char *bin, *name;
};

/* `<engine> kill --signal=N <name>`: the command gets sig. */
static void engine_kill(void *ctx, int sig)
{
	const struct engine_kill *k = ctx;
	char arg[32];
	if (sig == SIGKILL)
		snprintf(arg, sizeof(arg), "--signal=KILL");
	else
		snprintf(arg, sizeof(arg), "--signal=%d", sig);
	char *kargv[] = {(char *)k->bin, "kill", arg, (char *)k->name, NULL};
	shunt_child_run_quiet(kargv);
}

/* Whether the engine has the image locally (we never pull). */
static bool image_present(const char *bin, const char *image)
{
	char *argv[] = {(char *)bin, "image", "inspect", (char *)image, NULL};
	return shunt_child_run_quiet(argv) == 0;
}

static int engine_run(enum engine e, const struct shunt_plan *plan, int *status,
		      struct shunt_error **err)
{
	if (!plan->argv || !plan->argv[0])
		return setup_fail(err, EINVAL, "%s: empty command%s", engine_name(e), "");
	bool allowlist = plan->network == SHUNT_NET_RESTRICTED && plan->allow_hosts.n > 0;
	if (allowlist && e == ENGINE_DOCKER)
		return setup_fail(
		    err, ENOSYS,
		    "network allowlist: docker cannot join the network namespace of shunt's "
		    "relay to the filtering proxy, so the command was not run; use --runtime "
		    "podman (as root), --runtime process or gvisor, or --network none%s%s",
		    "", "");
	if (allowlist && getuid() != 0)
		return setup_fail(
		    err, EPERM,
		    "network allowlist: the %s runner needs root to create the relay's network "
		    "namespace, so the command was not run; use --runtime process or gvisor, or "
		    "--network none%s",
		    engine_name(e), "");
	if (plan->profile >= SHUNT_PROFILE_SYSTEM_WRITE && !plan->accept_weaker_isolation)
		return setup_fail(
		    err, EPERM,
		    "%s belongs on a microVM; a %s container shares the host kernel. Pass "
		    "--i-accept-weaker-isolation to run it there",
		    shunt_profile_name(plan->profile), engine_name(e));
	_cleanup_free_ char *bin = NULL;
	if (engine_probe(e, &bin, err) < 0)
		return -1;
	_cleanup_free_ char *cimage = configured_image(plan);
	bool host_root = e == ENGINE_PODMAN && !cimage;
	const char *image = cimage ? cimage : SHUNT_ENGINE_IMAGE;
	bool print = getenv("SHUNT_ENGINE_PRINT") && strcmp(getenv("SHUNT_ENGINE_PRINT"), "1") == 0;
	if (!host_root && !print && !image_present(bin, image)) {
		shunt_error_set(
		    err, ENOENT,
		    "the image %s is not in the local %s store (shunt never pulls); build it "
		    "with 'shunt image build --engine %s'",
		    image, engine_name(e), engine_name(e));
		if (err && *err)
			(*err)->exitcode = EXIT_SETUP;
		return -1;
	}

	char name[64];
	snprintf(name, sizeof(name), "shunt-%s", plan->run_id[0] ? plan->run_id : "run");
	struct argv a = {0};
	char *seccomp_tmp = NULL;
	/* allowlist: the container joins a network namespace holding only
	 * loopback and the relay to the host proxy (as the process runner's) */
	struct shunt_netproxy proxy = {0};
	pid_t relay = 0;
	char netns[64] = "";
	int rc = 0;
	if (allowlist && print) {
		snprintf(netns, sizeof(netns), "/proc/RELAY/ns/net");
	} else if (allowlist) {
		if (shunt_netproxy_start(&proxy, &plan->allow_hosts, plan->run_id, err) < 0 ||
		    shunt_netrelay_netns_start(proxy.dir, &relay, err) < 0) {
			rc = -1;
			goto out;
		}
		snprintf(netns, sizeof(netns), "/proc/%ld/ns/net", (long)relay);
	}
	rc = build_argv(e, bin, plan, name, image, host_root, netns[0] ? netns : NULL, &a,
			&seccomp_tmp, err);
	if (rc < 0)
		goto out;
	if (print) {
		for (size_t i = 0; i < a.n; i++)
			printf("%s\n", a.v[i]);
		fflush(stdout);
		*status = 0;
		rc = 0;
		goto out;
	}

	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = setup_fail(err, errno, "pipe: %s%s", strerror(errno), "");
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rc = setup_fail(err, errno, "fork: %s%s", strerror(errno), "");
		goto out;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_SETUP);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		execv(bin, a.v);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	struct engine_kill k = {bin, name};
	struct shunt_child_watch w = {.pid = pid,
				      .out_fd = outp[0],
				      .err_fd = errp[0],
				      .timeout = plan->timeout,
				      .kill = engine_kill,
				      .ctx = &k};
	rc = shunt_child_watch(&w, status);
	if (rc == 1) {
		char *rargv[] = {bin, "rm", "--force", name, NULL};
		shunt_child_run_quiet(rargv);
	}
out:
	if (relay > 0) {
		kill(relay, SIGKILL);
		while (waitpid(relay, NULL, 0) < 0 && errno == EINTR)
			;
	}
	shunt_netproxy_stop(&proxy);
	if (seccomp_tmp) {
		unlink(seccomp_tmp);
		free(seccomp_tmp);
	}
	argv_free(&a);
	return rc;
}

int shunt_podman_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	return engine_run(ENGINE_PODMAN, plan, status, err);
}

int shunt_docker_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	return engine_run(ENGINE_DOCKER, plan, status, err);
}
