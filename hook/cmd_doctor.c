/* shunt doctor [--json]: what this machine supports, each line with how
 * to fix what is missing. Every probe really tries the feature (in a
 * forked child when it is irreversible) instead of trusting version
 * numbers. A report: exits 0 whatever it finds; 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cgroup.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "gvisor.h"
#include "install_agents.h"
#include "landlock.h"
#include "microvm.h"
#include "paths.h"
#include "seccomp.h"

enum status { ST_OK, ST_MISSING, ST_DEGRADED };
static const char *const status_names[] = {"ok", "missing", "degraded"};

struct check {
	const char *name;
	enum status st;
	char detail[512];
	char fix[512];
	struct shunt_buf extra; /* extra JSON members: ,"key":value... */
};

#define NCHECKS 28
struct report {
	struct check c[NCHECKS];
	size_t n;
};

static struct check *add(struct report *r, const char *name, enum status st, const char *fix,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct check *add(struct report *r, const char *name, enum status st, const char *fix,
			 const char *fmt, ...)
{
	struct check *c = &r->c[r->n < NCHECKS - 1 ? r->n++ : r->n];
	va_list ap;
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->st = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	snprintf(c->fix, sizeof(c->fix), "%s", fix ? fix : "");
	return c;
}

static void extra_str(struct check *c, const char *key, const char *val)
{
	shunt_buf_printf(&c->extra, ",\"%s\":", key);
	if (val)
		shunt_buf_json_str(&c->extra, val, strlen(val));
	else
		shunt_buf_puts(&c->extra, "null");
}

static void extra_raw(struct check *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void extra_raw(struct check *c, const char *key, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	shunt_buf_printf(&c->extra, ",\"%s\":%s", key, v);
}

/* First line of a small file, or -1. */
static long read_long(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* ---- user namespace, mount namespace and overlayfs: one forked child ---- */

enum { NS_USER, NS_MAP, NS_MOUNT, NS_OVERLAY, NS_N };

/* Each stage reports 0 or an errno; later stages are -1 when skipped. */
static void ns_child(int wfd, const char *dir)
{
	int r[NS_N] = {-1, -1, -1, -1};
	char p[300], opts[1024];
	uid_t uid = getuid();
	gid_t gid = getgid();
	r[NS_USER] = unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
	if (r[NS_USER] == 0) {
		/* What `unshare -Ur` does: AppArmor's restriction lets unshare
		 * succeed but leaves no capabilities, so the map write fails. */
		snprintf(p, sizeof(p), "0 %u 1", (unsigned)uid);
		if (write_str("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
			r[NS_MAP] = errno;
		else if (write_str("/proc/self/uid_map", p) < 0)
			r[NS_MAP] = errno;
		else {
			snprintf(p, sizeof(p), "0 %u 1", (unsigned)gid);
			r[NS_MAP] = write_str("/proc/self/gid_map", p) == 0 ? 0 : errno;
		}
	}
	if (r[NS_MAP] == 0 || (r[NS_USER] != 0 && getuid() == 0)) {
		r[NS_MOUNT] = 0;
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("shunt-doctor", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0)
			r[NS_MOUNT] = errno;
	}
	if (r[NS_MOUNT] == 0) {
		static const char *const sub[] = {"lower", "upper", "work", "merged"};
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
			mkdir(p, 0755);
		}
		snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work",
			 dir, dir, dir);
		snprintf(p, sizeof(p), "%s/merged", dir);
		r[NS_OVERLAY] = mount("overlay", p, "overlay", 0, opts) == 0 ? 0 : errno;
	}
	_exit(write(wfd, r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

static int probe_ns(int *r)
{
	char dir[] = "/tmp/shunt-doctor.XXXXXX";
	int pfd[2];
	for (int i = 0; i < NS_N; i++)
		r[i] = -1;
	if (!mkdtemp(dir))
		return -1;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rmdir(dir);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		ns_child(pfd[1], dir);
	}
	close(pfd[1]);
	ssize_t n = pid > 0 ? read(pfd[0], r, sizeof(int) * NS_N) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	rmdir(dir);
	return n == (ssize_t)(sizeof(int) * NS_N) ? 0 : -1;
}

static void check_userns(struct report *rep, const int *ns)
{
	long clone = read_long("/proc/sys/kernel/unprivileged_userns_clone");
	long maxns = read_long("/proc/sys/user/max_user_namespaces");
	long aa = read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	const char *fix = NULL;
	struct check *c;
	if (ns[NS_USER] == 0 && ns[NS_MAP] == 0) {
		c = add(rep, "userns", ST_OK, NULL,
			"user namespaces work for uid %u (uid map written)", (unsigned)getuid());
	} else {
		if (aa == 1)
			fix = "AppArmor restricts user namespaces: sudo sysctl "
			      "kernel.apparmor_restrict_unprivileged_userns=0 "
			      "(or add an AppArmor profile allowing 'userns' for shunt)";
		else if (clone == 0)
			fix = "sudo sysctl kernel.unprivileged_userns_clone=1";
		else if (maxns == 0)
			fix = "sudo sysctl user.max_user_namespaces=15000";
		else
			fix = "enable CONFIG_USER_NS, or check seccomp/container restrictions on "
			      "unshare";
		if (ns[NS_USER] != 0)
			c = add(rep, "userns", ST_MISSING, fix, "unshare(CLONE_NEWUSER) failed: %s",
				strerror(ns[NS_USER]));
		else
			c = add(rep, "userns", ST_MISSING, fix,
				"user namespace created but writing its uid/gid map failed: %s",
				ns[NS_MAP] > 0 ? strerror(ns[NS_MAP]) : "no result");
	}
	extra_raw(c, "works", "%s", ns[NS_USER] == 0 && ns[NS_MAP] == 0 ? "true" : "false");
	extra_raw(c, "unprivileged_userns_clone", "%ld", clone);
	extra_raw(c, "max_user_namespaces", "%ld", maxns);
	extra_raw(c, "apparmor_restrict_unprivileged_userns", "%ld", aa);
}

static void check_landlock(struct report *rep)
{
	int abi = shunt_landlock_abi();
	struct check *c;
	if (abi <= 0)
		c = add(rep, "landlock", ST_MISSING,
			"needs Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the "
			"lsm= boot parameter",
			"not available: file access is limited by mounts only");
	else if (abi < 4)
		c = add(rep, "landlock", ST_DEGRADED,
			"Linux >= 6.7 adds TCP bind/connect rules (ABI 4)",
			"ABI %d: file rules applied; no TCP rules", abi);
	else
		c = add(rep, "landlock", ST_OK, NULL,
			"ABI %d: file rules and TCP bind/connect rules%s", abi,
			abi >= 6 ? ", signal and abstract-socket scoping" : "");
	extra_raw(c, "abi", "%d", abi);
}

static void check_seccomp(struct report *rep)
{
	struct seccomp_notif_sizes sizes;
	bool filter = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	bool notify = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
	struct shunt_error *err = NULL;
	int prof = shunt_seccomp_check(NULL, SHUNT_PROFILE_WORKSPACE_WRITE, &err);
	struct check *c;
	if (!filter)
		c = add(rep, "seccomp", ST_MISSING, "needs a kernel with CONFIG_SECCOMP_FILTER=y",
			"seccomp is not available");
	else if (prof < 0)
		c = add(rep, "seccomp", ST_DEGRADED, "rebuild shunt",
			"built-in profile does not compile: %s", err ? err->msg : "?");
	else if (!notify)
		c = add(
		    rep, "seccomp", ST_DEGRADED, "Linux >= 5.0 adds user notification",
		    "filter mode available; user notification (SECCOMP_GET_NOTIF_SIZES) is not");
	else
		c = add(rep, "seccomp", ST_OK, NULL,
			"filter mode and user notification available; built-in profiles compile");
	shunt_error_free(&err);
	extra_raw(c, "filter", "%s", filter ? "true" : "false");
	extra_raw(c, "user_notification", "%s", notify ? "true" : "false");
}

/* ---- cgroups ---- */

static bool fs_is(const char *path, long magic)
{
	struct statfs s;
	return statfs(path, &s) == 0 && (long)s.f_type == magic;
}

/* The caller's cgroup directory for a v1 controller (or v2 with ""). */
static bool own_cgroup_dir(const char *ctrl, const char *mnt, char *out, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4200];
	while (f && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		c2[1 + strcspn(c2 + 1, "\n")] = 0;
		bool match =
		    !*ctrl ? strcmp(c1 + 1, "") == 0 && strncmp(line, "0:", 2) == 0 : false;
		if (*ctrl) {
			char *save = NULL;
			for (char *t = strtok_r(c1 + 1, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (strcmp(t, ctrl) == 0)
					match = true;
		}
		if (match) {
			snprintf(out, size, "%s%s", mnt, strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1);
			return true;
		}
	}
	return false;
}

/* Whether the mount at path lists opt among its options. */
static bool mount_has_option(const char *path, const char *opt)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024];
	size_t n = strlen(opt);
	while (f && fgets(line, sizeof(line), f)) {
		char dev[256], mnt[256], type[64], opts[512];
		if (sscanf(line, "%255s %255s %63s %511s", dev, mnt, type, opts) != 4 ||
		    strcmp(mnt, path) != 0)
			continue;
		for (char *p = opts; (p = strstr(p, opt)); p += n)
			if ((p == opts || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
				return true;
	}
	return false;
}

static void check_cgroups(struct report *rep)
{
	static const char *const ctrls[] = {"memory", "pids", "cpu"};
	char dir[4200], v2mnt[64] = "", writable[128] = "", v1list[128] = "", v2ctrl[256] = "";
	bool v1 = false;
	if (fs_is("/sys/fs/cgroup", 0x63677270))
		snprintf(v2mnt, sizeof(v2mnt), "/sys/fs/cgroup");
	else if (fs_is("/sys/fs/cgroup/unified", 0x63677270))
		snprintf(v2mnt, sizeof(v2mnt), "/sys/fs/cgroup/unified");
	for (size_t i = 0; i < 3; i++) {
		char mnt[64];
		snprintf(mnt, sizeof(mnt), "/sys/fs/cgroup/%s", ctrls[i]);
		if (!fs_is(mnt, 0x27e0eb))
			continue;
		v1 = true;
		snprintf(v1list + strlen(v1list), sizeof(v1list) - strlen(v1list), "%s%s",
			 *v1list ? "," : "", ctrls[i]);
		if (own_cgroup_dir(ctrls[i], mnt, dir, sizeof(dir)) && access(dir, W_OK) == 0)
			snprintf(writable + strlen(writable), sizeof(writable) - strlen(writable),
				 "%sv1:%s", *writable ? "," : "", ctrls[i]);
	}
	if (*v2mnt && own_cgroup_dir("", v2mnt, dir, sizeof(dir))) {
		char p[4300];
		snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
		FILE *f = fopen(p, "re");
		if (f) {
			if (fgets(v2ctrl, sizeof(v2ctrl), f))
				v2ctrl[strcspn(v2ctrl, "\n")] = 0;
			fclose(f);
		}
		snprintf(p, sizeof(p), "%s/cgroup.subtree_control", dir);
		if (access(p, W_OK) == 0)
			for (size_t i = 0; i < 3; i++)
				if (strstr(v2ctrl, ctrls[i]))
					snprintf(writable + strlen(writable),
						 sizeof(writable) - strlen(writable), "%sv2:%s",
						 *writable ? "," : "", ctrls[i]);
	}
	/* The real test: can shunt create a limited cgroup right now? */
	struct shunt_cgroup cg;
	struct shunt_error *err = NULL;
	int r = shunt_cgroup_setup(&cg, 256ULL << 20, 1.0, 64, &err);
	int ver = r == 0 ? cg.version : 0;
	if (r == 0)
		shunt_cgroup_destroy(&cg);
	char versions[32];
	snprintf(versions, sizeof(versions), "%s%s%s", v1 ? "v1" : "", v1 && *v2mnt ? "+" : "",
		 *v2mnt ? "v2" : "");
	/* Moving a process between v1 cgroups waits for an RCU grace period
	 * (milliseconds on some VMs) unless some cgroup2 mount has
	 * favordynmods, which keeps the threadgroup lock in writer-friendly
	 * mode system-wide. */
	char tip[256] = "";
	if (r == 0 && ver == 1 && *v2mnt && !mount_has_option(v2mnt, "favordynmods"))
		snprintf(tip, sizeof(tip),
			 "each run waits for an RCU grace period to enter its v1 cgroup; "
			 "mount -o remount,favordynmods %s removes that wait",
			 v2mnt);
	struct check *c;
	if (r == 0)
		c = add(rep, "cgroups", ST_OK, NULL,
			"%s mounted; limits via cgroup v%d (writable: %s)%s%s",
			*versions ? versions : "none", ver, *writable ? writable : "-",
			*tip ? "; tip: " : "", tip);
	else
		c = add(rep, "cgroups", ST_DEGRADED,
			v1 && !strstr(v2ctrl, "memory")
			    ? "cgroup v1 is root-only: boot with "
			      "systemd.unified_cgroup_hierarchy=1 for delegated v2"
			    : "enable delegation: systemd-run --user --scope -p "
			      "Delegate=yes, or run as root",
			"%s mounted; not writable by this user: limits fall back to rlimits%s%s",
			*versions ? versions : "none", err ? ": " : "", err ? err->msg : "");
	shunt_error_free(&err);
	extra_str(c, "versions", versions);
	extra_str(c, "v1_controllers", v1list);
	extra_str(c, "v2_controllers", v2ctrl);
	extra_str(c, "writable", writable);
	extra_raw(c, "limits_version", "%d", ver);
	if (*tip)
		extra_str(c, "tip", tip);
}

static void check_overlay(struct report *rep, const int *ns)
{
	bool listed = false;
	FILE *f = fopen("/proc/filesystems", "re");
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "\toverlay\n"))
			listed = true;
	if (f)
		fclose(f);
	struct check *c;
	if (ns[NS_OVERLAY] == 0)
		c = add(rep, "overlayfs", ST_OK, NULL, "overlay mounts work in a user namespace");
	else if (!listed)
		c = add(rep, "overlayfs", ST_MISSING, "sudo modprobe overlay",
			"overlay is not in /proc/filesystems: SYSTEM_WRITE on the process runner "
			"is unavailable");
	else
		c = add(rep, "overlayfs", ST_DEGRADED,
			"Linux >= 5.11 allows overlay mounts in user namespaces",
			"overlay is available but mounting it in a user namespace failed: %s",
			ns[NS_OVERLAY] > 0 ? strerror(ns[NS_OVERLAY])
					   : "user/mount namespace unavailable");
	extra_raw(c, "in_proc_filesystems", "%s", listed ? "true" : "false");
	extra_raw(c, "userns_mount", "%s", ns[NS_OVERLAY] == 0 ? "true" : "false");
}

/* ---- runners ---- */

/* Runs argv with a deadline; copies the first line of its output (stdout
 * only) into out. Returns the exit status, or -1 (not run/killed). */
static int run_quick(char *const argv[], int timeout_ms, char *out, size_t size)
{
	int pfd[2];
	out[0] = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(nul, 2); /* warnings on stderr are not the version */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms -
			    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		char buf[256];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && len + 1 < size; i++)
			out[len++] = buf[i];
		out[len] = 0;
	}
	close(pfd[0]);
	out[strcspn(out, "\n")] = 0;
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* True when a Docker-API unix socket answers GET /_ping quickly. */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	bool ok = false;
	struct pollfd p = {fd, POLLOUT, 0};
	if ((connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS ||
	     errno == EAGAIN) &&
	    poll(&p, 1, 1500) == 1 && (p.revents & POLLOUT)) {
		static const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
		if (write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
			char buf[64] = {0};
			p.events = POLLIN;
			if (poll(&p, 1, 1500) == 1 && read(fd, buf, sizeof(buf) - 1) > 0)
				ok = strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200") != NULL;
		}
	}
	close(fd);
	return ok;
}

static void check_binary(struct report *rep, const char *name, const char *bin, const char *verflag,
			 const char *install)
{
	_cleanup_free_ char *path = shunt_paths_which(bin);
	char ver[200] = "";
	if (!path) {
		struct check *c = add(rep, name, ST_MISSING, install, "%s not found in PATH", bin);
		extra_str(c, "path", NULL);
		return;
	}
	char *argv[] = {path, (char *)verflag, NULL};
	int r = run_quick(argv, 3000, ver, sizeof(ver));
	struct check *c =
	    r == 0 ? add(rep, name, ST_OK, NULL, "%s (%s)", path, *ver ? ver : "version unknown")
		   : add(rep, name, ST_DEGRADED, install, "%s found but '%s %s' failed", path, bin,
			 verflag);
	extra_str(c, "path", path);
	extra_str(c, "version", *ver ? ver : NULL);
}

/* installed is not enough: runtime auto only picks gVisor when it runs
 * ordinary commands correctly here */
static void check_gvisor_usable(struct report *rep)
{
	struct check *prev = &rep->c[rep->n - 1];
	if (prev->st != ST_OK)
		return;
	char why[512];
	if (shunt_gvisor_usable(why, sizeof(why))) {
		add(rep, "gvisor", ST_OK, NULL,
		    "runs ordinary commands: runtime auto uses it for READ_ONLY and "
		    "WORKSPACE_WRITE");
	} else {
		add(rep, "gvisor", ST_DEGRADED,
		    "upgrade runsc, or keep the process runner (runtime: process)",
		    "%s; runtime auto uses the process runner instead", why);
	}
}

/* TLS verification can only be switched off explicitly; say so loudly. */
static void check_tls(struct report *rep)
{
	struct shunt_config cfg;
	struct shunt_config_opts opts = {0};
	struct shunt_error *e = NULL;
	if (shunt_config_load(&cfg, &opts, &e) < 0) {
		add(rep, "config", ST_DEGRADED, "shunt config validate",
		    "the configuration does not load: %s", e ? e->msg : "unknown error");
		shunt_error_free(&e);
		return;
	}
	size_t insecure = 0;
	const char *first = NULL;
	for (size_t i = 0; i < cfg.npolicy_sources; i++)
		if (cfg.policy_sources[i].insecure) {
			insecure++;
			if (!first)
				first = cfg.policy_sources[i].url;
		}
	if (cfg.audit_forward.url && cfg.audit_forward.insecure) {
		insecure++;
		if (!first)
			first = cfg.audit_forward.url;
	}
	if (cfg.remote_url && cfg.remote_insecure) {
		insecure++;
		if (!first)
			first = cfg.remote_url;
	}
	if (insecure)
		add(rep, "tls", ST_DEGRADED,
		    "remove insecure: true from policy.sources / audit.forward / remote",
		    "%zu endpoint(s) configured with insecure: true (no TLS verification), e.g. %s",
		    insecure, first);
	else
		add(rep, "tls", ST_OK, NULL,
		    "policy sources, audit forwarding and the remote shuntd verify TLS");
	shunt_config_free(&cfg);
}

static void check_engine(struct report *rep, const char *name, const char *sock_env)
{
	check_binary(rep, name, name, "--version",
		     strcmp(name, "docker") == 0
			 ? "install Docker Engine (docs.docker.com/engine/install)"
			 : "sudo apt-get install podman");
	struct check *c = &rep->c[rep->n - 1];
	if (c->st != ST_OK)
		return;
	char sock[512] = "";
	const char *host = getenv(sock_env);
	if (host && strncmp(host, "unix://", 7) == 0)
		snprintf(sock, sizeof(sock), "%s", host + 7);
	else if (strcmp(name, "docker") == 0)
		snprintf(sock, sizeof(sock), "/var/run/docker.sock");
	else {
		const char *rt = getenv("XDG_RUNTIME_DIR");
		if (getuid() != 0 && rt)
			snprintf(sock, sizeof(sock), "%s/podman/podman.sock", rt);
		else
			snprintf(sock, sizeof(sock), "/run/podman/podman.sock");
	}
	bool up = socket_answers(sock);
	extra_str(c, "socket", sock);
	extra_raw(c, "daemon", "%s", up ? "true" : "false");
	if (strcmp(name, "docker") == 0 && !up) {
		c->st = ST_DEGRADED;
		snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
			 "; daemon not answering at %s", sock);
		snprintf(c->fix, sizeof(c->fix),
			 "start the daemon (sudo systemctl start docker) or set DOCKER_HOST");
	} else {
		snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
			 "; %s %s", sock,
			 up ? "answers" : "not listening (podman runs without a daemon)");
	}
}

static void check_kvm(struct report *rep)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct check *c;
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			c = add(rep, "kvm", ST_MISSING,
				"enable virtualisation in firmware / nested virtualisation, then "
				"modprobe kvm_intel or kvm_amd",
				"/dev/kvm does not exist");
		else
			c = add(rep, "kvm", ST_MISSING,
				"sudo usermod -aG kvm $USER (then log in again)",
				"/dev/kvm cannot be opened: %s", strerror(e));
		extra_raw(c, "usable", "false");
		return;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		close(vm);
		c = add(
		    rep, "kvm", ST_OK, NULL,
		    "/dev/kvm opens and KVM_CREATE_VM works (API %d); cannot verify a guest boots",
		    api);
	} else {
		c = add(rep, "kvm", ST_MISSING,
			"check that nested virtualisation is enabled for this VM",
			"/dev/kvm opens but KVM_CREATE_VM fails: %s", strerror(errno));
	}
	extra_raw(c, "usable", "%s", vm >= 0 ? "true" : "false");
	close(fd);
}

/* The Firecracker backend: binary, KVM, guest image, and the cached boot
 * probe that decides (doctor never boots a VM; shunt vm probe --boot does). */
static void check_firecracker_boot(struct report *rep)
{
	struct shunt_microvm_fc_state st;
	shunt_microvm_fc_state(&st, false);
	struct check *c;
	if (!st.binary)
		c = add(rep, "vm-firecracker", ST_MISSING,
			"install a firecracker release binary on PATH or set SHUNT_FIRECRACKER; "
			"microVMs use QEMU meanwhile",
			"no firecracker binary: the microVM backend is QEMU");
	else if (!st.kvm)
		c = add(rep, "vm-firecracker", ST_MISSING, "see kvm above",
			"%s found, but /dev/kvm is not usable by this user: the backend is QEMU",
			st.binary);
	else if (!st.digest)
		c = add(rep, "vm-firecracker", ST_MISSING, "shunt vm build",
			"%s found and /dev/kvm opens, but the guest image is not built", st.binary);
	else if (st.probe == 1)
		c = add(rep, "vm-firecracker", ST_OK, NULL,
			"%s boots guest image %s (cached boot probe)", st.binary, st.digest);
	else if (st.probe == 0)
		c = add(rep, "vm-firecracker", ST_MISSING,
			"fix KVM (nested virtualisation?), then rm the probe cache and run "
			"'shunt vm probe --boot'",
			"%s did not boot guest image %s (cached boot probe: %s): the backend is "
			"QEMU",
			st.binary, st.digest, st.why ? st.why : "no reason recorded");
	else
		c = add(rep, "vm-firecracker", ST_DEGRADED, "shunt vm probe --boot",
			"%s found and /dev/kvm opens, but no boot probe for guest image %s yet "
			"(the first microVM run probes)",
			st.binary, st.digest);
	if (st.binary && st.kvm && st.digest && st.probe == 0 && st.cache)
		snprintf(c->fix, sizeof(c->fix),
			 "fix KVM (nested virtualisation?), then rm %s and run 'shunt vm probe "
			 "--boot'",
			 st.cache);
	extra_str(c, "binary", st.binary);
	extra_raw(c, "kvm", "%s", st.kvm ? "true" : "false");
	extra_str(c, "image", st.digest);
	extra_raw(c, "probe", "%s", st.probe == 1 ? "true" : st.probe == 0 ? "false" : "null");
	extra_str(c, "why", st.why);
	extra_str(c, "probe_cache", st.cache);
	extra_raw(c, "usable", "%s", st.probe == 1 && st.kvm && st.binary ? "true" : "false");
	/* the guest's root: a debootstrap drive, else the initramfs (Firecracker)
	 * or the host's root (QEMU) */
	if (st.rootfs)
		c = add(rep, "vm-rootfs", ST_OK, NULL,
			"the microVM guest root is the debootstrap image %s", st.rootfs);
	else
		c = add(rep, "vm-rootfs", st.digest ? ST_DEGRADED : ST_MISSING,
			"sudo shunt vm build --rootfs debootstrap",
			"no debootstrap guest root: Firecracker guests get only the busybox "
			"initramfs, QEMU's the host's root read-only");
	extra_str(c, "rootfs", st.rootfs);
	shunt_microvm_fc_state_free(&st);
}

static void check_process_runner(struct report *rep, const int *ns)
{
	struct check *c;
	if (ns[NS_USER] == 0 && ns[NS_MAP] == 0 && ns[NS_MOUNT] == 0)
		c = add(rep, "process", ST_OK, NULL,
			"user + mount namespaces work: the built-in process runner is usable");
	else if (ns[NS_MOUNT] == 0)
		c = add(rep, "process", ST_DEGRADED, "see userns above",
			"works as root only: no unprivileged user namespace");
	else
		c = add(rep, "process", ST_MISSING, "see userns above",
			"cannot create a mount namespace: %s",
			ns[NS_MOUNT] > 0 ? strerror(ns[NS_MOUNT]) : "no user namespace");
	extra_raw(c, "usable", "%s", c->st == ST_OK ? "true" : "false");
}

/* ---- environment: editor and shim ---- */

static void check_editor(struct report *rep)
{
	const char *tp = getenv("TERM_PROGRAM");
	const char *ed = NULL;
	if (getenv("CURSOR_TRACE_ID") || (tp && strcasecmp(tp, "cursor") == 0))
		ed = "cursor";
	else if (tp && strcmp(tp, "vscode") == 0)
		ed = "vscode";
	else if (getenv("VSCODE_PID") || getenv("VSCODE_IPC_HOOK_CLI") ||
		 getenv("VSCODE_GIT_IPC_HANDLE"))
		ed = "vscode";
	struct check *c =
	    ed ? add(rep, "editor", ST_OK, NULL, "running in the %s terminal", ed)
	       : add(rep, "editor", ST_MISSING,
		     "none needed outside an editor; see 'shunt install'",
		     "no editor terminal detected%s%s", tp ? " (TERM_PROGRAM=" : "", tp ? tp : "");
	if (!ed && tp)
		strncat(c->detail, ")", sizeof(c->detail) - strlen(c->detail) - 1);
	extra_str(c, "editor", ed);
	extra_str(c, "term_program", tp);
}

/* Codex ignores an untrusted hook: say whether it is trusted */
static void check_codex_hook(struct report *rep)
{
	char d[400];
	int t = shunt_install_agents_codex_trust(d, sizeof(d));
	if (t != 0)
		add(rep, "codex-hook", t == 1 ? ST_OK : ST_DEGRADED,
		    t == 1 ? NULL : "start codex and type /hooks", "%s", d);
}

/* The LD_PRELOAD entry naming our interposer, copied into buf. */
static const char *preload_entry(const char *pre, char *buf, size_t cap)
{
	for (const char *p = pre; p && *p;) {
		size_t n = strcspn(p, ": ");
		if (n && n < cap) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (strstr(buf, "libshunt-preload.so"))
				return buf;
		}
		p += n;
		p += strspn(p, ": ");
	}
	return NULL;
}

static void check_shim(struct report *rep)
{
	const char *pre = getenv("LD_PRELOAD");
	char lib[PATH_MAX], core[PATH_MAX + 32];
	const char *entry = preload_entry(pre, lib, sizeof(lib));
	bool loaded = entry != NULL;
	/* the interposer decides nothing without its core next to it */
	bool core_ok = true;
	if (loaded) {
		const char *slash = strrchr(entry, '/');
		snprintf(core, sizeof(core), "%.*slibshunt-shim-core.so",
			 slash ? (int)(slash - entry + 1) : 0, entry);
		core_ok = access(core, R_OK) == 0;
	}
	struct check *c;
	if (!loaded)
		c = add(rep, "shim", ST_MISSING,
			"eval \"$(shunt init bash)\" (or zsh) in your shell rc",
			"LD_PRELOAD does not contain libshunt-preload.so");
	else if (!core_ok)
		c = add(rep, "shim", ST_DEGRADED,
			"reinstall shunt (make install): the two libraries belong together",
			"%s is in LD_PRELOAD, but %s is missing: every exec is refused", entry,
			core);
	else
		c = add(rep, "shim", ST_OK, NULL, "libshunt-preload.so is in LD_PRELOAD");
	extra_raw(c, "loaded", "%s", loaded ? "true" : "false");
	if (loaded)
		extra_raw(c, "core", "%s", core_ok ? "true" : "false");
}

/* ---- output ---- */

static void print_human(const struct report *r)
{
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->c[i].name) > w)
			w = strlen(r->c[i].name);
	for (size_t i = 0; i < r->n; i++) {
		const struct check *c = &r->c[i];
		printf("%s:%*s %-8s \u2014 %s", c->name, (int)(w - strlen(c->name)), "",
		       status_names[c->st], c->detail);
		if (c->st != ST_OK && c->fix[0])
			printf(" (%s)", c->fix);
		printf("\n");
	}
}

static void print_json(const struct report *r)
{
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "{\"shunt_version\":\"%s\",\"uid\":%u,\"checks\":{", SHUNT_VERSION,
			 (unsigned)getuid());
	for (size_t i = 0; i < r->n; i++) {
		const struct check *c = &r->c[i];
		shunt_buf_printf(&b, "%s\"%s\":{\"status\":\"%s\",\"detail\":", i ? "," : "",
				 c->name, status_names[c->st]);
		shunt_buf_json_str(&b, c->detail, strlen(c->detail));
		shunt_buf_puts(&b, ",\"fix\":");
		if (c->fix[0] && c->st != ST_OK)
			shunt_buf_json_str(&b, c->fix, strlen(c->fix));
		else
			shunt_buf_puts(&b, "null");
		if (c->extra.len)
			shunt_buf_append(&b, c->extra.data, c->extra.len);
		shunt_buf_putc(&b, '}');
	}
	shunt_buf_puts(&b, "}}\n");
	fputs(b.data ? b.data : "{}\n", stdout);
	shunt_buf_free(&b);
}

int shunt_cmd_doctor(int argc, char **argv, struct shunt_error **err)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: shunt doctor [--json]\n\nReports what this machine supports "
			       "for sandboxing "
			       "(namespaces, Landlock, seccomp,\ncgroups, overlayfs, runners) and "
			       "how to fix what is "
			       "missing. Always exits 0.\n");
			return 0;
		} else {
			shunt_error_set(err, EINVAL,
					"unknown option '%s' (usage: shunt doctor [--json])",
					argv[i]);
			if (err && *err)
				(*err)->exitcode = 2;
			return -1;
		}
	}
	struct report *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int ns[NS_N];
	if (probe_ns(ns) < 0)
		for (int i = 0; i < NS_N; i++)
			ns[i] = EIO;
	check_userns(rep, ns);
	check_landlock(rep);
	check_seccomp(rep);
	check_cgroups(rep);
	check_overlay(rep, ns);
	check_process_runner(rep, ns);
	check_binary(rep, "runsc", "runsc", "--version", "sudo apt-get install runsc");
	check_gvisor_usable(rep);
	check_engine(rep, "podman", "CONTAINER_HOST");
	check_engine(rep, "docker", "DOCKER_HOST");
#if defined(__aarch64__)
	check_binary(rep, "qemu", "qemu-system-aarch64", "--version",
		     "sudo apt-get install qemu-system-arm");
#else
	check_binary(rep, "qemu", "qemu-system-x86_64", "--version",
		     "sudo apt-get install qemu-system-x86");
#endif
	check_binary(rep, "firecracker", "firecracker", "--version",
		     "download a release from github.com/firecracker-microvm/firecracker/releases");
	check_kvm(rep);
	check_firecracker_boot(rep);
	check_editor(rep);
	check_codex_hook(rep);
	check_shim(rep);
	check_tls(rep);
	if (json)
		print_json(rep);
	else
		print_human(rep);
	for (size_t i = 0; i < rep->n; i++)
		shunt_buf_free(&rep->c[i].extra);
	free(rep);
	return 0;
}
