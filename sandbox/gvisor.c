/* gVisor runner: an OCI bundle per run (config.json, the host's own root
 * read-only) handed to `runsc run`. runsc writes at its own file offset
 * when stdout/stderr are regular files, so it always gets pipes and we
 * copy through. */
#include "gvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "microvm.h"
#include "childio.h"
#include "cleanup.h"
#include "fsutil.h"
#include "netproxy.h"
#include "paths.h"

#define GVISOR_PROBE_SECONDS 4

static char *gvisor_dir(const char *sub)
{
	return shunt_paths_file(SHUNT_DIR_RUNTIME, sub);
}

static int gvisor_find(char **out, struct shunt_error **err)
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
	return gvisor_find(&runsc, err);
}

static void json_kv_str(struct shunt_buf *b, const char *k, const char *v)
{
	shunt_buf_json_str(b, k, strlen(k));
	shunt_buf_putc(b, ':');
	shunt_buf_json_str(b, v, strlen(v));
}

static void json_mount(struct shunt_buf *b, bool *first, const char *dest, const char *type,
		       const char *src, const char *opts)
{
	if (!*first)
		shunt_buf_putc(b, ',');
	*first = false;
	shunt_buf_putc(b, '{');
	json_kv_str(b, "destination", dest);
	shunt_buf_putc(b, ',');
	json_kv_str(b, "type", type);
	shunt_buf_putc(b, ',');
	json_kv_str(b, "source", src);
	shunt_buf_puts(b, ",\"options\":[");
	/* opts is a comma-separated list */
	const char *p = opts;
	bool f = true;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (!f)
			shunt_buf_putc(b, ',');
		f = false;
		shunt_buf_json_str(b, p, n);
		p = c ? c + 1 : NULL;
	}
	shunt_buf_puts(b, "]}");
}

/* The OCI seccomp section: the Docker JSON format is accepted as-is by
 * the OCI spec's field names, so a user's profile file is embedded. */
static int gvisor_seccomp(const struct shunt_plan *plan, struct shunt_buf *b,
			  struct shunt_error **err)
{
	if (!plan->seccomp_profile)
		return 0;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (shunt_fs_read(plan->seccomp_profile, 4 << 20, &data, &len, err) < 0)
		return shunt_error_prefix(err, "seccomp profile: ");
	shunt_buf_puts(b, ",\"seccomp\":");
	shunt_buf_append(b, data, len);
	return 1;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The working directory inside: the caller's cwd when the sandbox can see
 * it, else the workspace. A cwd under a private tmpfs (/tmp, /run,
 * /dev/shm) that no mount brings in would make runsc refuse to start. */
static const char *gvisor_cwd(const struct shunt_plan *plan)
{
	const char *cwd = plan->cwd ? plan->cwd : "/";
	const char *fallback = plan->workspace ? plan->workspace : "/";
	if (plan->workspace && path_under(cwd, plan->workspace))
		return cwd;
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND && m->guest && path_under(cwd, m->guest))
			return cwd;
	}
	static const char *const private_dirs[] = {"/tmp", "/run", "/dev", "/proc", "/sys"};
	for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++)
		if (path_under(cwd, private_dirs[i]))
			return fallback;
	return cwd;
}

/* Builds config.json for the plan. */
static int gvisor_config(const struct shunt_plan *plan, const char *bundle, bool rootless,
			 struct shunt_buf *b, bool *oci_seccomp, struct shunt_error **err)
{
	shunt_buf_puts(b, "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{");
	shunt_buf_printf(b, "\"uid\":%ld,\"gid\":%ld},\"args\":[",
			 plan->uid >= 0 && !rootless ? plan->uid : 0L,
			 plan->gid >= 0 && !rootless ? plan->gid : 0L);
	for (size_t i = 0; plan->argv[i]; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, plan->argv[i], strlen(plan->argv[i]));
	}
	shunt_buf_puts(b, "],\"env\":[");
	for (size_t i = 0; plan->env && plan->env[i]; i++) {
		if (i)
			shunt_buf_putc(b, ',');
		shunt_buf_json_str(b, plan->env[i], strlen(plan->env[i]));
	}
	shunt_buf_puts(b, "],");
	json_kv_str(b, "cwd", gvisor_cwd(plan));
	/* no capabilities at all inside */
	shunt_buf_puts(b, ",\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],"
			  "\"permitted\":[],\"ambient\":[]},\"noNewPrivileges\":true,"
			  "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":4096,\"soft\":4096},"
			  "{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}]},");
	shunt_buf_puts(b, "\"root\":{\"path\":\"/"
			  "\",\"readonly\":true},\"hostname\":\"shunt-sandbox\",\"mounts\":[");
	bool first = true;
	json_mount(b, &first, "/proc", "proc", "proc", "");
	json_mount(b, &first, "/dev", "tmpfs", "tmpfs", "nosuid,mode=755");
	json_mount(b, &first, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
	json_mount(b, &first, "/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
	json_mount(b, &first, "/dev/shm", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
	json_mount(b, &first, "/run", "tmpfs", "tmpfs", "nosuid,nodev,mode=755");
	/* Plan mounts go in plan order (a workspace inside a read-only HOME
	 * must come after HOME); the workspace up front only when the plan
	 * does not list it. */
	bool ws_listed = false;
	for (size_t i = 0; plan->workspace && i < plan->nmounts; i++)
		if (plan->mounts[i].kind == SHUNT_MOUNT_BIND && plan->mounts[i].host &&
		    plan->mounts[i].guest && strcmp(plan->mounts[i].guest, plan->workspace) == 0)
			ws_listed = true;
	if (plan->workspace && !ws_listed)
		json_mount(b, &first, plan->workspace, "bind", plan->workspace,
			   plan->workspace_rw ? "rbind,rw" : "rbind,ro");
	char empty[4096];
	snprintf(empty, sizeof(empty), "%s/empty", bundle);
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (!m->guest)
			continue;
		if (plan->workspace && m->kind == SHUNT_MOUNT_BIND && m->host &&
		    strcmp(m->guest, plan->workspace) == 0) {
			json_mount(b, &first, m->guest, "bind", m->host,
				   plan->workspace_rw ? "rbind,rw" : "rbind,ro");
			continue;
		}
		if (m->kind == SHUNT_MOUNT_BIND && m->cache && m->host) {
			/* a cache that is missing on the host is created, as the
			 * process runner does; one that cannot be is left out */
			struct shunt_error *ce = NULL;
			int mk = shunt_fs_mkdirs(m->host, 0755, &ce);
			shunt_error_free(&ce);
			if (mk < 0 || access(m->host, F_OK) != 0)
				continue;
		}
		switch (m->kind) {
		case SHUNT_MOUNT_BIND:
			if (m->host)
				json_mount(b, &first, m->guest, "bind", m->host,
					   m->read_only ? "rbind,ro" : "rbind,rw");
			break;
		case SHUNT_MOUNT_TMPFS:
			json_mount(b, &first, m->guest, "tmpfs", "tmpfs", "nosuid,nodev,mode=700");
			break;
		case SHUNT_MOUNT_HIDE:
			json_mount(b, &first, m->guest, "bind", empty, "bind,ro");
			break;
		}
	}
	shunt_buf_puts(
	    b, "],\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
	       "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}],\"resources\":{");
	bool rf = true;
	if (plan->mem_bytes) {
		shunt_buf_printf(b, "\"memory\":{\"limit\":%llu}", plan->mem_bytes);
		rf = false;
	}
	if (plan->cpus > 0) {
		shunt_buf_printf(b, "%s\"cpu\":{\"quota\":%lld,\"period\":100000}", rf ? "" : ",",
				 (long long)(plan->cpus * 100000));
		rf = false;
	}
	if (plan->pids)
		shunt_buf_printf(b, "%s\"pids\":{\"limit\":%u}", rf ? "" : ",", plan->pids);
	shunt_buf_puts(b, "}");
	int sc = gvisor_seccomp(plan, b, err);
	if (sc < 0)
		return -1;
	*oci_seccomp = sc > 0;
	shunt_buf_puts(b, "}}");
	if (b->oom)
		return shunt_error_set(err, ENOMEM, "out of memory building the OCI bundle");
	return 0;
}

/* Pick the platform once: KVM only when a real guest boots within a
 * deadline (a /dev/kvm that creates VMs but never runs them counts as
 * unusable); the answer is cached per machine. */
static const char *gvisor_platform(const char *runsc)
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

static void gvisor_destroy(const char *runsc, const char *state, const char *id, const char *bundle)
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
		gvisor_destroy(runsc, state, de->d_name, dir);
		swept++;
	}
	return swept;
}

static volatile sig_atomic_t forward_sig;
static void on_signal(int sig)
{
	forward_sig = sig;
}

/* SIGCHLD wakes the copy loop: runsc's helpers may hold the output pipes
 * a little after `runsc run` itself has returned. */
static int chld_pipe[2] = {-1, -1};
static void on_chld(int sig)
{
	(void)sig;
	int saved = errno;
	if (chld_pipe[1] >= 0) {
		ssize_t w = write(chld_pipe[1], "c", 1);
		(void)w;
	}
	errno = saved;
}

/* After runsc returned: copy what is already in the pipe, without waiting
 * for writers that are going away. */
static void drain(int from, int to)
{
	int fl = fcntl(from, F_GETFL);
	if (fl >= 0)
		fcntl(from, F_SETFL, fl | O_NONBLOCK);
	char buf[65536];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			off += w;
		}
	}
}

/* Starts runsc with argv, its stdin/stdout/stderr on in (-1: inherited),
 * out and errfd, killed if we die. Returns its pid, or -1 with *err. */
static pid_t spawn_runsc(const char *runsc, char **argv, int in, int out, int errfd,
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

static int gvisor_run_plan(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	_cleanup_free_ char *runsc = NULL;
	if (gvisor_find(&runsc, err) < 0)
		return -1;
	_cleanup_free_ char *bundles = gvisor_dir("gvisor");
	_cleanup_free_ char *state = gvisor_dir("gvisor-state");
	if (!bundles || !state)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (shunt_fs_mkdirs(bundles, 0700, err) < 0 || shunt_fs_mkdirs(state, 0700, err) < 0)
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
	if (gvisor_config(plan, bundle, rootless, &cfg, &oci_seccomp, err) < 0) {
		shunt_buf_free(&cfg);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int wr = shunt_fs_write_atomic(path, cfg.data, cfg.len, 0600, err);
	shunt_buf_free(&cfg);
	if (wr < 0)
		goto fail;

	const char *platform = gvisor_platform(runsc);
	char platform_arg[64];
	snprintf(platform_arg, sizeof(platform_arg), "--platform=%s", platform);
	const char *net = plan->network == SHUNT_NET_FULL ? "--network=host" : "--network=none";
	char *argv[16];
	int n = 0;
	argv[n++] = runsc;
	argv[n++] = "--root";
	argv[n++] = state;
	argv[n++] = platform_arg;
	argv[n++] = (char *)net;
	if (rootless) {
		argv[n++] = "--rootless";
		argv[n++] = "--ignore-cgroups";
	}
	if (oci_seccomp)
		argv[n++] = "--oci-seccomp";
	if (plan->network == SHUNT_NET_RESTRICTED)
		argv[n++] = "--host-uds=open"; /* the relay reaches the proxy's socket */
	argv[n++] = "run";
	argv[n++] = "--bundle";
	argv[n++] = bundle;
	argv[n++] = id;
	argv[n] = NULL;

	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	if (chld_pipe[0] < 0 && pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	pid_t pid = spawn_runsc(runsc, argv, -1, out[1], errp[1], err);
	if (pid < 0)
		goto fail;
	close(out[1]);
	close(errp[1]);
	struct sigaction chld = {.sa_handler = on_chld, .sa_flags = SA_RESTART | SA_NOCLDSTOP},
			 ochld;
	sigaction(SIGCHLD, &chld, &ochld);
	struct sigaction sa = {.sa_handler = on_signal}, oint, oterm, ohup;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	sigaction(SIGHUP, &sa, &ohup);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct pollfd pfd[3] = {
	    {out[0], POLLIN, 0}, {errp[0], POLLIN, 0}, {chld_pipe[0], POLLIN, 0}};
	int open_fds = 2;
	bool timed_out = false;
	int st = 0;
	bool reaped = false;
	while (open_fds > 0) {
		int r = poll(pfd, 3, 200);
		if (pfd[2].revents & POLLIN) {
			char c[64];
			while (read(chld_pipe[0], c, sizeof(c)) > 0)
				;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			reaped = true;
			for (int i = 0; i < 2; i++) {
				if (pfd[i].fd < 0)
					continue;
				drain(pfd[i].fd, i == 0 ? 1 : 2);
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			break;
		}
		if (forward_sig) {
			char sig[16];
			snprintf(sig, sizeof(sig), "%d", (int)forward_sig);
			char *kargv[] = {runsc, "--root", state, "kill", id, sig, NULL};
			shunt_child_run_quiet(kargv);
			forward_sig = 0;
		}
		if (plan->timeout && !timed_out) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec >= (time_t)plan->timeout) {
				timed_out = true;
				char *kargv[] = {runsc,	  "--root", state,  "kill",
						 "--all", id,	    "KILL", NULL};
				shunt_child_run_quiet(kargv);
			}
		}
		if (r <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (shunt_child_copy_out(pfd[i].fd, i == 0 ? 1 : 2) <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	while (!reaped && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	sigaction(SIGCHLD, &ochld, NULL);
	gvisor_destroy(runsc, state, id, bundle);
	if (timed_out) {
		*status = 124;
		return 1; /* the caller says so */
	}
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	else
		*status = 1;
	return 0;
fail:
	gvisor_destroy(runsc, state, id, bundle);
	return -1;
}

/* The plan as runsc would see it, for --dry-run. */
int shunt_gvisor_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			  struct shunt_error **err)
{
	bool oci = false;
	return gvisor_config(plan, "<bundle>", getuid() != 0, out, &oci, err);
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

/* ---- warm sandboxes (shuntd's pool) ---- */

#define BUNDLE_MARK "@SHUNT_BUNDLE@"

static const char warm_init[] = "echo shunt-warm-ready; exec /bin/sh -s";

int shunt_gvisor_warm_template(const struct shunt_plan *plan, struct shunt_buf *out)
{
	if (plan->network != SHUNT_NET_NONE)
		return -1;
	char *argv[] = {"/bin/sh", "-c", (char *)warm_init, NULL};
	struct shunt_plan p = *plan;
	p.argv = argv;
	p.cwd = plan->workspace ? plan->workspace : "/";
	struct shunt_buf cfg = {0};
	bool oci = false;
	struct shunt_error *e = NULL;
	bool rootless = getuid() != 0;
	if (gvisor_config(&p, BUNDLE_MARK, rootless, &cfg, &oci, &e) < 0) {
		shunt_error_free(&e);
		shunt_buf_free(&cfg);
		return -1;
	}
	shunt_buf_printf(out, "rootless=%d oci=%d\n", rootless, oci);
	shunt_buf_append(out, cfg.data, cfg.len);
	shunt_buf_free(&cfg);
	return out->oom ? -1 : 0;
}

int shunt_gvisor_warm_boot(const char *tmpl, const char *id, struct shunt_gvisor_warm *w,
			   struct shunt_error **err)
{
	memset(w, 0, sizeof(*w));
	w->out_fd = w->err_fd = w->ctl_fd = -1;
	int rootless = 0, oci = 0;
	const char *json = strchr(tmpl, '\n');
	if (!json || sscanf(tmpl, "rootless=%d oci=%d", &rootless, &oci) != 2)
		return shunt_error_set(err, EINVAL, "bad warm sandbox template");
	json++;
	_cleanup_free_ char *runsc = NULL;
	if (gvisor_find(&runsc, err) < 0)
		return -1;
	_cleanup_free_ char *bundles = gvisor_dir("gvisor");
	_cleanup_free_ char *state = gvisor_dir("gvisor-state");
	if (!bundles || !state)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (shunt_fs_mkdirs(bundles, 0700, err) < 0 || shunt_fs_mkdirs(state, 0700, err) < 0)
		return -1;
	snprintf(w->id, sizeof(w->id), "%s", id);
	snprintf(w->bundle, sizeof(w->bundle), "%s/%s", bundles, id);
	if (mkdir(w->bundle, 0700) < 0)
		return shunt_error_sys(err, errno, "creating bundle %s", w->bundle);
	struct shunt_buf cfg = {0}, esc = {0};
	shunt_buf_json_str(&esc, w->bundle, strlen(w->bundle));
	/* the placeholder sits inside JSON strings: splice in the escaped
	 * path without its quotes */
	for (const char *p = json; *p;) {
		const char *m = strstr(p, BUNDLE_MARK);
		if (!m) {
			shunt_buf_puts(&cfg, p);
			break;
		}
		shunt_buf_append(&cfg, p, (size_t)(m - p));
		if (esc.len >= 2)
			shunt_buf_append(&cfg, esc.data + 1, esc.len - 2);
		p = m + strlen(BUNDLE_MARK);
	}
	shunt_buf_free(&esc);
	char path[sizeof(w->bundle) + 32], owner[32];
	snprintf(owner, sizeof(owner), "%d\n", (int)getpid());
	snprintf(path, sizeof(path), "%s/owner", w->bundle);
	int rc = cfg.oom ? shunt_error_set(err, ENOMEM, "out of memory")
			 : shunt_fs_write_atomic(path, owner, strlen(owner), 0600, err);
	snprintf(path, sizeof(path), "%s/empty", w->bundle);
	if (rc == 0)
		rc = shunt_fs_write_atomic(path, "", 0, 0400, err);
	snprintf(path, sizeof(path), "%s/config.json", w->bundle);
	if (rc == 0)
		rc = shunt_fs_write_atomic(path, cfg.data, cfg.len, 0600, err);
	shunt_buf_free(&cfg);
	if (rc < 0) {
		shunt_gvisor_warm_destroy(w);
		return -1;
	}
	char platform_arg[64];
	snprintf(platform_arg, sizeof(platform_arg), "--platform=%s", gvisor_platform(runsc));
	char *argv[16];
	int n = 0;
	argv[n++] = runsc;
	argv[n++] = "--root";
	argv[n++] = state;
	argv[n++] = platform_arg;
	argv[n++] = "--network=none";
	if (rootless) {
		argv[n++] = "--rootless";
		argv[n++] = "--ignore-cgroups";
	}
	if (oci)
		argv[n++] = "--oci-seccomp";
	argv[n++] = "run";
	argv[n++] = "--bundle";
	argv[n++] = w->bundle;
	argv[n++] = w->id;
	argv[n] = NULL;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	pid_t pid = spawn_runsc(runsc, argv, in[0], out[1], errp[1], err);
	if (pid < 0)
		goto fail;
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	w->pid = pid;
	w->ctl_fd = in[1];
	w->out_fd = out[0];
	w->err_fd = errp[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	shunt_gvisor_warm_destroy(w);
	return -1;
}

void shunt_gvisor_warm_command(const struct shunt_plan *plan, struct shunt_buf *out)
{
	struct shunt_buf script = {0};
	shunt_microvm_job_script(plan, &script);
	/* one line for the waiting `sh -s`; the command itself gets a fresh
	 * shell whose stdin is /dev/null, not the pipe the line came on */
	shunt_buf_puts(out, "exec /bin/sh -c '");
	for (size_t i = 0; i < script.len; i++) {
		if (script.data[i] == '\'')
			shunt_buf_puts(out, "'\\''");
		else
			shunt_buf_putc(out, script.data[i]);
	}
	shunt_buf_puts(out, "' </dev/null\n");
	shunt_buf_free(&script);
}

void shunt_gvisor_warm_kill(const struct shunt_gvisor_warm *w)
{
	_cleanup_free_ char *runsc = NULL;
	_cleanup_free_ char *state = gvisor_dir("gvisor-state");
	struct shunt_error *e = NULL;
	if (gvisor_find(&runsc, &e) < 0 || !state) {
		shunt_error_free(&e);
		return;
	}
	char *kargv[] = {runsc, "--root", state, "kill", "--all", (char *)w->id, "KILL", NULL};
	shunt_child_run_quiet(kargv);
}

void shunt_gvisor_warm_destroy(struct shunt_gvisor_warm *w)
{
	if (w->out_fd >= 0)
		close(w->out_fd);
	if (w->err_fd >= 0)
		close(w->err_fd);
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	w->out_fd = w->err_fd = w->ctl_fd = -1;
	_cleanup_free_ char *runsc = NULL;
	_cleanup_free_ char *state = gvisor_dir("gvisor-state");
	struct shunt_error *e = NULL;
	if (w->bundle[0] && state && gvisor_find(&runsc, &e) == 0)
		gvisor_destroy(runsc, state, w->id, w->bundle);
	shunt_error_free(&e);
	w->bundle[0] = 0;
	w->pid = 0;
}
