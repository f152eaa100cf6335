/* microVM runner: the Firecracker JSON config, the QEMU command line, the
 * kernel command line, the job script and the exit-marker parser. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "microvm.h"
#include "tap.h"

static bool has_arg(const struct shunt_strv *v, const char *a)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], a) == 0)
			return true;
	return false;
}

/* the value following option opt whose value starts with prefix */
static const char *opt_val(const struct shunt_strv *v, const char *opt, const char *prefix)
{
	for (size_t i = 0; i + 1 < v->n; i++)
		if (strcmp(v->v[i], opt) == 0 && strncmp(v->v[i + 1], prefix, strlen(prefix)) == 0)
			return v->v[i + 1];
	return NULL;
}

static struct shunt_vm_spec base_spec(void)
{
	struct shunt_vm_spec s = {
	    .vmm = "/usr/bin/qemu-system-x86_64",
	    .kernel = "/c/vm/abc/vmlinux",
	    .initrd = "/c/vm/abc/initrd.cpio",
	    .tsc_khz = 2100000,
	    .mem_mib = 256,
	    .vcpus = 2,
	    .jobshare = "/s/jobs/r1/share",
	    .workspace = "/home/u/my,proj",
	    .workspace_rw = false,
	    .status_path = "/s/jobs/r1/status",
	    .console_path = "/s/jobs/r1/console.log",
	    .out_fd = 3,
	    .err_fd = 4,
	};
	return s;
}

static void test_qemu(void)
{
	struct shunt_vm_spec s = base_spec();
	struct shunt_strv v = {0};
	struct shunt_error *err = NULL;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "qemu argv builds");
	is_str(v.v[0], "/usr/bin/qemu-system-x86_64", "argv[0] is the VMM");
	ok(v.v[v.n] == NULL, "argv is NULL-terminated");
	is_str(opt_val(&v, "-M", "microvm"), "microvm,rtc=on", "machine is microvm");
	is_str(opt_val(&v, "-accel", ""), "tcg", "TCG without KVM");
	is_str(opt_val(&v, "-m", ""), "256", "memory in MiB");
	is_str(opt_val(&v, "-smp", ""), "2", "vcpus");
	is_str(opt_val(&v, "-nic", ""), "none", "no network");
	ok(has_arg(&v, "-nodefaults") && has_arg(&v, "-no-reboot"),
	   "no default devices, no reboot");
	const char *app = opt_val(&v, "-append", "");
	ok(app && strstr(app, "tsc_early_khz=2100000"), "TCG passes tsc_early_khz");
	ok(app && strstr(app, "console=ttyS0"), "serial console");
	is_str(opt_val(&v, "-fsdev", "local,id=root"),
	       "local,id=root,path=/,readonly=on,security_model=none,multidevs=remap",
	       "host root shared read-only");
	is_str(opt_val(&v, "-fsdev", "local,id=ws"),
	       "local,id=ws,path=/home/u/my,,proj,readonly=on,security_model=none,multidevs=remap",
	       "read-only workspace; ',' in the path escaped as ',,'");
	is_str(opt_val(&v, "-chardev", "file,id=out"), "file,id=out,path=/proc/self/fd/3,append=on",
	       "stdout channel on fd 3");
	is_str(opt_val(&v, "-chardev", "file,id=err"), "file,id=err,path=/proc/self/fd/4,append=on",
	       "stderr channel on fd 4");
	is_str(opt_val(&v, "-chardev", "file,id=st"), "file,id=st,path=/s/jobs/r1/status",
	       "status channel to the job's status file");
	is_str(opt_val(&v, "-kernel", ""), "/c/vm/abc/vmlinux", "uncompressed kernel");
	shunt_strv_free(&v);

	s.kvm = true;
	s.workspace_rw = true;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "kvm argv builds");
	is_str(opt_val(&v, "-accel", ""), "kvm", "KVM when usable");
	app = opt_val(&v, "-append", "");
	ok(app && !strstr(app, "tsc_early_khz"), "no tsc_early_khz under KVM");
	is_str(opt_val(&v, "-fsdev", "local,id=ws"),
	       "local,id=ws,path=/home/u/my,,proj,security_model=none,multidevs=remap",
	       "read-write workspace has no readonly=on");
	shunt_strv_free(&v);

	/* the agent channel: Firecracker's transport on QEMU */
	s.chan_path = "ch.sock";
	s.ws_image = "workspace.ext4";
	s.workspace_rw = false;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "agent-channel argv builds");
	is_str(opt_val(&v, "-chardev", "socket"), "socket,id=ch,path=ch.sock,server=on,wait=off",
	       "agent channel: a unix socket behind hvc0");
	is_str(opt_val(&v, "-drive", "id=ws"),
	       "id=ws,file=workspace.ext4,format=raw,if=none,readonly=on",
	       "agent channel: read-only workspace drive");
	is_str(opt_val(&v, "-device", "virtio-blk"), "virtio-blk-device,drive=ws",
	       "agent channel: virtio-blk");
	ok(!opt_val(&v, "-fsdev", "local,id=ws") && !opt_val(&v, "-fsdev", "local,id=job") &&
	       opt_val(&v, "-fsdev", "local,id=root"),
	   "agent channel: only the host root over 9p");
	app = opt_val(&v, "-append", "");
	ok(app && strstr(app, "shunt.agent=hvc"), "agent channel: boot arg selects the agent");
	shunt_strv_free(&v);
	s.workspace_rw = true;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0 &&
	       opt_val(&v, "-drive", "id=ws,file=workspace.ext4,format=raw,if=none") &&
	       !strstr(opt_val(&v, "-drive", "id=ws"), "readonly"),
	   "agent channel: read-write workspace drive");
	shunt_strv_free(&v);
	/* with the debootstrap root drive instead of the host's root */
	s.rootfs_image = "/c/vm/rootfs/r1/rootfs.ext4";
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "agent channel with a root drive builds");
	is_str(opt_val(&v, "-drive", "id=rootfs"),
	       "id=rootfs,file=/c/vm/rootfs/r1/rootfs.ext4,format=raw,if=none,readonly=on",
	       "root drive: read-only");
	ok(!opt_val(&v, "-fsdev", "local,id=root"), "root drive: the host root is not shared");
	size_t iw = 0, ir = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (strcmp(v.v[i], "virtio-blk-device,drive=ws") == 0)
			iw = i;
		if (strcmp(v.v[i], "virtio-blk-device,drive=rootfs") == 0)
			ir = i;
	}
	ok(iw && ir > iw, "root drive: after the workspace (vda), so it is vdb");
	app = opt_val(&v, "-append", "");
	ok(app && strstr(app, "shunt.rootfs=/dev/vdb"), "root drive: the guest mounts vdb");
	shunt_strv_free(&v);
	s.rootfs_image = NULL;
	s.chan_path = NULL;
	s.ws_image = NULL;

	s.workspace = NULL;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "argv without workspace");
	ok(opt_val(&v, "-fsdev", "local,id=ws") == NULL, "no workspace share");
	shunt_strv_free(&v);

	s.proxy_cmd = "/usr/bin/shunt proxy --hand-over /tmp/shunt-net-x,y/proxy.sock";
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "allowlist argv builds");
	ok(opt_val(&v, "-nic", "") == NULL, "allowlist: no -nic none");
	is_str(opt_val(&v, "-netdev", "user"),
	       "user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:10.0.2.100:3128-cmd:/usr/bin/shunt "
	       "proxy --hand-over /tmp/shunt-net-x,,y/proxy.sock",
	       "allowlist: restricted user-mode net, one guestfwd to the proxy (',' escaped)");
	is_str(opt_val(&v, "-device", "virtio-net"), "virtio-net-device,netdev=net0",
	       "allowlist: a virtio-net NIC on it");
	shunt_strv_free(&v);

	s.proxy_cmd = NULL;
	s.full_net = true;
	ok(shunt_microvm_qemu_argv(&s, &v, &err) == 0, "full argv builds");
	is_str(opt_val(&v, "-netdev", "user"), "user,id=net0,ipv6=off",
	       "full: user-mode net without restrict");
	shunt_strv_free(&v);
}

static void test_fc(void)
{
	struct shunt_vm_spec s = base_spec();
	s.vmm = "/usr/local/bin/firecracker";
	s.kvm = true;
	s.ws_image = "/s/jobs/r1/workspace.ext4";
	s.vsock_path = "/s/jobs/r1/vsock";
	s.workspace_rw = true;
	struct shunt_buf b = {0};
	shunt_microvm_fc_config(&s, &b);
	struct shunt_error *err = NULL;
	struct shunt_json *j = shunt_json_parse("fc.json", b.data, b.len, &err);
	ok(j != NULL, "firecracker config is valid JSON");
	if (!j) {
		diag("%s", b.data);
		shunt_buf_free(&b);
		return;
	}
	const struct shunt_json *boot = shunt_json_get(j, "boot-source");
	is_str(shunt_json_str(boot, "kernel_image_path", NULL), "/c/vm/abc/vmlinux", "kernel");
	is_str(shunt_json_str(boot, "initrd_path", NULL), "/c/vm/abc/initrd.cpio", "initrd");
	const char *args = shunt_json_str(boot, "boot_args", "");
	ok(strstr(args, "console=ttyS0") && strstr(args, "pci=off"), "boot args for firecracker");
	ok(!strstr(args, "tsc_early_khz"), "no tsc hint under KVM");
	const struct shunt_json *mc = shunt_json_get(j, "machine-config");
	is_int(shunt_json_num(mc, "vcpu_count", 0), 2, "vcpu_count");
	is_int(shunt_json_num(mc, "mem_size_mib", 0), 256, "mem_size_mib");
	const struct shunt_json *vs = shunt_json_get(j, "vsock");
	is_int(shunt_json_num(vs, "guest_cid", 0), 3, "vsock guest cid");
	is_str(shunt_json_str(vs, "uds_path", NULL), "/s/jobs/r1/vsock", "vsock socket");
	const struct shunt_json *drives = shunt_json_get(j, "drives");
	ok(drives && drives->len == 1, "one drive: the workspace image");
	if (drives && drives->len == 1) {
		const struct shunt_json *d = drives->items[0];
		is_str(shunt_json_str(d, "path_on_host", NULL), "/s/jobs/r1/workspace.ext4",
		       "drive path");
		ok(!shunt_json_bool(d, "is_read_only", true), "rw profile: writable drive");
		ok(!shunt_json_bool(d, "is_root_device", true), "not the root device");
	}
	const struct shunt_json *net = shunt_json_get(j, "network-interfaces");
	ok(net && net->len == 0, "no network interfaces");
	ok(strstr(args, "shunt.agent=vsock") && !strstr(args, "shunt.rootfs"),
	   "boot args select the vsock agent; no rootfs drive");
	shunt_json_free(j);
	shunt_buf_free(&b);

	/* an optional read-only root drive follows the workspace */
	s.rootfs_image = "/c/vm/abc/rootfs.ext4";
	shunt_microvm_fc_config(&s, &b);
	j = shunt_json_parse("fc.json", b.data, b.len, &err);
	drives = j ? shunt_json_get(j, "drives") : NULL;
	ok(drives && drives->len == 2, "two drives with a rootfs");
	if (drives && drives->len == 2) {
		is_str(shunt_json_str(drives->items[1], "drive_id", NULL), "rootfs",
		       "rootfs drive");
		ok(shunt_json_bool(drives->items[1], "is_read_only", false),
		   "the rootfs drive is read-only");
	}
	boot = j ? shunt_json_get(j, "boot-source") : NULL;
	ok(boot && strstr(shunt_json_str(boot, "boot_args", ""), "shunt.rootfs=/dev/vdb"),
	   "the guest mounts the rootfs from the second drive");
	shunt_json_free(j);
	shunt_buf_free(&b);
	s.rootfs_image = NULL;
	s.ws_image = NULL;
	s.workspace = NULL;
	shunt_microvm_fc_config(&s, &b);
	j = shunt_json_parse("fc.json", b.data, b.len, &err);
	drives = j ? shunt_json_get(j, "drives") : NULL;
	ok(drives && drives->len == 0, "no workspace: no drives");
	shunt_json_free(j);
	shunt_buf_free(&b);
	s.ws_image = "/s/jobs/r1/workspace.ext4";
	s.workspace = "/home/u/my,proj";

	s.workspace_rw = false;
	shunt_microvm_fc_config(&s, &b);
	j = shunt_json_parse("fc.json", b.data, b.len, &err);
	drives = j ? shunt_json_get(j, "drives") : NULL;
	ok(drives && drives->len == 1 && shunt_json_bool(drives->items[0], "is_read_only", false),
	   "ro profile: read-only drive");
	shunt_json_free(j);
	shunt_buf_free(&b);
}

static void test_status(void)
{
	int rc = -1;
	const char *n = "0123abcd";
	ok(shunt_microvm_parse_status("ready\nSHUNT-EXIT-0123abcd 42\n", n, &rc) == 0 && rc == 42,
	   "marker with the nonce gives the exit code");
	rc = -1;
	ok(shunt_microvm_parse_status("ready\nSHUNT-EXIT-ffff 0\n", n, &rc) < 0 && rc == -1,
	   "a marker with another nonce is ignored");
	ok(shunt_microvm_parse_status("SHUNT-EXIT-0123abcd 4x\n", n, &rc) < 0,
	   "garbage code rejected");
	ok(shunt_microvm_parse_status("ready\n", n, &rc) < 0, "no marker: no status");
	ok(shunt_microvm_parse_status("SHUNT-EXIT-0123abcd 0", n, &rc) == 0 && rc == 0,
	   "marker without trailing newline");
}

static void test_script(void)
{
	char *argv[] = {"sh", "-c", "echo 'it''s' $HOME", NULL};
	char *env[] = {"HOME=/root", "X=a'b", NULL};
	struct shunt_plan p;
	memset(&p, 0, sizeof(p));
	p.argv = argv;
	p.env = env;
	p.workspace = "/w";
	p.cwd = "/w/sub";
	struct shunt_buf b = {0};
	shunt_microvm_job_script(&p, &b);
	ok(b.data && strstr(b.data, "export X='a'\\''b'\n"), "env values single-quoted");
	ok(b.data && strstr(b.data, "cd '/w/sub' 2>/dev/null || cd '/w' || exit 126\n"),
	   "cwd inside the workspace, workspace as fallback");
	ok(b.data && strstr(b.data, "exec 'sh' '-c' 'echo '\\''it'\\'''\\''s'\\'' $HOME'\n"),
	   "argv words quoted, no expansion by the wrapper");
	shunt_buf_free(&b);
	p.cwd = "/elsewhere";
	shunt_microvm_job_script(&p, &b);
	ok(b.data && !strstr(b.data, "/elsewhere") && strstr(b.data, "cd '/w' || exit 126"),
	   "cwd outside the workspace: runs in the workspace");
	shunt_buf_free(&b);
	char *penv[] = {"HTTP_PROXY=http://127.0.0.1:3128", "no_proxy=localhost", "Y=1", NULL};
	p.env = penv;
	shunt_microvm_job_script(&p, &b);
	ok(b.data && !strstr(b.data, "PROXY") && !strstr(b.data, "proxy") &&
	       strstr(b.data, "export Y='1'"),
	   "proxy variables are left to the guest's init");
	shunt_buf_free(&b);
}

static void test_ext4(void)
{
	char dir[] = "/tmp/shunt-test-fcws.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	char ws[PATH_MAX], img[PATH_MAX], cmd[3 * PATH_MAX];
	snprintf(ws, sizeof(ws), "%s/ws", dir);
	snprintf(img, sizeof(img), "%s/ws.ext4", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/sub && echo workspace-data > %s/sub/hello.txt", ws,
		 ws);
	ok(system(cmd) == 0, "workspace fixture");
	struct shunt_error *err = NULL;
	if (access("/usr/sbin/mke2fs", X_OK) != 0 || access("/usr/sbin/debugfs", X_OK) != 0) {
		skip("e2fsprogs (mke2fs, debugfs) not installed");
	} else {
		int rc = shunt_microvm_fc_workspace_image(ws, img, &err);
		ok(rc == 0, "ext4 workspace image built without root (mke2fs -d)");
		if (rc < 0)
			diag("%s", err->msg);
		shunt_error_free(&err);
		snprintf(cmd, sizeof(cmd),
			 "/usr/sbin/debugfs -R 'cat /sub/hello.txt' %s 2>/dev/null", img);
		FILE *f = popen(cmd, "r");
		char line[128] = "";
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = 0;
			pclose(f);
		}
		is_str(line, "workspace-data\n", "the image holds the workspace's files");
	}
	ok(shunt_microvm_fc_workspace_image("/nonexistent-shunt-ws", img, &err) < 0 && err,
	   "a missing workspace is an error");
	shunt_error_free(&err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

int main(void)
{
	test_ext4();
	test_qemu();
	test_fc();
	test_status();
	test_script();
	return done_testing();
}
