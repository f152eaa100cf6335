/* Firecracker: its vsock transport and the host end of the command
 * channel; the VM side of the microVM runner on it (config, boot probe,
 * runs) and the agent channel QEMU can use too (SHUNT_VM_QEMU_CHANNEL). */
#include "firecracker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "paths.h"
#include "wsimage.h"

/* Reads the handshake answer line ("OK 1073741824\n") byte by byte, so
 * nothing after it is consumed. 1 when OK, 0 when refused or closed. */
static int handshake(int fd, unsigned port, long long deadline)
{
	char req[32];
	int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write(fd, req, (size_t)n) != n)
		return 0;
	char line[64];
	size_t len = 0;
	while (len + 1 < sizeof(line)) {
		long long left = deadline - shunt_vmchan_now_ms();
		if (left <= 0)
			return 0;
		struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t r = read(fd, line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (line[len++] == '\n')
			break;
	}
	line[len] = 0;
	struct timeval none = {0, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return strncmp(line, "OK ", 3) == 0;
}

static int connect_uds(const char *uds, int dirfd_hold)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(uds) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, uds, strlen(uds) + 1);
	} else {
		const char *slash = strrchr(uds, '/');
		int k = snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dirfd_hold,
				 slash ? slash + 1 : uds);
		if (dirfd_hold < 0 || k < 0 || (size_t)k >= sizeof(a.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int shunt_firecracker_connect(const char *uds, unsigned port, long long deadline_ms,
			      struct shunt_error **err)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un probe;
	if (strlen(uds) >= sizeof(probe.sun_path)) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", uds);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		dirfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return shunt_error_sys(err, errno, "vsock socket directory %s", dir);
	}
	int last = 0;
	for (;;) {
		int fd = connect_uds(uds, dirfd);
		if (fd >= 0) {
			if (port == 0 || handshake(fd, port, deadline_ms))
				return fd;
			last = ECONNREFUSED; /* the agent is not listening yet */
			close(fd);
		} else {
			last = errno;
			if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
				return shunt_error_sys(err, errno, "connecting to %s", uds);
		}
		if (shunt_vmchan_now_ms() >= deadline_ms)
			break;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	return shunt_error_set(err, ETIMEDOUT,
			       "the guest agent did not answer on vsock port %u via %s (last: %s)",
			       port, uds, strerror(last));
}

static int write_out(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1; /* our reader went away: keep draining the guest */
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int shunt_firecracker_exchange(int fd, const struct shunt_vmchan_request *req, int out_fd,
			       int err_fd, long long hello_ms, long long deadline_ms, int *status,
			       struct shunt_error **err)
{
	_cleanup_free_ struct shunt_vmchan_frame *f = malloc(sizeof(*f));
	if (!f)
		return shunt_error_set(err, ENOMEM, "out of memory");
	long long first =
	    hello_ms && (!deadline_ms || hello_ms < deadline_ms) ? hello_ms : deadline_ms;
	int rc = shunt_vmchan_read(fd, f, first);
	if (rc == -ETIMEDOUT && first == deadline_ms && deadline_ms)
		return 1;
	if (rc == -ETIMEDOUT)
		return shunt_error_set(err, ETIMEDOUT, "the guest agent did not start in time");
	if (rc <= 0 || f->type != SHUNT_VMCHAN_HELLO)
		return shunt_error_set(err, rc < 0 ? -rc : EPROTO,
				       "the guest agent did not greet (%s)",
				       rc == 0	? "hung up"
				       : rc < 0 ? strerror(-rc)
						: "unexpected frame");
	rc = shunt_vmchan_send_request(fd, req);
	if (rc < 0)
		return shunt_error_sys(err, -rc, "sending the command to the guest agent");
	for (;;) {
		rc = shunt_vmchan_read(fd, f, deadline_ms);
		if (rc == -ETIMEDOUT)
			return 1;
		if (rc == 0)
			return shunt_error_set(err, ECONNRESET,
					       "the guest agent hung up before reporting an exit "
					       "status");
		if (rc < 0)
			return shunt_error_sys(err, -rc, "reading from the guest agent");
		switch (f->type) {
		case SHUNT_VMCHAN_OUT:
			write_out(out_fd, f->data, f->len);
			break;
		case SHUNT_VMCHAN_ERR:
			write_out(err_fd, f->data, f->len);
			break;
		case SHUNT_VMCHAN_EXIT:
			if (f->len != 4)
				return shunt_error_set(err, EPROTO, "malformed exit frame");
			*status = (int)((uint32_t)(unsigned char)f->data[0] << 24 |
					(uint32_t)(unsigned char)f->data[1] << 16 |
					(uint32_t)(unsigned char)f->data[2] << 8 |
					(unsigned char)f->data[3]);
			if (*status < 0 || *status > 255)
				return shunt_error_set(err, EPROTO, "exit status %d out of range",
						       *status);
			return 0;
		case SHUNT_VMCHAN_FAIL:
			return shunt_error_set(err, EIO, "%.*s", (int)f->len, f->data);
		default:
			return shunt_error_set(err, EPROTO,
					       "unexpected frame type %u from the guest", f->type);
		}
	}
}

/* ---- the microVM runner on Firecracker ---- */

void shunt_microvm_fc_config(const struct shunt_vm_spec *s, struct shunt_buf *b)
{
	struct shunt_buf cl = {0};
	shunt_microvm_cmdline(s, &cl);
	shunt_buf_puts(b, "{\"boot-source\":{");
	shunt_microvm_json_kv(b, "kernel_image_path", s->kernel);
	shunt_buf_putc(b, ',');
	shunt_microvm_json_kv(b, "initrd_path", s->initrd);
	shunt_buf_putc(b, ',');
	shunt_microvm_json_kv(b, "boot_args", cl.data ? cl.data : "");
	shunt_buf_puts(b, "},\"drives\":[");
	if (s->ws_image) {
		shunt_buf_puts(b, "{\"drive_id\":\"workspace\",");
		shunt_microvm_json_kv(b, "path_on_host", s->ws_image);
		shunt_buf_printf(b, ",\"is_root_device\":false,\"is_read_only\":%s}",
				 s->workspace_rw ? "false" : "true");
	}
	if (s->rootfs_image) {
		shunt_buf_puts(b, s->ws_image ? ",{" : "{");
		shunt_buf_puts(b, "\"drive_id\":\"rootfs\",");
		shunt_microvm_json_kv(b, "path_on_host", s->rootfs_image);
		shunt_buf_puts(b, ",\"is_root_device\":false,\"is_read_only\":true}");
	}
	shunt_buf_printf(
	    b, "],\"machine-config\":{\"vcpu_count\":%u,\"mem_size_mib\":%u,\"smt\":false},",
	    s->vcpus, s->mem_mib);
	shunt_buf_puts(b, "\"network-interfaces\":[],\"vsock\":{\"guest_cid\":3,");
	shunt_microvm_json_kv(b, "uds_path", s->vsock_path ? s->vsock_path : "");
	shunt_buf_puts(b, "}}\n");
	shunt_buf_free(&cl);
}

int shunt_microvm_fc_workspace_image(const char *dir, const char *image, struct shunt_error **err)
{
	return shunt_wsimage_build(dir, image, NULL, NULL, err);
}

struct hide_ctx {
	const struct shunt_plan *plan;
	const char *dir;
};

/* mke2fs's child: enter the job directory first (the state dir holding
 * it may be among the hidden paths), then hide. */
static int hide_prep(void *arg)
{
	const struct hide_ctx *h = arg;
	return chdir(h->dir) < 0 || shunt_microvm_hide_in_child(h->plan) < 0 ? -1 : 0;
}

/* An optional read-only root drive: $SHUNT_VM_ROOTFS ("none": none),
 * else rootfs.ext4 next to the kernel (shunt vm build --rootfs
 * debootstrap). NULL: the guest's root is its initramfs (Firecracker) or
 * the host's (QEMU). */
char *shunt_firecracker_rootfs(const char *kernel)
{
	const char *env = getenv("SHUNT_VM_ROOTFS");
	if (env && strcmp(env, "none") == 0)
		return NULL;
	if (env && *env)
		return access(env, R_OK) == 0 ? strdup(env) : NULL;
	char *p = NULL;
	const char *slash = strrchr(kernel, '/');
	if (asprintf(&p, "%.*s/rootfs.ext4", slash ? (int)(slash - kernel) : 1,
		     slash ? kernel : ".") < 0)
		return NULL;
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

/* Has the VMM exited? Leaves it waitable. */
static bool vmm_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void vmm_reap(pid_t pid, int grace_ms)
{
	for (int waited = 0; waited < grace_ms && !vmm_exited(pid); waited += 20) {
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The hidden paths of a plan, for the copy-back to leave alone. */
static char **hidden_paths(const struct shunt_plan *plan)
{
	char **v = calloc(plan->nmounts + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; v && i < plan->nmounts; i++)
		if (plan->mounts[i].kind != SHUNT_MOUNT_BIND)
			v[n++] = plan->mounts[i].guest;
	return v;
}

/* Boots Firecracker (or QEMU with the same channel on a virtio console,
 * qemu true) for the job: the workspace as an ext4 drive, the command
 * over the agent's channel. 0 with *status, 1 on deadline (*status 124), -1
 * with *err when the VM did not run the command. */
int shunt_firecracker_agent_boot(const struct shunt_plan *plan, struct shunt_microvm_job *j,
				 struct shunt_vm_spec *s, const char *digest, bool qemu,
				 int *status, struct shunt_error **err)
{
	char cfg[PATH_MAX + 16], img[PATH_MAX + 16], uds[PATH_MAX + 16], con[PATH_MAX + 16];
	const char *name = qemu ? "QEMU" : "Firecracker";
	snprintf(cfg, sizeof(cfg), "%s/fc.json", j->dir);
	snprintf(img, sizeof(img), "%s/workspace.ext4", j->dir);
	snprintf(uds, sizeof(uds), "%s/%s", j->dir, qemu ? "ch.sock" : "v.sock");
	snprintf(con, sizeof(con), "%s/console.log", j->dir);
	/* the VMM runs in the job directory: short relative paths, and the
	 * state dir may be hidden from it */
	s->ws_image = s->workspace ? "workspace.ext4" : NULL;
	s->vsock_path = "v.sock";
	struct hide_ctx hc = {plan, j->dir};
	if (s->workspace &&
	    shunt_wsimage_build(s->workspace, "workspace.ext4", hide_prep, &hc, err) < 0)
		return shunt_error_prefix(err, "%s workspace image: ", name);
	struct shunt_strv argv = {0};
	int rc;
	if (qemu) {
		s->chan_path = "ch.sock";
		s->console_path = "console.log";
		rc = shunt_microvm_qemu_argv(s, &argv, err);
	} else {
		struct shunt_buf conf = {0};
		shunt_microvm_fc_config(s, &conf);
		rc = conf.oom ? shunt_error_set(err, ENOMEM, "out of memory")
			      : shunt_fs_write_atomic(cfg, conf.data, conf.len, 0600, err);
		shunt_buf_free(&conf);
	}
	if (rc < 0) {
		shunt_strv_free(&argv);
		return -1;
	}
	_cleanup_close_ int confd =
	    open(con, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (confd < 0)
		return shunt_error_sys(err, errno, "microVM console log %s", con);
	long long mono0 = shunt_vmchan_now_ms();
	long long ttl =
	    plan->timeout
		? mono0 + (j->created + (long long)plan->timeout * 1000 - shunt_microvm_now_ms())
		: 0;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		shunt_strv_free(&argv);
		return shunt_error_sys(err, errno, "fork");
	}
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(125);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || chdir(j->dir) < 0 || dup2(nul, 0) < 0 || dup2(confd, 1) < 0 ||
		    dup2(confd, 2) < 0)
			_exit(125);
		if (shunt_microvm_hide_in_child(plan) < 0)
			_exit(VM_HIDE_FAILED);
		if (qemu)
			execv(argv.v[0], argv.v);
		else
			execl(s->vmm, "firecracker", "--no-api", "--config-file", "fc.json",
			      (char *)NULL);
		_exit(127);
	}
	shunt_strv_free(&argv);
	if (shunt_microvm_job_write_json(j, plan, qemu ? "qemu" : "firecracker", pid, digest, err) <
	    0) {
		vmm_reap(pid, 0);
		return -1;
	}
	long long boot = mono0 + VM_FC_BOOT_SECONDS * 1000;
	if (ttl && ttl < boot)
		boot = ttl;
	_cleanup_close_ int ch = -1;
	while (ch < 0) {
		struct shunt_error *e = NULL;
		/* short rounds, so a VMM that died is noticed */
		long long round = shunt_vmchan_now_ms() + 500;
		ch = shunt_firecracker_connect(uds, qemu ? 0 : SHUNT_VMCHAN_PORT,
					       round < boot ? round : boot, &e);
		if (ch >= 0)
			break;
		bool died = vmm_exited(pid);
		if (died || shunt_vmchan_now_ms() >= boot) {
			if (ttl && shunt_vmchan_now_ms() >= ttl && !died) {
				shunt_error_free(&e);
				vmm_reap(pid, 0);
				*status = 124;
				return 1;
			}
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			if (died)
				waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
			vmm_reap(pid, 0);
			if (died && si.si_code == CLD_EXITED && si.si_status == VM_HIDE_FAILED) {
				shunt_error_free(&e);
				shunt_error_set(err, EPERM,
						"could not hide credentials (~/.ssh, ~/.aws, ...) "
						"from the microVM; the command was not run");
				return -1;
			}
			shunt_error_set(err, e ? e->code : EIO,
					"%s did not boot the guest (%s); the command was "
					"not run; see %s",
					name,
					died ? "the VMM exited"
					: e  ? e->msg
					     : "no answer",
					con);
			shunt_error_free(&e);
			return -1;
		}
		shunt_error_free(&e);
		struct timespec pause = {0, 20 * 1000000};
		nanosleep(&pause, NULL);
	}
	/* the caller's directory when it is inside the workspace, else the
	 * workspace (as the QEMU job script does) */
	bool inside = shunt_microvm_cwd_inside(plan);
	struct shunt_vmchan_request req = {
	    .ws_path = s->workspace,
	    .ws_dev = s->workspace ? "/dev/vda" : NULL,
	    .ws_rw = s->workspace_rw,
	    .cwd = inside ? plan->cwd : plan->workspace,
	    .argv = plan->argv,
	    .env = plan->env,
	};
	long long hello = shunt_vmchan_now_ms() + VM_FC_BOOT_SECONDS * 1000;
	rc = shunt_firecracker_exchange(ch, &req, 1, 2, hello, ttl, status, err);
	if (rc != 0) {
		vmm_reap(pid, 0);
		if (rc == 1)
			*status = 124;
		return rc;
	}
	/* the agent unmounted the workspace before reporting; the guest
	 * powers off next */
	vmm_reap(pid, VM_FC_EXIT_SECONDS * 1000);
	if (s->workspace && s->workspace_rw) {
		_cleanup_free_ char **hide = hidden_paths(plan);
		struct shunt_wsimage_sync st;
		if (shunt_wsimage_copyback(img, s->workspace, hide, &st, err) < 0) {
			shunt_strv_free(&st.refused);
			return shunt_error_prefix(err, "the command ran (status %d), but ",
						  *status);
		}
		for (size_t i = 0; i < st.refused.n; i++)
			shunt_microvm_notify(SHUNT_MICROVM_NOTE,
					     "microVM: not copied back (special file, symlink "
					     "leaving the workspace, or another user's file this "
					     "user cannot write): %s",
					     st.refused.v[i]);
		shunt_strv_free(&st.refused);
	}
	return 0;
}

/* The probe cache's key: the binary (path, size, mtime), the host kernel
 * release and the image digest; "" when fc cannot be stat'ed. */
static void fc_probe_key(const char *fc, const char *digest, char *key, size_t size)
{
	struct stat sb;
	char rel[128];
	key[0] = 0;
	shunt_microvm_kernel_release(rel, sizeof(rel));
	if (stat(fc, &sb) == 0)
		snprintf(key, size, "%s %lld %lld %s %s ", fc, (long long)sb.st_size,
			 (long long)sb.st_mtime, rel, digest);
}

/* The cached answer for key: 1 boots, 0 does not (*why: the reason
 * recorded, malloc'd), -1 not probed for this key. */
static int fc_probe_cached(const char *key, char **why)
{
	_cleanup_free_ char *cache = shunt_paths_probe_cache("vm-firecracker");
	_cleanup_free_ char *cached = NULL;
	struct shunt_error *e = NULL;
	if (!cache || shunt_fs_read(cache, PATH_MAX + 1024, &cached, NULL, &e) < 0 ||
	    strncmp(cached, key, strlen(key)) != 0) {
		shunt_error_free(&e);
		return -1;
	}
	const char *ans = cached + strlen(key);
	if (strncmp(ans, "yes", 3) == 0)
		return 1;
	if (why && strncmp(ans, "no ", 3) == 0) {
		*why = strdup(ans + 3);
		if (*why)
			(*why)[strcspn(*why, "\n")] = 0;
	}
	return 0;
}

/* The last non-empty line of a job's console log, for the probe's reason. */
static void console_last_line(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/console.log", dir);
	_cleanup_free_ char *text = NULL;
	struct shunt_error *e = NULL;
	out[0] = 0;
	if (shunt_fs_read(path, 1 << 20, &text, NULL, &e) < 0) {
		shunt_error_free(&e);
		return;
	}
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = 0;
	char *nl = strrchr(text, '\n');
	snprintf(out, size, "%s", nl ? nl + 1 : text);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
}

/* Does Firecracker really boot our guest here? Boots `true` with a
 * deadline once and caches the answer (and why not) per binary, kernel
 * release and image; a /dev/kvm that accepts VMs and never runs them
 * counts as absent. may_probe false: the cached answer only. */
bool shunt_firecracker_usable(const char *fc, bool may_probe)
{
	if (!fc || !shunt_microvm_kvm_rw())
		return false;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, &e) < 0) {
		shunt_error_free(&e);
		return false;
	}
	char key[PATH_MAX + 256];
	fc_probe_key(fc, digest, key, sizeof(key));
	if (!key[0])
		return false;
	int cached = fc_probe_cached(key, NULL);
	if (cached >= 0 || !may_probe)
		return cached == 1;
	struct shunt_plan p;
	shunt_microvm_probe_plan(&p, "fc");
	struct shunt_vm_spec s = {.vmm = fc, .kernel = kernel, .initrd = initrd, .kvm = true};
	s.mem_mib = VM_MIN_MEM_MIB;
	s.vcpus = 1;
	struct shunt_microvm_job j;
	int status = -1, rc = -1;
	char why[400] = "";
	char last[160] = "";
	if (shunt_microvm_job_setup(&p, &j, &e) == 0) {
		rc = shunt_firecracker_agent_boot(&p, &j, &s, digest, false, &status, &e);
		console_last_line(j.dir, last, sizeof(last));
		shunt_fs_rmtree(j.dir, NULL);
	}
	if (rc == 1)
		snprintf(why, sizeof(why), "the guest did not run `true` within %d s",
			 VM_KVM_PROBE_SECONDS);
	else if (rc < 0)
		/* the message up to its "; see <console.log>": the job is gone */
		snprintf(why, sizeof(why), "%.*s%s%s", e ? (int)strcspn(e->msg, ";") : 17,
			 e ? e->msg : "the boot failed", last[0] ? "; console: " : "", last);
	else if (status != 0)
		snprintf(why, sizeof(why), "`true` in the guest exited %d", status);
	/* one line in the cache */
	for (char *c = why; *c; c++)
		if (*c == '\n')
			*c = ' ';
	shunt_error_free(&e);
	bool yes = rc == 0 && status == 0;
	_cleanup_free_ char *cache = shunt_paths_probe_cache("vm-firecracker");
	if (cache) {
		char line[PATH_MAX + 700];
		snprintf(line, sizeof(line), "%s%s%s%s\n", key, yes ? "yes" : "no", yes ? "" : " ",
			 why);
		shunt_fs_write_atomic(cache, line, strlen(line), 0600, &e);
		shunt_error_free(&e);
	}
	return yes;
}

void shunt_microvm_fc_state(struct shunt_microvm_fc_state *st, bool may_probe)
{
	memset(st, 0, sizeof(*st));
	st->probe = -1;
	st->binary = shunt_microvm_find_firecracker();
	st->kvm = shunt_microvm_kvm_rw();
	st->cache = shunt_paths_probe_cache("vm-firecracker");
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	struct shunt_error *e = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &st->digest, &e) < 0) {
		shunt_error_free(&e);
		/* no image: only an explicit root drive */
		const char *env = getenv("SHUNT_VM_ROOTFS");
		if (env && *env && strcmp(env, "none") != 0)
			st->rootfs = shunt_firecracker_rootfs("/");
		return;
	}
	st->rootfs = shunt_firecracker_rootfs(kernel);
	if (!st->binary || !st->kvm)
		return;
	if (may_probe)
		shunt_firecracker_usable(st->binary, true);
	char key[PATH_MAX + 256];
	fc_probe_key(st->binary, st->digest, key, sizeof(key));
	if (key[0])
		st->probe = fc_probe_cached(key, &st->why);
}

void shunt_microvm_fc_state_free(struct shunt_microvm_fc_state *st)
{
	free(st->binary);
	free(st->digest);
	free(st->rootfs);
	free(st->why);
	free(st->cache);
	memset(st, 0, sizeof(*st));
}

int shunt_firecracker_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	_cleanup_free_ char *fc = shunt_microvm_find_firecracker();
	if (!fc || !shunt_microvm_kvm_rw())
		return shunt_microvm_fc_unavailable(err);
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	/* auto already probed; an explicit choice reports a failed boot itself */
	const char *want = getenv("SHUNT_VM_BACKEND");
	bool explicit = (want && strcmp(want, "firecracker") == 0) ||
			(!(want && *want) && plan->vm_backend == 1);
	if (!explicit && !shunt_firecracker_usable(fc, true))
		return shunt_microvm_fc_unavailable(err);
	_cleanup_free_ char *rootfs = shunt_firecracker_rootfs(kernel);
	struct shunt_vm_spec s = {.vmm = fc, .kernel = kernel, .initrd = initrd, .kvm = true};
	shunt_microvm_spec_from_plan(plan, &s);
	s.rootfs_image = rootfs;
	struct shunt_microvm_job j;
	if (shunt_microvm_job_setup(plan, &j, err) < 0)
		return vm_set_exit(err, 125), -1;
	int rc = shunt_firecracker_agent_boot(plan, &j, &s, digest, false, status, err);
	if (rc < 0 && err && *err && (*err)->exitcode == 0)
		vm_set_exit(err, 125);
	shunt_microvm_job_end(j.dir);
	return rc;
}
