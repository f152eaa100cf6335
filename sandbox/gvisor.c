/* gVisor runner: an OCI bundle per run (config.json, the host's own root
 * read-only) handed to `runsc run`. runsc writes at its own file offset
 * when stdout/stderr are regular files, so it always gets pipes and we
 * copy through (childio.c). The bundle's config.json: gvisor_oci.c;
 * warm sandboxes: gvisor_warm.c. */
#include "gvisor.h"
#include "gvisor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "childio.h"
#include "cleanup.h"
#include "fsutil.h"
#include "netproxy.h"
#include "paths.h"

#define GVISOR_PROBE_SECONDS 4

char *shunt_gvisor_dir(const char *sub)
{
	return shunt_paths_file(SHUNT_DIR_RUNTIME, sub);
}

int shunt_gvisor_find(char **out, struct shunt_error **err)
{
	const char *env = getenv("SHUNT_RUNSC");
	char *p = env && *env ? strdup(env) : shunt_paths_which("runsc");
	if (!p || access(p, X_OK) != 0) {
		free(p);
		return shunt_error_set(err, ENOENT,
				       "runsc (gVisor) is not installed; install it with "
				       "'apt-get install runsc', or use runtime: process");
	}
	*out = p;
	return 0;
}

int shunt_gvisor_probe(struct shunt_error **err)
{
	_cleanup_free_ char *runsc = NULL;
	return shunt_gvisor_find(&runsc, err);
}

/* Pick the platform once: KVM only when a real guest boots within a
 * deadline (a /dev/kvm that creates VMs but never runs them counts as
 * unusable); the answer is cached per machine. */
const char *shunt_gvisor_platform(const char *runsc)
{
	const char *env = getenv("SHUNT_GVISOR_PLATFORM");
	if (env && *env)
		return env;
	_cleanup_free_ char *cache = shunt_paths_probe_cache("gvisor-platform");
	_cleanup_free_ char *cached = NULL;
	struct shunt_error *e = NULL;
	if (cache && shunt_fs_read(cache, 64, &cached, NULL, &e) == 0) {
		if (strncmp(cached, "kvm", 3) == 0)
			return "kvm";
		if (strncmp(cached, "ptrace", 6) == 0)
			return "ptrace";
	}
	shunt_error_free(&e);
	const char *result = "ptrace";
	if (access("/dev/kvm", R_OK | W_OK) == 0) {
		/* a boot probe: runsc on kvm running /bin/true, with a deadline */
		char dir[] = "/tmp/shunt-gvisor-probe.XXXXXX";
		if (mkdtemp(dir)) {
			char cfg[sizeof(dir) + 16], state[sizeof(dir) + 16];
			snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
			snprintf(state, sizeof(state), "%s/state", dir);
			static const char probe_cfg[] =
			    "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{"
			    "\"uid\":0,"
			    "\"gid\":0},\"args\":[\"/bin/true\"],\"env\":[\"PATH=/usr/bin:/bin\"],"
			    "\"cwd\":\"/\"},\"root\":{\"path\":\"/"
			    "\",\"readonly\":true},\"mounts\":[{"
			    "\"destination\":\"/"
			    "proc\",\"type\":\"proc\",\"source\":\"proc\"}],\"linux\":{"
			    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":"
			    "\"ipc\"},"
			    "{\"type\":\"uts\"},{\"type\":\"mount\"}]}}";
			struct shunt_error *we = NULL;
			if (shunt_fs_write_atomic(cfg, probe_cfg, sizeof(probe_cfg) - 1, 0644,
						  &we) == 0) {
				pid_t pid = fork();
				if (pid == 0) {
					int nul = open("/dev/null", O_RDWR);
					dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
					setpgid(0, 0);
					execl(runsc, "runsc", "--root", state, "--platform=kvm",
					      "--network=none", "--ignore-cgroups",
					      getuid() ? "--rootless" : "--network=none", "run",
					      "--bundle", dir, "shunt-kvm-probe", (char *)NULL);
					_exit(127);
				}
				int st = 0;
				bool done = false;
				for (int i = 0; pid > 0 && i < GVISOR_PROBE_SECONDS * 20; i++) {
					if (waitpid(pid, &st, WNOHANG) == pid) {
						done = true;
						break;
					}
					struct timespec ts = {0, 50 * 1000 * 1000};
					nanosleep(&ts, NULL);
				}
				if (pid > 0 && !done) {
					kill(-pid, SIGKILL);
					waitpid(pid, &st, 0);
				}
				if (done && WIFEXITED(st) && WEXITSTATUS(st) == 0)
					result = "kvm";
				/* leftover sandbox of a hung probe */
				pid_t k = fork();
				if (k == 0) {
					int nul = open("/dev/null", O_RDWR);
					dup2(nul, 1), dup2(nul, 2);
					execl(runsc, "runsc", "--root", state, "delete", "-force",
					      "shunt-kvm-probe", (char *)NULL);
					_exit(127);
				}
				if (k > 0)
					waitpid(k, NULL, 0);
			}
			shunt_error_free(&we);
			shunt_fs_rmtree(dir, &we);
			shunt_error_free(&we);
		}
	}
	if (cache) {
		struct shunt_error *we = NULL;
		shunt_fs_write_atomic(cache, result, strlen(result), 0600, &we);
		shunt_error_free(&we);
	}
	return result;
}

/* Whether runsc still keeps state for container id (files named
 * "<id>_sandbox:<id>.*"); `runsc run` removes it when it returns. */
static bool gvisor_has_state(const char *state, const char *id)
{
	_cleanup_closedir_ DIR *d = opendir(state);
	if (!d)
		return false;
	size_t n = strlen(id);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, id, n) == 0 && de->d_name[n] == '_')
			return true;
	return false;
}

void shunt_gvisor_destroy(const char *runsc, const char *state, const char *id, const char *bundle)
{
	char *kill_argv[] = {(char *)runsc, "--root", (char *)state, "kill",
			     (char *)id,    "KILL",   NULL};
	char *del_argv[] = {(char *)runsc, "--root",   (char *)state, "delete",
			    "-force",	   (char *)id, NULL};
	if (gvisor_has_state(state, id)) {
		shunt_child_run_quiet(kill_argv);
		shunt_child_run_quiet(del_argv);
	}
	struct shunt_error *e = NULL;
	shunt_fs_rmtree(bundle, &e);
	shunt_error_free(&e);
}

/* Removes bundles of runs whose shunt process is gone (killed mid-run). */
int shunt_gvisor_sweep(const char *runsc, const char *bundles, const char *state)
{
	_cleanup_closedir_ DIR *d = opendir(bundles);
	if (!d)
		return 0;
	int swept = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[4300], pidfile[sizeof(dir) + 16];
		snprintf(dir, sizeof(dir), "%s/%s", bundles, de->d_name);
		snprintf(pidfile, sizeof(pidfile), "%s/owner", dir);
		_cleanup_free_ char *txt = NULL;
		struct shunt_error *e = NULL;
		long owner = 0;
		if (shunt_fs_read(pidfile, 64, &txt, NULL, &e) == 0)
			owner = strtol(txt, NULL, 10);
		shunt_error_free(&e);
		if (owner > 0 && (kill((pid_t)owner, 0) == 0 || errno == EPERM))
			continue;
		shunt_gvisor_destroy(runsc, state, de->d_name, dir);
		swept++;
	}
	return swept;
}

struct runsc_kill {
	const char *runsc, *state, *id;
};

/* `runsc kill <id> N`; on the timeout, every process: `kill --all <id> KILL`. */
static void runsc_kill(void *ctx, int sig)
{
	const struct runsc_kill *k = ctx;
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", sig);
	char *fwd[] = {
	    (char *)k->runsc, "--root", (char *)k->state, "kill", (char *)k->id, arg, NULL};
	char *all[] = {(char *)k->runsc, "--root",	(char *)k->state, "kill",
		       "--all",		 (char *)k->id, "KILL",		  NULL};
	shunt_child_run_quiet(sig == SIGKILL ? all : fwd);
}

/* Starts runsc with argv, its stdin/stdout/stderr on in (-1: inherited),
 * out and errfd, killed if we die. Returns its pid, or -1 with *err. */
pid_t shunt_gvisor_spawn(const char *runsc, char **argv, int in, int out, int errfd,
			 struct shunt_error **err)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		if ((in >= 0 && dup2(in, 0) < 0) || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(125);
		execv(runsc, argv);
		_exit(127);
	}
	return pid;
}

int shunt_gvisor_setup(char **runsc, char **bundles, char **state, struct shunt_error **err)
{
	*runsc = *bundles = *state = NULL;
	if (shunt_gvisor_find(runsc, err) < 0)
		return -1;
	*bundles = shunt_gvisor_dir("gvisor");
	*state = shunt_gvisor_dir("gvisor-state");
	if (!*bundles || !*state)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (shunt_fs_mkdirs(*bundles, 0700, err) < 0 || shunt_fs_mkdirs(*state, 0700, err) < 0)
		return -1;
	return 0;
}

void shunt_gvisor_run_argv(struct shunt_gvisor_argv *a, char *runsc, char *state,
			   enum shunt_netmode net, bool rootless, bool oci_seccomp, char *bundle,
			   char *id)
{
	snprintf(a->platform, sizeof(a->platform), "--platform=%s", shunt_gvisor_platform(runsc));
	int n = 0;
	a->v[n++] = runsc;
	a->v[n++] = "--root";
	a->v[n++] = state;
	a->v[n++] = a->platform;
	a->v[n++] = net == SHUNT_NET_FULL ? "--network=host" : "--network=none";
	if (rootless) {
		a->v[n++] = "--rootless";
		a->v[n++] = "--ignore-cgroups";
	}
	if (oci_seccomp)
		a->v[n++] = "--oci-seccomp";
	if (net == SHUNT_NET_RESTRICTED)
		a->v[n++] = "--host-uds=open"; /* the relay reaches the proxy's socket */
	a->v[n++] = "run";
	a->v[n++] = "--bundle";
	a->v[n++] = bundle;
	a->v[n++] = id;
	a->v[n] = NULL;
}

static int gvisor_run_plan(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	_cleanup_free_ char *runsc = NULL, *bundles = NULL, *state = NULL;
	if (shunt_gvisor_setup(&runsc, &bundles, &state, err) < 0)
		return -1;
	shunt_gvisor_sweep(runsc, bundles, state);

	char id[64], bundle[4300];
	snprintf(id, sizeof(id), "shunt-%s", plan->run_id[0] ? plan->run_id : "run");
	snprintf(bundle, sizeof(bundle), "%s/%s", bundles, id);
	if (mkdir(bundle, 0700) < 0)
		return shunt_error_sys(err, errno, "creating bundle %s", bundle);
	char path[sizeof(bundle) + 32];
	char owner[32];
	snprintf(owner, sizeof(owner), "%d\n", (int)getpid());
	snprintf(path, sizeof(path), "%s/owner", bundle);
	if (shunt_fs_write_atomic(path, owner, strlen(owner), 0600, err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/empty", bundle);
	if (shunt_fs_write_atomic(path, "", 0, 0400, err) < 0)
		goto fail;
	bool rootless = getuid() != 0;
	bool oci_seccomp = false;
	struct shunt_buf cfg = {0};
	if (shunt_gvisor_config(plan, bundle, rootless, &cfg, &oci_seccomp, err) < 0) {
		shunt_buf_free(&cfg);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int wr = shunt_fs_write_atomic(path, cfg.data, cfg.len, 0600, err);
	shunt_buf_free(&cfg);
	if (wr < 0)
		goto fail;

	struct shunt_gvisor_argv a;
	shunt_gvisor_run_argv(&a, runsc, state, plan->network, rootless, oci_seccomp, bundle, id);
	char **argv = a.v;

	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	pid_t pid = shunt_gvisor_spawn(runsc, argv, -1, out[1], errp[1], err);
	if (pid < 0)
		goto fail;
	close(out[1]);
	close(errp[1]);
	struct runsc_kill k = {runsc, state, id};
	struct shunt_child_watch w = {.pid = pid,
				      .out_fd = out[0],
				      .err_fd = errp[0],
				      .timeout = plan->timeout,
				      .reap_early = true,
				      .kill = runsc_kill,
				      .ctx = &k};
	int rc = shunt_child_watch(&w, status);
	shunt_gvisor_destroy(runsc, state, id, bundle);
	return rc; /* 1: the timeout killed it; the caller says so */
fail:
	shunt_gvisor_destroy(runsc, state, id, bundle);
	return -1;
}

/* Allowlist: the host-side filtering proxy runs for this run; inside, the
 * command is started through `shunt proxy --relay SOCKET --`, which relays
 * 127.0.0.1:SHUNT_NETRELAY_PORT (gVisor's own loopback; no other route
 * with --network=none) to the proxy's socket, bound into the sandbox. */
int shunt_gvisor_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	if (plan->network != SHUNT_NET_RESTRICTED)
		return gvisor_run_plan(plan, status, err);
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return shunt_error_sys(err, errno, "network allowlist: finding the shunt binary");
	self[sl] = '\0';
	struct shunt_netproxy proxy;
	if (shunt_netproxy_start(&proxy, &plan->allow_hosts, plan->run_id, err) < 0)
		return -1;
	char sock[sizeof(proxy.dir) + 32];
	snprintf(sock, sizeof(sock), "%s/%s", proxy.dir, SHUNT_NETPROXY_SOCK);
	size_t argc = 0;
	while (plan->argv[argc])
		argc++;
	struct shunt_plan relayed = *plan;
	char **argv = calloc(argc + 6, sizeof(*argv));
	struct shunt_mount *mounts = calloc(plan->nmounts + 2, sizeof(*mounts));
	int ret = -1;
	if (!argv || !mounts) {
		shunt_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	argv[0] = self;
	argv[1] = "proxy";
	argv[2] = "--relay";
	argv[3] = sock;
	argv[4] = "--";
	memcpy(argv + 5, plan->argv, argc * sizeof(*argv));
	if (plan->nmounts)
		memcpy(mounts, plan->mounts, plan->nmounts * sizeof(*mounts));
	mounts[plan->nmounts] = (struct shunt_mount){
	    .kind = SHUNT_MOUNT_BIND, .host = proxy.dir, .guest = proxy.dir, .read_only = false};
	mounts[plan->nmounts + 1] = (struct shunt_mount){
	    .kind = SHUNT_MOUNT_BIND, .host = self, .guest = self, .read_only = true};
	relayed.argv = argv;
	relayed.mounts = mounts;
	relayed.nmounts = plan->nmounts + 2;
	ret = gvisor_run_plan(&relayed, status, err);
out:
	free(argv);
	free(mounts);
	shunt_netproxy_stop(&proxy);
	return ret;
}
