/* microVM runner. Each run gets a job directory
 * ($XDG_STATE_HOME/shunt/vm/jobs/<run_id>/: job.json, done, share/,
 * status, console.log). The guest's /init (sandbox/firecracker/init)
 * reads share/env + share/cmd.sh over 9p, deletes them (the nonce leaves
 * the share), overlays a tmpfs on the host root shared read-only, mounts
 * the workspace at its host path and runs the command with stdout on
 * hvc0 and stderr on hvc1. The exit marker, carrying a per-run random
 * nonce, arrives on hvc2, a channel the command's output never reaches. */
#include "microvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cleanup.h"
#include "firecracker.h"
#include "fsutil.h"
#include "netproxy.h"
#include "netrelay.h"
#include "paths.h"
#include "wsimage.h"
#include "sha256.h"

#define VM_KVM_PROBE_SECONDS 8
#define VM_DEFAULT_MEM_MIB   512
#define VM_MIN_MEM_MIB	     128
#define VM_MAX_MEM_MIB	     8192
#define VM_HIDE_FAILED	     121 /* the VMM child could not hide the plan's secrets */
#define VM_FC_BOOT_SECONDS   60	 /* Firecracker: from start to the agent answering */
#define VM_FC_EXIT_SECONDS   10	 /* Firecracker: from the exit status to the VMM gone */

static const char qemu_how[] = "install QEMU with 'apt-get install qemu-system-x86'";

static void set_exit(struct shunt_error **err, int code)
{
	if (err && *err)
		(*err)->exitcode = code;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int push(struct shunt_strv *v, struct shunt_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int push(struct shunt_strv *v, struct shunt_error **err, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int rc = shunt_strv_push(v, s);
	free(s);
	if (rc < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* QEMU option values separate sub-options with ','; a literal ',' is ",,". */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n; i++)
		extra += s[i] == ',';
	char *o = malloc(n + extra + 1);
	if (!o)
		return NULL;
	char *p = o;
	for (size_t i = 0; i < n; i++) {
		*p++ = s[i];
		if (s[i] == ',')
			*p++ = ',';
	}
	*p = 0;
	return o;
}

void shunt_microvm_cmdline(const struct shunt_vm_spec *spec, struct shunt_buf *out)
{
	if (spec->vmm && strstr(spec->vmm, "firecracker")) {
		shunt_buf_puts(out, "console=ttyS0 reboot=k panic=-1 pci=off quiet loglevel=1 "
				    "shunt.agent=vsock");
		if (spec->rootfs_image)
			shunt_buf_printf(out, " shunt.rootfs=/dev/vd%c",
					 spec->ws_image ? 'b' : 'a');
	} else {
		shunt_buf_puts(out, "console=ttyS0 quiet loglevel=1 panic=-1 reboot=t");
		if (spec->chan_path)
			shunt_buf_puts(out, " shunt.agent=hvc");
		/* drives enumerate in command-line order: the root drive,
		 * added after the workspace, is vdb as under Firecracker */
		if (spec->chan_path && spec->rootfs_image)
			shunt_buf_printf(out, " shunt.rootfs=/dev/vd%c",
					 spec->ws_image ? 'b' : 'a');
	}
	if (!spec->kvm && spec->tsc_khz)
		shunt_buf_printf(out, " tsc_early_khz=%u", spec->tsc_khz);
}

/* The command-channel devices: the host root over 9p (read-only, for
 * the guest's overlay root) or the root drive, the guest agent on hvc0
 * behind a unix socket, the workspace as an ext4 drive: Firecracker's
 * transport, on QEMU. */
static int qemu_chan_args(const struct shunt_vm_spec *s, struct shunt_strv *v,
			  struct shunt_error **err)
{
	_cleanup_free_ char *ch = qemu_escape(s->chan_path);
	_cleanup_free_ char *wi = s->ws_image ? qemu_escape(s->ws_image) : NULL;
	_cleanup_free_ char *ri = s->rootfs_image ? qemu_escape(s->rootfs_image) : NULL;
	if (!ch || (s->ws_image && !wi) || (s->rootfs_image && !ri))
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (push(v, err, "-chardev") < 0 ||
	    push(v, err, "socket,id=ch,path=%s,server=on,wait=off", ch) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=ch") < 0)
		return -1;
	if (!ri && (push(v, err, "-fsdev") < 0 ||
		    push(v, err,
			 "local,id=root,path=/,readonly=on,security_model=none,"
			 "multidevs=remap") < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-9p-device,fsdev=root,mount_tag=root") < 0))
		return -1;
	if (wi && (push(v, err, "-drive") < 0 ||
		   push(v, err, "id=ws,file=%s,format=raw,if=none%s", wi,
			s->workspace_rw ? "" : ",readonly=on") < 0 ||
		   push(v, err, "-device") < 0 || push(v, err, "virtio-blk-device,drive=ws") < 0))
		return -1;
	/* after the workspace, so that stays vda (see shunt_microvm_cmdline) */
	if (ri &&
	    (push(v, err, "-drive") < 0 ||
	     push(v, err, "id=rootfs,file=%s,format=raw,if=none,readonly=on", ri) < 0 ||
	     push(v, err, "-device") < 0 || push(v, err, "virtio-blk-device,drive=rootfs") < 0))
		return -1;
	return 0;
}

int shunt_microvm_qemu_argv(const struct shunt_vm_spec *s, struct shunt_strv *v,
			    struct shunt_error **err)
{
	struct shunt_buf cl = {0};
	shunt_microvm_cmdline(s, &cl);
	_cleanup_free_ char *k = qemu_escape(s->kernel);
	_cleanup_free_ char *i = qemu_escape(s->initrd);
	_cleanup_free_ char *j = qemu_escape(s->jobshare ? s->jobshare : "");
	_cleanup_free_ char *st = qemu_escape(s->status_path ? s->status_path : "");
	_cleanup_free_ char *co = qemu_escape(s->console_path);
	_cleanup_free_ char *w = s->workspace ? qemu_escape(s->workspace) : NULL;
	int rc = -1;
	if (!k || !i || !j || !st || !co || (s->workspace && !w)) {
		shunt_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (push(v, err, "%s", s->vmm) < 0 || push(v, err, "-M") < 0 ||
	    push(v, err, "microvm,rtc=on") < 0 || push(v, err, "-accel") < 0 ||
	    push(v, err, "%s", s->kvm ? "kvm" : "tcg") < 0 || push(v, err, "-m") < 0 ||
	    push(v, err, "%u", s->mem_mib) < 0 || push(v, err, "-smp") < 0 ||
	    push(v, err, "%u", s->vcpus) < 0 || push(v, err, "-nodefaults") < 0 ||
	    push(v, err, "-no-user-config") < 0 || push(v, err, "-display") < 0 ||
	    push(v, err, "none") < 0 || push(v, err, "-no-reboot") < 0 ||
	    push(v, err, "-kernel") < 0 || push(v, err, "%s", s->kernel) < 0 ||
	    push(v, err, "-initrd") < 0 || push(v, err, "%s", s->initrd) < 0 ||
	    push(v, err, "-append") < 0 || push(v, err, "%s", cl.data ? cl.data : "") < 0 ||
	    push(v, err, "-serial") < 0 || push(v, err, "file:%s", co) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtio-serial-device") < 0)
		goto out;
	if (s->chan_path) {
		/* the agent channel has no network: no NIC (the caller checked) */
		if (push(v, err, "-nic") < 0 || push(v, err, "none") < 0)
			goto out;
		rc = qemu_chan_args(s, v, err);
		goto out;
	}
	if (push(v, err, "-chardev") < 0 ||
	    push(v, err, "file,id=out,path=/proc/self/fd/%d,append=on", s->out_fd) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=out") < 0 ||
	    push(v, err, "-chardev") < 0 ||
	    push(v, err, "file,id=err,path=/proc/self/fd/%d,append=on", s->err_fd) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=err") < 0 ||
	    push(v, err, "-chardev") < 0 || push(v, err, "file,id=st,path=%s", st) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=st") < 0 ||
	    push(v, err, "-fsdev") < 0 ||
	    push(v, err, "local,id=root,path=/,readonly=on,security_model=none,multidevs=remap") <
		0 ||
	    push(v, err, "-device") < 0 ||
	    push(v, err, "virtio-9p-device,fsdev=root,mount_tag=root") < 0 ||
	    push(v, err, "-fsdev") < 0 ||
	    push(v, err, "local,id=job,path=%s,security_model=none", j) < 0 ||
	    push(v, err, "-device") < 0 ||
	    push(v, err, "virtio-9p-device,fsdev=job,mount_tag=job") < 0)
		goto out;
	/* after hvc0..hvc2 so it is hvc3 in the guest */
	if (s->ctl_path &&
	    (push(v, err, "-chardev") < 0 || push(v, err, "pipe,id=ctl,path=%s", s->ctl_path) < 0 ||
	     push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=ctl") < 0))
		goto out;
	/* allowlist: a user-mode network restricted to one forward, the proxy;
	 * otherwise no NIC at all */
	if (s->proxy_cmd) {
		_cleanup_free_ char *pc = qemu_escape(s->proxy_cmd);
		if (!pc || push(v, err, "-netdev") < 0 ||
		    push(v, err, "user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:%s:%d-cmd:%s",
			 SHUNT_MICROVM_PROXY_ADDR, SHUNT_NETRELAY_PORT, pc) < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-net-device,netdev=net0") < 0) {
			if (!pc)
				shunt_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
	} else if (s->full_net) {
		if (push(v, err, "-netdev") < 0 || push(v, err, "user,id=net0,ipv6=off") < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-net-device,netdev=net0") < 0)
			goto out;
	} else if (push(v, err, "-nic") < 0 || push(v, err, "none") < 0) {
		goto out;
	}
	if (w && (push(v, err, "-fsdev") < 0 ||
		  push(v, err, "local,id=ws,path=%s,%ssecurity_model=none,multidevs=remap", w,
		       s->workspace_rw ? "" : "readonly=on,") < 0 ||
		  push(v, err, "-device") < 0 ||
		  push(v, err, "virtio-9p-device,fsdev=ws,mount_tag=ws") < 0))
		goto out;
	rc = 0;
out:
	shunt_buf_free(&cl);
	return rc;
}

static void json_kv(struct shunt_buf *b, const char *k, const char *v)
{
	shunt_buf_json_str(b, k, strlen(k));
	shunt_buf_putc(b, ':');
	shunt_buf_json_str(b, v, strlen(v));
}

void shunt_microvm_fc_config(const struct shunt_vm_spec *s, struct shunt_buf *b)
{
	struct shunt_buf cl = {0};
	shunt_microvm_cmdline(s, &cl);
	shunt_buf_puts(b, "{\"boot-source\":{");
	json_kv(b, "kernel_image_path", s->kernel);
	shunt_buf_putc(b, ',');
	json_kv(b, "initrd_path", s->initrd);
	shunt_buf_putc(b, ',');
	json_kv(b, "boot_args", cl.data ? cl.data : "");
	shunt_buf_puts(b, "},\"drives\":[");
	if (s->ws_image) {
		shunt_buf_puts(b, "{\"drive_id\":\"workspace\",");
		json_kv(b, "path_on_host", s->ws_image);
		shunt_buf_printf(b, ",\"is_root_device\":false,\"is_read_only\":%s}",
				 s->workspace_rw ? "false" : "true");
	}
	if (s->rootfs_image) {
		shunt_buf_puts(b, s->ws_image ? ",{" : "{");
		shunt_buf_puts(b, "\"drive_id\":\"rootfs\",");
		json_kv(b, "path_on_host", s->rootfs_image);
		shunt_buf_puts(b, ",\"is_root_device\":false,\"is_read_only\":true}");
	}
	shunt_buf_printf(
	    b, "],\"machine-config\":{\"vcpu_count\":%u,\"mem_size_mib\":%u,\"smt\":false},",
	    s->vcpus, s->mem_mib);
	shunt_buf_puts(b, "\"network-interfaces\":[],\"vsock\":{\"guest_cid\":3,");
	json_kv(b, "uds_path", s->vsock_path ? s->vsock_path : "");
	shunt_buf_puts(b, "}}\n");
	shunt_buf_free(&cl);
}

int shunt_microvm_fc_workspace_image(const char *dir, const char *image, struct shunt_error **err)
{
	return shunt_wsimage_build(dir, image, NULL, NULL, err);
}

int shunt_microvm_parse_status(const char *text, const char *nonce, int *rc)
{
	char pfx[128];
	snprintf(pfx, sizeof(pfx), "SHUNT-EXIT-%s ", nonce);
	size_t pl = strlen(pfx);
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (strncmp(p, pfx, pl) == 0) {
			char *end;
			long v = strtol(p + pl, &end, 10);
			if (end != p + pl && (*end == '\n' || *end == '\r' || !*end) && v >= 0 &&
			    v < 256) {
				*rc = (int)v;
				return 0;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return -1;
}

static void shell_quote(struct shunt_buf *b, const char *s)
{
	shunt_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			shunt_buf_puts(b, "'\\''");
		else
			shunt_buf_putc(b, *s);
	}
	shunt_buf_putc(b, '\'');
}

/* The proxy variables point at the relay of the other runners; in the
 * guest, /init sets them to the guestfwd address instead. */
static bool proxy_var(const char *name, size_t n)
{
	static const char *const vars[] = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strlen(vars[i]) == n && strncasecmp(name, vars[i], n) == 0)
			return true;
	return false;
}

void shunt_microvm_job_script(const struct shunt_plan *plan, struct shunt_buf *b)
{
	for (size_t i = 0; plan->env && plan->env[i]; i++) {
		const char *eq = strchr(plan->env[i], '=');
		if (!eq || eq == plan->env[i] ||
		    proxy_var(plan->env[i], (size_t)(eq - plan->env[i])))
			continue;
		shunt_buf_puts(b, "export ");
		shunt_buf_append(b, plan->env[i], (size_t)(eq - plan->env[i]));
		shunt_buf_putc(b, '=');
		shell_quote(b, eq + 1);
		shunt_buf_putc(b, '\n');
	}
	/* the caller's directory when it is inside the workspace, else the
	 * workspace */
	size_t wl = plan->workspace ? strlen(plan->workspace) : 0;
	bool inside =
	    plan->cwd && (!plan->workspace || (strncmp(plan->cwd, plan->workspace, wl) == 0 &&
					       (plan->cwd[wl] == '/' || !plan->cwd[wl])));
	if (inside) {
		shunt_buf_puts(b, "cd ");
		shell_quote(b, plan->cwd);
		shunt_buf_puts(b, " 2>/dev/null || ");
	}
	if (plan->workspace) {
		shunt_buf_puts(b, "cd ");
		shell_quote(b, plan->workspace);
		shunt_buf_puts(b, " || exit 126\n");
	} else if (inside) {
		shunt_buf_puts(b, "true\n");
	}
	shunt_buf_puts(b, "exec");
	for (size_t i = 0; plan->argv[i]; i++) {
		shunt_buf_putc(b, ' ');
		shell_quote(b, plan->argv[i]);
	}
	shunt_buf_putc(b, '\n');
}

char *shunt_microvm_image_dir(void)
{
	const char *env = getenv("SHUNT_VM_CACHE");
	char *p = NULL;
	if (env && *env) {
		if (asprintf(&p, "%s/current", env) < 0)
			return NULL;
		return p;
	}
	return shunt_paths_file(SHUNT_DIR_CACHE, "vm/current");
}

char *shunt_microvm_build_script(void)
{
	const char *env = getenv("SHUNT_VM_BUILD_SCRIPT");
	if (env && *env)
		return strdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const rel[] = {
	    "../share/shunt/firecracker/build-guest.sh", /* installed */
	    "../../sandbox/firecracker/build-guest.sh",	 /* build-x/bin */
	    "../sandbox/firecracker/build-guest.sh",
	};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", exe, rel[i]) < 0)
			return NULL;
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* A VMM binary: the path in env_var when set (and only that), else PATH. */
static char *find_vmm(const char *env_var, const char *name)
{
	const char *env = getenv(env_var);
	if (env && *env)
		return access(env, X_OK) == 0 ? strdup(env) : NULL;
	return shunt_paths_which(name);
}

static char *find_qemu(void)
{
	return find_vmm("SHUNT_QEMU", "qemu-system-x86_64");
}

static unsigned host_tsc_khz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	double mhz = 0;
	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 ||
			    sscanf(line, "cpu MHz\t: %lf", &mhz) == 1)
				break;
		fclose(f);
	}
	if (mhz < 100 || mhz > 10000)
		mhz = 2000;
	return (unsigned)(mhz * 1000);
}

static int image_paths(char **kernel, char **initrd, char **digest, struct shunt_error **err)
{
	_cleanup_free_ char *dir = shunt_microvm_image_dir();
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char real[PATH_MAX];
	if (!realpath(dir, real))
		goto missing;
	if (asprintf(kernel, "%s/vmlinux", real) < 0 ||
	    asprintf(initrd, "%s/initrd.cpio", real) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (access(*kernel, R_OK) != 0 || access(*initrd, R_OK) != 0)
		goto missing;
	if (digest) {
		const char *d = strrchr(real, '/');
		*digest = strdup(d ? d + 1 : real);
	}
	return 0;
missing:
	shunt_error_set(err, ENOENT,
			"the microVM guest image is not built (%s); build it with 'shunt vm build' "
			"(needs busybox-static, cpio, xz-utils and the Debian archive)",
			dir);
	set_exit(err, 125);
	return -1;
}

static char *find_firecracker(void)
{
	return find_vmm("SHUNT_FIRECRACKER", "firecracker");
}

static bool kvm_rw(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static enum shunt_vm_backend choose_backend(bool may_probe, int cfg_choice);

enum shunt_vm_backend shunt_microvm_backend(void)
{
	return choose_backend(false, 0);
}

static int fc_unavailable(struct shunt_error **err)
{
	shunt_error_set(
	    err, ENOSYS,
	    "the Firecracker backend needs a 'firecracker' binary (on PATH or "
	    "$SHUNT_FIRECRACKER; Debian has no package: install a release binary) and a "
	    "/dev/kvm this user can open that really boots guests; not usable here, so the "
	    "command was not run: use SHUNT_VM_BACKEND=qemu, or unset it to pick automatically");
	set_exit(err, 125);
	return -1;
}

int shunt_microvm_probe(struct shunt_error **err)
{
	if (shunt_microvm_backend() == SHUNT_VM_FIRECRACKER) {
		_cleanup_free_ char *fc = find_firecracker();
		if (!fc || !kvm_rw())
			return fc_unavailable(err);
	} else {
		_cleanup_free_ char *q = find_qemu();
		if (!q) {
			shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s",
					qemu_how);
			set_exit(err, 125);
			return -1;
		}
	}
	_cleanup_free_ char *k = NULL, *i = NULL;
	return image_paths(&k, &i, NULL, err);
}

/* ---- job state ---- */

static char *jobs_dir(void)
{
	return shunt_paths_file(SHUNT_DIR_STATE, "vm/jobs");
}

static bool pid_is_vmm(long pid)
{
	char p[64], exe[PATH_MAX];
	snprintf(p, sizeof(p), "/proc/%ld/exe", pid);
	ssize_t n = readlink(p, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return strncmp(base, "qemu-system-", 12) == 0 || strcmp(base, "firecracker") == 0;
}

static long long json_num(const char *js, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(js, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

int shunt_microvm_sweep(void)
{
	_cleanup_free_ char *dir = jobs_dir();
	if (!dir)
		return 0;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	long long now = now_ms();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *jd = NULL, *jf = NULL, *done = NULL, *js = NULL;
		if (asprintf(&jd, "%s/%s", dir, de->d_name) < 0 ||
		    asprintf(&jf, "%s/job.json", jd) < 0 || asprintf(&done, "%s/done", jd) < 0)
			return n;
		struct shunt_error *e = NULL;
		if (shunt_fs_read(jf, 4096, &js, NULL, &e) < 0) {
			shunt_error_free(&e);
			continue; /* being created, or not ours */
		}
		long long pid = json_num(js, "pid"), deadline = json_num(js, "deadline_ms");
		bool alive = pid > 0 && pid_is_vmm((long)pid);
		bool is_done = access(done, F_OK) == 0;
		bool expired = deadline > 0 && now > deadline;
		if (is_done && alive)
			continue; /* finishing right now */
		if (!is_done && alive && !expired)
			continue; /* a live run */
		if (alive)
			kill((pid_t)pid, SIGKILL);
		if (!is_done || !alive) {
			if (shunt_fs_rmtree(jd, &e) == 0)
				n++;
			shunt_error_free(&e);
		}
	}
	return n;
}

/* ---- running ---- */

struct vm_job {
	char dir[PATH_MAX];
	char nonce[33];
	long long created, deadline;
};

static int job_write_json(const struct vm_job *j, const struct shunt_plan *plan,
			  const char *backend, long pid, const char *digest,
			  struct shunt_error **err)
{
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, "{");
	json_kv(&b, "run_id", plan->run_id);
	shunt_buf_putc(&b, ',');
	json_kv(&b, "backend", backend);
	shunt_buf_printf(&b, ",\"pid\":%ld,\"created_ms\":%lld,\"deadline_ms\":%lld,", pid,
			 j->created, j->deadline);
	json_kv(&b, "image_digest", digest ? digest : "");
	shunt_buf_puts(&b, "}\n");
	_cleanup_free_ char *p = NULL;
	int rc = -1;
	if (asprintf(&p, "%s/job.json", j->dir) >= 0)
		rc = shunt_fs_write_atomic(p, b.data, b.len, 0600, err);
	shunt_buf_free(&b);
	return rc;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len,
		      struct shunt_error **err)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	return shunt_fs_write_atomic(p, data, len, 0644, err);
}

static void copy_fd(int from, int to, bool *open)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open = false;
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* reader went away: keep draining */
		}
		off += w;
	}
}

static int spec_from_plan(const struct shunt_plan *plan, struct shunt_vm_spec *s)
{
	unsigned long long mib =
	    plan->mem_bytes ? plan->mem_bytes / (1024 * 1024) : VM_DEFAULT_MEM_MIB;
	if (mib < VM_MIN_MEM_MIB)
		mib = VM_MIN_MEM_MIB;
	if (mib > VM_MAX_MEM_MIB)
		mib = VM_MAX_MEM_MIB;
	s->mem_mib = (unsigned)mib;
	unsigned vc = plan->cpus > 0 ? (unsigned)(plan->cpus + 0.999) : 1;
	s->vcpus = vc < 1 ? 1 : vc > 8 ? 8 : vc;
	s->workspace = plan->workspace;
	s->workspace_rw = plan->workspace_rw;
	s->tsc_khz = host_tsc_khz();
	return 0;
}

/* Allowlist: the host proxy for this run, and the guestfwd command that
 * hands each guest connection to it (QEMU splits the command at spaces,
 * so the paths must have none). */
static int proxy_setup(struct shunt_netproxy *proxy, const struct shunt_plan *plan, char **cmd,
		       struct shunt_error **err)
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

/* Firecracker and the agent channel have no network path to the proxy:
 * anything but none fails closed unless weaker isolation is accepted. */
static int check_network(const struct shunt_plan *plan, struct shunt_error **err)
{
	if (plan->network == SHUNT_NET_NONE)
		return 0;
	if (plan->accept_weaker_isolation) {
		fprintf(stderr,
			"shunt: microVM (Firecracker): network '%s' is not available at the VM "
			"boundary; running with the network off (weaker isolation accepted)\n",
			shunt_netmode_name(plan->network));
		return 0;
	}
	shunt_error_set(
	    err, ENOSYS,
	    "microVM (Firecracker): network '%s' cannot be enforced at the VM boundary, so the "
	    "command was not run; use --network none, SHUNT_VM_BACKEND=qemu (which enforces it "
	    "through the filtering proxy), or --i-accept-weaker-isolation to run it with the "
	    "network off",
	    shunt_netmode_name(plan->network));
	set_exit(err, 125);
	return -1;
}

static int vm_setup(const struct shunt_plan *plan, struct vm_job *j, struct shunt_error **err)
{
	_cleanup_free_ char *jobs = jobs_dir();
	if (!jobs || shunt_fs_mkdirs(jobs, 0700, err) < 0)
		return shunt_error_prefix(err, "microVM job state: ");
	snprintf(j->dir, sizeof(j->dir), "%s/%s", jobs, plan->run_id);
	if (mkdir(j->dir, 0700) < 0)
		return shunt_error_sys(err, errno, "microVM job state: %s", j->dir);
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return shunt_error_sys(err, errno, "getrandom");
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(j->nonce + 2 * i, 3, "%02x", r[i]);
	j->created = now_ms();
	/* without a timeout the job still gets a deadline for the sweep */
	j->deadline =
	    j->created + (long long)(plan->timeout ? plan->timeout : 24 * 3600) * 1000 + 30000;
	char share[PATH_MAX + 8];
	snprintf(share, sizeof(share), "%s/share", j->dir);
	if (mkdir(share, 0700) < 0)
		return shunt_error_sys(err, errno, "microVM job share: %s", share);
	struct shunt_buf boot = {0};
	shunt_buf_printf(&boot, "WS_RW=%d\nWS=", plan->workspace_rw ? 1 : 0);
	if (plan->workspace)
		shell_quote(&boot, plan->workspace);
	shunt_buf_putc(&boot, '\n');
	int rc = write_file(share, "boot", boot.data, boot.len, err);
	shunt_buf_free(&boot);
	return rc;
}

/* The command's half of the share: env (the nonce) and cmd.sh. cmd.sh
 * last: a warm guest starts once it sees it after "go". */
static int job_files(const struct shunt_plan *plan, const struct vm_job *j,
		     struct shunt_error **err)
{
	char share[PATH_MAX + 8];
	snprintf(share, sizeof(share), "%s/share", j->dir);
	struct shunt_buf env = {0}, cmd = {0};
	shunt_buf_printf(&env, "NONCE=%s\nWS_RW=%d\nNET=%s\nWS=", j->nonce,
			 plan->workspace_rw ? 1 : 0,
			 plan->network == SHUNT_NET_RESTRICTED ? "allowlist"
			 : plan->network == SHUNT_NET_FULL     ? "full"
							       : "none");
	if (plan->workspace)
		shell_quote(&env, plan->workspace);
	shunt_buf_putc(&env, '\n');
	shunt_microvm_job_script(plan, &cmd);
	int rc = write_file(share, "env", env.data, env.len, err);
	if (rc == 0)
		rc = write_file(share, "cmd.sh", cmd.data, cmd.len, err);
	shunt_buf_free(&env);
	shunt_buf_free(&cmd);
	return rc;
}

/* In the VMM's child, before exec: a private mount namespace (inside a
 * user namespace when unprivileged) where the plan's hidden paths
 * (credentials: ~/.ssh, ~/.aws, ...) are covered by an empty tmpfs or
 * /dev/null. The 9p export of / then cannot reach them, even when the
 * guest's root remounts the share. No allocation. -1 with errno. */
static int hide_in_child(const struct shunt_plan *plan)
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
static int vm_start(const struct shunt_plan *plan, struct vm_job *j, struct shunt_vm_spec *s,
		    int ctl_rd, pid_t *pid_out, int *outfd, int *errfd, struct shunt_error **err)
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
		if (hide_in_child(plan) < 0) {
			int e = errno;
			char msg[160];
			int n = snprintf(msg, sizeof(msg),
					 "shunt: cannot hide credentials from the VM: %s\n",
					 strerror(e));
			if (write(2, msg, (size_t)n) < 0)
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
static int vm_finish(const struct vm_job *j, pid_t pid, bool own, int outfd, int errfd,
		     long long start_ms, unsigned timeout, int *status, struct shunt_error **err)
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
			long long left = deadline - now_ms();
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
			copy_fd(outfd, 1, &oo);
		if (pf[1].revents)
			copy_fd(errfd, 2, &eo);
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
		    "was not run");
		set_exit(err, 125);
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
		set_exit(err, 125);
		return -1;
	}
	*status = code;
	rc = 0;
	return rc;
}

/* Boots the VM; 0 with *status, 1 on deadline, -1 when it did not boot. */
static int vm_boot(const struct shunt_plan *plan, struct vm_job *j, struct shunt_vm_spec *s,
		   const char *digest, int *status, struct shunt_error **err)
{
	pid_t pid = -1;
	int outfd = -1, errfd = -1;
	if (vm_start(plan, j, s, -1, &pid, &outfd, &errfd, err) < 0)
		return -1;
	if (job_write_json(j, plan, "qemu", pid, digest, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(outfd);
		close(errfd);
		return -1;
	}
	return vm_finish(j, pid, true, outfd, errfd, j->created, plan->timeout, status, err);
}

/* Does KVM really boot our guest? /dev/kvm can accept VM creation and
 * then never run it (nested virtualisation without support): boot `true`
 * with a deadline once and cache the answer per kernel release and image.
 * SHUNT_VM_KVM=0|1 overrides. */
static bool kvm_usable(const struct shunt_vm_spec *base, const char *digest)
{
	const char *env = getenv("SHUNT_VM_KVM");
	if (env && *env)
		return strcmp(env, "1") == 0;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	char rel[128] = "?";
	FILE *f = fopen("/proc/sys/kernel/osrelease", "re");
	if (f) {
		if (!fgets(rel, sizeof(rel), f))
			rel[0] = 0;
		rel[strcspn(rel, "\n")] = 0;
		fclose(f);
	}
	char key[256];
	snprintf(key, sizeof(key), "%s %s ", rel, digest ? digest : "");
	_cleanup_free_ char *cache = shunt_paths_probe_cache("vm-kvm");
	_cleanup_free_ char *cached = NULL;
	struct shunt_error *e = NULL;
	if (cache && shunt_fs_read(cache, 512, &cached, NULL, &e) == 0 &&
	    strncmp(cached, key, strlen(key)) == 0)
		return strncmp(cached + strlen(key), "yes", 3) == 0;
	shunt_error_free(&e);
	char *argv[] = {"true", NULL};
	struct shunt_plan p;
	memset(&p, 0, sizeof(p));
	snprintf(p.run_id, sizeof(p.run_id), "kvm-probe-%ld", (long)getpid());
	p.argv = argv;
	p.timeout = VM_KVM_PROBE_SECONDS;
	struct shunt_vm_spec s = *base;
	s.kvm = true;
	s.workspace = NULL;
	s.mem_mib = VM_MIN_MEM_MIB;
	s.vcpus = 1;
	struct vm_job j;
	int status = -1, rc = -1;
	if (vm_setup(&p, &j, &e) == 0) {
		if (job_files(&p, &j, &e) == 0)
			rc = vm_boot(&p, &j, &s, digest, &status, &e);
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

/* ---- Firecracker ---- */

struct hide_ctx {
	const struct shunt_plan *plan;
	const char *dir;
};

/* mke2fs's child: enter the job directory first (the state dir holding
 * it may be among the hidden paths), then hide. */
static int hide_prep(void *arg)
{
	const struct hide_ctx *h = arg;
	return chdir(h->dir) < 0 || hide_in_child(h->plan) < 0 ? -1 : 0;
}

/* An optional read-only root drive: $SHUNT_VM_ROOTFS ("none": none),
 * else rootfs.ext4 next to the kernel (shunt vm build --rootfs
 * debootstrap). NULL: the guest's root is its initramfs (Firecracker) or
 * the host's (QEMU). */
static char *fc_rootfs(const char *kernel)
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
static int agent_boot(const struct shunt_plan *plan, struct vm_job *j, struct shunt_vm_spec *s,
		      const char *digest, bool qemu, int *status, struct shunt_error **err)
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
	    plan->timeout ? mono0 + (j->created + (long long)plan->timeout * 1000 - now_ms()) : 0;
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
		if (hide_in_child(plan) < 0)
			_exit(VM_HIDE_FAILED);
		if (qemu)
			execv(argv.v[0], argv.v);
		else
			execl(s->vmm, "firecracker", "--no-api", "--config-file", "fc.json",
			      (char *)NULL);
		_exit(127);
	}
	shunt_strv_free(&argv);
	if (job_write_json(j, plan, qemu ? "qemu" : "firecracker", pid, digest, err) < 0) {
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
	size_t wl = plan->workspace ? strlen(plan->workspace) : 0;
	bool inside =
	    plan->cwd && (!plan->workspace || (strncmp(plan->cwd, plan->workspace, wl) == 0 &&
					       (plan->cwd[wl] == '/' || !plan->cwd[wl])));
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
			fprintf(stderr,
				"shunt: microVM: not copied back (special file, symlink "
				"leaving the workspace, or another user's file this user "
				"cannot write): %s\n",
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
	char rel[128] = "?";
	key[0] = 0;
	FILE *f = fopen("/proc/sys/kernel/osrelease", "re");
	if (f) {
		if (!fgets(rel, sizeof(rel), f))
			rel[0] = 0;
		rel[strcspn(rel, "\n")] = 0;
		fclose(f);
	}
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
static bool fc_usable(const char *fc, bool may_probe)
{
	if (!fc || !kvm_rw())
		return false;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (image_paths(&kernel, &initrd, &digest, &e) < 0) {
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
	char *argv[] = {"true", NULL};
	struct shunt_plan p;
	memset(&p, 0, sizeof(p));
	snprintf(p.run_id, sizeof(p.run_id), "fc-probe-%ld", (long)getpid());
	p.argv = argv;
	p.timeout = VM_KVM_PROBE_SECONDS;
	struct shunt_vm_spec s = {.vmm = fc, .kernel = kernel, .initrd = initrd, .kvm = true};
	s.mem_mib = VM_MIN_MEM_MIB;
	s.vcpus = 1;
	struct vm_job j;
	int status = -1, rc = -1;
	char why[400] = "";
	char last[160] = "";
	if (vm_setup(&p, &j, &e) == 0) {
		rc = agent_boot(&p, &j, &s, digest, false, &status, &e);
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
	st->binary = find_firecracker();
	st->kvm = kvm_rw();
	st->cache = shunt_paths_probe_cache("vm-firecracker");
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	struct shunt_error *e = NULL;
	if (image_paths(&kernel, &initrd, &st->digest, &e) < 0) {
		shunt_error_free(&e);
		/* no image: only an explicit root drive */
		const char *env = getenv("SHUNT_VM_ROOTFS");
		if (env && *env && strcmp(env, "none") != 0)
			st->rootfs = fc_rootfs("/");
		return;
	}
	st->rootfs = fc_rootfs(kernel);
	if (!st->binary || !st->kvm)
		return;
	if (may_probe)
		fc_usable(st->binary, true);
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

/* SHUNT_VM_BACKEND, else the config's sandbox.vm_backend (cfg_choice:
 * 0 auto, 1 firecracker, 2 qemu), else auto. */
static enum shunt_vm_backend choose_backend(bool may_probe, int cfg_choice)
{
	const char *b = getenv("SHUNT_VM_BACKEND");
	if (b && strcmp(b, "firecracker") == 0)
		return SHUNT_VM_FIRECRACKER;
	if (b && strcmp(b, "qemu") == 0)
		return SHUNT_VM_QEMU;
	if (!(b && strcmp(b, "auto") == 0) && cfg_choice == 1)
		return SHUNT_VM_FIRECRACKER;
	if (!(b && strcmp(b, "auto") == 0) && cfg_choice == 2)
		return SHUNT_VM_QEMU;
	_cleanup_free_ char *fc = find_firecracker();
	return fc_usable(fc, may_probe) ? SHUNT_VM_FIRECRACKER : SHUNT_VM_QEMU;
}

static int fc_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	_cleanup_free_ char *fc = find_firecracker();
	if (!fc || !kvm_rw())
		return fc_unavailable(err);
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	/* auto already probed; an explicit choice reports a failed boot itself */
	const char *want = getenv("SHUNT_VM_BACKEND");
	bool explicit = (want && strcmp(want, "firecracker") == 0) ||
			(!(want && *want) && plan->vm_backend == 1);
	if (!explicit && !fc_usable(fc, true))
		return fc_unavailable(err);
	_cleanup_free_ char *rootfs = fc_rootfs(kernel);
	struct shunt_vm_spec s = {.vmm = fc, .kernel = kernel, .initrd = initrd, .kvm = true};
	spec_from_plan(plan, &s);
	s.rootfs_image = rootfs;
	struct vm_job j;
	if (vm_setup(plan, &j, err) < 0)
		return set_exit(err, 125), -1;
	int rc = agent_boot(plan, &j, &s, digest, false, status, err);
	if (rc < 0 && err && *err && (*err)->exitcode == 0)
		set_exit(err, 125);
	char done[PATH_MAX + 8];
	snprintf(done, sizeof(done), "%s/done", j.dir);
	struct shunt_error *e = NULL;
	if (getenv("SHUNT_VM_KEEP_JOB"))
		shunt_fs_write_atomic(done, "", 0, 0600, &e);
	else
		shunt_fs_rmtree(j.dir, &e);
	shunt_error_free(&e);
	return rc;
}

int shunt_microvm_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	shunt_microvm_sweep();
	if (choose_backend(true, plan->vm_backend) == SHUNT_VM_FIRECRACKER) {
		if (check_network(plan, err) < 0)
			return -1;
		return fc_run(plan, status, err);
	}
	/* SHUNT_VM_QEMU_CHANNEL=agent: Firecracker's transport (ext4 drive,
	 * framed channel to the guest agent) on QEMU, where it can be tested
	 * without KVM; like Firecracker it has no network */
	const char *chan = getenv("SHUNT_VM_QEMU_CHANNEL");
	bool agent = chan && strcmp(chan, "agent") == 0;
	if (agent && check_network(plan, err) < 0)
		return -1;
	_cleanup_free_ char *qemu = find_qemu();
	if (!qemu) {
		shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s", qemu_how);
		set_exit(err, 125);
		return -1;
	}
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	struct shunt_vm_spec s = {.vmm = qemu, .kernel = kernel, .initrd = initrd};
	spec_from_plan(plan, &s);
	s.kvm = kvm_usable(&s, digest);
	/* the agent channel boots the root drive Firecracker would */
	_cleanup_free_ char *rootfs = agent ? fc_rootfs(kernel) : NULL;
	s.rootfs_image = rootfs;
	struct shunt_netproxy proxy = {0};
	_cleanup_free_ char *proxy_cmd = NULL;
	if (plan->network == SHUNT_NET_RESTRICTED) {
		if (proxy_setup(&proxy, plan, &proxy_cmd, err) < 0) {
			shunt_netproxy_stop(&proxy);
			set_exit(err, 125);
			return -1;
		}
		s.proxy_cmd = proxy_cmd;
	}
	/* full: only the permissive level or an explicit --network full */
	s.full_net = plan->network == SHUNT_NET_FULL;
	struct vm_job j;
	if (vm_setup(plan, &j, err) < 0 || job_files(plan, &j, err) < 0) {
		shunt_netproxy_stop(&proxy);
		if (err && *err)
			set_exit(err, 125);
		return -1;
	}
	int rc = agent ? agent_boot(plan, &j, &s, digest, true, status, err)
		       : vm_boot(plan, &j, &s, digest, status, err);
	shunt_netproxy_stop(&proxy);
	if (rc < 0 && err && *err && (*err)->exitcode == 0)
		set_exit(err, 125);
	char done[PATH_MAX + 8];
	snprintf(done, sizeof(done), "%s/done", j.dir);
	struct shunt_error *e = NULL;
	if (getenv("SHUNT_VM_KEEP_JOB")) {
		shunt_fs_write_atomic(done, "", 0, 0600, &e);
	} else {
		shunt_fs_rmtree(j.dir, &e);
	}
	shunt_error_free(&e);
	return rc;
}

/* ---- warm VMs (shuntd's pool) ---- */

int shunt_microvm_pool_key(const struct shunt_plan *plan, char key[32])
{
	/* warm VMs boot without a NIC (the allowlist's proxy is per run) and
	 * only on QEMU's 9p transport */
	const char *chan = getenv("SHUNT_VM_QEMU_CHANNEL");
	if (plan->network != SHUNT_NET_NONE || (chan && strcmp(chan, "agent") == 0) ||
	    choose_backend(false, plan->vm_backend) == SHUNT_VM_FIRECRACKER)
		return -1;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (image_paths(&kernel, &initrd, &digest, &e) < 0) {
		shunt_error_free(&e);
		return -1;
	}
	struct shunt_vm_spec s = {0};
	spec_from_plan(plan, &s);
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "img=%s\nws=%s\nrw=%d\nmem=%u\ncpus=%u\n", digest,
			 s.workspace ? s.workspace : "", s.workspace_rw, s.mem_mib, s.vcpus);
	for (size_t i = 0; i < plan->nmounts; i++)
		if (plan->mounts[i].kind != SHUNT_MOUNT_BIND)
			shunt_buf_printf(&b, "hide%d=%s\n", (int)plan->mounts[i].kind,
					 plan->mounts[i].guest);
	if (!b.data)
		return -1;
	uint8_t d[32];
	char hex[65];
	shunt_sha256(b.data, b.len, d);
	shunt_sha256_hex(d, hex);
	shunt_buf_free(&b);
	memcpy(key, hex, 24);
	key[24] = 0;
	return 0;
}

int shunt_microvm_warm_boot(const struct shunt_plan *plan, struct shunt_microvm_warm *vm,
			    struct shunt_error **err)
{
	memset(vm, 0, sizeof(*vm));
	vm->out_fd = vm->err_fd = vm->ctl_fd = -1;
	if (shunt_microvm_pool_key(plan, vm->key) < 0)
		return shunt_error_set(err, ENOTSUP,
				       "warm VMs need the QEMU backend and a built guest image");
	_cleanup_free_ char *qemu = find_qemu();
	if (!qemu)
		return shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s",
				       qemu_how);
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	struct shunt_vm_spec s = {.vmm = qemu, .kernel = kernel, .initrd = initrd};
	spec_from_plan(plan, &s);
	s.kvm = kvm_usable(&s, digest);
	struct vm_job j;
	if (vm_setup(plan, &j, err) < 0)
		return -1;
	int ctl[2];
	pid_t pid = -1;
	int outfd = -1, errfd = -1;
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	int rc = vm_start(plan, &j, &s, ctl[0], &pid, &outfd, &errfd, err);
	close(ctl[0]);
	if (rc < 0) {
		close(ctl[1]);
		goto fail;
	}
	vm->pid = pid;
	vm->out_fd = outfd;
	vm->err_fd = errfd;
	vm->ctl_fd = ctl[1];
	snprintf(vm->dir, sizeof(vm->dir), "%s", j.dir);
	memcpy(vm->nonce, j.nonce, sizeof(vm->nonce));
	if (job_write_json(&j, plan, "qemu-warm", pid, digest, err) < 0) {
		shunt_microvm_warm_discard(vm);
		return -1;
	}
	return 0;
fail:;
	struct shunt_error *e = NULL;
	shunt_fs_rmtree(j.dir, &e);
	shunt_error_free(&e);
	return -1;
}

int shunt_microvm_warm_state(const struct shunt_microvm_warm *vm)
{
	if (vm->pid <= 0 || kill((pid_t)vm->pid, 0) < 0)
		return -1;
	char st[PATH_MAX + 8];
	snprintf(st, sizeof(st), "%s/status", vm->dir);
	_cleanup_free_ char *text = NULL;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(st, 1 << 16, &text, NULL, &e) < 0) {
		shunt_error_free(&e);
		return 0;
	}
	if (strstr(text, "SHUNT-INIT-FAIL") || strstr(text, "SHUNT-EXIT-"))
		return -1;
	return strncmp(text, "warm ", 5) == 0 || strstr(text, "\nwarm ") ? 1 : 0;
}

void shunt_microvm_warm_discard(struct shunt_microvm_warm *vm)
{
	if (vm->pid > 0)
		kill((pid_t)vm->pid, SIGKILL);
	if (vm->out_fd >= 0)
		close(vm->out_fd);
	if (vm->err_fd >= 0)
		close(vm->err_fd);
	if (vm->ctl_fd >= 0)
		close(vm->ctl_fd);
	vm->out_fd = vm->err_fd = vm->ctl_fd = -1;
	struct shunt_error *e = NULL;
	if (vm->dir[0])
		shunt_fs_rmtree(vm->dir, &e);
	shunt_error_free(&e);
	vm->pid = 0;
}

int shunt_microvm_warm_run(struct shunt_microvm_warm *vm, const struct shunt_plan *plan,
			   int *status, struct shunt_error **err)
{
	if (check_network(plan, err) < 0) {
		shunt_microvm_warm_discard(vm);
		return -1;
	}
	struct vm_job j = {0};
	snprintf(j.dir, sizeof(j.dir), "%s", vm->dir);
	memcpy(j.nonce, vm->nonce, sizeof(j.nonce));
	j.created = now_ms();
	int rc = -1;
	/* a VMM that died under us: EPIPE, not SIGPIPE */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	bool sent = job_files(plan, &j, err) == 0 && write(vm->ctl_fd, "go\n", 3) == 3;
	signal(SIGPIPE, old);
	if (!sent) {
		shunt_microvm_warm_discard(vm);
		return -2; /* nothing ran */
	}
	close(vm->ctl_fd);
	vm->ctl_fd = -1;
	rc = vm_finish(&j, (pid_t)vm->pid, false, vm->out_fd, vm->err_fd, j.created, plan->timeout,
		       status, err);
	vm->out_fd = vm->err_fd = -1;
	struct shunt_error *e = NULL;
	if (getenv("SHUNT_VM_KEEP_JOB")) {
		char done[PATH_MAX + 8];
		snprintf(done, sizeof(done), "%s/done", j.dir);
		shunt_fs_write_atomic(done, "", 0, 0600, &e);
	} else {
		shunt_fs_rmtree(j.dir, &e);
	}
	shunt_error_free(&e);
	vm->pid = 0;
	return rc;
}

int shunt_microvm_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			   struct shunt_error **err)
{
	enum shunt_vm_backend be = choose_backend(false, plan->vm_backend);
	_cleanup_free_ char *qemu = find_qemu();
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (image_paths(&kernel, &initrd, &digest, &e) < 0) {
		shunt_buf_printf(out, "note: %s\n", e->msg);
		shunt_error_free(&e);
		_cleanup_free_ char *dir = shunt_microvm_image_dir();
		free(kernel);
		free(initrd);
		if (asprintf(&kernel, "%s/vmlinux", dir ? dir : "?") < 0 ||
		    asprintf(&initrd, "%s/initrd.cpio", dir ? dir : "?") < 0)
			return shunt_error_set(err, ENOMEM, "out of memory");
	}
	struct shunt_vm_spec s = {.kernel = kernel, .initrd = initrd};
	spec_from_plan(plan, &s);
	s.jobshare = "<job>/share";
	s.status_path = "<job>/status";
	s.console_path = "<job>/console.log";
	s.out_fd = 3;
	s.err_fd = 4;
	shunt_buf_printf(out, "backend: %s\n", be == SHUNT_VM_FIRECRACKER ? "firecracker" : "qemu");
	shunt_buf_printf(out, "image: %s\n", digest ? digest : "(not built)");
	const char *chan = getenv("SHUNT_VM_QEMU_CHANNEL");
	bool agent = chan && strcmp(chan, "agent") == 0;
	_cleanup_free_ char *rootfs =
	    be == SHUNT_VM_FIRECRACKER || agent ? fc_rootfs(kernel) : NULL;
	if (rootfs)
		shunt_buf_printf(out,
				 "mounts: / (root drive %s, read-only, tmpfs overlay: ephemeral)\n",
				 rootfs);
	else if (be == SHUNT_VM_FIRECRACKER)
		shunt_buf_printf(out, "mounts: / (the guest's initramfs: ephemeral)\n");
	else
		shunt_buf_printf(out,
				 "mounts: / (host root, read-only 9p, tmpfs overlay: ephemeral)\n");
	if (plan->workspace)
		shunt_buf_printf(out, "mounts: %s (workspace, %s)\n", plan->workspace,
				 plan->workspace_rw ? "read-write" : "read-only");
	if (be == SHUNT_VM_FIRECRACKER)
		shunt_buf_printf(
		    out, "network: %s%s\n", shunt_netmode_name(plan->network),
		    plan->network == SHUNT_NET_NONE
			? " (no network-interfaces)"
			: " (not enforceable at the Firecracker boundary: fails closed)");
	else
		shunt_buf_printf(
		    out, "network: %s%s\n", shunt_netmode_name(plan->network),
		    plan->network == SHUNT_NET_NONE ? " (-nic none)"
		    : plan->network == SHUNT_NET_RESTRICTED
			? " (user-mode net, restrict=on, guestfwd " SHUNT_MICROVM_PROXY_ADDR
			  ":3128 to the filtering proxy)"
			: " (QEMU user-mode net: NAT to the host's network)");
	if (plan->network == SHUNT_NET_RESTRICTED)
		s.proxy_cmd = "shunt proxy --hand-over <proxy dir>/" SHUNT_NETPROXY_SOCK;
	s.full_net = plan->network == SHUNT_NET_FULL;
	shunt_buf_printf(out, "timeout: %u s\nmemory: %u MiB\nvcpus: %u\naccel: %s\n",
			 plan->timeout, s.mem_mib, s.vcpus,
			 be == SHUNT_VM_FIRECRACKER ? "kvm (firecracker)"
			 : access("/dev/kvm", R_OK | W_OK) == 0
			     ? "kvm when its boot probe passes, else tcg"
			     : "tcg");
	if (be == SHUNT_VM_FIRECRACKER) {
		_cleanup_free_ char *fc = find_firecracker();
		s.vmm = fc ? fc : "firecracker";
		s.kvm = true;
		s.ws_image = plan->workspace ? "workspace.ext4" : NULL;
		s.vsock_path = "v.sock";
		s.rootfs_image = rootfs;
		shunt_buf_printf(out,
				 "command channel: vsock port %u (agent in the guest; host end "
				 "<job>/v.sock, \"CONNECT %u\")\n",
				 SHUNT_VMCHAN_PORT, SHUNT_VMCHAN_PORT);
		if (plan->workspace)
			shunt_buf_printf(out,
					 "workspace drive: <job>/workspace.ext4 (mke2fs -d %s)%s\n",
					 plan->workspace,
					 plan->workspace_rw ? ", copied back after the run" : "");
		shunt_buf_printf(out, "vmm: %s --no-api --config-file <job>/fc.json (cwd <job>)\n",
				 s.vmm);
		shunt_buf_puts(out, "firecracker config:\n");
		shunt_microvm_fc_config(&s, out);
		return 0;
	}
	s.vmm = qemu ? qemu : "qemu-system-x86_64";
	if (agent) {
		s.chan_path = "ch.sock";
		s.rootfs_image = rootfs;
		s.console_path = "console.log";
		s.ws_image = plan->workspace ? "workspace.ext4" : NULL;
		shunt_buf_printf(out,
				 "command channel: guest agent on hvc0, host end <job>/ch.sock; "
				 "workspace as an ext4 drive (cwd <job>)\n");
	}
	struct shunt_strv v = {0};
	if (shunt_microvm_qemu_argv(&s, &v, err) < 0)
		return -1;
	shunt_buf_puts(out, "qemu command line:\n ");
	for (size_t i = 0; i < v.n; i++) {
		shunt_buf_putc(out, ' ');
		shell_quote(out, v.v[i]);
	}
	shunt_buf_putc(out, '\n');
	shunt_strv_free(&v);
	return 0;
}
