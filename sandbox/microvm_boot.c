/* The QEMU microVM's boot over 9p and virtio consoles: the VMM started
 * with the plan's secrets hidden from it, the command's output copied
 * through, the exit marker read back; the allowlist's proxy; the KVM
 * boot probe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childio.h"
#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "netproxy.h"
#include "paths.h"

/* Allowlist: the host proxy for this run, and the guestfwd command that
 * hands each guest connection to it (QEMU splits the command at spaces,
 * so the paths must have none). */
int shunt_microvm_proxy_setup(struct shunt_netproxy *proxy, const struct shunt_plan *plan,
			      char **cmd, struct shunt_error **err)
{
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return shunt_error_sys(err, errno, "network allowlist: finding the shunt binary");
	self[sl] = '\0';
	if (shunt_netproxy_start(proxy, &plan->allow_hosts, plan->run_id, err) < 0)
		return -1;
	if (asprintf(cmd, "%s proxy --hand-over %s/%s", self, proxy->dir, SHUNT_NETPROXY_SOCK) <
	    0) {
		*cmd = NULL;
		return shunt_error_set(err, ENOMEM, "out of memory");
	}
	if (strpbrk(self, " \t\n") || strpbrk(proxy->dir, " \t\n"))
		return shunt_error_set(err, EINVAL,
				       "network allowlist: the paths of shunt (%s) and its proxy "
				       "socket (%s) must not contain spaces for QEMU's guestfwd",
				       self, proxy->dir);
	return 0;
}

/* In the VMM's child, before exec: a private mount namespace (inside a
 * user namespace when unprivileged) where the plan's hidden paths
 * (credentials: ~/.ssh, ~/.aws, ...) are covered by an empty tmpfs or
 * /dev/null. The 9p export of / then cannot reach them, even when the
 * guest's root remounts the share. No allocation. -1 with errno. */
int shunt_microvm_hide_in_child(const struct shunt_plan *plan)
{
	bool need = false;
	for (size_t i = 0; i < plan->nmounts; i++)
		need |= plan->mounts[i].kind != SHUNT_MOUNT_BIND;
	if (!need)
		return 0;
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (uid != 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return -1;
		char map[64];
		int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "deny", 4) != 4)
			return -1;
		close(fd);
		int n = snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, (size_t)n) != n)
			return -1;
		close(fd);
		n = snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, (size_t)n) != n)
			return -1;
		close(fd);
	} else if (unshare(CLONE_NEWNS) < 0) {
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	for (size_t i = 0; i < plan->nmounts; i++) {
		const struct shunt_mount *m = &plan->mounts[i];
		if (m->kind == SHUNT_MOUNT_TMPFS &&
		    mount("tmpfs", m->guest, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY,
			  "size=4k,mode=0700") < 0)
			return -1;
		if (m->kind == SHUNT_MOUNT_HIDE &&
		    mount("/dev/null", m->guest, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	return 0;
}

/* Starts the VMM for job j: *pid, and the read ends of hvc0/hvc1 in
 * outfd and errfd. ctl_rd >= 0 (a warm VM) becomes hvc3, the channel the
 * guest waits on for its command. 0, or -1 with *err. */
int shunt_microvm_qemu_start(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			     struct shunt_vm_spec *s, int ctl_rd, pid_t *pid_out, int *outfd,
			     int *errfd, struct shunt_error **err)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	char share[PATH_MAX + 8], st[PATH_MAX + 8], con[PATH_MAX + 16];
	snprintf(share, sizeof(share), "%s/share", j->dir);
	snprintf(st, sizeof(st), "%s/status", j->dir);
	snprintf(con, sizeof(con), "%s/console.log", j->dir);
	/* QEMU reaches the job's files through inherited fds: the job state
	 * lives under shunt's state dir, which the plan hides from the VMM */
	s->jobshare = "/proc/self/fd/5";
	s->status_path = "/proc/self/fd/6";
	s->console_path = "/proc/self/fd/7";
	s->ctl_path = ctl_rd >= 0 ? "/proc/self/fd/8" : NULL;
	s->out_fd = 3;
	s->err_fd = 4;
	struct shunt_strv argv = {0};
	_cleanup_close_ int sharefd = -1, stfd = -1, confd = -1;
	int rc = -1;
	if (shunt_microvm_qemu_argv(s, &argv, err) < 0)
		goto out;
	sharefd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	stfd = open(st, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	confd = open(con, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sharefd < 0 || stfd < 0 || confd < 0) {
		shunt_error_sys(err, errno, "microVM job files in %s", j->dir);
		goto out;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		shunt_error_sys(err, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		/* the VM dies with shunt; the sweep handles what is left */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(125);
		if (shunt_microvm_hide_in_child(plan) < 0) {
			/* the reason into the console log; the parent reports
			 * the failure */
			int e = errno;
			char msg[160];
			int n = snprintf(msg, sizeof(msg),
					 "shunt: cannot hide credentials from the VM: %s\n",
					 strerror(e));
			if (write(confd, msg, (size_t)n) < 0)
				_exit(VM_HIDE_FAILED);
			_exit(VM_HIDE_FAILED);
		}
		/* fds 0..8: null, null, console (QEMU's own diagnostics, not the
		 * command's stderr), stdout pipe, stderr pipe, share, status,
		 * console, control; moved above 8 first so no dup2 clobbers a
		 * source */
		int src[9] = {open("/dev/null", O_RDWR | O_CLOEXEC),
			      -1,
			      confd,
			      outp[1],
			      errp[1],
			      sharefd,
			      stfd,
			      confd,
			      ctl_rd};
		src[1] = src[0];
		int nfd = ctl_rd >= 0 ? 9 : 8;
		for (int i = 0; i < nfd; i++)
			if (src[i] < 0 || (src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 9)) < 0)
				_exit(125);
		for (int i = 0; i < nfd; i++)
			if (dup2(src[i], i) < 0)
				_exit(125);
		execv(argv.v[0], argv.v);
		_exit(127);
	}
	*pid_out = pid;
	*outfd = outp[0];
	*errfd = errp[0];
	outp[0] = errp[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	shunt_strv_free(&argv);
	return rc;
}

/* Copies the command's output to our stdout/stderr until the VM closes
 * it, then reads the exit marker. own: pid is our child (else it belongs
 * to shuntd's pool keeper and EOF says it ended). Closes outfd/errfd.
 * 0 with *status, 1 on deadline, -1 when the VM failed. */
int shunt_microvm_qemu_finish(const struct shunt_microvm_job *j, pid_t pid, bool own, int outfd,
			      int errfd, long long start_ms, unsigned timeout, int *status,
			      struct shunt_error **err)
{
	char st[PATH_MAX + 8], con[PATH_MAX + 16];
	snprintf(st, sizeof(st), "%s/status", j->dir);
	snprintf(con, sizeof(con), "%s/console.log", j->dir);
	_cleanup_free_ char *text = NULL;
	bool oo = true, eo = true, timed_out = false;
	long long deadline = timeout ? start_ms + (long long)timeout * 1000 : 0;
	int rc = -1;
	while (oo || eo) {
		struct pollfd pf[2] = {{oo ? outfd : -1, POLLIN, 0}, {eo ? errfd : -1, POLLIN, 0}};
		int wait_ms = -1;
		if (deadline) {
			long long left = deadline - shunt_microvm_now_ms();
			if (left <= 0) {
				timed_out = true;
				break;
			}
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		int n = poll(pf, 2, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pf[0].revents)
			oo = shunt_child_copy_out(outfd, 1) > 0;
		if (pf[1].revents)
			eo = shunt_child_copy_out(errfd, 2) > 0;
	}
	close(outfd);
	close(errfd);
	if (timed_out) {
		kill(pid, SIGKILL);
		if (own)
			waitpid(pid, NULL, 0);
		*status = 124;
		return 1;
	}
	int ws = 0;
	if (own)
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	struct shunt_error *e = NULL;
	int code = 0;
	if (own && WIFEXITED(ws) && WEXITSTATUS(ws) == VM_HIDE_FAILED) {
		shunt_error_set(
		    err, EPERM,
		    "could not hide credentials (~/.ssh, ~/.aws, ...) from the microVM: no "
		    "mount namespace here (unprivileged user namespaces disabled?); the command "
		    "was not run; see %s",
		    con);
		vm_set_exit(err, 125);
		return -1;
	}
	if (shunt_fs_read(st, 1 << 16, &text, NULL, &e) < 0 ||
	    shunt_microvm_parse_status(text, j->nonce, &code) < 0) {
		shunt_error_free(&e);
		if (own)
			shunt_error_set(
			    err, EIO,
			    "the microVM did not report an exit status (QEMU %s %d); see %s",
			    WIFEXITED(ws) ? "exited" : "killed by signal",
			    WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws), con);
		else
			shunt_error_set(err, EIO,
					"the warm microVM did not report an exit status; see %s",
					con);
		vm_set_exit(err, 125);
		return -1;
	}
	*status = code;
	rc = 0;
	return rc;
}

/* Boots the VM; 0 with *status, 1 on deadline, -1 when it did not boot. */
int shunt_microvm_qemu_boot(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			    struct shunt_vm_spec *s, const char *digest, int *status,
			    struct shunt_error **err)
{
	pid_t pid = -1;
	int outfd = -1, errfd = -1;
	if (shunt_microvm_qemu_start(plan, j, s, -1, &pid, &outfd, &errfd, err) < 0)
		return -1;
	if (shunt_microvm_job_write_json(j, plan, "qemu", pid, digest, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(outfd);
		close(errfd);
		return -1;
	}
	return shunt_microvm_qemu_finish(j, pid, true, outfd, errfd, j->created, plan->timeout,
					 status, err);
}

void shunt_microvm_probe_plan(struct shunt_plan *p, const char *what)
{
	static char *argv[] = {"true", NULL};
	memset(p, 0, sizeof(*p));
	snprintf(p->run_id, sizeof(p->run_id), "%s-probe-%ld", what, (long)getpid());
	p->argv = argv;
	p->timeout = VM_KVM_PROBE_SECONDS;
}

/* Does KVM really boot our guest? /dev/kvm can accept VM creation and
 * then never run it (nested virtualisation without support): boot `true`
 * with a deadline once and cache the answer per kernel release and image.
 * SHUNT_VM_KVM=0|1 overrides. */
bool shunt_microvm_kvm_usable(const struct shunt_vm_spec *base, const char *digest)
{
	const char *env = getenv("SHUNT_VM_KVM");
	if (env && *env)
		return strcmp(env, "1") == 0;
	if (!shunt_microvm_kvm_rw())
		return false;
	char rel[128];
	shunt_microvm_kernel_release(rel, sizeof(rel));
	char key[256];
	snprintf(key, sizeof(key), "%s %s ", rel, digest ? digest : "");
	_cleanup_free_ char *cache = shunt_paths_probe_cache("vm-kvm");
	_cleanup_free_ char *cached = NULL;
	struct shunt_error *e = NULL;
	if (cache && shunt_fs_read(cache, 512, &cached, NULL, &e) == 0 &&
	    strncmp(cached, key, strlen(key)) == 0)
		return strncmp(cached + strlen(key), "yes", 3) == 0;
	shunt_error_free(&e);
	struct shunt_plan p;
	shunt_microvm_probe_plan(&p, "kvm");
	struct shunt_vm_spec s = *base;
	s.kvm = true;
	s.workspace = NULL;
	s.mem_mib = VM_MIN_MEM_MIB;
	s.vcpus = 1;
	struct shunt_microvm_job j;
	int status = -1, rc = -1;
	if (shunt_microvm_job_setup(&p, &j, &e) == 0) {
		if (shunt_microvm_job_files(&p, &j, &e) == 0)
			rc = shunt_microvm_qemu_boot(&p, &j, &s, digest, &status, &e);
		shunt_fs_rmtree(j.dir, &e);
	}
	shunt_error_free(&e);
	bool yes = rc == 0 && status == 0;
	if (cache) {
		char line[300];
		snprintf(line, sizeof(line), "%s%s\n", key, yes ? "yes" : "no");
		shunt_fs_write_atomic(cache, line, strlen(line), 0600, &e);
		shunt_error_free(&e);
	}
	return yes;
}
