/* The built-in process runner. The parent clones an init process into
 * new user, mount, PID, IPC, UTS (and network) namespaces, writes its
 * uid/gid maps and cgroup, then lets it go. Init builds a fresh root on
 * a tmpfs, pivots into it, and forks the command, which drops every
 * capability and applies rlimits, Landlock and seccomp before execve.
 * Any setup failure travels back over a CLOEXEC pipe: the command never
 * runs outside the sandbox. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "landlock.h"
#include "netproxy.h"
#include "netrelay.h"
#include "process.h"
#include "seccomp.h"

extern char **environ;

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV  0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define EXIT_SETUP 125
#define USERNS_HINT                                                                                \
	"enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 "       \
	"(Debian), sysctl -w user.max_user_namespaces=15000, or on Ubuntu 24.04+ "                 \
	"sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"

struct mount_attr_arg {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* What a failing child sends the parent; one write, below PIPE_BUF. */
struct setup_msg {
	int code;
	int exitcode;
	char msg[1024];
};

static const int forwarded_signals[] = {SIGINT,	 SIGTERM, SIGHUP,  SIGQUIT,
					SIGUSR1, SIGUSR2, SIGWINCH};

/* ---- child side (init and the command); never returns on failure ---- */

static int g_errfd = -1;
static bool g_host_root;	/* the caller is uid 0 on the host; set before clone */
static const char *g_proxy_dir; /* allowlist: the proxy socket's directory; set before clone */
static int g_cg_fds[3] = {-1, -1, -1};	  /* the cgroup's self-attach files; set before clone */
static bool g_cgroup_active;		  /* limits by cgroup (else rlimits); set before clone */
static char g_uid_map[64], g_gid_map[64]; /* our own id maps; set before clone */

static void child_send(int code, int exitcode, bool add_strerror, const char *fmt, va_list ap)
{
	struct setup_msg m = {.code = code, .exitcode = exitcode};
	int n = vsnprintf(m.msg, sizeof(m.msg), fmt, ap);
	if (add_strerror && code && n >= 0 && (size_t)n < sizeof(m.msg))
		snprintf(m.msg + n, sizeof(m.msg) - (size_t)n, ": %s", strerror(code));
	if (g_errfd >= 0) {
		ssize_t w = write(g_errfd, &m, sizeof(m));
		(void)w;
	}
}

__attribute__((noreturn, format(printf, 2, 3))) static void child_fail_fmt(int code,
									   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	child_send(code, EXIT_SETUP, false, fmt, ap);
	va_end(ap);
	_exit(EXIT_SETUP);
}

/* Reports a setup failure (message + ": strerror(code)") and exits. */
__attribute__((noreturn, format(printf, 3, 4))) static void child_fail(int code, int exitcode,
								       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	child_send(code, exitcode, true, fmt, ap);
	va_end(ap);
	_exit(exitcode);
}

/* Same for an error object from another module (its message is final). */
__attribute__((noreturn)) static void child_fail_err(const struct shunt_error *e, const char *what)
{
	child_fail_fmt(e ? e->code : 0, "%s: %s", what, e ? e->msg : "failed");
}

static int set_attrs(const char *path, uint64_t set, bool recursive)
{
	struct mount_attr_arg a = {.attr_set = set};
	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a,
			    sizeof(a));
}

__attribute__((noreturn)) static void mkdir_fail(const char *dir)
{
	const char *shown = strncmp(dir, "/newroot/", 9) == 0 ? dir + 8 : dir;
	if (errno == EROFS)
		child_fail(errno, EXIT_SETUP,
			   "mount point %s does not exist inside the sandbox and its directory is "
			   "read-only; choose a guest path that exists or lies under /mnt or /tmp",
			   shown);
	child_fail(errno, EXIT_SETUP, "creating mount point %s", shown);
}

static void mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	/* the common case: the parent exists */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return;
	if (errno != ENOENT)
		mkdir_fail(path);
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		child_fail(ENAMETOOLONG, EXIT_SETUP, "mount point %s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			mkdir_fail(tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		mkdir_fail(tmp);
}

/* Makes dst exist as a directory or a file, like src. */
static void make_target(const char *dst, bool dir)
{
	struct stat st;
	if (lstat(dst, &st) == 0)
		return;
	if (dir) {
		mkdir_p(dst, 0755);
		return;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dst);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		mkdir_p(parent, 0755);
	}
	int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0 && errno == EROFS)
		child_fail(errno, EXIT_SETUP,
			   "mount point %s does not exist inside the sandbox and its directory is "
			   "read-only; choose a guest path that exists or lies under /mnt or /tmp",
			   dst + 8);
	if (fd < 0)
		child_fail(errno, EXIT_SETUP, "creating mount point %s", dst);
	close(fd);
}

static void bind_path(const char *src, const char *dst, bool ro, bool nodev)
{
	struct stat st;
	if (stat(src, &st) < 0)
		child_fail(errno, EXIT_SETUP, "bind mount source %s", src);
	make_target(dst, S_ISDIR(st.st_mode));
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(errno, EXIT_SETUP, "bind-mounting %s", src);
	if (!ro && !nodev)
		return; /* a device node: nothing to tighten */
	uint64_t attrs =
	    MOUNT_ATTR_NOSUID | (nodev ? MOUNT_ATTR_NODEV : 0) | (ro ? MOUNT_ATTR_RDONLY : 0);
	/* recursive, so submounts (e.g. under /sys) become read-only too */
	if (set_attrs(dst, attrs, true) < 0)
		child_fail(errno, EXIT_SETUP, "making %s %s (mount_setattr needs Linux 5.12)", dst,
			   ro ? "read-only" : "nosuid");
}

static void mount_tmpfs(const char *dst, const char *opts, unsigned long flags)
{
	mkdir_p(dst, 0755);
	if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | flags, opts) < 0)
		child_fail(errno, EXIT_SETUP, "mounting a tmpfs on %s", dst);
}

static void path_in(char *out, size_t n, const char *root, const char *p)
{
	if (snprintf(out, n, "%s%s", root, p) >= (int)n)
		child_fail(ENAMETOOLONG, EXIT_SETUP, "path %s", p);
}

static void setup_dev(void)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	char src[64], dst[64];
	mount_tmpfs("/newroot/dev", "mode=0755", 0);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(src, sizeof(src), "/oldroot/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "/newroot/dev/%s", nodes[i]);
		if (access(src, F_OK) < 0)
			continue;
		bind_path(src, dst, false, false); /* device nodes must stay usable */
	}
	mount_tmpfs("/newroot/dev/shm", "mode=1777", 0);
	mkdir_p("/newroot/dev/pts", 0755);
	/* a private pty instance; optional (no gid= option: gid 5 may be unmapped) */
	if (mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620") == 0) {
		if (symlink("pts/ptmx", "/newroot/dev/ptmx") < 0)
			child_fail(errno, EXIT_SETUP, "creating /dev/ptmx");
	}
	static const char *const links[][2] = {{"/proc/self/fd", "/newroot/dev/fd"},
					       {"/proc/self/fd/0", "/newroot/dev/stdin"},
					       {"/proc/self/fd/1", "/newroot/dev/stdout"},
					       {"/proc/self/fd/2", "/newroot/dev/stderr"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			child_fail(errno, EXIT_SETUP, "creating %s", links[i][1] + 8);
}

static void setup_proc(void)
{
	mkdir_p("/newroot/proc", 0555);
	if (mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail(errno, EXIT_SETUP, "mounting /proc in the new PID namespace");
	/* Host-global knobs: a caller that is root maps to uid 0 inside and
	 * would pass the owner check on these files (others fail it anyway). */
	if (!g_host_root)
		return;
	static const char *const ro[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
	char p[64];
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		snprintf(p, sizeof(p), "/newroot/proc/%s", ro[i]);
		if (access(p, F_OK) < 0)
			continue;
		bind_path(p, p, true, true);
	}
}

/* /bin -> usr/bin and friends on merged-/usr systems. */
static void copy_root_symlinks(void)
{
	static const char *const names[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
	char src[64], dst[64], target[PATH_MAX];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(src, sizeof(src), "/oldroot/%s", names[i]);
		snprintf(dst, sizeof(dst), "/newroot/%s", names[i]);
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (symlink(target, dst) < 0 && errno != EEXIST)
			child_fail(errno, EXIT_SETUP, "creating /%s", names[i]);
	}
}

/* A copy-on-write view of a host tree: writes land in an upper layer on
 * the scratch tmpfs (thrown away) or under --keep-changes. A tree that
 * cannot be overlaid (e.g. it holds other mounts) is bound read-only:
 * never writable on the host. */
static void overlay_tree(const struct shunt_plan *plan, const char *src, const char *dst,
			 const char *guest)
{
	char upper[PATH_MAX], work[PATH_MAX], opts[3 * PATH_MAX + 64];
	const char *base = "/overlay";
	char kbase[PATH_MAX];
	if (plan->keep_changes) {
		path_in(kbase, sizeof(kbase), "/oldroot", plan->keep_changes);
		base = kbase;
	} else if (access("/overlay", F_OK) < 0) {
		mount_tmpfs("/overlay", "mode=0755", 0);
	}
	if (snprintf(upper, sizeof(upper), "%s/upper%s", base, guest) >= (int)sizeof(upper) ||
	    snprintf(work, sizeof(work), "%s/work%s", base, guest) >= (int)sizeof(work))
		child_fail(ENAMETOOLONG, EXIT_SETUP, "overlay for %s", guest);
	if (strpbrk(upper, ",:\\") || strpbrk(src, ",:\\"))
		child_fail(EINVAL, EXIT_SETUP,
			   "overlay for %s: paths may not contain ',' ':' or '\\'", guest);
	mkdir_p(upper, 0755);
	mkdir_p(work, 0700);
	make_target(dst, true);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", src, upper, work);
	if (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
		return;
	/* in a user namespace overlayfs may need user.* xattrs */
	strncat(opts, ",userxattr", sizeof(opts) - strlen(opts) - 1);
	if (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
		return;
	if (errno != EINVAL)
		child_fail(
		    errno, EXIT_SETUP,
		    "copy-on-write overlay of %s (overlayfs in a user namespace needs Linux 5.11+)",
		    guest);
	bind_path(src, dst, true, true);
}

static void setup_mounts(const struct shunt_plan *plan)
{
	char src[PATH_MAX], dst[PATH_MAX];
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		path_in(dst, sizeof(dst), "/newroot", m->guest);
		struct stat st;
		switch (m->kind) {
		case SHUNT_MOUNT_BIND:
			path_in(src, sizeof(src), "/oldroot", m->host);
			if (m->overlay)
				overlay_tree(plan, src, dst, m->guest);
			else
				bind_path(src, dst, m->read_only, true);
			break;
		case SHUNT_MOUNT_TMPFS:
			/* not visible in the sandbox: nothing to hide */
			if (lstat(dst, &st) < 0)
				break;
			if (mount("tmpfs", dst, "tmpfs",
				  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "mode=0700,size=4k") < 0)
				child_fail(errno, EXIT_SETUP, "hiding %s", m->guest);
			break;
		case SHUNT_MOUNT_HIDE:
			if (lstat(dst, &st) < 0)
				break;
			if (mount("/empty", dst, NULL, MS_BIND, NULL) < 0 ||
			    set_attrs(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				      false) < 0)
				child_fail(errno, EXIT_SETUP, "hiding %s", m->guest);
			break;
		}
	}
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		child_fail(errno, EXIT_SETUP, "socket for the loopback interface");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(errno, EXIT_SETUP, "reading the loopback interface flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(errno, EXIT_SETUP, "bringing up the loopback interface");
	close(s);
}

/* Builds the sandbox's file system and pivots into it. */
static void setup_fs(const struct shunt_plan *plan)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(errno, EXIT_SETUP,
			   "making mounts private (mount namespace: " USERNS_HINT ")");
	/* A scratch root: pivot into a tmpfs so the host tree stays
	 * reachable at /oldroot while the new root is assembled. */
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		child_fail(errno, EXIT_SETUP, "mounting the scratch tmpfs");
	if (chdir("/tmp") < 0 || mkdir("oldroot", 0755) < 0 || mkdir("newroot", 0755) < 0)
		child_fail(errno, EXIT_SETUP, "preparing the scratch root");
	int fd = open("empty", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		child_fail(errno, EXIT_SETUP, "preparing the scratch root");
	close(fd);
	if (syscall(SYS_pivot_root, ".", "oldroot") < 0)
		child_fail(errno, EXIT_SETUP, "pivot_root into the scratch root");
	if (chdir("/") < 0)
		child_fail(errno, EXIT_SETUP, "chdir /");

	mount_tmpfs("/newroot", "mode=0755", 0);
	copy_root_symlinks();
	mount_tmpfs("/newroot/tmp", "mode=1777", 0);
	mount_tmpfs("/newroot/run", "mode=0755", 0);
	setup_mounts(plan);
	setup_dev();
	setup_proc();
	/* read-only /sys; optional (no sysfs here is not a hole) */
	if (access("/oldroot/sys/kernel", F_OK) == 0)
		bind_path("/oldroot/sys", "/newroot/sys", true, true);
	if (!plan->root_overlay &&
	    set_attrs("/newroot", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) <
		0)
		child_fail(errno, EXIT_SETUP, "making the new root read-only");

	if (umount2("/oldroot", MNT_DETACH) < 0)
		child_fail(errno, EXIT_SETUP, "detaching the host root");
	if (chdir("/newroot") < 0)
		child_fail(errno, EXIT_SETUP, "chdir to the new root");
	/* pivot_root(".", ".") stacks the scratch root on top; detach it */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(errno, EXIT_SETUP, "pivot_root into the new root");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(errno, EXIT_SETUP, "detaching the scratch root");
	if (chdir("/") < 0)
		child_fail(errno, EXIT_SETUP, "chdir /");
}

/* execvp done by hand with the raw system call: the LD_PRELOAD shim may be
 * loaded into shunt, and it must not see (or re-add itself to) the
 * sandbox's own exec. Like execvp: PATH search, and sh for a script
 * without a #! line. Returns only on failure, with errno set. */
static void sandbox_exec(char *const argv[])
{
	const char *name = argv[0];
	int err = ENOENT;
	if (strchr(name, '/')) {
		syscall(SYS_execve, name, argv, environ);
		err = errno;
	} else {
		const char *path = getenv("PATH");
		if (!path || !*path)
			path = "/usr/local/bin:/usr/bin:/bin";
		for (const char *p = path;;) {
			const char *colon = strchr(p, ':');
			size_t n = colon ? (size_t)(colon - p) : strlen(p);
			char cand[PATH_MAX];
			if (n + strlen(name) + 2 <= sizeof(cand)) {
				memcpy(cand, n ? p : ".", n ? n : 1);
				size_t at = n ? n : 1;
				cand[at++] = '/';
				strcpy(cand + at, name);
				syscall(SYS_execve, cand, argv, environ);
				if (errno == ENOEXEC) {
					size_t argc = 0;
					while (argv[argc])
						argc++;
					char *sh_argv[argc + 2];
					sh_argv[0] = "/bin/sh";
					sh_argv[1] = cand;
					for (size_t i = 1; i <= argc; i++)
						sh_argv[i + 1] = argv[i];
					syscall(SYS_execve, "/bin/sh", sh_argv, environ);
				}
				if (errno != ENOENT && errno != ENOTDIR)
					err = errno;
			}
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	errno = err;
}

static void drop_caps(void)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(errno, EXIT_SETUP,
				   "dropping capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		child_fail(errno, EXIT_SETUP, "clearing ambient capabilities");
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		child_fail(errno, EXIT_SETUP, "dropping capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(errno, EXIT_SETUP, "prctl(PR_SET_NO_NEW_PRIVS)");
}

static void apply_landlock(const struct shunt_plan *plan)
{
	struct shunt_landlock_path paths[64 + 8];
	size_t n = 0;
	paths[n++] = (struct shunt_landlock_path){"/", plan->root_overlay};
	paths[n++] = (struct shunt_landlock_path){"/tmp", true};
	paths[n++] = (struct shunt_landlock_path){"/dev", true};
	for (size_t i = 0; i < plan->nmounts && n < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_BIND && !m->read_only)
			paths[n++] = (struct shunt_landlock_path){m->guest, true};
	}
	struct shunt_error *e = NULL;
	if (shunt_landlock_apply(paths, n, plan->network == SHUNT_NET_NONE, &e) < 0)
		child_fail_err(e, "landlock");
}

/* The command: runs as the mapped user with no capabilities. */
__attribute__((noreturn)) static void run_command(const struct shunt_plan *plan, bool cgroup_active)
{
	sigset_t none;
	sigemptyset(&none);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		signal(forwarded_signals[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	drop_caps();
	struct shunt_error *e = NULL;
	if (!cgroup_active && shunt_rlimits_apply(plan->mem_bytes, 0, plan->pids, &e) < 0)
		child_fail_err(e, "limits");
	apply_landlock(plan);
	if (shunt_seccomp_apply(plan->seccomp_profile, plan->profile, &e) < 0)
		child_fail_err(e, "seccomp");
	environ = plan->env;
	sandbox_exec(plan->argv);
	int code = errno;
	child_fail(code, code == ENOENT ? 127 : 126, "cannot execute '%s'", plan->argv[0]);
}

static volatile sig_atomic_t g_cmd_started;

static void init_forward(int sig)
{
	/* interrupted during setup: the command never starts */
	if (!g_cmd_started && sig != SIGWINCH)
		_exit(128 + sig);
	/* every process of the sandbox except init itself */
	kill(-1, sig);
}

/* Allowlist: a relay on 127.0.0.1:SHUNT_NETRELAY_PORT that forwards to
 * the host proxy's socket, reached through a directory descriptor opened
 * before the new root exists (the socket is never visible inside). */
static void start_relay(int syncfd)
{
	struct shunt_error *e = NULL;
	int lfd = shunt_netrelay_listen(SHUNT_NETRELAY_PORT, &e);
	if (lfd < 0)
		child_fail_err(e, "network allowlist");
	int dirfd = open(g_proxy_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		child_fail(errno, EXIT_SETUP, "network allowlist: opening %s", g_proxy_dir);
	pid_t pid = fork();
	if (pid < 0)
		child_fail(errno, EXIT_SETUP, "network allowlist: fork");
	if (pid == 0) {
		for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]);
		     i++)
			signal(forwarded_signals[i], SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(syncfd);
		close(g_errfd);
		g_errfd = -1;
		shunt_netrelay_serve(lfd, dirfd, SHUNT_NETPROXY_SOCK);
	}
	close(lfd);
	close(dirfd);
}

/* The sandbox writes its own single-id maps (allowed for the namespace's
 * creator), so it needs no round trip to the parent, which on a busy
 * machine costs a scheduler time slice. */
static void write_own_maps(void)
{
	static const struct {
		const char *file, *data;
	} maps[] = {{"/proc/self/uid_map", g_uid_map},
		    {"/proc/self/setgroups", "deny"}, /* required before an unprivileged gid_map */
		    {"/proc/self/gid_map", g_gid_map}};
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int fd = open(maps[i].file, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			child_fail(errno, EXIT_SETUP, "opening %s (" USERNS_HINT ")", maps[i].file);
		size_t len = strlen(maps[i].data);
		if (write(fd, maps[i].data, len) != (ssize_t)len)
			child_fail(errno, EXIT_SETUP, "writing %s (" USERNS_HINT ")", maps[i].file);
		close(fd);
	}
}

/* pid 1 of the sandbox. It needs nothing from the parent after clone:
 * it writes its own id maps and moves itself into its cgroup, so no round
 * trip waits for the parent to be scheduled. syncfd only tells it whether
 * the parent is still there (EOF: it died). */
__attribute__((noreturn)) static void sandbox_init(const struct shunt_plan *plan, int syncfd)
{
	/* pid 1 only receives signals it handles: install the forwarder first */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = init_forward;
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(errno, EXIT_SETUP, "prctl(PR_SET_PDEATHSIG)");
	/* the parent may have died before PDEATHSIG was armed: its end of the
	 * sync pipe is then closed (getppid() says 0 in a new pid namespace) */
	struct pollfd pf = {.fd = syncfd, .events = POLLIN};
	if (poll(&pf, 1, 0) > 0 && (pf.revents & POLLHUP) && !(pf.revents & POLLIN))
		_exit(EXIT_SETUP);
	/* single-threaded here, so moving this thread moves the process; every
	 * process of the sandbox is forked after it */
	int r = shunt_cgroup_enter_self(g_cg_fds);
	if (r < 0)
		child_fail(-r, EXIT_SETUP, "moving the sandbox into its cgroup");
	write_own_maps();
	/* no controlling terminal: no TIOCSTI into the user's shell */
	if (setsid() < 0)
		child_fail(errno, EXIT_SETUP, "setsid");
	if (sethostname("shunt-sandbox", 13) < 0)
		child_fail(errno, EXIT_SETUP, "setting the hostname (UTS namespace)");
	if (plan->network != SHUNT_NET_FULL)
		loopback_up();
	if (plan->network == SHUNT_NET_RESTRICTED)
		start_relay(syncfd);
	setup_fs(plan);
	if (chdir(plan->cwd) < 0 && chdir(plan->workspace) < 0 && chdir("/") < 0)
		child_fail(errno, EXIT_SETUP, "chdir");
	close(syncfd);
	bool cgroup_active = g_cgroup_active;
	/* after the parent moved us into the cgroup, so it becomes our root */
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_fail(errno, EXIT_SETUP, "creating a cgroup namespace");

	/* block while forking so a signal cannot fall between fork and the flag */
	sigset_t fw, old;
	sigemptyset(&fw);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&fw, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &fw, &old);
	pid_t cmd = fork();
	if (cmd > 0)
		g_cmd_started = 1;
	if (cmd != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (cmd < 0)
		child_fail(errno, EXIT_SETUP, "fork");
	if (cmd == 0)
		run_command(plan, cgroup_active);
	close(g_errfd);
	g_errfd = -1;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_SETUP);
		}
		if (p != cmd)
			continue;
		if (WIFEXITED(st))
			_exit(WEXITSTATUS(st));
		if (WIFSIGNALED(st))
			_exit(128 + WTERMSIG(st));
	}
}

/* ---- parent side ---- */

static volatile sig_atomic_t g_init_pid;
static volatile sig_atomic_t g_timed_out;

static void parent_forward(int sig)
{
	if (g_init_pid > 0)
		kill((pid_t)g_init_pid, sig);
}

static void parent_alarm(int sig)
{
	(void)sig;
	g_timed_out = 1;
	if (g_init_pid > 0)
		kill((pid_t)g_init_pid, SIGKILL);
}

static void prepare_caches(const struct shunt_plan *plan)
{
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		struct shunt_error *e = NULL;
		if (m->cache && m->host && shunt_fs_mkdirs(m->host, 0755, &e) < 0)
			shunt_error_free(&e); /* the bind then fails closed with the path */
	}
}

static int setup_error(struct shunt_error **err, int exitcode, int code, const char *fmt,
		       const char *arg)
{
	shunt_error_set(err, code, fmt, arg);
	if (err && *err)
		(*err)->exitcode = exitcode;
	return -1;
}

static void close_cg_fds(void)
{
	for (int i = 0; i < 3; i++) {
		if (g_cg_fds[i] >= 0)
			close(g_cg_fds[i]);
		g_cg_fds[i] = -1;
	}
}

/* The sandbox's own uid/gid maps: the requested ids (or ours) inside,
 * our real ids outside. */
static int compute_maps(const struct shunt_plan *plan, struct shunt_error **err)
{
	long uid = plan->uid >= 0 ? plan->uid : (long)getuid();
	long gid = plan->gid >= 0 ? plan->gid : (long)getgid();
	if (uid < 0 || gid < 0 || uid > 4294967294L || gid > 4294967294L)
		return setup_error(err, 2, EINVAL, "%s", "--uid/--gid out of range");
	snprintf(g_uid_map, sizeof(g_uid_map), "%ld %ld 1\n", uid, (long)getuid());
	snprintf(g_gid_map, sizeof(g_gid_map), "%ld %ld 1\n", gid, (long)getgid());
	return 0;
}

static int refuse(const struct shunt_plan *plan, struct shunt_error **err)
{
	if (plan->profile >= SHUNT_PROFILE_SYSTEM_WRITE && !plan->accept_weaker_isolation)
		return setup_error(
		    err, EXIT_SETUP, EPERM,
		    "%s belongs on a microVM, which is not available here; the process runner "
		    "can only give it a throwaway copy-on-write overlay of the host root, which "
		    "shares the host kernel. Pass --i-accept-weaker-isolation (or set "
		    "sandbox.accept_weaker_isolation: true) to run it that way",
		    shunt_profile_name(plan->profile));
	return 0;
}

int shunt_process_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	if (refuse(plan, err) < 0)
		return -1;
	if (!plan->argv || !plan->argv[0] || !plan->cwd || !plan->workspace)
		return setup_error(err, 2, EINVAL, "%s", "incomplete sandbox plan");
	prepare_caches(plan);

	/* allowlist: the filtering proxy runs on the host for this run */
	struct shunt_netproxy proxy = {0};
	g_proxy_dir = NULL;
	if (plan->network == SHUNT_NET_RESTRICTED) {
		if (shunt_netproxy_start(&proxy, &plan->allow_hosts, plan->run_id, err) < 0)
			return -1;
		g_proxy_dir = proxy.dir;
	}

	/* Claimed before the sandbox exists (cheap: a reused slot), so the
	 * sandbox knows whether to wait for the attach. */
	struct shunt_cgroup cg;
	struct shunt_error *cgerr = NULL;
	int cgr = shunt_cgroup_setup(&cg, plan->mem_bytes, plan->cpus, plan->pids, &cgerr);
	if (cgr < 0) {
		/* writable but broken: do not quietly fall back to weaker rlimits */
		setup_error(err, EXIT_SETUP, cgerr ? cgerr->code : EIO,
			    "setting up the cgroup limits: %s",
			    cgerr ? cgerr->msg : "unknown error");
		shunt_error_free(&cgerr);
		shunt_netproxy_stop(&proxy);
		return -1;
	}
	shunt_error_free(&cgerr); /* 1: not writable here, rlimits in the child */
	if (cgr != 0 || !cg.active)
		memset(&cg, 0, sizeof(cg));
	g_cgroup_active = cg.active;
	if (shunt_cgroup_open_self(&cg, g_cg_fds, err) < 0) {
		if (err && *err)
			(*err)->exitcode = EXIT_SETUP;
		shunt_cgroup_destroy(&cg);
		shunt_netproxy_stop(&proxy);
		return -1;
	}
	if (compute_maps(plan, err) < 0) {
		close_cg_fds();
		shunt_cgroup_destroy(&cg);
		shunt_netproxy_stop(&proxy);
		return -1;
	}
	int syncp[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(syncp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		if (syncp[0] >= 0) {
			close(syncp[0]);
			close(syncp[1]);
		}
		close_cg_fds();
		shunt_cgroup_destroy(&cg);
		shunt_netproxy_stop(&proxy);
		return setup_error(err, EXIT_SETUP, e, "%s", "pipe");
	}
	unsigned long flags =
	    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	if (plan->network != SHUNT_NET_FULL)
		flags |= CLONE_NEWNET;
	fflush(NULL);
	g_host_root = getuid() == 0 || geteuid() == 0;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(syncp[1]);
		close(errp[0]);
		g_errfd = errp[1];
		sandbox_init(plan, syncp[0]);
	}
	int ret = -1;
	close(syncp[0]);
	close(errp[1]);
	close_cg_fds(); /* init has its own copies */
	if (pid < 0) {
		int e = errno;
		shunt_error_sys(
		    err, e, "cannot create the sandbox namespaces (user, mount, pid, net...): %s",
		    USERNS_HINT);
		if (err && *err)
			(*err)->exitcode = EXIT_SETUP;
		goto out_pipes;
	}

	/* a sandbox that failed early closes its end: EPIPE, not a signal */
	struct sigaction sa, old[sizeof(forwarded_signals) / sizeof(forwarded_signals[0])], oldalrm,
	    oldpipe;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &oldpipe);
	g_init_pid = pid;
	g_timed_out = 0;
	sa.sa_handler = parent_forward;
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &sa, &old[i]);
	sa.sa_handler = parent_alarm;
	sigaction(SIGALRM, &sa, &oldalrm);
	if (plan->timeout)
		alarm(plan->timeout);

	bool setup_ok = true;
	if (!setup_ok && err && *err) {
		(*err)->exitcode = EXIT_SETUP;
		kill(pid, SIGKILL);
	}
	/* syncp[1] stays open until init is gone: its EOF tells init that we
	 * died before its PDEATHSIG was armed */

	struct setup_msg m;
	size_t got = 0;
	while (got < sizeof(m)) {
		ssize_t n = read(errp[0], (char *)&m + got, sizeof(m) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	alarm(0);
	g_init_pid = 0;
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &old[i], NULL);
	sigaction(SIGALRM, &oldalrm, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);

	if (err && *err) {
		/* set up above (maps, cgroup attach) */
	} else if (g_timed_out) {
		*status = 124;
		ret = 1;
	} else if (got == sizeof(m)) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		shunt_error_set(err, m.code, "%s", m.msg);
		if (err && *err)
			(*err)->exitcode = m.exitcode;
	} else if (!setup_ok) {
		setup_error(err, EXIT_SETUP, EIO, "%s", "the sandbox exited during setup");
	} else {
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		ret = 0;
	}
out_pipes:
	if (syncp[1] >= 0)
		close(syncp[1]);
	close(errp[0]);
	shunt_cgroup_destroy(&cg);
	shunt_netproxy_stop(&proxy);
	return ret;
}

int shunt_process_probe(struct shunt_error **err)
{
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "fork");
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
			    CLONE_NEWIPC | CLONE_NEWUTS) < 0)
			_exit(errno & 0xff);
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return shunt_error_sys(err, WIFEXITED(st) ? WEXITSTATUS(st) : EPERM,
			       "unprivileged user namespaces are not available; " USERNS_HINT);
}

bool shunt_process_cache_hit(const struct shunt_plan *plan)
{
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (!m->cache || !m->host)
			continue;
		_cleanup_closedir_ DIR *d = opendir(m->host);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				return true;
	}
	return false;
}
