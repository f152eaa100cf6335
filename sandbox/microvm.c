/* microVM runner: the guest image, the backend choice, runs and
 * --dry-run. Each run gets a job directory (microvm_job.c). The guest's
 * /init (sandbox/firecracker/init) reads share/env + share/cmd.sh over
 * 9p, deletes them (the nonce leaves the share), overlays a tmpfs on the
 * host root shared read-only, mounts the workspace at its host path and
 * runs the command with stdout on hvc0 and stderr on hvc1 (QEMU:
 * microvm_qemu.c, microvm_boot.c). The exit marker, carrying a per-run
 * random nonce, arrives on hvc2, a channel the command's output never
 * reaches. Firecracker and the agent channel: firecracker.c; warm VMs:
 * microvm_pool.c. */
#include "microvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "netproxy.h"
#include "paths.h"
#include "vmchan.h"

static void (*notify_fn)(void *, enum shunt_microvm_note, const char *);
static void *notify_ctx;

void shunt_microvm_set_notify(void (*fn)(void *ctx, enum shunt_microvm_note kind, const char *line),
			      void *ctx)
{
	notify_fn = fn;
	notify_ctx = ctx;
}

void shunt_microvm_notify(enum shunt_microvm_note kind, const char *fmt, ...)
{
	if (!notify_fn)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	notify_fn(notify_ctx, kind, line);
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

bool shunt_microvm_cwd_inside(const struct shunt_plan *plan)
{
	size_t wl = plan->workspace ? strlen(plan->workspace) : 0;
	return plan->cwd && (!plan->workspace || (strncmp(plan->cwd, plan->workspace, wl) == 0 &&
						  (plan->cwd[wl] == '/' || !plan->cwd[wl])));
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
		shunt_buf_put_shquoted(b, eq + 1);
		shunt_buf_putc(b, '\n');
	}
	/* the caller's directory when it is inside the workspace, else the
	 * workspace */
	bool inside = shunt_microvm_cwd_inside(plan);
	if (inside) {
		shunt_buf_puts(b, "cd ");
		shunt_buf_put_shquoted(b, plan->cwd);
		shunt_buf_puts(b, " 2>/dev/null || ");
	}
	if (plan->workspace) {
		shunt_buf_puts(b, "cd ");
		shunt_buf_put_shquoted(b, plan->workspace);
		shunt_buf_puts(b, " || exit 126\n");
	} else if (inside) {
		shunt_buf_puts(b, "true\n");
	}
	shunt_buf_puts(b, "exec");
	for (size_t i = 0; plan->argv[i]; i++) {
		shunt_buf_putc(b, ' ');
		shunt_buf_put_shquoted(b, plan->argv[i]);
	}
	shunt_buf_putc(b, '\n');
}

/* A VMM binary: the path in env_var when set (and only that), else PATH. */
static char *find_vmm(const char *env_var, const char *name)
{
	const char *env = getenv(env_var);
	if (env && *env)
		return access(env, X_OK) == 0 ? strdup(env) : NULL;
	return shunt_paths_which(name);
}

char *shunt_microvm_find_qemu(void)
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

char *shunt_microvm_find_firecracker(void)
{
	return find_vmm("SHUNT_FIRECRACKER", "firecracker");
}

bool shunt_microvm_kvm_rw(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

enum shunt_vm_backend shunt_microvm_choose_backend(bool may_probe, int cfg_choice);

void shunt_microvm_kernel_release(char *rel, size_t size)
{
	snprintf(rel, size, "?");
	FILE *f = fopen("/proc/sys/kernel/osrelease", "re");
	if (f) {
		if (!fgets(rel, (int)size, f))
			rel[0] = 0;
		rel[strcspn(rel, "\n")] = 0;
		fclose(f);
	}
}

enum shunt_vm_backend shunt_microvm_backend(void)
{
	return shunt_microvm_choose_backend(false, 0);
}

int shunt_microvm_fc_unavailable(struct shunt_error **err)
{
	shunt_error_set(
	    err, ENOSYS,
	    "the Firecracker backend needs a 'firecracker' binary (on PATH or "
	    "$SHUNT_FIRECRACKER; Debian has no package: install a release binary) and a "
	    "/dev/kvm this user can open that really boots guests; not usable here, so the "
	    "command was not run: use SHUNT_VM_BACKEND=qemu, or unset it to pick automatically");
	vm_set_exit(err, 125);
	return -1;
}

int shunt_microvm_probe(struct shunt_error **err)
{
	if (shunt_microvm_backend() == SHUNT_VM_FIRECRACKER) {
		_cleanup_free_ char *fc = shunt_microvm_find_firecracker();
		if (!fc || !shunt_microvm_kvm_rw())
			return shunt_microvm_fc_unavailable(err);
	} else {
		_cleanup_free_ char *q = shunt_microvm_find_qemu();
		if (!q) {
			shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s",
					SHUNT_MICROVM_QEMU_HOW);
			vm_set_exit(err, 125);
			return -1;
		}
	}
	_cleanup_free_ char *k = NULL, *i = NULL;
	if (shunt_microvm_image_paths(&k, &i, NULL, err) == 0)
		return 0;
	if (!shunt_microvm_image_buildable())
		return -1;
	/* the run builds it first (shunt_microvm_image_ensure) */
	shunt_error_free(err);
	return 0;
}

int shunt_microvm_spec_from_plan(const struct shunt_plan *plan, struct shunt_vm_spec *s)
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

/* Firecracker and the agent channel have no network path to the proxy:
 * anything but none fails closed unless weaker isolation is accepted. */
int shunt_microvm_check_network(const struct shunt_plan *plan, struct shunt_error **err)
{
	if (plan->network == SHUNT_NET_NONE)
		return 0;
	if (plan->accept_weaker_isolation) {
		shunt_microvm_notify(SHUNT_MICROVM_NOTE,
				     "microVM (Firecracker): network '%s' is not available at the "
				     "VM boundary; running with the network off (weaker isolation "
				     "accepted)",
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
	vm_set_exit(err, 125);
	return -1;
}

int shunt_microvm_job_setup(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			    struct shunt_error **err)
{
	if (shunt_microvm_job_create(plan, j, err) < 0)
		return -1;
	char share[PATH_MAX + 8];
	snprintf(share, sizeof(share), "%s/share", j->dir);
	struct shunt_buf boot = {0};
	shunt_buf_printf(&boot, "WS_RW=%d\nWS=", plan->workspace_rw ? 1 : 0);
	if (plan->workspace)
		shunt_buf_put_shquoted(&boot, plan->workspace);
	shunt_buf_putc(&boot, '\n');
	int rc = shunt_microvm_job_write(share, "boot", boot.data, boot.len, err);
	shunt_buf_free(&boot);
	return rc;
}

/* The command's half of the share: env (the nonce) and cmd.sh. cmd.sh
 * last: a warm guest starts once it sees it after "go". */
int shunt_microvm_job_files(const struct shunt_plan *plan, const struct shunt_microvm_job *j,
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
		shunt_buf_put_shquoted(&env, plan->workspace);
	shunt_buf_putc(&env, '\n');
	shunt_microvm_job_script(plan, &cmd);
	int rc = shunt_microvm_job_write(share, "env", env.data, env.len, err);
	if (rc == 0)
		rc = shunt_microvm_job_write(share, "cmd.sh", cmd.data, cmd.len, err);
	shunt_buf_free(&env);
	shunt_buf_free(&cmd);
	return rc;
}

/* SHUNT_VM_BACKEND, else the config's sandbox.vm_backend (cfg_choice:
 * 0 auto, 1 firecracker, 2 qemu), else auto. */
enum shunt_vm_backend shunt_microvm_choose_backend(bool may_probe, int cfg_choice)
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
	_cleanup_free_ char *fc = shunt_microvm_find_firecracker();
	return shunt_firecracker_usable(fc, may_probe) ? SHUNT_VM_FIRECRACKER : SHUNT_VM_QEMU;
}

int shunt_microvm_run(const struct shunt_plan *plan, int *status, struct shunt_error **err)
{
	shunt_microvm_sweep();
	/* first use: build the guest image (when a VMM could boot it) */
	_cleanup_free_ char *q = shunt_microvm_find_qemu(), *f = shunt_microvm_find_firecracker();
	if ((q || f) && shunt_microvm_image_ensure(err) < 0)
		return -1;
	if (shunt_microvm_choose_backend(true, plan->vm_backend) == SHUNT_VM_FIRECRACKER) {
		if (shunt_microvm_check_network(plan, err) < 0)
			return -1;
		return shunt_firecracker_run(plan, status, err);
	}
	/* SHUNT_VM_QEMU_CHANNEL=agent: Firecracker's transport (ext4 drive,
	 * framed channel to the guest agent) on QEMU, where it can be tested
	 * without KVM; like Firecracker it has no network */
	const char *chan = getenv("SHUNT_VM_QEMU_CHANNEL");
	bool agent = chan && strcmp(chan, "agent") == 0;
	if (agent && shunt_microvm_check_network(plan, err) < 0)
		return -1;
	_cleanup_free_ char *qemu = shunt_microvm_find_qemu();
	if (!qemu) {
		shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s",
				SHUNT_MICROVM_QEMU_HOW);
		vm_set_exit(err, 125);
		return -1;
	}
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	struct shunt_vm_spec s = {.vmm = qemu, .kernel = kernel, .initrd = initrd};
	shunt_microvm_spec_from_plan(plan, &s);
	s.kvm = shunt_microvm_kvm_usable(&s, digest);
	/* the agent channel boots the root drive Firecracker would */
	_cleanup_free_ char *rootfs = agent ? shunt_firecracker_rootfs(kernel) : NULL;
	s.rootfs_image = rootfs;
	struct shunt_netproxy proxy = {0};
	_cleanup_free_ char *proxy_cmd = NULL;
	if (plan->network == SHUNT_NET_RESTRICTED) {
		if (shunt_microvm_proxy_setup(&proxy, plan, &proxy_cmd, err) < 0) {
			shunt_netproxy_stop(&proxy);
			vm_set_exit(err, 125);
			return -1;
		}
		s.proxy_cmd = proxy_cmd;
	}
	/* full: only the permissive level or an explicit --network full */
	s.full_net = plan->network == SHUNT_NET_FULL;
	struct shunt_microvm_job j;
	if (shunt_microvm_job_setup(plan, &j, err) < 0 ||
	    shunt_microvm_job_files(plan, &j, err) < 0) {
		shunt_netproxy_stop(&proxy);
		if (err && *err)
			vm_set_exit(err, 125);
		return -1;
	}
	int rc = agent ? shunt_firecracker_agent_boot(plan, &j, &s, digest, true, status, err)
		       : shunt_microvm_qemu_boot(plan, &j, &s, digest, status, err);
	shunt_netproxy_stop(&proxy);
	if (rc < 0 && err && *err && (*err)->exitcode == 0)
		vm_set_exit(err, 125);
	shunt_microvm_job_end(j.dir);
	return rc;
}

int shunt_microvm_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			   struct shunt_error **err)
{
	enum shunt_vm_backend be = shunt_microvm_choose_backend(false, plan->vm_backend);
	_cleanup_free_ char *qemu = shunt_microvm_find_qemu();
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, &e) < 0) {
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
	shunt_microvm_spec_from_plan(plan, &s);
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
	    be == SHUNT_VM_FIRECRACKER || agent ? shunt_firecracker_rootfs(kernel) : NULL;
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
		_cleanup_free_ char *fc = shunt_microvm_find_firecracker();
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
		shunt_buf_put_shquoted(out, v.v[i]);
	}
	shunt_buf_putc(out, '\n');
	shunt_strv_free(&v);
	return 0;
}
